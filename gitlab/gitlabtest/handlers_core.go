package gitlabtest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// orderFunc compares two items for one order_by value.
type orderFunc[T any] func(a, b T) int

// sortList sorts items by the request's order_by/sort, with the given
// defaults; ties are broken by the id order so pages are stable. It writes
// 400 and returns false for an unknown order_by.
func sortList[T any](rc *reqCtx, items []T, orders map[string]orderFunc[T], defOrder, defSort string, id func(T) int) bool {
	ob := rc.q.Get("order_by")
	if ob == "" {
		ob = defOrder
	}
	f, ok := orders[ob]
	if !ok {
		writeError(rc.w, http.StatusBadRequest, "order_by does not have a valid value")
		return false
	}
	dir := rc.q.Get("sort")
	if dir == "" {
		dir = defSort
	}
	if dir != "asc" && dir != "desc" {
		writeError(rc.w, http.StatusBadRequest, "sort does not have a valid value")
		return false
	}
	desc := dir == "desc"
	// Ties are broken by ID, so an unstable sort is deterministic.
	slices.SortFunc(items, func(a, b T) int {
		c := f(a, b)
		if c == 0 {
			c = cmp.Compare(id(a), id(b))
		}
		if desc {
			return -c
		}
		return c
	})
	return true
}

func cmpTime(a, b Time) int { return a.Compare(b.Time) }

// --- resolution of path parameters ---

// project resolves :id, writing 404/403 when the user may not see it.
func (rc *reqCtx) project() *projectState {
	ds := rc.s.ds
	ps := ds.findProject(rc.params["id"])
	if ps == nil || !ds.projectVisible(rc.uid, ps) {
		writeMessage(rc.w, http.StatusNotFound, "404 Project Not Found")
		return nil
	}
	switch rc.s.deniedStatus(ps.p.ID) {
	case 0:
		return ps
	case http.StatusForbidden:
		writeMessage(rc.w, http.StatusForbidden, "403 Forbidden")
	default:
		writeMessage(rc.w, http.StatusNotFound, "404 Project Not Found")
	}
	return nil
}

func (rc *reqCtx) group() *Group {
	ds := rc.s.ds
	g := ds.findGroup(rc.params["id"])
	if g == nil || !ds.groupVisible(rc.uid, g) {
		writeMessage(rc.w, http.StatusNotFound, "404 Group Not Found")
		return nil
	}
	return g
}

func (rc *reqCtx) rlock() func() {
	rc.s.ds.mu.RLock()
	return rc.s.ds.mu.RUnlock
}

// --- user and token ---

func handleUser(rc *reqCtx) {
	defer rc.rlock()()
	writeJSON(rc.w, http.StatusOK, rc.s.ds.userByID[rc.uid])
}

func handleVersion(rc *reqCtx) {
	writeJSON(rc.w, http.StatusOK, map[string]any{"version": rc.s.cfg.version, "revision": "0a1b2c3d4e5", "enterprise": strings.HasSuffix(rc.s.cfg.version, "-ee")})
}

func handleTokenSelf(rc *reqCtx) {
	if k := rc.s.cfg.tokenKind; k == TokenOAuth || k == TokenJob {
		writeMessage(rc.w, http.StatusNotFound, "404 Not Found")
		return
	}
	defer rc.rlock()()
	u := rc.s.ds.userByID[rc.uid]
	writeJSON(rc.w, http.StatusOK, PersonalAccessToken{
		ID: 1, Name: "gitlabtest", CreatedAt: u.CreatedAt, Description: "gitlabtest token", Scopes: rc.s.cfg.scopes,
		UserID: u.ID, LastUsedAt: T(time.Now().UTC().Truncate(time.Millisecond)), Active: true,
	})
}

// --- projects ---

type projectSimple struct {
	ID                int       `json:"id"`
	Description       *string   `json:"description"`
	Name              string    `json:"name"`
	NameWithNamespace string    `json:"name_with_namespace"`
	Path              string    `json:"path"`
	PathWithNamespace string    `json:"path_with_namespace"`
	CreatedAt         Time      `json:"created_at"`
	DefaultBranch     *string   `json:"default_branch"`
	TagList           []string  `json:"tag_list"`
	Topics            []string  `json:"topics"`
	SSHURLToRepo      string    `json:"ssh_url_to_repo"`
	HTTPURLToRepo     string    `json:"http_url_to_repo"`
	WebURL            string    `json:"web_url"`
	ReadmeURL         *string   `json:"readme_url"`
	ForksCount        int       `json:"forks_count"`
	AvatarURL         *string   `json:"avatar_url"`
	StarCount         int       `json:"star_count"`
	LastActivityAt    Time      `json:"last_activity_at"`
	Namespace         Namespace `json:"namespace"`
}

