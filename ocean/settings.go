package ocean

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// This file holds the generic machinery behind Config: a tree of settings
// with snake_case keys built from defaults, a YAML file and OCEAN__…
// environment variables, decoded into structs by their `ocean` tags. It is
// the same machinery for the framework's settings and for a provider's own
// (OCEAN__INTEGRATION__CONFIG__…).

// ConfigError reports a setting that is missing or malformed. Name is the
// environment variable a user would set (OCEAN__PORT__CLIENT_ID); the value
// itself is never included, since it may be a secret.
type ConfigError struct {
	Name   string
	Reason string
	Err    error
}

func (e *ConfigError) Error() string {
	msg := "config " + e.Name + ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ConfigError) Unwrap() error { return e.Err }

// tree is a settings tree with snake_case keys.
type tree = map[string]any

// snake converts camelCase (and PascalCase) to snake_case; snake input is
// returned unchanged.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && rs[i-1] != '_' && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				(i+1 < len(rs) && unicode.IsLower(rs[i+1]))) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// decamelize converts the keys of every nested map to snake_case.
func decamelize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[snake(k)] = decamelize(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = decamelize(e)
		}
		return out
	default:
		return v
	}
}

// merge copies src over dst, recursing into maps present in both.
func merge(dst, src tree) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
			cp := tree{}
			merge(cp, sm)
			dst[k] = cp
			continue
		}
		dst[k] = v
	}
}

// setPath sets a value at a snake_case path, creating maps on the way. A
// JSON object value for a path is parsed and merged, so that both
// OCEAN__EVENT_LISTENER='{"type":"ONCE"}' and OCEAN__EVENT_LISTENER__TYPE=ONCE
// work, in either order.
func setPath(t tree, path []string, value any) {
	for i, p := range path {
		if i == len(path)-1 {
			if s, ok := value.(string); ok {
				if obj, ok := parseJSONObject(s); ok {
					if existing, ok := t[p].(map[string]any); ok {
						merge(existing, obj)
						return
					}
					t[p] = obj
					return
				}
			}
			if existing, ok := t[p].(map[string]any); ok {
				if m, ok := value.(map[string]any); ok {
					merge(existing, m)
					return
				}
			}
			t[p] = value
			return
		}
		next, ok := t[p].(map[string]any)
		if !ok {
			next = tree{}
			if s, isStr := t[p].(string); isStr {
				if obj, ok := parseJSONObject(s); ok {
					next = obj
				}
			}
			t[p] = next
		}
		t = next
	}
}

func parseJSONObject(s string) (map[string]any, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, false
	}
	return decamelize(m).(map[string]any), true
}

// envTree collects variables with the given prefix ("OCEAN__") into a tree.
func envTree(environ []string, prefix string) tree {
	t := tree{}
	// Sort so that a parent JSON value is applied before its children,
	// whatever order the environment lists them in.
	vars := append([]string(nil), environ...)
	sort.Strings(vars)
	for _, kv := range vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(strings.ToUpper(k), prefix) {
			continue
		}
		rest := k[len(prefix):]
		if rest == "" {
			continue
		}
		parts := strings.Split(strings.ToLower(rest), "__")
		setPath(t, parts, v)
	}
	return t
}

var fromEnvRe = regexp.MustCompile(`^\{\{\s*from\s+env\s+([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$`)

// resolveFromEnv replaces Ocean's `{{ from env NAME }}` placeholders in a
// YAML config with the variable's value; a missing variable leaves the key
// unset, as in Ocean.
func resolveFromEnv(v any, lookup func(string) (string, bool)) (any, bool) {
	switch t := v.(type) {
	case string:
		if m := fromEnvRe.FindStringSubmatch(strings.TrimSpace(t)); m != nil {
			val, ok := lookup(m[1])
			return val, ok
		}
		return t, true
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if r, ok := resolveFromEnv(e, lookup); ok {
				out[k] = r
			}
		}
		return out, true
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			if r, ok := resolveFromEnv(e, lookup); ok {
				out = append(out, r)
			}
		}
		return out, true
	default:
		return v, true
	}
}

func yamlTree(data []byte, lookup func(string) (string, bool)) (tree, error) {
	var raw any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return tree{}, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, errors.New("top level is not a mapping")
	}
	r, _ := resolveFromEnv(decamelize(m), lookup)
	return r.(map[string]any), nil
}

