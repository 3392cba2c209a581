package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

type collector struct {
	mu    sync.Mutex
	items []ocean.Item
	sends int
	// onSend, when set, runs before each page is accepted.
	onSend func(ctx context.Context) error
}

func (c *collector) Send(ctx context.Context, items []ocean.Item) error {
	if c.onSend != nil {
		if err := c.onSend(ctx); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = append(c.items, items...)
	c.sends++
	return ctx.Err()
}

func newIntegration(t testing.TB, srv *gitlabtest.Server, mut ...func(*Config)) (*Integration, *sleepRecorder) {
	t.Helper()
	cfg := Config{Host: srv.URL, Token: settings.Secret(srv.Token), UseGraphQL: true, MaxConcurrency: 8, MaxRetries: 5}
	for _, m := range mut {
		m(&cfg)
	}
	rec := &sleepRecorder{}
	g, err := New(cfg, rec.option(), WithLogger(discard))
	require.NoError(t, err)
	return g, rec
}

func kindByName(t testing.TB, g *Integration, name string) ocean.Kind {
	t.Helper()
	for _, k := range g.Kinds() {
		if k.Name() == name {
			return k
		}
	}
	t.Fatalf("no kind %q", name)
	return nil
}

func fetch(t testing.TB, g *Integration, kind, selector string) []ocean.Item {
	t.Helper()
	c := &collector{}
	require.NoError(t, kindByName(t, g, kind).Fetch(context.Background(), json.RawMessage(selector), c))
	return c.items
}

// rawList lists a path of the fake independently of the client (plain
// offset pagination), as the expected side of comparisons.
func rawList(t testing.TB, srv *gitlabtest.Server, path string, q url.Values) []map[string]any {
	t.Helper()
	var out []map[string]any
	if q == nil {
		q = url.Values{}
	}
	q.Set("per_page", "100")
	for page := 1; ; page++ {
		q.Set("page", strconv.Itoa(page))
		req, err := http.NewRequest(http.MethodGet, srv.APIURL()+"/"+path+"?"+q.Encode(), nil)
		require.NoError(t, err)
		req.Header.Set("PRIVATE-TOKEN", srv.Token)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		var items []map[string]any
		require.Equal(t, 200, resp.StatusCode, path)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&items))
		resp.Body.Close()
		out = append(out, items...)
		if resp.Header.Get("X-Next-Page") == "" {
			return out
		}
	}
}

func ids(items []ocean.Item) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, idString(it["id"]))
	}
	sort.Strings(out)
	return out
}

// rawIDs lists ids, leaving out what is pending deletion (gitlab-v2 drops
// those projects and groups).
func rawIDs(items []map[string]any) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it["marked_for_deletion_at"] != nil || it["marked_for_deletion_on"] != nil {
			continue
		}
		out = append(out, idString(it["id"]))
	}
	sort.Strings(out)
	return out
}

func byID(items []ocean.Item) map[string]ocean.Item {
	m := make(map[string]ocean.Item, len(items))
	for _, it := range items {
		m[idString(it["id"])] = it
	}
	return m
}

// sizeNested is small but nested: 3 top-level groups with two levels of
// subgroups (21 groups), 2 projects each.
var sizeNested = func() gitlabtest.Size {
	s := gitlabtest.SizeSmall
	s.SubgroupDepth, s.SubgroupsPerGroup, s.ProjectsPerGroup = 2, 2, 2
	return s
}()

// sizeManyProjects spans several pages of projects with little else.
var sizeManyProjects = gitlabtest.Size{
	Groups: 3, SubgroupDepth: 1, SubgroupsPerGroup: 1, ProjectsPerGroup: 120, PersonalProjects: 2,
	MembersPerGroup: 2, BranchesPerProject: 1, FilesPerProject: 1,
}

const enrichSelector = `{"query":"true","includeLanguages":true,"includedFiles":["README.md","CODEOWNERS","missing.txt"]}`

