package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"

	"github.com/oceankit/oceankit/internal/logtest"
)

func TestParseSearchValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in           string
		scope, query string
		ok           bool
	}{
		{"scope=blobs && query=filename:rv-marker.yml", "blobs", "filename:rv-marker.yml", true},
		{"  scope=blobs&&query=a && b ", "blobs", "a && b", true},
		{"scope=commits && query= fix ", "commits", "fix", true},
		{"query=x && scope=blobs", "", "", false},
		{"scope=blobs query=x", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		scope, query, err := parseSearchValue(tc.in)
		if !tc.ok {
			assert.ErrorIs(t, err, ErrValueForm, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.scope, scope, tc.in)
		assert.Equal(t, tc.query, query, tc.in)
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer = logtest.Buffer

// resolverMapping uses gitlab-v2's deprecated value forms on projects
// and on files (whose item carries the project under .repo).
const resolverMapping = `
resources:
  - kind: project
    selector:
      query: .path_with_namespace == "amber-falcon/zesty-river"
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          title: .name
          blueprint: '"rvProject"'
          properties:
            readme: file://README.md
            missing: file://no/such/file.md
            hasPortYml: search://scope=blobs && query=filename:rv-marker.yml
            hasNothing: search://scope=blobs && query=filename:nothing-by-this-name.txt
`

var resolverBlueprints = map[string]map[string]string{
	"rvProject": {"readme": "string", "missing": "string", "hasPortYml": "boolean", "hasNothing": "boolean"},
}

func seedResolverFiles(t *testing.T, ds *gitlabtest.Dataset, readme string) {
	t.Helper()
	p, ok := ds.Project(whProject)
	require.True(t, ok)
	require.NoError(t, ds.PutFile(p.ID, *p.DefaultBranch, "README.md", []byte(readme)))
	require.NoError(t, ds.PutFile(p.ID, *p.DefaultBranch, "deploy/rv-marker.yml", []byte("kind: service\n")))
}

// A resync with gitlab-v2's file:// and search:// values: they are
// computed as gitlab-v2 computes them, and each is warned about once.
func TestDeprecatedValuesInAResync(t *testing.T) {
	t.Parallel()
	gl := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall)))
	seedResolverFiles(t, gl.Dataset(), "# Zesty river\n")
	pt := porttest.NewServer(t)
	for id, props := range resolverBlueprints {
		schema := map[string]map[string]any{}
		for name, typ := range props {
			schema[name] = map[string]any{"type": typ}
		}
		require.NoError(t, pt.AddBlueprint(port.Blueprint{Identifier: id, Title: id, Schema: port.BlueprintSchema{Properties: schema}}))
	}
	var m any
	require.NoError(t, yaml.Unmarshal([]byte(resolverMapping), &m))
	raw, err := json.Marshal(m)
	require.NoError(t, err)
	pt.AddIntegration(port.Integration{Identifier: "rv", InstallationAppType: ProviderType, Config: raw})

	cfg, err := settings.Load(settings.LoadOptions{ProviderType: ProviderType, Environ: []string{
		"OCEAN__PORT__CLIENT_ID=" + pt.ClientID,
		"OCEAN__PORT__CLIENT_SECRET=" + pt.ClientSecret,
		"OCEAN__PORT__BASE_URL=" + pt.URL,
		"OCEAN__EVENT_LISTENER__TYPE=ONCE",
		"OCEAN__INITIALIZE_PORT_RESOURCES=false",
		"OCEAN__INTEGRATION__IDENTIFIER=rv",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST=" + gl.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + gl.Token,
	}})
	require.NoError(t, err)
	var logs syncBuffer
	app, _, err := NewApp(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, app.Run(ctx), logs.String())

	e, ok := pt.Entity("rvProject", whProject)
	require.True(t, ok, logs.String())
	assert.Equal(t, "# Zesty river\n", e.Properties["readme"], "file:// is the file's text at the default branch")
	assert.Nil(t, e.Properties["missing"], "a file that does not exist is null")
	assert.Equal(t, true, e.Properties["hasPortYml"], "search:// is whether the project search finds anything")
	assert.Equal(t, false, e.Properties["hasNothing"])
	out := logs.String()
	assert.Equal(t, 1, strings.Count(out, "file://README.md"), "warned once per value: %s", out)
	assert.Contains(t, out, "includedFiles")
	assert.Contains(t, out, "searchQueries")
}

// A live event maps with the same values, read again at the event.
func TestDeprecatedValuesInALiveEvent(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	e := newWHEnv(t, whOpts{mapping: resolverMapping, blueprints: resolverBlueprints, logger: slog.New(slog.NewTextHandler(&logs, nil))})
	seedResolverFiles(t, e.ds, "# first\n")
	e.send(t, "project")
	e.settle(t)
	p := e.entity("rvProject", whProject)
	require.NotNil(t, p, logs.String())
	assert.Equal(t, "# first\n", p["readme"])
	assert.Equal(t, true, p["hasPortYml"])
	assert.Equal(t, false, p["hasNothing"])

	// The README changes and the port.yml goes: a push to the default
	// branch refetches the project, and both values follow.
	proj, _ := e.ds.Project(whProject)
	require.NoError(t, e.ds.PutFile(proj.ID, *proj.DefaultBranch, "README.md", []byte("# second\n")))
	require.NoError(t, e.ds.DeleteFile(proj.ID, *proj.DefaultBranch, "deploy/rv-marker.yml"))
	e.send(t, "push", whSet("refs/heads/"+*proj.DefaultBranch, "ref"))
	e.settle(t)
	p = e.entity("rvProject", whProject)
	assert.Equal(t, "# second\n", p["readme"])
	assert.Equal(t, false, p["hasPortYml"])
	assert.Equal(t, 1, strings.Count(logs.String(), "search://scope=blobs && query=filename:rv-marker.yml"), "warned once")
}

func TestResolveFileEdgeCases(t *testing.T) {
	t.Parallel()
	gl := gitlabtest.NewServer(t)
	seedResolverFiles(t, gl.Dataset(), strings.Repeat("x", 2048))
	g := newHookIntegration(t, gl, func(c *Config) { c.MaxFileSize = 1024 })
	ctx := context.Background()
	proj, _ := gl.Dataset().Project(whProject)
	fileItem := map[string]any{"file": map[string]any{"path": "a.yml"}, "repo": map[string]any{"path_with_namespace": whProject, "default_branch": *proj.DefaultBranch}}

	v, err := g.resolveFile(ctx, fileItem, "file://deploy/rv-marker.yml")
	require.NoError(t, err)
	assert.Equal(t, "kind: service\n", v, "a file item's project is .repo")

	_, err = g.resolveFile(ctx, fileItem, "file://README.md")
	var tooLarge *FileTooLargeError
	require.ErrorAs(t, err, &tooLarge)
	assert.Contains(t, err.Error(), envMaxFileSize, "the error names the setting that lifts the cap")

	_, err = g.resolveFile(ctx, map[string]any{"name": "x"}, "file://README.md")
	assert.ErrorIs(t, err, ErrValueForm)
	_, err = g.resolveSearch(ctx, map[string]any{"path_with_namespace": whProject}, "search://query=x")
	assert.ErrorIs(t, err, ErrValueForm)
	_, err = g.resolveSearch(ctx, map[string]any{"repo": map[string]any{}}, "search://scope=blobs && query=x")
	assert.True(t, errors.Is(err, ErrValueForm))
}
