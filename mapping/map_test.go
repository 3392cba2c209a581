package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resource builds a one-resource config around a mappings block (YAML,
// indented under "mappings:") plus optional extra port and selector lines.
func resource(t *testing.T, selector, port, mappings string, opts ...Option) *ResourceMapper {
	t.Helper()
	doc := "resources:\n  - kind: k\n"
	if selector != "" {
		doc += "    selector:\n      query: " + selector + "\n"
	}
	doc += "    port:\n"
	if port != "" {
		doc += indent(port, "      ")
	}
	doc += "      entity:\n        mappings:\n" + indent(mappings, "          ")
	cfg, err := Parse([]byte(doc))
	require.NoError(t, err, doc)
	m, err := Compile(cfg, opts...)
	require.NoError(t, err)
	return m.Resources()[0]
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.Trim(s, "\n"), "\n") {
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}

func items(t *testing.T, js string) []map[string]any {
	t.Helper()
	var out []map[string]any
	require.NoError(t, json.Unmarshal([]byte(js), &out))
	return out
}

func mapOK(t *testing.T, r *ResourceMapper, in []map[string]any) *Result {
	t.Helper()
	res, err := r.Map(context.Background(), in)
	require.NoError(t, err)
	return res
}

func TestMapIdentifierForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, mappings string
		want           any
	}{
		{"jq string", "identifier: .id | tostring\nblueprint: '\"b\"'", "7"},
		{"interpolation", "identifier: '\"\\(.ns)/\\(.id)\"'\nblueprint: '\"b\"'", "g/p/7"},
		{"search query", `
identifier:
  combinator: '"and"'
  rules:
    - property: '"email"'
      operator: '"="'
      value: .email
blueprint: '"b"'`, map[string]any{"combinator": "and", "rules": []any{
			map[string]any{"property": "email", "operator": "=", "value": "a@b.c"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resource(t, "", "", tt.mappings)
			res := mapOK(t, r, items(t, `[{"id":7,"ns":"g/p","email":"a@b.c"}]`))
			require.Len(t, res.Entities, 1)
			assert.Equal(t, tt.want, res.Entities[0].Identifier)
			if s, ok := tt.want.(string); ok {
				assert.Equal(t, s, res.Entities[0].ID())
			} else {
				assert.Empty(t, res.Entities[0].ID())
			}
		})
	}
}

func TestMapAllFields(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "", `
identifier: .id | tostring
title: .name
icon: '"GitLab"'
blueprint: '"service"'
team: .team
properties:
  url: .web_url
  missing: .nope
  stars: .star_count
relations:
  single: .group
  many: .members
  none: .nothing
  query:
    combinator: '"and"'
    rules:
      - property: '"$identifier"'
        operator: '"="'
        value: .group
      - combinator: '"or"'
        rules:
          - property: '"x"'
            operator: '"="'
            value: .name
  fromjq: '{combinator: "and", rules: [{property: "a", operator: "=", value: .name}]}'
`)
	in := items(t, `[{"id":1,"name":"p","team":["t1","t2"],"web_url":"u","star_count":3,"group":"g","members":["a","b"]}]`)
	res := mapOK(t, r, in)
	require.Len(t, res.Entities, 1, "%v", res.Misconfigured)
	e := res.Entities[0]
	assert.Equal(t, "1", e.Identifier)
	assert.Equal(t, "p", e.Title)
	assert.Equal(t, "GitLab", e.Icon)
	assert.Equal(t, "service", e.Blueprint)
	assert.Equal(t, []any{"t1", "t2"}, e.Team)
	assert.Equal(t, map[string]any{"url": "u", "missing": nil, "stars": 3.0}, e.Properties)
	assert.Equal(t, "g", e.Relations["single"])
	assert.Equal(t, []any{"a", "b"}, e.Relations["many"])
	assert.Contains(t, e.Relations, "none")
	assert.Nil(t, e.Relations["none"])
	assert.Equal(t, map[string]any{"combinator": "and", "rules": []any{
		map[string]any{"property": "$identifier", "operator": "=", "value": "g"},
		map[string]any{"combinator": "or", "rules": []any{map[string]any{"property": "x", "operator": "=", "value": "p"}}},
	}}, e.Relations["query"])
	assert.Equal(t, map[string]any{"combinator": "and", "rules": []any{map[string]any{"property": "a", "operator": "=", "value": "p"}}}, e.Relations["fromjq"])
	assert.Empty(t, res.Misconfigured)
	assert.Equal(t, []NullField{
		{Field: "properties.missing", Expr: ".nope", Count: 1},
		{Field: "relations.none", Expr: ".nothing", Count: 1},
	}, res.NullFields)
}

