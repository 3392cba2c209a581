package mapping

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Patterns RE2 refuses (look-around, back-references) give libjq's
// (Oniguruma's) values. Expected values were checked with jq's CLI.
func TestRegexLookAroundAndBackReferences(t *testing.T) {
	t.Parallel()
	const githubCreator = `.u | gsub("\\["; "-") | gsub("\\](?=[^$])"; "-") | gsub("\\]$"; "")`
	tests := []struct {
		expr, in, want string
	}{
		// GitHub's default pull-request mapping (properties.creator).
		{githubCreator, `"johndoe"`, `"johndoe"`},
		{githubCreator, `"dependabot[bot]"`, `"dependabot-bot"`},
		{githubCreator, `"a[b]c"`, `"a-b-c"`},
		{`[.u[] | gsub("\\](?=[^$])"; "-") | gsub("\\]$"; "")]`, `["x[y]", "p]q"]`, `["x[y", "p-q"]`},
		{`.u | test("(?<=foo)bar")`, `"foobar"`, `true`},
		{`.u | test("(?<=foo)bar")`, `"bazbar"`, `false`},
		{`.u | test("(\\w)\\1")`, `"hello"`, `true`},
		{`.u | test("(\\w)\\1")`, `"abc"`, `false`},
		{`[.u | match("a(?!b)"; "g") | .offset]`, `"abacad"`, `[2,4]`},
		{`.u | capture("(?<user>[a-z]+)(?=@)")`, `"bob@x.com"`, `{"user":"bob"}`},
		{`[.u | scan("(\\w)\\1")]`, `"aabbc"`, `[["a"],["b"]]`},
		{`.u | sub("(?<x>o)(?=o)"; "0\(.x)")`, `"foobar"`, `"f0oobar"`},
		{`.u | test("ABC(?=d)"; "i")`, `"abcD"`, `true`},
		{`.u | test(["ABC(?=d)", "i"])`, `"abcd"`, `true`},
		// Offsets count code points, as libjq's do.
		{`[.u | match("(?<=é)x"; "g") | .offset]`, `"éx éx"`, `[1,4]`},
		{`.u | [match("(?<=é)(x)").captures[0] | .offset, .length, .string, .name]`, `"éx"`, `[1,1,"x",null]`},
		// An RE2 pattern in the same program keeps gojq's values.
		{`.u | gsub("\\s+"; " ") | gsub("(?<=a) "; "_")`, `"a   b  a c"`, `"a_b a_c"`},
		{`.u | test("(?=x)")`, `null`, `null`}, // a type error: the field is null
		// A pattern computed at run time is decided per call.
		{`.u as $s | "(?<=f)o" as $re | $s | test($re)`, `"fo"`, `true`},
		{`.u as $s | "o+" as $re | [$s | match($re; "g") | .string]`, `"foo boo"`, `["oo","oo"]`},
	}
	for _, tt := range tests {
		t.Run(tt.expr+" "+tt.in, func(t *testing.T) {
			t.Parallel()
			r := resource(t, "", "", "identifier: '\"i\"'\nblueprint: '\"b\"'\nproperties:\n  p: "+yamlQuote(tt.expr))
			var in any
			require.NoError(t, json.Unmarshal([]byte(`{"u":`+tt.in+`}`), &in))
			res := mapOK(t, r, []map[string]any{in.(map[string]any)})
			require.Len(t, res.Entities, 1, "no item is dropped that libjq keeps")
			got, err := json.Marshal(res.Entities[0].Properties["p"])
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
			if tt.want != "null" {
				assert.Empty(t, res.FieldErrors)
			}
		})
	}
}

// A catastrophic pattern stops at the regex budget: the field is null and
// the entity is kept; the next item is not affected.
func TestRegexBacktrackingIsBounded(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "", "identifier: .id\nblueprint: '\"b\"'\nproperties:\n  p: .s | test(\"^(a+)+(?=b)$\")\n  q: .id",
		WithRegexTimeout(20*time.Millisecond), WithItemTimeout(time.Hour))
	long := ""
	for range 40 {
		long += "a"
	}
	res := mapOK(t, r, []map[string]any{{"id": "x", "s": long + "c"}, {"id": "y", "s": "ab"}})
	require.Len(t, res.Entities, 2)
	assert.Nil(t, res.Entities[0].Properties["p"])
	assert.Equal(t, "x", res.Entities[0].Properties["q"])
	assert.Equal(t, false, res.Entities[1].Properties["p"])
	require.Len(t, res.FieldErrors, 1)
	assert.ErrorContains(t, res.FieldErrors[0].Err, "budget 20ms")
}

// Flags Oniguruma has and the backtracking engine cannot honour are an
// error for the field, not a wrong value.
func TestRegexCompatFlags(t *testing.T) {
	t.Parallel()
	r := resource(t, "", "", "identifier: '\"i\"'\nblueprint: '\"b\"'\nproperties:\n  p: .u | test(\"a(?=b)\"; \"l\")\n  x: .u | test(\"a (?=b)\"; \"x\")")
	res := mapOK(t, r, []map[string]any{{"u": "ab"}})
	require.Len(t, res.Entities, 1)
	assert.Equal(t, true, res.Entities[0].Properties["x"])
	require.Len(t, res.FieldErrors, 1)
	assert.ErrorContains(t, res.FieldErrors[0].Err, "not a valid modifier")
}
