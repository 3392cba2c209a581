package mapping

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/itchyny/gojq"
)

// Benchmark mappings: realistic gitlab-v2 style mappings with 12
// expressions each.
var benchProjectMapping = EntityMapping{
	Identifier: Field{JQ: ".path_with_namespace"},
	Title:      ".name",
	Blueprint:  `"service"`,
	Properties: map[string]string{
		"url":           ".web_url",
		"description":   `.description // ""`,
		"defaultBranch": ".default_branch",
		"visibility":    ".visibility | ascii_downcase",
		"namespace":     ".namespace.full_path",
		"archived":      ".archived",
		"projectId":     ".id | tostring",
		"readme":        `.__includedFiles["README.md"]`,
		"language":      ".__languages | to_entries | max_by(.value) | .key",
	},
	Relations: map[string]Field{},
}

var benchMRMapping = EntityMapping{
	Identifier: Field{JQ: ".id | tostring"},
	Title:      ".title",
	Blueprint:  `"gitlabMergeRequest"`,
	Properties: map[string]string{
		"creator":   ".author.name",
		"status":    ".state",
		"createdAt": ".created_at",
		"updatedAt": ".updated_at",
		"mergedAt":  ".merged_at",
		"link":      ".web_url",
		"leadTimeHours": `(.created_at | sub("\\..*Z$";"Z") | strptime("%Y-%m-%dT%H:%M:%SZ") | mktime) as $c
			| (.merged_at | if . == null then null else sub("\\..*Z$";"Z") | strptime("%Y-%m-%dT%H:%M:%SZ") | mktime end) as $m
			| if $m == null then null else ((($m - $c) / 3600 * 100) | floor) / 100 end`,
	},
	Relations: map[string]Field{
		"project": {JQ: `.references.full | gsub("!.+"; "")`},
	},
}

// benchJQMapping is made of programs the fast path leaves to gojq, which
// the evaluation memory guards rewrite (array and object construction,
// +, *, join, map, tojson): it measures their cost.
var benchJQMapping = EntityMapping{
	Identifier: Field{JQ: ".path_with_namespace"},
	Blueprint:  `"service"`,
	Properties: map[string]string{
		"topics":   `[.topics[] | ascii_upcase] | join(",")`,
		"score":    `.star_count * 2 + .forks_count`,
		"keys":     `to_entries | map(select(.value == true) | .key) | length`,
		"summary":  `{id, name, topics: [.topics[]]} | tojson`,
		"accesses": `[.[] | strings | select(endswith("enabled"))] | length`,
	},
	Relations: map[string]Field{},
}

const benchBatch = 100

type benchCase struct {
	name    string
	mapping EntityMapping
	items   []map[string]any
	raw     []byte // JSON of one item
}

func benchCases(b *testing.B) []benchCase {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "gitlab", "items.json"))
	if err != nil {
		b.Fatal(err)
	}
	var byKind map[string][]map[string]any
	if err := json.Unmarshal(data, &byKind); err != nil {
		b.Fatal(err)
	}
	gen := func(tmpl map[string]any, vary func(i int, m map[string]any)) ([]map[string]any, []byte) {
		raw, _ := json.Marshal(tmpl)
		out := make([]map[string]any, benchBatch)
		for i := range out {
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			vary(i, m)
			out[i] = m
		}
		return out, raw
	}
	projects, praw := gen(byKind["project"][0], func(i int, m map[string]any) {
		m["id"] = float64(2000 + i)
		m["path_with_namespace"] = fmt.Sprintf("acme/platform/svc-%d", i)
	})
	mrs, mraw := gen(byKind["merge-request"][0], func(i int, m map[string]any) {
		m["id"] = float64(9000 + i)
		if i%3 == 0 {
			m["merged_at"] = nil
		}
	})
	return []benchCase{
		{"project", benchProjectMapping, projects, praw},
		{"merge-request", benchMRMapping, mrs, mraw},
		{"project-jq", benchJQMapping, projects, praw},
	}
}

func benchMapper(b *testing.B, em EntityMapping) *ResourceMapper {
	b.Helper()
	cfg := &Config{Resources: []Resource{{Kind: "k", Selector: Selector{Query: "true"},
		Port: PortResource{ItemsToParseName: "item", Entity: EntityConfig{Mappings: []EntityMapping{em}}}}}}
	m, err := Compile(cfg, WithWorkers(1))
	if err != nil {
		b.Fatal(err)
	}
	return m.Resources()[0]
}

