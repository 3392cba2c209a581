package gitlab

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
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

// ctMapping maps the content kinds: port.yml documents as services
// (itemsToParse, identifiers read from the content), docs pages keyed by
// path, the services/* folders, skills keyed by their front-matter name
// and plugins keyed by project.
const ctMapping = `
resources:
  - kind: file
    selector:
      query: "true"
      includedFiles: [README.md]
      files:
        path: port.yml
        searchStrategy: repositoryTree
        repos: [amber-falcon/zesty-river]
    port:
      itemsToParse: '[.file.content] | flatten(1)'
      entity:
        mappings:
          identifier: .item.identifier
          title: .item.title
          blueprint: '"ctService"'
          properties:
            tier: .item.properties.tier
            path: .file.path
            ref: .file.ref
            blob: .file.blob_id
            repo: .repo.path_with_namespace
            hasReadme: .__includedFiles["README.md"] != null
  - kind: file
    selector:
      query: "true"
      files:
        path: docs/**/*.md
        searchStrategy: repositoryTree
    port:
      entity:
        mappings:
          identifier: .repo.path_with_namespace + ":" + .file.path
          blueprint: '"ctDoc"'
          properties:
            sha: .file.content_sha256
            size: .file.size
            ref: .file.ref
            repo: .repo.path_with_namespace
  - kind: folder
    selector:
      query: "true"
      folders:
        - path: services
          repos: [{name: amber-falcon/zesty-river}]
    port:
      entity:
        mappings:
          identifier: .repo.path_with_namespace + ":" + .folder.path
          blueprint: '"ctFolder"'
          properties:
            tree: .folder.id
            branch: .__branch
            repo: .repo.path_with_namespace
  - kind: skill
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .repo.path_with_namespace + ":" + .skill.name
          blueprint: '"ctSkill"'
          properties:
            description: .skill.description
            path: .skill.skillMdPath
            root: .skill.root
            repo: .repo.path_with_namespace
  - kind: plugin
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .repo.path_with_namespace
          blueprint: '"ctPlugin"'
          properties:
            name: .plugin.name
            version: .plugin.version
            repo: .repo.path_with_namespace
`

var ctBlueprints = map[string]map[string]string{
	"ctService": {"tier": "string", "path": "string", "ref": "string", "blob": "string", "repo": "string", "hasReadme": "boolean"},
	"ctDoc":     {"sha": "string", "size": "number", "ref": "string", "repo": "string"},
	"ctFolder":  {"tree": "string", "branch": "string", "repo": "string"},
	"ctSkill":   {"description": "string", "path": "string", "root": "string", "repo": "string"},
	"ctPlugin":  {"name": "string", "version": "string", "repo": "string"},
}

// newContentEnv is newWHEnv with the content mapping.
func newContentEnv(t *testing.T) *whEnv {
	t.Helper()
	gl := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall)))
	pt := porttest.NewServer(t)
	for id, props := range ctBlueprints {
		schema := map[string]map[string]any{}
		for name, typ := range props {
			schema[name] = map[string]any{"type": typ}
		}
		require.NoError(t, pt.AddBlueprint(port.Blueprint{Identifier: id, Title: id, Schema: port.BlueprintSchema{Properties: schema}}))
	}
	var mapping any
	require.NoError(t, yaml.Unmarshal([]byte(ctMapping), &mapping))
	raw, err := json.Marshal(mapping)
	require.NoError(t, err)
	pt.AddIntegration(port.Integration{Identifier: whIntegration, InstallationAppType: ProviderType, Config: raw})

	cfg := settings.Default(ProviderType)
	cfg.Port.ClientID = settings.Secret(pt.ClientID)
	cfg.Port.ClientSecret = settings.Secret(pt.ClientSecret)
	cfg.Port.BaseURL = pt.URL
	cfg.Integration.Identifier = whIntegration
	cfg.EventListener.Type = settings.ListenerWebhooksOnly
	cfg.InitializePortResources = false
	cfg.Application.Port = 0
	cfg.EventWorkersCount = 2
	g, err := New(Config{Host: gl.URL, Token: settings.Secret(gl.Token), WebhookSecret: whSecret, UseGraphQL: true,
		MaxConcurrency: 8, MaxRetries: 2, IntegrationIdentifier: whIntegration}, WithLogger(whQuiet))
	require.NoError(t, err)
	prov := g.Provider()
	app, err := ocean.New(cfg, prov, ocean.WithLogger(whQuiet), ocean.WithClock(retryClock()))
	require.NoError(t, err)
	e := &whEnv{gl: gl, ds: gl.Dataset(), pt: pt, g: g, app: app, procs: prov.Processors}
	e.stop = whRun(t, app)
	e.url = whWaitHealthy(t, app)
	return e
}

