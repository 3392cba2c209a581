package gitlab

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/internal/jsonproj"
	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// sparseMapping reads as little as it can from every kind whose items are
// projected (one key each, beside the enrichments), so that whatever this
// package's own code reads from those items must come from its declared
// reads: a read left out changes the catalog or the requests.
const sparseMapping = `
resources:
  - kind: project
    selector:
      includeLanguages: true
      includedFiles: [README.md]
      searchQueries:
        - {name: port, scope: blobs, query: "filename:port.yml"}
    port:
      entity:
        mappings:
          identifier: .web_url
          blueprint: '"thing"'
          properties:
            a: .__languages | tojson
            b: .__includedFiles["README.md"]
            c: .__searchQueries.port | tostring
  - kind: merge-request
    selector: {states: [opened, merged, closed], updatedAfter: 36500}
    port:
      entity:
        mappings: {identifier: .web_url, blueprint: '"thing"'}
  - kind: group
    port:
      entity:
        mappings: {identifier: .web_url, blueprint: '"thing"'}
  - kind: group-with-members
    port:
      entity:
        mappings:
          identifier: '"gwm-\(.web_url)"'
          blueprint: '"thing"'
          properties: {a: '[.__members[].username] | join(",")'}
  - kind: member
    port:
      entity:
        mappings: {identifier: '"member-\(.username)"', blueprint: '"thing"'}
  - kind: issue
    port:
      entity:
        mappings: {identifier: .web_url, blueprint: '"thing"'}
  - kind: pipeline
    port:
      entity:
        mappings: {identifier: .web_url, blueprint: '"thing"', properties: {a: .__project.path_with_namespace}}
  - kind: deployment
    port:
      entity:
        mappings: {identifier: '"deployment-\(.iid)@\(.__project.web_url)"', blueprint: '"thing"'}
  - kind: release
    port:
      entity:
        mappings: {identifier: '"release-\(.tag_name)@\(.__project.path_with_namespace)"', blueprint: '"thing"'}
  - kind: tag
    port:
      entity:
        mappings: {identifier: '"tag-\(.name)@\(.__project.path_with_namespace)"', blueprint: '"thing"'}
  - kind: branch
    port:
      entity:
        mappings: {identifier: '"branch-\(.name)@\(.__project.path_with_namespace)"', blueprint: '"thing"', properties: {a: .commit.id}}
`

// nestedMapping reads values inside values: keys of objects, elements of
// arrays, as paths and through pipes, so that what is decoded of a value
// must be what the mapping reads of it.
const nestedMapping = `
resources:
  - kind: project
    port:
      entity:
        mappings:
          identifier: .web_url
          blueprint: '"thing"'
          properties:
            a: .namespace.full_path
            b: '.namespace | "\(.kind)/\(.id)"'
            c: '[.tag_list[]?] | join(",")'
  - kind: merge-request
    selector: {states: [opened, merged, closed], updatedAfter: 36500}
    port:
      entity:
        mappings:
          identifier: .web_url
          blueprint: '"thing"'
          properties:
            a: .author.username
            b: '.reviewers | map(.username + "@" + (.id | tostring)) | join(",")'
            c: '[.assignees[]? | select(.state == "active") | .name] | tostring'
  - kind: issue
    port:
      entity:
        mappings:
          identifier: .web_url
          blueprint: '"thing"'
          properties:
            a: .references.full
            b: '.time_stats | if .time_estimate > 0 then "estimated" else "not estimated" end'
            c: .author | tojson
`

// wholeMapping reads every item whole: nothing is projected.
const wholeMapping = `
resources:
  - kind: project
    port:
      entity:
        mappings: {identifier: .web_url, blueprint: '"thing"', properties: {a: '. | keys | join(",")'}}
  - kind: merge-request
    selector: {states: [opened, merged, closed], updatedAfter: 36500}
    port:
      entity:
        mappings: {identifier: .web_url, blueprint: '"thing"', properties: {a: '. | length | tostring'}}
  - kind: group
    port:
      entity:
        mappings: {identifier: .web_url, blueprint: '"thing"', properties: {a: '. | keys | join(",")'}}
  - kind: member
    port:
      entity:
        mappings: {identifier: '"member-\(.username)"', blueprint: '"thing"', properties: {a: '. | length | tostring'}}
`

// syncResult is what a resync left in Port, and what it asked GitLab.
type syncResult struct {
	entities  map[string][]port.Entity // by blueprint, sorted
	routes    map[string]int64
	projected int64
	examples  map[string][]any
}

