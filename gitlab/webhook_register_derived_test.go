package gitlab

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

func TestDeriveWebhookSecret(t *testing.T) {
	t.Parallel()
	a := DeriveWebhookSecret("port-secret", "my-gitlab")
	assert.Len(t, a.Value(), 64, "hex SHA-256")
	assert.Equal(t, a, DeriveWebhookSecret("port-secret", "my-gitlab"), "every replica computes the same")
	assert.NotEqual(t, a, DeriveWebhookSecret("rotated-secret", "my-gitlab"), "a new Port client secret is a new webhook secret")
	assert.NotEqual(t, a, DeriveWebhookSecret("port-secret", "other-gitlab"), "installations differ")
	assert.NotContains(t, a.Value(), "port-secret")
}

func TestLoadConfigDerivesTheWebhookSecret(t *testing.T) {
	t.Parallel()
	base := []string{
		"OCEAN__PORT__CLIENT_ID=id", "OCEAN__PORT__CLIENT_SECRET=port-secret",
		"OCEAN__INTEGRATION__IDENTIFIER=my-gitlab",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx",
	}
	tests := []struct {
		name        string
		env         []string
		wantSecret  settings.Secret
		wantDerived bool
	}{
		{"gitlab-v2's settings: derived", nil, DeriveWebhookSecret("port-secret", "my-gitlab"), true},
		{"a configured secret wins", []string{"OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET=mine"}, "mine", false},
		{"unauthenticated deliveries asked for", []string{"OCEAN__INTEGRATION__CONFIG__ALLOW_UNAUTHENTICATED_WEBHOOKS=true"}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := settings.Load(settings.LoadOptions{ProviderType: ProviderType, Environ: append(append([]string{}, base...), tc.env...)})
			require.NoError(t, err)
			cfg, err := LoadConfig(c)
			require.NoError(t, err)
			assert.Equal(t, tc.wantSecret, cfg.WebhookSecret)
			assert.Equal(t, tc.wantDerived, cfg.WebhookSecretDerived)
		})
	}
}

// A team switches from the Python image with its settings unchanged:
// OCEAN__BASE_URL set, no webhookSecret. The hooks gitlab-v2 created (no
// token) are re-tokened with the derived secret, deliveries carrying it
// are applied, and unsigned ones are still refused.
func TestDerivedSecretRetokensGitlabV2HooksAndAuthenticatesDeliveries(t *testing.T) {
	t.Parallel()
	const base = "https://ocean.example.com"
	hookURL := base + "/integration/webhook"
	// The Python image's hook on one owned group, before the switch.
	gl := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall)))
	groups, projects := expectedHookOwners(t, gl)
	require.NotEmpty(t, groups)
	whWrite(t, gl, http.MethodPost, "groups/"+strconv.Itoa(groups[0])+"/hooks", map[string]any{"url": hookURL, "push_events": true, "merge_requests_events": true})

	e := newWHEnv(t, whOpts{baseURL: base, settings: map[string]any{}, gitlab: []gitlabtest.Option{gitlabtest.WithDataset(gl.Dataset())}})
	require.True(t, e.g.cfg.WebhookSecretDerived)
	want := DeriveWebhookSecret(settings.Secret(e.pt.ClientSecret), whIntegration).Value()
	waitLiveEvents(t, e.g)

	for _, gid := range groups {
		hooks := ourHooks(e.ds.GroupHooks(gid), hookURL)
		require.Len(t, hooks, 1, "group %d: gitlab-v2's hook is adopted, not duplicated", gid)
		assert.Equal(t, want, hooks[0].Token, "group %d", gid)
	}
	for _, pid := range projects {
		hooks := ourHooks(e.ds.ProjectHooks(pid), hookURL)
		require.Len(t, hooks, 1)
		assert.Equal(t, want, hooks[0].Token, "project %d", pid)
	}

	mr := whFixture(t, "merge_request")
	assert.Equal(t, http.StatusUnauthorized, e.post(t, hookMergeRequest, "", mr), "unsigned deliveries stay refused")
	assert.Equal(t, http.StatusUnauthorized, e.post(t, hookMergeRequest, e.pt.ClientSecret, mr), "the Port client secret itself is not the token")
	assert.Equal(t, http.StatusAccepted, e.post(t, hookMergeRequest, want, mr))
	e.settle(t)
	require.NoError(t, e.stop())
	assert.NotNil(t, e.entity("whMR", "3"), "the signed delivery was applied")
}

// A second start with a rotated Port client secret re-tokens the hooks
// the first one created.
func TestRotatedPortSecretRetokensHooks(t *testing.T) {
	t.Parallel()
	gl := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall)))
	groups, _ := expectedHookOwners(t, gl)
	require.NotEmpty(t, groups)
	ctx := context.Background()
	for _, secret := range []settings.Secret{"first-port-secret", "rotated-port-secret"} {
		derived := DeriveWebhookSecret(secret, whIntegration)
		g := newHookIntegration(t, gl, func(c *Config) { c.WebhookSecret, c.WebhookSecretDerived = derived, true })
		_, err := g.RegisterWebhooks(ctx, whDefaultHost)
		require.NoError(t, err)
		for _, gid := range groups {
			hooks := ourHooks(gl.Dataset().GroupHooks(gid), whDefaultHost)
			require.Len(t, hooks, 1)
			assert.Equal(t, derived.Value(), hooks[0].Token)
		}
	}
}

// A token with read_api only: one clear warning at start, naming the
// missing scope, and no secret in any line.
func TestStartWithoutAPIScopeSaysSoOnce(t *testing.T) {
	t.Parallel()
	gl := gitlabtest.NewServer(t, gitlabtest.WithTokenScopes("read_api", "read_repository"))
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	derived := DeriveWebhookSecret("port-secret", whIntegration)
	g := newHookIntegration(t, gl, func(c *Config) { c.WebhookSecret, c.WebhookSecretDerived = derived, true })
	require.NoError(t, g.start(context.Background(), ocean.StartEnv{WebhookURL: whDefaultHost, ListenerType: settings.ListenerWebhooksOnly, Logger: log}))
	out := buf.String()
	assert.Equal(t, 1, strings.Count(out, "no api scope"), out)
	assert.Contains(t, out, "read_api, read_repository")
	assert.NotContains(t, out, derived.Value())
	assert.NotContains(t, out, "port-secret")
	assert.False(t, g.liveEvents.Load())
	for _, grp := range gl.Dataset().Groups() {
		assert.Empty(t, gl.Dataset().GroupHooks(grp.ID), "no hook is created")
	}
}

// waitLiveEvents waits for the provider's start hook to have registered
// the webhooks (it runs beside the listener).
func waitLiveEvents(t *testing.T, g *Integration) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !g.liveEvents.Load() {
		if time.Now().After(deadline) {
			t.Fatal("webhooks were never registered")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