func TestProjectKindListsEveryVisibleProjectWithKeyset(t *testing.T) {
	t.Parallel()
	// An offset cap far below the project count proves keyset is used.
	ds := gitlabtest.Generate(3, sizeManyProjects)
	srv := gitlabtest.NewServer(t, gitlabtest.WithDataset(ds), gitlabtest.WithOffsetLimit(100))
	g, _ := newIntegration(t, srv)
	items := fetch(t, g, KindProject, `{"query":"true"}`)
	want := rawList(t, gitlabtest.NewServer(t, gitlabtest.WithDataset(ds)), "projects", url.Values{"min_access_level": {"30"}})
	require.Greater(t, len(want), 200, "the dataset spans several pages")
	assert.Equal(t, rawIDs(want), ids(items))
	pages := int64((len(want) + 99) / 100)
	got := srv.RouteRequests("GET /projects")
	assert.True(t, got == pages || got == pages+1, "one keyset request per page, and one where the two walks meet: %d for %d pages", got, pages)
	for _, it := range items {
		assert.NotContains(t, it, "__languages", "no enrichment unless asked")
		assert.Contains(t, it, "namespace", "the full raw object reaches jq")
	}
}

func TestProjectKindVisibility(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, _ := newIntegration(t, srv)
	g.SetVisibility(Visibility{UseMinAccessLevel: true, MinAccessLevel: 50})
	owners := fetch(t, g, KindProject, `{}`)
	assert.Equal(t, rawIDs(rawList(t, srv, "projects", url.Values{"min_access_level": {"50"}})), ids(owners))

	g.SetVisibility(Visibility{UseMinAccessLevel: false})
	all := fetch(t, g, KindProject, `{}`)
	assert.Equal(t, rawIDs(rawList(t, srv, "projects", nil)), ids(all))
	assert.GreaterOrEqual(t, len(all), len(owners))
}

func TestProjectEnrichmentGraphQLMatchesREST(t *testing.T) {
	t.Parallel()
	ds := gitlabtest.Generate(5, sizeManyProjects)

	gqlSrv := gitlabtest.NewServer(t, gitlabtest.WithDataset(ds))
	g, _ := newIntegration(t, gqlSrv)
	viaGraphQL := fetch(t, g, KindProject, enrichSelector)
	n := len(viaGraphQL)
	require.Greater(t, n, 100)

	gql := gqlSrv.RouteRequests("POST /graphql")
	pages := int64((n + 99) / 100)
	assert.LessOrEqual(t, gql, int64(n+19)/20+pages, "enrichments cost at most one request per 20 projects (plus rounding per page)")
	assert.Zero(t, gqlSrv.RouteRequests("GET /projects/:id/languages"), "no per-project REST calls")
	assert.Zero(t, gqlSrv.RouteRequests("GET /projects/:id/repository/files/:file_path/raw"))

	restSrv := gitlabtest.NewServer(t, gitlabtest.WithDataset(ds))
	gr, _ := newIntegration(t, restSrv, func(c *Config) { c.UseGraphQL = false })
	viaREST := fetch(t, gr, KindProject, enrichSelector)
	assert.Zero(t, restSrv.RouteRequests("POST /graphql"))
	assert.Equal(t, int64(n), restSrv.RouteRequests("GET /projects/:id/languages"))
	assert.Equal(t, int64(3*n), restSrv.RouteRequests("GET /projects/:id/repository/files/:file_path/raw"))

	rest := byID(viaREST)
	require.Len(t, rest, n)
	withReadme, withLanguages := 0, 0
	for _, p := range viaGraphQL {
		r := rest[idString(p["id"])]
		require.NotNil(t, r)
		files := p["__includedFiles"].(map[string]any)
		assert.Equal(t, r["__includedFiles"], files, p["path_with_namespace"])
		assert.Contains(t, files, "missing.txt")
		assert.Nil(t, files["missing.txt"])
		if s, ok := files["README.md"].(string); ok && s != "" {
			withReadme++
		}
		assertLanguagesEqual(t, r["__languages"], p["__languages"])
		if len(p["__languages"].(map[string]any)) > 0 {
			withLanguages++
		}
	}
	assert.Greater(t, withReadme, n/2, "READMEs are found")
	assert.Greater(t, withLanguages, n/2, "languages are found")
}

func assertLanguagesEqual(t *testing.T, want, got any) {
	t.Helper()
	w, g := want.(map[string]any), got.(map[string]any)
	require.Len(t, g, len(w))
	for k, v := range w {
		assert.InDelta(t, v.(float64), g[k].(float64), 0.01, k)
	}
}

