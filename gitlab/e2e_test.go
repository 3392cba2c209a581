package gitlab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
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

// listAll counts what GitLab lists at path, through plain HTTP, as an
// oracle independent of the provider's client.
func listAll(t *testing.T, gl *gitlabtest.Server, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for page := 1; ; page++ {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v4/%s%sper_page=100&page=%d", gl.URL, path, sep, page), nil)
		req.Header.Set("PRIVATE-TOKEN", gl.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var items []map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&items))
		resp.Body.Close()
		out = append(out, items...)
		if resp.Header.Get("X-Next-Page") == "" {
			return out
		}
	}
}

// TestDefaultConfigSyncsTheCatalog runs the GitLab provider with its
// default blueprints and mapping through the framework into an in-memory
// Port, as a user's first run would.
func TestDefaultConfigSyncsTheCatalog(t *testing.T) {
	t.Parallel()
	size := gitlabtest.SizeSmall
	size.Now = time.Now()
	gl := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(7, size)))
	pt := porttest.NewServer(t)

	cfg, err := settings.Load(settings.LoadOptions{ProviderType: gitlab.ProviderType, Environ: []string{
		"OCEAN__PORT__CLIENT_ID=" + pt.ClientID,
		"OCEAN__PORT__CLIENT_SECRET=" + pt.ClientSecret,
		"OCEAN__PORT__BASE_URL=" + pt.URL,
		"OCEAN__EVENT_LISTENER__TYPE=ONCE",
		"OCEAN__INTEGRATION__IDENTIFIER=my-gitlab",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_URL=" + gl.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + gl.Token,
	}})
	require.NoError(t, err)
	gcfg, err := gitlab.LoadConfig(cfg)
	require.NoError(t, err)
	g, err := gitlab.New(gcfg, gitlab.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	app, err := ocean.New(cfg, g.Provider(), ocean.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, app.Run(ctx), "ONCE with the default config completes")
	groupListings := gl.RouteRequests("GET /groups")

	// Counts per blueprint against GitLab's own listings.
	projects := listAll(t, gl, "projects?min_access_level=30")
	live := 0
	for _, p := range projects {
		if p["marked_for_deletion_at"] == nil {
			live++
		}
	}
	require.Positive(t, live)
	assert.Equal(t, live, pt.EntityCount("service"))
	groups := listAll(t, gl, "groups?all_available=true&min_access_level=30")
	assert.Equal(t, len(groups), pt.EntityCount("gitlabGroup"))
	assert.Positive(t, pt.EntityCount("gitlabMember"))
	// group-with-members, member and merge-request all need the groups:
	// one listing serves the three kinds. The client first asks for keyset
	// pagination, once (GitLab offers it on /groups to anonymous callers
	// only, and may to tokens one day).
	assert.Equal(t, int64(1+(len(groups)+99)/100), groupListings, "groups are listed once per resync")
	assert.Positive(t, pt.EntityCount("gitlabMergeRequest"))

	// A project, field by field.
	p := projects[0]
	for _, cand := range projects {
		if cand["marked_for_deletion_at"] == nil {
			p = cand
			break
		}
	}
	id := p["path_with_namespace"].(string)
	e, ok := pt.Entity("service", id)
	require.True(t, ok, "project %s synced", id)
	assert.Equal(t, p["name"], e.Title)
	assert.Equal(t, p["web_url"], e.Properties["url"])
	assert.NotEmpty(t, e.Properties["readme"], "README.md comes from the included-files enrichment")
	langs := map[string]float64{}
	raw := fetch(t, gl, fmt.Sprintf("projects/%v/languages", p["id"]))
	require.NoError(t, json.Unmarshal(raw, &langs))
	top, best := "", -1.0
	for l, v := range langs {
		if v > best {
			top, best = l, v
		}
	}
	assert.Equal(t, top, e.Properties["language"], "the most used language, from __languages")
	assert.Contains(t, e.Datasource, "port-ocean/gitlab-v2/")
	assert.Contains(t, e.Datasource, "/my-gitlab/exporter")

	// Every merge request's project relation resolves to a synced service.
	for _, mr := range pt.Entities("gitlabMergeRequest") {
		target, _ := mr.Relations["project"].(string)
		require.NotEmpty(t, target, "MR %v has a project", mr.Identifier)
		_, ok := pt.Entity("service", target)
		assert.True(t, ok, "MR %v points at %s, which exists", mr.Identifier, target)
		assert.Equal(t, "opened", mr.Properties["status"], "the default selector keeps opened MRs")
	}

	// The integration, its blueprints and its resync state were set up.
	integ, ok := pt.Integration("my-gitlab")
	require.True(t, ok)
	assert.Equal(t, gitlab.ProviderType, integ.InstallationAppType)
	states := pt.ResyncStates("my-gitlab")
	require.NotEmpty(t, states)
	assert.Equal(t, report.StateCompleted, states[len(states)-1].Status)
}

func fetch(t *testing.T, gl *gitlabtest.Server, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, gl.URL+"/api/v4/"+path, nil)
	req.Header.Set("PRIVATE-TOKEN", gl.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}
