package gitlab_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port/porttest"
)

// TestIncrementalResyncAgainstGitLab runs the default mapping with
// incremental sync on: the second resync lists only what changed (GitLab's
// updated_after and last_activity_after) and the catalog still ends up as a
// full resync would leave it.
func TestIncrementalResyncAgainstGitLab(t *testing.T) {
	t.Parallel()
	size := gitlabtest.SizeSmall
	size.Now = time.Now()
	gl := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(11, size)))
	pt := porttest.NewServer(t)
	cfg, err := settings.Load(settings.LoadOptions{ProviderType: gitlab.ProviderType, Environ: []string{
		"OCEAN__PORT__CLIENT_ID=" + pt.ClientID,
		"OCEAN__PORT__CLIENT_SECRET=" + pt.ClientSecret,
		"OCEAN__PORT__BASE_URL=" + pt.URL,
		"OCEAN__INTEGRATION__IDENTIFIER=inc",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_URL=" + gl.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + gl.Token,
		"OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED=true",
	}})
	require.NoError(t, err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, _, err := gitlab.NewApp(cfg, quiet)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, app.InitializePortResources(ctx))

	full, err := app.Resync(ctx, ocean.ResyncOptions{Incremental: true})
	require.NoError(t, err)
	fullRequests := gl.Requests()
	byKind := map[string]*report.Kind{}
	for _, k := range full.Kinds {
		byKind[k.Kind] = k
		assert.Nil(t, k.Since, "no watermark yet: %s is fetched in full", k.Kind)
	}
	require.Positive(t, byKind["merge-request"].Fetched)

	// A merge request and a project change in GitLab.
	var mrID string
	for _, e := range pt.Entities("gitlabMergeRequest") {
		mrID = e.ID()
		break
	}
	require.NotEmpty(t, mrID)
	var projectID, iid int
	for _, p := range gl.Dataset().Projects() {
		for _, mr := range gl.Dataset().MergeRequests(p.ID) {
			if strconv.Itoa(mr.ID) == mrID {
				projectID, iid = p.ID, mr.IID
			}
		}
	}
	require.NotZero(t, projectID)
	_, err = gl.Dataset().UpdateMergeRequest(projectID, iid, func(mr *gitlabtest.MergeRequest) { mr.Title = "Changed in GitLab" })
	require.NoError(t, err)
	svc := pt.Entities("service")[0]
	_, err = gl.Dataset().UpdateProject(svc.ID(), func(p *gitlabtest.Project) { p.Name = "Renamed project" })
	require.NoError(t, err)

	gl.ResetStats()
	inc, err := app.Resync(ctx, ocean.ResyncOptions{Incremental: true})
	require.NoError(t, err)
	assert.True(t, inc.Incremental)
	for _, k := range inc.Kinds {
		byKind[k.Kind] = k
	}
	require.NotNil(t, byKind["merge-request"].Since)
	require.NotNil(t, byKind["project"].Since)
	assert.Less(t, byKind["merge-request"].Fetched, full.Kinds[3].Fetched)
	assert.GreaterOrEqual(t, byKind["merge-request"].Fetched, int64(1))
	assert.Less(t, byKind["project"].Fetched, full.Kinds[0].Fetched)
	assert.Less(t, gl.Requests(), fullRequests, "fewer GitLab requests than the full resync")

	mr, ok := pt.Entity("gitlabMergeRequest", mrID)
	require.True(t, ok)
	assert.Equal(t, "Changed in GitLab", mr.Title)
	e, ok := pt.Entity("service", svc.ID())
	require.True(t, ok)
	assert.Equal(t, "Renamed project", e.Title)
}