func TestProjectEnrichmentSplitsBatchesOverComplexity(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t, gitlabtest.WithMaxComplexity(60))
	g, _ := newIntegration(t, srv)
	items := fetch(t, g, KindProject, enrichSelector)
	for _, p := range items {
		assert.NotNil(t, p["__languages"])
		assert.Contains(t, p["__includedFiles"], "README.md")
	}
	assert.Zero(t, srv.RouteRequests("GET /projects/:id/languages"), "smaller batches, not REST")
}

func TestProjectEnrichmentFallsBackWhenGraphQLUnavailable(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t, gitlabtest.WithGraphQL(false))
	g, _ := newIntegration(t, srv)
	items := fetch(t, g, KindProject, enrichSelector)
	require.NotEmpty(t, items)
	assert.Equal(t, int64(len(items)), srv.RouteRequests("GET /projects/:id/languages"))
	assert.LessOrEqual(t, srv.RouteRequests("POST /graphql"), int64(1), "GraphQL is given up after the first answer")
	assert.False(t, g.Client().GraphQLEnabled())
	for _, p := range items {
		assert.NotNil(t, p["__languages"])
	}
}

func TestProjectSearchQueries(t *testing.T) {
	t.Parallel()
	const sel = `{"searchQueries":[{"name":"hasPortConfig","query":"filename:port.yml"},{"name":"nothing","scope":"blobs","query":"filename:no-such-file.zzz"}]}`
	type run struct {
		answers            map[string]any
		srv                *gitlabtest.Server
		projects, archived int
		personal           int
		archivedPaths      map[string]bool
	}
	do := func(t *testing.T, opts ...gitlabtest.Option) run {
		opts = append([]gitlabtest.Option{gitlabtest.WithDataset(gitlabtest.Generate(3, gitlabtest.SizeMedium))}, opts...)
		srv := gitlabtest.NewServer(t, opts...)
		g, _ := newIntegration(t, srv)
		items := fetch(t, g, KindProject, sel)
		require.NotEmpty(t, items)
		r := run{answers: map[string]any{}, srv: srv, projects: len(items), archivedPaths: map[string]bool{}}
		for _, p := range items {
			r.answers[str(p["path_with_namespace"])] = p["__searchQueries"]
			assert.NotContains(t, p, "__includedFiles")
			if p["archived"] == true {
				r.archived++
				r.archivedPaths[str(p["path_with_namespace"])] = true
			}
			if ns, _ := p["namespace"].(map[string]any); ns["kind"] == "user" {
				r.personal++
			}
		}
		return r
	}
	// Without Advanced Search every project is searched, as gitlab-v2 does.
	perProject := do(t, gitlabtest.WithAdvancedSearch(false))
	assert.Equal(t, int64(2*perProject.projects), perProject.srv.RouteRequests("GET /projects/:id/search"))
	found, foundArchived := 0, 0
	for path, v := range perProject.answers {
		sq := v.(map[string]any)
		require.IsType(t, true, sq["hasPortConfig"])
		assert.Equal(t, false, sq["nothing"])
		if sq["hasPortConfig"] == true {
			found++
			if perProject.archivedPaths[path] {
				foundArchived++
			}
		}
	}
	assert.Positive(t, found)
	require.Positive(t, foundArchived, "an archived project matches, so a group search leaving it out would answer differently")
	require.Positive(t, perProject.personal, "the dataset has personal projects")

	// With it, one group search per top-level group answers the same; what
	// the group search cannot answer is searched per project.
	tests := []struct {
		name            string
		version         string
		perProjectCalls func(r run) int
		exact           bool
	}{
		{"18.9 includes archived projects in the group search", gitlabtest.DefaultVersion,
			func(r run) int { return r.personal }, true},
		{"before 18.9 archived projects are searched one by one", "18.8.4-ee",
			func(r run) int { return r.personal + r.archived }, false},
		{"an unreadable version counts as old", "unknown",
			func(r run) int { return r.personal + r.archived }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			grouped := do(t, gitlabtest.WithVersion(tt.version))
			assert.Equal(t, perProject.answers, grouped.answers, "group search gives every project the same answer")
			// Outside a resync a page's group with fewer than five
			// projects searches them one by one; with archived projects
			// left out of the group search, a few groups fall below that.
			calls := grouped.srv.RouteRequests("GET /projects/:id/search")
			if tt.exact {
				assert.Equal(t, int64(2*tt.perProjectCalls(grouped)), calls)
			} else {
				assert.GreaterOrEqual(t, calls, int64(2*tt.perProjectCalls(grouped)))
			}
			assert.Positive(t, grouped.srv.RouteRequests("GET /groups/:id/search"))
			assert.Equal(t, int64(1), grouped.srv.RouteRequests("GET /version"), "the version is read once per client")
		})
	}
}

