package mapping

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/itchyny/gojq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gojqFirst is the reference: gojq's first output, nil for empty output.
func gojqFirst(t *testing.T, code *gojq.Code, v any) (any, error) {
	t.Helper()
	r, ok := code.Run(v).Next()
	if !ok {
		return nil, nil
	}
	if err, ok := r.(error); ok {
		return nil, err
	}
	return r, nil
}

func TestFastPathShapes(t *testing.T) {
	t.Parallel()
	fast := []string{
		`.a`, `.a.b.c`, `."a b"`, `.["a"]`, `.a[0]`, `.a[-1]`, `.a?`, `.`,
		`"service"`, `1`, `-3`, `1.5`, `true`, `false`, `null`,
		`.a // "x"`, `.a // .b // null`, `.a | tostring`, `.a.b | tostring`, `.id | tostring`,
		`.a | ascii_downcase`, `.a | ascii_upcase`, `"\(.a)/\(.b)"`, `.a + "/" + .b`,
		`.a == "x"`, `.a != null`, `.a and .b`, `.a or (.b | not)`, `(.a)`, `(.a // "x") | tostring`,
		`.__languages | to_entries | max_by(.value) | .key`, `.xs | min_by(.n)`,
		`if .a then 1 else 2 end`, `if .a == null then null else .b end`, `if .a then .b end`,
		`if .a then 1 elif .b then 2 else 3 end`, `.a | sub("x"; "y")`, `.a | gsub(" "; "")`,
		`.a | sub("!.+$"; "")`, `.a | sub("X"; "y"; "gi")`, `(.a // {}) | to_entries | max_by(.value) | .key`,
		`if .merged_at == null then null else (.merged_at | fromdateiso8601) end`,
		`.a - 1`, `.a * 100 | floor / 100`, `(.a | fromdateiso8601) - (.b | fromdate)`, `.a | ceil`,
		`if .merged_at == null then null else ((.merged_at | sub("\\.[0-9]+"; "") | fromdateiso8601) - (.created_at | sub("\\.[0-9]+"; "") | fromdateiso8601)) / 3600 | . * 100 | floor / 100 end`,
	}
	for _, src := range fast {
		q, err := gojq.Parse(src)
		require.NoError(t, err)
		assert.NotNil(t, buildFast(q), "%s should take the fast path", src)
	}
	slow := []string{
		`.a[]`, `.a[1:2]`, `.a | length`, `def f: .; f`, `.a as $x | $x`, `[.a]`, `{a: .a}`,
		`.a, .b`, `.a | split("/")`, `if .a[] then 1 else 2 end`, `.a % 1`, `.a < 1`, `.a | exp10`, `.a | todate`, `$ENV.x`, `env.x`,
		`.a | sub("a*"; "-")`, `.a | sub(.re; "x")`, `.a | sub("x"; "\(.b)")`, `.a | sub("x"; "y"; "x")`, `{a: 1}`,
		`@base64 "\(.a)"`, `.[.a]`, `try .a`, `reduce .[] as $x (0; .)`, `100000000000000000000`,
	}
	for _, src := range slow {
		q, err := gojq.Parse(src)
		require.NoError(t, err)
		assert.Nil(t, buildFast(q), "%s should run in gojq", src)
	}
}

// TestFastPathEquivalence runs generated programs through the fast path and
// through gojq on generated inputs: whenever the fast path answers, gojq must
// give exactly the same first output and no error.
func TestFastPathEquivalence(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := make([]any, 0, 64)
	for range 60 {
		inputs = append(inputs, genValue(rng, 3, true))
	}
	inputs = append(inputs, nil, "str", 1.5, []any{1.0, "x"})
	var answered, total int
	for range 3000 {
		src := genProgram(rng, 3)
		q, err := gojq.Parse(src)
		require.NoError(t, err, src)
		f := buildFast(q)
		code, err := gojq.Compile(q)
		require.NoError(t, err, src)
		if f == nil {
			continue
		}
		for _, in := range inputs {
			total++
			got, ok := f.eval(in)
			if !ok {
				continue
			}
			answered++
			want, err := gojqFirst(t, code, in)
			require.NoError(t, err, "fast path answered %#v where gojq fails: %s on %s", got, src, preview(in))
			require.True(t, sameValue(want, got), "%s on %s: fast %#v, gojq %#v", src, preview(in), got, want)
		}
	}
	t.Logf("fast path answered %d of %d evaluations", answered, total)
	assert.Greater(t, answered, total/7, "the generator should exercise the happy path")
}

