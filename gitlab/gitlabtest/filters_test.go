package gitlabtest

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMergeRequestFilters(t *testing.T) {
	t.Parallel()
	ds := Generate(11, SizeMedium)
	s := NewServer(t, WithDataset(ds))
	g, ok := ds.Group("1")
	require.True(t, ok)

	// Group MRs cover subgroups and skip archived projects by default.
	want := map[string]int{}
	var updatedRecent int
	cut := ReferenceTime().AddDate(0, 0, -30)
	for _, p := range ds.Projects() {
		if p.Archived || !(p.Namespace.FullPath == g.FullPath || strings.HasPrefix(p.Namespace.FullPath, g.FullPath+"/")) {
			continue
		}
		for _, m := range ds.MergeRequests(p.ID) {
			want[m.State]++
			if m.State == "merged" && !m.UpdatedAt.Before(cut) {
				updatedRecent++
			}
		}
	}
	require.NotZero(t, want["opened"])
	for _, state := range []string{"opened", "merged", "closed"} {
		resp, items := getList(t, s, "/api/v4/groups/1/merge_requests?per_page=100&state="+state)
		assert.Equal(t, strconv.Itoa(want[state]), resp.Header.Get("X-Total"), state)
		for _, it := range items {
			assert.Equal(t, state, it["state"])
		}
	}
	resp, _ := getList(t, s, "/api/v4/groups/1/merge_requests?state=merged&updated_after="+cut.Format(time.RFC3339))
	assert.Equal(t, strconv.Itoa(updatedRecent), resp.Header.Get("X-Total"))
	// gitlab-v2 sends Python's str(datetime): "YYYY-MM-DD HH:MM:SS.ffffff+00:00".
	resp, _ = getList(t, s, "/api/v4/groups/1/merge_requests?state=merged&updated_after="+url.QueryEscape(cut.Format("2006-01-02 15:04:05.000000-07:00")))
	assert.Equal(t, strconv.Itoa(updatedRecent), resp.Header.Get("X-Total"))

	resp, b := get(t, s, "/api/v4/groups/1/merge_requests?updated_after=yesterday")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, string(b))

	// The instance list defaults to scope=created_by_me.
	_, mine := getList(t, s, "/api/v4/merge_requests")
	assert.Empty(t, mine)
	_, all := getList(t, s, "/api/v4/merge_requests?scope=all&per_page=5")
	assert.Len(t, all, 5)
}

func TestProjectAndGroupFilters(t *testing.T) {
	t.Parallel()
	ds := Generate(2, SizeSmall)
	s := NewServer(t, WithDataset(ds))
	count := func(path string) int {
		resp, _ := getList(t, s, path)
		n, err := strconv.Atoi(resp.Header.Get("X-Total"))
		require.NoError(t, err)
		return n
	}
	all := count("/api/v4/projects")
	dev := count("/api/v4/projects?min_access_level=30")
	member := count("/api/v4/projects?membership=true")
	assert.Less(t, dev, member, "a Reporter group exists")
	assert.Less(t, member, all, "the external group's public projects are visible")
	assert.Equal(t, 2, count("/api/v4/projects?owned=true"), "personal projects")
	assert.Equal(t, count("/api/v4/projects?archived=true")+count("/api/v4/projects?archived=false"), all)
	assert.Equal(t, 6, count("/api/v4/groups?all_available=true"))
	assert.Equal(t, 4, count("/api/v4/groups"), "non-members see only their groups without all_available")
	assert.Equal(t, 3, count("/api/v4/groups?all_available=true&top_level_only=true"))
	assert.Equal(t, 2, count("/api/v4/groups?min_access_level=30"), "the Owner group and its subgroup; not the Reporter group")
	assert.Equal(t, 3, count("/api/v4/groups/1/projects"))
	assert.Equal(t, 6, count("/api/v4/groups/1/projects?include_subgroups=true"))
	assert.Equal(t, 1, count("/api/v4/groups/1/subgroups"))
	assert.Equal(t, 1, count("/api/v4/groups/1/descendant_groups"))

	p := ds.Projects()[0]
	assert.Equal(t, p.ID, int(getObject(t, s, "/api/v4/projects/"+urlEscape(p.PathWithNamespace))["id"].(float64)))
	_, items := getList(t, s, "/api/v4/projects?search="+p.Name[:5])
	assert.Contains(t, ids(items), p.ID)
}

