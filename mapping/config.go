package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	suggestpkg "github.com/oceankit/oceankit/internal/suggest"
)

// Defaults Ocean applies to a port app config.
const (
	DefaultEntityDeletionThreshold = 0.9
	DefaultItemsToParseName        = "item"
	DefaultSelectorQuery           = "true"
)

// Config is a port app config: the user's description of which kinds to sync
// and how to turn each raw item into Port entities.
type Config struct {
	// DeleteDependentEntities lets Port delete entities that depend on a
	// deleted entity (default true).
	DeleteDependentEntities bool
	// CreateMissingRelatedEntities lets Port create placeholder entities for
	// relation targets that do not exist yet (default true).
	CreateMissingRelatedEntities bool
	// EnableMergeEntity upserts with merge, keeping properties this
	// integration does not set (default true).
	EnableMergeEntity bool
	// EntityDeletionThreshold is the largest share (0..1) of the
	// integration's entities a stale-entity deletion may remove (default 0.9).
	EntityDeletionThreshold float64
	// Resources are the resource configurations, in config order.
	Resources []Resource
	// Extra holds the provider's own top-level fields (for example GitLab's
	// "visibility"), as raw JSON. Only keys allowed with AllowTopLevelKeys
	// are accepted.
	Extra map[string]json.RawMessage
	// Warnings lists what Ocean accepts silently but is probably a mistake:
	// unknown keys inside a resource. The framework logs them.
	Warnings []string
}

