package mapping

import (
	"reflect"
	"testing"

	"github.com/itchyny/gojq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFastCollectMatchesGojq runs `[PATH[]PATH]` programs through the fast
// path and gojq on inputs of every shape: whenever the fast path answers,
// gojq gives the same first output and no error.
func TestFastCollectMatchesGojq(t *testing.T) {
	t.Parallel()
	programs := map[string]bool{ // program → whether the fast path takes it
		`[.reviewers[]?.username]`: true,
		`[.__members[]?.username]`: true,
		`[.a[].b]`:                 true,
		`[.a[]]`:                   true,
		`[.a[]?]`:                  true,
		`[.[]?.b]`:                 true,
		`[.a.b[]?.c.d]`:            true,
		`[.a?[].b]`:                true,
		`[.a[].b?]`:                true,
		`[.a[][0]]`:                true,
		`[.a[]?.b] | .[0]`:         true,
		`[.a]`:                     false,
		`[.a[].b[]]`:               false,
		`[.a[] | .b]`:              false,
		`[.a[], .b]`:               false,
		`[.a[1:]]`:                 false,
	}
	user := func(name string) map[string]any { return map[string]any{"username": name, "id": 1.0} }
	inputs := []any{
		nil, "str", 1.5, true, []any{1.0}, map[string]any{},
		map[string]any{"reviewers": []any{user("ann"), user("bob")}, "__members": []any{user("cy")}},
		map[string]any{"reviewers": []any{}, "a": []any{}},
		map[string]any{"reviewers": nil, "a": nil},
		map[string]any{"reviewers": []any{user("ann"), nil, map[string]any{}}},
		map[string]any{"reviewers": []any{user("ann"), "str"}, "a": []any{1.0, "x"}},
		map[string]any{"reviewers": map[string]any{"z": user("z"), "a": user("a")}},
		map[string]any{"reviewers": "str", "a": 3.0},
		map[string]any{"a": []any{map[string]any{"b": 1.0}, map[string]any{"b": []any{2.0}}, nil}},
		map[string]any{"a": []any{[]any{1.0, 2.0}, []any{}, nil}},
		map[string]any{"a": map[string]any{"b": []any{map[string]any{"c": map[string]any{"d": "x"}}}}},
		[]any{map[string]any{"b": 1.0}, nil},
		[]any{map[string]any{"b": 1.0}, "x"},
	}
	for src, wantFast := range programs {
		t.Run(src, func(t *testing.T) {
			t.Parallel()
			q, err := gojq.Parse(src)
			require.NoError(t, err)
			f := buildFast(q)
			code, err := gojq.Compile(q)
			require.NoError(t, err)
			if !wantFast {
				assert.Nil(t, f, "%s should run in gojq", src)
				return
			}
			require.NotNil(t, f, "%s should take the fast path", src)
			answered := 0
			for _, in := range inputs {
				got, ok := f.eval(in)
				if !ok {
					continue
				}
				answered++
				want, err := gojqFirst(t, code, in)
				require.NoError(t, err, "fast path answered %#v where gojq fails: %s on %s", got, src, preview(in))
				require.True(t, reflect.DeepEqual(want, got), "%s on %s: fast %#v, gojq %#v", src, preview(in), got, want)
			}
			assert.Positive(t, answered, "%s: the fast path answers some input", src)
		})
	}
}