// head is a branch's head commit in the fake GitLab.
func (e *whEnv) head(t *testing.T, branch string) string {
	t.Helper()
	var b ocean.Item
	require.NoError(t, e.g.client.Get(context.Background(), "projects/1/repository/branches/"+branch, nil, &b))
	id := strField(b, "commit", "id")
	require.NotEmpty(t, id)
	return id
}

// keepHead makes the branch's current head readable after the branch
// moves on (the fake resolves a commit only while a branch points at it),
// and returns it: the `before` of the next push.
func (e *whEnv) keepHead(t *testing.T, branch, name string) string {
	t.Helper()
	h := e.head(t, branch)
	require.NoError(t, e.ds.CreateBranch(whProjectID, name, branch))
	return h
}

// changes lists the paths of one push's commits.
type changes struct{ added, modified, removed []string }

// push delivers a push of project 1 with the given commits and waits for
// it to be applied.
func (e *whEnv) push(t *testing.T, branch, before, after string, c changes) {
	t.Helper()
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	ev := whFixture(t, "push", whSet("refs/heads/"+branch, "ref"), whSet(before, "before"), whSet(after, "after"))
	ev["commits"] = []any{map[string]any{"id": after, "added": orEmpty(c.added), "modified": orEmpty(c.modified), "removed": orEmpty(c.removed)}}
	e.send(t, "push", func(m map[string]any) {
		for k, v := range ev {
			m[k] = v
		}
	})
	e.settle(t)
}

