package gitlab_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// catalogAsCode is the "catalog as code" mapping users write for
// gitlab-v2: every document of every port.yml becomes an entity through
// itemsToParse, and package.json dependencies become package entities.
const catalogAsCode = `
deleteDependentEntities: true
createMissingRelatedEntities: true
resources:
  - kind: file
    selector:
      query: 'true'
      files:
        path: port.yml
        searchStrategy: repositoryTree
    port:
      itemsToParse: .file.content
      entity:
        mappings:
          identifier: .item.identifier
          title: .item.title
          blueprint: '"catalogService"'
          properties:
            tier: .item.properties.tier
            readme: .item.properties.readme
            repo: .repo.path_with_namespace
            path: .file.path
  - kind: file
    selector:
      query: 'true'
      files:
        path: package.json
    port:
      itemsToParse: .file.content.dependencies | to_entries
      entity:
        mappings:
          identifier: (.repo.path | tostring) + "-" + (.item.key | gsub("[^A-Za-z0-9_-]"; "_"))
          title: .item.key
          blueprint: '"package"'
          properties:
            version: .item.value
            manifest: .file.path
`

func TestFileKindCatalogAsCodeEndToEnd(t *testing.T) {
	t.Parallel()
	gl := gitlabtest.NewServer(t)
	// One project's port.yml breaks: it must be reported, not abort the rest.
	var broken gitlabtest.Project
	for _, p := range gl.Dataset().Projects() {
		if p.ID%3 == 1 && p.DefaultBranch != nil && strings.HasPrefix(p.PathWithNamespace, "amber-falcon/") {
			broken = p
			break
		}
	}
	require.NotZero(t, broken.ID)
	require.NoError(t, gl.Dataset().PutFile(broken.ID, *broken.DefaultBranch, "port.yml", []byte("identifier: [unclosed\n  x: 1\n")))

	pt := porttest.NewServer(t)
	str := func() map[string]any { return map[string]any{"type": "string"} }
	require.NoError(t, pt.AddBlueprint(port.Blueprint{Identifier: "catalogService", Title: "Catalog service", Schema: port.BlueprintSchema{Properties: map[string]map[string]any{
		"tier": str(), "readme": str(), "repo": str(), "path": str(),
	}}}))
	require.NoError(t, pt.AddBlueprint(port.Blueprint{Identifier: "package", Title: "Package", Schema: port.BlueprintSchema{Properties: map[string]map[string]any{
		"version": str(), "manifest": str(),
	}}}))
	pt.AddIntegration(port.Integration{Identifier: "my-gitlab", InstallationAppType: gitlab.ProviderType})

	cfg, err := settings.Load(settings.LoadOptions{ProviderType: gitlab.ProviderType, Environ: []string{
		"OCEAN__PORT__CLIENT_ID=" + pt.ClientID,
		"OCEAN__PORT__CLIENT_SECRET=" + pt.ClientSecret,
		"OCEAN__PORT__BASE_URL=" + pt.URL,
		"OCEAN__EVENT_LISTENER__TYPE=ONCE",
		"OCEAN__INITIALIZE_PORT_RESOURCES=false",
		"OCEAN__INTEGRATION__IDENTIFIER=my-gitlab",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_URL=" + gl.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + gl.Token,
	}})
	require.NoError(t, err)
	gcfg, err := gitlab.LoadConfig(cfg)
	require.NoError(t, err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	g, err := gitlab.New(gcfg, gitlab.WithLogger(quiet))
	require.NoError(t, err)
	pac, err := mapping.Parse([]byte(catalogAsCode))
	require.NoError(t, err)
	app, err := ocean.New(cfg, g.Provider(), ocean.WithLogger(quiet), ocean.WithPortAppConfig(pac))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := app.Resync(ctx, ocean.ResyncOptions{Trigger: "test"})
	require.Len(t, rep.Kinds, 2)
	// The broken port.yml keeps its text, so `.file.content` items fail to
	// map: the item is reported misconfigured, the other files are synced,
	// and the kind's entities are protected from deletion; the resync
	// itself completes.
	require.NoError(t, err)
	k := rep.Kinds[0]
	require.NoError(t, k.Err)
	assert.False(t, k.Complete)
	assert.Contains(t, k.DeletionBlocked, "could not be mapped to an identifier")
	assert.EqualValues(t, 1, k.Misconfigured, "the unparsable port.yml")
	assert.Positive(t, k.Upserted)
	require.NoError(t, rep.Kinds[1].Err)

	// Every document of every port.yml is an entity.
	visible := map[string]bool{}
	for _, p := range listAll(t, gl, "projects?min_access_level=30") {
		if p["marked_for_deletion_at"] == nil {
			visible[p["path_with_namespace"].(string)] = true
		}
	}
	wantDocs := 0
	for _, p := range gl.Dataset().Projects() {
		if !visible[p.PathWithNamespace] || p.ID == broken.ID {
			continue
		}
		switch p.ID % 3 {
		case 0:
			wantDocs += 2
			e, ok := pt.Entity("catalogService", p.Path+"-worker")
			if assert.True(t, ok, "second document of %s", p.PathWithNamespace) {
				assert.Equal(t, "port.yml", e.Properties["path"])
				assert.Equal(t, p.PathWithNamespace, e.Properties["repo"])
			}
			e, ok = pt.Entity("catalogService", p.Path)
			require.True(t, ok)
			if p.ID%6 == 0 {
				assert.Contains(t, e.Properties["readme"], "# "+p.Name, "file://README.md resolved in the same repository")
			}
		case 1:
			wantDocs++
		}
	}
	services := 0
	for _, e := range pt.Entities("catalogService") {
		if e.Properties["path"] == "port.yml" {
			services++
		}
	}
	assert.Equal(t, wantDocs, services, "one entity per document of the root port.yml files")
	assert.Greater(t, pt.EntityCount("catalogService"), services, "services/*/port.yml files match a pathless pattern too")

	// itemsToParse over a parsed JSON file.
	pkgs := pt.Entities("package")
	require.NotEmpty(t, pkgs)
	deps := map[string]bool{}
	for _, e := range pkgs {
		assert.Equal(t, "package.json", e.Properties["manifest"])
		deps[e.Title] = true
	}
	assert.Equal(t, map[string]bool{"express": true, "zod": true}, deps)
	assert.Equal(t, int64(len(pkgs)), rep.Kinds[1].Upserted)
}
