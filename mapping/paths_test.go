package mapping

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func keys(k ...string) Fields { return Fields{Keys: k} }

// fieldsCases are programs and the item keys they may read; all is
// AllFields. They double as the corpus of the property test.
var fieldsCases = []struct {
	src  string
	want Fields
}{
	// Paths and literals.
	{`.a`, keys("a")},
	{`.a.b.c`, keys("a")},
	{`.a[0]`, keys("a")},
	{`.["a"]`, keys("a")},
	{`."a"`, keys("a")},
	{`.a?`, keys("a")},
	{`.a[]?`, keys("a")},
	{`.a[1:2]`, keys("a")},
	{`.a[.b]`, keys("a", "b")},
	{`.["a"].b`, keys("a")},
	{`true`, keys()},
	{`"x"`, keys()},
	{`'blue'`, keys()},
	{`null`, keys()},
	{`1 + 2`, keys()},
	{`$__loc__`, keys()},
	{`env.HOME`, keys()},
	{`$ENV.HOME`, keys()},
	{`now | floor`, keys()},
	// Construction.
	{`{a: .x}`, keys("x")},
	{`{x}`, keys("x")},
	{`{"x"}`, keys("x")},
	{`{(.k): .v}`, keys("k", "v")},
	{`{"\(.k)": 1}`, keys("k")},
	{`[.a, .b]`, keys("a", "b")},
	{`[.a[]?.username]`, keys("a")},
	{`"\(.a)-\(.b.c)"`, keys("a", "b")},
	{`@base64 "x\(.a)"`, keys("a")},
	{`{$__loc__}`, keys()},
	// Operators.
	{`.a // .b`, keys("a", "b")},
	{`.a + .b * 2`, keys("a", "b")},
	{`.a == 1 and .b != 2`, keys("a", "b")},
	{`. and .a`, keys("a")},
	{`.a, .b`, keys("a", "b")},
	{`-.a`, keys("a")},
	{`if .a then .b else .c end`, keys("a", "b", "c")},
	{`if .a then .b elif .c then .d else .e end`, keys("a", "b", "c", "d", "e")},
	{`if . then 1 else 2 end`, keys()},
	{`try .a catch .`, keys("a")},
	{`try error(.a) catch .`, keys("a")},
	{`.a?`, keys("a")},
	{`label $out | .a | ., break $out`, keys("a")},
	// Pipes change the input.
	{`.a | f`, keys("a")}, // whatever f is, it sees .a
	{`.a | keys`, keys("a")},
	{`.a | length`, keys("a")},
	{`.a | to_entries | map(.key)`, keys("a")},
	{`.a | .b | tostring`, keys("a")},
	{`.a | . + 1`, keys("a")},
	{`.a | .[]`, keys("a")},
	{`.a | ..`, keys("a")},
	{`.a as $x | .b + $x`, keys("a", "b")},
	{`.a as $x | $x.y`, keys("a")},
	{`.a as [$x, {b: $y}] | $x`, keys("a")},
	{`.a as {(.k): $v} | $v`, keys("a", "k")},
	{`select(.a == 1) | .b`, keys("a", "b")},
	{`select(.a) | .b`, keys("a", "b")},
	{`objects | .a`, keys("a")},
	{`first(.a, .b)`, keys("a", "b")},
	{`limit(1; .a[])`, keys("a")},
	{`[limit(.n; .a[])]`, keys("a", "n")},
	{`isempty(.a[])`, keys("a")},
	{`path(.a.b)`, keys("a")},
	{`reduce .a[] as $x (0; . + $x)`, keys("a")},
	{`foreach .a[] as $x (0; . + 1; [$x, .])`, keys("a")},
	{`.a | reduce .[] as $x (.; . + $x)`, keys("a")},
	{`.a |= 1 | .a`, AllFields},
	{`type`, keys()},
	{`.a | not`, keys("a")},
	{`not`, keys()},
	{`[range(.n)]`, keys("n")},
	{`.id | tostring`, keys("id")},
	{`.a | test("x"; .b)`, keys("a")}, // .b runs on .a
	{`.a | sub("x"; "y")`, keys("a")},
	// What sees the item whole.
	{`.`, AllFields},
	{`.[]`, AllFields},
	{`..`, AllFields},
	{`keys`, AllFields},
	{`keys_unsorted`, AllFields},
	{`has("a")`, AllFields},
	{`length`, AllFields},
	{`to_entries`, AllFields},
	{`with_entries(.)`, AllFields},
	{`tojson`, AllFields},
	{`tostring`, AllFields},
	{`@json`, AllFields},
	{`@base64`, AllFields},
	{`"\(.)"`, AllFields},
	{`.[.k]`, AllFields},
	{`.["\(.k)"]`, AllFields},
	{`.[0]`, AllFields},
	{`.[1:]`, AllFields},
	{`getpath(["a"])`, AllFields},
	{`[paths]`, AllFields},
	{`del(.a)`, AllFields},
	{`.a = 1`, AllFields},
	{`. as $x | $x.a`, AllFields},
	{`. as {a: $x} | $x`, AllFields},
	{`reduce . as $x (0; 1)`, AllFields},
	{`reduce .a[] as $x (.; 1)`, AllFields},
	{`def f: .a; f`, AllFields},
	{`input`, AllFields},
	{`[.]`, AllFields},
	{`{a: .}`, AllFields},
	{`{(.): 1}`, AllFields},
	{`. == {}`, AllFields},
	{`. + {}`, AllFields},
	{`-.`, AllFields},
	{`.a // .`, AllFields},
	{`if .a then . else 1 end`, AllFields},
	{`if .a then 1 end`, AllFields},
	{`select(.a)`, AllFields},
	{`first(.)`, AllFields},
	{`error(.)`, AllFields},
	{`error`, AllFields},
	{`map(.a)`, AllFields},
	{`map_values(.)`, AllFields},
	{`walk(.)`, AllFields},
	{`debug`, AllFields},
	{`[.[] | .a]`, AllFields},
	{`add`, AllFields},
	{`tostream`, AllFields},
	{`.a | $__loc__ | .`, keys("a")},
	{`not valid jq (`, AllFields},
}