func TestProjectKindRecoversFrom429And5xx(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, rec := newIntegration(t, srv)
	want := fetch(t, g, KindProject, enrichSelector)

	srv.FailNext(2, http.StatusTooManyRequests, 3*time.Second, "/projects")
	srv.FailNext(1, http.StatusBadGateway, 0, "/graphql")
	srv.FailNext(1, http.StatusServiceUnavailable, 0, "/projects")
	got := fetch(t, g, KindProject, enrichSelector)
	assert.Equal(t, ids(want), ids(got))
	assert.Equal(t, byID(want)[ids(want)[0]]["__includedFiles"], byID(got)[ids(want)[0]]["__includedFiles"])
	waits := rec.all()
	assert.True(t, slices.ContainsFunc(waits, func(d time.Duration) bool { return d > 2*time.Second && d <= 3*time.Second }), "Retry-After is honoured: %v", waits)
	assert.GreaterOrEqual(t, g.Client().Stats().Retries, int64(4))
}

func TestKindFailsAfterBoundedRetries(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, _ := newIntegration(t, srv, func(c *Config) { c.MaxRetries = 2 })
	srv.InjectFault(gitlabtest.Fault{Status: 500, PathPrefix: "/groups"})
	err := kindByName(t, g, KindGroup).Fetch(t.Context(), nil, &collector{})
	require.Error(t, err)
	assert.Equal(t, 500, StatusCode(err))
}

func TestPerProjectForbiddenAndNotFoundAreSkipped(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, _ := newIntegration(t, srv)
	projects := fetch(t, g, KindProject, `{}`)
	require.Greater(t, len(projects), 3)
	denied403, denied404 := int(projects[0]["id"].(float64)), int(projects[1]["id"].(float64))
	pathToID := map[string]string{}
	for _, p := range projects {
		pathToID[str(p["path_with_namespace"])] = idString(p["id"])
	}
	srv.DenyProject(denied403, 403)
	srv.DenyProject(denied404, 404)

	for _, kind := range []string{KindPipeline, KindTag, KindRelease, KindBranch, KindDeployment, KindJob} {
		t.Run(kind, func(t *testing.T) {
			items := fetch(t, g, kind, `{}`)
			require.NotEmpty(t, items)
			for _, it := range items {
				pid := idString(it["project_id"])
				if pl, ok := it["pipeline"].(map[string]any); ok && pid == "" {
					pid = idString(pl["project_id"])
				}
				if pid == "" {
					pid = pathToID[str(it["__project"].(map[string]any)["path_with_namespace"])]
				}
				require.NotEmpty(t, pid, "every item names its project")
				assert.NotEqual(t, strconv.Itoa(denied403), pid)
				assert.NotEqual(t, strconv.Itoa(denied404), pid)
			}
		})
	}
	// Listed projects stay, with empty members and enrichments.
	pwm := byID(fetch(t, g, KindProjectWithMembers, `{}`))
	assert.Equal(t, []any{}, pwm[strconv.Itoa(denied404)]["__members"])
	assert.Len(t, pwm, len(projects))
	// The project kind still lists them; their enrichments are empty.
	items := byID(fetch(t, g, KindProject, enrichSelector))
	p := items[strconv.Itoa(denied403)]
	require.NotNil(t, p)
	assert.Equal(t, map[string]any{}, p["__languages"])
	assert.Nil(t, p["__includedFiles"].(map[string]any)["README.md"])
}

func TestCancellationStopsAKind(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(2, sizeNested)))
	g, _ := newIntegration(t, srv)
	for _, kind := range []string{KindProject, KindPipeline, KindMergeRequest, KindGroupWithMembers} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			c := &collector{onSend: func(context.Context) error { cancel(); return nil }}
			err := kindByName(t, g, kind).Fetch(ctx, json.RawMessage(enrichSelector), c)
			require.ErrorIs(t, err, context.Canceled)
		})
	}
}

