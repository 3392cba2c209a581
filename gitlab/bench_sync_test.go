package gitlab_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// largeMapping is the default mapping's kinds with every merge-request
// state and issues added, so that a large instance has ~50k of each.
const largeMapping = `
resources:
  - kind: project
    selector:
      query: "true"
      includeLanguages: true
      includedFiles: [README.md, CODEOWNERS]
    port:
      entity:
        mappings:
          identifier: .path_with_namespace | gsub(" "; "")
          title: .name
          blueprint: '"service"'
          properties:
            url: .web_url
            readme: .__includedFiles["README.md"]
            codeowners: .__includedFiles["CODEOWNERS"]
            language: (.__languages // {}) | to_entries | max_by(.value) | .key
  - kind: group-with-members
    port:
      entity:
        mappings:
          identifier: .full_path
          title: .name
          blueprint: '"gitlabGroup"'
          properties:
            url: .web_url
            visibility: .visibility
            description: .description
          relations:
            gitlabMembers: "[.__members[]?.username]"
  - kind: merge-request
    selector:
      states: [opened, merged, closed]
      updatedAfter: 3650
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: .title
          blueprint: '"gitlabMergeRequest"'
          properties:
            creator: .author.name
            status: .state
            createdAt: .created_at
            updatedAt: .updated_at
            mergedAt: .merged_at
            link: .web_url
            reviewers: "[.reviewers[]?.username]"
          relations:
            project: .references.full | sub("!.+$"; "")
  - kind: issue
    selector:
      nonArchived: false
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: .title
          blueprint: '"gitlabIssue"'
          properties:
            state: .state
            link: .web_url
            labels: .labels
          relations:
            service: .references.full | sub("#.+$"; "")
`

// BenchmarkSyncLarge syncs a large seeded GitLab (~5k projects, ~50k merge
// requests and ~50k issues) through the framework into the in-memory Port
// with languages and included files on, and reports items/s, GitLab
// requests against the floor of one list request per 100 items, and the
// peak heap (which includes both fakes, in the same process).
func BenchmarkSyncLarge(b *testing.B) {
	size := gitlabtest.SizeLarge
	size.Now = time.Now()
	gl := gitlabtest.NewServer(b, gitlabtest.WithDataset(gitlabtest.Generate(1, size)))
	pt := porttest.New(porttest.WithoutRequestLog())
	b.Cleanup(pt.Close)
	if err := pt.AddBlueprint(port.Blueprint{Identifier: "gitlabIssue", Title: "Issue", Schema: port.BlueprintSchema{
		Properties: map[string]map[string]any{"state": {"type": "string"}, "link": {"type": "string"}, "labels": {"type": "array"}},
	}}); err != nil {
		b.Fatal(err)
	}
	cfg, err := settings.Load(settings.LoadOptions{ProviderType: gitlab.ProviderType, Environ: []string{
		"OCEAN__PORT__CLIENT_ID=" + pt.ClientID, "OCEAN__PORT__CLIENT_SECRET=" + pt.ClientSecret, "OCEAN__PORT__BASE_URL=" + pt.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_URL=" + gl.URL, "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + gl.Token,
		"OCEAN__SEND_RAW_DATA_EXAMPLES=false", "OCEAN__RESYNC__SKIP_UNCHANGED=false",
	}})
	if err != nil {
		b.Fatal(err)
	}
	pac, err := mapping.Parse([]byte(largeMapping), mapping.AllowTopLevelKeys("visibility"))
	if err != nil {
		b.Fatal(err)
	}
	app, _, err := gitlab.NewApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), ocean.WithPortAppConfig(pac))
	if err != nil {
		b.Fatal(err)
	}
	if err := app.InitializePortResources(context.Background()); err != nil {
		b.Fatal(err)
	}
	var items, floor, requests int64
	var peak atomic.Uint64
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	b.ResetTimer()
	for b.Loop() {
		gl.ResetStats()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var ms runtime.MemStats
			t := time.NewTicker(25 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		rep, err := app.Resync(context.Background(), ocean.ResyncOptions{})
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range rep.Kinds {
			items += k.Fetched
			floor += (k.Fetched + 99) / 100
		}
		requests += gl.Requests()
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(items)/n, "items/op")
	b.ReportMetric(float64(requests)/n, "gitlab-req/op")
	b.ReportMetric(float64(floor)/n, "list-floor/op")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	// The fakes' datasets are in the same heap: report the growth too.
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "heap-growth-MiB")
}