func TestMapKeyFieldErrorsLeaveTheItemOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mappings  string
		item      string
		field     string
		errPart   string
		wantID    string
		wantBP    string
		wantTyped bool
	}{
		{"identifier not a string", "identifier: .id\nblueprint: '\"b\"'", `{"id":5}`, "identifier", "identifier must be a string or a search query, got number (5)", "", "b", true},
		{"blueprint not a string", "identifier: .id\nblueprint: .bp // \"b\"", `{"id":"i","bp":1}`, "blueprint", "blueprint must be a string", "i", "", true},
		{"identifier runtime error", "identifier: .id | ascii_downcase\nblueprint: '\"b\"'", `{"id":5}`, "identifier", "ascii_downcase cannot be applied", "", "b", false},
		{"identifier query leaf error", "identifier:\n  combinator: '\"and\"'\n  rules:\n    - property: '\"p\"'\n      operator: '\"=\"'\n      value: .v | ascii_downcase\nblueprint: '\"b\"'", `{"id":"ok","v":1}`, "identifier.rules[0].value", "ascii_downcase cannot be applied", "", "b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resource(t, "", "", tt.mappings+"\nproperties:\n  p: .id")
			in := items(t, `[{"id":"ok","v":"x"},`+tt.item+`]`)
			res := mapOK(t, r, in)
			require.Len(t, res.Entities, 1, "the good item is kept")
			assert.Equal(t, 1, res.Failed)
			assert.Empty(t, res.FieldErrors)
			require.Len(t, res.Misconfigured, 1)
			m := res.Misconfigured[0]
			assert.Equal(t, 1, m.Item)
			assert.Equal(t, -1, m.Element)
			assert.Equal(t, tt.field, m.Field)
			assert.NotEmpty(t, m.Expr)
			assert.ErrorContains(t, m.Err, tt.errPart)
			assert.Equal(t, tt.wantID, m.Identifier)
			assert.Equal(t, tt.wantBP, m.Blueprint)
			var te *TypeError
			assert.Equal(t, tt.wantTyped, errors.As(m.Err, &te))
			assert.Contains(t, m.String(), "item 1")
		})
	}
}

