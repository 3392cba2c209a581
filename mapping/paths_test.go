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

// fieldsCases are programs and what of the item they may read, as
// Fields.String renders it ("*" is AllFields). They double as the corpus of the property test.
var fieldsCases = []struct {
	src  string
	want string
}{
	// Paths and literals.
	{`.a`, "a"},
	{`.a.b.c`, "a{b{c}}"},
	{`.a[0]`, "a"},
	{`.["a"]`, "a"},
	{`."a"`, "a"},
	{`.a?`, "a"},
	{`.a[]?`, "a"},
	{`.a[1:2]`, "a"},
	{`.a[.b]`, "a,b"},
	{`.["a"].b`, "a{b}"},
	{`true`, ""},
	{`"x"`, ""},
	{`'blue'`, ""},
	{`null`, ""},
	{`1 + 2`, ""},
	{`$__loc__`, ""},
	{`env.HOME`, ""},
	{`$ENV.HOME`, ""},
	{`now | floor`, ""},
	// Construction.
	{`{a: .x}`, "x"},
	{`{x}`, "x"},
	{`{"x"}`, "x"},
	{`{(.k): .v}`, "k,v"},
	{`{"\(.k)": 1}`, "k"},
	{`[.a, .b]`, "a,b"},
	{`[.a[]?.username]`, "a{[]{username}}"},
	{`"\(.a)-\(.b.c)"`, "a,b{c}"},
	{`@base64 "x\(.a)"`, "a"},
	{`{$__loc__}`, ""},
	// Operators.
	{`.a // .b`, "a,b"},
	{`.a + .b * 2`, "a,b"},
	{`.a == 1 and .b != 2`, "a,b"},
	{`. and .a`, "a{}"},
	{`.a, .b`, "a,b"},
	{`-.a`, "a"},
	{`if .a then .b else .c end`, "a{},b,c"},
	{`if .a then .b elif .c then .d else .e end`, "a{},b,c{},d,e"},
	{`if . then 1 else 2 end`, ""},
	{`try .a catch .`, "a"},
	{`try error(.a) catch .`, "a"},
	{`.a?`, "a"},
	{`label $out | .a | ., break $out`, "a"},
	// Pipes change the input.
	{`.a | f`, "a"}, // whatever f is, it sees .a
	{`.a | keys`, "a"},
	{`.a | length`, "a"},
	{`.a | to_entries | map(.key)`, "a"},
	{`.a | .b | tostring`, "a{b}"},
	{`.a | . + 1`, "a"},
	{`.a | .[]`, "a"},
	{`.a | ..`, "a"},
	{`.a as $x | .b + $x`, "a,b"},
	{`.a as $x | $x.y`, "a"},
	{`.a as [$x, {b: $y}] | $x`, "a"},
	{`.a as {(.k): $v} | $v`, "a,k"},
	{`select(.a == 1) | .b`, "a,b"},
	{`select(.a) | .b`, "a{},b"},
	{`objects | .a`, "a"},
	{`first(.a, .b)`, "a,b"},
	{`limit(1; .a[])`, "a"},
	{`[limit(.n; .a[])]`, "a,n"},
	{`isempty(.a[])`, "a{[]{}}"},
	{`path(.a.b)`, "a{b{}}"},
	{`reduce .a[] as $x (0; . + $x)`, "a"},
	{`foreach .a[] as $x (0; . + 1; [$x, .])`, "a"},
	{`.a | reduce .[] as $x (.; . + $x)`, "a"},
	{`.a |= 1 | .a`, "*"},
	{`type`, ""},
	{`.a | not`, "a{}"},
	{`not`, ""},
	{`[range(.n)]`, "n"},
	{`.id | tostring`, "id"},
	{`.a | test("x"; .b)`, "a"}, // .b runs on .a
	{`.a | sub("x"; "y")`, "a"},
	// What sees the item whole.
	{`.`, "*"},
	{`.[]`, "*"},
	{`..`, "*"},
	{`keys`, "*"},
	{`keys_unsorted`, "*"},
	{`has("a")`, "*"},
	{`length`, "*"},
	{`to_entries`, "*"},
	{`with_entries(.)`, "*"},
	{`tojson`, "*"},
	{`tostring`, "*"},
	{`@json`, "*"},
	{`@base64`, "*"},
	{`"\(.)"`, "*"},
	{`.[.k]`, "*"},
	{`.["\(.k)"]`, "*"},
	{`.[0]`, "*"},
	{`.[1:]`, "*"},
	{`getpath(["a"])`, "*"},
	{`[paths]`, "*"},
	{`del(.a)`, "*"},
	{`.a = 1`, "*"},
	{`. as $x | $x.a`, "*"},
	{`. as {a: $x} | $x`, "*"},
	{`reduce . as $x (0; 1)`, "*"},
	{`reduce .a[] as $x (.; 1)`, "*"},
	{`def f: .a; f`, "*"},
	{`input`, "*"},
	{`[.]`, "*"},
	{`{a: .}`, "*"},
	{`{(.): 1}`, "*"},
	{`. == {}`, "*"},
	{`. + {}`, "*"},
	{`-.`, "*"},
	{`.a // .`, "*"},
	{`if .a then . else 1 end`, "*"},
	{`if .a then 1 end`, "*"},
	{`select(.a)`, "*"},
	{`first(.)`, "*"},
	{`error(.)`, "*"},
	{`error`, "*"},
	{`map(.a)`, "*"},
	{`map_values(.)`, "*"},
	{`walk(.)`, "*"},
	{`debug`, "*"},
	{`[.[] | .a]`, "*"},
	{`add`, "*"},
	{`tostream`, "*"},
	{`.a | $__loc__ | .`, "a{}"},
	{`not valid jq (`, "*"},
	// Nested paths: a value reached only through further indexing keeps
	// what is indexed.
	{`.author.username`, "author{username}"},
	{`.namespace.full_path, .namespace.kind`, "namespace{full_path,kind}"},
	{`.reviewers[].username`, "reviewers{[]{username}}"},
	{`.reviewers[0].username`, "reviewers{[]{username}}"},
	{`[.reviewers[]?.username]`, "reviewers{[]{username}}"},
	{`.reviewers | map(.username)`, "reviewers{[]{username}}"},
	{`.__members | map({u: .username, n: .name})`, "__members{[]{name,username}}"},
	{`[.a[] | select(.s == "x") | .u]`, "a{[]{s,u}}"},
	{`.a[]?.b.c`, "a{[]{b{c}}}"},
	{`.a.b // .a.c`, "a{b,c}"},
	{`.a | .b + .c`, "a{b,c}"},
	{`(.a | .b), .c`, "a{b},c"},
	{`.a["x"]`, "a{x}"},
	{`.a | objects | .b`, "a{b}"},
	{`.a | select(.b) | .c`, "a{b{},c}"},
	{`.a | if .b then .c else . end | .d`, "a{b{},c{d},d}"},
	{`.a.b | type`, "a{b{}}"},
	{`.a | map(.b) | length`, "a{[]{b}}"},
	{`.a.b.c | ascii_downcase`, "a{b{c}}"},
	// ... and reads the value whole wherever it is observed.
	{`.a.b, .a[]`, "a"}, // an object iterated or an array keyed: whole
	{`.a.b, .a[0]`, "a"},
	{`.a | length`, "a"},
	{`.a | keys`, "a"},
	{`.a | tojson`, "a"},
	{`.a | to_entries`, "a"},
	{`.a == {}`, "a"},
	{`.a.b == .a`, "a"},
	{`.a | ..`, "a"},
	{`.a | has("b")`, "a"},
	{`.a[.k]`, "a,k"},
	{`.a | .[]`, "a"},
	{`.a | first`, "a"},
	{`.a | [.b] | .[0]`, "a{b}"},
	{`.a | {b} | .b.c`, "a{b}"},
	{`.a as $x | .a.b`, "a"},
	{`.a | map(.)`, "a"},
	{`.a[] | .b, .`, "a"},
	{`.a | del(.b)`, "a"},
	{`.a | .b = 1 | .c`, "a"},
	{`.a | reduce .b[] as $x (0; . + $x)`, "a{b}"},
	{`.a | tostream`, "a"},
	{`.a | .b?`, "a{b}"},
	{`"\(.a.b)"`, "a{b}"},
}

