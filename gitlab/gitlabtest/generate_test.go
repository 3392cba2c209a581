package gitlabtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// snapshot renders everything a client can observe of a dataset.
func snapshot(t *testing.T, ds *Dataset) string {
	t.Helper()
	var all []any
	all = append(all, ds.Users(), ds.Groups(), ds.Projects())
	for _, p := range ds.Projects() {
		all = append(all, ds.MergeRequests(p.ID), ds.Issues(p.ID), ds.Pipelines(p.ID))
	}
	b, err := json.Marshal(all)
	require.NoError(t, err)
	return string(b)
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b := Generate(42, SizeSmall), Generate(42, SizeSmall)
	assert.Equal(t, snapshot(t, a), snapshot(t, b))
	assert.NotEqual(t, snapshot(t, a), snapshot(t, Generate(43, SizeSmall)))

	// Repository content is deterministic too.
	sa, sb := NewServer(t, WithDataset(a)), NewServer(t, WithDataset(b))
	for _, path := range []string{"/api/v4/projects/5/repository/tree?recursive=true&per_page=100",
		"/api/v4/projects/5/repository/files/data%2Ffixtures.json/raw", "/api/v4/projects/5/languages"} {
		_, x := get(t, sa, path)
		_, y := get(t, sb, path)
		assert.Equal(t, x, y, path)
	}
}

func TestGenerateSizes(t *testing.T) {
	t.Parallel()
	ds := Generate(1, SizeSmall)
	c := ds.Counts()
	assert.Equal(t, SizeSmall.GroupCount(), c.Groups)
	assert.Equal(t, 6, c.Groups)
	assert.Equal(t, 20, c.Projects)
	assert.Equal(t, SizeSmall.ProjectCount(), c.Projects)
	assert.Equal(t, 19*SizeSmall.MergeRequestsPerProject, c.MergeRequests, "the empty project has none")
	assert.Equal(t, 19*SizeSmall.PipelinesPerProject*SizeSmall.JobsPerPipeline, c.Jobs)

	m := SizeMedium
	assert.Equal(t, 70, m.GroupCount())
	assert.Equal(t, 353, m.ProjectCount())
	assert.Equal(t, 350*14+3, SizeLarge.ProjectCount())

	for _, target := range []int{10_000, 100_000} {
		s := SizeFor(target)
		assert.InDelta(t, target, s.Entities(), float64(target)/5, "target %d", target)
	}
	small := Generate(1, SizeFor(5000))
	assert.InDelta(t, 5000, small.Counts().Total(), 1500)
}