// TestMapFieldErrorsKeepTheEntity is Ocean's rule (ocean-core.md 3.7, 4.2):
// a field whose jq fails for an item is null, and the entity is written.
// Leaving it out would silently stop it from updating in Port.
func TestMapFieldErrorsKeepTheEntity(t *testing.T) {
	t.Parallel()
	base := "identifier: .id\nblueprint: '\"b\"'\n"
	tests := []struct {
		name     string
		mappings string
		item     string
		field    string
		errPart  string
		typed    bool
		check    func(t *testing.T, e Entity)
	}{
		{"runtime error in property", base + "properties:\n  x: .a.b\n  y: .id", `{"id":"i","a":"str"}`, "properties.x", "expected an object", false,
			func(t *testing.T, e Entity) {
				assert.Equal(t, map[string]any{"x": nil, "y": "i"}, e.Properties)
			}},
		{"split on a null description", base + "properties:\n  tags: .description | split(\",\")", `{"id":"i","description":null}`, "properties.tags", "split", false,
			func(t *testing.T, e Entity) {
				assert.Contains(t, e.Properties, "tags")
				assert.Nil(t, e.Properties["tags"])
			}},
		{"map over a missing array", base + "relations:\n  projects: .projects | map(.id)", `{"id":"i"}`, "relations.projects", "cannot iterate over", false,
			func(t *testing.T, e Entity) {
				assert.Equal(t, map[string]any{"projects": nil}, e.Relations)
			}},
		{"iterate a null path", base + "relations:\n  tickets: .serviceTickets[].externalId", `{"id":"i","serviceTickets":null}`, "relations.tickets", "cannot iterate over", false,
			func(t *testing.T, e Entity) { assert.Nil(t, e.Relations["tickets"]) }},
		{"index a string", base + "properties:\n  readme: .__includedFiles[\"README.md\"]", `{"id":"i","__includedFiles":"oops"}`, "properties.readme", "expected an object", false,
			func(t *testing.T, e Entity) { assert.Nil(t, e.Properties["readme"]) }},
		{"relation wrong type", base + "relations:\n  r: .r", `{"id":"i","r":{"a":1}}`, "relations.r", "relations.r must be a string, a list of strings, null or a search query", true,
			func(t *testing.T, e Entity) { assert.Nil(t, e.Relations["r"]) }},
		{"relation list with number", base + "relations:\n  r: .r", `{"id":"i","r":["a",1]}`, "relations.r", "must be a string, a list of strings", true,
			func(t *testing.T, e Entity) { assert.Nil(t, e.Relations["r"]) }},
		{"team wrong type", base + "team: .t", `{"id":"i","t":{"x":1}}`, "team", "team must be", true,
			func(t *testing.T, e Entity) { assert.Nil(t, e.Team) }},
		{"title an object", base + "title: .t", `{"id":"i","t":{"x":1}}`, "title", "title must be a string", true,
			func(t *testing.T, e Entity) { assert.Empty(t, e.Title) }},
		{"title runtime error", base + "title: .name | split(\"/\") | last", `{"id":"i","name":null}`, "title", "split", false,
			func(t *testing.T, e Entity) { assert.Empty(t, e.Title) }},
		{"error() in relation query leaf", base + "relations:\n  r:\n    combinator: '\"and\"'\n    rules:\n      - property: '\"p\"'\n        operator: '\"=\"'\n        value: if .id == \"i\" then error(\"boom\") else 1 end", `{"id":"i"}`, "relations.r.rules[0].value", "boom", false,
			func(t *testing.T, e Entity) { assert.Nil(t, e.Relations["r"]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resource(t, "", "", tt.mappings)
			res := mapOK(t, r, items(t, `[`+tt.item+`]`))
			require.Len(t, res.Entities, 1, "the entity is kept, as libjq's Ocean keeps it")
			assert.Equal(t, "i", res.Entities[0].ID())
			tt.check(t, res.Entities[0])
			assert.Zero(t, res.Failed)
			assert.Empty(t, res.Misconfigured)
			require.Len(t, res.FieldErrors, 1)
			m := res.FieldErrors[0]
			assert.Equal(t, tt.field, m.Field)
			assert.Equal(t, "i", m.Identifier)
			assert.Equal(t, "b", m.Blueprint)
			assert.ErrorContains(t, m.Err, tt.errPart)
			var te *TypeError
			assert.Equal(t, tt.typed, errors.As(m.Err, &te))
		})
	}
}

// A title or icon that is a number is kept: Ocean's Entity.title is Any and
// pydantic turns a numeric icon into its text.
func TestMapNumericTitleIsKept(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "", "identifier: .id\nblueprint: '\"b\"'\ntitle: .n\nicon: .n")
	for in, want := range map[string]string{`5`: "5", `1.5`: "1.5", `-0.25`: "-0.25", `12345678901`: "12345678901", `1e300`: "1e+300"} {
		res := mapOK(t, r, items(t, `[{"id":"i","n":`+in+`}]`))
		require.Len(t, res.Entities, 1, in)
		assert.Equal(t, want, res.Entities[0].Title, in)
		assert.Equal(t, want, res.Entities[0].Icon, in)
		assert.Empty(t, res.FieldErrors, in)
	}
}

func TestMapReportsEveryFailingField(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "", "identifier: .id\nblueprint: '\"b\"'\nproperties:\n  a: .x.y\n  b: .x.z\n  c: .id\n")
	res := mapOK(t, r, items(t, `[{"id":"i","x":1}]`))
	require.Len(t, res.Entities, 1)
	assert.Equal(t, map[string]any{"a": nil, "b": nil, "c": "i"}, res.Entities[0].Properties)
	assert.Zero(t, res.Failed)
	require.Len(t, res.FieldErrors, 2)
	assert.Equal(t, "properties.a", res.FieldErrors[0].Field)
	assert.Equal(t, "properties.b", res.FieldErrors[1].Field)
}

func TestMapDropsEmptyIdentity(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "", "identifier: .id\nblueprint: .bp\nproperties:\n  p: .p\n")
	in := items(t, `[{"id":null,"bp":"b"},{"id":"","bp":"b"},{"id":"i","bp":null},{"id":"i","bp":""},{"bp":"b"},{"id":"ok","bp":"b"}]`)
	res := mapOK(t, r, in)
	require.Len(t, res.Entities, 1)
	assert.Equal(t, "ok", res.Entities[0].ID())
	assert.Equal(t, 5, res.Dropped)
	assert.Zero(t, res.Failed)
	assert.Empty(t, res.Misconfigured)
}

