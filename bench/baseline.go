package main

import (
	"reflect"
	"strings"
	"unicode"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/ocean/settings"
)

// decodeAllSwitch finds the setting that turns field projection off: the
// sync then decodes every field of GitLab's JSON, as it did before issue
// 22. The bench does not name it at compile time, so that it builds both
// before and after the setting exists; it looks for a resync or GitLab
// setting whose name says "decode all" (OCEAN__RESYNC__DECODE_ALL_FIELDS,
// say) and returns it as an OCEAN__… variable set to true, or "" when there
// is none. With it, a run measures the CPU per entity with and without
// projection on the same machine at the same time, which a figure from an
// earlier run cannot do.
func decodeAllSwitch() string {
	cfg, err := settings.Load(settings.LoadOptions{ProviderType: gitlab.ProviderType, Environ: []string{
		"OCEAN__PORT__CLIENT_ID=x", "OCEAN__PORT__CLIENT_SECRET=x", "OCEAN__PORT__BASE_URL=http://127.0.0.1:1",
		"OCEAN__INTEGRATION__IDENTIFIER=bench", "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=x",
	}})
	if err == nil {
		v := reflect.ValueOf(cfg)
		for v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if f := v.FieldByName("Resync"); f.IsValid() {
			if name := switchIn(f.Type()); name != "" {
				return "OCEAN__RESYNC__" + name + "=true"
			}
		}
	}
	if name := switchIn(reflect.TypeFor[gitlab.Config]()); name != "" {
		return "OCEAN__INTEGRATION__CONFIG__" + name + "=true"
	}
	return ""
}

// switchIn returns the environment name (DECODE_ALL_FIELDS) of a boolean
// field of struct t whose setting name mentions decoding all fields.
func switchIn(t reflect.Type) string {
	if t.Kind() != reflect.Struct {
		return ""
	}
	for f := range t.Fields() {
		if f.Type.Kind() != reflect.Bool && (f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Bool) {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("ocean"), ",")
		if name == "" || name == "-" {
			continue
		}
		flat := strings.ToLower(strings.ReplaceAll(name, "_", ""))
		if strings.Contains(flat, "decodeall") {
			return envName(name)
		}
	}
	return ""
}

// envName turns a setting name, snake_case or camelCase, into its
// environment spelling: decode_all_fields and decodeAllFields both give
// DECODE_ALL_FIELDS.
func envName(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) && i > 0 && name[i-1] != '_' {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
