package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// contentLogs is a concurrency-safe log sink for asserting warnings.
type contentLogs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *contentLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *contentLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newContentIntegration is newIntegration with logs kept.
func newContentIntegration(t testing.TB, srv *gitlabtest.Server, mut ...func(*Config)) (*Integration, *contentLogs) {
	t.Helper()
	cfg := Config{Host: srv.URL, Token: settings.Secret(srv.Token), UseGraphQL: true, MaxConcurrency: 8, MaxRetries: 5}
	for _, m := range mut {
		m(&cfg)
	}
	logs := &contentLogs{}
	rec := &sleepRecorder{}
	g, err := New(cfg, rec.option(), WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	require.NoError(t, err)
	return g, logs
}

func contentKind(t testing.TB, g *Integration, name string) ocean.Kind {
	t.Helper()
	for _, k := range g.Provider().Kinds {
		if k.Name() == name {
			return k
		}
	}
	t.Fatalf("no kind %q", name)
	return nil
}

func fetchContent(t testing.TB, g *Integration, kind, selector string) []ocean.Item {
	t.Helper()
	c := &collector{}
	require.NoError(t, contentKind(t, g, kind).Fetch(context.Background(), json.RawMessage(selector), c))
	return c.items
}

// fileKeys names each file item "project:path".
func fileKeys(items []ocean.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, str(it["repo"].(ocean.Item)["path_with_namespace"])+":"+str(it["file"].(map[string]any)["path"]))
	}
	sort.Strings(out)
	return out
}

