package port_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
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
