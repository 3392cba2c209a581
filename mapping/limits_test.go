package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/itchyny/gojq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compileForTest compiles src as Compile does, guarded with limit (0:
// unguarded).
func compileForTest(t *testing.T, src string, limit int64) *expr {
	t.Helper()
	guards, err := newGuardFuncs()
	require.NoError(t, err)
	ns, err := newNativeSub()
	require.NoError(t, err)
	opts := append([]gojq.CompilerOption{ns.option()}, guards.options()...)
	e, err := compileGuarded(src, opts, limit)
	require.NoError(t, err, src)
	return e
}

// allOutputs runs the gojq program (never the fast path) and renders every
// output, errors included, as text.
func allOutputs(e *expr, in any) []string {
	var iter gojq.Iter
	if e.budgetVar {
		iter = e.code.RunWithContext(context.Background(), in, &evalBudget{limit: e.limit})
	} else {
		iter = e.code.Run(in)
	}
	var out []string
	for i := 0; i < 1000; i++ {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := v.(error); ok {
			out = append(out, "error: "+err.Error())
			var halt *gojq.HaltError
			if errors.As(err, &halt) {
				break
			}
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			out = append(out, fmt.Sprintf("%#v", v))
			continue
		}
		out = append(out, string(b))
	}
	return out
}

// TestGuardedProgramsAgreeWithGojq: the guards change no result and no
// error of a program that stays within the limit.
func TestGuardedProgramsAgreeWithGojq(t *testing.T) {
	t.Parallel()
	input := map[string]any{
		"a": 3.0, "b": "bee", "n": nil, "arr": []any{1.0, "two", []any{3.0}, map[string]any{"k": "v"}},
		"obj": map[string]any{"x": 1.0, "y": map[string]any{"z": 2.0}}, "s": "a-b-c", "json": `{"q":[1,2]}`,
		"big": 1e300, "sep": ", ", "list": []any{"x", "y", "z"}, "rows": []any{[]any{1.0, 2.0}, []any{3.0}},
	}
	programs := []string{
		// operators over every pair of types, errors included
		`[(1,2) + (10,20)]`, `[(1,2) * (10,20)]`, `[(10,20) / (1,2)]`,
		`.a + 1`, `1 + .a`, `.a + .a`, `.b + "x"`, `.n + 1`, `1 + .n`, `.n + .n`, `.arr + .arr`, `.arr + []`, `[] + .arr`,
		`.obj + {"x": 5}`, `{} + .obj`, `.b + 1`, `.arr + {}`, `.obj + []`, `9223372036854775807 + 1`, `.big + .big`,
		`.a * 2`, `2 * .a`, `.b * 3`, `3 * .b`, `.b * 0`, `.b * -1`, `.b * 0.5`, `.b * 2.7`, `.obj * {"y": {"w": 1}}`,
		`.b * "x"`, `.arr * 2`, `4611686018427387904 * 4`, `-1 * 5`, `0 * 5`,
		`.a / 2`, `6 / 3`, `7 / 2`, `.a / 0`, `1 / 0`, `.s / "-"`, `.s / ""`, `"" / "-"`, `.arr / 2`, `.b / 2`, `5 / -1`,
		`.a - 1`, `.arr - [1]`, `.a % 2`, `(.list | length) / (.arr | length)`, `(.arr | length) / (.arr | length)`,
		`(.arr | length) / ((.arr | length) - 5)`, `(.arr | length) / ((.arr | length) - 4)`, `(.arr | length) * (.list | length)`,
		`(.arr | length) * ((.arr | length) - 5)`, `(.arr | length) + (.list | length)`, `.a / (.arr | length)`, `.s * (.arr | length)`,
		`.b * 2`, `.b * 1`, `.b * -3`, `.b + "x" + .b`, `. + .`, `.n * 2`,
		// update operators
		`.a += 1`, `.b += "!"`, `.a *= 2`, `.b *= 2`, `.a /= 2`, `.s /= "-"`, `.a -= 1`, `.a %= 2`, `.n //= 7`,
		`.arr[] |= tostring`, `.obj.y.z = 5`, `.arr[1] = "x"`, `.list[5] = "far"`, `.[("a","b")] += (1, 2)`,
		`.obj |= with_entries(.value |= tostring)`,
		// construction
		`[.arr[] | type]`, `{a, b}`, `{(.b): .a}`, `. as $x | {$x} | keys`, `{"k\(.a)": [.a, .b]}`, `"\(.a) and \(.b) and \(.arr)"`,
		`@base64 "x\(.b)y"`, `@json "v=\(.obj)"`, `.arr | @json`, `.list | @csv`, `.list | @tsv`, `.b | @base64`, `.b | @base64 | @base64d`,
		`.b | @html`, `.b | @uri`, `.list | @sh`, `[1,2,3]`, `{"c": 1, "d": "x"}`,
		// builtins written in jq, inlined
		`.arr | map(type)`, `.obj | map_values(. ) | keys`, `.obj | to_entries`, `.obj | to_entries | from_entries`,
		`.obj | with_entries(.key |= ascii_upcase)`, `.obj | walk(if type == "number" then . + 1 else . end)`,
		`.s | sub("-"; .)`, `.s | gsub("(?<l>[a-z])"; "<\(.l)>")`, `.s | gsub("-"; "+"; "g")`, `.s | [splits("-")]`,
		`.s | split("-"; null)`, `.s | [scan("[a-z]")]`, `.s | capture("(?<first>[a-z])")`, `.s | [match("[a-z]"; "g") | .offset]`,
		`.s | test("B"; "i")`, `[[1,2],[3,4]] | [combinations]`, `[0,1] | [combinations(2)]`, `.arr | INDEX(type)`,
		`[.obj | tostream]`, `fromstream(.obj | tostream)`, `.obj | pick(.y.z)`, `[.obj | ..]`, `[.obj | recurse]`,
		`[2 | recurse(if . < 20 then . * 2 else empty end)]`, `[1 | recurse(. + 1; . < 4)]`, `[1 | while(. < 50; . * 3)]`,
		`1 | until(. > 100; . * 2)`, `[limit(4; repeat(1))]`, `.arr | add`, `[.list[] | ascii_upcase] | add`, `add(.list[])`,
		`.arr | min_by(type)`, `.arr | sort_by(type) | map(type)`, `.arr | group_by(type) | length`, `.arr | unique_by(type) | length`,
		`JOIN({"1": "one"}; tostring)`, `[.list | JOIN({"x": 1}; .[]; .)]`, `[.list | JOIN({"x": 1}; .[]; .; add)]`, `[1,[2,[3]]] | flatten`,
		`[1,[2,[3]]] | flatten(1)`, `.rows | transpose`, `.b | explode | implode`, `.json | fromjson`, `.obj | tojson`,
		`.arr | tostring`, `.list | join(.sep?)`, `.list | join(", ")`, `. as $o | .list | join($o.sep)`, `.list | join(1, "-")`,
		`.s | split("-")`, `.s | split("")`, `.s | indices("-")`, `setpath(["a"]; 5) | .a`, `getpath(["obj", "y"])`,
		`null | setpath([2]; 1)`, `[paths] | length`, `.arr | .[1:3]`, `.arr[2]`, `.arr[-1]`, `.arr[70000]`, `.arr[.a]`,
		`reduce .arr[] as $x (0; . + 1)`, `[foreach .list[] as $x (""; . + $x)]`, `[label $out | 1, 2, break $out]`,
		`try ({} + 1) catch .`, `try error("boom") catch .`, `.arr | first, last`, `[range(5)]`, `[range(0; 10; 3)]`,
		`def f: if . > 3 then . else . + 1 | f end; 0 | f`, `def map(f): "mine"; [1] | map(.)`, `def f(x): x + x; f(.a)`,
		`[.[] | numbers] | length`, `.list | to_entries | map(.key)`, `.b | ltrimstr("b")`, `.b | [.[1:]]`,
		`. as [$a] | $a`, `. as {a: $v} | $v`, `.arr as [$first] | $first`, `{} | .a.b.c = 1`, `[.arr[] | select(type == "number")]`,
		`[.]`, `{a: .}`, `[.arr[]]`, `{k: .obj.y, l: .arr[0]}`, `. as $x | [$x, $x] | length`, `[.obj["x"], .obj.y]`,
		`now | type`, `env | type`, `[splits("x")]`, `.s | sub("(?<x>-)"; "\(.x)\(.x)"; "g")`,
	}
	for _, src := range programs {
		t.Run(src, func(t *testing.T) {
			t.Parallel()
			plain := compileForTest(t, src, 0)
			guarded := compileForTest(t, src, DefaultEvalMemoryLimit)
			assert.Equal(t, allOutputs(plain, input), allOutputs(guarded, input))
		})
	}
}

// TestEvalLimitStopsBuilders: programs that build gigabytes in few steps
// fail with a LimitError naming the operation, before they allocate. The
// limit is smaller than the default to keep the test fast; the mechanism
// is the same.
func TestEvalLimitStopsBuilders(t *testing.T) {
	t.Parallel()
	const limit = 4 << 20
	tests := []struct {
		src  string
		in   any
		want string // in the error
	}{
		{`[range(1e8)]`, nil, "array construction"},
		{`[range(1e8)] | length`, nil, "array construction"},
		{`"x" * 1e9`, nil, "string repetition"},
		{`1e9 * "x"`, nil, "string repetition"},
		{`.s * 1e9`, map[string]any{"s": "ab"}, "string repetition"},
		{`[repeat(1)] | .[:10]`, nil, "over the limit"},
		{`[limit(1e8; repeat("x"))] | join("")`, nil, "over the limit"},
		{`reduce range(64) as $i ("x"; . + .)`, nil, "string concatenation"},
		{`reduce range(64) as $i ([1]; . + .)`, nil, "array concatenation"},
		{`reduce range(64) as $i ("x"; "\(.)\(.)")`, nil, "string interpolation"},
		{`reduce range(64) as $i ({}; {a: ., b: .}) | tojson`, nil, "tojson"},
		{`reduce range(64) as $i ({}; {a: ., b: .})`, nil, "result"},
		{`reduce range(64) as $i ({}; {a: ., b: .}) | [., .]`, nil, "array construction"},
		{`reduce range(64) as $i ([]; [., .]) | tojson`, nil, "array construction"},
		{`reduce range(64) as $i ({a: "x"}; .a += .a)`, nil, "string concatenation"},
		{`reduce range(64) as $i ({}; .a = . | .b = .a)`, nil, "assignment"},
		{`. as $x | reduce range(64) as $i ($x; . as $x | . as $y | {$x, $y})`, map[string]any{}, "result"},
		{`null | .[500000000] = 1`, nil, "array index"},
		{`null | .[5e8 | floor] = 1`, nil, "array index"},
		{`setpath([500000000]; 1)`, nil, "path with array index"},
		{`null | getpath([500000000]) |= 1`, nil, "path with array index"},
		{`"x" * 3e6 | split("")`, nil, "split"},
		{`"x" * 3e6 | explode`, nil, "explode"},
		{`"x" * 1e6 | [match(""; "g")] | length`, nil, "regular expression match"},
		{`"x" * 3e6 | . / ""`, nil, "string division"},
		{`[range(600)] as $a | [range(600) | $a] | tojson`, nil, "over the limit"},
		{`{a: [range(1e5)]} | tojson | length`, nil, "tojson"},
		{`[range(1000)] | [.[] as $a | .[] as $b | 1] | length`, nil, "array construction"},
		{`last(0 | recurse(. + 1))`, nil, "function call"},
		{`[0 | recurse(. + 1)] | length`, nil, "over the limit"},
		{`last(0 | while(true; . + 1))`, nil, "function call"},
		{`0 | until(false; . + 1)`, nil, "function call"},
		{`def f: ., (. + 1 | f); last(0 | f)`, nil, "function call"},
		{`[range(1e6)] | map(tostring) | length`, nil, "over the limit"},
		{`[range(1e3)] | map([range(1e3)]) | length`, nil, "over the limit"},
		{`"ab" * 1e6 | gsub("a"; .)`, nil, "over the limit"},
		{`[[range(1e3)], [range(1e3)]] | [combinations] | length`, nil, "over the limit"},
		{`[[range(1e4)], (range(5e3) | [])] | transpose | length`, nil, "transpose"},
		{`[range(1e4)] | map(tostring) | join("," * 1000) | length`, nil, "join"},
		{`[range(2e5)] | with_entries(.) | length`, nil, "over the limit"},
		{`[range(2e5) | tostring] | INDEX(.) | length`, nil, "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			e := compileForTest(t, tt.src, limit)
			_, err := e.runJQ(t.Context(), tt.in)
			require.Error(t, err)
			var le *LimitError
			require.ErrorAs(t, err, &le, "%v", err)
			assert.ErrorIs(t, err, ErrEvalLimit)
			assert.ErrorContains(t, err, tt.want)
			assert.ErrorContains(t, err, "over the limit of 4.0 MiB per evaluation")
			assert.Equal(t, int64(limit), le.Limit)
		})
	}
}