// DecodeExtra decodes the provider top-level field key into v. It reports
// false when the field is absent.
func (c *Config) DecodeExtra(key string, v any) (bool, error) {
	raw, ok := c.Extra[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

// Resource is one entry of resources[]: a kind, its selector and its mapping.
type Resource struct {
	Kind     string
	Selector Selector
	Port     PortResource
}

// Selector is a resource's selector. Query is the jq filter every raw item
// must pass; the provider decodes its own fields from Raw.
type Selector struct {
	// Query is a jq program that must produce true for an item to be synced
	// (default "true").
	Query string
	// ExportEnvVariables names environment variables Ocean passes along with
	// the raw payload.
	ExportEnvVariables []string
	// Raw is the whole selector object as JSON, for the provider to decode
	// into its own typed selector.
	Raw json.RawMessage
}

// Decode decodes the raw selector into the provider's own type.
func (s Selector) Decode(v any) error {
	raw := s.Raw
	if len(raw) == 0 {
		raw = json.RawMessage(`{}`)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode selector: %w", err)
	}
	return nil
}

// PortResource is a resource's "port" block.
type PortResource struct {
	Entity EntityConfig
	// ItemsToParse is an optional jq program producing an array inside the
	// raw item; each element becomes its own item.
	ItemsToParse string
	// ItemsToParseName is the key each element is bound to (default "item").
	ItemsToParseName string
	// ItemsToParseTopLevelTransform removes the source array from what the
	// mappings see (default true).
	ItemsToParseTopLevelTransform bool
}

// EntityConfig is the "entity" block. Mappings has one element unless the
// config gave an array of mappings, in which case every element produces an
// entity from each item.
type EntityConfig struct {
	Mappings []EntityMapping
	// MappingsList records that the config gave mappings as an array.
	MappingsList bool
}

// EntityMapping maps one item to one entity. Every string is a jq program.
// Empty optional strings mean "not set".
type EntityMapping struct {
	Identifier Field
	Title      string
	Icon       string
	Blueprint  string
	// Team is optional: nil when unset.
	Team       *Field
	Properties map[string]string
	Relations  map[string]Field
}

// Field is a mapping value that is either a jq program (JQ) or a search query
// (Query) whose leaves are jq programs. Exactly one is set.
type Field struct {
	JQ    string
	Query *SearchQuery
}

// IsQuery reports whether the field is a search query.
func (f Field) IsQuery() bool { return f.Query != nil }

// SearchQuery is Port's ingest search query: Port resolves it to the entity
// it matches. Combinator and every rule leaf are jq programs.
type SearchQuery struct {
	Combinator string
	Rules      []Rule
}

// Rule is a search query rule: either a leaf (Property, Operator, Value, all
// jq programs) or a nested query (Query set).
type Rule struct {
	Property, Operator, Value string
	Query                     *SearchQuery
}

// ConfigError is a validation error in a port app config. Resource is -1 for
// top-level errors.
type ConfigError struct {
	Resource int
	Kind     string
	// Path is the JSON path inside the resource (".port.entity.mappings.identifier")
	// or the top-level key.
	Path string
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Resource < 0 {
		return e.Path + ": " + e.Msg
	}
	return resourceLabel(e.Resource, e.Kind) + " " + e.Path + ": " + e.Msg
}

func resourceLabel(i int, kind string) string {
	if kind == "" {
		return "resources[" + strconv.Itoa(i) + "]"
	}
	return "resources[" + strconv.Itoa(i) + "] (" + kind + ")"
}

// ParseOption changes how Parse validates a config.
type ParseOption func(*parseOptions)

type parseOptions struct {
	extraKeys map[string]bool
}

// AllowTopLevelKeys accepts the provider's own top-level fields (for example
// "visibility" for GitLab); they are kept in Config.Extra. Any other unknown
// top-level key is an error.
func AllowTopLevelKeys(keys ...string) ParseOption {
	return func(o *parseOptions) {
		for _, k := range keys {
			o.extraKeys[k] = true
		}
	}
}

// topLevelKeys are the keys Ocean's PortAppConfig reads; it also accepts the
// snake_case field names (allow_population_by_field_name).
var topLevelKeys = []string{
	"deleteDependentEntities", "createMissingRelatedEntities", "enableMergeEntity",
	"entityDeletionThreshold", "resources",
	"delete_dependent_entities", "create_missing_related_entities", "enable_merge_entity",
	"entity_deletion_threshold",
}

// Parse parses a port app config from YAML or JSON (Port returns it as JSON),
// applies Ocean's defaults and validates it. All problems are returned
// together (errors.Join of *ConfigError).
func Parse(data []byte, opts ...ParseOption) (*Config, error) {
	po := parseOptions{extraKeys: map[string]bool{}}
	for _, o := range opts {
		o(&po)
	}
	tree, err := decodeTree(data)
	if err != nil {
		return nil, err
	}
	top, ok := tree.(map[string]any)
	if !ok {
		return nil, &ConfigError{Resource: -1, Path: "(root)", Msg: "expected an object, got " + typeName(tree)}
	}
	p := &parser{}
	cfg := &Config{
		DeleteDependentEntities:      true,
		CreateMissingRelatedEntities: true,
		EnableMergeEntity:            true,
		EntityDeletionThreshold:      DefaultEntityDeletionThreshold,
	}
	for _, k := range sortedKeys(top) {
		v := top[k]
		switch k {
		case "deleteDependentEntities", "delete_dependent_entities":
			p.boolField(-1, "", k, v, &cfg.DeleteDependentEntities)
		case "createMissingRelatedEntities", "create_missing_related_entities":
			p.boolField(-1, "", k, v, &cfg.CreateMissingRelatedEntities)
		case "enableMergeEntity", "enable_merge_entity":
			p.boolField(-1, "", k, v, &cfg.EnableMergeEntity)
		case "entityDeletionThreshold", "entity_deletion_threshold":
			if v == nil {
				continue
			}
			f, ok := toFloat(v)
			switch {
			case !ok:
				p.errf(-1, "", k, "expected a number, got %s", typeName(v))
			case f < 0 || f > 1:
				p.errf(-1, "", k, "must be between 0 and 1, got %v", f)
			default:
				cfg.EntityDeletionThreshold = f
			}
		case "resources":
			cfg.Resources = p.resources(v)
		default:
			if po.extraKeys[k] {
				raw, err := json.Marshal(v)
				if err != nil {
					p.errf(-1, "", k, "cannot encode: %v", err)
					continue
				}
				if cfg.Extra == nil {
					cfg.Extra = map[string]json.RawMessage{}
				}
				cfg.Extra[k] = raw
				continue
			}
			p.errf(-1, "", k, "unknown top-level field%s", suggest(k, append(slices.Clone(topLevelKeys), keysOf(po.extraKeys)...)))
		}
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	cfg.Warnings = p.warns
	return cfg, nil
}

// decodeTree decodes JSON or YAML into a JSON-like tree (map[string]any,
// []any, string, bool, json.Number, nil).
func decodeTree(data []byte) (any, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		return nil, errors.New("mapping: empty port app config")
	}
	if trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("mapping: invalid JSON port app config: %w", err)
		}
		if dec.More() {
			return nil, errors.New("mapping: invalid JSON port app config: trailing data")
		}
		return v, nil
	}
	var v any
	if err := yaml.Unmarshal(trimmed, &v); err != nil {
		return nil, fmt.Errorf("mapping: invalid YAML port app config: %w", err)
	}
	return normalizeYAML(v, 0)
}

const maxYAMLDepth = 200