func TestMembersAndBots(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	_, direct := getList(t, s, "/api/v4/groups/1/members?per_page=100")
	botRe := regexp.MustCompile(`^(?:project|group)_\d+_bot_[a-f0-9]+$`)
	bots := 0
	for _, m := range direct {
		require.Contains(t, m, "bot")
		if m["bot"] == true {
			bots++
			assert.Regexp(t, botRe, m["username"])
		}
	}
	assert.Equal(t, 1, bots)
	_, inherited := getList(t, s, "/api/v4/groups/2/members/all?per_page=100")
	for _, m := range inherited {
		assert.NotContains(t, m, "bot", "/members/all omits bot")
	}
	_, sub := getList(t, s, "/api/v4/groups/2/members?per_page=100")
	assert.Greater(t, len(inherited), len(sub))
	_, pm := getList(t, s, "/api/v4/projects/3/members")
	found := false
	for _, m := range pm {
		found = found || m["bot"] == true
	}
	assert.True(t, found, "every third project has a project bot")
	m := getObject(t, s, "/api/v4/groups/2/members/all/1")
	assert.EqualValues(t, 50, m["access_level"])
}

func TestIssuePipelineDeploymentFilters(t *testing.T) {
	t.Parallel()
	ds := Generate(4, SizeMedium)
	s := NewServer(t, WithDataset(ds))
	_, items := getList(t, s, "/api/v4/groups/1/issues?state=closed&per_page=100")
	for _, it := range items {
		assert.Equal(t, "closed", it["state"])
	}
	_, items = getList(t, s, "/api/v4/groups/1/issues?issue_type=incident&per_page=100")
	require.NotEmpty(t, items)
	for _, it := range items {
		assert.Equal(t, "incident", it["issue_type"])
		assert.Equal(t, "INCIDENT", it["type"])
	}
	_, items = getList(t, s, "/api/v4/groups/1/issues?labels=bug&per_page=100")
	for _, it := range items {
		assert.Contains(t, it["labels"], "bug")
	}

	_, items = getList(t, s, "/api/v4/projects/1/pipelines?status=success&per_page=100")
	for _, it := range items {
		assert.Equal(t, "success", it["status"])
		assert.NotContains(t, it, "detailed_status", "list shape")
	}
	pl := getObject(t, s, "/api/v4/projects/1/pipelines/"+strconv.Itoa(ds.Pipelines(1)[0].ID))
	assert.Contains(t, pl, "detailed_status")
	_, jobs := getList(t, s, "/api/v4/projects/1/pipelines/"+strconv.Itoa(ds.Pipelines(1)[0].ID)+"/jobs")
	assert.Len(t, jobs, SizeMedium.JobsPerPipeline)

	resp, b := get(t, s, "/api/v4/projects/1/deployments?updated_after=2025-01-01T00:00:00Z")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(b), "must be paired")
	resp, _ = get(t, s, "/api/v4/projects/1/deployments?finished_after=2025-01-01T00:00:00Z&order_by=finished_at")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	_, items = getList(t, s, "/api/v4/projects/1/deployments?finished_after=2020-01-01T00:00:00Z&order_by=finished_at&status=success")
	for _, it := range items {
		assert.Equal(t, "success", it["status"])
	}
}

