package mapping

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompileErrorsHaveLocations(t *testing.T) {
	t.Parallel()
	doc := `
resources:
  - kind: project
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"service"'
  - kind: issue
    selector:
      query: .state ==
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"issue"'
  - kind: merge-request
    port:
      itemsToParse: .x | nosuchfn
      entity:
        mappings:
          identifier: .id | tostring
          blueprint: '"mr"'
          properties:
            leadTime: (.merged_at | }
          relations:
            project:
              combinator: '"and"'
              rules:
                - property: '"$identifier"'
                  operator: '"="'
                  value: $undefined
`
	cfg, err := Parse([]byte(doc))
	require.NoError(t, err)
	_, err = Compile(cfg)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `resources[1] (issue) .selector.query: jq parse error at offset 9: unexpected EOF (expression: .state ==)`)
	assert.Contains(t, msg, `resources[2] (merge-request) .port.itemsToParse: jq compile error: function not defined: nosuchfn/0 (expression: .x | nosuchfn)`)
	assert.Contains(t, msg, `resources[2] (merge-request) .port.entity.mappings.properties.leadTime: jq parse error at offset 15 near "}": unexpected token "}" (expression: (.merged_at | })`)
	assert.Contains(t, msg, `resources[2] (merge-request) .port.entity.mappings.relations.project.rules[0].value: jq compile error: variable not defined: $undefined`)

	var all []*CompileError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *CompileError
		require.True(t, errors.As(e, &ce))
		all = append(all, ce)
	}
	require.Len(t, all, 4)
	assert.Equal(t, 15, all[2].Offset)
	assert.Equal(t, "}", all[2].Token)
	assert.Equal(t, -1, all[1].Offset)
}

func TestCompileFollowsOceanQuoteRewriting(t *testing.T) {
	t.Parallel()
	// Ocean only rewrites quotes next to whitespace or the ends, so
	// test('^v') stays invalid jq there too.
	cfg, err := Parse([]byte(`{"resources":[{"kind":"k","port":{"entity":{"mappings":{"identifier":".id","blueprint":"'b'","properties":{"p":".v | test('^v')"}}}}}]}`))
	require.NoError(t, err)
	_, err = Compile(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), ".port.entity.mappings.properties.p: jq parse error")
	assert.NotContains(t, err.Error(), "blueprint", "'b' is rewritten to \"b\"")
}

func TestCompileAccessors(t *testing.T) {
	t.Parallel()
	cfg, err := Parse([]byte(`{"resources":[
		{"kind":"a","port":{"entity":{"mappings":{"identifier":".id","blueprint":"\"x\""}}}},
		{"kind":"b","port":{"entity":{"mappings":{"identifier":".id","blueprint":"\"x\""}}}},
		{"kind":"a","port":{"entity":{"mappings":{"identifier":".id","blueprint":"\"y\""}}}}]}`))
	require.NoError(t, err)
	m, err := Compile(cfg)
	require.NoError(t, err)
	assert.Same(t, cfg, m.Config())
	require.Len(t, m.Resources(), 3)
	for i, r := range m.Resources() {
		assert.Equal(t, i, r.Index())
		assert.Same(t, &cfg.Resources[i], r.Resource())
	}
	as := m.ResourcesForKind("a")
	require.Len(t, as, 2)
	assert.Equal(t, 2, as[1].Index())
	assert.Equal(t, "a", as[1].Kind())
	_, err = Compile(nil)
	assert.Error(t, err)
}

func TestFormatFilterMatchesOcean(t *testing.T) {
	t.Parallel()
	// Expected values produced by Ocean's Python:
	// re.sub(r'(^|\s)\'(?!\s|")|(?<!\s|")\'(\s|$)', r'\1"\2', s)
	cases := [][2]string{
		{`'"service"'`, `'"service"'`},
		{`.a == 'x'`, `.a == "x"`},
		{`'x'`, `"x"`},
		{`.name`, `.name`},
		{`"it's"`, `"it's"`},
		{`.a | test('^v')`, `.a | test('^v')`},
		{`'a b'`, `"a b"`},
		{`'`, `"`},
		{`''`, `""`},
		{` ' `, ` ' `},
		{`x'y`, `x'y`},
		{`'"'`, `'"'`},
		{`.a // 'default'`, `.a // "default"`},
		{`"don't" + 'x'`, `"don't" + "x"`},
		{"'a'\n", "\"a\"\n"},
		{`'é'`, `"é"`},
		{`.x|split(' ')`, `.x|split(" ')`},
		{`'it''s'`, `"it''s"`},
		{"\t'a'\t", "\t\"a\"\t"},
		{`'"a" b'`, `'"a" b"`},
		{`"'"`, `"'"`},
	}
	for _, c := range cases {
		assert.Equal(t, c[1], formatFilter(c[0]), "input %q", c[0])
	}
}

func TestExtractDeletionPathMatchesOcean(t *testing.T) {
	t.Parallel()
	// Expected values produced by Ocean's extract_jq_deletion_path_revised.
	cases := [][2]string{
		{".file.content | fromjson", ".file.content"},
		{".file.content.raw", ".file.content.raw"},
		{". as $all | ($all | .file.content.raw) // {}", ".file.content.raw"},
		{"(.a.b | x) | y", ".a.b"},
		{".items", ".items"},
		{".file.content.dependencies | to_entries", ".file.content.dependencies"},
		{"map(.x)", ""},
		{".", ""},
		{"$x | .a", ".a"},
		{`.["a"].b`, `.["a"].b`},
		{".a[0].b", ".a[0].b"},
		{"(.a", ""},
		{".a.b[1:2]", ".a.b[1:2]"},
		{".é.x", ".é.x"},
		{".0.a", ".0.a"},
		{".a? // []", ".a"},
	}
	for _, c := range cases {
		assert.Equal(t, c[1], extractDeletionPath(c[0]), "input %q", c[0])
	}
}

func TestDeletePathForms(t *testing.T) {
	t.Parallel()
	parent := map[string]any{"a": map[string]any{"list": []any{1}, "keep": 1}, "arr": []any{map[string]any{"x": 1, "y": 2}}}
	tests := []struct {
		path string
		want map[string]any
	}{
		{".a.list", map[string]any{"a": map[string]any{"keep": 1}, "arr": parent["arr"]}},
		{".arr[0].x", map[string]any{"a": parent["a"], "arr": []any{map[string]any{"y": 2}}}},
		{".missing.deep", parent},
	}
	for _, tt := range tests {
		d := newDeletePath(tt.path, nil)
		got, err := d.apply(t.Context(), parent)
		require.NoError(t, err, tt.path)
		assert.Equal(t, tt.want, got, tt.path)
	}
	assert.Equal(t, map[string]any{"list": []any{1}, "keep": 1}, parent["a"], "parent untouched")
	_, err := newDeletePath(".a.keep.x", nil).apply(t.Context(), parent)
	assert.Error(t, err, "deleting below a number is an error, as in jq")
}