// sameValue is reflect.DeepEqual where NaN equals NaN (sqrt of a negative
// number is NaN on both paths).
func sameValue(x, y any) bool {
	switch x := x.(type) {
	case float64:
		y, ok := y.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case []any:
		y, ok := y.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := y.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !sameValue(xv, yv) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(x, y)
}

// TestFastPathNumbersAndDates checks the number and date shapes (the
// default merge-request lead time among them) against gojq on inputs
// chosen for their edges: every program on every input, and the happy
// cases must be answered by the fast path.
func TestFastPathNumbersAndDates(t *testing.T) {
	t.Parallel()
	programs := []string{
		`if .merged_at == null then null else ((.merged_at | sub("\\.[0-9]+"; "") | fromdateiso8601) - (.created_at | sub("\\.[0-9]+"; "") | fromdateiso8601)) / 3600 | . * 100 | floor / 100 end`,
		`.a | fromdateiso8601`, `.a | fromdate`, `.a - .b`, `.a + .b`, `.a * .b`, `.a / .b`, `.a | floor`, `.a | ceil`,
		`.a | round`, `.a | trunc`, `.a | fabs`, `.a | sqrt`, `.a / 3600 | . * 100 | floor / 100`, `-1 * .a`, `.a / -1`,
		`.a | gsub("\\.[0-9]+"; "") | fromdateiso8601`, `.a | sub("[0-9]+$"; "") | fromdate`, `.a | sub("Z"; "") | fromdate`,
		`.a | sub("T"; "T") | fromdateiso8601`, `.a | gsub("0"; "1") | fromdateiso8601`, `.a | sub("\\.[0-9]+Z$"; "Z") | fromdate`,
	}
	dates := []any{
		"2024-06-01T08:00:00.123Z", "2024-06-01T08:00:00Z", "2024-06-02T09:30:00.000Z", "1969-12-31T23:59:59Z",
		"2024-02-30T23:59:60Z", "2023-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",
		"2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z", "2024-06-00T00:00:00Z", "2024-06-32T00:00:00Z",
		"2024-06-01T24:00:00Z", "2024-06-01T08:60:00Z", "2024-06-01T08:00:61Z", "2024-06-01T08:00:00+01:00",
		"2024-06-01T08:00:00", "2024-06-01t08:00:00Z", "2024-6-1T8:0:0Z", "-2024-06-01T08:00:00Z", "２024-06-01T08:00:00Z",
		"2024-06-01T08:00:00.Z", "", "not a date", nil, 1.5, true,
	}
	numbers := []any{
		nil, 0, 1, -1, 3, 3600, 7200.0, 0.0, -0.0, 1.5, -2.5, 1e300, -1e300, math.Inf(1), math.NaN(),
		math.MaxInt, math.MinInt, math.MaxInt / 2, 1 << 53, json.Number("12"), "7", true,
	}
	var inputs []any
	for i, d := range dates {
		inputs = append(inputs, map[string]any{"merged_at": d, "created_at": dates[(i+1)%len(dates)], "a": d})
		inputs = append(inputs, map[string]any{"merged_at": d, "created_at": "2024-06-01T08:00:00.123Z"})
	}
	for _, x := range numbers {
		for _, y := range numbers {
			inputs = append(inputs, map[string]any{"a": x, "b": y})
		}
	}
	for _, src := range programs {
		q, err := gojq.Parse(src)
		require.NoError(t, err, src)
		f := buildFast(q)
		require.NotNil(t, f, src)
		code, err := gojq.Compile(q)
		require.NoError(t, err, src)
		for _, in := range inputs {
			got, ok := f.eval(in)
			if !ok {
				continue
			}
			want, err := gojqFirst(t, code, in)
			require.NoError(t, err, "fast path answered %#v where gojq fails: %s on %s", got, src, preview(in))
			require.True(t, sameValue(want, got), "%s on %s: fast %#v, gojq %#v", src, preview(in), got, want)
		}
	}
	// The shapes GitLab sends are answered without gojq.
	q, err := gojq.Parse(programs[0])
	require.NoError(t, err)
	got, ok := buildFast(q).eval(map[string]any{"created_at": "2024-06-01T08:00:00.123Z", "merged_at": "2024-06-02T09:30:00.000Z"})
	require.True(t, ok)
	assert.Equal(t, 25.5, got)
	q, err = gojq.Parse(`.a | sub("\\.[0-9]+"; "") | fromdateiso8601`)
	require.NoError(t, err)
	assert.IsType(t, fSubDate{}, buildFast(q).(fFloat).x.(fPipe).r, "sub | fromdateiso8601 is fused")
	for _, src := range []string{`.a - .b`, `.a / .b`, `.a * .b`} {
		q, err := gojq.Parse(src)
		require.NoError(t, err)
		_, ok := buildFast(q).eval(map[string]any{"a": 7200.0, "b": 3600})
		assert.True(t, ok, src)
	}
}

func TestFastPathNumberFormatting(t *testing.T) {
	t.Parallel()
	// formatFloat's integer shortcut against gojq's encoder (tojson).
	enc, err := gojq.Parse(`tojson`)
	require.NoError(t, err)
	encCode, err := gojq.Compile(enc)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(7, 8))
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 1 << 53, 1<<53 - 1, -(1<<53 - 1), 1 << 52, 1e15, 1e16, 1e20, 1e21, 0.5, -2.5, 900000, 123456789012}
	for range 2000 {
		floats = append(floats, float64(rng.Int64N(1<<54)-1<<53), math.Ldexp(rng.Float64(), rng.IntN(80)-10))
	}
	for _, f := range floats {
		want, err := gojqFirst(t, encCode, f)
		require.NoError(t, err)
		require.Equal(t, want, formatFloat(f), "%v", f)
	}

	q, err := gojq.Parse(`.n | tostring`)
	require.NoError(t, err)
	code, err := gojq.Compile(q)
	require.NoError(t, err)
	f := buildFast(q)
	for _, n := range []any{0.0, -0.0, 1.0, 1.5, 1e-7, 1e-6, 123456789012345678.0, 1e21, 1e300, -2.5e-10, 3, json.Number("50.0"), json.Number("1e3")} {
		in := map[string]any{"n": n}
		got, ok := f.eval(in)
		require.True(t, ok)
		want, err := gojqFirst(t, code, in)
		require.NoError(t, err)
		assert.Equal(t, want, got, "%v", n)
	}
}

