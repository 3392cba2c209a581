package jsonproj_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/internal/jsonproj"
)

// spec is a projection written as mapping.Fields renders one: keys read
// whole by name, a key projected as name{…}, an array's elements as
// []{…}, "*" for everything; the test's own model of what Keys mean.
type spec struct {
	keys  map[string]*spec // nil value: whole
	elems *spec
	arr   bool // an Elements projection
}

// parseSpec parses a spec leniently (any string is some spec); "*" is
// nil, every key whole.
func parseSpec(s string) *spec {
	if s == "*" {
		return nil
	}
	sp, _ := parseList(s, 0)
	return sp
}

func parseList(s string, i int) (*spec, int) {
	sp := &spec{keys: map[string]*spec{}}
	for i < len(s) && s[i] != '}' {
		if s[i] == ',' {
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "[]") {
			i += 2
			var e *spec
			if i < len(s) && s[i] == '{' {
				e, i = parseList(s, i+1)
				i++
			}
			sp.arr, sp.elems = true, e
			continue
		}
		j := i
		for j < len(s) && !strings.ContainsRune(",{}", rune(s[j])) {
			j++
		}
		name := s[i:j]
		i = j
		var sub *spec
		if i < len(s) && s[i] == '{' {
			sub, i = parseList(s, i+1)
			i++
		}
		sp.keys[name] = sub
	}
	if sp.arr && (len(sp.keys) > 0 || sp.elems == nil) {
		// Keys and elements, or elements whole: the value whole.
		return nil, i
	}
	return sp, i
}

// keysOf builds the Keys of a spec.
func keysOf(sp *spec) *jsonproj.Keys {
	if sp == nil {
		return nil
	}
	if sp.arr {
		return jsonproj.Elements(keysOf(sp.elems))
	}
	tree := map[string]*jsonproj.Keys{}
	for k, sub := range sp.keys {
		tree[k] = keysOf(sub)
	}
	return jsonproj.NewTree(tree)
}

// apply projects a value decoded whole by sp.
func apply(v any, sp *spec) any {
	if sp == nil {
		return v
	}
	switch v := v.(type) {
	case map[string]any:
		if sp.arr {
			return v
		}
		out := map[string]any{}
		for k, x := range v {
			if sub, ok := sp.keys[k]; ok {
				out[k] = apply(x, sub)
			}
		}
		return out
	case []any:
		if !sp.arr {
			return v
		}
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = apply(x, sp.elems)
		}
		return out
	}
	return v
}

// reference is what Unmarshal must return: json.Unmarshal into []any, with
// the elements projected by sp.
func reference(data []byte, sp *spec) ([]any, error) {
	var raw []any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if sp == nil || !startsArray(data) {
		return raw, nil
	}
	for i, v := range raw {
		raw[i] = apply(v, sp)
	}
	return raw, nil
}

func startsArray(data []byte) bool {
	s := strings.TrimLeft(string(data), " \t\r\n")
	return strings.HasPrefix(s, "[")
}

func check(t *testing.T, data []byte, specText string) {
	t.Helper()
	sp := parseSpec(specText)
	want, wantErr := reference(data, sp)
	got, err := jsonproj.Unmarshal(data, keysOf(sp))
	if wantErr != nil {
		require.Error(t, err, "input %q", data)
		assert.Equal(t, wantErr.Error(), err.Error(), "input %q", data)
		return
	}
	require.NoError(t, err, "input %q", data)
	assert.Equal(t, want, got, "input %q, keys %s", data, specText)
}