// syncWith runs one resync of a fresh fake GitLab (the same seeded data
// every time) into a fresh fake Port.
func syncWith(t *testing.T, pacYAML []byte, env ...string) syncResult {
	t.Helper()
	size := gitlabtest.SizeSmall
	size.Now = gitlabtest.ReferenceTime()
	// Enough projects that some visible ones are archived and pending
	// deletion (every 10th and 23rd).
	size.ProjectsPerGroup = 8
	gl := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(7, size)))
	pt := porttest.NewServer(t)
	require.NoError(t, pt.AddBlueprint(port.Blueprint{Identifier: "thing", Title: "Thing", Schema: port.BlueprintSchema{
		Properties: map[string]map[string]any{"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "string"}},
	}}))
	cfg, err := settings.Load(settings.LoadOptions{ProviderType: ProviderType, Environ: append([]string{
		"OCEAN__PORT__CLIENT_ID=" + pt.ClientID,
		"OCEAN__PORT__CLIENT_SECRET=" + pt.ClientSecret,
		"OCEAN__PORT__BASE_URL=" + pt.URL,
		"OCEAN__INTEGRATION__IDENTIFIER=fields",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_URL=" + gl.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + gl.Token,
	}, env...)})
	require.NoError(t, err)
	gcfg, err := LoadConfig(cfg)
	require.NoError(t, err)
	// GitLab's clock starts where the data does, so that windows such as
	// updatedAfter do not depend on today's date.
	start := time.Now()
	now := func() time.Time { return gitlabtest.ReferenceTime().Add(time.Since(start)) }
	g, err := New(gcfg, WithLogger(discard), WithClock(funcClock{now: now})) // real waits
	require.NoError(t, err)
	g.client.wholeJSON = cfg.Resync.DecodeAllFields // as NewApp does
	pac, err := mapping.Parse(pacYAML, mapping.AllowTopLevelKeys("visibility"))
	require.NoError(t, err)
	app, err := ocean.New(cfg, g.Provider(), ocean.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), ocean.WithPortAppConfig(pac))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, app.InitializePortResources(ctx))
	rep, err := app.Resync(ctx, ocean.ResyncOptions{Trigger: "test"})
	require.NoError(t, err)
	out := syncResult{entities: map[string][]port.Entity{}, routes: gl.RequestsByRoute(), projected: g.projectedPages.Load(), examples: map[string][]any{}}
	for _, bp := range pt.Blueprints() {
		es := pt.Entities(bp)
		sort.Slice(es, func(i, j int) bool { return es[i].ID() < es[j].ID() })
		for i := range es {
			// What the resync wrote, not when.
			es[i] = port.Entity{Identifier: es[i].Identifier, Blueprint: es[i].Blueprint, Title: es[i].Title,
				Icon: es[i].Icon, Team: es[i].Team, Properties: es[i].Properties, Relations: es[i].Relations}
		}
		if len(es) > 0 {
			out.entities[bp] = es
		}
	}
	for _, k := range rep.Kinds {
		require.True(t, k.Complete, "%s: %v", k.Kind, k.Err)
		out.examples[k.Kind] = pt.KindExamples("fields", k.Kind)
	}
	return out
}

// TestProjectionSyncsTheSameCatalog resyncs with projection on and off
// (OCEAN__RESYNC__DECODE_ALL_FIELDS) and compares what Port holds and
// what GitLab was asked: a key this package reads from an item without
// declaring it would be missing from projected items, and the catalog
// (a project's default branch, its id, a group's members) or the
// requests (a project's namespace decides group search, a group's parent
// the merge request listings) would differ. The shared listings (groups,
// members) are projected for every kind that reads them; with raw data
// examples on, the items of a kind that takes them are whole.
func TestProjectionSyncsTheSameCatalog(t *testing.T) {
	t.Parallel()
	defaults, err := fs.ReadFile(Defaults(), "port-app-config.yml")
	require.NoError(t, err)
	tests := []struct {
		name      string
		pac       []byte
		projected bool
	}{
		{"default mapping", defaults, true},
		{"a mapping that reads one key of each kind", []byte(sparseMapping), true},
		{"a mapping that reads inside values", []byte(nestedMapping), true},
		{"a mapping that reads whole items", []byte(wholeMapping), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var on, off, onExamples syncResult
			var wg sync.WaitGroup
			wg.Go(func() { on = syncWith(t, tc.pac, "OCEAN__SEND_RAW_DATA_EXAMPLES=false") })
			wg.Go(func() {
				off = syncWith(t, tc.pac, "OCEAN__SEND_RAW_DATA_EXAMPLES=false", "OCEAN__RESYNC__DECODE_ALL_FIELDS=true")
			})
			wg.Go(func() { onExamples = syncWith(t, tc.pac) })
			wg.Wait()
			if t.Failed() {
				return
			}
			require.NotEmpty(t, off.entities)
			assert.Zero(t, off.projected, "the kill switch decodes every item whole")
			if tc.projected {
				assert.Positive(t, on.projected, "pages were projected")
			} else {
				assert.Zero(t, on.projected)
			}
			for bp, want := range off.entities {
				assert.Equal(t, want, on.entities[bp], "blueprint %s, projection on", bp)
				assert.Equal(t, want, onExamples.entities[bp], "blueprint %s, projection on with raw data examples", bp)
			}
			assert.Equal(t, len(off.entities), len(on.entities))
			assert.Equal(t, off.routes, on.routes, "the same requests to GitLab")

			// Raw data examples are whole items, projection or not.
			for kind, ex := range onExamples.examples {
				assert.NotEmpty(t, ex, kind)
				for _, e := range ex {
					m, _ := e.(map[string]any)
					if kind == "merge-request" {
						assert.Contains(t, m, "time_stats", "a whole merge request")
					}
					if kind == "project" {
						assert.Contains(t, m, "_links", "a whole project")
					}
					if kind == "group" || kind == "group-with-members" {
						assert.Contains(t, m, "avatar_url", "a whole group")
					}
					if kind == "member" {
						assert.Contains(t, m, "created_by", "a whole member")
					}
				}
			}
		})
	}
}

// TestDecodeItemsProjected keeps the listed keys, last duplicate winning.
func TestDecodeItemsProjected(t *testing.T) {
	t.Parallel()
	got, err := decodeItems([]byte(`[{"id":1,"a":{"b":2},"c":3,"id":4},null]`), jsonproj.NewKeys("id", "a"))
	require.NoError(t, err)
	want := []ocean.Item{{"id": 4.0, "a": map[string]any{"b": 2.0}}, nil}
	assert.Equal(t, want, got)
	b, _ := json.Marshal(got)
	assert.JSONEq(t, `[{"id":4,"a":{"b":2}},null]`, string(b))
}
