package gitlabtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// nameFilter implements GitLab's branch/tag search: "^term" (prefix),
// "term$" (suffix), otherwise substring; case-insensitive.
func nameFilter(search string) func(string) bool {
	if search == "" {
		return func(string) bool { return true }
	}
	s := strings.ToLower(search)
	prefix, suffix := strings.HasPrefix(s, "^"), strings.HasSuffix(s, "$")
	s = strings.TrimSuffix(strings.TrimPrefix(s, "^"), "$")
	return func(name string) bool {
		n := strings.ToLower(name)
		switch {
		case prefix && suffix:
			return n == s
		case prefix:
			return strings.HasPrefix(n, s)
		case suffix:
			return strings.HasSuffix(n, s)
		}
		return strings.Contains(n, s)
	}
}

func (rc *reqCtx) branchJSON(ps *projectState, b *branchState) Branch {
	return Branch{
		Name: b.name, Merged: b.merged, Protected: b.protected, Default: ps.p.DefaultBranch != nil && *ps.p.DefaultBranch == b.name,
		DevelopersCanPush: !b.protected, DevelopersCanMerge: !b.protected, CanPush: rc.s.ds.projectAccess(rc.uid, ps) >= DeveloperAccess,
		WebURL: ps.p.WebURL + "/-/tree/" + b.name, Commit: b.head,
	}
}

func handleBranches(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	match := nameFilter(rc.q.Get("search"))
	if re := rc.q.Get("regex"); re != "" {
		rx, err := regexp.Compile(re)
		if err != nil {
			writeMessage(rc.w, http.StatusBadRequest, "400 Bad request - Regex is invalid")
			return
		}
		match = rx.MatchString
	}
	var items []Branch
	if ps.repo != nil {
		for _, n := range ps.repo.branchNames() {
			if match(n) {
				items = append(items, rc.branchJSON(ps, ps.repo.branches[n]))
			}
		}
	}
	idx := func(b Branch) int { return slices.IndexFunc(items, func(x Branch) bool { return x.Name == b.Name }) }
	paginate(rc, items, idx, func(b Branch) []byte { j, _ := json.Marshal(b); return j }, listOpts{})
}

func handleBranch(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	if ps.repo == nil || ps.repo.branches[rc.params["branch"]] == nil {
		writeMessage(rc.w, http.StatusNotFound, "404 Branch Not Found")
		return
	}
	writeJSON(rc.w, http.StatusOK, rc.branchJSON(ps, ps.repo.branches[rc.params["branch"]]))
}

func handleTags(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	match := nameFilter(rc.q.Get("search"))
	var items []*Tag
	if ps.repo != nil {
		for _, t := range ps.repo.tags {
			if match(t.Name) {
				items = append(items, t)
			}
		}
	}
	orders := map[string]orderFunc[*Tag]{
		"updated": func(a, b *Tag) int { return a.Commit.CommittedDate.Compare(b.Commit.CommittedDate.Time) },
		"name":    func(a, b *Tag) int { return strings.Compare(a.Name, b.Name) },
		"version": func(a, b *Tag) int { return compareVersions(a.Name, b.Name) },
	}
	idx := func(t *Tag) int { return -slices.Index(ps.repo.tags, t) }
	if !sortList(rc, items, orders, "updated", "desc", idx) {
		return
	}
	paginate(rc, items, idx, func(t *Tag) []byte { return t.cache.get(t) }, listOpts{})
}

func compareVersions(a, b string) int {
	pa := strings.FieldsFunc(strings.TrimPrefix(a, "v"), func(r rune) bool { return r == '.' || r == '-' })
	pb := strings.FieldsFunc(strings.TrimPrefix(b, "v"), func(r rune) bool { return r == '.' || r == '-' })
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, e1 := strconv.Atoi(pa[i])
		y, e2 := strconv.Atoi(pb[i])
		if e1 == nil && e2 == nil && x != y {
			if x < y {
				return -1
			}
			return 1
		}
		if c := strings.Compare(pa[i], pb[i]); (e1 != nil || e2 != nil) && c != 0 {
			return c
		}
	}
	return len(pa) - len(pb)
}

func handleTag(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	if ps.repo != nil {
		for _, t := range ps.repo.tags {
			if t.Name == rc.params["tag_name"] {
				writeBytes(rc.w, http.StatusOK, t.cache.get(t))
				return
			}
		}
	}
	writeMessage(rc.w, http.StatusNotFound, "404 Tag Not Found")
}