// catalog is the entities of the content blueprints of project 1, without
// Port's bookkeeping fields.
func (e *whEnv) catalog() map[string]port.Entity {
	out := map[string]port.Entity{}
	for bp := range ctBlueprints {
		for _, ent := range e.pt.Entities(bp) {
			if ent.Properties["repo"] != whProject {
				continue
			}
			out[bp+"/"+ent.ID()] = port.Entity{Identifier: ent.Identifier, Blueprint: ent.Blueprint, Title: ent.Title, Properties: ent.Properties, Relations: ent.Relations}
		}
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// A push naming the content files yields exactly the entities the resync
// writes for them: the same fetch, parsing, included files and shape.
func TestWebhookContentMatchesResync(t *testing.T) {
	t.Parallel()
	synced, live := newContentEnv(t), newContentEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := synced.app.Resync(ctx, ocean.ResyncOptions{Trigger: "test"})
	require.NoError(t, err)
	want := synced.catalog()
	var folders []string
	for k, ent := range want {
		if ent.Blueprint == "ctFolder" {
			folders = append(folders, k)
		}
	}
	require.NotEmpty(t, folders)
	require.Contains(t, want, "ctService/zesty-river")
	require.Contains(t, want, "ctSkill/"+whProject+":release-notes")
	require.Contains(t, want, "ctDoc/"+whProject+":docs/guides/setup.md")

	// Every file under services/ is touched, so each folder is re-listed.
	var touched []string
	var tree []ocean.Item
	require.NoError(t, live.g.client.Get(ctx, "projects/1/repository/tree", map[string][]string{"recursive": {"true"}, "path": {"services"}, "per_page": {"100"}}, &tree))
	for _, it := range tree {
		if str(it["type"]) == "blob" {
			touched = append(touched, str(it["path"]))
		}
	}
	head := live.head(t, "main")
	live.push(t, "main", head, head, changes{modified: append(touched,
		"port.yml", "docs/index.md", "docs/guides/setup.md", "skills/release-notes/SKILL.md", "README.md")})
	got := live.catalog()
	assert.Equal(t, keys(want), keys(got))
	assert.Equal(t, want, got)
	require.NoError(t, live.stop())
	require.NoError(t, synced.stop())
}

func TestWebhookContentFiles(t *testing.T) {
	t.Parallel()
	e := newContentEnv(t)

	// A modified port.yml (re)writes its entities.
	before := e.keepHead(t, "main", "k1")
	require.NoError(t, e.ds.PutFile(whProjectID, "main", "port.yml", []byte("identifier: zesty-river\ntitle: Zesty River\nproperties:\n  tier: Mission Critical\n")))
	e.push(t, "main", before, e.head(t, "main"), changes{modified: []string{"port.yml"}})
	s := e.entity("ctService", "zesty-river")
	require.NotNil(t, s, "a modified port.yml writes its entity")
	assert.Equal(t, "Mission Critical", s["tier"])
	assert.Equal(t, "main", s["ref"])
	assert.Equal(t, true, s["hasReadme"], "included files are read as the selector asks")

	require.NoError(t, e.ds.PutFile(whProjectID, "main", "port.yml", []byte("identifier: zesty-river\ntitle: Zesty River\nproperties:\n  tier: Other\n")))
	e.push(t, "main", before, e.head(t, "main"), changes{modified: []string{"port.yml"}})
	assert.Equal(t, "Other", e.entity("ctService", "zesty-river")["tier"], "a second change updates it")

	// An added file creates its entities, and its new folder.
	require.NoError(t, e.ds.PutFile(whProjectID, "main", "services/ledger/port.yml", []byte("- identifier: ledger\n  properties: {tier: Internal Service}\n- identifier: ledger-worker\n")))
	e.push(t, "main", before, e.head(t, "main"), changes{added: []string{"services/ledger/port.yml"}})
	require.NotNil(t, e.entity("ctService", "ledger"), "an added file creates its entities")
	require.NotNil(t, e.entity("ctService", "ledger-worker"))
	assert.Equal(t, "services/ledger/port.yml", e.entity("ctService", "ledger")["path"])
	require.NotNil(t, e.entity("ctFolder", whProject+":services/ledger"), "a file in a new folder creates the folder")

	// A push to a branch the selectors do not read changes nothing, even
	// for paths that match.
	cat := e.catalog()
	require.NoError(t, e.ds.PutFile(whProjectID, "develop", "port.yml", []byte("identifier: zesty-river\nproperties:\n  tier: Customer Facing\n")))
	require.NoError(t, e.ds.PutFile(whProjectID, "develop", "services/dev-only/port.yml", []byte("identifier: dev-only\n")))
	e.push(t, "develop", before, e.head(t, "develop"), changes{modified: []string{"port.yml"}, added: []string{"services/dev-only/port.yml", "docs/dev.md"}})
	// Deleting a branch deletes nothing either (gitlab-v2 ignores it).
	e.push(t, "develop", e.head(t, "develop"), whZeroSHA, changes{removed: []string{"port.yml", "docs/index.md"}})
	assert.Equal(t, cat, e.catalog(), "pushes to other branches and branch deletions change nothing")

	// A removed file deletes the entities it held: port.yml is read at
	// `before` for the identifiers in its content.
	before = e.keepHead(t, "main", "k2")
	require.NoError(t, e.ds.DeleteFile(whProjectID, "main", "services/ledger/port.yml"))
	e.push(t, "main", before, e.head(t, "main"), changes{removed: []string{"services/ledger/port.yml"}})
	assert.Nil(t, e.entity("ctService", "ledger"), "a removed file deletes its entities")
	assert.Nil(t, e.entity("ctService", "ledger-worker"))
	assert.Nil(t, e.entity("ctFolder", whProject+":services/ledger"), "the folder it emptied is deleted")
	assert.NotNil(t, e.entity("ctService", "zesty-river"), "other files' entities stay")

	// With `before` unreadable (a force push), an entity keyed by the
	// path is still deleted, from the push alone.
	e.push(t, "main", e.head(t, "main"), e.head(t, "main"), changes{modified: []string{"docs/index.md"}})
	require.NotNil(t, e.entity("ctDoc", whProject+":docs/index.md"))
	require.NoError(t, e.ds.DeleteFile(whProjectID, "main", "docs/index.md"))
	e.push(t, "main", "1111111111111111111111111111111111111111", e.head(t, "main"), changes{removed: []string{"docs/index.md"}})
	assert.Nil(t, e.entity("ctDoc", whProject+":docs/index.md"))

	// A removed-then-restored path is read as it is now: it stays.
	require.NoError(t, e.ds.PutFile(whProjectID, "main", "docs/index.md", []byte("# back\n")))
	e.push(t, "main", e.head(t, "main"), e.head(t, "main"), changes{added: []string{"docs/index.md"}, removed: []string{"docs/index.md"}})
	assert.NotNil(t, e.entity("ctDoc", whProject+":docs/index.md"))

	// Wrong or missing secret: refused before anything is read.
	ev := whFixture(t, "push", whSet("refs/heads/main", "ref"))
	assert.Equal(t, http.StatusUnauthorized, e.post(t, hookPush, "not-the-secret", ev))
	assert.Equal(t, http.StatusUnauthorized, e.post(t, hookPush, "", ev))
	require.NoError(t, e.stop())
}

func TestWebhookContentSkillsAndPlugins(t *testing.T) {
	t.Parallel()
	e := newContentEnv(t)
	const skill = ".claude/skills/review-helper/SKILL.md"
	id := whProject + ":pr-reviewer" // the front matter's name, not the folder's

	before := e.keepHead(t, "main", "k1")
	require.NoError(t, e.ds.PutFile(whProjectID, "main", skill, []byte("---\nname: pr-reviewer\ndescription: Reviews merge requests.\n---\nRead the diff.\n")))
	e.push(t, "main", before, e.head(t, "main"), changes{added: []string{skill, "README.md"}})
	s := e.entity("ctSkill", id)
	require.NotNil(t, s, "an added SKILL.md creates the skill")
	assert.Equal(t, "Reviews merge requests.", s["description"])
	assert.Equal(t, ".claude/skills", s["root"])

	require.NoError(t, e.ds.PutFile(whProjectID, "main", skill, []byte("---\nname: pr-reviewer\ndescription: Reviews MRs.\n---\n")))
	e.push(t, "main", before, e.head(t, "main"), changes{modified: []string{skill}})
	assert.Equal(t, "Reviews MRs.", e.entity("ctSkill", id)["description"])

	before = e.keepHead(t, "main", "k2")
	require.NoError(t, e.ds.DeleteFile(whProjectID, "main", skill))
	e.push(t, "main", before, e.head(t, "main"), changes{removed: []string{skill}})
	assert.Nil(t, e.entity("ctSkill", id), "a removed skill is deleted by its former name")

	// Plugins: a manifest creates the project's plugin; removing it
	// deletes the plugin.
	require.NoError(t, e.ds.PutFile(whProjectID, "main", ".claude-plugin/plugin.json", []byte(`{"name": "zesty", "version": "1.2.0"}`)))
	e.push(t, "main", before, e.head(t, "main"), changes{added: []string{".claude-plugin/plugin.json"}})
	p := e.entity("ctPlugin", whProject)
	require.NotNil(t, p)
	assert.Equal(t, "zesty", p["name"])
	assert.Equal(t, "1.2.0", p["version"])

	// A push elsewhere in the tree does not concern the plugin.
	require.NoError(t, e.ds.PutFile(whProjectID, "main", ".claude-plugin/plugin.json", []byte(`{"name": "zesty", "version": "2.0.0"}`)))
	e.push(t, "main", before, e.head(t, "main"), changes{modified: []string{"README.md"}})
	assert.Equal(t, "1.2.0", e.entity("ctPlugin", whProject)["version"])

	before = e.keepHead(t, "main", "k3")
	require.NoError(t, e.ds.DeleteFile(whProjectID, "main", ".claude-plugin/plugin.json"))
	e.push(t, "main", before, e.head(t, "main"), changes{removed: []string{".claude-plugin/plugin.json"}})
	assert.Nil(t, e.entity("ctPlugin", whProject), "a project left without manifests loses its plugin")
	require.NoError(t, e.stop())
}

// GitLab lists at most 20 commits in a push: beyond that the paths come
// from the compare API (a rename removes the old path and adds the new).
func TestCompletePush(t *testing.T) {
	t.Parallel()
	var compares atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/projects/1/repository/compare") {
			http.NotFound(w, r)
			return
		}
		compares.Add(1)
		if r.URL.Query().Get("from") == "gone" {
			http.Error(w, `{"message":"404 Ref Not Found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"diffs": [
			{"old_path": "a.yml", "new_path": "a.yml", "new_file": true},
			{"old_path": "b.yml", "new_path": "b.yml"},
			{"old_path": "c.yml", "new_path": "c.yml", "deleted_file": true},
			{"old_path": "old/port.yml", "new_path": "new/port.yml", "renamed_file": true}]}`))
	}))
	t.Cleanup(srv.Close)
	g, err := New(testConfig(srv.URL), WithLogger(whQuiet))
	require.NoError(t, err)
	payload := func(before string, total int) map[string]any {
		return whFixture(t, "push", whSet(before, "before"), whSet(float64(total), "total_commits_count"))
	}
	tests := []struct {
		name        string
		payload     map[string]any
		wantCompare bool
		want        changes
	}{
		{"complete list", payload("95790bf891e76fee5e1747ab589903a6a1f80f22", 2), false,
			changes{added: []string{"CHANGELOG"}, modified: []string{"app/controller/application.rb"}}},
		{"cut list", payload("95790bf891e76fee5e1747ab589903a6a1f80f22", 40), true,
			changes{added: []string{"a.yml", "new/port.yml"}, modified: []string{"b.yml"}, removed: []string{"c.yml", "old/port.yml"}}},
		{"force push: before is gone", payload("gone", 40), true,
			changes{added: []string{"CHANGELOG"}, modified: []string{"app/controller/application.rb"}}},
		{"new branch", payload(whZeroSHA, 40), false,
			changes{added: []string{"CHANGELOG"}, modified: []string{"app/controller/application.rb"}}},
	}
	for _, tc := range tests {
		n := compares.Load()
		push := parsePush(tc.payload)
		require.NoError(t, g.completePush(context.Background(), tc.payload, &push), tc.name)
		assert.Equal(t, tc.wantCompare, compares.Load() > n, tc.name)
		assert.Equal(t, tc.want, changes{push.Added, push.Modified, push.Removed}, tc.name)
	}
}

