package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// expectedHookOwners lists, through plain HTTP, where hooks must go: the
// topmost groups the token owns and its maintained personal projects.
func expectedHookOwners(t *testing.T, gl *gitlabtest.Server) (groups, projects []int) {
	t.Helper()
	owned := map[int]*int{}
	for _, grp := range whGet[[]struct {
		ID       int  `json:"id"`
		ParentID *int `json:"parent_id"`
	}](t, gl, "groups?min_access_level=50&per_page=100") {
		owned[grp.ID] = grp.ParentID
	}
	for id, parent := range owned {
		if parent == nil {
			groups = append(groups, id)
			continue
		}
		if _, ok := owned[*parent]; !ok {
			groups = append(groups, id)
		}
	}
	for _, p := range whGet[[]struct {
		ID        int `json:"id"`
		Namespace struct {
			Kind string `json:"kind"`
		} `json:"namespace"`
	}](t, gl, "projects?min_access_level=40&per_page=100") {
		if p.Namespace.Kind == "user" {
			projects = append(projects, p.ID)
		}
	}
	return groups, projects
}

func whGet[T any](t *testing.T, gl *gitlabtest.Server, path string) T {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, gl.URL+"/api/v4/"+path, nil)
	req.Header.Set("PRIVATE-TOKEN", gl.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out T
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

func whWrite(t *testing.T, gl *gitlabtest.Server, method, path string, body map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, gl.URL+"/api/v4/"+path, bytes.NewReader(b))
	req.Header.Set("PRIVATE-TOKEN", gl.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "%s %s", method, path)
}

// ourHooks returns the hooks of a group (or project) pointing at url.
func ourHooks(hooks []gitlabtest.Hook, url string) []gitlabtest.Hook {
	var out []gitlabtest.Hook
	for _, h := range hooks {
		if h.URL == url {
			out = append(out, h)
		}
	}
	return out
}

func newHookIntegration(t *testing.T, gl *gitlabtest.Server, mut ...func(*Config)) *Integration {
	t.Helper()
	cfg := Config{Host: gl.URL, Token: settings.Secret(gl.Token), WebhookSecret: whSecret, MaxConcurrency: 4, MaxRetries: 1,
		IntegrationIdentifier: whIntegration}
	for _, m := range mut {
		m(&cfg)
	}
	g, err := New(cfg, WithLogger(whQuiet))
	require.NoError(t, err)
	return g
}