func TestExprRunFallsBackToGojq(t *testing.T) {
	t.Parallel()
	e, err := compileExpr(`.a.b // "none"`, nil)
	require.NoError(t, err)
	require.NotNil(t, e.fast)
	// .a is a string: the fast path declines and gojq reports the error,
	// which is the first output of //, as with jq 1.6.
	_, err = e.run(context.Background(), map[string]any{"a": "str"})
	assert.ErrorContains(t, err, "expected an object but got: string")
	e, err = compileExpr(`.a.b? // "none"`, nil)
	require.NoError(t, err)
	v, err := e.run(context.Background(), map[string]any{"a": "str"})
	require.NoError(t, err)
	assert.Equal(t, "none", v)
	v, err = e.run(context.Background(), map[string]any{"a": map[string]any{"b": "x"}})
	require.NoError(t, err)
	assert.Equal(t, "x", v)
	e, err = compileExpr(`.a.b`, nil)
	require.NoError(t, err)
	_, err = e.run(context.Background(), map[string]any{"a": "str"})
	assert.ErrorContains(t, err, "expected an object but got: string")
}

var genKeys = []string{"a", "b", "n", "arr", "x y", "Up", "c"}

var genStrings = []string{
	"", "x", "Hello-World", "ÄÖü", "a b", "ABC",
	// Timestamps: GitLab's, cut, out of range, odd forms.
	"2024-06-01T08:00:00.123Z", "2024-06-01T08:00:00Z", "2024-02-30T23:59:60Z", "0000-01-01T00:00:00Z",
	"9999-12-31T23:59:59Z", "2024-13-01T00:00:00Z", "2024-06-01T24:00:00Z", "2024-06-01T08:00:00+01:00",
	"2024-06-01 08:00:00Z", "2024-6-01T08:00:00Z", "+2024-06-01T08:00:00Z", "２024-06-01T08:00:00Z",
	"2024-06-01T08:00:00.5.25Z", "g/p!3", "a!b!c", "x\n!y", "!", "1.2.3",
}

var genInts = []int{3, 0, -1, 100, 3600, math.MaxInt, math.MinInt, 1 << 40}