func TestProgramFields(t *testing.T) {
	t.Parallel()
	for _, tc := range fieldsCases {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			got := ProgramFields(tc.src)
			if got.Keys == nil {
				got.Keys = []string{}
			}
			want := tc.want
			if want.Keys == nil && !want.All {
				want.Keys = []string{}
			}
			if want.All {
				want.Keys = nil
				if got.All {
					got.Keys = nil
				}
			}
			assert.Equal(t, want, got)
		})
	}
}

// TestFieldsOfConfigs checks the analysis of every expression of the
// shipped mappings: the provider's defaults, the examples and the
// realistic fixture. None of them needs a whole item except where noted.
func TestFieldsOfConfigs(t *testing.T) {
	t.Parallel()
	files := []string{
		filepath.Join("..", "gitlab", "defaults", "port-app-config.yml"),
		filepath.Join("testdata", "gitlab", "port-app-config.yml"),
		filepath.Join("..", "examples", "minimal", "defaults", "port-app-config.yml"),
		filepath.Join("..", "examples", "custom-kind", "defaults", "environment", "port-app-config.yml"),
		filepath.Join("..", "examples", "custom-kind", "defaults", "statuspage", "port-app-config.yml"),
	}
	want := map[string]Fields{
		// gitlab's default mapping
		"../gitlab/defaults/port-app-config.yml#0 project": keys("__includedFiles", "__languages", "__searchQueries", "name", "path_with_namespace", "web_url"),
		"../gitlab/defaults/port-app-config.yml#1 member":  keys("email", "locked", "name", "state", "username", "web_url"),
		"../gitlab/defaults/port-app-config.yml#2 group-with-members": keys("__members", "description", "full_path",
			"name", "visibility", "web_url"),
		"../gitlab/defaults/port-app-config.yml#3 merge-request": keys("author", "created_at", "id", "merged_at",
			"references", "reviewers", "state", "title", "updated_at", "web_url"),
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err, f)
		cfg, err := Parse(raw, AllowTopLevelKeys("visibility"))
		require.NoError(t, err, f)
		m, err := Compile(cfg)
		require.NoError(t, err, f)
		for i, rm := range m.Resources() {
			name := fmt.Sprintf("%s#%d %s", filepath.ToSlash(f), i, rm.Kind())
			got := rm.Fields()
			t.Logf("%s: %+v", name, got)
			if w, ok := want[name]; ok {
				assert.Equal(t, w, got, name)
			}
			assert.False(t, got.All, "%s reads whole items", name)
		}
	}
}

