package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
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

// setPath sets a variable's value at a snake_case path, creating maps on
// the way. A JSON object value is parsed and merged, so that both
// OCEAN__EVENT_LISTENER='{"type":"ONCE"}' and OCEAN__EVENT_LISTENER__TYPE=ONCE
// work, in either order. A variable that has variables below it must be a
// JSON object: OCEAN__INTEGRATION__CONFIG with a trailing comma beside
// OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN is an error naming it, not a
// value quietly replaced (the sync would then run against gitlab.com with
// the self-managed instance's token). prefix names the variables in errors.
func setPath(t tree, path []string, value, prefix string) error {
	varName := func(n int) string { return prefix + strings.ToUpper(strings.Join(path[:n], "__")) }
	for i, p := range path {
		if i == len(path)-1 {
			if obj, ok := parseJSONObject(value); ok {
				if existing, ok := t[p].(map[string]any); ok {
					merge(existing, obj)
					return nil
				}
				t[p] = obj
				return nil
			}
			if _, ok := t[p].(map[string]any); ok {
				if strings.TrimSpace(value) == "" {
					return nil // empty means unset: the fields set below it stay
				}
				return &ConfigError{Name: varName(i + 1), Reason: notObjectReason(value) + ", and variables below it set fields in it"}
			}
			t[p] = value
			return nil
		}
		switch cur := t[p].(type) {
		case map[string]any:
			t = cur
			continue
		case string:
			if strings.TrimSpace(cur) != "" {
				// A JSON object would have been parsed into a map.
				return &ConfigError{Name: varName(i + 1), Reason: notObjectReason(cur) + ", and " + varName(len(path)) + " sets a field in it"}
			}
		}
		next := tree{}
		t[p] = next
		t = next
	}
	return nil
}

// parseJSONObject parses s when it is a JSON object, with its keys in
// snake_case.
func parseJSONObject(s string) (map[string]any, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, false
	}
	return decamelize(m).(map[string]any), true
}

// notObjectReason says why s is not a JSON object, by position and JSON
// type only: the value may hold a secret, so no part of it is quoted.
func notObjectReason(s string) string {
	var v any
	err := json.Unmarshal([]byte(strings.TrimSpace(s)), &v)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("not a JSON object: invalid JSON at byte %d", se.Offset)
	case err != nil:
		return "not a JSON object: invalid JSON"
	}
	switch v.(type) {
	case map[string]any:
		return "not a JSON object" // unreachable for callers; kept total
	case []any:
		return "not a JSON object: a JSON array"
	case string:
		return "not a JSON object: a JSON string"
	case float64:
		return "not a JSON object: a number"
	case bool:
		return "not a JSON object: a boolean"
	default:
		return "not a JSON object: null"
	}
}

// envTree collects variables with the given prefix ("OCEAN__") into a tree.
// Every variable that cannot be placed is reported.
func envTree(environ []string, prefix string) (tree, error) {
	t := tree{}
	// Sort so that a parent JSON value is applied before its children,
	// whatever order the environment lists them in.
	vars := append([]string(nil), environ...)
	sort.Strings(vars)
	var errs []error
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
		if slices.Contains(parts, "") {
			// OCEAN__PORT____X or a trailing __ names no setting; unknown
			// variables are ignored, as in Ocean.
			continue
		}
		if err := setPath(t, parts, v, prefix); err != nil {
			errs = append(errs, err)
		}
	}
	return t, errors.Join(errs...)
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
		return fmt.Errorf("settings: decode config into %T: want a pointer to a struct", dst)
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
		if tag.secret {
			if err := cleanSecretField(fv, name); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if tag.required && fv.IsZero() {
			errs = append(errs, &ConfigError{Name: name, Reason: "required but empty"})
		}
	}
	return errors.Join(errs...)
}

// cleanSecretField trims a secret string field and refuses control
// characters inside it (see CleanSecret).
func cleanSecretField(fv reflect.Value, name string) error {
	if fv.Kind() == reflect.Pointer {
		if fv.IsNil() {
			return nil
		}
		fv = fv.Elem()
	}
	if fv.Kind() != reflect.String {
		return nil
	}
	v, err := CleanSecret(name, Secret(fv.String()))
	if err != nil {
		return err
	}
	fv.SetString(string(v))
	return nil
}

// maxSeconds is the longest time a setting can hold (time.Duration's range).
const maxSeconds = float64(math.MaxInt64 / int64(time.Second))

// secondsDuration converts a number of seconds, as Ocean gives its timeouts,
// into a Duration.
func secondsDuration(f float64) (time.Duration, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("want a finite number of seconds")
	}
	if math.Abs(f) > maxSeconds {
		return 0, errors.New("too long")
	}
	return time.Duration(f * float64(time.Second)), nil
}

// wholeNumber converts a YAML or JSON number to an int64 when it is one.
func wholeNumber(f float64) (int64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return 0, errors.New("want a whole number")
	}
	if f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, errors.New("out of range")
	}
	return int64(f), nil
}

