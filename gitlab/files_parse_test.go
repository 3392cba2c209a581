package gitlab

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseContent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		want any
	}{
		{"empty stays text", "  \n", "  \n"},
		{"json object", `{"a": 1, "b": [true]}`, map[string]any{"a": 1.0, "b": []any{true}}},
		{"json array is not wrapped", `[1, 2]`, []any{1.0, 2.0}},
		{"yaml is a list of documents", "a: 1\n", []any{map[string]any{"a": 1}}},
		{"multi-document", "a: 1\n---\nb: 2\n", []any{map[string]any{"a": 1}, map[string]any{"b": 2}}},
		{"list documents are flattened", "- x\n- y\n---\nz: 1\n", []any{"x", "y", map[string]any{"z": 1}}},
		{"comment after separator", "a: 1\n--- # two\nb: 2\n", []any{map[string]any{"a": 1}, map[string]any{"b": 2}}},
		{"crlf", "a: 1\r\n---\r\nb: 2\r\n", []any{map[string]any{"a": 1}, map[string]any{"b": 2}}},
		{"empty documents dropped", "---\n---\na: 1\n", []any{map[string]any{"a": 1}}},
		{"non-string keys and odd floats", "1: .nan\ntrue: .inf\n", []any{map[string]any{"1": "NaN", "true": "Infinity"}}},
		{"timestamps stay strings", "at: 2024-01-02\n", []any{map[string]any{"at": "2024-01-02"}}},
	}
	for _, c := range cases {
		got, err := parseContent(c.in)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, got, c.name)
	}
	_, err := parseContent("a: [unclosed\n  b: 1\n")
	assert.Error(t, err, "invalid YAML is reported")
}

func TestFileReferences(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"file://README.md": "README.md", "file://./docs/a.md": "docs/a.md"} {
		got, ok := fileRefPath(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got)
	}
	for _, in := range []string{"file:///etc/passwd", "file://../x", "http://x", "README.md"} {
		_, ok := fileRefPath(in)
		assert.False(t, ok, in)
	}
	v := []any{
		map[string]any{"readme": "file://README.md", "nested": map[string]any{"doc": "file://docs/a.md"}, "plain": "x"},
		"file://top-level-string-in-list.md",
		map[string]any{"list": []any{"file://bare-in-list.md", map[string]any{"in": "file://in-list.md"}}},
	}
	var seen []string
	walkFileRefs(v, func(p string, set func(any)) {
		seen = append(seen, p)
		set("<" + p + ">")
	})
	assert.ElementsMatch(t, []string{"README.md", "docs/a.md", "in-list.md"}, seen, "bare strings in lists are not references, as in gitlab-v2")
	assert.Equal(t, "<README.md>", v[0].(map[string]any)["readme"])
	assert.Equal(t, "<docs/a.md>", v[0].(map[string]any)["nested"].(map[string]any)["doc"])
}