// project keeps the keys f lists, as a projecting decoder would.
func project(item map[string]any, f Fields) map[string]any {
	if f.All || item == nil {
		return item
	}
	out := make(map[string]any, len(f.Keys))
	for _, k := range f.Keys {
		if v, ok := item[k]; ok {
			out[k] = v
		}
	}
	return out
}

// sameResult compares two results, errors by their text.
func sameResult(t *testing.T, want, got *Result, msg string) {
	t.Helper()
	norm := func(r *Result) string {
		type mis struct {
			Item, Element, Mapping int
			Field, Expr, Err, ID   string
		}
		ms := func(in []Misconfiguration) []mis {
			var out []mis
			for _, m := range in {
				out = append(out, mis{m.Item, m.Element, m.Mapping, m.Field, m.Expr, m.Err.Error(), m.Identifier + "/" + m.Blueprint})
			}
			return out
		}
		b, err := json.Marshal(map[string]any{
			"entities": r.Entities, "rejected": r.Rejected, "filtered": r.Filtered, "dropped": r.Dropped,
			"failed": r.Failed, "selectorErrors": r.SelectorErrors, "mis": ms(r.Misconfigured),
			"fieldErrors": ms(r.FieldErrors), "nulls": r.NullFields,
		})
		require.NoError(t, err)
		return string(b)
	}
	assert.Equal(t, norm(want), norm(got), msg)
}

// TestFieldsProjectionGolden maps the realistic fixture's items whole and
// projected to their resource's Fields: the results are the same.
func TestFieldsProjectionGolden(t *testing.T) {
	t.Parallel()
	m, byKind := loadGitLabFixture(t)
	for _, r := range m.Resources() {
		f := r.Fields()
		require.False(t, f.All, r.Kind())
		items := byKind[r.Kind()]
		projected := make([]map[string]any, len(items))
		for i, it := range items {
			projected[i] = project(it, f)
		}
		want, err := r.MapAll(context.Background(), items)
		require.NoError(t, err)
		got, err := r.MapAll(context.Background(), projected)
		require.NoError(t, err)
		sameResult(t, want, got, r.Kind())
	}
}

// randomValue builds a JSON-like value of bounded depth.
func randomValue(rng *rand.Rand, depth int) any {
	switch n := rng.IntN(10); {
	case n == 0:
		return nil
	case n == 1:
		return rng.IntN(2) == 0
	case n == 2:
		return float64(rng.IntN(7) - 3)
	case n <= 5 || depth == 0:
		return []string{"", "x", "a", "main", "2024-01-02T03:04:05Z", "k"}[rng.IntN(6)]
	case n <= 7:
		arr := make([]any, rng.IntN(3))
		for i := range arr {
			arr[i] = randomValue(rng, depth-1)
		}
		return arr
	default:
		return randomObject(rng, depth-1)
	}
}

var randomKeys = []string{"a", "b", "c", "d", "e", "k", "v", "n", "x", "id", "y", "username"}

func randomObject(rng *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for range rng.IntN(len(randomKeys)) {
		m[randomKeys[rng.IntN(len(randomKeys))]] = randomValue(rng, depth)
	}
	return m
}