func TestGeneratedShapes(t *testing.T) {
	t.Parallel()
	ds := Generate(1, Size{Groups: 1, ProjectsPerGroup: 1, MergeRequestsPerProject: 30, Now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	p := ds.Projects()[0]
	assert.Equal(t, "group", p.Namespace.Kind)
	assert.Contains(t, p.WebURL, p.PathWithNamespace)
	assert.True(t, p.LastActivityAt.Before(time.Date(2030, 1, 1, 0, 0, 1, 0, time.UTC)))
	states := map[string]bool{}
	for _, m := range ds.MergeRequests(p.ID) {
		states[m.State] = true
		assert.True(t, !m.UpdatedAt.Before(m.CreatedAt.Time))
		if m.State == "merged" {
			assert.False(t, m.MergedAt.IsZero())
		}
	}
	assert.True(t, states["opened"] && states["merged"] && states["closed"], "%v", states)
	b, err := json.Marshal(ds.MergeRequests(p.ID)[0])
	require.NoError(t, err)
	assert.Regexp(t, `"created_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"`, string(b))
}

// A lazy dataset serves exactly what the eager one does: the same objects,
// and the same answers on the routes whose data it regenerates.
func TestGenerateLazyMatchesEager(t *testing.T) {
	t.Parallel()
	sizes := []struct {
		name string
		size Size
	}{
		{"small", SizeSmall},
		{"medium shape", SizeFor(3000)},
		// Bots outnumber the humans 32 to 1 midway: humanUser changes how it draws.
		{"many bots", Size{Groups: 40, ProjectsPerGroup: 50, MergeRequestsPerProject: 2, IssuesPerProject: 1,
			BranchesPerProject: 1, MembersPerGroup: 2, FilesPerProject: 1}},
	}
	paths := []string{
		"/api/v4/projects?per_page=100&order_by=id&sort=asc",
		"/api/v4/projects?per_page=7&order_by=id&sort=asc&pagination=keyset&id_after=9",
		"/api/v4/projects?per_page=7&order_by=id&sort=desc&pagination=keyset",
		"/api/v4/projects?per_page=7&order_by=id&sort=desc&pagination=keyset&id_before=30",
		"/api/v4/groups?per_page=5&page=2&order_by=id&sort=asc",
		"/api/v4/groups?per_page=5&page=3&all_available=true&order_by=id&sort=asc",
		"/api/v4/groups/2/merge_requests?state=opened&per_page=100",
		"/api/v4/merge_requests?scope=all&per_page=100",
		"/api/v4/groups/2/search?scope=blobs&search=filename:port.yml&per_page=100&include_archived=true",
		"/api/v4/groups?per_page=100&all_available=true",
		"/api/v4/groups/1/merge_requests?state=opened&per_page=100",
		"/api/v4/groups/1/issues?per_page=100",
		"/api/v4/groups/1/search?scope=blobs&search=filename:port.yml&per_page=100",
		"/api/v4/projects/5/repository/tree?recursive=true&per_page=100",
		"/api/v4/projects/5/repository/files/README.md/raw",
		"/api/v4/projects/5/languages",
		"/api/v4/projects/5/pipelines?per_page=100",
		"/api/v4/projects/5/jobs?per_page=100",
		"/api/v4/projects/5/deployments?per_page=100",
		"/api/v4/projects/5/releases",
		"/api/v4/projects/5/repository/branches",
		"/api/v4/projects/5/repository/tags",
		"/api/v4/groups/1/members/all?per_page=100",
		// A lazy dataset builds only the merge requests these filters keep.
		"/api/v4/groups/1/merge_requests?state=opened&updated_after=2025-12-01T00:00:00Z&per_page=100",
		"/api/v4/groups/1/merge_requests?state=merged&created_before=2025-11-01&per_page=100",
		"/api/v4/groups/1/merge_requests?state=closed&per_page=100",
		"/api/v4/groups/1/merge_requests?state=locked&per_page=100",
		"/api/v4/groups/1/merge_requests?state=all&updated_before=2025-12-15T00:00:00Z&created_after=2025-06-01&per_page=100",
		"/api/v4/groups/1/merge_requests?state=bogus",
		"/api/v4/groups/1/merge_requests?updated_after=not-a-date",
		"/api/v4/groups/1/merge_requests?state=opened&labels=bug&per_page=5&page=2",
		"/api/v4/merge_requests?scope=all&state=merged&updated_after=2025-12-01&per_page=100",
	}
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eager, lazy := Generate(7, tc.size), GenerateLazy(7, tc.size)
			assert.Equal(t, snapshot(t, eager), snapshot(t, lazy))
			assert.Equal(t, eager.Counts(), lazy.Counts())
			se, sl := NewServer(t, WithDataset(eager)), NewServer(t, WithDataset(lazy))
			for _, path := range paths {
				re, x := get(t, se, path)
				rl, y := get(t, sl, path)
				assert.Equal(t, re.StatusCode, rl.StatusCode, path)
				assert.Equal(t, string(x), string(y), path)
			}
			q := `{"query":"query{a:project(fullPath:\"` + eager.Projects()[2].PathWithNamespace +
				`\"){languages{name share} repository{blobs(paths:[\"README.md\",\"CODEOWNERS\"]){nodes{path rawTextBlob}}}}}"}`
			_, x := call(t, se, "POST", "/api/graphql", q)
			_, y := call(t, sl, "POST", "/api/graphql", q)
			assert.Equal(t, string(x), string(y))
			assert.Contains(t, string(y), "rawTextBlob")
			// A group's projects, listed then resolved field by field.
			q = `{"query":"query{group(fullPath:\"` + eager.Groups()[0].FullPath +
				`\"){projects(includeSubgroups:true){nodes{fullPath languages{name share} repository{blobs(paths:[\"README.md\"]){nodes{path rawTextBlob}}}}}}}"}`
			_, x = call(t, se, "POST", "/api/graphql", q)
			_, y = call(t, sl, "POST", "/api/graphql", q)
			assert.Equal(t, string(x), string(y))
			assert.Contains(t, string(y), "rawTextBlob")
			q = `{"query":"query{projects(first:5){nodes{fullPath languages{name share}}}}"}`
			_, x = call(t, se, "POST", "/api/graphql", q)
			_, y = call(t, sl, "POST", "/api/graphql", q)
			assert.Equal(t, string(x), string(y))
			assert.Contains(t, string(y), "share")
		})
	}
}
