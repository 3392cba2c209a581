package gitlabtest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOffsetPaginationAcrossPages(t *testing.T) {
	t.Parallel()
	ds := Generate(7, SizeMedium)
	s := NewServer(t, WithDataset(ds))
	want := 0
	for _, p := range ds.Projects() {
		if p.Visibility != "private" || ds.projectAccessOf(p.ID) >= GuestAccess {
			want++
		}
	}
	const perPage = 17
	var seen []int
	path := "/api/v4/projects?per_page=" + strconv.Itoa(perPage) + "&order_by=id&sort=asc"
	for page := 1; ; page++ {
		resp, items := getList(t, s, path+"&page="+strconv.Itoa(page))
		h := resp.Header
		assert.Equal(t, strconv.Itoa(page), h.Get("X-Page"))
		assert.Equal(t, strconv.Itoa(perPage), h.Get("X-Per-Page"))
		assert.Equal(t, strconv.Itoa(want), h.Get("X-Total"))
		assert.Equal(t, strconv.Itoa((want+perPage-1)/perPage), h.Get("X-Total-Pages"))
		r := rels(h.Get("Link"))
		assert.Contains(t, r, "first")
		assert.Contains(t, r, "last")
		if page > 1 {
			assert.Equal(t, strconv.Itoa(page-1), h.Get("X-Prev-Page"))
			assert.Contains(t, r, "prev")
		} else {
			assert.Empty(t, h.Get("X-Prev-Page"))
		}
		seen = append(seen, ids(items)...)
		if h.Get("X-Next-Page") == "" {
			assert.NotContains(t, r, "next")
			break
		}
		assert.Equal(t, strconv.Itoa(page+1), h.Get("X-Next-Page"))
		require.Len(t, items, perPage)
		require.Less(t, page, 100)
	}
	assert.Len(t, seen, want)
	assert.True(t, slices.IsSorted(seen))
	assert.Len(t, slices.Compact(slices.Clone(seen)), want, "no duplicates")
}

func TestOffsetPaginationOmitsTotalsAboveTenThousand(t *testing.T) {
	t.Parallel()
	ds := Generate(1, Size{Groups: 1, ProjectsPerGroup: 1, MergeRequestsPerProject: 10001})
	s := NewServer(t, WithDataset(ds))
	pid := ds.Projects()[0].ID
	resp, items := getList(t, s, "/api/v4/projects/"+strconv.Itoa(pid)+"/merge_requests?per_page=100&state=all")
	assert.Len(t, items, 100)
	assert.Empty(t, resp.Header.Get("X-Total"))
	assert.Empty(t, resp.Header.Get("X-Total-Pages"))
	assert.Equal(t, "2", resp.Header.Get("X-Next-Page"))
	assert.ElementsMatch(t, []string{"next", "first"}, rels(resp.Header.Get("Link")))

	resp, items = getList(t, s, "/api/v4/projects/"+strconv.Itoa(pid)+"/merge_requests?per_page=100&page=101")
	assert.Len(t, items, 1)
	assert.Empty(t, resp.Header.Get("X-Next-Page"))
}

func TestPerPageBounds(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithDataset(Generate(3, SizeMedium)))
	for _, tc := range []struct {
		q    string
		want int
	}{{"", 20}, {"per_page=0", 20}, {"per_page=abc", 20}, {"per_page=5", 5}, {"per_page=1000", 100}} {
		resp, items := getList(t, s, "/api/v4/projects?"+tc.q)
		assert.Len(t, items, tc.want, tc.q)
		assert.Equal(t, strconv.Itoa(tc.want), resp.Header.Get("X-Per-Page"), tc.q)
	}
}

func TestKeysetPaginationOnProjects(t *testing.T) {
	t.Parallel()
	ds := Generate(7, SizeMedium)
	s := NewServer(t, WithDataset(ds))
	_, all := getList(t, s, "/api/v4/projects?per_page=100&order_by=id&sort=asc&page=1")
	for _, dir := range []string{"asc", "desc"} {
		url := s.URL + "/api/v4/projects?pagination=keyset&per_page=25&order_by=id&sort=" + dir
		var seen []int
		pages := 0
		for url != "" {
			resp, items := getList(t, s, strings.TrimPrefix(url, s.URL))
			assert.Empty(t, resp.Header.Get("X-Total"))
			assert.Empty(t, resp.Header.Get("X-Total-Pages"))
			seen = append(seen, ids(items)...)
			url = nextLink(resp.Header.Get("Link"))
			if url != "" {
				key := map[string]string{"asc": "id_after=", "desc": "id_before="}[dir]
				assert.Contains(t, url, key+strconv.Itoa(seen[len(seen)-1]))
				assert.Equal(t, []string{"next"}, rels(resp.Header.Get("Link")))
			}
			pages++
			require.Less(t, pages, 100)
		}
		total, _ := strconv.Atoi(getHeader(t, s, "/api/v4/projects", "X-Total"))
		assert.Len(t, seen, total, dir)
		if dir == "asc" {
			assert.True(t, slices.IsSorted(seen))
			assert.Equal(t, ids(all)[:len(all)], seen[:len(all)])
		} else {
			assert.True(t, slices.IsSortedFunc(seen, func(a, b int) int { return b - a }))
		}
	}

	resp, b := get(t, s, "/api/v4/projects?pagination=keyset&order_by=name")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Contains(t, string(b), "Keyset pagination is not yet available")
}

