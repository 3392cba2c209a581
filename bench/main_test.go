package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain serves the fakes when the harness re-executes the test binary
// as its fakes' process.
func TestMain(m *testing.M) {
	if os.Getenv(fakesEnv) == "1" {
		if err := serveFakes(); err != nil {
			fmt.Fprintln(os.Stderr, "bench fakes:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestParseBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"230MiB", 230 << 20, true},
		{"1GiB", 1 << 30, true},
		{"4096", 4096, true},
		{"512KiB", 512 << 10, true},
		{"0", 0, false},
		{"-5MiB", 0, false},
		{"lots", 0, false},
		{"9999999TiB", 0, false},
	}
	for _, tt := range tests {
		got, err := parseBytes(tt.in)
		if !tt.ok {
			require.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}