func TestMapSelector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query string
		entities    []string
		filtered    int
		failed      int
	}{
		{"true keeps all", "'true'", []string{"a", "b", "c", "d"}, 0, 0},
		{"boolean filter, null is an error", ".keep", []string{"a"}, 1, 2},
		{"comparison with single quotes", ".name == 'b'", []string{"b"}, 3, 0},
		{"null is an error, not a filter", ".missing", nil, 0, 4},
		{"non-boolean is a misconfiguration", ".name", nil, 0, 4},
		{"error is a misconfiguration", ".name.x", nil, 0, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resource(t, tt.query, "", "identifier: .name\nblueprint: '\"b\"'")
			res := mapOK(t, r, items(t, `[{"name":"a","keep":true},{"name":"b","keep":false},{"name":"c","keep":null},{"name":"d"}]`))
			var ids []string
			for _, e := range res.Entities {
				ids = append(ids, e.ID())
			}
			assert.Equal(t, tt.entities, ids)
			assert.Equal(t, tt.filtered, res.Filtered)
			assert.Equal(t, tt.failed, res.Failed)
			assert.Len(t, res.Misconfigured, tt.failed)
			assert.Equal(t, tt.failed, res.SelectorErrors)
			for _, m := range res.Misconfigured {
				assert.Equal(t, "selector.query", m.Field)
			}
		})
	}
}

func TestMapAllAndMapOneReturnRejected(t *testing.T) {
	t.Parallel()
	r := resource(t, ".keep", "", "identifier: .name\nblueprint: '\"b\"'")
	in := items(t, `[{"name":"a","keep":true},{"name":"b","keep":false}]`)
	res, err := r.MapAll(context.Background(), in)
	require.NoError(t, err)
	require.Len(t, res.Entities, 1)
	require.Len(t, res.Rejected, 1)
	assert.Equal(t, "b", res.Rejected[0].ID())
	assert.Equal(t, 1, res.Filtered)

	one, err := r.MapOne(context.Background(), in[1])
	require.NoError(t, err)
	assert.Empty(t, one.Entities)
	require.Len(t, one.Rejected, 1)

	plain := mapOK(t, r, in)
	assert.Empty(t, plain.Rejected)
}

