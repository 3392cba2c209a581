package gitlab

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// Every token kind GitLab documents authenticates with the header the
// client picks for it, against a gitlabtest that accepts a token only
// where GitLab does.
func TestTokenHeaderPerTokenKind(t *testing.T) {
	t.Parallel()
	hex64 := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name      string
		kind      gitlabtest.TokenKind
		token     string
		tokenType string
		header    string
	}{
		{"personal access token", gitlabtest.TokenPersonal, "glpat-AbCdEfGhIjKlMnOpQrSt", "", headerPrivateToken},
		{"personal access token of before the prefix", gitlabtest.TokenPersonal, "AbCdEfGhIjKlMnOpQrSt", "", headerPrivateToken},
		{"personal access token with an instance's custom prefix", gitlabtest.TokenPersonal, "acme-glpat-AbCdEfGhIjKlMnOpQrSt", "", headerBearer},
		{"group access token", gitlabtest.TokenGroup, "glpat-GrOuPtOkEn0123456789", "", headerPrivateToken},
		{"project access token", gitlabtest.TokenProject, "glpat-PrOjEcTtOkEn0123456", "", headerPrivateToken},
		{"service-account token", gitlabtest.TokenServiceAccount, "glpat-SeRvIcEaCcOuNt01234", "", headerPrivateToken},
		{"OAuth access token", gitlabtest.TokenOAuth, hex64, "", headerBearer},
		{"OAuth access token, type forced", gitlabtest.TokenOAuth, hex64, TokenTypeOAuth, headerBearer},
		{"CI/CD job token", gitlabtest.TokenJob, "glcbt-64_AbCdEfGhIjKlMnOpQrSt", "", headerJobToken},
		{"CI/CD job token of before the prefix, type given", gitlabtest.TokenJob, "AbCdEfGhIjKlMnOpQrSt", TokenTypeJob, headerJobToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.header, authHeader(cmpOr(tc.tokenType, TokenTypeAuto), tc.token))
			gl := gitlabtest.NewServer(t, gitlabtest.WithToken(tc.token), gitlabtest.WithTokenKind(tc.kind))
			c, err := NewClient(Config{Host: gl.URL, Token: settings.Secret(tc.token), TokenType: tc.tokenType, MaxRetries: 1}, WithLogger(whQuiet))
			require.NoError(t, err)
			var projects []map[string]any
			require.NoError(t, c.Get(t.Context(), "projects", nil, &projects), "the chosen header authenticates")
			assert.NotEmpty(t, projects)
		})
	}
}

// gitlabtest refuses a token in a header GitLab would not take it from.
func TestGitLabTestRefusesTokensInTheWrongHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind   gitlabtest.TokenKind
		header string
		want   int
	}{
		{gitlabtest.TokenPersonal, "PRIVATE-TOKEN", http.StatusOK},
		{gitlabtest.TokenPersonal, "Authorization", http.StatusOK},
		{gitlabtest.TokenPersonal, "JOB-TOKEN", http.StatusUnauthorized},
		{gitlabtest.TokenOAuth, "PRIVATE-TOKEN", http.StatusUnauthorized},
		{gitlabtest.TokenOAuth, "Authorization", http.StatusOK},
		{gitlabtest.TokenJob, "PRIVATE-TOKEN", http.StatusUnauthorized},
		{gitlabtest.TokenJob, "JOB-TOKEN", http.StatusOK},
		{gitlabtest.TokenJob, "Authorization", http.StatusOK},
	}
	for _, tc := range tests {
		gl := gitlabtest.NewServer(t, gitlabtest.WithTokenKind(tc.kind))
		req, _ := http.NewRequest(http.MethodGet, gl.APIURL()+"/projects", nil)
		v := gl.Token
		if tc.header == "Authorization" {
			v = "Bearer " + v
		}
		req.Header.Set(tc.header, v)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, tc.want, resp.StatusCode, "%s in %s", tc.kind, tc.header)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// accessMapping covers the listings, enrichments and searches a
// self-managed GitLab must answer.
const accessMapping = `
resources:
  - kind: project
    selector:
      query: "true"
      includeLanguages: true
      includedFiles: [README.md]
      searchQueries:
        - name: hasReadme
          scope: blobs
          query: filename:README.md
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          title: .name
          blueprint: '"acProject"'
          properties:
            readme: .__includedFiles["README.md"]
            languages: .__languages
            hasReadme: .__searchQueries.hasReadme
            archived: .archived
  - kind: group
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .full_path
          blueprint: '"acGroup"'
          properties:
            name: .name
  - kind: merge-request
    selector:
      query: "true"
      states: [opened, merged]
      updatedAfter: 100000
    port:
      entity:
        mappings:
          identifier: .id | tostring
          blueprint: '"acMR"'
          properties:
            title: .title
`

var accessBlueprints = map[string]map[string]string{
	"acProject": {"readme": "string", "languages": "object", "hasReadme": "boolean", "archived": "boolean"},
	"acGroup":   {"name": "string"},
	"acMR":      {"title": "string"},
}