func (rc *reqCtx) projectEncoder() func(*projectState) []byte {
	simple, _ := rc.boolParam("simple")
	stats, _ := rc.boolParam("statistics")
	switch {
	case simple:
		return func(ps *projectState) []byte {
			p := ps.p
			b, _ := json.Marshal(projectSimple{p.ID, p.Description, p.Name, p.NameWithNamespace, p.Path, p.PathWithNamespace,
				p.CreatedAt, p.DefaultBranch, p.TagList, p.Topics, p.SSHURLToRepo, p.HTTPURLToRepo, p.WebURL, p.ReadmeURL,
				p.ForksCount, p.AvatarURL, p.StarCount, p.LastActivityAt, p.Namespace})
			return b
		}
	case stats:
		return func(ps *projectState) []byte {
			p := *ps.p
			p.Statistics = ps.statistics()
			b, _ := json.Marshal(&p)
			return b
		}
	}
	// One request's projects are encoded one after the other into scratch
	// (the callers copy each answer before asking for the next).
	var scratch []byte
	return func(ps *projectState) []byte {
		p := ps.p
		return p.cache.getWith(p, &scratch, func(dst []byte) ([]byte, bool) { return appendProject(dst, p) })
	}
}

func (ps *projectState) statistics() *ProjectStatistics {
	st := &ProjectStatistics{CommitCount: len(ps.pipelines) + 1}
	if b := ps.defaultBranch(); b != nil {
		for _, f := range b.files {
			st.RepositorySize += f.size()
		}
	}
	st.StorageSize = st.RepositorySize
	return st
}

var projectOrders = map[string]orderFunc[*projectState]{
	"id": func(a, b *projectState) int { return cmp.Compare(a.p.ID, b.p.ID) },
	"name": func(a, b *projectState) int {
		return strings.Compare(strings.ToLower(a.p.Name), strings.ToLower(b.p.Name))
	},
	"path":             func(a, b *projectState) int { return strings.Compare(a.p.Path, b.p.Path) },
	"created_at":       func(a, b *projectState) int { return cmpTime(a.p.CreatedAt, b.p.CreatedAt) },
	"updated_at":       func(a, b *projectState) int { return cmpTime(a.p.UpdatedAt, b.p.UpdatedAt) },
	"last_activity_at": func(a, b *projectState) int { return cmpTime(a.p.LastActivityAt, b.p.LastActivityAt) },
	"star_count":       func(a, b *projectState) int { return cmp.Compare(a.p.StarCount, b.p.StarCount) },
	"similarity":       func(a, b *projectState) int { return 0 },
}

func projectID(ps *projectState) int { return ps.p.ID }

// filterProjects applies the filters shared by /projects and
// /groups/:id/projects; false means a 400 was written.
func (rc *reqCtx) filterProjects(in []*projectState) ([]*projectState, bool) {
	return rc.filterProjectsUpTo(in, -1, false)
}