// treeOracle lists, independently of the provider, every blob of every
// project the token lists (min_access_level=30) whose path passes keep.
func treeOracle(t testing.TB, srv *gitlabtest.Server, ref string, keep func(string) bool) []string {
	t.Helper()
	var out []string
	for _, p := range rawList(t, srv, "projects", url.Values{"min_access_level": {"30"}}) {
		if p["marked_for_deletion_at"] != nil || p["default_branch"] == nil {
			continue
		}
		r := ref
		if r == "" {
			r = p["default_branch"].(string)
		}
		for _, e := range rawList(t, srv, "projects/"+idString(p["id"])+"/repository/tree", url.Values{"recursive": {"true"}, "ref": {r}}) {
			if e["type"] == "blob" && keep(e["path"].(string)) {
				out = append(out, p["path_with_namespace"].(string)+":"+e["path"].(string))
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestFileKindGlobsAcrossStrategies(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, _ := newContentIntegration(t, srv)
	cases := []struct {
		path string
		keep func(string) bool
	}{
		{"port.yml", func(p string) bool { return p == "port.yml" || strings.HasSuffix(p, "/port.yml") }},
		{"services/*/port.yml", func(p string) bool {
			s := strings.Split(p, "/")
			return len(s) == 3 && s[0] == "services" && s[2] == "port.yml"
		}},
		{"**/*.md", func(p string) bool { return strings.HasSuffix(p, ".md") }},
		{"docs/guides/setup.md", func(p string) bool { return p == "docs/guides/setup.md" }},
	}
	for _, c := range cases {
		want := treeOracle(t, srv, "", c.keep)
		require.NotEmpty(t, want, c.path)
		for _, strategy := range []string{"repositoryTree", "projectSearch"} {
			items := fetchContent(t, g, KindFile, `{"files":{"path":"`+c.path+`","searchStrategy":"`+strategy+`","skipParsing":true}}`)
			assert.Equal(t, want, fileKeys(items), "%s with %s", c.path, strategy)
		}
		// Group search covers group projects; personal-namespace projects
		// belong to no group, as in gitlab-v2.
		var inGroups []string
		for _, k := range want {
			if !strings.HasPrefix(k, srv.Dataset().CurrentUser().Username+"/") {
				inGroups = append(inGroups, k)
			}
		}
		items := fetchContent(t, g, KindFile, `{"files":{"path":"`+c.path+`","skipParsing":true}}`)
		assert.Equal(t, inGroups, fileKeys(items), "%s with groupSearch", c.path)
	}
}

func TestFileKindShapeAndParsing(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, _ := newContentIntegration(t, srv)
	items := fetchContent(t, g, KindFile, `{"files":{"path":"port.yml","searchStrategy":"repositoryTree"}}`)
	require.NotEmpty(t, items)
	var multi, single, withRef int
	for _, it := range items {
		f := it["file"].(map[string]any)
		repo := it["repo"].(ocean.Item)
		if f["path"] != "port.yml" {
			continue
		}
		id := int(repo["id"].(float64))
		// gitlab-v2's file object, project under "repo".
		for _, k := range []string{"file_name", "file_path", "size", "encoding", "content", "content_sha256", "ref", "blob_id", "commit_id", "last_commit_id", "execute_filemode", "project_id", "path"} {
			assert.Contains(t, f, k)
		}
		assert.Equal(t, repo["id"], f["project_id"])
		assert.Equal(t, repo["default_branch"], f["ref"])
		assert.NotEmpty(t, repo["web_url"], "the full project")
		docs, ok := f["content"].([]any)
		require.True(t, ok, "YAML content is a list of documents")
		first := docs[0].(map[string]any)
		assert.Equal(t, repo["path"], first["identifier"])
		switch id % 3 {
		case 0:
			multi++
			require.Len(t, docs, 2, "multi-document port.yml of project %d", id)
			assert.Equal(t, str(repo["path"])+"-worker", docs[1].(map[string]any)["identifier"])
			props := first["properties"].(map[string]any)
			if id%6 == 0 {
				withRef++
				readme := string(fetchRaw(t, srv, id, "README.md"))
				assert.Equal(t, readme, props["readme"], "file://README.md resolves to the file's text")
			}
		case 1:
			single++
			assert.Len(t, docs, 1)
		}
	}
	assert.Positive(t, multi)
	assert.Positive(t, single)
	assert.Positive(t, withRef)

	// JSON is its value; skipParsing keeps the text.
	items = fetchContent(t, g, KindFile, `{"files":{"path":"package.json","searchStrategy":"repositoryTree"}}`)
	require.NotEmpty(t, items)
	c := items[0]["file"].(map[string]any)["content"].(map[string]any)
	assert.Contains(t, c, "dependencies")
	items = fetchContent(t, g, KindFile, `{"files":{"path":"package.json","searchStrategy":"repositoryTree","skipParsing":true}}`)
	require.NotEmpty(t, items)
	assert.IsType(t, "", items[0]["file"].(map[string]any)["content"])
}

func fetchRaw(t testing.TB, srv *gitlabtest.Server, id int, path string) []byte {
	t.Helper()
	q := url.Values{"ref": {"HEAD"}}
	p, ok := srv.Dataset().Project(idString(id))
	require.True(t, ok)
	q.Set("ref", *p.DefaultBranch)
	return rawGet(t, srv, "projects/"+idString(id)+"/repository/files/"+url.PathEscape(path)+"/raw?"+q.Encode())
}

// rawGet reads a path of the fake independently of the client.
func rawGet(t testing.TB, srv *gitlabtest.Server, path string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.APIURL()+"/"+path, nil)
	require.NoError(t, err)
	req.Header.Set("PRIVATE-TOKEN", srv.Token)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, path)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

func TestFileKindGraphQLAndRESTAgree(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	gq, _ := newContentIntegration(t, srv)
	rest, _ := newContentIntegration(t, srv, func(c *Config) { c.UseGraphQL = false })
	sel := `{"files":{"path":["port.yml","*.json","catalog-info.yaml"],"searchStrategy":"repositoryTree"},"includedFiles":["README.md"]}`
	srv.ResetStats()
	a := fetchContent(t, gq, KindFile, sel)
	assert.Positive(t, srv.RouteRequests("POST /graphql"))
	assert.Zero(t, srv.RouteRequests("GET /projects/:id/repository/files/:file_path/raw"), "GraphQL reads every file")
	srv.ResetStats()
	b := fetchContent(t, rest, KindFile, sel)
	assert.Zero(t, srv.RouteRequests("POST /graphql"))
	require.Equal(t, fileKeys(a), fileKeys(b))
	norm := func(items []ocean.Item) map[string]any {
		m := map[string]any{}
		for i, k := range fileKeys(items) {
			_ = i
			for _, it := range items {
				f := it["file"].(map[string]any)
				if str(it["repo"].(ocean.Item)["path_with_namespace"])+":"+str(f["path"]) == k {
					cp := cloneItem(f)
					delete(cp, "commit_id") // GraphQL blobs carry no commit
					delete(cp, "last_commit_id")
					m[k] = map[string]any{"file": cp, "inc": it["__includedFiles"]}
				}
			}
		}
		return m
	}
	assert.Equal(t, norm(a), norm(b))
	for _, it := range b {
		assert.NotNil(t, it["file"].(map[string]any)["last_commit_id"], "REST reads commit ids")
		assert.NotEmpty(t, it["__includedFiles"].(map[string]any)["README.md"])
	}
}

func TestFileKindSkipsOversizedBinaryAndBadFiles(t *testing.T) {
	t.Parallel()
	for _, graphql := range []bool{true, false} {
		srv := gitlabtest.NewServer(t)
		// A 1 MiB cap: data/fixtures.json is over it.
		g, logs := newContentIntegration(t, srv, func(c *Config) { c.UseGraphQL = graphql; c.MaxFileSize = 1 << 20 })
		p := visibleProject(t, srv, func(id int) bool { return id%3 == 1 })
		require.NoError(t, srv.Dataset().PutFile(p.ID, *p.DefaultBranch, "port.yml", []byte("identifier: x\n  bad: [unclosed\n")))

		// Oversized (data/fixtures.json, id%5==0) and binary (assets/logo.png,
		// odd ids) files are skipped with a warning naming project and path.
		items := fetchContent(t, g, KindFile, `{"files":{"path":["data/*.json","assets/*.png","package.json"],"searchStrategy":"repositoryTree"}}`)
		for _, it := range items {
			assert.Equal(t, "package.json", it["file"].(map[string]any)["path"], "only the small text file is synced")
		}
		assert.NotEmpty(t, items)
		out := logs.String()
		assert.Contains(t, out, "skipping a file over the size limit; raise OCEAN__INTEGRATION__CONFIG__MAX_FILE_SIZE")
		assert.Contains(t, out, "path=data/fixtures.json")
		assert.Contains(t, out, "skipping binary file")
		assert.Contains(t, out, "path=assets/logo.png")
		assert.Regexp(t, `skipping binary file" project=\S+/\S+ path=assets/logo.png`, out)

		// A larger cap reads the big JSON.
		items = fetchContent(t, g, KindFile, `{"files":{"path":"data/fixtures.json","searchStrategy":"repositoryTree","maxFileSize":2097152}}`)
		require.NotEmpty(t, items)
		assert.IsType(t, []any{}, items[0]["file"].(map[string]any)["content"])

		// Invalid YAML keeps its text (mappings reaching into it report the
		// item misconfigured); the other files go on.
		items = fetchContent(t, g, KindFile, `{"files":{"path":"port.yml","searchStrategy":"repositoryTree"}}`)
		var bad ocean.Item
		for _, it := range items {
			if it["repo"].(ocean.Item)["id"] == float64(p.ID) && it["file"].(map[string]any)["path"] == "port.yml" {
				bad = it
			}
		}
		require.NotNil(t, bad)
		assert.IsType(t, "", bad["file"].(map[string]any)["content"])
		assert.Greater(t, len(items), 5)
		assert.Contains(t, logs.String(), "file is not valid JSON or YAML")
		assert.Contains(t, logs.String(), "project="+p.PathWithNamespace+" path=port.yml")
	}
}

func visibleProject(t testing.TB, srv *gitlabtest.Server, pick func(id int) bool) gitlabtest.Project {
	t.Helper()
	for _, raw := range rawList(t, srv, "projects", url.Values{"min_access_level": {"30"}, "order_by": {"id"}, "sort": {"asc"}}) {
		id := int(raw["id"].(float64))
		if raw["marked_for_deletion_at"] == nil && raw["default_branch"] != nil && pick(id) {
			p, ok := srv.Dataset().Project(idString(id))
			require.True(t, ok)
			return p
		}
	}
	t.Fatal("no such project")
	return gitlabtest.Project{}
}

func TestFileKindBranchesAndRepos(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, _ := newContentIntegration(t, srv)
	p := visibleProject(t, srv, func(id int) bool { return id%3 == 2 }) // no root port.yml
	other := visibleProject(t, srv, func(id int) bool { return id%3 == 1 })
	require.NoError(t, srv.Dataset().CreateBranch(p.ID, "feature", *p.DefaultBranch))
	require.NoError(t, srv.Dataset().PutFile(p.ID, "feature", "port.yml", []byte("identifier: on-feature\n")))

	for _, strategy := range []string{"groupSearch", "projectSearch", "repositoryTree"} {
		// A project without the file: nothing, and no error.
		items := fetchContent(t, g, KindFile, `{"files":{"path":"port.yml","repos":["`+p.PathWithNamespace+`"],"searchStrategy":"`+strategy+`"}}`)
		for _, it := range items {
			assert.NotEqual(t, "port.yml", it["file"].(map[string]any)["path"], strategy)
		}
		// The branch, for the selector or per repo.
		for _, sel := range []string{
			`{"files":{"path":"/port.yml","branch":"feature","repos":["` + p.PathWithNamespace + `"],"searchStrategy":"` + strategy + `"}}`,
			`{"files":{"path":"/port.yml","repos":[{"name":"` + p.PathWithNamespace + `","branch":"feature"},"` + other.PathWithNamespace + `"],"searchStrategy":"` + strategy + `"}}`,
		} {
			items = fetchContent(t, g, KindFile, sel)
			var got []string
			for _, it := range items {
				f := it["file"].(map[string]any)
				if f["path"] == "port.yml" {
					got = append(got, str(it["repo"].(ocean.Item)["path_with_namespace"])+"@"+str(f["ref"]))
				}
			}
			assert.Contains(t, got, p.PathWithNamespace+"@feature", "%s %s", strategy, sel)
		}
	}
	// A repo the token cannot read is skipped.
	items := fetchContent(t, g, KindFile, `{"files":{"path":"port.yml","repos":["nobody/nothing","`+other.PathWithNamespace+`"]}}`)
	assert.NotEmpty(t, items)
}

func TestFileKindHealsStaleSearchRefs(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, _ := newContentIntegration(t, srv)
	p := visibleProject(t, srv, func(id int) bool { return id%3 == 1 })
	proj := ocean.Item{}
	raw := rawGet(t, srv, "projects/"+idString(p.ID))
	require.NoError(t, json.Unmarshal(raw, &proj))
	rd := &fileReader{r: g.newContentRun(0)}
	items, err := rd.read(context.Background(), []blobReq{{proj: proj, ref: "deleted-branch", path: "port.yml"}}, func(ocean.Item) string { return "" })
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.Equal(t, *p.DefaultBranch, items[0]["file"].(map[string]any)["ref"])
}

func TestFileKindGroupSearchFallbacks(t *testing.T) {
	t.Parallel()
	with := gitlabtest.NewServer(t)
	without := gitlabtest.NewServer(t, gitlabtest.WithAdvancedSearch(false))
	g1, _ := newContentIntegration(t, with)
	g2, _ := newContentIntegration(t, without)
	sel := `{"files":{"path":"port.yml","skipParsing":true}}`
	a := fetchContent(t, g1, KindFile, sel)
	b := fetchContent(t, g2, KindFile, sel)
	assert.Equal(t, fileKeys(a), fileKeys(b), "groups without Advanced Search are searched project by project")
	assert.Positive(t, without.RouteRequests("GET /projects/:id/search"))
	// The answer is remembered: the next resync does not ask again.
	n := without.RouteRequests("GET /groups/:id/search")
	fetchContent(t, g2, KindFile, sel)
	assert.Equal(t, n, without.RouteRequests("GET /groups/:id/search"))
	// And shared: the projects' __searchQueries do not ask those groups
	// either.
	roots, err := g2.topLevelGroups(t.Context(), nil) // the groups the file kind searched
	require.NoError(t, err)
	n = without.RouteRequests("GET /groups/:id/search")
	for _, grp := range roots {
		_, ok, err := g2.enrich.groupHits(t.Context(), str(grp["full_path"]), SearchQuery{Query: "port"}, false)
		require.NoError(t, err)
		assert.False(t, ok, "%s has no group search", grp["full_path"])
	}
	require.NotEmpty(t, roots)
	assert.Equal(t, n, without.RouteRequests("GET /groups/:id/search"))
}

func TestFolderKind(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, _ := newContentIntegration(t, srv)
	oracle := func(keep func(string) bool) []string {
		var out []string
		for _, p := range rawList(t, srv, "projects", url.Values{"min_access_level": {"30"}}) {
			if p["marked_for_deletion_at"] != nil || p["default_branch"] == nil {
				continue
			}
			for _, e := range rawList(t, srv, "projects/"+idString(p["id"])+"/repository/tree", url.Values{"recursive": {"true"}}) {
				if e["type"] == "tree" && keep(e["path"].(string)) {
					out = append(out, p["path_with_namespace"].(string)+":"+e["path"].(string))
				}
			}
		}
		sort.Strings(out)
		return out
	}
	keys := func(items []ocean.Item) []string {
		var out []string
		for _, it := range items {
			f := it["folder"].(map[string]any)
			repo := it["repo"].(ocean.Item)
			assert.Equal(t, repo["default_branch"], it["__branch"])
			assert.Equal(t, "tree", f["type"])
			for _, k := range []string{"id", "name", "path", "mode"} {
				assert.Contains(t, f, k)
			}
			out = append(out, str(repo["path_with_namespace"])+":"+str(f["path"]))
		}
		sort.Strings(out)
		return out
	}
	child := func(p string) bool { return strings.Count(p, "/") == 1 && strings.HasPrefix(p, "services/") }
	assert.Equal(t, oracle(child), keys(fetchContent(t, g, KindFolder, `{"folders":[{"path":"services"}]}`)), "a concrete path lists its sub-folders")
	assert.Equal(t, oracle(child), keys(fetchContent(t, g, KindFolder, `{"folders":[{"path":"services/*"}]}`)))
	assert.Equal(t, oracle(func(p string) bool { return strings.HasPrefix(p, "docs") }),
		keys(fetchContent(t, g, KindFolder, `{"folders":[{"path":"docs"},{"path":"**/docs"},{"path":"docs/**"}]}`)))

	// Per repo and branch; the branch defaults to the project's default.
	p := visibleProject(t, srv, func(int) bool { return true })
	require.NoError(t, srv.Dataset().CreateBranch(p.ID, "feature", *p.DefaultBranch))
	require.NoError(t, srv.Dataset().PutFile(p.ID, "feature", "services/only-here/README.md", []byte("x")))
	items := fetchContent(t, g, KindFolder, `{"folders":[{"path":"services","repos":[{"name":"`+p.PathWithNamespace+`","branch":"feature"}]}],"includedFiles":["README.md"]}`)
	var names []string
	for _, it := range items {
		assert.Equal(t, "feature", it["__branch"])
		assert.Equal(t, float64(p.ID), it["repo"].(ocean.Item)["id"])
		assert.NotEmpty(t, it["__includedFiles"].(map[string]any)["README.md"])
		names = append(names, str(it["folder"].(map[string]any)["name"]))
	}
	assert.Contains(t, names, "only-here")
	items = fetchContent(t, g, KindFolder, `{"folders":[{"path":"services","repos":["`+p.PathWithNamespace+`"]}]}`)
	for _, it := range items {
		assert.NotEqual(t, "only-here", it["folder"].(map[string]any)["name"])
	}
}

func TestSkillKind(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, _ := newContentIntegration(t, srv)
	want := treeOracle(t, srv, "", func(p string) bool { return strings.HasSuffix(p, "/SKILL.md") })
	require.NotEmpty(t, want)
	items := fetchContent(t, g, KindSkill, `{}`)
	var got []string
	for _, it := range items {
		s := it["skill"].(map[string]any)
		repo := it["repo"].(ocean.Item)
		got = append(got, str(repo["path_with_namespace"])+":"+str(s["skillMdPath"]))
		assert.Equal(t, repo["default_branch"], it["__branch"])
		fm := s["frontmatter"].(map[string]any)
		assert.Equal(t, fm["name"], s["name"])
		assert.Equal(t, fm["description"], s["description"])
		assert.NotEmpty(t, s["instructions"])
		assert.NotContains(t, s["instructions"], "description:", "the body comes after the front matter")
		path := str(s["skillMdPath"])
		assert.Equal(t, strings.TrimSuffix(path, "/SKILL.md"), s["path"])
		if strings.HasPrefix(path, ".claude/") {
			assert.Equal(t, ".claude/skills", s["root"])
		} else {
			assert.Equal(t, "skills", s["root"])
		}
	}
	sort.Strings(got)
	assert.Equal(t, want, got)

	// A custom location, scoped to one repo.
	p := visibleProject(t, srv, func(int) bool { return true })
	require.NoError(t, srv.Dataset().PutFile(p.ID, *p.DefaultBranch, "tools/ai/Skill.md", []byte("no front matter\n")))
	items = fetchContent(t, g, KindSkill, `{"paths":[{"path":"tools/**/SKILL.md","repos":["`+p.PathWithNamespace+`"]}]}`)
	require.Len(t, items, 1)
	s := items[0]["skill"].(map[string]any)
	assert.Equal(t, "ai", s["name"], "the folder names a skill without front matter")
	assert.Equal(t, "no front matter\n", s["instructions"])
	assert.Equal(t, "tools", s["root"])
}

func TestPluginKind(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, _ := newContentIntegration(t, srv)
	want := treeOracle(t, srv, "", func(p string) bool { return p == ".claude-plugin/plugin.json" })
	require.NotEmpty(t, want)
	items := fetchContent(t, g, KindPlugin, `{}`)
	var got []string
	for _, it := range items {
		pl := it["plugin"].(map[string]any)
		repo := it["repo"].(ocean.Item)
		got = append(got, str(repo["path_with_namespace"])+":.claude-plugin/plugin.json")
		assert.Equal(t, str(repo["path"])+"-plugin", pl["name"])
		assert.Equal(t, true, pl["supports"].(map[string]any)["claude"])
		assert.Equal(t, false, pl["supports"].(map[string]any)["cursor"])
		assert.Equal(t, pl["name"], pl["claude"].(map[string]any)["name"])
		assert.Equal(t, map[string]any{}, pl["cursor"])
		assert.NotEmpty(t, pl["version"])
	}
	sort.Strings(got)
	assert.Equal(t, want, got)

	// Directory providers and provider selection.
	p := visibleProject(t, srv, func(id int) bool { return id%5 != 2 })
	require.NoError(t, srv.Dataset().PutFile(p.ID, *p.DefaultBranch, ".opencode/plugins/tool.ts", []byte("export {}\n")))
	items = fetchContent(t, g, KindPlugin, `{"providers":["opencode"],"repos":["`+p.PathWithNamespace+`"]}`)
	require.Len(t, items, 1)
	pl := items[0]["plugin"].(map[string]any)
	assert.Equal(t, map[string]any{"detected": true}, pl["opencode"])
	assert.Equal(t, p.Name, pl["name"], "the repository names a plugin without manifest")
	assert.Empty(t, fetchContent(t, g, KindPlugin, `{"providers":["cursor"]}`))
}

func TestContentSelectorsValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ kind, sel string }{
		{KindFile, `{"files":{}}`},
		{KindFile, `{"files":{"path":"x","searchStrategy":"nope"}}`},
		{KindFile, `{"files":{"path":"[bad"}}`},
		{KindFile, `{"files":{"path":"x","repos":[{"branch":"b"}]}}`},
		{KindFolder, `{"folders":[{"path":"a/../b"}]}`},
		{KindSkill, `{"paths":[{"path":""}]}`},
		{KindPlugin, `{"providers":["vim"]}`},
	} {
		srv := gitlabtest.NewServer(t)
		g, _ := newContentIntegration(t, srv)
		err := contentKind(t, g, c.kind).Fetch(context.Background(), json.RawMessage(c.sel), &collector{})
		var se *ocean.SelectorError
		assert.ErrorAs(t, err, &se, "%s %s", c.kind, c.sel)
	}
	s, err := ocean.DecodeSelector[FileSelector](json.RawMessage(`{"files":{"path":"port.yml"}}`))
	require.NoError(t, err)
	assert.Equal(t, StrategyGroupSearch, s.Files.SearchStrategy)
	sk, err := ocean.DecodeSelector[SkillSelector](nil)
	require.NoError(t, err)
	assert.Len(t, sk.Paths, 8)
}

func TestFileRefsExpandWithinABudget(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789abcdef\n", 900<<10/17) // ~900 KB of text
	var refs strings.Builder
	for i := range 500 {
		fmt.Fprintf(&refs, "k%03d: file://big.txt\n", i)
	}
	var distinct strings.Builder
	for i := range 10 {
		fmt.Fprintf(&distinct, "d%d: file://big%d.txt\n", i, i)
	}
	distinct.WriteString("gone: file://missing.txt\nsmall: file://small.txt\n")
	for _, graphql := range []bool{true, false} {
		t.Run(fmt.Sprintf("graphql=%v", graphql), func(t *testing.T) {
			t.Parallel()
			srv := gitlabtest.NewServer(t)
			// A 1 MiB size cap: the budget is then 4 MiB.
			g, logs := newContentIntegration(t, srv, func(c *Config) { c.UseGraphQL = graphql; c.MaxFileSize = 1 << 20 })
			p := visibleProject(t, srv, func(int) bool { return true })
			put := func(path, text string) {
				require.NoError(t, srv.Dataset().PutFile(p.ID, *p.DefaultBranch, path, []byte(text)))
			}
			put("big.txt", big)
			put("small.txt", "small")
			for i := range 10 {
				put(fmt.Sprintf("big%d.txt", i), big)
			}
			put("refs/same.yml", refs.String())
			put("refs/distinct.yml", distinct.String())
			srv.ResetStats()

			items := fetchContent(t, g, KindFile, `{"files":{"path":"refs/*.yml","searchStrategy":"repositoryTree"}}`)
			byPath := map[string]map[string]any{}
			for _, it := range items {
				if it["repo"].(ocean.Item)["id"] == float64(p.ID) {
					f := it["file"].(map[string]any)
					byPath[str(f["path"])] = f["content"].([]any)[0].(map[string]any)
				}
			}
			require.Len(t, byPath, 2, "both files are synced")

			// 500 references to one 900 KB file: four fit in 4 MiB, in key
			// order; the rest stay as written.
			same := byPath["refs/same.yml"]
			require.Len(t, same, 500)
			for i := range 500 {
				k := fmt.Sprintf("k%03d", i)
				if i < 4 {
					assert.Equal(t, big, same[k], k)
				} else {
					assert.Equal(t, "file://big.txt", same[k], k)
				}
			}
			// Ten distinct 900 KB files: four are read, the others are
			// never downloaded; a missing file is null, a small one fits.
			dist := byPath["refs/distinct.yml"]
			for i := range 10 {
				k := fmt.Sprintf("d%d", i)
				if i < 4 {
					assert.Equal(t, big, dist[k], k)
				} else {
					assert.Equal(t, fmt.Sprintf("file://big%d.txt", i), dist[k], k)
				}
			}
			assert.Nil(t, dist["gone"])
			assert.Equal(t, "small", dist["small"])
			if !graphql {
				// two parsed files, big.txt once, big0-3.txt, small.txt
				assert.Equal(t, int64(2+1+4+1), srv.RouteRequests("GET /projects/:id/repository/files/:file_path/raw"))
			}

			out := logs.String()
			assert.Equal(t, 1, strings.Count(out, "file:// references left unexpanded: their texts"), "one warning as it happens:\n%s", out)
			assert.Contains(t, out, "file:// references left unexpanded in several files")
			assert.Contains(t, out, "files=2 references=502")
		})
	}
}

func TestAdmitRefsSpendsEachFilesBudgetInOrder(t *testing.T) {
	t.Parallel()
	key := func(p string) blobReq { return blobReq{proj: ocean.Item{"id": 1.0}, ref: "main", path: p} }
	rd := &fileReader{r: &contentRun{maxSize: 10}, refBudget: 10}
	refs := []fileRef{
		{file: 0, req: key("a")}, {file: 0, req: key("b")}, {file: 0, req: key("a")}, {file: 0, req: key("c")},
		{file: 1, req: key("c")}, {file: 1, req: key("gone")},
	}
	sizes := map[blobKey]int64{key("a").key(): 4, key("b").key(): 7, key("c").key(): 6}
	got := rd.admitRefs(refs)(sizes)
	// file 0: a(4) fits, b(7) does not, a(4) again fits (8), c(6) does not;
	// file 1 starts afresh: c(6) fits.
	assert.Equal(t, map[blobKey]bool{key("a").key(): true, key("c").key(): true}, got)
}