// onceRun runs gitlab-sync's ONCE resync of accessMapping against gl, with
// extra environment, and returns Port, the run's error and its logs.
func onceRun(t *testing.T, gl *gitlabtest.Server, env ...string) (*porttest.Server, error, string) {
	t.Helper()
	pt := porttest.NewServer(t)
	for id, props := range accessBlueprints {
		schema := map[string]map[string]any{}
		for name, typ := range props {
			schema[name] = map[string]any{"type": typ}
		}
		require.NoError(t, pt.AddBlueprint(port.Blueprint{Identifier: id, Title: id, Schema: port.BlueprintSchema{Properties: schema}}))
	}
	var m any
	require.NoError(t, yaml.Unmarshal([]byte(accessMapping), &m))
	raw, err := json.Marshal(m)
	require.NoError(t, err)
	pt.AddIntegration(port.Integration{Identifier: "ac", InstallationAppType: ProviderType, Config: raw})
	cfg, err := settings.Load(settings.LoadOptions{ProviderType: ProviderType, Environ: append([]string{
		"OCEAN__PORT__CLIENT_ID=" + pt.ClientID,
		"OCEAN__PORT__CLIENT_SECRET=" + pt.ClientSecret,
		"OCEAN__PORT__BASE_URL=" + pt.URL,
		"OCEAN__EVENT_LISTENER__TYPE=ONCE",
		"OCEAN__INITIALIZE_PORT_RESOURCES=false",
		"OCEAN__INTEGRATION__IDENTIFIER=ac",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST=" + gl.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + gl.Token,
		"OCEAN__INTEGRATION__CONFIG__MAX_RETRIES=1",
	}, env...)})
	require.NoError(t, err)
	cfg.SSL.ExtraCADir = t.TempDir()
	var logs syncBuffer
	app, _, err := NewApp(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = app.Run(ctx)
	return pt, err, logs.String()
}

// catalog is what Port holds, by blueprint and identifier.
func catalog(pt *porttest.Server) map[string]map[string]map[string]any {
	out := map[string]map[string]map[string]any{}
	for bp := range accessBlueprints {
		out[bp] = map[string]map[string]any{}
		for _, e := range pt.Entities(bp) {
			out[bp][fmt.Sprint(e.Identifier)] = e.Properties
		}
	}
	return out
}

// A self-managed GitLab as many run it: under a path prefix, behind a
// private CA, and old (13.12: no keyset pagination, no GraphQL
// Project.languages or blob rawTextBlob, no include_archived, no Advanced
// Search). The resync writes the same catalog as against GitLab.com's
// shape.
func TestSelfManagedGitLabSyncsTheSameCatalog(t *testing.T) {
	t.Parallel()
	modern := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(3, gitlabtest.SizeSmall)))
	old := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(3, gitlabtest.SizeSmall)),
		gitlabtest.WithTLS(), gitlabtest.WithPathPrefix("/gitlab"), gitlabtest.WithVersion("13.12.15"),
		gitlabtest.WithoutKeysetPagination(), gitlabtest.WithoutGraphQLFields("Project.languages", "RepositoryBlob.rawTextBlob"),
		gitlabtest.WithAdvancedSearch(false))
	require.True(t, strings.HasSuffix(old.URL, "/gitlab"))
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: old.Certificate().Raw}), 0o600))

	ptModern, err, logs := onceRun(t, modern)
	require.NoError(t, err, logs)
	ptOld, err, logs := onceRun(t, old, "OCEAN__SSL__THIRD_PARTY__CA_BUNDLE="+bundle)
	require.NoError(t, err, logs)

	want, got := catalog(ptModern), catalog(ptOld)
	for bp := range accessBlueprints {
		require.NotEmpty(t, want[bp], bp)
		assert.Equal(t, want[bp], got[bp], bp)
	}
	archived := 0
	for _, p := range got["acProject"] {
		if p["archived"] == true {
			archived++
			assert.NotNil(t, p["hasReadme"], "archived projects are searched too (one by one before include_archived)")
		}
	}
	assert.Positive(t, archived, "the dataset has archived projects")
	assert.Equal(t, 1, strings.Count(logs, "GraphQL API has no"), "one warning for the missing GraphQL field: %s", logs)
}

// A token that may not list groups (403 on GET /groups) still syncs its
// projects; the group kinds fail, keeping their entities, and say why.
func TestForbiddenGroupListingStillSyncsProjects(t *testing.T) {
	t.Parallel()
	gl := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(3, gitlabtest.SizeSmall)))
	gl.InjectFault(gitlabtest.Fault{Status: http.StatusForbidden, Method: http.MethodGet, PathPrefix: "/groups"})
	pt, err, logs := onceRun(t, gl)
	require.Error(t, err, "the resync is not complete")
	assert.Positive(t, pt.EntityCount("acProject"), "projects are synced")
	assert.Zero(t, pt.EntityCount("acGroup"))
	assert.Contains(t, logs, "may not list groups")

	// Webhooks: the personal projects still get theirs.
	g := newHookIntegration(t, gl)
	rep, err := g.RegisterWebhooks(context.Background(), whDefaultHost)
	require.NoError(t, err)
	assert.Positive(t, rep.Created)
	for _, grp := range gl.Dataset().Groups() {
		assert.Empty(t, gl.Dataset().GroupHooks(grp.ID))
	}

	var lf *ListForbiddenError
	err = g.eachGroupPage(context.Background(), nil, func([]ocean.Item) error { return nil })
	require.True(t, errors.As(err, &lf))
	assert.Equal(t, "groups", lf.List)
}
