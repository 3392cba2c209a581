package gitlab

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	glapi "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
)

// contentBodies plans a page's content batches and builds each batch's
// request body, as runBatch and graphQL do.
func contentBodies(e *enricher, projects []ocean.Item, what projectEnrichment) [][]byte {
	var out [][]byte
	for _, batch := range e.plan(projects, pageIndexes(projects), what) {
		out = append(out, contentBody(projects, batch, what))
	}
	return out
}

func pageIndexes(projects []ocean.Item) []int {
	idx := make([]int, len(projects))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// postGraphQL sends a request body to the fake's GraphQL endpoint and
// returns its answer.
func postGraphQL(tb testing.TB, srv *gitlabtest.Server, body []byte) []byte {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/graphql", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", srv.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("POST graphql: %d %v: %s", resp.StatusCode, err, b)
	}
	return b
}

// BenchmarkGraphQLContent measures the client's own work in the GraphQL
// enrichment of a page of 100 projects with languages and two included
// files (the default mapping): planning the batches and building their
// request bodies, then decoding one batch's answer from the fake GitLab.
func BenchmarkGraphQLContent(b *testing.B) {
	srv := gitlabtest.NewServer(b, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeMedium)))
	projects, err := decodeItems(rawGet(b, srv, "projects?per_page=100"), nil)
	if err != nil {
		b.Fatal(err)
	}
	what := projectEnrichment{languages: true, files: []string{"README.md", "CODEOWNERS"}}
	e := newEnricher(nil, 1)
	bodies := contentBodies(e, projects, what)
	b.Logf("%d projects, %d batches, first body %d bytes", len(projects), len(bodies), len(bodies[0]))
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			contentBodies(e, projects, what)
		}
	})
	// How the bodies were built before contentBody, for comparison: each
	// block built to be measured, built again into the query, and the
	// query marshalled by client-go.
	b.Run("build-reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, batch := range e.plan(projects, pageIndexes(projects), what) {
				query, vars := refContentQuery(projects, batch, what)
				for k, i := range batch {
					_ = refProjectBlock(k, projects[i], what)
				}
				if _, err := json.Marshal(glapi.GraphQLQuery{Query: query, Variables: vars}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	answer := postGraphQL(b, srv, bodies[0])
	if _, ok := readContentAnswer(answer); !ok {
		b.Fatal("the fake's answer is not read by hand")
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(answer)))
		for b.Loop() {
			a, err := decodeContentAnswer(answer)
			if err != nil || a.DataErr != nil || len(a.Data) == 0 {
				b.Fatal(err, a.DataErr)
			}
		}
	})
	b.Run("decode-reference", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(answer)))
		for b.Loop() {
			a, err := decodeAnswer[map[string]*gqlContent](answer)
			if err != nil || a.DataErr != nil || len(a.Data) == 0 {
				b.Fatal(err, a.DataErr)
			}
		}
	})
}