func TestRegisterWebhooksIsIdempotent(t *testing.T) {
	t.Parallel()
	gl := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall)))
	ds := gl.Dataset()
	groups, projects := expectedHookOwners(t, gl)
	require.NotEmpty(t, groups)
	require.NotEmpty(t, projects)
	ctx := context.Background()
	g := newHookIntegration(t, gl)

	check := func(url string) {
		t.Helper()
		for _, gid := range groups {
			hooks := ourHooks(ds.GroupHooks(gid), url)
			require.Len(t, hooks, 1, "one hook on group %d", gid)
			h := hooks[0]
			assert.Equal(t, whSecret, h.Token, "the webhook secret is the hook's token")
			assert.Equal(t, "Port Ocean gitlab-v2 ("+whIntegration+")", h.Name)
			assert.True(t, h.PushEvents && h.TagPushEvents && h.MergeRequestsEvents && h.IssuesEvents && h.ConfidentialIssuesEvents &&
				h.PipelineEvents && h.JobEvents && h.DeploymentEvents && h.ReleasesEvents && h.SubgroupEvents && h.MemberEvents && h.ProjectEvents,
				"every event a processor handles")
			assert.False(t, h.NoteEvents || h.WikiPageEvents || h.ConfidentialNoteEvents || h.FeatureFlagEvents || h.RepositoryUpdateEvents,
				"and no other")
		}
		for _, pid := range projects {
			hooks := ourHooks(ds.ProjectHooks(pid), url)
			require.Len(t, hooks, 1, "one hook on personal project %d", pid)
			h := hooks[0]
			assert.Equal(t, whSecret, h.Token)
			assert.True(t, h.PushEvents && h.TagPushEvents && h.PipelineEvents && h.JobEvents && h.DeploymentEvents && h.ReleasesEvents)
			assert.False(t, h.MergeRequestsEvents || h.IssuesEvents, "personal projects' merge requests and issues are not synced")
		}
		// Subgroups of an owned group get no hook of their own.
		for _, grp := range ds.Groups() {
			if grp.ParentID != nil && len(ds.GroupHooks(grp.ID)) > 0 {
				parentOwned := false
				for _, id := range groups {
					parentOwned = parentOwned || id == *grp.ParentID
				}
				assert.False(t, parentOwned, "subgroup %s has a hook though its parent has one", grp.FullPath)
			}
		}
	}

	rep, err := g.RegisterWebhooks(ctx, whDefaultHost)
	require.NoError(t, err)
	assert.Equal(t, len(groups)+len(projects), rep.Created)
	check(whDefaultHost)

	// A restart changes nothing but re-setting the secret.
	rep, err = g.RegisterWebhooks(ctx, whDefaultHost)
	require.NoError(t, err)
	assert.Zero(t, rep.Created)
	assert.Equal(t, len(groups)+len(projects), rep.Updated)
	assert.Empty(t, rep.Stale)
	check(whDefaultHost)

	// Someone turns an event off and adds an unrelated hook: the event set
	// is restored, the other hook stays.
	gid := groups[0]
	h := ourHooks(ds.GroupHooks(gid), whDefaultHost)[0]
	whWrite(t, gl, http.MethodPut, "groups/"+strconv.Itoa(gid)+"/hooks/"+strconv.Itoa(h.ID), map[string]any{"merge_requests_events": false, "note_events": true})
	whWrite(t, gl, http.MethodPost, "groups/"+strconv.Itoa(gid)+"/hooks", map[string]any{"url": "https://ci.example.com/hook", "name": "CI"})
	rep, err = g.RegisterWebhooks(ctx, whDefaultHost)
	require.NoError(t, err)
	assert.Equal(t, []string{"groups/" + strconv.Itoa(gid)}, rep.Stale)
	check(whDefaultHost)
	assert.Len(t, ourHooks(ds.GroupHooks(gid), "https://ci.example.com/hook"), 1, "hooks of others are left alone")

	// A duplicate (say, a retried POST) is deleted.
	whWrite(t, gl, http.MethodPost, "groups/"+strconv.Itoa(gid)+"/hooks", map[string]any{"url": whDefaultHost})
	rep, err = g.RegisterWebhooks(ctx, whDefaultHost)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Deleted)
	check(whDefaultHost)

	// The base URL moves: the hooks follow (found by name), none is added.
	moved := "https://ocean.example.net/prefix/integration/webhook"
	rep, err = g.RegisterWebhooks(ctx, moved)
	require.NoError(t, err)
	assert.Zero(t, rep.Created)
	assert.Len(t, rep.Stale, len(groups)+len(projects))
	check(moved)
	for _, gid := range groups {
		assert.Empty(t, ourHooks(ds.GroupHooks(gid), whDefaultHost), "no hook is left on the old URL")
	}

	// A rotated secret reaches the existing hooks.
	g2 := newHookIntegration(t, gl, func(c *Config) { c.WebhookSecret = "rotated-secret" })
	_, err = g2.RegisterWebhooks(ctx, moved)
	require.NoError(t, err)
	for _, gid := range groups {
		assert.Equal(t, "rotated-secret", ourHooks(ds.GroupHooks(gid), moved)[0].Token)
	}
}