// fileAt resolves :file_path at a ref, writing 404 when missing.
func (rc *reqCtx) fileAt(ps *projectState, ref string) (*branchState, *blob, string, bool) {
	if ref == "" && ps.p.DefaultBranch != nil {
		ref = *ps.p.DefaultBranch
	}
	b := ps.repo.resolveRef(ref)
	if b == nil {
		writeMessage(rc.w, http.StatusNotFound, "404 Commit Not Found")
		return nil, nil, "", false
	}
	fp := strings.TrimPrefix(rc.params["file_path"], "/")
	bl := b.files[fp]
	if bl == nil {
		writeMessage(rc.w, http.StatusNotFound, "404 File Not Found")
		return nil, nil, "", false
	}
	return b, bl, ref, true
}

func handleFile(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	ref := rc.q.Get("ref")
	if ref == "" {
		writeError(rc.w, http.StatusBadRequest, "ref is missing")
		return
	}
	b, bl, ref, ok := rc.fileAt(ps, ref)
	if !ok {
		return
	}
	fp := strings.TrimPrefix(rc.params["file_path"], "/")
	oid, sha := bl.ids()
	f := RepositoryFile{
		FileName: path.Base(fp), FilePath: fp, Size: bl.size(), Encoding: "base64", ContentSHA256: sha, Ref: ref,
		BlobID: oid, CommitID: b.head.ID, LastCommitID: bl.commitID, ExecuteFilemode: bl.exec,
	}
	h := rc.w.Header()
	h.Set("X-Gitlab-Blob-Id", f.BlobID)
	h.Set("X-Gitlab-Commit-Id", f.CommitID)
	h.Set("X-Gitlab-Content-Sha256", f.ContentSHA256)
	h.Set("X-Gitlab-Encoding", f.Encoding)
	h.Set("X-Gitlab-File-Name", f.FileName)
	h.Set("X-Gitlab-File-Path", f.FilePath)
	h.Set("X-Gitlab-Last-Commit-Id", f.LastCommitID)
	h.Set("X-Gitlab-Ref", f.Ref)
	h.Set("X-Gitlab-Size", strconv.Itoa(f.Size))
	h.Set("X-Gitlab-Execute-Filemode", strconv.FormatBool(f.ExecuteFilemode))
	if rc.r.Method == http.MethodHead {
		rc.w.WriteHeader(http.StatusOK)
		return
	}
	f.Content = base64.StdEncoding.EncodeToString(bl.bytes())
	writeJSON(rc.w, http.StatusOK, f)
}