func TestProgramFields(t *testing.T) {
	t.Parallel()
	for _, tc := range fieldsCases {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, ProgramFields(tc.src).String())
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
	want := map[string]string{
		// gitlab's default mapping
		"../gitlab/defaults/port-app-config.yml#0 project":            "__includedFiles{CODEOWNERS,README.md},__languages,__searchQueries{hasPortConfig},name,path_with_namespace,web_url",
		"../gitlab/defaults/port-app-config.yml#1 member":             "email,locked,name,state,username,web_url",
		"../gitlab/defaults/port-app-config.yml#2 group-with-members": "__members{[]{username}},description,full_path,name,visibility,web_url",
		"../gitlab/defaults/port-app-config.yml#3 merge-request":      "author{name},created_at,id,merged_at,references{full},reviewers{[]{username}},state,title,updated_at,web_url",
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
				assert.Equal(t, w, got.String(), name)
			}
			assert.False(t, got.All, "%s reads whole items", name)
		}
	}
}

// project keeps what f reads of v, as a projecting decoder would (see
// Fields).
func project(v any, f Fields) any {
	if f.All {
		return v
	}
	switch v := v.(type) {
	case map[string]any:
		if f.Elems != nil {
			return v
		}
		out := make(map[string]any, len(f.Keys))
		for _, k := range f.Keys {
			if x, ok := v[k]; ok {
				sub, _ := f.Key(k)
				out[k] = project(x, sub)
			}
		}
		return out
	case []any:
		if len(f.Keys) > 0 || f.Elems == nil {
			return v
		}
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = project(x, *f.Elems)
		}
		return out
	}
	return v
}