func TestMapItemsToParse(t *testing.T) {
	t.Parallel()
	in := `[{"id":"f1","file":{"path":"p.json","content":{"deps":{"a":"1","b":"2"}}},"other":1},{"id":"f2","file":{"content":{"deps":{}}}}]`
	tests := []struct {
		name, port, mappings string
		ids                  []string
		check                func(t *testing.T, res *Result)
	}{
		{
			name: "transform removes the source array", port: "itemsToParse: .file.content.deps | to_entries",
			mappings: "identifier: .id + \"-\" + .item.key\nblueprint: '\"dep\"'\nproperties:\n  version: .item.value\n  hasDeps: .file.content.deps != null\n  path: .file.path\n  other: .other",
			ids:      []string{"f1-a", "f1-b"},
			check: func(t *testing.T, res *Result) {
				assert.Equal(t, map[string]any{"version": "1", "hasDeps": false, "path": "p.json", "other": 1.0}, res.Entities[0].Properties)
			},
		},
		{
			name: "no transform keeps the parent whole", port: "itemsToParse: .file.content.deps | to_entries\nitemsToParseTopLevelTransform: false",
			mappings: "identifier: .id + \"-\" + .item.key\nblueprint: '\"dep\"'\nproperties:\n  hasDeps: .file.content.deps != null",
			ids:      []string{"f1-a", "f1-b"},
			check: func(t *testing.T, res *Result) {
				assert.Equal(t, true, res.Entities[1].Properties["hasDeps"])
			},
		},
		{
			name: "custom name", port: "itemsToParse: .file.content.deps | keys\nitemsToParseName: dep",
			mappings: "identifier: .dep\nblueprint: '\"dep\"'",
			ids:      []string{"a", "b"},
		},
		{
			name: "selector runs on expanded items", port: "itemsToParse: .file.content.deps | to_entries",
			mappings: "identifier: .item.key\nblueprint: '\"dep\"'",
			ids:      []string{"b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sel := ""
			if tt.name == "selector runs on expanded items" {
				sel = ".item.value == '2'"
			}
			r := resource(t, sel, tt.port, tt.mappings)
			raw := items(t, in)
			before := deepCopy(raw)
			res := mapOK(t, r, raw)
			assert.Equal(t, before, raw, "input items must not be modified")
			var ids []string
			for _, e := range res.Entities {
				ids = append(ids, e.ID())
			}
			assert.Equal(t, tt.ids, ids, "%v", res.Misconfigured)
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

func TestMapItemsToParseMisconfigured(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "itemsToParse: .list", "identifier: .item | tostring\nblueprint: '\"b\"'")
	res := mapOK(t, r, items(t, `[{"list":[1,2]},{"list":"x"},{"list":null},{"nolist":1},{"list":[3]}]`))
	var ids []string
	for _, e := range res.Entities {
		ids = append(ids, e.ID())
	}
	assert.Equal(t, []string{"1", "2", "3"}, ids)
	require.Len(t, res.Misconfigured, 1)
	assert.Equal(t, 1, res.Misconfigured[0].Item)
	assert.Equal(t, "itemsToParse", res.Misconfigured[0].Field)
	assert.ErrorContains(t, res.Misconfigured[0].Err, "itemsToParse must be an array, got string")
}

func TestMapItemsToParseElementPosition(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "itemsToParse: .list", "identifier: .item.id\nblueprint: '\"b\"'")
	res := mapOK(t, r, items(t, `[{"list":[{"id":"a"},{"id":2}]}]`))
	require.Len(t, res.Misconfigured, 1)
	assert.Equal(t, 0, res.Misconfigured[0].Item)
	assert.Equal(t, 1, res.Misconfigured[0].Element)
	require.Len(t, res.Entities, 1)
}

func TestMapMappingsList(t *testing.T) {
	t.Parallel()
	cfg, err := Parse([]byte(`{"resources":[{"kind":"k","port":{"entity":{"mappings":[
		{"identifier":".id","blueprint":"\"a\""},{"identifier":".id","blueprint":"\"b\"","properties":{"x":".x.y"}}]}}}]}`))
	require.NoError(t, err)
	m, err := Compile(cfg)
	require.NoError(t, err)
	res := mapOK(t, m.Resources()[0], items(t, `[{"id":"1"},{"id":"2","x":"s"}]`))
	var got []string
	for _, e := range res.Entities {
		got = append(got, e.Blueprint+"/"+e.ID())
	}
	assert.Equal(t, []string{"a/1", "b/1", "a/2", "b/2"}, got)
	assert.Empty(t, res.Misconfigured)
	require.Len(t, res.FieldErrors, 1)
	assert.Equal(t, 1, res.FieldErrors[0].Mapping)
	assert.Equal(t, "mappings[1].properties.x", res.FieldErrors[0].Field)
	assert.Equal(t, "2", res.FieldErrors[0].Identifier)
}

func TestMapKeepsOrderWithManyWorkers(t *testing.T) {
	t.Parallel()
	r := resource(t, ".n % 3 != 0", "", "identifier: if .n % 7 == 0 then error(\"seven\") else .n | tostring end\nblueprint: '\"b\"'\nproperties:\n  bad: if .n % 5 == 0 then error(\"five\") else .n end", WithWorkers(8))
	in := make([]map[string]any, 1000)
	for i := range in {
		in[i] = map[string]any{"n": float64(i)}
	}
	res := mapOK(t, r, in)
	var want []string
	for i := range in {
		if i%3 != 0 && i%7 != 0 {
			want = append(want, fmt.Sprint(i))
		}
	}
	var got []string
	for _, e := range res.Entities {
		got = append(got, e.ID())
		if v := e.Properties["bad"]; v != nil {
			assert.Equal(t, e.ID(), fmt.Sprint(v), "an entity keeps its own properties")
		}
	}
	assert.Equal(t, want, got)
	for _, e := range res.Entities[len(res.Entities):cap(res.Entities)] {
		assert.Nil(t, e.Properties, "no stale entity past the end keeps its maps alive")
	}
	prev := -1
	for _, m := range res.Misconfigured {
		assert.Greater(t, m.Item, prev)
		prev = m.Item
	}
	prev = -1
	fives := 0
	for _, m := range res.FieldErrors {
		assert.Greater(t, m.Item, prev)
		assert.Equal(t, fmt.Sprint(m.Item), m.Identifier)
		prev = m.Item
		fives++
	}
	for _, id := range want {
		var n int
		fmt.Sscan(id, &n)
		if n%5 == 0 {
			fives--
		}
	}
	assert.Zero(t, fives, "one field error per entity whose property failed")
	assert.Equal(t, 334, res.Filtered)
	assert.Equal(t, len(res.Misconfigured), res.Failed)
}

func TestMapConcurrentCalls(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "", "identifier: .n | tostring\nblueprint: '\"b\"'\nproperties:\n  d: .d | strptime(\"%Y-%m-%dT%H:%M:%SZ\") | mktime", WithWorkers(3))
	in := make([]map[string]any, 200)
	for i := range in {
		in[i] = map[string]any{"n": float64(i), "d": "2024-01-02T03:04:05Z"}
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			res, err := r.Map(context.Background(), in)
			if err == nil && len(res.Entities) != len(in) {
				err = fmt.Errorf("got %d entities", len(res.Entities))
			}
			errs <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}

func TestMapTimeoutIsMisconfiguration(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "", "identifier: .id\nblueprint: '\"b\"'\nproperties:\n  loop: "+yamlQuote("if .spin then (def f: f; f) else 1 end"),
		WithItemTimeout(20*time.Millisecond), WithWorkers(2))
	res := mapOK(t, r, items(t, `[{"id":"a"},{"id":"b","spin":true},{"id":"c"}]`))
	var ids []string
	for _, e := range res.Entities {
		ids = append(ids, e.ID())
	}
	assert.Equal(t, []string{"a", "c"}, ids)
	require.Len(t, res.Misconfigured, 1)
	m := res.Misconfigured[0]
	assert.Equal(t, 1, m.Item)
	assert.Equal(t, "properties.loop", m.Field)
	assert.ErrorIs(t, m.Err, ErrItemTimeout)
	assert.Equal(t, "b", m.Identifier)
}

func TestMapHonoursCancellation(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "", "identifier: .id\nblueprint: '\"b\"'\nproperties:\n  loop: "+yamlQuote("def f: f; f"), WithItemTimeout(0))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	_, err := r.Map(ctx, items(t, `[{"id":"a"}]`))
	assert.ErrorIs(t, err, context.Canceled)

	_, err = r.Map(ctx, items(t, `[{"id":"a"}]`))
	assert.ErrorIs(t, err, context.Canceled, "a done context is reported at once")
}

