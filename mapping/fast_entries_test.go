package mapping

import (
	"math"
	"testing"

	"github.com/itchyny/gojq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFastEntriesMatchesGojq checks the fused `to_entries | max_by(…) |
// .key` against gojq on objects with ties, mixed types, NaN, huge integers
// and non-ASCII keys: whenever the fast path answers, gojq gives the same
// first output and no error.
func TestFastEntriesMatchesGojq(t *testing.T) {
	t.Parallel()
	programs := []string{
		`(.__languages // {}) | to_entries | max_by(.value) | .key`,
		`.__languages | to_entries | max_by(.value) | .key`,
		`.__languages | to_entries | min_by(.value) | .key`,
		`.__languages | to_entries | max_by(.value) | .value`,
		`.__languages | to_entries | max_by(.value)`,
		`.__languages | to_entries | min_by(.value)`,
		`.__languages | to_entries | max_by(.key) | .value`,
		`.__languages | to_entries | min_by(.key) | .key`,
		`.__languages | to_entries | max_by(.value.n) | .key`,
		`.__languages | to_entries | max_by(.value) | .value.n`,
		`.__languages | to_entries | max_by(.value) | .key | ascii_downcase`,
		`.__languages | to_entries | max_by(.value) | .key.x`,
		`to_entries | max_by(.value) | .key`,
	}
	objects := []any{
		nil, "str", 1.5, []any{1.0}, map[string]any{},
		map[string]any{"Go": 70.5, "Shell": 20.0, "Dockerfile": 9.5},
		map[string]any{"Go": 50.0, "Shell": 50.0, "C": 50.0},
		map[string]any{"Go": 50.0, "Shell": 50, "C": 49.0},
		map[string]any{"b": nil, "a": nil},
		map[string]any{"b": "x", "a": 2.0, "c": true, "d": nil, "é": false},
		map[string]any{"Ünï": 1.0, "Z": 1.0, "a": 1.0},
		map[string]any{"x": math.NaN(), "y": 1.0},
		map[string]any{"x": 1 << 60, "y": float64(1 << 60), "z": 1<<60 + 1},
		map[string]any{"x": math.Inf(1), "y": math.Inf(-1), "z": -0.0, "w": 0.0},
		map[string]any{"x": map[string]any{"n": 1.0}, "y": map[string]any{"n": 2.0}},
		map[string]any{"x": map[string]any{"n": 1.0}, "y": "str"},
		map[string]any{"x": []any{1.0}, "y": []any{0.5, 3.0}},
		map[string]any{"only": 3.0},
	}
	for _, src := range programs {
		q, err := gojq.Parse(src)
		require.NoError(t, err, src)
		f := buildFast(q)
		require.NotNil(t, f, src)
		code, err := gojq.Compile(q)
		require.NoError(t, err, src)
		answered := 0
		for _, o := range objects {
			in := map[string]any{"__languages": o}
			if src[0] == 't' {
				in = map[string]any{"b": o, "a": 1.0}
			}
			got, ok := f.eval(in)
			if !ok {
				continue
			}
			answered++
			want, err := gojqFirst(t, code, in)
			require.NoError(t, err, "fast path answered %#v where gojq fails: %s on %s", got, src, preview(in))
			require.True(t, sameValue(want, got), "%s on %s: fast %#v, gojq %#v", src, preview(in), got, want)
		}
		assert.Positive(t, answered, src)
	}
	// The default mapping's language program is fused: no entry is built.
	q, err := gojq.Parse(programs[0])
	require.NoError(t, err)
	p, ok := buildFast(q).(fPipe)
	require.True(t, ok)
	assert.IsType(t, fEntryField{}, p.r)
}
