package gitlab

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
)

type countingSender struct{ n int }

func (c *countingSender) Send(_ context.Context, items []ocean.Item) error {
	c.n += len(items)
	return nil
}

// BenchmarkFetchProjects lists every project of a large seeded instance
// with languages and two included files, as the default mapping asks
// (searchQueries left out: they are one REST call per project by nature).
// It reports items/s, GitLab requests per run, the floor of one list
// request per 100 projects, and the GraphQL share.
func BenchmarkFetchProjects(b *testing.B) {
	srv := gitlabtest.NewServer(b, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeLarge)))
	g, _ := newIntegration(b, srv, func(c *Config) { c.MaxConcurrency = 10 })
	kind := kindByName(b, g, KindProject)
	sel := json.RawMessage(`{"includeLanguages":true,"includedFiles":["README.md","CODEOWNERS"]}`)
	b.ReportAllocs()
	b.ResetTimer()
	srv.ResetStats()
	items := 0
	for b.Loop() {
		s := &countingSender{}
		if err := kind.Fetch(b.Context(), sel, s); err != nil {
			b.Fatal(err)
		}
		items += s.n
	}
	b.StopTimer()
	runs := float64(b.N)
	perRun := float64(items) / runs
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(perRun, "projects/op")
	b.ReportMetric(float64(srv.Requests())/runs, "requests/op")
	b.ReportMetric(float64(int(perRun+99)/100), "min-requests/op")
	b.ReportMetric(float64(srv.RouteRequests("POST /graphql"))/runs, "graphql/op")
}

// BenchmarkDecodePage decodes a page of 100 merge requests as Pages does,
// beside decoding straight into []ocean.Item.
func BenchmarkDecodePage(b *testing.B) {
	srv := gitlabtest.NewServer(b)
	raw := rawGet(b, srv, "groups/1/merge_requests?per_page=100&state=all")
	b.Run("decodeItems", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := decodeItems(raw, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("into []ocean.Item", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			var page []ocean.Item
			if err := json.Unmarshal(raw, &page); err != nil {
				b.Fatal(err)
			}
		}
	})
}