type panicky struct{}

func (panicky) eval(any) (any, bool) { panic("kaboom") }

func TestMapRecoversPanics(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "", "identifier: .id\nblueprint: '\"b\"'\nproperties:\n  p: .p")
	// Inject a panicking evaluator: nothing a config can do should panic,
	// but a bug must cost one item, not the process.
	e := *r.mappings[0].props[0].l.e
	e.fast = panicky{}
	r.mappings[0].props[0].l = &leaf{e: &e, id: r.mappings[0].props[0].l.id}
	res := mapOK(t, r, items(t, `[{"id":"a"},{"id":"b"}]`))
	assert.Empty(t, res.Entities)
	require.Len(t, res.Misconfigured, 2)
	var pe *PanicError
	assert.ErrorAs(t, res.Misconfigured[0].Err, &pe)
	assert.Equal(t, "properties.p", res.Misconfigured[0].Field)
	assert.Equal(t, 2, res.Failed)
}

func TestMapEnvAccess(t *testing.T) {
	t.Parallel()
	mappings := "identifier: .id\nblueprint: '\"b\"'\nproperties:\n  e: env.REGION\n  d: $ENV.REGION"
	env := []string{"REGION=eu", "OTHER=x"}
	tests := []struct {
		name string
		opts []Option
		want any
	}{
		{"visible by default when given", []Option{WithEnv(env)}, "eu"},
		{"nothing read without WithEnv", nil, nil},
		{"access off", []Option{WithEnv(env), WithEnvAccess(false)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resource(t, "", "", mappings, tt.opts...)
			res := mapOK(t, r, items(t, `[{"id":"a"}]`))
			require.Len(t, res.Entities, 1)
			assert.Equal(t, tt.want, res.Entities[0].Properties["e"])
			assert.Equal(t, tt.want, res.Entities[0].Properties["d"])
		})
	}
}