type fieldTag struct {
	name     string // snake_case key
	required bool
	secret   bool
	def      string
	hasDef   bool
}

func parseTag(f reflect.StructField) (fieldTag, bool) {
	tag, ok := f.Tag.Lookup("ocean")
	if !ok || tag == "-" {
		return fieldTag{}, false
	}
	parts := strings.Split(tag, ",")
	ft := fieldTag{name: snake(parts[0])}
	if parts[0] == "" {
		ft.name = snake(f.Name)
	}
	for i := 1; i < len(parts); i++ {
		p := parts[i]
		switch {
		case p == "required":
			ft.required = true
		case p == "secret":
			ft.secret = true
		case strings.HasPrefix(p, "default="):
			// A default may contain commas (a JSON list): it is the rest.
			ft.def = strings.Join(append([]string{strings.TrimPrefix(p, "default=")}, parts[i+1:]...), ",")
			ft.hasDef = true
			i = len(parts)
		}
	}
	if f.Type == reflect.TypeFor[Secret]() {
		ft.secret = true
	}
	return ft, true
}

// decodeTree decodes t into the struct pointed to by dst. envPrefix names
// the variables of this level in errors (OCEAN__PORT__).
func decodeTree(t tree, dst any, envPrefix string) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("ocean: decode config into %T: want a pointer to a struct", dst)
	}
	return decodeStruct(t, rv.Elem(), envPrefix)
}

func decodeStruct(t tree, sv reflect.Value, envPrefix string) error {
	var errs []error
	st := sv.Type()
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, ok := parseTag(f)
		if !ok {
			continue
		}
		name := envPrefix + strings.ToUpper(tag.name)
		fv := sv.Field(i)
		raw, present := t[tag.name]
		if present {
			if s, isStr := raw.(string); isStr && s == "" && fv.Kind() != reflect.String {
				present = false // an empty variable means unset
			}
		}
		if !present && tag.hasDef {
			raw, present = tag.def, true
		}
		if !present {
			if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeFor[time.Time]() {
				if err := decodeStruct(tree{}, fv, name+"__"); err != nil {
					errs = append(errs, err)
				}
				continue
			}
			if tag.required && fv.IsZero() {
				errs = append(errs, &ConfigError{Name: name, Reason: "required but not set"})
			}
			continue
		}
		if err := setValue(fv, raw, name); err != nil {
			errs = append(errs, err)
			continue
		}
		if tag.required && fv.IsZero() {
			errs = append(errs, &ConfigError{Name: name, Reason: "required but empty"})
		}
	}
	return errors.Join(errs...)
}