func TestUnmarshal(t *testing.T) {
	t.Parallel()
	cases := []string{
		`[]`, ` [ ] `, `null`, `{}`, `"x"`, `1`, ``, ` `, `[`, `]`, `[,]`, `[1,]`, `[{},]`,
		`[{"a":1,"b":"x","c":{"d":[1,2,{"e":null}]}}]`,
		`[{"c":1,"a":2},{"a":3}]`,
		`[{"a":1,"a":2}]`,                         // duplicate kept key: last wins
		`[{"a":{"x":1,"x":2}}]`,                   // duplicate nested key
		`[null,{"a":1},null]`,                     // null elements
		`[1,"s",true,[{"a":1,"z":2}]]`,            // other elements are whole
		`[{"a":"\u00e9\ud83d\ude00\ud800x\n\/"}]`, // escapes, a lone surrogate
		`[{"\u0061":1,"\u00e9":2,"a\"b":3}]`,      // escaped keys
		"[{\"a\":\"\xff\xfe\",\"c\":\"\xff\"}]",   // invalid UTF-8
		"[{\"\xff\":1}]",
		`[{"a":1e400}]`, `[{"c":1e400}]`, `[{"c":-1e-400}]`, `[{"c":1E+2}]`, // range
		`[{"c":` + strings.Repeat("9", 400) + `}]`,
		`[{"a":-0,"b":0.5e-3,"c":-12.5E2}]`,
		`[{"c":01}]`, `[{"c":1.}]`, `[{"c":.1}]`, `[{"c":-}]`, `[{"c":1e}]`, `[{"c":+1}]`, // bad numbers
		`[{"c":"x` + "\x01" + `"}]`, `[{"c":"\x"}]`, `[{"c":"\u12"}]`, `[{"c":"\u12G4"}]`, // bad strings
		`[{"c":tru}]`, `[{"c":nul}]`, `[{"c":falsy}]`, `[{"c":True}]`,
		`[{"c":[1,2}]`, `[{"c":{"d":1]}]`, `[{"c":{"d"}}]`, `[{"c":{1:2}}]`, `[{"c":{"d":1,}}]`, `[{"c":[1,]}]`,
		`[{"c":1 "a":2}]`, `[{"c" 1}]`, `[{c:1}]`, `[{"a":1}}`, `[{"a":1}] x`, `[{"a":1}][]`,
		`[{"a":1}`, `[{"a":`, `[{"c":"unterminated`, `[{"c":[`,
		`[{"c":{}},{"c":[]},{"c":[[]]},{"c":{"d":{}}}]`,
		"[\t{\n\"a\" :\r1 , \"c\" : [ ] } ]",
		`[{"c":` + strings.Repeat("[", 1200) + strings.Repeat("]", 1200) + `}]`, // deep: json decides
		`[{"a":` + strings.Repeat("[", 1200) + strings.Repeat("]", 1200) + `}]`,
		`[{"c":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}]`,
		`[{"a":1}]` + "\x00",
	}
	for _, c := range cases {
		for _, sp := range []string{"a,b,é,a\"b", "*", "", "a{d,e},c{d{[]{e}}}", "c{[]{e}},a{[]}", "c{d,[]{e}}"} {
			check(t, []byte(c), sp)
		}
	}
}

// TestManyKeys decodes pages whose objects have more distinct keys than a
// decoder shares (objects keyed by data), so that keys past the bound are
// decoded as well as the shared ones.
func TestManyKeys(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`[`)
	for i := range 3 {
		if i > 0 {
			b.WriteString(`,`)
		}
		fmt.Fprintf(&b, `{"a":{`)
		for k := range 700 {
			if k > 0 {
				b.WriteString(`,`)
			}
			fmt.Fprintf(&b, `"k%d_%d":{"id":%d,"name":"n%d"}`, k, i%2, k, k)
		}
		b.WriteString(`},"c":{"id":1}}`)
	}
	b.WriteString(`]`)
	for _, sp := range []string{"*", "a", "a{k1_0{id}},c{}"} {
		check(t, []byte(b.String()), sp)
	}
}

// TestNested projects the values of kept keys: objects to their kept keys,
// arrays element by element, and keeps whole what a projection of the
// other kind meets.
func TestNested(t *testing.T) {
	t.Parallel()
	page := `[{"author":{"id":1,"username":"u","name":"n"},"reviewers":[{"username":"r","id":2},"x",[{"username":1}],null,{}],` +
		`"z":{"username":3,"q":4},"y":[{"username":5}],"w":"s","t":7}]`
	cases := []struct{ spec, want string }{
		{"author{username},reviewers{[]{username}},w{a},t{[]{a}}",
			`[{"author":{"username":"u"},"reviewers":[{"username":"r"},"x",[{"username":1}],null,{}],"w":"s","t":7}]`},
		// An object read as an array, an array read as an object: whole.
		{"z{[]{username}},y{username}", `[{"z":{"username":3,"q":4},"y":[{"username":5}]}]`},
		{"author{},reviewers{[]{}}", `[{"author":{},"reviewers":[{},"x",[{"username":1}],null,{}]}]`},
		{"author{missing}", `[{"author":{}}]`},
	}
	for _, tc := range cases {
		got, err := jsonproj.Unmarshal([]byte(page), keysOf(parseSpec(tc.spec)))
		require.NoError(t, err)
		b, err := json.Marshal(got)
		require.NoError(t, err)
		assert.JSONEq(t, tc.want, string(b), tc.spec)
		check(t, []byte(page), tc.spec)
	}
}

// TestKeyShapes keeps keys of every length, the empty one and keys that
// share a length or a first byte with a kept one.
func TestKeyShapes(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("k", 63)
	longer := strings.Repeat("k", 100)
	kept := []string{"", "a", "ab", "é", long, longer, strings.Repeat("z", 64)}
	page := `[{"":1,"a":2,"b":3,"ab":4,"ac":5,"ba":6,"é":7,"è":8,"` + long + `":9,"` + longer + `":10,"` +
		strings.Repeat("k", 64) + `":11,"` + strings.Repeat("z", 64) + `":12,"` + strings.Repeat("z", 65) + `":13}]`
	got, err := jsonproj.Unmarshal([]byte(page), jsonproj.NewKeys(kept...))
	require.NoError(t, err)
	want := map[string]any{"": 1.0, "a": 2.0, "ab": 4.0, "é": 7.0, long: 9.0, longer: 10.0, strings.Repeat("z", 64): 12.0}
	assert.Equal(t, []any{want}, got)
	got, err = jsonproj.Unmarshal([]byte(page), jsonproj.NewKeys("x").With(kept...))
	require.NoError(t, err)
	assert.Equal(t, []any{want}, got)
}