// exprList flattens a mapping into name → program, as a naive mapper sees it.
func exprList(em EntityMapping) [][2]string {
	out := [][2]string{{"identifier", em.Identifier.JQ}, {"title", em.Title}, {"blueprint", em.Blueprint}}
	keys := sortedKeys(em.Properties)
	for _, k := range keys {
		out = append(out, [2]string{"properties." + k, em.Properties[k]})
	}
	rels := make([]string, 0, len(em.Relations))
	for k := range em.Relations {
		rels = append(rels, k)
	}
	sort.Strings(rels)
	for _, k := range rels {
		out = append(out, [2]string{"relations." + k, em.Relations[k].JQ})
	}
	return out
}

func first(code *gojq.Code, v any) any {
	r, ok := code.Run(v).Next()
	if !ok {
		return nil
	}
	if _, isErr := r.(error); isErr {
		return nil
	}
	return r
}

// naiveEntity builds the entity the way a straightforward mapper does.
func naiveEntity(exprs [][2]string, vals []any) map[string]any {
	props := map[string]any{}
	rels := map[string]any{}
	e := map[string]any{"properties": props, "relations": rels}
	for i, ex := range exprs {
		switch name := ex[0]; {
		case len(name) > 11 && name[:11] == "properties.":
			props[name[11:]] = vals[i]
		case len(name) > 10 && name[:10] == "relations.":
			rels[name[10:]] = vals[i]
		default:
			e[name] = vals[i]
		}
	}
	return e
}

func reportPerItem(b *testing.B, start time.Time, m0 *runtime.MemStats, items int) {
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	n := float64(b.N * items)
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/n, "ns/item")
	b.ReportMetric(n/time.Since(start).Seconds(), "items/s")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/n, "allocs/item")
}

// BenchmarkMap compares, per core, the mapper with (a) parse-and-compile
// every expression for every item and (b) gojq compiled once but run
// naively, and reports ns/item, items/s and allocs/item.
func BenchmarkMap(b *testing.B) {
	for _, bc := range benchCases(b) {
		exprs := exprList(bc.mapping)
		b.Run(bc.name+"/mapper", func(b *testing.B) {
			r := benchMapper(b, bc.mapping)
			ctx := context.Background()
			var m0 runtime.MemStats
			runtime.ReadMemStats(&m0)
			start := time.Now()
			b.ResetTimer()
			for b.Loop() {
				res, err := r.Map(ctx, bc.items)
				if err != nil || len(res.Entities) != len(bc.items) {
					b.Fatalf("%v %v", err, res.Misconfigured)
				}
			}
			reportPerItem(b, start, &m0, len(bc.items))
		})
		b.Run(bc.name+"/baseline-compile-per-item", func(b *testing.B) {
			var m0 runtime.MemStats
			runtime.ReadMemStats(&m0)
			start := time.Now()
			vals := make([]any, len(exprs))
			for b.Loop() {
				for _, it := range bc.items {
					for i, ex := range exprs {
						q, err := gojq.Parse(formatFilter(ex[1]))
						if err != nil {
							b.Fatal(err)
						}
						code, err := gojq.Compile(q)
						if err != nil {
							b.Fatal(err)
						}
						vals[i] = first(code, it)
					}
					_ = naiveEntity(exprs, vals)
				}
			}
			reportPerItem(b, start, &m0, len(bc.items))
		})
		b.Run(bc.name+"/baseline-gojq-compiled-once", func(b *testing.B) {
			codes := make([]*gojq.Code, len(exprs))
			for i, ex := range exprs {
				q, err := gojq.Parse(formatFilter(ex[1]))
				if err != nil {
					b.Fatal(err)
				}
				if codes[i], err = gojq.Compile(q); err != nil {
					b.Fatal(err)
				}
			}
			var m0 runtime.MemStats
			runtime.ReadMemStats(&m0)
			start := time.Now()
			vals := make([]any, len(exprs))
			for b.Loop() {
				for _, it := range bc.items {
					for i, c := range codes {
						vals[i] = first(c, it)
					}
					_ = naiveEntity(exprs, vals)
				}
			}
			reportPerItem(b, start, &m0, len(bc.items))
		})
		b.Run(bc.name+"/json-decode", func(b *testing.B) {
			var m0 runtime.MemStats
			runtime.ReadMemStats(&m0)
			start := time.Now()
			for b.Loop() {
				var m map[string]any
				if err := json.Unmarshal(bc.raw, &m); err != nil {
					b.Fatal(err)
				}
			}
			reportPerItem(b, start, &m0, 1)
		})
	}
}
