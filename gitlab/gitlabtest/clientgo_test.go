package gitlabtest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/time/rate"
)

// TestGitLabClientCompatibility checks the fake against GitLab's official Go
// client, which the provider uses: its decoders must accept our shapes and its
// paginators must walk our headers.
func TestGitLabClientCompatibility(t *testing.T) {
	t.Parallel()
	ds := Generate(9, SizeMedium)
	s := NewServer(t, WithDataset(ds))
	c, err := gitlab.NewClient(s.Token, gitlab.WithBaseURL(s.APIURL()),
		gitlab.WithCustomLimiter(rate.NewLimiter(rate.Inf, 0)), gitlab.WithoutRetries())
	require.NoError(t, err)

	keyset := &gitlab.ListProjectsOptions{ListOptions: gitlab.ListOptions{Pagination: "keyset", OrderBy: "id", Sort: "asc", PerPage: 50},
		MinAccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)}
	n := 0
	for p, err := range gitlab.Scan2(func(po gitlab.PaginationOptionFunc) ([]*gitlab.Project, *gitlab.Response, error) {
		return c.Projects.ListProjects(keyset, po)
	}) {
		require.NoError(t, err)
		require.NotEmpty(t, p.PathWithNamespace)
		n++
	}
	resp, _ := getList(t, s, "/api/v4/projects?min_access_level=30")
	assert.Equal(t, resp.Header.Get("X-Total"), jsonInt(n))

	mrs := 0
	opts := &gitlab.ListGroupMergeRequestsOptions{ListOptions: gitlab.ListOptions{PerPage: 100}, State: gitlab.Ptr("all")}
	for mr, err := range gitlab.Scan2(func(po gitlab.PaginationOptionFunc) ([]*gitlab.BasicMergeRequest, *gitlab.Response, error) {
		return c.MergeRequests.ListGroupMergeRequests(1, opts, po)
	}) {
		require.NoError(t, err)
		require.NotNil(t, mr.CreatedAt)
		require.NotNil(t, mr.Author)
		mrs++
	}
	assert.Positive(t, mrs)

	p, _ := ds.Project("3")
	f, _, err := c.RepositoryFiles.GetFile(p.PathWithNamespace, "port.yml", &gitlab.GetFileOptions{Ref: p.DefaultBranch})
	require.NoError(t, err)
	assert.Equal(t, "base64", f.Encoding)
	members, _, err := c.Groups.ListAllGroupMembers(1, nil)
	require.NoError(t, err)
	assert.NotEmpty(t, members)
	pls, _, err := c.Pipelines.ListProjectPipelines(1, nil)
	require.NoError(t, err)
	assert.NotEmpty(t, pls)
}