func normalizeYAML(v any, depth int) (any, error) {
	if depth > maxYAMLDepth {
		return nil, errors.New("mapping: YAML port app config nested too deeply")
	}
	switch v := v.(type) {
	case nil, string, bool:
		return v, nil
	case int:
		return json.Number(strconv.Itoa(v)), nil
	case int64:
		return json.Number(strconv.FormatInt(v, 10)), nil
	case uint64:
		return json.Number(strconv.FormatUint(v, 10)), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("mapping: YAML port app config: unsupported number %v", v)
		}
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64)), nil
	case time.Time:
		return v.Format(time.RFC3339Nano), nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			n, err := normalizeYAML(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			n, err := normalizeYAML(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			n, err := normalizeYAML(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = n
		}
		return out, nil
	default:
		return nil, fmt.Errorf("mapping: YAML port app config: unsupported value of type %T", v)
	}
}

type parser struct {
	errs  []error
	warns []string
}

// warnf records a problem Ocean ignores silently (an unknown key below the
// top level): a drop-in must accept the config, but the user should hear
// about the likely typo.
func (p *parser) warnf(res int, kind, path, format string, args ...any) {
	p.warns = append(p.warns, (&ConfigError{Resource: res, Kind: kind, Path: path, Msg: fmt.Sprintf(format, args...)}).Error())
}