// setValue stores raw (a string from the environment, or a value from YAML
// or JSON) into fv. Errors name the variable and the kind of value wanted,
// never the value.
func setValue(fv reflect.Value, raw any, name string) error {
	bad := func(reason string) error {
		return &ConfigError{Name: name, Reason: "malformed value: " + reason}
	}
	if fv.Kind() == reflect.Pointer {
		nv := reflect.New(fv.Type().Elem())
		if err := setValue(nv.Elem(), raw, name); err != nil {
			return err
		}
		fv.Set(nv)
		return nil
	}
	if fv.Type() == reflect.TypeFor[time.Duration]() {
		// Ocean's timeouts are numbers of seconds; a Go duration ("90s",
		// "5m") is accepted too.
		var d time.Duration
		var err error
		switch v := raw.(type) {
		case string:
			v = strings.TrimSpace(v)
			if f, ferr := strconv.ParseFloat(v, 64); ferr == nil {
				d, err = secondsDuration(f)
			} else if d, err = time.ParseDuration(v); err != nil {
				err = errors.New("want seconds or a duration such as 30s")
			}
		case int:
			d, err = secondsDuration(float64(v))
		case float64:
			d, err = secondsDuration(v)
		default:
			err = fmt.Errorf("want a duration, got %s", jsonType(raw))
		}
		if err != nil {
			return bad(err.Error())
		}
		fv.SetInt(int64(d))
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
			return bad("want a string, got " + jsonType(raw))
		}
	case reflect.Bool:
		switch v := raw.(type) {
		case bool:
			fv.SetBool(v)
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return bad("want true or false")
			}
			fv.SetBool(b)
		default:
			return bad("want a boolean, got " + jsonType(raw))
		}
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8:
		var n int64
		switch v := raw.(type) {
		case int:
			n = int64(v)
		case float64:
			w, err := wholeNumber(v)
			if err != nil {
				return bad(err.Error())
			}
			n = w
		case string:
			w, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return bad("want a whole number")
			}
			n = w
		default:
			return bad("want a number, got " + jsonType(raw))
		}
		if fv.OverflowInt(n) {
			return bad("out of range")
		}
		fv.SetInt(n)
	case reflect.Float64, reflect.Float32:
		var f float64
		switch v := raw.(type) {
		case int:
			f = float64(v)
		case float64:
			f = v
		case string:
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return bad("want a number")
			}
			f = n
		default:
			return bad("want a number, got " + jsonType(raw))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || fv.OverflowFloat(f) {
			return bad("want a finite number")
		}
		fv.SetFloat(f)
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			if s, isStr := raw.(string); isStr {
				if m, ok = parseJSONObject(s); !ok {
					return &ConfigError{Name: name, Reason: notObjectReason(s)}
				}
			}
		}
		if !ok {
			return bad("want an object, got " + jsonType(raw))
		}
		return decodeStruct(m, fv, name+"__")
	case reflect.Slice, reflect.Map, reflect.Interface:
		// Lists and objects arrive as YAML values, as JSON strings from the
		// environment, or (lists of strings) comma-separated.
		v := raw
		if s, ok := raw.(string); ok {
			s = strings.TrimSpace(s)
			switch {
			case fv.Kind() == reflect.Map:
				if err := json.Unmarshal([]byte(s), &v); err != nil {
					return &ConfigError{Name: name, Reason: notObjectReason(s)}
				}
			case strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{"):
				if err := json.Unmarshal([]byte(s), &v); err != nil {
					var se *json.SyntaxError
					if errors.As(err, &se) {
						return bad(fmt.Sprintf("invalid JSON at byte %d", se.Offset))
					}
					return bad("invalid JSON")
				}
			case fv.Kind() == reflect.Slice:
				parts := []any{}
				for _, p := range strings.Split(s, ",") {
					if p = strings.TrimSpace(p); p != "" {
						parts = append(parts, p)
					}
				}
				v = parts
			default:
				v = s
			}
		}
		if fv.Kind() == reflect.Map {
			if _, isObj := v.(map[string]any); !isObj {
				return &ConfigError{Name: name, Reason: "not a JSON object (got " + jsonType(v) + ")"}
			}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return bad("not representable as JSON")
		}
		nv := reflect.New(fv.Type())
		if err := json.Unmarshal(b, nv.Interface()); err != nil {
			if fv.Kind() == reflect.Slice {
				return bad("want a list of " + fv.Type().Elem().Kind().String() + " values")
			}
			return bad("want an object of " + fv.Type().Elem().Kind().String() + " values")
		}
		fv.Set(nv.Elem())
	default:
		return bad("unsupported field type " + fv.Type().String())
	}
	return nil
}

// jsonType names the kind of a decoded YAML or JSON value for errors.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int, int64, uint64, float64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice, reflect.Array:
		return "list"
	}
	return "value"
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
// integration.config. Keys set in Go (Config.Integration.Config) may be
// camelCase, as the tag is, or snake_case. Tag options: `required`,
// `secret` (implied by the Secret type), `default=VALUE`. Every missing or
// malformed field is reported, each naming its variable.
func DecodeIntegrationConfig(c *Config, dst any) error {
	// Top-level keys only: nested values may be maps whose keys are data
	// (a token mapping), not field names. A snake_case key wins over its
	// camelCase twin.
	raw := tree{}
	for k, v := range c.Integration.Config {
		if sk := snake(k); sk != k {
			if _, twin := c.Integration.Config[sk]; !twin {
				raw[sk] = v
			}
			continue
		}
		raw[k] = v
	}
	return decodeTree(raw, dst, "OCEAN__INTEGRATION__CONFIG__")
}

// loadSettings builds the tree from a YAML file and the environment and
// decodes it into dst with the given variable prefix.
func loadSettings(dst any, prefix string, file []byte, fileName string, environ []string, fileKey string) error {
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
			return &ConfigError{Name: strings.TrimSpace("config file " + fileName), Reason: "invalid YAML", Err: err}
		}
		if fileKey != "" {
			sub, _ := ft[fileKey].(map[string]any)
			ft = sub
		}
		merge(t, ft)
	}
	et, envErr := envTree(environ, prefix)
	merge(t, et)
	return errors.Join(envErr, decodeTree(t, dst, prefix))
}

// osEnviron is the default environment source.
func osEnviron() []string { return os.Environ() }