// filterProjectsUpTo is filterProjects stopping after limit matches (-1:
// no limit), walking in from its end when reverse is set.
func (rc *reqCtx) filterProjectsUpTo(in []*projectState, limit int, reverse bool) ([]*projectState, bool) {
	ds := rc.s.ds
	membership, _ := rc.boolParam("membership")
	owned, _ := rc.boolParam("owned")
	minAccess, hasMin := rc.intParam("min_access_level")
	archived, hasArchived := rc.boolParam("archived")
	active, hasActive := rc.boolParam("active")
	search := strings.ToLower(rc.q.Get("search"))
	visibility := rc.q.Get("visibility")
	topics := rc.listParam("topic")
	withIssues, _ := rc.boolParam("with_issues_enabled")
	withMRs, _ := rc.boolParam("with_merge_requests_enabled")
	lastActivity, ok := rc.timeFilter("last_activity")
	if !ok {
		return nil, false
	}
	updated, ok := rc.timeFilter("updated")
	if !ok {
		return nil, false
	}
	idAfter, hasIDAfter := rc.intParam("id_after")
	idBefore, hasIDBefore := rc.intParam("id_before")
	keyset := rc.q.Get("pagination") == "keyset"
	capacity := len(in)
	if limit >= 0 {
		capacity = min(capacity, limit)
	}
	out := make([]*projectState, 0, capacity)
	for i := range in {
		if limit >= 0 && len(out) >= limit {
			break
		}
		ps := in[i]
		if reverse {
			ps = in[len(in)-1-i]
		}
		p := ps.p
		if !ds.projectVisible(rc.uid, ps) {
			continue
		}
		if membership || hasMin {
			acc := ds.projectAccess(rc.uid, ps)
			if (membership && acc < GuestAccess) || (hasMin && acc < minAccess) {
				continue
			}
		}
		if owned && ps.ownerID != rc.uid {
			continue
		}
		if hasArchived && p.Archived != archived {
			continue
		}
		if hasActive && (!p.Archived && p.MarkedForDeletionAt == nil) != active {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(p.Name), search) && !strings.Contains(strings.ToLower(p.Path), search) {
			continue
		}
		if visibility != "" && p.Visibility != visibility {
			continue
		}
		if len(topics) > 0 && !containsAll(p.Topics, topics) {
			continue
		}
		if (withIssues && !p.IssuesEnabled) || (withMRs && !p.MergeRequestsEnabled) {
			continue
		}
		if !lastActivity.match(p.LastActivityAt.Time) || !updated.match(p.UpdatedAt.Time) {
			continue
		}
		// In keyset mode id_after/id_before are the cursor, applied by paginate.
		if !keyset && ((hasIDAfter && p.ID <= idAfter) || (hasIDBefore && p.ID >= idBefore)) {
			continue
		}
		out = append(out, ps)
	}
	return out, true
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) }) {
			return false
		}
	}
	return true
}

func handleProjects(rc *reqCtx) {
	defer rc.rlock()()
	in, limit, reverse := rc.s.ds.projects, -1, false
	if rc.q.Get("pagination") == "keyset" && rc.q.Get("order_by") == "id" {
		// Projects are kept by ID: a keyset page starts after id_after
		// (before id_before, descending) and needs one match past the page
		// to know there is a next one, so listing every project costs what
		// GitLab's index costs, not a scan of the instance per page — from
		// either end (clients walk both at once).
		switch rc.q.Get("sort") {
		case "asc":
			if after, ok := rc.intParam("id_after"); ok {
				in = in[sort.Search(len(in), func(i int) bool { return in[i].p.ID > after }):]
			}
			limit = rc.perPage() + 1
		case "desc":
			if before, ok := rc.intParam("id_before"); ok {
				in = in[:sort.Search(len(in), func(i int) bool { return in[i].p.ID >= before })]
			}
			limit, reverse = rc.perPage()+1, true
		}
	}
	items, ok := rc.filterProjectsUpTo(in, limit, reverse)
	if !ok || !sortList(rc, items, projectOrders, "created_at", "desc", projectID) {
		return
	}
	paginate(rc, items, projectID, rc.projectEncoder(), listOpts{keyset: []string{"id"}, offsetCapType: "Project"})
}

func handleProject(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	writeBytes(rc.w, http.StatusOK, rc.projectEncoder()(ps))
}

func handleGroupProjects(rc *reqCtx) {
	defer rc.rlock()()
	g := rc.group()
	if g == nil {
		return
	}
	ds := rc.s.ds
	incSub, _ := rc.boolParam("include_subgroups")
	candidates := ds.groupProjects(g, incSub)
	withShared, hasShared := rc.boolParam("with_shared")
	if !hasShared || withShared {
		for _, ps := range ds.projects {
			for _, sg := range ps.p.SharedWithGroups {
				if sg.GroupID == g.ID && !slices.Contains(candidates, ps) {
					candidates = append(candidates, ps)
				}
			}
		}
	}
	items, ok := rc.filterProjects(candidates)
	if !ok || !sortList(rc, items, projectOrders, "created_at", "desc", projectID) {
		return
	}
	paginate(rc, items, projectID, rc.projectEncoder(), listOpts{keyset: []string{"id"}})
}