func handleFileRaw(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	_, bl, _, ok := rc.fileAt(ps, rc.q.Get("ref"))
	if !ok {
		return
	}
	oid, _ := bl.ids()
	h := rc.w.Header()
	if bl.isText() {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	h.Set("X-Gitlab-Blob-Id", oid)
	h.Set("X-Gitlab-Size", strconv.Itoa(bl.size()))
	h.Set("Content-Length", strconv.Itoa(bl.size()))
	rc.w.WriteHeader(http.StatusOK)
	_, _ = rc.w.Write(bl.bytes())
}

func handleTree(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	b := ps.repo.resolveRef(cmpOr(rc.q.Get("ref"), deref(ps.p.DefaultBranch)))
	if b == nil {
		writeMessage(rc.w, http.StatusNotFound, "404 Tree Not Found")
		return
	}
	recursive, _ := rc.boolParam("recursive")
	entries, found := b.tree(rc.q.Get("path"), recursive)
	if !found {
		writeMessage(rc.w, http.StatusNotFound, "404 Tree Not Found")
		return
	}
	enc := func(e TreeEntry) []byte { j, _ := json.Marshal(e); return j }
	if rc.q.Get("pagination") == "keyset" {
		// Keyset on the tree: page_token is the path of the last entry seen.
		start := 0
		if tok := rc.q.Get("page_token"); tok != "" {
			start = len(entries)
			for i, e := range entries {
				if e.Path > tok {
					start = i
					break
				}
			}
		}
		end := min(len(entries), start+rc.perPage())
		page := entries[start:end]
		if end < len(entries) && len(page) > 0 {
			next := rc.linkURL(map[string]string{"page_token": page[len(page)-1].Path, "page": ""})
			rc.w.Header().Set("Link", "<"+next+`>; rel="next"`)
		}
		writePage(rc, page, enc)
		return
	}
	idx := func(e TreeEntry) int { return 0 }
	paginate(rc, entries, idx, enc, listOpts{})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// --- search ---

func (rc *reqCtx) searchParams() (blobQuery, bool) {
	scope := rc.q.Get("scope")
	if scope == "" {
		writeError(rc.w, http.StatusBadRequest, "scope is missing")
		return blobQuery{}, false
	}
	if scope != "blobs" {
		writeError(rc.w, http.StatusBadRequest, "scope does not have a valid value")
		return blobQuery{}, false
	}
	q := rc.q.Get("search")
	if q == "" {
		writeError(rc.w, http.StatusBadRequest, "search is missing")
		return blobQuery{}, false
	}
	return parseBlobQuery(q), true
}

func encodeBlobResult(r BlobSearchResult) []byte { j, _ := json.Marshal(r); return j }

func handleProjectSearch(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	q, ok := rc.searchParams()
	if !ok {
		return
	}
	ref := cmpOr(rc.q.Get("ref"), deref(ps.p.DefaultBranch))
	var results []BlobSearchResult
	if b := ps.repo.resolveRef(ref); b != nil {
		results = b.search(q, ps.p.ID, ref)
	}
	paginate(rc, results, func(BlobSearchResult) int { return 0 }, encodeBlobResult, listOpts{})
}

func handleGroupSearch(rc *reqCtx) {
	defer rc.rlock()()
	g := rc.group()
	if g == nil {
		return
	}
	q, ok := rc.searchParams()
	if !ok {
		return
	}
	if !rc.s.cfg.advSearch {
		writeMessage(rc.w, http.StatusBadRequest, "400 Bad request - Scope supported only with advanced search or exact code search")
		return
	}
	includeArchived, _ := rc.boolParam("include_archived")
	// Before 18.9 the parameter is unknown and archived projects stay out.
	includeArchived = includeArchived && versionAtLeast(rc.s.cfg.version, 18, 9)
	var results []BlobSearchResult
	ds := rc.s.ds
	for _, ps := range ds.groupProjectsTo(g, true, noDepth) {
		if !ds.projectVisible(rc.uid, ps) || (ps.p.Archived && !includeArchived) || rc.s.deniedStatus(ps.p.ID) != 0 {
			continue
		}
		// Only the projects searched are regenerated, and only their
		// repository: a blob search reads nothing else.
		ps = ds.materialiseTo(ps, depthRepo)
		if b := ps.defaultBranch(); b != nil {
			results = append(results, b.search(q, ps.p.ID, b.name)...)
		}
	}
	paginate(rc, results, func(BlobSearchResult) int { return 0 }, encodeBlobResult, listOpts{})
}

// --- hooks ---

func (rc *reqCtx) hookOwner(group bool) (hooks *[]*Hook, gid, pid *int, ok bool) {
	ds := rc.s.ds
	if group {
		g := rc.group()
		if g == nil {
			return nil, nil, nil, false
		}
		if ds.groupAccess(rc.uid, g) < OwnerAccess && !ds.isAdmin(rc.uid) {
			writeMessage(rc.w, http.StatusForbidden, "403 Forbidden")
			return nil, nil, nil, false
		}
		hooks := slices.Clone(ds.groupHooks[g.ID])
		id := g.ID
		return &hooks, &id, nil, true
	}
	ps := rc.project()
	if ps == nil {
		return nil, nil, nil, false
	}
	if ds.projectAccess(rc.uid, ps) < MaintainerAccess && !ds.isAdmin(rc.uid) {
		writeMessage(rc.w, http.StatusForbidden, "403 Forbidden")
		return nil, nil, nil, false
	}
	id := ps.p.ID
	return &ps.hooks, nil, &id, true
}

func encodeHook(h *Hook) []byte { j, _ := json.Marshal(h); return j }

func handleListHooks(group bool) func(*reqCtx) {
	return func(rc *reqCtx) {
		defer rc.rlock()()
		hooks, _, _, ok := rc.hookOwner(group)
		if !ok {
			return
		}
		paginate(rc, *hooks, func(h *Hook) int { return h.ID }, encodeHook, listOpts{})
	}
}

func findHook(hooks []*Hook, idParam string) (int, *Hook) {
	id, _ := atoiStrict(idParam)
	for i, h := range hooks {
		if h.ID == id {
			return i, h
		}
	}
	return -1, nil
}

func handleGetHook(group bool) func(*reqCtx) {
	return func(rc *reqCtx) {
		defer rc.rlock()()
		hooks, _, _, ok := rc.hookOwner(group)
		if !ok {
			return
		}
		if _, h := findHook(*hooks, rc.params["hook_id"]); h != nil {
			writeJSON(rc.w, http.StatusOK, h)
			return
		}
		writeMessage(rc.w, http.StatusNotFound, "404 Not found")
	}
}

// hookParams reads a hook's attributes from a JSON or form body, or the query.
func (rc *reqCtx) hookParams() (map[string]any, bool) {
	out := map[string]any{}
	for k, v := range rc.q {
		out[k] = v[0]
	}
	body, _ := io.ReadAll(io.LimitReader(rc.r.Body, 1<<20))
	if len(body) == 0 {
		return out, true
	}
	if strings.Contains(rc.r.Header.Get("Content-Type"), "json") {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			writeMessage(rc.w, http.StatusBadRequest, "400 Bad request - body is not valid JSON")
			return nil, false
		}
		for k, v := range m {
			out[k] = v
		}
		return out, true
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeMessage(rc.w, http.StatusBadRequest, "400 Bad request - body is malformed")
		return nil, false
	}
	for k, v := range form {
		out[k] = v[0]
	}
	return out, true
}

func applyHookParams(h *Hook, m map[string]any) {
	str := func(k string, dst *string) {
		if v, ok := m[k]; ok {
			if s, ok := v.(string); ok {
				*dst = s
			}
		}
	}
	boolean := func(k string, dst *bool) {
		v, ok := m[k]
		if !ok {
			return
		}
		switch x := v.(type) {
		case bool:
			*dst = x
		case string:
			*dst = x == "true" || x == "1"
		}
	}
	str("url", &h.URL)
	str("name", &h.Name)
	str("description", &h.Description)
	str("token", &h.Token)
	str("push_events_branch_filter", &h.PushEventsBranchFilter)
	for k, dst := range map[string]*bool{
		"push_events": &h.PushEvents, "issues_events": &h.IssuesEvents, "confidential_issues_events": &h.ConfidentialIssuesEvents,
		"merge_requests_events": &h.MergeRequestsEvents, "tag_push_events": &h.TagPushEvents, "note_events": &h.NoteEvents,
		"confidential_note_events": &h.ConfidentialNoteEvents, "job_events": &h.JobEvents, "pipeline_events": &h.PipelineEvents,
		"wiki_page_events": &h.WikiPageEvents, "deployment_events": &h.DeploymentEvents, "feature_flag_events": &h.FeatureFlagEvents,
		"releases_events": &h.ReleasesEvents, "subgroup_events": &h.SubgroupEvents, "member_events": &h.MemberEvents,
		"project_events": &h.ProjectEvents, "enable_ssl_verification": &h.EnableSSLVerification,
		"repository_update_events": &h.RepositoryUpdateEvents,
	} {
		boolean(k, dst)
	}
}

func handleCreateHook(group bool) func(*reqCtx) {
	return func(rc *reqCtx) {
		ds := rc.s.ds
		ds.lockWrite()
		defer ds.mu.Unlock()
		hooks, gid, pid, ok := rc.hookOwner(group)
		if !ok {
			return
		}
		m, ok := rc.hookParams()
		if !ok {
			return
		}
		h := &Hook{PushEvents: true, EnableSSLVerification: true, AlertStatus: "executable", GroupID: gid, ProjectID: pid}
		applyHookParams(h, m)
		if h.URL == "" {
			writeError(rc.w, http.StatusBadRequest, "url is missing")
			return
		}
		if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			writeMessage(rc.w, http.StatusUnprocessableEntity, "422 Unprocessable Entity - Url is blocked: Only allowed schemes are http, https")
			return
		}
		ds.next.hook++
		h.ID = ds.next.hook
		h.CreatedAt = T(ds.now().UTC().Truncate(time.Millisecond))
		*hooks = append(*hooks, h)
		if gid != nil {
			ds.groupHooks[*gid] = *hooks
		}
		writeJSON(rc.w, http.StatusCreated, h)
	}
}

