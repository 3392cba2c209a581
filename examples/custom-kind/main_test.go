package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port/porttest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testConfig points a config at the in-memory Port, with the provider's
// settings given as OCEAN__INTEGRATION__CONFIG__… would give them.
func testConfig(pt *porttest.Server, typ string, own map[string]any) *settings.Config {
	cfg := settings.Default(typ)
	cfg.Port.ClientID, cfg.Port.ClientSecret, cfg.Port.BaseURL = settings.Secret(pt.ClientID), settings.Secret(pt.ClientSecret), pt.URL
	cfg.Integration.Config = own
	return cfg
}

// withMapping replaces the mapping stored in Port with a test's own; the
// blueprints still come from the provider's defaults.
func withMapping(t *testing.T, yaml string) ocean.Option {
	t.Helper()
	pac, err := mapping.Parse([]byte(yaml))
	require.NoError(t, err)
	return ocean.WithPortAppConfig(pac)
}

func resync(t *testing.T, cfg *settings.Config, prov *ocean.Provider, opts ...ocean.Option) (*report.Resync, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return syncOnce(ctx, cfg, prov, quiet, opts...)
}

// gitlabGet lists a GitLab collection with plain HTTP: an oracle that does
// not share the provider's client.
func gitlabGet(t *testing.T, gl *gitlabtest.Server, path string) []map[string]any {
	t.Helper()
	var all []map[string]any
	for page := "1"; page != ""; {
		req, err := http.NewRequest(http.MethodGet, gl.APIURL()+"/"+path+"&per_page=100&page="+page, nil)
		require.NoError(t, err)
		req.Header.Set("PRIVATE-TOKEN", gl.Token)
		resp, err := gl.Client().Do(req)
		require.NoError(t, err)
		var items []map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&items))
		require.NoError(t, resp.Body.Close())
		all = append(all, items...)
		page = resp.Header.Get("X-Next-Page")
	}
	return all
}

// environmentsOf returns GitLab's environments per project path, for the
// projects the provider syncs as services.
func environmentsOf(t *testing.T, gl *gitlabtest.Server) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, p := range gitlabGet(t, gl, "projects?min_access_level=30") {
		if p["marked_for_deletion_at"] == nil {
			out[p["path_with_namespace"].(string)] = gitlabGet(t, gl, fmt.Sprintf("projects/%v/environments?states=available", p["id"]))
		}
	}
	return out
}

func newGitLab(t *testing.T) *gitlabtest.Server {
	return gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(3, gitlabtest.SizeSmall)))
}

func gitlabProvider(t *testing.T, cfg *settings.Config) *ocean.Provider {
	t.Helper()
	prov, err := gitlabWithEnvironments(cfg, quiet)
	require.NoError(t, err)
	return prov
}

func TestEnvironmentsRelateToServices(t *testing.T) {
	t.Parallel()
	gl, pt := newGitLab(t), newPort(t)
	cfg := testConfig(pt, "gitlab-v2", map[string]any{"gitlab_url": gl.URL, "gitlab_token": gl.Token})

	// The default mapping, with the environment resource appended to it.
	rep, err := resync(t, cfg, gitlabProvider(t, cfg))
	require.NoError(t, err)
	assert.Equal(t, report.StateCompleted, rep.Status)

	want := environmentsOf(t, gl)
	total := 0
	for path, envs := range want {
		total += len(envs)
		for _, env := range envs {
			e, ok := pt.Entity("gitlabEnvironment", path+"/"+env["slug"].(string))
			require.True(t, ok, "environment %s of %s synced", env["name"], path)
			assert.Equal(t, env["name"], e.Title)
			assert.Equal(t, env["tier"], e.Properties["tier"])
			assert.Equal(t, "available", e.Properties["state"])
			assert.Equal(t, path, e.Relations["service"])
			svc, ok := pt.Entity("service", path)
			require.True(t, ok)
			assert.NotEmpty(t, svc.Datasource, "the relation points at the synced service, not a placeholder")
		}
	}
	require.Positive(t, total)
	assert.Equal(t, total, pt.EntityCount("gitlabEnvironment"))
}