func TestRegisterWebhooksAdoptsGitlabV2Hooks(t *testing.T) {
	t.Parallel()
	gl := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall)))
	groups, _ := expectedHookOwners(t, gl)
	gid := strconv.Itoa(groups[0])
	// gitlab-v2's hook: same URL, no token, no name.
	whWrite(t, gl, http.MethodPost, "groups/"+gid+"/hooks", map[string]any{"url": whDefaultHost, "push_events": true})
	g := newHookIntegration(t, gl, func(c *Config) { c.IntegrationIdentifier = "" })
	_, err := g.RegisterWebhooks(context.Background(), whDefaultHost)
	require.NoError(t, err)
	hooks := ourHooks(gl.Dataset().GroupHooks(groups[0]), whDefaultHost)
	require.Len(t, hooks, 1)
	assert.Equal(t, whSecret, hooks[0].Token, "the adopted hook gets the secret")
	assert.True(t, hooks[0].MemberEvents)
}

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func hookCount(ds *gitlabtest.Dataset) int {
	n := 0
	for _, grp := range ds.Groups() {
		n += len(ds.GroupHooks(grp.ID))
	}
	for _, p := range ds.Projects() {
		n += len(ds.ProjectHooks(p.ID))
	}
	return n
}

func TestStartRegistersOnlyWhenLiveEventsCanWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     ocean.StartEnv
		scopes  []string
		mutate  func(*Config)
		hooks   bool
		logLine string
	}{
		{name: "base URL set", env: ocean.StartEnv{WebhookURL: whDefaultHost, ListenerType: settings.ListenerPolling}, hooks: true, logLine: "webhooks registered"},
		{name: "no base URL", env: ocean.StartEnv{ListenerType: settings.ListenerPolling}, logLine: "live events are off"},
		{name: "ONCE", env: ocean.StartEnv{WebhookURL: whDefaultHost, ListenerType: settings.ListenerOnce}},
		{name: "token without api scope", env: ocean.StartEnv{WebhookURL: whDefaultHost, ListenerType: settings.ListenerPolling},
			scopes: []string{"read_api", "read_repository"}, logLine: "no api scope"},
		{name: "no secret", env: ocean.StartEnv{WebhookURL: whDefaultHost, ListenerType: settings.ListenerPolling},
			mutate: func(c *Config) { c.WebhookSecret = "" }, logLine: "no webhookSecret is set"},
		{name: "no secret, unsigned deliveries allowed", env: ocean.StartEnv{WebhookURL: whDefaultHost, ListenerType: settings.ListenerPolling},
			mutate: func(c *Config) { c.WebhookSecret = ""; c.AllowUnauthenticatedWebhooks = true }, hooks: true, logLine: "allowUnauthenticatedWebhooks is on"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := []gitlabtest.Option{gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall))}
			if tc.scopes != nil {
				opts = append(opts, gitlabtest.WithTokenScopes(tc.scopes...))
			}
			gl := gitlabtest.NewServer(t, opts...)
			var logs logBuffer
			tc.env.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			g := newHookIntegration(t, gl, func(c *Config) {
				if tc.mutate != nil {
					tc.mutate(c)
				}
			})
			require.NoError(t, g.start(context.Background(), tc.env), "start never fails the integration")
			if tc.hooks {
				assert.Positive(t, hookCount(gl.Dataset()))
			} else {
				assert.Zero(t, hookCount(gl.Dataset()))
			}
			if tc.logLine != "" {
				assert.Contains(t, logs.String(), tc.logLine)
			}
			assert.NotContains(t, logs.String(), whSecret, "the secret is never logged")
		})
	}
}

func TestRegisterWebhooksForbiddenGroupsAreReported(t *testing.T) {
	t.Parallel()
	gl := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall)))
	groups, _ := expectedHookOwners(t, gl)
	gl.InjectFault(gitlabtest.Fault{Status: http.StatusForbidden, PathPrefix: "/groups/" + strconv.Itoa(groups[0]) + "/hooks", Count: 100})
	g := newHookIntegration(t, gl)
	rep, err := g.RegisterWebhooks(context.Background(), whDefaultHost)
	require.NoError(t, err)
	assert.Equal(t, []string{"groups/" + strconv.Itoa(groups[0])}, rep.Forbidden)
	assert.Equal(t, len(groups)-1, len(groupsWithHook(gl.Dataset(), groups)))
}

func groupsWithHook(ds *gitlabtest.Dataset, groups []int) []int {
	var out []int
	for _, id := range groups {
		if len(ds.GroupHooks(id)) > 0 {
			out = append(out, id)
		}
	}
	return out
}