func handleLanguages(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	// An object ordered by share, as GitLab renders it.
	langs := slices.Clone(ps.languages)
	slices.SortStableFunc(langs, func(a, b Language) int { return cmp.Compare(b.Share, a.Share) })
	var sb strings.Builder
	sb.WriteByte('{')
	for i, l := range langs {
		if i > 0 {
			sb.WriteByte(',')
		}
		k, _ := json.Marshal(l.Name)
		sb.Write(k)
		sb.WriteByte(':')
		sb.WriteString(strconv.FormatFloat(l.Share, 'f', -1, 64))
	}
	sb.WriteByte('}')
	writeBytes(rc.w, http.StatusOK, []byte(sb.String()))
}

// --- groups ---

var groupOrders = map[string]orderFunc[*Group]{
	"name":       func(a, b *Group) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) },
	"path":       func(a, b *Group) int { return strings.Compare(a.Path, b.Path) },
	"id":         func(a, b *Group) int { return cmp.Compare(a.ID, b.ID) },
	"similarity": func(a, b *Group) int { return 0 },
}

func groupID(g *Group) int { return g.ID }

func groupEncoder(g *Group) []byte { return g.cache.get(g) }

// filterGroups applies the /groups filters; all says whether groups the user
// is not a member of (but can see) are listed.
func (rc *reqCtx) filterGroups(in []*Group, all bool) []*Group {
	ds := rc.s.ds
	owned, _ := rc.boolParam("owned")
	minAccess, hasMin := rc.intParam("min_access_level")
	topOnly, _ := rc.boolParam("top_level_only")
	search := strings.ToLower(rc.q.Get("search"))
	visibility := rc.q.Get("visibility")
	active, hasActive := rc.boolParam("active")
	archived, hasArchived := rc.boolParam("archived")
	skip := map[int]bool{}
	for _, s := range rc.listParam("skip_groups") {
		if id, ok := atoiStrict(s); ok {
			skip[id] = true
		}
	}
	out := make([]*Group, 0, len(in))
	for _, g := range in {
		if !ds.groupVisible(rc.uid, g) || skip[g.ID] {
			continue
		}
		acc := ds.groupAccess(rc.uid, g)
		if !all && acc < GuestAccess && !ds.isAdmin(rc.uid) {
			continue
		}
		if (owned && acc < OwnerAccess) || (hasMin && acc < minAccess) {
			continue
		}
		if topOnly && g.ParentID != nil {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(g.Name), search) && !strings.Contains(strings.ToLower(g.Path), search) {
			continue
		}
		if visibility != "" && g.Visibility != visibility {
			continue
		}
		if hasActive && (!g.Archived && g.MarkedForDeletionOn == nil) != active {
			continue
		}
		if hasArchived && g.Archived != archived {
			continue
		}
		out = append(out, g)
	}
	return out
}

func handleGroups(rc *reqCtx) {
	defer rc.rlock()()
	// Offset pages of one listing filter and sort the same groups: the
	// list is memoised per query (without its page), so that listing
	// 40,000 groups 100 at a time is not quadratic.
	key := rc.listKey()
	items, ok := rc.s.memoGroups(rc.s.ds.gen, key)
	if !ok {
		all, _ := rc.boolParam("all_available")
		items = rc.filterGroups(rc.s.ds.groups, all)
		if !sortList(rc, items, groupOrders, "name", "asc", groupID) {
			return
		}
		rc.s.storeGroups(rc.s.ds.gen, key, items)
	}
	paginate(rc, items, groupID, groupEncoder, listOpts{keyset: []string{"id"}})
}

// listKey identifies a listing's filtered and sorted items: the user and
// the query without what only picks the page.
func (rc *reqCtx) listKey() string {
	q := url.Values{}
	for k, v := range rc.q {
		switch k {
		case "page", "per_page", "id_after", "id_before":
		default:
			q[k] = v
		}
	}
	return strconv.Itoa(rc.uid) + "?" + q.Encode()
}

func handleGroup(rc *reqCtx) {
	defer rc.rlock()()
	g := rc.group()
	if g == nil {
		return
	}
	writeBytes(rc.w, http.StatusOK, groupEncoder(g))
}

func handleSubgroups(descendants bool) func(*reqCtx) {
	return func(rc *reqCtx) {
		defer rc.rlock()()
		g := rc.group()
		if g == nil {
			return
		}
		var in []*Group
		if descendants {
			in = rc.s.ds.descendants(g)
		} else {
			in = slices.Clone(rc.s.ds.children[g.ID])
		}
		items := rc.filterGroups(in, true)
		if !sortList(rc, items, groupOrders, "name", "asc", groupID) {
			return
		}
		paginate(rc, items, groupID, groupEncoder, listOpts{})
	}
}

