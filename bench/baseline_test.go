package main

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEnvName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"decode_all_fields", "DECODE_ALL_FIELDS"},
		{"decodeAllFields", "DECODE_ALL_FIELDS"},
		{"endpointLimits", "ENDPOINT_LIMITS"},
		{"sequential", "SEQUENTIAL"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, envName(tt.in), tt.in)
	}
}

// switchIn finds a boolean "decode all" setting by its name, whatever its
// spelling, and nothing else.
func TestSwitchIn(t *testing.T) {
	t.Parallel()
	type snake struct {
		Workers         int  `ocean:"map_workers"`
		DecodeAllFields bool `ocean:"decode_all_fields"`
	}
	type camel struct {
		DecodeAll *bool `ocean:"decodeAll"`
	}
	type notBool struct {
		DecodeAll string `ocean:"decode_all"`
	}
	type none struct {
		Sequential bool `ocean:"sequential"`
		Hidden     bool `ocean:"-"`
	}
	tests := []struct {
		name string
		t    reflect.Type
		want string
	}{
		{"snake_case", reflect.TypeFor[snake](), "DECODE_ALL_FIELDS"},
		{"camelCase pointer", reflect.TypeFor[camel](), "DECODE_ALL"},
		{"not a boolean", reflect.TypeFor[notBool](), ""},
		{"no such setting", reflect.TypeFor[none](), ""},
		{"not a struct", reflect.TypeFor[int](), ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, switchIn(tt.t), tt.name)
	}
}