func TestEvalLimitSetting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		limit   int64
		src     string
		wantErr bool
	}{
		{1 << 10, `"x" * 100 | length`, false},
		{1 << 10, `"x" * 2000 | length`, true},
		{1 << 10, `[range(50)] | length`, false},
		{1 << 10, `[range(100)] | length`, true},
		{0, `"x" * 2000 | length`, false}, // off
		{-1, `[range(100)] | length`, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.limit, tt.src), func(t *testing.T) {
			t.Parallel()
			cfg := &Config{Resources: []Resource{{Kind: "k", Selector: Selector{Query: "true"},
				Port: PortResource{Entity: EntityConfig{Mappings: []EntityMapping{{
					Identifier: Field{JQ: ".id"}, Blueprint: `"b"`,
					Properties: map[string]string{"n": tt.src, "ok": ".id"},
				}}}}}}}
			m, err := Compile(cfg, WithEvalMemoryLimit(tt.limit), WithWorkers(1))
			require.NoError(t, err)
			res, err := m.Resources()[0].Map(t.Context(), []map[string]any{{"id": "x"}})
			require.NoError(t, err)
			if !tt.wantErr {
				require.Empty(t, res.Misconfigured)
				require.Len(t, res.Entities, 1)
				return
			}
			// A failing property is reported as the mapping reports every
			// failing jq program: a field error naming the field and the
			// expression; the entity is written with the field null.
			require.Empty(t, res.Misconfigured)
			require.Len(t, res.Entities, 1)
			assert.Nil(t, res.Entities[0].Properties["n"])
			require.Len(t, res.FieldErrors, 1)
			mis := res.FieldErrors[0]
			assert.Equal(t, "properties.n", mis.Field)
			assert.Equal(t, tt.src, mis.Expr)
			assert.Equal(t, "x", mis.Identifier)
			assert.ErrorIs(t, mis.Err, ErrEvalLimit)
			assert.Contains(t, mis.String(), "properties.n ("+tt.src+"): jq ")
		})
	}
}