// --- members ---

func (rc *reqCtx) filterMembers(ms []Member) []Member {
	query := strings.ToLower(rc.q.Get("query"))
	ids := map[int]bool{}
	for _, s := range rc.listParam("user_ids") {
		if id, ok := atoiStrict(s); ok {
			ids[id] = true
		}
	}
	out := ms[:0]
	for _, m := range ms {
		if query != "" && !strings.Contains(strings.ToLower(m.Name), query) && !strings.Contains(strings.ToLower(m.Username), query) {
			continue
		}
		if len(ids) > 0 && !ids[m.ID] {
			continue
		}
		out = append(out, m)
	}
	return out
}

func memberID(m Member) int { return m.ID }

// memberEncoder encodes one request's members one after the other into
// the same scratch buffer (writePage copies each before the next).
func memberEncoder() func(Member) []byte {
	var scratch []byte
	return func(m Member) []byte {
		scratch = appendMember(scratch[:0], &m)
		return scratch
	}
}

// groupMembers returns direct members of g, or (all) members inherited from
// its ancestors too, keeping the highest access level per user.
func (d *Dataset) groupMemberList(g *Group, all bool) []Member {
	recs := map[int]*memberRec{}
	for cur := g; cur != nil; cur = d.parent(cur) {
		for uid, m := range d.groupMembers[cur.ID] {
			if r := recs[uid]; r == nil || m.access > r.access {
				recs[uid] = m
			}
		}
		if !all {
			break
		}
	}
	return d.membersOf(recs, !all)
}

func (d *Dataset) membersOf(recs map[int]*memberRec, withBot bool) []Member {
	out := make([]Member, 0, len(recs))
	for _, m := range recs {
		out = append(out, d.memberJSON(m, withBot))
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (d *Dataset) projectMemberList(ps *projectState, all bool) []Member {
	recs := map[int]*memberRec{}
	for uid, m := range ps.members {
		recs[uid] = m
	}
	if all && ps.groupID != 0 {
		for cur := d.groupByID[ps.groupID]; cur != nil; cur = d.parent(cur) {
			for uid, m := range d.groupMembers[cur.ID] {
				if r := recs[uid]; r == nil || m.access > r.access {
					recs[uid] = m
				}
			}
		}
	}
	return d.membersOf(recs, !all)
}

func handleGroupMembers(all bool) func(*reqCtx) {
	return func(rc *reqCtx) {
		defer rc.rlock()()
		g := rc.group()
		if g == nil {
			return
		}
		paginate(rc, rc.filterMembers(rc.s.ds.groupMemberList(g, all)), memberID, memberEncoder(), listOpts{})
	}
}

func handleProjectMembers(all bool) func(*reqCtx) {
	return func(rc *reqCtx) {
		defer rc.rlock()()
		ps := rc.project()
		if ps == nil {
			return
		}
		paginate(rc, rc.filterMembers(rc.s.ds.projectMemberList(ps, all)), memberID, memberEncoder(), listOpts{})
	}
}

func findMember(ms []Member, idParam string) (Member, bool) {
	id, ok := atoiStrict(idParam)
	if !ok {
		return Member{}, false
	}
	for _, m := range ms {
		if m.ID == id {
			return m, true
		}
	}
	return Member{}, false
}

func handleGroupMember(all bool) func(*reqCtx) {
	return func(rc *reqCtx) {
		defer rc.rlock()()
		g := rc.group()
		if g == nil {
			return
		}
		m, ok := findMember(rc.s.ds.groupMemberList(g, all), rc.params["user_id"])
		if !ok {
			writeMessage(rc.w, http.StatusNotFound, "404 Member Not Found")
			return
		}
		writeJSON(rc.w, http.StatusOK, m)
	}
}

func handleProjectMember(all bool) func(*reqCtx) {
	return func(rc *reqCtx) {
		defer rc.rlock()()
		ps := rc.project()
		if ps == nil {
			return
		}
		m, ok := findMember(rc.s.ds.projectMemberList(ps, all), rc.params["user_id"])
		if !ok {
			writeMessage(rc.w, http.StatusNotFound, "404 Member Not Found")
			return
		}
		writeJSON(rc.w, http.StatusOK, m)
	}
}
