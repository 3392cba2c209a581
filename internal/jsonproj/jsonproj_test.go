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

// reference is what Unmarshal must return: json.Unmarshal into []any, with
// the object elements projected to keys.
func reference(data []byte, keys *jsonproj.Keys) ([]any, error) {
	var raw []any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if keys == nil || !startsArray(data) {
		return raw, nil
	}
	for i, v := range raw {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		p := map[string]any{}
		for k, x := range m {
			if keys.Has(k) {
				p[k] = x
			}
		}
		raw[i] = p
	}
	return raw, nil
}

func startsArray(data []byte) bool {
	s := strings.TrimLeft(string(data), " \t\r\n")
	return strings.HasPrefix(s, "[")
}

func check(t *testing.T, data []byte, keys *jsonproj.Keys) {
	t.Helper()
	want, wantErr := reference(data, keys)
	got, err := jsonproj.Unmarshal(data, keys)
	if wantErr != nil {
		require.Error(t, err, "input %q", data)
		assert.Equal(t, wantErr.Error(), err.Error(), "input %q", data)
		return
	}
	require.NoError(t, err, "input %q", data)
	assert.Equal(t, want, got, "input %q", data)
}

func TestUnmarshal(t *testing.T) {
	t.Parallel()
	ab := jsonproj.NewKeys("a", "b", "é", "a\"b")
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
		check(t, []byte(c), ab)
		check(t, []byte(c), nil)
		check(t, []byte(c), jsonproj.NewKeys())
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
	for _, keys := range []*jsonproj.Keys{nil, jsonproj.NewKeys("a")} {
		check(t, []byte(b.String()), keys)
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
}

// FuzzUnmarshal compares Unmarshal with json.Unmarshal (projected) on
// arbitrary input, keeping keys named in spec (comma-separated; "*" keeps
// all).
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`[{"a":1,"b":{"c":[1,2]},"d":"x\u00e9"}]`, `[null,{"a":true}]`, `[{"a":1,"a":2,"z":[{}]}]`,
		`[{"c":1e400}]`, `[{"c":"\ud800"}]`, `[1,2]`, `{"a":1}`, `[{"a":[}]`,
	} {
		f.Add([]byte(s), "a,b")
		f.Add([]byte(s), "*")
		f.Add([]byte(s), "")
	}
	f.Fuzz(func(t *testing.T, data []byte, spec string) {
		var keys *jsonproj.Keys
		if spec != "*" {
			keys = jsonproj.NewKeys(strings.Split(spec, ",")...)
		}
		want, wantErr := reference(data, keys)
		got, err := jsonproj.Unmarshal(data, keys)
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
