package gitlabtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	largeOnce sync.Once
	largeDS   *Dataset
)

func large() *Dataset {
	largeOnce.Do(func() { largeDS = Generate(1, SizeLarge) })
	return largeDS
}

func BenchmarkGenerateMedium(b *testing.B) {
	for b.Loop() {
		Generate(1, SizeMedium)
	}
}

func benchGET(b *testing.B, path string) {
	s := New(WithDataset(large()))
	defer s.Close()
	c := s.Client()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
			req.Header.Set("PRIVATE-TOKEN", s.Token)
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

// Large dataset: ~5,000 projects, ~50,000 merge requests.
func BenchmarkLargeProjectsKeysetPage(b *testing.B) {
	benchGET(b, "/api/v4/projects?pagination=keyset&order_by=id&per_page=100&min_access_level=30&id_after=2000")
}

func BenchmarkLargeProjectsOffsetPage(b *testing.B) {
	benchGET(b, "/api/v4/projects?per_page=100&page=10&min_access_level=30")
}

func BenchmarkLargeGroupMergeRequestsPage(b *testing.B) {
	benchGET(b, "/api/v4/groups/1/merge_requests?state=opened&per_page=100")
}

func BenchmarkLargeInstanceMergeRequestsPage(b *testing.B) {
	benchGET(b, "/api/v4/merge_requests?scope=all&state=all&per_page=100&page=3")
}

func BenchmarkLargeProjectMergeRequests(b *testing.B) {
	benchGET(b, "/api/v4/projects/100/merge_requests?per_page=100")
}

// BenchmarkLargeGraphQLContentBatch resolves the enrichment query the
// GitLab provider sends: languages and two files of 25 projects.
func BenchmarkLargeGraphQLContentBatch(b *testing.B) { benchGraphQLContentBatch(b, large()) }

// BenchmarkLazyGraphQLContentBatch is BenchmarkLargeGraphQLContentBatch
// against the lazy dataset, where each project's files are regenerated.
func BenchmarkLazyGraphQLContentBatch(b *testing.B) { benchGraphQLContentBatch(b, lazyLarge()) }

func benchGraphQLContentBatch(b *testing.B, ds *Dataset) {
	s := New(WithDataset(ds))
	defer s.Close()
	var q strings.Builder
	q.WriteString("query($paths:[String!]!){")
	for i, p := range ds.Projects()[:25] {
		fmt.Fprintf(&q, "p%d:project(fullPath:%q){languages{name share} repository{blobs(paths:$paths,ref:%q){nodes{path rawTextBlob}}}} ", i, p.PathWithNamespace, deref(p.DefaultBranch))
	}
	q.WriteString("}")
	body, _ := json.Marshal(map[string]any{"query": q.String(), "variables": map[string]any{"paths": []string{"README.md", "CODEOWNERS"}}})
	c := s.Client()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/graphql", bytes.NewReader(body))
			req.Header.Set("PRIVATE-TOKEN", s.Token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

// BenchmarkGenerateLazyHeap reports what a lazy dataset of the benchmark's
// shape (bench/: merge requests, members and the default branch only)
// keeps live per project: heap bytes and heap objects, which is what the
// fakes' garbage collector traces on every cycle at a million entities.
func BenchmarkGenerateLazyHeap(b *testing.B) {
	s := SizeFor(100000)
	s.IssuesPerProject, s.PipelinesPerProject, s.JobsPerPipeline = 0, 0, 0
	s.DeploymentsPerProject, s.EnvironmentsPerProject, s.ReleasesPerProject, s.TagsPerProject = 0, 0, 0, 0
	s.MembersPerProject, s.FilesPerProject, s.BranchesPerProject = 0, 0, 1
	s.Groups = 200
	var ds *Dataset
	var before, after runtime.MemStats
	for b.Loop() {
		ds = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		ds = GenerateLazy(1, s)
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	n := float64(len(ds.projects))
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heapB/project")
	b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/n, "objects/project")
	runtime.KeepAlive(ds)
}

var (
	lazyOnce sync.Once
	lazyDS   *Dataset
)

// lazyLarge is SizeLarge generated lazily in the benchmark's shape: what
// bench/ serves, where each request regenerates what it reads.
func lazyLarge() *Dataset {
	lazyOnce.Do(func() {
		s := SizeLarge
		s.IssuesPerProject, s.PipelinesPerProject, s.JobsPerPipeline = 0, 0, 0
		s.DeploymentsPerProject, s.EnvironmentsPerProject, s.ReleasesPerProject, s.TagsPerProject = 0, 0, 0, 0
		s.MembersPerProject, s.FilesPerProject, s.BranchesPerProject = 0, 0, 1
		lazyDS = GenerateLazy(1, s)
	})
	return lazyDS
}

// benchLazyGET measures one request of a benchmark resync's hot routes
// against a lazy dataset, with allocations (what the fakes' collector
// pays for at a million entities).
func benchLazyGET(b *testing.B, path string) {
	s := New(WithDataset(lazyLarge()))
	defer s.Close()
	c := s.Client()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		req.Header.Set("PRIVATE-TOKEN", s.Token)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func BenchmarkLazyGroupMergeRequests(b *testing.B) {
	benchLazyGET(b, "/api/v4/groups/1/merge_requests?state=opened&per_page=100&updated_after=2025-10-01T00:00:00Z")
}

func BenchmarkLazyGroupMembersAll(b *testing.B) {
	benchLazyGET(b, "/api/v4/groups/2/members/all?per_page=100")
}

func BenchmarkLazyGroupBlobSearch(b *testing.B) {
	benchLazyGET(b, "/api/v4/groups/1/search?scope=blobs&search=filename:port.yml&per_page=100")
}

func BenchmarkLazyProjectsPage(b *testing.B) {
	benchLazyGET(b, "/api/v4/projects?pagination=keyset&order_by=id&sort=asc&per_page=100&min_access_level=10&id_after=2000")
}