func (p *parser) errf(res int, kind, path, format string, args ...any) {
	p.errs = append(p.errs, &ConfigError{Resource: res, Kind: kind, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) boolField(res int, kind, path string, v any, dst *bool) {
	switch v := v.(type) {
	case nil:
	case bool:
		*dst = v
	default:
		p.errf(res, kind, path, "expected a boolean, got %s", typeName(v))
	}
}

func (p *parser) resources(v any) []Resource {
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		p.errf(-1, "", "resources", "expected a list, got %s", typeName(v))
		return nil
	}
	out := make([]Resource, 0, len(list))
	for i, rv := range list {
		out = append(out, p.resource(i, rv))
	}
	return out
}

func (p *parser) resource(i int, v any) Resource {
	var r Resource
	obj, ok := v.(map[string]any)
	if !ok {
		p.errf(i, "", "", "expected an object, got %s", typeName(v))
		return r
	}
	// kind first, so every later error names it.
	switch k := obj["kind"].(type) {
	case string:
		r.Kind = k
		if strings.TrimSpace(k) == "" {
			p.errf(i, "", ".kind", "must not be empty")
		}
	case nil:
		p.errf(i, "", ".kind", "missing required field")
	default:
		p.errf(i, "", ".kind", "expected a string, got %s", typeName(k))
	}
	kind := r.Kind
	for _, k := range sortedKeys(obj) {
		switch k {
		case "kind":
		case "selector":
			r.Selector = p.selector(i, kind, obj[k])
		case "port":
			r.Port = p.port(i, kind, obj[k])
		default:
			p.warnf(i, kind, "."+k, "unknown field%s", suggest(k, []string{"kind", "selector", "port"}))
		}
	}
	if _, ok := obj["selector"]; !ok {
		r.Selector = Selector{Query: DefaultSelectorQuery, Raw: json.RawMessage(`{"query":"true"}`)}
	}
	if _, ok := obj["port"]; !ok {
		p.errf(i, kind, ".port", "missing required field")
	}
	return r
}

func (p *parser) selector(i int, kind string, v any) Selector {
	s := Selector{Query: DefaultSelectorQuery}
	if v == nil {
		s.Raw = json.RawMessage(`{"query":"true"}`)
		return s
	}
	obj, ok := v.(map[string]any)
	if !ok {
		p.errf(i, kind, ".selector", "expected an object, got %s", typeName(v))
		return s
	}
	if q, ok := p.jq(i, kind, ".selector.query", obj["query"]); ok && q != "" {
		s.Query = q
	}
	if ev, ok := obj["exportEnvVariables"]; ok && ev != nil {
		list, ok := ev.([]any)
		if !ok {
			p.errf(i, kind, ".selector.exportEnvVariables", "expected a list of names, got %s", typeName(ev))
		}
		for j, n := range list {
			name, ok := n.(string)
			if !ok {
				p.errf(i, kind, fmt.Sprintf(".selector.exportEnvVariables[%d]", j), "expected a string, got %s", typeName(n))
				continue
			}
			s.ExportEnvVariables = append(s.ExportEnvVariables, name)
		}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		p.errf(i, kind, ".selector", "cannot encode: %v", err)
	}
	s.Raw = raw
	return s
}

func (p *parser) port(i int, kind string, v any) PortResource {
	pr := PortResource{ItemsToParseName: DefaultItemsToParseName, ItemsToParseTopLevelTransform: true}
	obj, ok := v.(map[string]any)
	if !ok {
		p.errf(i, kind, ".port", "expected an object, got %s", typeName(v))
		return pr
	}
	known := []string{"entity", "itemsToParse", "itemsToParseName", "itemsToParseTopLevelTransform"}
	for _, k := range sortedKeys(obj) {
		val := obj[k]
		path := ".port." + k
		switch k {
		case "entity":
			pr.Entity = p.entity(i, kind, val)
		case "itemsToParse":
			pr.ItemsToParse, _ = p.jq(i, kind, path, val)
		case "itemsToParseName":
			switch n := val.(type) {
			case nil:
			case string:
				if n == "" {
					p.errf(i, kind, path, "must not be empty")
				} else {
					pr.ItemsToParseName = n
				}
			default:
				p.errf(i, kind, path, "expected a string, got %s", typeName(val))
			}
		case "itemsToParseTopLevelTransform":
			p.boolField(i, kind, path, val, &pr.ItemsToParseTopLevelTransform)
		default:
			p.warnf(i, kind, path, "unknown field%s", suggest(k, known))
		}
	}
	if _, ok := obj["entity"]; !ok {
		p.errf(i, kind, ".port.entity", "missing required field")
	}
	return pr
}

func (p *parser) entity(i int, kind string, v any) EntityConfig {
	var ec EntityConfig
	obj, ok := v.(map[string]any)
	if !ok {
		p.errf(i, kind, ".port.entity", "expected an object, got %s", typeName(v))
		return ec
	}
	for _, k := range sortedKeys(obj) {
		if k != "mappings" {
			p.warnf(i, kind, ".port.entity."+k, "unknown field%s", suggest(k, []string{"mappings"}))
		}
	}
	const path = ".port.entity.mappings"
	switch m := obj["mappings"].(type) {
	case nil:
		p.errf(i, kind, path, "missing required field")
	case map[string]any:
		ec.Mappings = []EntityMapping{p.mapping(i, kind, path, m)}
	case []any:
		ec.MappingsList = true
		if len(m) == 0 {
			p.errf(i, kind, path, "must not be an empty list")
		}
		for j, e := range m {
			ep := fmt.Sprintf("%s[%d]", path, j)
			eo, ok := e.(map[string]any)
			if !ok {
				p.errf(i, kind, ep, "expected an object, got %s", typeName(e))
				continue
			}
			ec.Mappings = append(ec.Mappings, p.mapping(i, kind, ep, eo))
		}
	default:
		p.errf(i, kind, path, "expected an object or a list of objects, got %s", typeName(m))
	}
	return ec
}

var mappingKeys = []string{"identifier", "title", "icon", "blueprint", "team", "properties", "relations"}

func (p *parser) mapping(i int, kind, path string, obj map[string]any) EntityMapping {
	em := EntityMapping{Properties: map[string]string{}, Relations: map[string]Field{}}
	for _, k := range sortedKeys(obj) {
		val := obj[k]
		fp := path + "." + k
		switch k {
		case "identifier":
			if f, ok := p.field(i, kind, fp, val); ok {
				em.Identifier = f
			}
		case "title":
			em.Title, _ = p.jq(i, kind, fp, val)
		case "icon":
			em.Icon, _ = p.jq(i, kind, fp, val)
		case "blueprint":
			em.Blueprint, _ = p.jq(i, kind, fp, val)
		case "team":
			if val == nil {
				continue
			}
			if f, ok := p.field(i, kind, fp, val); ok {
				em.Team = &f
			}
		case "properties":
			obj, ok := val.(map[string]any)
			if !ok && val != nil {
				p.errf(i, kind, fp, "expected an object of jq expressions, got %s", typeName(val))
			}
			for _, name := range sortedKeys(obj) {
				if s, ok := p.jq(i, kind, fp+"."+name, obj[name]); ok && s != "" {
					em.Properties[name] = s
				} else if ok {
					p.errf(i, kind, fp+"."+name, "expected a jq expression, got null or empty")
				}
			}
		case "relations":
			obj, ok := val.(map[string]any)
			if !ok && val != nil {
				p.errf(i, kind, fp, "expected an object, got %s", typeName(val))
			}
			for _, name := range sortedKeys(obj) {
				if obj[name] == nil {
					p.errf(i, kind, fp+"."+name, "expected a jq expression or a search query, got null")
					continue
				}
				if f, ok := p.field(i, kind, fp+"."+name, obj[name]); ok {
					em.Relations[name] = f
				}
			}
		default:
			p.warnf(i, kind, fp, "unknown field%s", suggest(k, mappingKeys))
		}
	}
	if em.Identifier.JQ == "" && em.Identifier.Query == nil {
		if _, present := obj["identifier"]; !present || obj["identifier"] == nil || obj["identifier"] == "" {
			p.errf(i, kind, path+".identifier", "missing required field")
		}
	}
	if em.Blueprint == "" {
		if _, present := obj["blueprint"]; !present || obj["blueprint"] == nil || obj["blueprint"] == "" {
			p.errf(i, kind, path+".blueprint", "missing required field")
		}
	}
	return em
}

// jq reads a jq program. YAML scalars that are not strings (true, 1) are
// accepted as their JSON text. It reports false when the value is invalid.
func (p *parser) jq(i int, kind, path string, v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case json.Number:
		return v.String(), true
	default:
		p.errf(i, kind, path, "expected a jq expression string, got %s", typeName(v))
		return "", false
	}
}