func getHeader(t *testing.T, s *Server, path, h string) string {
	t.Helper()
	resp, _ := get(t, s, path)
	return resp.Header.Get(h)
}

func TestKeysetPaginationOnGroupsIssuesAndJobs(t *testing.T) {
	t.Parallel()
	ds := Generate(5, SizeMedium)
	s := NewServer(t, WithDataset(ds))
	for _, path := range []string{
		"/api/v4/groups?all_available=true&pagination=keyset&order_by=id&sort=asc&per_page=10",
		"/api/v4/groups/1/projects?include_subgroups=true&pagination=keyset&order_by=id&sort=asc&per_page=4",
		"/api/v4/projects/1/issues?pagination=keyset&order_by=id&sort=asc&per_page=3",
		"/api/v4/projects/1/jobs?pagination=keyset&order_by=id&sort=desc&per_page=3",
	} {
		url := path
		var seen []int
		for url != "" {
			resp, items := getList(t, s, url)
			seen = append(seen, ids(items)...)
			url = strings.TrimPrefix(nextLink(resp.Header.Get("Link")), s.URL)
		}
		require.NotEmpty(t, seen, path)
		assert.Len(t, slices.Compact(slices.Clone(seen)), len(seen), path)
		_, plain := getList(t, s, strings.Replace(strings.Replace(path, "pagination=keyset", "page=1", 1), "per_page=", "x=", 1)+"&per_page=100")
		assert.ElementsMatch(t, ids(plain), seen, path)
	}
}

func TestOffsetCapOnProjects(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithOffsetLimit(10))
	resp, items := getList(t, s, "/api/v4/projects?per_page=5&page=2")
	assert.Len(t, items, 5)
	assert.Equal(t, "3", resp.Header.Get("X-Next-Page"))

	resp, b := get(t, s, "/api/v4/projects?per_page=5&page=3")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.JSONEq(t, `{"error":"Offset pagination has a maximum allowed offset of 10 for requests that return objects of type Project. Remaining records can be retrieved using keyset pagination."}`, string(b))

	// Keyset is not capped, and other endpoints have no cap.
	_, items = getList(t, s, "/api/v4/projects?pagination=keyset&order_by=id&per_page=5&id_after=11")
	assert.NotEmpty(t, items)
	_, _ = getList(t, s, "/api/v4/groups?per_page=5&page=3")

	// The default cap is GitLab's 50,000.
	def := NewServer(t)
	resp, _ = get(t, def, "/api/v4/projects?per_page=100&page=500")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, b = get(t, def, "/api/v4/projects?per_page=100&page=501")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Contains(t, string(b), "maximum allowed offset of 50000")
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithToken("secret"), WithTokenScopes("read_api", "read_repository"))
	for _, tc := range []struct {
		name, header, value string
		want                int
	}{
		{"private token", "PRIVATE-TOKEN", "secret", 200},
		{"bearer", "Authorization", "Bearer secret", 200},
		{"wrong token", "PRIVATE-TOKEN", "nope", 401},
		{"wrong bearer", "Authorization", "Bearer nope", 401},
		{"missing", "X-Nothing", "x", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := call(t, s, http.MethodGet, "/api/v4/projects", "", "PRIVATE-TOKEN", "", tc.header, tc.value)
			assert.Equal(t, tc.want, resp.StatusCode)
			if tc.want == 401 {
				assert.JSONEq(t, `{"message":"401 Unauthorized"}`, string(b))
			}
		})
	}
	tok := getObject(t, s, "/api/v4/personal_access_tokens/self")
	assert.Equal(t, []any{"read_api", "read_repository"}, tok["scopes"])
	assert.Equal(t, true, tok["active"])
	user := getObject(t, s, "/api/v4/user")
	assert.Equal(t, "oceankit", user["username"])
	assert.Equal(t, tok["user_id"], user["id"])
}

func TestGlobalRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := NewServer(t, WithRateLimit(3), WithClock(clock))
	for i := 1; i <= 3; i++ {
		resp, _ := get(t, s, "/api/v4/projects")
		require.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "3", resp.Header.Get("RateLimit-Limit"))
		assert.Equal(t, strconv.Itoa(i), resp.Header.Get("RateLimit-Observed"))
		assert.Equal(t, strconv.Itoa(3-i), resp.Header.Get("RateLimit-Remaining"))
		assert.Equal(t, strconv.FormatInt(now.Add(time.Minute).Unix(), 10), resp.Header.Get("RateLimit-Reset"))
	}
	resp, b := get(t, s, "/api/v4/groups")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "60", resp.Header.Get("Retry-After"))
	assert.Equal(t, "0", resp.Header.Get("RateLimit-Remaining"))
	assert.NotEmpty(t, resp.Header.Get("RateLimit-ResetTime"))
	assert.Equal(t, "Retry later\n", string(b))

	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	resp, _ = get(t, s, "/api/v4/groups")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "2", resp.Header.Get("RateLimit-Remaining"))
}

func TestEndpointRateLimits(t *testing.T) {
	t.Parallel()
	limits := GitLabComEndpointLimits()
	assert.Equal(t, 50, limits["GET /groups"])
	s := NewServer(t, WithEndpointRateLimits(map[string]int{"GET /groups": 2}))
	for range 2 {
		resp, _ := get(t, s, "/api/v4/groups")
		require.Equal(t, 200, resp.StatusCode)
		assert.Empty(t, resp.Header.Get("RateLimit-Limit"), "rate-limit headers are off by default")
	}
	resp, b := get(t, s, "/api/v4/groups?page=2")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Contains(t, string(b), "requested too many times")
	resp, _ = get(t, s, "/api/v4/groups/1")
	assert.Equal(t, 200, resp.StatusCode, "other routes are not limited")
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	s.FailNext(2, http.StatusServiceUnavailable, 3*time.Second, "/projects")
	resp, _ := get(t, s, "/api/v4/groups")
	assert.Equal(t, 200, resp.StatusCode, "other paths are unaffected")
	for range 2 {
		resp, b := get(t, s, "/api/v4/projects/1/merge_requests")
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.Equal(t, "3", resp.Header.Get("Retry-After"))
		assert.JSONEq(t, `{"message":"503 Service Unavailable"}`, string(b))
	}
	resp, _ = get(t, s, "/api/v4/projects/1/merge_requests")
	assert.Equal(t, 200, resp.StatusCode)

	s.InjectFault(Fault{Status: http.StatusTooManyRequests, Method: "POST", PathPrefix: "/graphql", Count: 1})
	resp, _ = get(t, s, "/api/v4/projects")
	assert.Equal(t, 200, resp.StatusCode)
	resp, b := call(t, s, http.MethodPost, "/api/graphql", `{"query":"{ currentUser { username } }"}`)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "Retry later\n", string(b))

	s.InjectFault(Fault{Status: 500})
	for range 3 {
		resp, _ = get(t, s, "/api/v4/user")
		assert.Equal(t, 500, resp.StatusCode)
	}
	s.ClearFaults()
	resp, _ = get(t, s, "/api/v4/user")
	assert.Equal(t, 200, resp.StatusCode)
}

