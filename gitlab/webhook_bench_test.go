package gitlab

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
)

// BenchmarkWebhookEvents posts merge request events (each for a different
// merge request, so none coalesce) through POST /integration/webhook of a
// running App into the in-memory Port, and reports events applied per
// second: intake, queue, refetch from the fake GitLab, mapping and the
// Port write.
func BenchmarkWebhookEvents(b *testing.B) {
	size := gitlabtest.SizeMedium
	e := newWHEnv(b, whOpts{workers: 8, size: &size})
	type target struct{ project, iid, id int }
	var targets []target
	for _, p := range e.ds.Projects() {
		for _, mr := range e.ds.MergeRequests(p.ID) {
			targets = append(targets, target{p.ID, mr.IID, mr.ID})
		}
	}
	require.NotEmpty(b, targets)
	bodies := make([]map[string]any, len(targets))
	for i, tg := range targets {
		bodies[i] = whFixture(b, "merge_request", whSet(float64(tg.project), "object_attributes", "target_project_id"),
			whSet(float64(tg.iid), "object_attributes", "iid"), whSet(float64(tg.id), "object_attributes", "id"))
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	const posters = 8
	for w := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += posters {
				if s := e.post(b, hookMergeRequest, whSecret, bodies[i%len(bodies)]); s != http.StatusAccepted {
					b.Errorf("status %d", s)
					return
				}
			}
		}()
	}
	wg.Wait()
	e.settle(b)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	m := e.metrics(b)
	b.ReportMetric(m["ocean_events_coalesced_total"], "coalesced")
	b.ReportMetric(float64(e.gl.Requests())/float64(b.N), "gitlab-req/event")
}