func TestEnvironmentSelector(t *testing.T) {
	t.Parallel()
	gl := newGitLab(t)
	want := environmentsOf(t, gl)
	all, production, onePath := 0, 0, ""
	for path, envs := range want {
		all += len(envs)
		for _, env := range envs {
			if env["tier"] == "production" {
				production++
			}
		}
		if onePath == "" && len(envs) > 0 {
			onePath = path
		}
	}
	require.Positive(t, production)

	tests := []struct {
		name     string
		selector string
		want     int
		wantErr  string
	}{
		{"defaults to available environments of every project", `{}`, all, ""},
		{"states none of which exist", `{states: [stopped, stopping]}`, 0, ""},
		{"one project by path", fmt.Sprintf(`{projects: [%q]}`, onePath), len(want[onePath]), ""},
		{"query narrows what the kind lists", `{query: '.tier == "production"'}`, production, ""},
		{"an unknown state stops the resync", `{states: [retired]}`, 0, `unknown state "retired"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pt := newPort(t)
			cfg := testConfig(pt, "gitlab-v2", map[string]any{"gitlab_url": gl.URL, "gitlab_token": gl.Token})
			rep, err := resync(t, cfg, gitlabProvider(t, cfg), withMapping(t, `
createMissingRelatedEntities: true
resources:
  - kind: environment
    selector: `+tc.selector+`
    port:
      entity:
        mappings:
          identifier: .__project.path_with_namespace + "/" + .slug
          title: .name
          blueprint: '"gitlabEnvironment"'
          relations:
            service: .__project.path_with_namespace
`))
			if tc.wantErr != "" {
				// A bad selector is a mapping error: the resync stops
				// before anything is written.
				require.Error(t, err)
				var se *ocean.SelectorError
				require.ErrorAs(t, err, &se)
				assert.ErrorContains(t, se, tc.wantErr)
				_ = rep
				assert.Zero(t, pt.TotalEntities())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, pt.EntityCount("gitlabEnvironment"))
		})
	}
}

func statuspageSetup(t *testing.T) (*fakeStatuspage, *porttest.Server, *settings.Config, *ocean.Provider) {
	t.Helper()
	fake := newFakeStatuspage()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	pt := newPort(t)
	cfg := testConfig(pt, "statuspage", map[string]any{"statuspage_url": srv.URL})
	prov, err := statuspageFromConfig(cfg)
	require.NoError(t, err)
	return fake, pt, cfg, prov
}

func TestComponents(t *testing.T) {
	t.Parallel()
	_, pt, cfg, prov := statuspageSetup(t)
	rep, err := resync(t, cfg, prov) // the provider's default mapping
	require.NoError(t, err)
	assert.EqualValues(t, 6, rep.Upserted())

	e, ok := pt.Entity("statuspageComponent", "hooks001")
	require.True(t, ok)
	assert.Equal(t, "Webhooks", e.Title)
	assert.Equal(t, "major_outage", e.Properties["status"])
	assert.Equal(t, "Acme", e.Properties["page"], "from __page, which the kind adds")
	assert.Equal(t, false, e.Properties["group"])
	assert.Equal(t, "port-ocean/statuspage/0.1.0/my-statuspage-integration/exporter", e.Datasource)
}

func TestComponentSelector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		selector string
		want     []string
		wantErr  string
	}{
		{"groups are included by default", `{}`, []string{"api00001", "chat0001", "git00001", "hooks001", "int00001", "web00001"}, ""},
		{"leaves only", `{includeGroups: false}`, []string{"api00001", "chat0001", "git00001", "hooks001", "web00001"}, ""},
		{"by status", `{statuses: [partial_outage, major_outage]}`, []string{"hooks001", "int00001"}, ""},
		{"statuses and groups together", `{statuses: [partial_outage, major_outage], includeGroups: false}`, []string{"hooks001"}, ""},
		{"an unknown status stops the resync", `{statuses: [down]}`, nil, `unknown status "down"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, pt, cfg, prov := statuspageSetup(t)
			rep, err := resync(t, cfg, prov, withMapping(t, `
resources:
  - kind: component
    selector: `+tc.selector+`
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"statuspageComponent"'
`))
			if tc.wantErr != "" {
				// A bad selector is a mapping error: the resync stops
				// before anything is written.
				require.Error(t, err)
				var se *ocean.SelectorError
				require.ErrorAs(t, err, &se)
				assert.ErrorContains(t, se, tc.wantErr)
				_ = rep
				assert.Zero(t, pt.TotalEntities())
				return
			}
			require.NoError(t, err)
			var got []string
			for _, e := range pt.Entities("statuspageComponent") {
				got = append(got, fmt.Sprint(e.Identifier))
			}
			assert.ElementsMatch(t, tc.want, got)
		})
	}
}

func TestComponentsFollowThePage(t *testing.T) {
	t.Parallel()
	fake, pt, cfg, prov := statuspageSetup(t)
	_, err := resync(t, cfg, prov)
	require.NoError(t, err)

	fake.setStatus("hooks001", "operational")
	fake.remove("chat0001")
	rep, err := resync(t, cfg, prov)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Deleted)
	e, ok := pt.Entity("statuspageComponent", "hooks001")
	require.True(t, ok)
	assert.Equal(t, "operational", e.Properties["status"])
	_, ok = pt.Entity("statuspageComponent", "chat0001")
	assert.False(t, ok, "a component removed from the page is deleted from Port")
}

// TestRunOffline runs the program as `go run` does, with no environment.
func TestRunOffline(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{}, &out, quiet))
	s := out.String()
	assert.Contains(t, s, "my-gitlab-v2-integration: resync completed")
	assert.Contains(t, s, "my-statuspage-integration: resync completed")
	// kind, fetched, filtered, misconfigured, upserted, unchanged, failed, deleted
	assert.Regexp(t, `(?m)^\s+environment\s+[1-9]\d*\s+0\s+0\s+[1-9]\d*\s+0\s+0\s+0\s`, s)
	assert.Regexp(t, `(?m)^\s+component\s+6\s+0\s+0\s+6\s+0\s+0\s+0\s`, s)
	assert.Regexp(t, `gitlabEnvironment\s+[1-9]\d* entities`, s)
}

// newPort is a fake Port whose clock starts on a fixed day and moves a
// second per reading: Port dates its answers to the second, and a resync
// that follows another within the same second could not tell their
// entities apart.
func newPort(t *testing.T) *porttest.Server {
	t.Helper()
	clk := porttest.NewStepClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), time.Second)
	return porttest.NewServer(t, porttest.WithClock(clk.Now))
}