// TestRepeatedObjectsAreNotShared decodes a page whose items name the
// same people many times: each item gets values of its own. gojq's
// delpaths (del, |= empty, walk, map_values) writes back into the nested
// maps and arrays of its input, and a mapping's workers run items of one
// page at once, so an object shared by two items would be written by two
// goroutines (a fatal error in Go, not a panic).
func TestRepeatedObjectsAreNotShared(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`[`)
	for i := range 20 {
		if i > 0 {
			b.WriteString(`,`)
		}
		fmt.Fprintf(&b, `{"id":%d,"author":{"id":1,"name":"Ada"},"reviewers":[{"username":"ada"}]}`, i)
	}
	b.WriteString(`]`)
	page := []byte(b.String())
	spec := "author{name},reviewers{[]{username}}"
	check(t, page, spec)
	got, err := jsonproj.Unmarshal(page, keysOf(parseSpec(spec)))
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, it := range got {
		m := it.(map[string]any)
		for _, v := range []any{m["author"], m["reviewers"], m["reviewers"].([]any)[0]} {
			p := fmt.Sprintf("%p", v)
			assert.False(t, seen[p], "a value shared between items")
			seen[p] = true
		}
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	var none *jsonproj.Keys
	assert.True(t, none.Has("x"))
	assert.Equal(t, 0, none.Len())
	k := jsonproj.NewKeys("a", "b", "a")
	assert.Equal(t, 2, k.Len())
	assert.True(t, k.Has("a"))
	assert.False(t, k.Has("c"))
	tree := jsonproj.NewTree(map[string]*jsonproj.Keys{"a": jsonproj.NewKeys("x"), "b": nil})
	assert.Equal(t, 1, tree.Sub("a").Len())
	assert.Nil(t, tree.Sub("b"))
	assert.Nil(t, tree.With("a").Sub("a"), "With keeps a key whole")
	assert.Nil(t, jsonproj.Elements(nil))
}

// FuzzUnmarshal compares Unmarshal with json.Unmarshal (projected) on
// arbitrary input, keeping what spec names (see spec; "*" keeps all).
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`[{"a":1,"b":{"c":[1,2]},"d":"x\u00e9"}]`, `[null,{"a":true}]`, `[{"a":1,"a":2,"z":[{}]}]`,
		`[{"c":1e400}]`, `[{"c":"\ud800"}]`, `[1,2]`, `{"a":1}`, `[{"a":[}]`,
	} {
		f.Add([]byte(s), "a,b")
		f.Add([]byte(s), "*")
		f.Add([]byte(s), "")
		f.Add([]byte(s), "a{c,[]{b}},b{c{[]{}}}")
	}
	for _, s := range []string{
		`[{"author":{"id":1,"username":"u","name":"n"},"reviewers":[{"username":"r","id":2},"x",[{"username":1}],null],"z":{"username":3}}]`,
		`[{"a":[{"b":{"c":1,"d":[{"c":2}]}},{"b":[{"c":3}]}]}]`, `[{"a":{"0":{"b":1}},"b":[[{"c":1}]]}]`,
	} {
		f.Add([]byte(s), "author{username},reviewers{[]{username}},z{[]{username}}")
		f.Add([]byte(s), "a{[]{b{c,d{[]{c}}}}},b{[]{[]{c}}}")
		f.Add([]byte(s), "a{0{b}},b{[]}")
	}
	f.Add([]byte(`[{"a":{"b":1,"c":2},"d":{"b":1,"c":2}},{"a":{"b":1,"c":2},"d":{"b":1,"c":2}},{"a":{"b":1,"c":3}}]`), "a{b},d{c}")
	f.Fuzz(func(t *testing.T, data []byte, spec string) {
		sp := parseSpec(spec)
		want, wantErr := reference(data, sp)
		got, err := jsonproj.Unmarshal(data, keysOf(sp))
		if (wantErr == nil) != (err == nil) {
			t.Fatalf("input %q: error %v, json.Unmarshal's %v", data, err, wantErr)
		}
		if wantErr != nil {
			if err.Error() != wantErr.Error() {
				t.Fatalf("input %q: error %v, json.Unmarshal's %v", data, err, wantErr)
			}
			return
		}
		wb, _ := json.Marshal(want)
		gb, _ := json.Marshal(got)
		if string(wb) != string(gb) {
			t.Fatalf("input %q keys %q:\n got %s\nwant %s", data, spec, gb, wb)
		}
	})
}