// field reads a jq program or a search query object.
func (p *parser) field(i int, kind, path string, v any) (Field, bool) {
	if obj, ok := v.(map[string]any); ok {
		q, ok := p.searchQuery(i, kind, path, obj, 0)
		return Field{Query: q}, ok
	}
	s, ok := p.jq(i, kind, path, v)
	if ok && s == "" {
		return Field{}, false
	}
	return Field{JQ: s}, ok
}

const maxQueryDepth = 32

func (p *parser) searchQuery(i int, kind, path string, obj map[string]any, depth int) (*SearchQuery, bool) {
	if depth > maxQueryDepth {
		p.errf(i, kind, path, "search query nested too deeply")
		return nil, false
	}
	ok := true
	q := &SearchQuery{}
	for _, k := range sortedKeys(obj) {
		if k != "combinator" && k != "rules" {
			p.warnf(i, kind, path+"."+k, "unknown search query field%s", suggest(k, []string{"combinator", "rules"}))
			ok = false
		}
	}
	c, cok := p.jq(i, kind, path+".combinator", obj["combinator"])
	if cok && c == "" {
		p.errf(i, kind, path+".combinator", "missing required field")
		cok = false
	}
	q.Combinator = c
	ok = ok && cok
	rules, isList := obj["rules"].([]any)
	if !isList || len(rules) == 0 {
		p.errf(i, kind, path+".rules", "expected a non-empty list of rules")
		return q, false
	}
	for j, rv := range rules {
		rp := fmt.Sprintf("%s.rules[%d]", path, j)
		ro, isObj := rv.(map[string]any)
		if !isObj {
			p.errf(i, kind, rp, "expected an object, got %s", typeName(rv))
			ok = false
			continue
		}
		if _, nested := ro["combinator"]; nested {
			nq, nok := p.searchQuery(i, kind, rp, ro, depth+1)
			ok = ok && nok
			q.Rules = append(q.Rules, Rule{Query: nq})
			continue
		}
		var r Rule
		for _, k := range sortedKeys(ro) {
			if k != "property" && k != "operator" && k != "value" {
				p.warnf(i, kind, rp+"."+k, "unknown rule field%s", suggest(k, []string{"property", "operator", "value"}))
				ok = false
			}
		}
		for _, f := range []struct {
			name string
			dst  *string
		}{{"property", &r.Property}, {"operator", &r.Operator}, {"value", &r.Value}} {
			s, sok := p.jq(i, kind, rp+"."+f.name, ro[f.name])
			if sok && s == "" {
				p.errf(i, kind, rp+"."+f.name, "missing required field")
				sok = false
			}
			*f.dst = s
			ok = ok && sok
		}
		q.Rules = append(q.Rules, r)
	}
	return q, ok
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number, float64, int:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	case int:
		return float64(v), true
	}
	return 0, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func keysOf(m map[string]bool) []string { return sortedKeys(m) }

// suggest returns ` (did you mean "x"?)` for the closest known key, if close.
func suggest(k string, known []string) string {
	if best := suggestpkg.Nearest(k, known, 3); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// LiteralBlueprints returns the blueprints of a resource whose blueprint
// mappings are all string literals ('"service"', "\"service\""), in
// mappings order; ok is false when any is computed per item. Callers use it
// to know, without mapping anything, which blueprints a resource writes.
func (r *Resource) LiteralBlueprints() (blueprints []string, ok bool) {
	for _, m := range r.Port.Entity.Mappings {
		expr := strings.TrimSpace(m.Blueprint)
		if len(expr) >= 2 && expr[0] == '\'' && expr[len(expr)-1] == '\'' {
			expr = `"` + expr[1:len(expr)-1] + `"`
		}
		var s string
		if err := json.Unmarshal([]byte(expr), &s); err != nil || s == "" {
			return nil, false
		}
		blueprints = append(blueprints, s)
	}
	return blueprints, true
}