func handleUpdateHook(group bool) func(*reqCtx) {
	return func(rc *reqCtx) {
		ds := rc.s.ds
		ds.lockWrite()
		defer ds.mu.Unlock()
		hooks, _, _, ok := rc.hookOwner(group)
		if !ok {
			return
		}
		_, h := findHook(*hooks, rc.params["hook_id"])
		if h == nil {
			writeMessage(rc.w, http.StatusNotFound, "404 Not found")
			return
		}
		m, ok := rc.hookParams()
		if !ok {
			return
		}
		applyHookParams(h, m)
		writeJSON(rc.w, http.StatusOK, h)
	}
}

func handleDeleteHook(group bool) func(*reqCtx) {
	return func(rc *reqCtx) {
		ds := rc.s.ds
		ds.lockWrite()
		defer ds.mu.Unlock()
		hooks, gid, _, ok := rc.hookOwner(group)
		if !ok {
			return
		}
		i, h := findHook(*hooks, rc.params["hook_id"])
		if h == nil {
			writeMessage(rc.w, http.StatusNotFound, "404 Not found")
			return
		}
		*hooks = slices.Delete(*hooks, i, i+1)
		if gid != nil {
			ds.groupHooks[*gid] = *hooks
		}
		rc.w.WriteHeader(http.StatusNoContent)
	}
}

// versionAtLeast compares a GitLab version ("18.9.2-ee") with major.minor;
// an unreadable version counts as the newest.
func versionAtLeast(v string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(v, "%d.%d", &ma, &mi); err != nil {
		return true
	}
	return ma > major || (ma == major && mi >= minor)
}