// TestFieldsProjectionProperty maps random items whole and projected with
// every program of the table as a property, the selector query, an
// identifier and itemsToParse: entities, field errors and selector
// results are the same.
func TestFieldsProjectionProperty(t *testing.T) {
	t.Parallel()
	var bounded, all []string
	for _, tc := range fieldsCases {
		if _, err := compileExpr(tc.src, nil); err != nil || tc.src == `input` || strings.Contains(tc.src, "now") {
			continue // the programs that do not compile, or read the clock
		}
		if tc.want.All {
			all = append(all, tc.src)
		} else {
			bounded = append(bounded, tc.src)
		}
	}
	rng := rand.New(rand.NewPCG(22, 7))
	// Mostly programs that read some keys: a mapping with one program
	// that reads everything is mapped whole, which proves little.
	prog := func() string {
		if rng.IntN(40) == 0 {
			return all[rng.IntN(len(all))]
		}
		return bounded[rng.IntN(len(bounded))]
	}
	progs := bounded
	projectedRounds := 0
	for round := range 300 {
		props := map[string]string{}
		for i := range 4 {
			props[fmt.Sprintf("p%d", i)] = prog()
		}
		res := Resource{Kind: "k", Port: PortResource{Entity: EntityConfig{Mappings: []EntityMapping{{
			Identifier: Field{JQ: []string{`.id | tostring`, `"\(.a)-\(.b)"`, `.username // "u"`}[rng.IntN(3)]},
			Blueprint:  `"bp"`,
			Title:      progs[rng.IntN(len(progs))],
			Properties: props,
			Relations:  map[string]Field{"r": {JQ: `[.x[]?.username]`}},
		}}}}}
		res.Selector.Query = []string{`true`, `.a != null`, `.b == "x" or .c`, `(.n // 0) < 1`}[rng.IntN(4)]
		if rng.IntN(4) == 0 {
			res.Port.ItemsToParse = `.d`
			res.Port.ItemsToParseTopLevelTransform = rng.IntN(2) == 0
			res.Port.ItemsToParseName = "item"
		}
		cfg := &Config{Resources: []Resource{res}}
		m, err := Compile(cfg, WithWorkers(1))
		require.NoError(t, err)
		rm := m.Resources()[0]
		f := rm.Fields()
		if !f.All {
			projectedRounds++
		}
		items := make([]map[string]any, 20)
		for i := range items {
			items[i] = randomObject(rng, 3)
			if rng.IntN(3) == 0 {
				arr := make([]any, rng.IntN(3))
				for j := range arr {
					arr[j] = randomObject(rng, 1)
				}
				items[i]["d"] = arr
			}
		}
		projected := make([]map[string]any, len(items))
		for i, it := range items {
			projected[i] = project(it, f)
		}
		want, err := rm.MapAll(context.Background(), items)
		require.NoError(t, err)
		got, err := rm.MapAll(context.Background(), projected)
		require.NoError(t, err)
		sameResult(t, want, got, fmt.Sprintf("round %d, fields %v, resource %+v", round, f, res.Port.Entity.Mappings[0]))
		if t.Failed() {
			return
		}
	}
	assert.Greater(t, projectedRounds, 200, "rounds whose items were projected")
}

func TestFieldsUnion(t *testing.T) {
	t.Parallel()
	assert.Equal(t, keys("a", "b", "c"), keys("b", "c").Union(keys("a", "b")))
	assert.Equal(t, AllFields, keys("a").Union(AllFields))
	assert.True(t, slices.Equal([]string{"a"}, keys("a").Union(Fields{}).Keys))
}

// BenchmarkFields analyses gitlab's default mapping, as Compile does once
// per resync.
func BenchmarkFields(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "gitlab", "defaults", "port-app-config.yml"))
	require.NoError(b, err)
	cfg, err := Parse(raw, AllowTopLevelKeys("visibility"))
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		for i := range cfg.Resources {
			if f := resourceFields(&cfg.Resources[i], nil); f.All {
				b.Fatal("reads everything")
			}
		}
	}
}