func TestDenyProject(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	s.DenyProject(1, http.StatusForbidden)
	s.DenyProject(2, http.StatusNotFound)
	for _, p := range []string{"/api/v4/projects/1", "/api/v4/projects/1/merge_requests", "/api/v4/projects/1/repository/tree"} {
		resp, b := get(t, s, p)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, p)
		assert.JSONEq(t, `{"message":"403 Forbidden"}`, string(b))
	}
	resp, b := get(t, s, "/api/v4/projects/2/languages")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"message":"404 Project Not Found"}`, string(b))
	_, items := getList(t, s, "/api/v4/projects?per_page=100")
	assert.Contains(t, ids(items), 1, "denied projects still appear in listings")
	s.AllowProject(1)
	resp, _ = get(t, s, "/api/v4/projects/1/merge_requests")
	assert.Equal(t, 200, resp.StatusCode)
}

func TestRequestAccounting(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	get(t, s, "/api/v4/projects")
	get(t, s, "/api/v4/projects/1/merge_requests")
	get(t, s, "/api/v4/projects/2/merge_requests")
	get(t, s, "/api/v4/projects/"+urlEscape("amber-falcon/x")+"/merge_requests")
	get(t, s, "/api/v4/nope")
	call(t, s, http.MethodPost, "/api/graphql", `{"query":"{ currentUser { id } }"}`)
	assert.EqualValues(t, 6, s.Requests())
	assert.EqualValues(t, 1, s.RouteRequests("GET /projects"))
	assert.EqualValues(t, 3, s.RouteRequests("GET /projects/:id/merge_requests"))
	assert.EqualValues(t, 1, s.RouteRequests("POST /graphql"))
	assert.EqualValues(t, 1, s.RequestsByRoute()["GET <unknown>"])
	s.ResetStats()
	assert.EqualValues(t, 0, s.Requests())
	assert.Empty(t, s.RequestsByRoute())
	assert.Contains(t, Routes(), "GET /projects/:id/repository/files/:file_path/raw")
}

func urlEscape(s string) string { return strings.ReplaceAll(s, "/", "%2F") }

func TestGraphQLDisabled(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithGraphQL(false))
	resp, _ := call(t, s, http.MethodPost, "/api/graphql", `{"query":"{ currentUser { id } }"}`)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestConcurrentReadsAndMutations(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	ds := s.Dataset()
	pid := ds.Projects()[0].ID
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				switch (i + j) % 4 {
				case 0:
					_, err := ds.UpdateMergeRequest(pid, 1, func(m *MergeRequest) { m.Title = "t" + strconv.Itoa(j) })
					assert.NoError(t, err)
				case 1:
					assert.NoError(t, ds.PutFile(pid, *ds.Projects()[0].DefaultBranch, "x/"+strconv.Itoa(i)+".txt", []byte("x")))
				default:
					resp, b := get(t, s, "/api/v4/projects/"+strconv.Itoa(pid)+"/merge_requests?per_page=100")
					assert.Equal(t, 200, resp.StatusCode)
					assert.True(t, json.Valid(b))
				}
			}
		}()
	}
	wg.Wait()
}

// WithRateLimitWindow shortens the windows of both limits: the same
// counts per window, a window that resets sooner, and RateLimit-Limit
// announcing the per-minute rate.
func TestRateLimitWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		route     string
		opts      []Option
		wantLimit string
	}{
		{"global", "/api/v4/projects", []Option{WithRateLimit(2)}, "12"},
		{"endpoint", "/api/v4/groups", []Option{WithEndpointRateLimits(map[string]int{"GET /groups": 2})}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
			s := NewServer(t, append(tt.opts, WithRateLimitWindow(10*time.Second), WithClock(clock))...)
			for range 2 {
				resp, _ := get(t, s, tt.route)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, tt.wantLimit, resp.Header.Get("RateLimit-Limit"))
			}
			resp, _ := get(t, s, tt.route)
			require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
			assert.Equal(t, "10", resp.Header.Get("Retry-After"))
			advance(9 * time.Second)
			resp, _ = get(t, s, tt.route)
			assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the window has not ended")
			advance(time.Second)
			resp, _ = get(t, s, tt.route)
			assert.Equal(t, http.StatusOK, resp.StatusCode, "a new window")
		})
	}
}

// The group listing is memoised per query, and a change to the dataset
// shows in the next listing: after it, the server that memoised lists
// what a fresh server on the same dataset lists.
func TestGroupListingFollowsChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Dataset) error
	}{
		{"create", func(d *Dataset) error { _, err := d.CreateGroup("", "Fresh Group"); return err }},
		{"delete", func(d *Dataset) error { return d.DeleteGroup(strconv.Itoa(d.Groups()[0].ID)) }},
		{"membership", func(d *Dataset) error { return d.RemoveGroupMember(d.Groups()[0].ID, d.CurrentUser().ID) }},
	}
	queries := []string{
		"/api/v4/groups?all_available=true&order_by=id&sort=asc",
		"/api/v4/groups?order_by=id&sort=asc&min_access_level=10",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ds := Generate(3, SizeSmall)
			s := NewServer(t, WithDataset(ds))
			list := func(s *Server, path string) []int {
				var out []int
				for page := 1; ; page++ {
					resp, items := getList(t, s, path+"&per_page=2&page="+strconv.Itoa(page))
					out = append(out, ids(items)...)
					if resp.Header.Get("X-Next-Page") == "" {
						return out
					}
				}
			}
			before := map[string][]int{}
			for _, q := range queries {
				before[q] = list(s, q)
				require.Equal(t, before[q], list(s, q), "the same listing twice")
			}
			require.NoError(t, tt.change(ds))
			fresh := NewServer(t, WithDataset(ds))
			changed := false
			for _, q := range queries {
				after := list(s, q)
				assert.Equal(t, list(fresh, q), after, q)
				changed = changed || !slices.Equal(before[q], after)
			}
			assert.True(t, changed, "the change shows in a listing")
		})
	}
}