func TestGroupKinds(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(4, sizeNested)))
	g, _ := newIntegration(t, srv)
	wantGroups := rawList(t, srv, "groups", url.Values{"all_available": {"true"}, "min_access_level": {"30"}})
	require.Greater(t, len(wantGroups), 1)

	srv.ResetStats()
	groups := fetch(t, g, KindGroup, `{"query":"true"}`)
	assert.Equal(t, rawIDs(wantGroups), ids(groups))
	// GitLab serves group keyset pagination (order_by=name) to anonymous
	// users only: the client tries it once, then stays with offset.
	first := srv.RouteRequests("GET /groups")
	fetch(t, g, KindGroup, `{}`)
	assert.Equal(t, first-1, srv.RouteRequests("GET /groups")-first)

	t.Run("group-with-members", func(t *testing.T) {
		items := fetch(t, g, KindGroupWithMembers, `{}`)
		assert.Equal(t, rawIDs(wantGroups), ids(items))
		for _, grp := range items {
			members := grp["__members"].([]any)
			direct := rawList(t, srv, "groups/"+idString(grp["id"])+"/members", nil)
			humans := 0
			for _, m := range direct {
				if !isBot(m) {
					humans++
				}
			}
			assert.Len(t, members, humans, "bots are left out by default")
			for _, m := range members {
				row := m.(map[string]any)
				keys := make([]string, 0, len(row))
				for k := range row {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				assert.Equal(t, []string{"access_level", "email", "id", "name", "username"}, keys)
			}
		}
	})

	t.Run("member", func(t *testing.T) {
		members := fetch(t, g, KindMember, `{}`)
		withBots := fetch(t, g, KindMember, `{"includeBotMembers":true}`)
		assert.Greater(t, len(withBots), len(members), "every top-level group has a bot")
		for _, m := range members {
			assert.False(t, isBot(m))
			assert.Contains(t, m, "state", "raw member objects")
		}
		srv.ResetStats()
		inherited := fetch(t, g, KindMember, `{"includeInheritedMembers":true}`)
		assert.Positive(t, srv.RouteRequests("GET /groups/:id/members/all"))
		assert.Zero(t, srv.RouteRequests("GET /groups/:id/members"))
		assert.GreaterOrEqual(t, len(inherited), len(members))
	})

	t.Run("project-with-members", func(t *testing.T) {
		items := fetch(t, g, KindProjectWithMembers, `{"includeBotMembers":true}`)
		require.NotEmpty(t, items)
		for _, p := range items {
			assert.IsType(t, []any{}, p["__members"])
		}
	})
}

// everyGroupWalk is gitlab-v2's way: every group's list, deduplicated.
func everyGroupWalk(t *testing.T, srv *gitlabtest.Server, suffix string, q url.Values) []string {
	seen := map[string]bool{}
	for _, grp := range rawList(t, srv, "groups", url.Values{"all_available": {"true"}, "min_access_level": {"30"}}) {
		for _, it := range rawList(t, srv, "groups/"+idString(grp["id"])+"/"+suffix, cloneValues(q)) {
			seen[idString(it["id"])] = true
		}
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func TestMergeRequestsAndIssuesPerTopLevelGroup(t *testing.T) {
	t.Parallel()
	size := sizeNested
	size.Now = recorderEpoch // the integration's clock (newIntegration's sleepRecorder)
	srv := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(6, size)))
	g, _ := newIntegration(t, srv)

	mrs := fetch(t, g, KindMergeRequest, `{"states":["opened","merged"],"updatedAfter":30}`)
	require.NotEmpty(t, mrs)
	mrRequests := srv.RouteRequests("GET /groups/:id/merge_requests")
	groups := rawList(t, srv, "groups", url.Values{"all_available": {"true"}, "min_access_level": {"30"}})
	inSet := map[string]bool{}
	for _, grp := range groups {
		inSet[idString(grp["id"])] = true
	}
	roots := 0
	for _, grp := range groups {
		if grp["parent_id"] == nil || !inSet[idString(grp["parent_id"])] {
			roots++
		}
	}
	require.Less(t, roots, len(groups))
	assert.Equal(t, int64(2*roots), mrRequests, "one list per top-level group and state (all fit in a page here)")
	assert.Len(t, byID(mrs), len(mrs), "no duplicates")
	opened := everyGroupWalk(t, srv, "merge_requests", url.Values{"state": {"opened"}})
	merged := everyGroupWalk(t, srv, "merge_requests", url.Values{"state": {"merged"}, "updated_after": {daysAgo(recorderEpoch, 30)}})
	assert.Equal(t, sortedUnion(opened, merged), ids(mrs), "same merge requests as gitlab-v2's every-group walk")
	cutoff := recorderEpoch.Add(-31 * 24 * time.Hour)
	for _, mr := range mrs {
		st := mr["state"].(string)
		require.Contains(t, []string{"opened", "merged"}, st)
		if st == "merged" {
			ts, err := time.Parse(time.RFC3339, mr["updated_at"].(string))
			require.NoError(t, err)
			assert.True(t, ts.After(cutoff))
		}
	}

	srv.ResetStats()
	issues := fetch(t, g, KindIssue, `{"state":"closed"}`)
	assert.Equal(t, everyGroupWalk(t, srv, "issues", url.Values{"state": {"closed"}, "non_archived": {"true"}}), ids(issues))
	for _, is := range issues {
		assert.Equal(t, "closed", is["state"])
	}
	allIssues := fetch(t, g, KindIssue, `{}`)
	assert.Greater(t, len(allIssues), len(issues))
}