func setValue(fv reflect.Value, raw any, name string) error {
	bad := func(err error) error {
		return &ConfigError{Name: name, Reason: "malformed value for " + fv.Type().String(), Err: err}
	}
	if fv.Kind() == reflect.Pointer {
		nv := reflect.New(fv.Type().Elem())
		if err := setValue(nv.Elem(), raw, name); err != nil {
			return err
		}
		fv.Set(nv)
		return nil
	}
	switch fv.Interface().(type) {
	case time.Duration:
		switch v := raw.(type) {
		case string:
			d, err := time.ParseDuration(v)
			if err != nil {
				return bad(errors.New("want a duration such as 30s"))
			}
			fv.SetInt(int64(d))
		case int:
			fv.SetInt(int64(time.Duration(v) * time.Second))
		case float64:
			fv.SetInt(int64(v * float64(time.Second)))
		default:
			return bad(fmt.Errorf("want a duration, got %T", raw))
		}
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		switch v := raw.(type) {
		case string:
			fv.SetString(v)
		case int, float64, bool:
			fv.SetString(fmt.Sprint(v))
		default:
			return bad(fmt.Errorf("want a string, got %T", raw))
		}
	case reflect.Bool:
		switch v := raw.(type) {
		case bool:
			fv.SetBool(v)
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return bad(errors.New("want true or false"))
			}
			fv.SetBool(b)
		default:
			return bad(fmt.Errorf("want a boolean, got %T", raw))
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		switch v := raw.(type) {
		case int:
			fv.SetInt(int64(v))
		case float64:
			if v != float64(int64(v)) {
				return bad(errors.New("want a whole number"))
			}
			fv.SetInt(int64(v))
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return bad(errors.New("want a whole number"))
			}
			fv.SetInt(n)
		default:
			return bad(fmt.Errorf("want a number, got %T", raw))
		}
	case reflect.Float64, reflect.Float32:
		switch v := raw.(type) {
		case int:
			fv.SetFloat(float64(v))
		case float64:
			fv.SetFloat(v)
		case string:
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return bad(errors.New("want a number"))
			}
			fv.SetFloat(n)
		default:
			return bad(fmt.Errorf("want a number, got %T", raw))
		}
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			if s, isStr := raw.(string); isStr {
				m, ok = parseJSONObject(s)
			}
		}
		if !ok {
			return bad(errors.New("want an object"))
		}
		return decodeStruct(m, fv, name+"__")
	case reflect.Slice, reflect.Map, reflect.Interface:
		// Lists and objects arrive as YAML values, as JSON strings from the
		// environment, or (lists of strings) comma-separated.
		v := raw
		if s, ok := raw.(string); ok {
			s = strings.TrimSpace(s)
			if strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") {
				if err := json.Unmarshal([]byte(s), &v); err != nil {
					return bad(errors.New("invalid JSON"))
				}
			} else if fv.Kind() == reflect.Slice {
				parts := []any{}
				for _, p := range strings.Split(s, ",") {
					if p = strings.TrimSpace(p); p != "" {
						parts = append(parts, p)
					}
				}
				v = parts
			} else if fv.Kind() == reflect.Interface {
				v = s
			} else {
				return bad(errors.New("want a JSON object"))
			}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return bad(err)
		}
		nv := reflect.New(fv.Type())
		if err := json.Unmarshal(b, nv.Interface()); err != nil {
			return bad(err)
		}
		fv.Set(nv.Elem())
	default:
		return bad(fmt.Errorf("unsupported field type %s", fv.Type()))
	}
	return nil
}

// secretValues collects the values of every secret field of a struct (for
// log redaction).
func secretValues(v any) []string {
	var out []string
	var walk func(rv reflect.Value)
	walk = func(rv reflect.Value) {
		if rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				return
			}
			rv = rv.Elem()
		}
		if rv.Kind() != reflect.Struct {
			return
		}
		for i := 0; i < rv.NumField(); i++ {
			f := rv.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			fv := rv.Field(i)
			tag, _ := parseTag(f)
			if tag.secret && fv.Kind() == reflect.String && fv.String() != "" {
				out = append(out, fv.String())
				continue
			}
			walk(fv)
		}
	}
	walk(reflect.ValueOf(v))
	return out
}

// DecodeIntegrationConfig decodes the integration's own settings into dst,
// a pointer to the provider's config struct. Fields are named by their
// `ocean` tag in camelCase, as in Ocean's spec.yaml (`ocean:"gitlabHost"`),
// and set by OCEAN__INTEGRATION__CONFIG__GITLAB_HOST, by the whole
// OCEAN__INTEGRATION__CONFIG as a JSON object, or by the YAML file's
// integration.config. Tag options: `required`, `secret` (implied by the
// Secret type), `default=VALUE`. Every missing or malformed field is
// reported, each naming its variable.
func DecodeIntegrationConfig(c *Config, dst any) error {
	raw := c.Integration.Config
	if raw == nil {
		raw = tree{}
	}
	return decodeTree(raw, dst, "OCEAN__INTEGRATION__CONFIG__")
}

// loadSettings builds the tree from a YAML file and the environment and
// decodes it into dst with the given variable prefix.
func loadSettings(dst any, prefix string, file []byte, environ []string, fileKey string) error {
	lookup := func(k string) (string, bool) {
		for _, kv := range environ {
			if name, v, ok := strings.Cut(kv, "="); ok && name == k {
				return v, true
			}
		}
		return "", false
	}
	t := tree{}
	if len(file) > 0 {
		ft, err := yamlTree(file, lookup)
		if err != nil {
			return &ConfigError{Name: "config file", Reason: "invalid YAML", Err: err}
		}
		if fileKey != "" {
			sub, _ := ft[fileKey].(map[string]any)
			ft = sub
		}
		merge(t, ft)
	}
	merge(t, envTree(environ, prefix))
	return decodeTree(t, dst, prefix)
}

// osEnviron is the default environment source.
func osEnviron() []string { return os.Environ() }