func TestMapJQCompatibility(t *testing.T) {
	t.Parallel()
	item := `{"created_at":"2024-01-02T03:04:05.123Z","merged_at":"2024-01-03T03:04:05Z","name":"My-Repo",
	"languages":{"Go":60.5,"Python":30,"Shell":9.5},"labels":["a","b"],"path":"group/sub/project","v":"v1.2.3","n":null}`
	tests := []struct {
		expr string
		want any
	}{
		{`(.merged_at | strptime("%Y-%m-%dT%H:%M:%SZ") | mktime) - (.created_at | sub("\\..*Z$";"Z") | strptime("%Y-%m-%dT%H:%M:%SZ") | mktime)`, 86400.0},
		{`(.created_at | sub("\\..*Z$";"Z") | strptime("%Y-%m-%dT%H:%M:%SZ") | mktime | todate)`, "2024-01-02T03:04:05Z"},
		{`.languages | to_entries | max_by(.value) | .key`, "Go"},
		{`.name | ascii_downcase | gsub("-"; "_")`, "my_repo"},
		{`.v | test("^v[0-9]+")`, true},
		{`.v | test( '^V' ; "i")`, true},
		{`.n // "default"`, "default"},
		{`.path | split("/") | last`, "project"},
		{`.labels | join(",")`, "a,b"},
		{`.languages | keys_unsorted`, []any{"Go", "Python", "Shell"}},
		{`1700000000 | dateadd("seconds"; 60) | date`, "2023-11-14T22:14:20Z"},
		{`[1,[2]] | [leaf_paths]`, []any{[]any{0}, []any{1, 0}}},
		{`.name | debug | debug("x")`, "My-Repo"},
		{`halt`, nil},
		{`.path | capture("(?<group>[^/]+)/") | .group`, "group"},
		{`.labels | map(ascii_upcase)`, []any{"A", "B"}},
		{`.languages | with_entries(select(.value > 10)) | length`, 2},
		{`'single' + "-" + 'quoted'`, "single-quoted"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			r := resource(t, "", "", "identifier: '\"x\"'\nblueprint: '\"b\"'\nproperties:\n  p: "+yamlQuote(tt.expr))
			res := mapOK(t, r, items(t, "["+item+"]"))
			require.Empty(t, res.Misconfigured)
			require.Len(t, res.Entities, 1)
			assert.Equal(t, tt.want, res.Entities[0].Properties["p"])
		})
	}
}

func yamlQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestMapDoesNotMutateInput(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "itemsToParse: .a.list", "identifier: .item.id\nblueprint: '\"b\"'\nproperties:\n  parent: .a\n  all: .")
	in := items(t, `[{"a":{"list":[{"id":"x"},{"id":"y"}],"keep":1},"z":2}]`)
	before := deepCopy(in)
	res := mapOK(t, r, in)
	require.Len(t, res.Entities, 2)
	assert.Equal(t, before, in)
	assert.Equal(t, map[string]any{"keep": 1.0}, res.Entities[0].Properties["parent"])
}

func TestMapEmptyBatch(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "", "identifier: .id\nblueprint: '\"b\"'")
	res := mapOK(t, r, nil)
	assert.Empty(t, res.Entities)
}

func TestExamples(t *testing.T) {
	t.Parallel()
	c := NewExampleCollector(0)
	r := resource(t, "", "", "identifier: .id\nblueprint: '\"b\"'", WithExamples(c))
	in := make([]map[string]any, 3)
	for i := range in {
		in[i] = map[string]any{"id": fmt.Sprint(i)}
	}
	for range 3 {
		mapOK(t, r, in)
	}
	assert.Equal(t, []string{"k"}, c.Kinds())
	ex := c.Examples("k")
	require.Len(t, ex, DefaultExamplesPerKind)
	assert.Equal(t, "0", ex[0]["id"])
	assert.Equal(t, "1", ex[4]["id"])
	c.Reset()
	assert.Empty(t, c.Kinds())
	assert.Empty(t, c.Examples("k"))
}

func deepCopy(v []map[string]any) []map[string]any {
	b, _ := json.Marshal(v)
	var out []map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func TestNumericIdentifierErrorSaysHowToFixIt(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "", "identifier: .id\nblueprint: '\"b\"'")
	res := mapOK(t, r, items(t, `[{"id":5}]`))
	require.Len(t, res.Misconfigured, 1)
	assert.ErrorContains(t, res.Misconfigured[0].Err, ".id | tostring")
}