// Content handlers read the paths each push names, so a burst of pushes
// to one branch is applied push by push, never collapsed into the newest.
func TestWebhookContentBurst(t *testing.T) {
	t.Parallel()
	e := newContentEnv(t)
	for _, p := range e.procs {
		if slices.Contains([]string{"gitlab-file", "gitlab-folder", "gitlab-skill", "gitlab-plugin"}, p.Name()) {
			c, ok := p.(*ocean.ProcessorFuncs)
			require.True(t, ok, p.Name())
			assert.False(t, c.Coalesce, p.Name())
		}
	}
	require.NoError(t, e.ds.PutFile(whProjectID, "main", "services/alpha/port.yml", []byte("identifier: alpha\n")))
	require.NoError(t, e.ds.PutFile(whProjectID, "main", ".claude/skills/beta/SKILL.md", []byte("---\nname: beta\n---\n")))
	require.NoError(t, e.ds.PutFile(whProjectID, "main", "docs/gamma.md", []byte("# gamma\n")))
	head := e.head(t, "main")
	for _, c := range []changes{
		{added: []string{"services/alpha/port.yml"}},
		{added: []string{".claude/skills/beta/SKILL.md"}},
		{added: []string{"docs/gamma.md"}},
		{modified: []string{"CODEOWNERS"}},
	} {
		ev := whFixture(t, "push", whSet("refs/heads/main", "ref"), whSet(head, "before"), whSet(head, "after"))
		ev["commits"] = []any{map[string]any{"id": head, "added": c.added, "modified": c.modified, "removed": []string{}}}
		require.Equal(t, http.StatusAccepted, e.post(t, hookPush, whSecret, ev))
	}
	e.settle(t)
	assert.NotNil(t, e.entity("ctService", "alpha"))
	assert.NotNil(t, e.entity("ctFolder", whProject+":services/alpha"))
	assert.NotNil(t, e.entity("ctSkill", whProject+":beta"))
	assert.NotNil(t, e.entity("ctDoc", whProject+":docs/gamma.md"))
	require.NoError(t, e.stop())
}