func TestReservedNamesAreRefused(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		`$__oceankit_budget`, `_oceankit_add(1; 2; null)`, `. as $__oceankit_v | 1`, `def _oceankit_call(x): 1; 2`,
		`reduce .[] as $__oceankit_budget (0; .)`, `{$__oceankit_budget}`,
	} {
		cfg := &Config{Resources: []Resource{{Kind: "k", Port: PortResource{Entity: EntityConfig{Mappings: []EntityMapping{{
			Identifier: Field{JQ: ".id"}, Blueprint: `"b"`, Properties: map[string]string{"p": src},
		}}}}}}}
		_, err := Compile(cfg)
		require.Error(t, err, src)
		assert.ErrorContains(t, err, "reserved for oceankit", src)
	}
}

func TestSizeOfStopsAtTheLimit(t *testing.T) {
	t.Parallel()
	big := make([]any, 1e6)
	for i := range big {
		big[i] = "0123456789"
	}
	assert.Equal(t, int64(costArray+1e6*(costScalar+10)), sizeOf(big, 1<<40))
	assert.Less(t, sizeOf(big, 1000), int64(1100), "the walk stops soon after the limit")
	assert.Equal(t, int64(costObject+costEntry+1+costScalar), sizeOf(map[string]any{"k": 1.0}, 1<<20))
}

func TestErrorTextIsBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want string
	}{
		{`error("boom")`, "error: boom"},
		{`error({a: [range(1e5)]})`, `error: {"a":[0,1,2,3,4,5,6,7,8,9 ...}`},
		{`error("x" * 1e5)`, "error: xxxxxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			e := compileForTest(t, tt.src, DefaultEvalMemoryLimit)
			_, err := e.runJQ(t.Context(), nil)
			require.Error(t, err)
			assert.LessOrEqual(t, len(err.Error()), maxErrorText+16)
			assert.Contains(t, err.Error(), tt.want)
			var ve gojq.ValueError
			assert.ErrorAs(t, err, &ve, "the value stays reachable")
		})
	}
}

// TestMappingsCannotExhaustMemory: the mappings of issue 15 fail for their
// item with a LimitError, well before the time budget; the other items are
// unaffected. (The limit is below the default so that the test stays fast
// under the race detector; the time budget is out of the way.)
func TestMappingsCannotExhaustMemory(t *testing.T) {
	t.Parallel()
	for _, src := range []string{`[range(1e8)]`, `[range(1e8)] | length`, `"x" * 1e9`, `[repeat(1)] | .[:10]`} {
		t.Run(src, func(t *testing.T) {
			t.Parallel()
			cfg := &Config{Resources: []Resource{{Kind: "k", Port: PortResource{Entity: EntityConfig{Mappings: []EntityMapping{{
				Identifier: Field{JQ: ".id"}, Blueprint: `"b"`,
				Properties: map[string]string{"bad": `if .id == "x" then ` + src + ` else 1 end`, "good": ".id"},
			}}}}}}}
			m, err := Compile(cfg, WithWorkers(2), WithEvalMemoryLimit(8<<20), WithItemTimeout(time.Hour))
			require.NoError(t, err)
			res, err := m.Resources()[0].Map(t.Context(), []map[string]any{{"id": "x"}, {"id": "y"}})
			require.NoError(t, err)
			require.Len(t, res.FieldErrors, 1)
			assert.Equal(t, "properties.bad", res.FieldErrors[0].Field)
			assert.ErrorIs(t, res.FieldErrors[0].Err, ErrEvalLimit)
			assert.NotErrorIs(t, res.FieldErrors[0].Err, ErrItemTimeout)
			require.Len(t, res.Entities, 2, "the item over the limit is written with the field null")
			assert.Equal(t, "x", res.Entities[0].Identifier)
			assert.Nil(t, res.Entities[0].Properties["bad"])
			assert.Equal(t, "y", res.Entities[1].Identifier)
		})
	}
}