func TestRepositoryEndpoints(t *testing.T) {
	t.Parallel()
	ds := Generate(1, SizeSmall)
	s := NewServer(t, WithDataset(ds))
	p, _ := ds.Project("3") // ID%3==0: multi-document port.yml and a SKILL.md
	def := *p.DefaultBranch

	f := getObject(t, s, "/api/v4/projects/3/repository/files/port.yml?ref="+def)
	content, err := base64.StdEncoding.DecodeString(f["content"].(string))
	require.NoError(t, err)
	assert.Contains(t, string(content), "\n---\n")
	assert.Equal(t, float64(len(content)), f["size"])
	assert.Equal(t, "base64", f["encoding"])
	assert.Len(t, f["blob_id"], 40)
	assert.Len(t, f["last_commit_id"], 40)

	resp, raw := get(t, s, "/api/v4/projects/3/repository/files/port.yml/raw")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, content, raw)
	resp, _ = get(t, s, "/api/v4/projects/3/repository/files/nope.yml?ref="+def)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, b := get(t, s, "/api/v4/projects/3/repository/files/port.yml")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.JSONEq(t, `{"error":"ref is missing"}`, string(b))

	// The second branch has a different README.
	_, readme := get(t, s, "/api/v4/projects/3/repository/files/README.md/raw?ref=develop")
	assert.Contains(t, string(readme), "branch develop")

	_, tree := getList(t, s, "/api/v4/projects/3/repository/tree?recursive=true&per_page=100")
	var skill bool
	for _, e := range tree {
		skill = skill || strings.HasSuffix(e["path"].(string), "/SKILL.md")
	}
	assert.True(t, skill)
	_, docs := getList(t, s, "/api/v4/projects/3/repository/tree?path=docs")
	assert.ElementsMatch(t, []any{"docs/guides", "docs/index.md"}, []any{docs[0]["path"], docs[1]["path"]})
	resp, _ = get(t, s, "/api/v4/projects/3/repository/tree?path=missing")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Oversized and binary files.
	p5, _ := ds.Project("5")
	big := getObject(t, s, "/api/v4/projects/5/repository/files/data%2Ffixtures.json?ref="+*p5.DefaultBranch)
	assert.EqualValues(t, OversizedFileSize, big["size"])

	// Search with GitLab's qualifiers.
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"port.yml filename:port.yml", nil},
		{"filename:SKILL.md", nil},
		{"identifier path:services", nil},
		{"extension:md", nil},
	} {
		_, hits := getList(t, s, "/api/v4/projects/3/search?scope=blobs&search="+strings.ReplaceAll(tc.q, " ", "+"))
		require.NotEmpty(t, hits, tc.q)
		for _, h := range hits {
			path := h["path"].(string)
			switch {
			case strings.Contains(tc.q, "filename:port.yml"):
				assert.True(t, strings.HasSuffix(path, "port.yml"), path)
			case strings.Contains(tc.q, "filename:SKILL.md"):
				assert.True(t, strings.HasSuffix(path, "SKILL.md"), path)
			case strings.Contains(tc.q, "path:services"):
				assert.True(t, strings.HasPrefix(path, "services/"), path)
			case strings.Contains(tc.q, "extension:md"):
				assert.True(t, strings.HasSuffix(path, ".md"), path)
			}
			assert.EqualValues(t, 3, h["project_id"])
		}
	}
	_, none := getList(t, s, "/api/v4/projects/3/search?scope=blobs&search=zzzznotthere")
	assert.Empty(t, none)

	_, groupHits := getList(t, s, "/api/v4/groups/1/search?scope=blobs&search=filename:port.yml&per_page=100")
	assert.NotEmpty(t, groupHits)
	noAdv := NewServer(t, WithDataset(ds), WithAdvancedSearch(false))
	resp, b = get(t, noAdv, "/api/v4/groups/1/search?scope=blobs&search=x")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, strings.ToLower(string(b)), "advanced search")

	// Branches and tags.
	_, branches := getList(t, s, "/api/v4/projects/3/repository/branches?search=^dev")
	require.Len(t, branches, 1)
	assert.Equal(t, "develop", branches[0]["name"])
	_, branches = getList(t, s, "/api/v4/projects/3/repository/branches?regex="+urlEscape("^feature/.*$"))
	for _, b := range branches {
		assert.True(t, strings.HasPrefix(b["name"].(string), "feature/"))
	}
	br := getObject(t, s, "/api/v4/projects/3/repository/branches/"+def)
	assert.Equal(t, true, br["default"])
	_, tags := getList(t, s, "/api/v4/projects/3/repository/tags")
	assert.Len(t, tags, SizeSmall.TagsPerProject)
	_, rels := getList(t, s, "/api/v4/projects/3/releases")
	assert.Len(t, rels, SizeSmall.ReleasesPerProject)

	langs := getObject(t, s, "/api/v4/projects/3/languages")
	var sum float64
	for _, v := range langs {
		sum += v.(float64)
	}
	assert.InDelta(t, 100, sum, 0.05)
}

