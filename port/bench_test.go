package port_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// BenchmarkBulkUpsert measures the client and the fake together over real HTTP on
// loopback: each iteration upserts 1,000 new entities (50 bulk requests) from 4
// goroutines, like a resync with 4 upserts in flight.
func BenchmarkBulkUpsert(b *testing.B) {
	const perOp, workers = 1000, 4
	srv := porttest.New(porttest.WithoutRequestLog())
	defer srv.Close()
	bp := serviceBlueprint()
	if err := srv.AddBlueprint(bp); err != nil {
		b.Fatal(err)
	}
	c := newClient(b, srv)
	opts := port.UpsertOptions{Merge: true, CreateMissingRelatedEntities: true, EventType: "resync"}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		ents := make([]port.Entity, perOp)
		for i := range ents {
			id := "svc-" + strconv.Itoa(n*perOp+i)
			ents[i] = port.Entity{Identifier: id, Title: id, Properties: map[string]any{
				"url": "https://gitlab.example.com/group/" + id, "stars": float64(i), "archived": false, "language": "go"}}
		}
		n++
		var wg sync.WaitGroup
		per := perOp / workers
		for w := range workers {
			wg.Go(func() {
				res, err := c.BulkUpsert(b.Context(), "service", ents[w*per:(w+1)*per], opts)
				if err != nil {
					b.Error(err)
					return
				}
				for _, r := range res {
					if r.Err != nil {
						b.Error(r.Err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(n*perOp)/elapsed.Seconds(), "entities/s")
	if got := srv.EntityCount("service"); got != n*perOp {
		b.Fatalf("catalog has %d entities, want %d", got, n*perOp)
	}
}

// BenchmarkBulkUpsertClient isolates the client's cost: the server answers every bulk
// request with a canned 200 without decoding it.
func BenchmarkBulkUpsertClient(b *testing.B) {
	ok := []byte(`{"ok":true,"entities":[],"errors":[]}`)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/auth/access_token" {
			_, _ = w.Write([]byte(`{"ok":true,"accessToken":"t","expiresIn":10800,"tokenType":"Bearer"}`))
			return
		}
		_, _ = w.Write(ok)
	}))
	defer ts.Close()
	c, err := port.New(ts.URL, "id", "secret", port.WithRetryPolicy(fastRetry))
	if err != nil {
		b.Fatal(err)
	}
	ents := make([]port.Entity, 1000)
	for i := range ents {
		id := "svc-" + strconv.Itoa(i)
		ents[i] = port.Entity{Identifier: id, Title: id, Properties: map[string]any{
			"url": "https://gitlab.example.com/group/" + id, "stars": float64(i), "archived": false, "language": "go"}}
	}
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := c.BulkUpsert(b.Context(), "service", ents, port.UpsertOptions{}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*len(ents))/time.Since(start).Seconds(), "entities/s")
}

// BenchmarkBulkUpsertRequest measures one bulk request as a resync sends it: 20
// entities of a realistic size (a body of about 12 KB, larger than the transport's
// default 4 KiB write buffer) and Port's full answer, one result per entity. The
// server only drains the body and writes a canned answer, so what is left is the
// client's encoding, the HTTP round trip and the scan of the answer.
func BenchmarkBulkUpsertRequest(b *testing.B) {
	ents := make([]port.Entity, port.MaxBulkUpsert)
	var ans strings.Builder
	ans.WriteString(`{"ok":true,"entities":[`)
	for i := range ents {
		id := "group/subgroup/project-" + strconv.Itoa(100000+i)
		ents[i] = port.Entity{Identifier: id, Title: "Project " + strconv.Itoa(i), Team: []any{"team-a"},
			Properties: map[string]any{
				"url":         "https://gitlab.example.com/" + id,
				"description": strings.Repeat("A project with a description of a realistic length. ", 4),
				"readme":      "https://gitlab.example.com/" + id + "/-/blob/main/README.md",
				"language":    "Go", "stars": float64(i), "archived": false, "score": 0.75,
				"created": "2024-01-02T03:04:05Z", "updated": "2026-11-02T03:04:05Z",
				"labels": []any{"backend", "critical", "team-a"},
			},
			Relations: map[string]any{"group": "group/subgroup", "members": []any{"alice", "bob", "carol"}}}
		if i > 0 {
			ans.WriteByte(',')
		}
		ans.WriteString(`{"created":false,"identifier":"` + id + `","index":` + strconv.Itoa(i) + `,"additionalData":{}}`)
	}
	ans.WriteString(`],"errors":[]}`)
	answer := []byte(ans.String())
	var bodyBytes atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/v1/auth/access_token" {
			_, _ = w.Write([]byte(`{"ok":true,"accessToken":"t","expiresIn":10800,"tokenType":"Bearer"}`))
			return
		}
		bodyBytes.Store(n)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer ts.Close()
	c, err := port.New(ts.URL, "id", "secret", port.WithRetryPolicy(fastRetry), port.WithDatasource(testDS))
	if err != nil {
		b.Fatal(err)
	}
	opts := port.UpsertOptions{Merge: true, CreateMissingRelatedEntities: true, EventType: "resync", ResyncID: "r-1"}
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.BulkUpsert(b.Context(), "service", ents, opts)
		if err != nil {
			b.Fatal(err)
		}
		if res[len(res)-1].Err != nil {
			b.Fatal(res[len(res)-1].Err)
		}
	}
	b.ReportMetric(float64(bodyBytes.Load()), "body-bytes")
}