func sortedUnion(a, b []string) []string {
	m := map[string]bool{}
	for _, s := range append(append([]string(nil), a...), b...) {
		m[s] = true
	}
	out := make([]string, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func TestProjectChildKinds(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, _ := newIntegration(t, srv)
	projects := fetch(t, g, KindProject, `{}`)
	paths := map[string]string{}
	defaults := map[string]string{}
	for _, p := range projects {
		paths[idString(p["id"])] = p["path_with_namespace"].(string)
		defaults[idString(p["id"])] = str(p["default_branch"])
	}
	stubOK := func(t *testing.T, it ocean.Item, pid string) {
		t.Helper()
		assert.Equal(t, map[string]any{"path_with_namespace": paths[pid]}, it["__project"])
	}

	t.Run("pipeline", func(t *testing.T) {
		items := fetch(t, g, KindPipeline, `{}`)
		require.NotEmpty(t, items)
		for _, it := range items {
			stubOK(t, it, idString(it["project_id"]))
		}
		failed := fetch(t, g, KindPipeline, `{"apiQueryParams":{"status":"failed"}}`)
		assert.Less(t, len(failed), len(items))
		for _, it := range failed {
			assert.Equal(t, "failed", it["status"])
		}
	})
	t.Run("job", func(t *testing.T) {
		srv.ResetStats()
		items := fetch(t, g, KindJob, `{}`)
		require.NotEmpty(t, items)
		assert.Len(t, byID(items), len(items))
		assert.Positive(t, srv.RouteRequests("GET /projects/:id/pipelines/:pipeline_id/jobs"))
		success := fetch(t, g, KindJob, `{"pipelineQueryParams":{"status":"success"}}`)
		assert.Less(t, len(success), len(items))
		for _, j := range success {
			assert.Equal(t, "success", j["pipeline"].(map[string]any)["status"])
		}
	})
	t.Run("deployment", func(t *testing.T) {
		items := fetch(t, g, KindDeployment, `{}`)
		require.NotEmpty(t, items)
		for _, it := range items {
			p := it["__project"].(ocean.Item)
			assert.Contains(t, p, "namespace", "the full project")
			assert.Contains(t, paths, idString(p["id"]))
		}
		ok := fetch(t, g, KindDeployment, `{"apiQueryParams":{"status":"success"}}`)
		for _, it := range ok {
			assert.Equal(t, "success", it["status"])
		}
		err := kindByName(t, g, KindDeployment).Fetch(t.Context(), json.RawMessage(`{"apiQueryParams":{"finishedAfter":"2024-01-01T00:00:00Z"}}`), &collector{})
		var se *ocean.SelectorError
		assert.ErrorAs(t, err, &se, "finished filters need status success")
	})
	t.Run("tag and release", func(t *testing.T) {
		for _, kind := range []string{KindTag, KindRelease} {
			items := fetch(t, g, kind, `{}`)
			require.NotEmpty(t, items, kind)
			for _, it := range items {
				pp := it["__project"].(map[string]any)["path_with_namespace"].(string)
				assert.Contains(t, valuesOf(paths), pp)
			}
		}
	})
	t.Run("branch", func(t *testing.T) {
		items := fetch(t, g, KindBranch, `{}`)
		withDefault := 0
		for _, d := range defaults {
			if d != "" {
				withDefault++
			}
		}
		assert.Len(t, items, withDefault, "one default branch per non-empty project")
		for _, b := range items {
			assert.Equal(t, true, b["default"])
		}
		develop := fetch(t, g, KindBranch, `{"defaultBranchOnly":false,"regex":"^develop$"}`)
		require.NotEmpty(t, develop)
		for _, b := range develop {
			assert.Equal(t, "develop", b["name"])
			assert.Contains(t, b, "__project")
		}
		all := fetch(t, g, KindBranch, `{"defaultBranchOnly":false}`)
		assert.Greater(t, len(all), len(items))
	})
}

func valuesOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestSelectorDecoding(t *testing.T) {
	t.Parallel()
	mr, err := ocean.DecodeSelector[MergeRequestSelector](json.RawMessage(`{"query":"true"}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"opened"}, mr.States)
	assert.Equal(t, 90.0, mr.UpdatedAfter)
	assert.Equal(t, "true", mr.Query)

	is, err := ocean.DecodeSelector[IssueSelector](nil)
	require.NoError(t, err)
	assert.True(t, is.NonArchived)

	br, err := ocean.DecodeSelector[BranchSelector](json.RawMessage(`{}`))
	require.NoError(t, err)
	assert.True(t, br.DefaultBranchOnly)

	pl, err := ocean.DecodeSelector[PipelineSelector](json.RawMessage(`{"apiQueryParams":{"status":"failed","updatedAfter":"2024-01-01T00:00:00Z","yaml_errors":true}}`))
	require.NoError(t, err)
	assert.Equal(t, "2024-01-01T00:00:00Z", pl.APIQueryParams.UpdatedAfter, "camelCase is accepted too")
	assert.Equal(t, "true", pl.APIQueryParams.values()["yaml_errors"])

	dp, err := ocean.DecodeSelector[DeploymentSelector](json.RawMessage(`{"apiQueryParams":{"status":"success","finishedAfter":"2024-01-01T00:00:00+02:00"}}`))
	require.NoError(t, err)
	assert.Equal(t, "2024-01-01T00:00:00+02:00", dp.APIQueryParams.FinishedAfter)

	p, err := ocean.DecodeSelector[ProjectSelector](json.RawMessage(`{"searchQueries":[{"name":"a","query":"x"}]}`))
	require.NoError(t, err)
	assert.Equal(t, "blobs", p.SearchQueries[0].scope())
	assert.Nil(t, p.IncludeOnlyActiveProjects, "unset means no active filter")

	bad := map[string]string{
		"merge-request state": `{"states":["draft"]}`,
		"issue type":          `{"issueType":"epic"}`,
		"pipeline status":     `{"apiQueryParams":{"status":"done"}}`,
		"pipeline date":       `{"apiQueryParams":{"updated_after":"yesterday"}}`,
		"branch regex":        `{"regex":"("}`,
		"deployment finished": `{"apiQueryParams":{"finishedBefore":"2024-01-01T00:00:00Z"}}`,
		"search query":        `{"searchQueries":[{"name":"a"}]}`,
		"wrong type":          `{"includeLanguages":"yes"}`,
	}
	kinds := map[string]string{
		"merge-request state": KindMergeRequest, "issue type": KindIssue, "pipeline status": KindPipeline,
		"pipeline date": KindPipeline, "branch regex": KindBranch, "deployment finished": KindDeployment,
		"search query": KindProject, "wrong type": KindProject,
	}
	g, err := New(Config{Host: "https://gitlab.example.com", Token: "t"})
	require.NoError(t, err)
	for name, sel := range bad {
		k := kindByName(t, g, kinds[name])
		err := k.Fetch(t.Context(), json.RawMessage(sel), &collector{})
		var se *ocean.SelectorError
		assert.ErrorAs(t, err, &se, name)
	}
}

func TestDefaultsAreConsistent(t *testing.T) {
	t.Parallel()
	fsys := Defaults()
	b, err := fsReadFile(fsys, "blueprints.json")
	require.NoError(t, err)
	var bps []struct {
		Identifier string `json:"identifier"`
		Title      string `json:"title"`
		Icon       string `json:"icon"`
		Schema     struct {
			Properties map[string]map[string]any `json:"properties"`
			Required   []string                  `json:"required"`
		} `json:"schema"`
		Relations map[string]struct {
			Target   string `json:"target"`
			Required bool   `json:"required"`
			Many     bool   `json:"many"`
		} `json:"relations"`
	}
	require.NoError(t, json.Unmarshal(b, &bps))
	props := map[string]map[string]bool{}
	rels := map[string]map[string]bool{}
	for _, bp := range bps {
		require.NotEmpty(t, bp.Title)
		props[bp.Identifier] = map[string]bool{}
		rels[bp.Identifier] = map[string]bool{}
		for p := range bp.Schema.Properties {
			props[bp.Identifier][p] = true
		}
		for r, rel := range bp.Relations {
			rels[bp.Identifier][r] = true
			assert.Contains(t, props, rel.Target, "relation target defined earlier")
		}
	}
	for _, id := range []string{"service", "gitlabMember", "gitlabGroup", "gitlabMergeRequest"} {
		assert.Contains(t, props, id)
	}
	for _, p := range []string{"readme", "codeowners", "url", "language", "tier"} {
		assert.True(t, props["service"][p], p)
	}
	assert.True(t, rels["gitlabGroup"]["gitlabMembers"])
	assert.True(t, rels["gitlabMergeRequest"]["project"])

	cfg := loadDefaultMapping(t)
	kinds := map[string]bool{}
	for _, k := range (&Integration{}).Kinds() {
		kinds[k.Name()] = true
	}
	for _, r := range cfg.Resources {
		assert.True(t, kinds[r.Kind], r.Kind)
		bp := unquote(r.Port.Entity.Mappings.Blueprint)
		for p := range r.Port.Entity.Mappings.Properties {
			assert.True(t, props[bp][p], "%s.%s", bp, p)
		}
		for rel := range r.Port.Entity.Mappings.Relations {
			assert.True(t, rels[bp][rel], "%s.%s", bp, rel)
		}
	}
}

func unquote(s string) string {
	u, err := strconv.Unquote(s)
	if err != nil {
		return s
	}
	return u
}

func ExampleIntegration_Provider() {
	cfg := Config{
		Host:  "https://gitlab.example.com",
		Token: settings.Secret("glpat-xxxxxxxxxxxxxxxxxxxx"),
		// Keep at most 8 requests in flight and 600 per minute.
		MaxConcurrency:    8,
		RequestsPerMinute: 600,
		UseGraphQL:        true,
	}
	g, err := New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	p := g.Provider() // what ocean.New takes, alone or beside other providers' kinds
	fmt.Println(p.Type, len(p.Kinds), p.TopLevelKeys)
	// Output: gitlab-v2 17 [visibility]
}

// The member lists a resync shares are bounded: the oldest is dropped and
// fetched again when asked for.
func TestMemberCacheIsBounded(t *testing.T) {
	t.Parallel()
	c := newMemberCache(2)
	fetches := map[string]int{}
	get := func(key string) {
		pages, err := c.get(t.Context(), key, func(context.Context) ([][]ocean.Item, error) {
			fetches[key]++
			return [][]ocean.Item{{{"owner": key}}}, nil
		})
		require.NoError(t, err)
		assert.Equal(t, key, pages[0][0]["owner"])
	}
	for _, k := range []string{"a", "b", "a", "b", "c", "a"} {
		get(k)
	}
	assert.Equal(t, map[string]int{"a": 2, "b": 1, "c": 1}, fetches, "a was dropped when c came")
	assert.LessOrEqual(t, len(c.m), 2)

	failed := errors.New("boom")
	_, err := c.get(t.Context(), "d", func(context.Context) ([][]ocean.Item, error) { return nil, failed })
	require.ErrorIs(t, err, failed)
	get("d")
	assert.Equal(t, 1, fetches["d"], "a failed fetch is not kept")
}