func TestEmptyRepository(t *testing.T) {
	t.Parallel()
	ds := Generate(1, SizeSmall)
	s := NewServer(t, WithDataset(ds))
	var empty Project
	for _, p := range ds.Projects() {
		if p.EmptyRepo {
			empty = p
		}
	}
	require.NotZero(t, empty.ID)
	assert.Nil(t, empty.DefaultBranch)
	resp, _ := get(t, s, "/api/v4/projects/"+strconv.Itoa(empty.ID)+"/repository/tree")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	_, b := getList(t, s, "/api/v4/projects/"+strconv.Itoa(empty.ID)+"/repository/branches")
	assert.Empty(t, b)
}

func TestHooksAndPipelineTrigger(t *testing.T) {
	t.Parallel()
	ds := Generate(1, SizeSmall)
	s := NewServer(t, WithDataset(ds))
	resp, b := call(t, s, http.MethodPost, "/api/v4/groups/1/hooks", `{"url":"https://example.com/integration/webhook","merge_requests_events":true,"token":"s3cret"}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
	assert.NotContains(t, string(b), "s3cret")
	hooks := ds.GroupHooks(1)
	require.Len(t, hooks, 1)
	assert.Equal(t, "s3cret", hooks[0].Token)
	assert.True(t, hooks[0].MergeRequestsEvents)
	assert.True(t, hooks[0].PushEvents)
	_, list := getList(t, s, "/api/v4/groups/1/hooks")
	require.Len(t, list, 1)
	id := strconv.Itoa(hooks[0].ID)
	resp, _ = call(t, s, http.MethodPut, "/api/v4/groups/1/hooks/"+id, `{"issues_events":true}`)
	assert.Equal(t, 200, resp.StatusCode)
	assert.True(t, ds.GroupHooks(1)[0].IssuesEvents)
	resp, _ = call(t, s, http.MethodDelete, "/api/v4/groups/1/hooks/"+id, "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Empty(t, ds.GroupHooks(1))

	// Group 3 is a Reporter group: hooks need Owner.
	resp, _ = call(t, s, http.MethodPost, "/api/v4/groups/3/hooks", `{"url":"https://example.com/h"}`)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	// Project hooks on a personal project.
	var personal Project
	for _, p := range ds.Projects() {
		if p.Namespace.Kind == "user" && !p.EmptyRepo {
			personal = p
		}
	}
	resp, b = call(t, s, http.MethodPost, "/api/v4/projects/"+strconv.Itoa(personal.ID)+"/hooks", "url=https%3A%2F%2Fexample.com%2Fh&push_events=true", "Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
	assert.Len(t, ds.ProjectHooks(personal.ID), 1)

	before := len(ds.Pipelines(1))
	resp, b = call(t, s, http.MethodPost, "/api/v4/projects/1/pipeline", `{"ref":"develop","variables":[{"key":"A","value":"1"}]}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
	assert.Len(t, ds.Pipelines(1), before+1)
	assert.Contains(t, string(b), `"source":"api"`)
	resp, b = call(t, s, http.MethodPost, "/api/v4/projects/1/pipeline", `{"ref":"no-such-branch"}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(b), "Reference not found")
}

func TestMutationsAreServed(t *testing.T) {
	t.Parallel()
	ds := Generate(1, SizeSmall)
	s := NewServer(t, WithDataset(ds))
	ds.SetClock(func() time.Time { return ReferenceTime().Add(time.Hour) })

	m, err := ds.UpdateMergeRequest(1, 1, func(m *MergeRequest) { m.State = "merged" })
	require.NoError(t, err)
	assert.Equal(t, ReferenceTime().Add(time.Hour), m.UpdatedAt.Time)
	assert.False(t, m.MergedAt.IsZero())
	_, items := getList(t, s, "/api/v4/projects/1/merge_requests?updated_after="+ReferenceTime().Format(time.RFC3339))
	require.Len(t, items, 1)
	assert.Equal(t, "merged", items[0]["state"])
	p, _ := ds.Project("1")
	assert.Equal(t, ReferenceTime().Add(time.Hour), p.LastActivityAt.Time)

	created, err := ds.CreateMergeRequest(1, MergeRequest{Title: "New"})
	require.NoError(t, err)
	assert.Equal(t, "opened", created.State)
	got := getObject(t, s, "/api/v4/projects/1/merge_requests/"+strconv.Itoa(created.IID))
	assert.Equal(t, "New", got["title"])
	require.NoError(t, ds.DeleteMergeRequest(1, created.IID))
	resp, _ := get(t, s, "/api/v4/projects/1/merge_requests/"+strconv.Itoa(created.IID))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	is, err := ds.CreateIssue(1, Issue{Title: "Broken", IssueType: "incident"})
	require.NoError(t, err)
	assert.Equal(t, "INCIDENT", is.Type)

	require.NoError(t, ds.PutFile(1, *p.DefaultBranch, "new/port.yml", []byte("identifier: new\n")))
	_, raw := get(t, s, "/api/v4/projects/1/repository/files/new%2Fport.yml/raw")
	assert.Equal(t, "identifier: new\n", string(raw))
	require.NoError(t, ds.DeleteFile(1, *p.DefaultBranch, "new/port.yml"))
	resp, _ = get(t, s, "/api/v4/projects/1/repository/files/new%2Fport.yml/raw")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	require.NoError(t, ds.CreateBranch(1, "hotfix", *p.DefaultBranch))
	getObject(t, s, "/api/v4/projects/1/repository/branches/hotfix")
	require.NoError(t, ds.DeleteBranch(1, "hotfix"))

	np, err := ds.CreateProject("amber-falcon", "brand-new")
	require.NoError(t, err)
	assert.Equal(t, "amber-falcon/brand-new", np.PathWithNamespace)
	getObject(t, s, "/api/v4/projects/amber-falcon%2Fbrand-new/repository/files/README.md?ref=main")
	_, err = ds.CreateProject("amber-falcon", "brand-new")
	require.ErrorIs(t, err, ErrExists)
	require.NoError(t, ds.DeleteProject(strconv.Itoa(np.ID)))
	resp, _ = get(t, s, "/api/v4/projects/"+strconv.Itoa(np.ID))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.ErrorIs(t, ds.DeleteProject("no/such"), ErrNotFound)

	u, err := ds.CreateUser("project_1_bot_abc123", "bot", true)
	require.NoError(t, err)
	require.NoError(t, ds.AddProjectMember(1, u.ID, DeveloperAccess))
	m2 := getObject(t, s, "/api/v4/projects/1/members/"+strconv.Itoa(u.ID))
	assert.Equal(t, true, m2["bot"])
	require.NoError(t, ds.RemoveProjectMember(1, u.ID))
	require.NoError(t, ds.AddGroupMember(1, u.ID, ReporterAccess))
	require.NoError(t, ds.RemoveGroupMember(1, u.ID))
}