// projectItem is project for an item.
func projectItem(item map[string]any, f Fields) map[string]any {
	if item == nil {
		return nil
	}
	return project(item, f).(map[string]any)
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
			projected[i] = projectItem(it, f)
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

// TestFieldsProjectionProperty maps random items whole and projected (nested
// values too: objects to the keys read, arrays element by element) with
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
		if tc.want == "*" {
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
	projectedRounds, nestedRounds := 0, 0
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
		if len(f.Sub) > 0 {
			nestedRounds++
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
			projected[i] = projectItem(it, f)
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
	assert.Greater(t, nestedRounds, 100, "rounds whose items' values were projected too")
}

func TestFieldsUnion(t *testing.T) {
	t.Parallel()
	cases := []struct{ a, b, want string }{
		{`.b, .c`, `.a, .b`, "a,b,c"},
		{`.a`, `.`, "*"},
		{`.a`, `true`, "a"},
		{`.a.b`, `.a.c`, "a{b,c}"},
		{`.a.b`, `.a`, "a"},
		{`.a.b.c`, `.a.b.d, .e`, "a{b{c,d}},e"},
		{`.a[].b`, `.a[].c`, "a{[]{b,c}}"},
		{`.a[].b`, `.a.c`, "a"},
		{`.a[].b`, `.a[]`, "a"},
	}
	for _, tc := range cases {
		got := ProgramFields(tc.a).Union(ProgramFields(tc.b))
		assert.Equal(t, tc.want, got.String(), "%s ∪ %s", tc.a, tc.b)
		assert.Equal(t, ProgramFields(tc.a+", "+tc.b).String(), got.String(), "%s, %s", tc.a, tc.b)
	}
	assert.True(t, slices.Equal([]string{"a"}, KeyFields("a").Union(Fields{}).Keys))
	assert.Equal(t, "a,b", KeyFields("b", "a", "b").String())
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
