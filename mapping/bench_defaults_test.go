package mapping

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// defaultsMapper compiles the GitLab integration's default mapping, read
// from its own file so that a change to it is measured and pinned here.
func defaultsMapper(tb testing.TB, opts ...Option) *Mapper {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("..", "gitlab", "defaults", "port-app-config.yml"))
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := Parse(data, AllowTopLevelKeys("visibility"))
	if err != nil {
		tb.Fatal(err)
	}
	m, err := Compile(cfg, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// mrPage builds n merge requests shaped as the GitLab API (and the
// end-to-end fake) sends them, decoded as the sync decodes them (float64
// numbers): states drawn like gitlabtest's generator (3 in 8 merged),
// 0–2 reviewers, millisecond timestamps.
func mrPage(n int) []map[string]any {
	base := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	states := []string{"opened", "opened", "merged", "merged", "closed", "opened", "merged", "locked"}
	user := func(i int) map[string]any {
		name := fmt.Sprintf("user%d", i)
		return map[string]any{
			"id": float64(100 + i), "username": name, "name": "User " + name, "state": "active", "locked": false,
			"avatar_url": nil, "web_url": "https://gitlab.example.com/" + name,
		}
	}
	out := make([]map[string]any, n)
	for i := range out {
		created := base.Add(time.Duration(i)*37*time.Minute + time.Duration(i%1000)*time.Millisecond)
		updated := created.Add(time.Duration(i%50+1) * time.Hour)
		state := states[i%len(states)]
		var merged any
		if state == "merged" {
			merged = updated.Format("2006-01-02T15:04:05.000Z")
		}
		reviewers := make([]any, i%3)
		for j := range reviewers {
			reviewers[j] = user(i + j + 1)
		}
		project := fmt.Sprintf("acme/platform/svc-%d", i%17)
		out[i] = map[string]any{
			"id": float64(900000 + i), "iid": float64(i%300 + 1), "project_id": float64(2000 + i%17),
			"title":      fmt.Sprintf("Fix the %d widget", i),
			"state":      state,
			"created_at": created.Format("2006-01-02T15:04:05.000Z"),
			"updated_at": updated.Format("2006-01-02T15:04:05.000Z"),
			"merged_at":  merged,
			"author":     user(i % 40),
			"reviewers":  reviewers,
			"references": map[string]any{
				"short": fmt.Sprintf("!%d", i%300+1), "relative": fmt.Sprintf("!%d", i%300+1),
				"full": fmt.Sprintf("%s!%d", project, i%300+1),
			},
			"web_url": fmt.Sprintf("https://gitlab.example.com/%s/-/merge_requests/%d", project, i%300+1),
		}
	}
	return out
}

// projectPage builds n projects with the extras the default mapping reads
// (__languages, __includedFiles, __searchQueries); some have no languages.
func projectPage(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		path := fmt.Sprintf("acme/platform/svc-%d", i)
		var langs any
		if i%5 != 0 {
			langs = map[string]any{"Go": 70.5 - float64(i%7), "Shell": 20.0, "Dockerfile": 9.5, "Makefile": float64(i % 3)}
		}
		var readme any
		if i%2 == 0 {
			readme = "# svc\n\nThe service.\n"
		}
		out[i] = map[string]any{
			"id": float64(2000 + i), "name": fmt.Sprintf("svc-%d", i), "path_with_namespace": path,
			"web_url":         "https://gitlab.example.com/" + path,
			"__languages":     langs,
			"__includedFiles": map[string]any{"README.md": readme, "CODEOWNERS": nil},
			"__searchQueries": map[string]any{"hasPortConfig": i%4 == 0},
		}
	}
	return out
}

// BenchmarkDefaultMapping maps a page of 100 merge requests and one of 100
// projects with the GitLab integration's default mapping, on one worker
// and, as the sync does on two cores, on two. ns/op and allocs/op are per
// page.
func BenchmarkDefaultMapping(b *testing.B) {
	for _, workers := range []int{1, 2} {
		m := defaultsMapper(b, WithWorkers(workers))
		suffix := ""
		if workers > 1 {
			suffix = fmt.Sprintf("_%dworkers", workers)
		}
		for _, bc := range []struct {
			kind  string
			items []map[string]any
		}{
			{"merge-request", mrPage(100)},
			{"project", projectPage(100)},
		} {
			b.Run(bc.kind+suffix, func(b *testing.B) {
				r := m.ResourcesForKind(bc.kind)[0]
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					res, err := r.Map(ctx, bc.items)
					if err != nil || len(res.Entities) != len(bc.items) || len(res.FieldErrors) > 0 {
						b.Fatalf("%v %d %v", err, len(res.Entities), res.FieldErrors)
					}
				}
			})
		}
	}
}

// TestDefaultMappingRunsFastAndExact: every program of the default
// mapping answers realistic items without gojq, with gojq's own value, and
// no resource pays for the per-item watchdog.
func TestDefaultMappingRunsFastAndExact(t *testing.T) {
	t.Parallel()
	m := defaultsMapper(t)
	ctx := context.Background()
	member := func(i int) map[string]any {
		return map[string]any{
			"id": float64(i), "username": fmt.Sprintf("user%d", i), "name": "User", "state": "active",
			"email": nil, "locked": i%2 == 0, "web_url": "https://gitlab.example.com/user",
		}
	}
	members := []map[string]any{member(1), member(2)}
	groups := []map[string]any{
		{"full_path": "acme/platform", "name": "Platform", "web_url": "u", "visibility": "private", "description": "",
			"__members": []any{member(1), member(2)}},
		{"full_path": "acme", "name": "Acme", "web_url": "u", "visibility": "public", "description": nil, "__members": nil},
	}
	pages := map[string][]map[string]any{
		"merge-request": mrPage(64), "project": projectPage(64), "member": members, "group-with-members": groups,
	}
	for kind, items := range pages {
		r := m.ResourcesForKind(kind)[0]
		if r.budgeted {
			t.Errorf("%s: resource pays for the watchdog", kind)
		}
		cm := r.mappings[0]
		leaves := []*leaf{cm.identifier.leaf, cm.blueprint, cm.title}
		for _, p := range cm.props {
			leaves = append(leaves, p.l)
		}
		for _, rel := range cm.rels {
			leaves = append(leaves, rel.n.leaf)
		}
		for _, l := range leaves {
			if l == nil {
				t.Errorf("%s: a field is a search query; this test reads jq leaves only", kind)
				continue
			}
			src := r.fields[l.id].expr
			if l.e.constant {
				continue
			}
			if l.e.fast == nil {
				t.Errorf("%s: %s has no fast path", kind, src)
				continue
			}
			for i, it := range items {
				got, ok := l.e.fast.eval(it)
				if !ok {
					t.Errorf("%s: %s falls back to gojq on item %d", kind, src, i)
					continue
				}
				want, err := l.e.runJQ(ctx, it)
				if err != nil || !sameValue(want, got) {
					t.Errorf("%s: %s on item %d: fast %#v, gojq %#v (%v)", kind, src, i, got, want, err)
				}
			}
		}
	}
}