func genValue(rng *rand.Rand, depth int, top bool) any {
	k := rng.IntN(12)
	if top {
		k = 11
	}
	if depth == 0 && k >= 10 {
		k = rng.IntN(10)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return float64(rng.IntN(5))
	case 3:
		return []float64{1.5, -0.25, 1e21, 1e-7, 123456789.0, 0}[rng.IntN(6)]
	case 4:
		return json.Number([]string{"50.0", "7", "1e3", "-0"}[rng.IntN(4)])
	case 5:
		return genStrings[rng.IntN(len(genStrings))]
	case 6:
		return "inv\xffalid"
	case 7:
		return genInts[rng.IntN(len(genInts))] // int, as gojq literals are
	case 8:
		return "Up"
	case 9:
		return "1"
	case 10:
		n := rng.IntN(3)
		out := make([]any, n)
		for i := range out {
			out[i] = genValue(rng, depth-1, false)
		}
		return out
	default:
		m := map[string]any{}
		for _, key := range genKeys {
			if rng.IntN(3) > 0 {
				m[key] = genValue(rng, depth-1, false)
			}
		}
		return m
	}
}

func genProgram(rng *rand.Rand, depth int) string {
	if depth == 0 {
		return genAtom(rng)
	}
	sub := func() string { return genProgram(rng, depth-1) }
	switch rng.IntN(24) {
	case 0, 1, 2:
		return genAtom(rng)
	case 3:
		return sub() + " // " + sub()
	case 4:
		return "(" + sub() + ") | tostring"
	case 5:
		return "(" + sub() + ") | ascii_downcase"
	case 6:
		return "(" + sub() + ") | ascii_upcase"
	case 7:
		return sub() + " + " + sub()
	case 8:
		return "(" + sub() + " == " + sub() + ")"
	case 9:
		return "(" + sub() + " != " + sub() + ")"
	case 10:
		return "(" + sub() + " and " + sub() + ")"
	case 11:
		return "(" + sub() + " or " + sub() + ")"
	case 12:
		return fmt.Sprintf(`"pre\(%s)mid\(%s)"`, sub(), sub())
	case 13:
		return "(" + sub() + ") | to_entries | " + []string{"max_by(.value)", "min_by(.value)", "max_by(.key)"}[rng.IntN(3)] + " | .key"
	case 14:
		return "if " + sub() + " then " + sub() + " else " + sub() + " end"
	case 15:
		return "if " + sub() + " then " + sub() + " end"
	case 16:
		return "if " + sub() + " then " + sub() + " elif " + sub() + " then " + sub() + " else " + sub() + " end"
	case 17:
		return "(" + sub() + ") | " + []string{
			`sub("[a-c]"; "X")`, `gsub("[a-c]"; "X")`, `sub("p"; "")`, `gsub("u"; "_"; "i")`, `sub("b+$"; "!")`,
			`sub("a*"; "-")`, `gsub(""; "-")`, `sub("(?<x>a)"; "y")`, `gsub("\\s"; "")`, `sub("."; "."; "gx")`,
		}[rng.IntN(10)]
	case 18:
		return "(" + sub() + " // {}) | to_entries | max_by(.value) | .key"
	case 19:
		return "(" + sub() + []string{" - ", " * ", " / ", " + "}[rng.IntN(4)] + sub() + ")"
	case 20:
		return "(" + sub() + ") | " + []string{"floor", "ceil", "round", "fabs", "sqrt", "trunc"}[rng.IntN(6)]
	case 21:
		return "(" + sub() + ") | " + []string{"fromdateiso8601", "fromdate"}[rng.IntN(2)]
	case 22:
		return "(" + sub() + ") | " + []string{
			`sub("\\.[0-9]+"; "")`, `sub("!.+$"; "")`, `gsub(" "; "")`, `gsub("!"; "?")`, `sub("!.+"; "")`,
			`gsub("[0-9]+$"; "#")`, `sub("b"; "B"; "i")`, `sub(".+$"; "x"; "m")`,
		}[rng.IntN(8)]
	default:
		return "(" + sub() + ") | " + genAtom(rng)
	}
}

func genAtom(rng *rand.Rand) string {
	atoms := []string{
		".", ".a", ".b", ".n", ".a.b", ".a.n", ".arr", ".arr[0]", ".arr[-1]", ".a.arr[1]", `."x y"`, `.["Up"]`,
		".a?", ".a.b?", "null", "true", "false", "1", "-2", "1.5", `"Up"`, `"x"`, `""`, "not", "tostring", ".c.c.c",
		"to_entries", "max_by(.)", "min_by(.a)", ".a | to_entries", "(.arr | max_by(.))", "{}",
		`"Up pup"`, `"abc"`, `"a\u00e9b"`, "3600", "0", "-1", "100", "0.5", "floor",
		`"2024-06-01T08:00:00Z"`, `"2024-06-01T08:00:00.25Z"`, "fromdateiso8601", `"g/p!12"`,
	}
	return atoms[rng.IntN(len(atoms))]
}
