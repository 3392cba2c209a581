package gitlabtest

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// scopeProjects returns the projects whose items a group or instance list
// covers: visible to the user, and not archived unless non_archived=false.
func (rc *reqCtx) scopeProjects(in []*projectState, nonArchivedDefault bool) []*projectState {
	ds := rc.s.ds
	nonArchived, has := rc.boolParam("non_archived")
	if !has {
		nonArchived = nonArchivedDefault
	}
	out := make([]*projectState, 0, len(in))
	for _, ps := range in {
		if !ds.projectVisible(rc.uid, ps) || (nonArchived && ps.p.Archived) {
			continue
		}
		out = append(out, ps)
	}
	return out
}

// --- merge requests ---

var mrOrders = map[string]orderFunc[*MergeRequest]{
	"created_at": func(a, b *MergeRequest) int { return cmpTime(a.CreatedAt, b.CreatedAt) },
	"updated_at": func(a, b *MergeRequest) int { return cmpTime(a.UpdatedAt, b.UpdatedAt) },
	"merged_at":  func(a, b *MergeRequest) int { return cmpTime(a.MergedAt, b.MergedAt) },
	"title":      func(a, b *MergeRequest) int { return strings.Compare(a.Title, b.Title) },
}

func mrID(m *MergeRequest) int { return m.ID }

type mrSimple struct {
	ID          int    `json:"id"`
	IID         int    `json:"iid"`
	ProjectID   int    `json:"project_id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	State       string `json:"state"`
	CreatedAt   Time   `json:"created_at"`
	UpdatedAt   Time   `json:"updated_at"`
	WebURL      string `json:"web_url"`
}

func (rc *reqCtx) mrEncoder() func(*MergeRequest) []byte {
	if rc.q.Get("view") == "simple" {
		return func(m *MergeRequest) []byte {
			b, _ := json.Marshal(mrSimple{m.ID, m.IID, m.ProjectID, m.Title, m.Description, m.State, m.CreatedAt, m.UpdatedAt, m.WebURL})
			return b
		}
	}
	// One page's merge requests are encoded one after the other into
	// scratch (writePage copies each before asking for the next).
	var scratch []byte
	return func(m *MergeRequest) []byte {
		return m.cache.getWith(m, &scratch, func(dst []byte) ([]byte, bool) { return appendMR(dst, m) })
	}
}

// labelsMatch implements labels=a,b (all required), None and Any.
func labelsMatch(have, want []string) bool {
	if len(want) == 1 {
		switch strings.ToLower(want[0]) {
		case "none":
			return len(have) == 0
		case "any":
			return len(have) > 0
		}
	}
	return containsAll(have, want)
}

// listMRs filters and writes the merge requests of the given projects.
func (rc *reqCtx) listMRs(projects []*projectState, defaultScope string) {
	state := rc.q.Get("state")
	if state != "" && !slices.Contains([]string{"opened", "closed", "merged", "locked", "all"}, state) {
		writeError(rc.w, http.StatusBadRequest, "state does not have a valid value")
		return
	}
	scope := rc.q.Get("scope")
	if scope == "" {
		scope = defaultScope
	}
	scope = strings.ReplaceAll(scope, "-", "_")
	if !slices.Contains([]string{"all", "created_by_me", "assigned_to_me", "reviews_for_me"}, scope) {
		writeError(rc.w, http.StatusBadRequest, "scope does not have a valid value")
		return
	}
	updated, ok := rc.timeFilter("updated")
	if !ok {
		return
	}
	created, ok := rc.timeFilter("created")
	if !ok {
		return
	}
	labels := rc.listParam("labels")
	authorID, hasAuthor := rc.intParam("author_id")
	authorName := rc.q.Get("author_username")
	assigneeID, hasAssignee := rc.intParam("assignee_id")
	reviewerID, hasReviewer := rc.intParam("reviewer_id")
	src, tgt := rc.q.Get("source_branch"), rc.q.Get("target_branch")
	search := strings.ToLower(rc.q.Get("search"))
	wip := rc.q.Get("wip")
	iids := map[int]bool{}
	for _, s := range rc.listParam("iids") {
		if n, ok := atoiStrict(s); ok {
			iids[n] = true
		}
	}
	var items []*MergeRequest
	for _, ps := range projects {
		for _, m := range ps.mrs {
			if state != "" && state != "all" && m.State != state {
				continue
			}
			switch scope {
			case "created_by_me":
				if m.Author.ID != rc.uid {
					continue
				}
			case "assigned_to_me":
				if !slices.ContainsFunc(m.Assignees, func(u UserBasic) bool { return u.ID == rc.uid }) {
					continue
				}
			case "reviews_for_me":
				if !slices.ContainsFunc(m.Reviewers, func(u UserBasic) bool { return u.ID == rc.uid }) {
					continue
				}
			}
			if !updated.match(m.UpdatedAt.Time) || !created.match(m.CreatedAt.Time) {
				continue
			}
			if len(labels) > 0 && !labelsMatch(m.Labels, labels) {
				continue
			}
			if (hasAuthor && m.Author.ID != authorID) || (authorName != "" && !strings.EqualFold(m.Author.Username, authorName)) {
				continue
			}
			if hasAssignee && !slices.ContainsFunc(m.Assignees, func(u UserBasic) bool { return u.ID == assigneeID }) {
				continue
			}
			if hasReviewer && !slices.ContainsFunc(m.Reviewers, func(u UserBasic) bool { return u.ID == reviewerID }) {
				continue
			}
			if (src != "" && m.SourceBranch != src) || (tgt != "" && m.TargetBranch != tgt) {
				continue
			}
			if search != "" && !strings.Contains(strings.ToLower(m.Title), search) && !strings.Contains(strings.ToLower(m.Description), search) {
				continue
			}
			if (wip == "yes" && !m.Draft) || (wip == "no" && m.Draft) {
				continue
			}
			if len(iids) > 0 && !iids[m.IID] {
				continue
			}
			items = append(items, m)
		}
	}
	if !sortList(rc, items, mrOrders, "created_at", "desc", mrID) {
		return
	}
	paginate(rc, items, mrID, rc.mrEncoder(), listOpts{})
}

func handleProjectMRs(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	rc.listMRs([]*projectState{ps}, "all")
}

func handleGroupMRs(rc *reqCtx) {
	defer rc.rlock()()
	g := rc.group()
	if g == nil {
		return
	}
	// Only the projects in scope are regenerated, and only their merge
	// requests.
	ds := rc.s.ds
	rc.listMRs(ds.mergeRequestsOnlyAll(rc.scopeProjects(ds.groupProjectsTo(g, true, noDepth), true), rc.mrPrefilter()), "all")
}

// mrPrefilter is what of listMRs' filters a lazy dataset can apply before
// it builds a merge request (state, created_* and updated_*): listMRs
// applies them again, so this only spares building what it would drop.
// nil (build all) when a parameter is one listMRs answers 400 to.
func (rc *reqCtx) mrPrefilter() func(state string, created, updated time.Time) bool {
	state := rc.q.Get("state")
	if state != "" && !slices.Contains([]string{"opened", "closed", "merged", "locked", "all"}, state) {
		return nil
	}
	var tf [2]timeFilter
	for i, prefix := range []string{"created", "updated"} {
		var ok bool
		if tf[i].after, tf[i].hasAfter, ok = parseTimeParam(rc.q.Get(prefix + "_after")); !ok {
			return nil
		}
		if tf[i].before, tf[i].hasBefore, ok = parseTimeParam(rc.q.Get(prefix + "_before")); !ok {
			return nil
		}
	}
	return func(s string, created, updated time.Time) bool {
		return (state == "" || state == "all" || s == state) && tf[0].match(created) && tf[1].match(updated)
	}
}

func handleAllMRs(rc *reqCtx) {
	defer rc.rlock()()
	rc.listMRs(rc.s.ds.mergeRequestsOnlyAll(rc.scopeProjects(rc.s.ds.projects, false), rc.mrPrefilter()), "created_by_me")
}

func handleProjectMR(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	iid, _ := atoiStrict(rc.params["iid"])
	m := ps.findMR(iid)
	if m == nil {
		writeMessage(rc.w, http.StatusNotFound, "404 Not found")
		return
	}
	writeBytes(rc.w, http.StatusOK, m.cache.get(m))
}

// --- issues ---

var issueOrders = map[string]orderFunc[*Issue]{
	"created_at": func(a, b *Issue) int { return cmpTime(a.CreatedAt, b.CreatedAt) },
	"updated_at": func(a, b *Issue) int { return cmpTime(a.UpdatedAt, b.UpdatedAt) },
	"title":      func(a, b *Issue) int { return strings.Compare(a.Title, b.Title) },
	"id":         func(a, b *Issue) int { return cmp.Compare(a.ID, b.ID) },
	"due_date": func(a, b *Issue) int {
		return strings.Compare(deref(a.DueDate), deref(b.DueDate))
	},
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func issueID(i *Issue) int { return i.ID }

func encodeIssue(i *Issue) []byte { return i.cache.get(i) }

func (rc *reqCtx) listIssues(projects []*projectState, defaultScope string, o listOpts) {
	state := rc.q.Get("state")
	if state != "" && !slices.Contains([]string{"opened", "closed", "all"}, state) {
		writeError(rc.w, http.StatusBadRequest, "state does not have a valid value")
		return
	}
	scope := strings.ReplaceAll(cmp.Or(rc.q.Get("scope"), defaultScope), "-", "_")
	if !slices.Contains([]string{"all", "created_by_me", "assigned_to_me"}, scope) {
		writeError(rc.w, http.StatusBadRequest, "scope does not have a valid value")
		return
	}
	issueType := rc.q.Get("issue_type")
	if issueType != "" && !slices.Contains([]string{"issue", "incident", "test_case", "task"}, issueType) {
		writeError(rc.w, http.StatusBadRequest, "issue_type does not have a valid value")
		return
	}
	updated, ok := rc.timeFilter("updated")
	if !ok {
		return
	}
	created, ok := rc.timeFilter("created")
	if !ok {
		return
	}
	labels := rc.listParam("labels")
	confidential, hasConf := rc.boolParam("confidential")
	authorID, hasAuthor := rc.intParam("author_id")
	authorName := rc.q.Get("author_username")
	assigneeID, hasAssignee := rc.intParam("assignee_id")
	search := strings.ToLower(rc.q.Get("search"))
	iids := map[int]bool{}
	for _, s := range rc.listParam("iids") {
		if n, ok := atoiStrict(s); ok {
			iids[n] = true
		}
	}
	keyset := rc.q.Get("pagination") == "keyset" && o.keyset != nil
	var items []*Issue
	for _, ps := range projects {
		for _, is := range ps.issues {
			if state != "" && state != "all" && is.State != state {
				continue
			}
			if scope == "created_by_me" && is.Author.ID != rc.uid {
				continue
			}
			if scope == "assigned_to_me" && !slices.ContainsFunc(is.Assignees, func(u UserBasic) bool { return u.ID == rc.uid }) {
				continue
			}
			if issueType != "" && is.IssueType != issueType {
				continue
			}
			if !updated.match(is.UpdatedAt.Time) || !created.match(is.CreatedAt.Time) {
				continue
			}
			if len(labels) > 0 && !labelsMatch(is.Labels, labels) {
				continue
			}
			if hasConf && is.Confidential != confidential {
				continue
			}
			if (hasAuthor && is.Author.ID != authorID) || (authorName != "" && !strings.EqualFold(is.Author.Username, authorName)) {
				continue
			}
			if hasAssignee && !slices.ContainsFunc(is.Assignees, func(u UserBasic) bool { return u.ID == assigneeID }) {
				continue
			}
			if search != "" && !strings.Contains(strings.ToLower(is.Title), search) && !strings.Contains(strings.ToLower(is.Description), search) {
				continue
			}
			if len(iids) > 0 && !iids[is.IID] {
				continue
			}
			items = append(items, is)
		}
	}
	defOrder := "created_at"
	if keyset {
		defOrder = "id"
	}
	if !sortList(rc, items, issueOrders, defOrder, "desc", issueID) {
		return
	}
	paginate(rc, items, issueID, encodeIssue, o)
}

func handleProjectIssues(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	rc.listIssues([]*projectState{ps}, "all", listOpts{keyset: []string{"id"}})
}

func handleGroupIssues(rc *reqCtx) {
	defer rc.rlock()()
	g := rc.group()
	if g == nil {
		return
	}
	rc.listIssues(rc.scopeProjects(rc.s.ds.groupProjects(g, true), true), "all", listOpts{})
}

func handleAllIssues(rc *reqCtx) {
	defer rc.rlock()()
	rc.listIssues(rc.scopeProjects(rc.s.ds.projects, true), "created_by_me", listOpts{})
}

func handleProjectIssue(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	iid, _ := atoiStrict(rc.params["iid"])
	is := ps.findIssue(iid)
	if is == nil {
		writeMessage(rc.w, http.StatusNotFound, "404 Not found")
		return
	}
	writeBytes(rc.w, http.StatusOK, encodeIssue(is))
}

// --- pipelines and jobs ---

var pipelineOrders = map[string]orderFunc[*Pipeline]{
	"id":         func(a, b *Pipeline) int { return cmp.Compare(a.ID, b.ID) },
	"status":     func(a, b *Pipeline) int { return strings.Compare(a.Status, b.Status) },
	"ref":        func(a, b *Pipeline) int { return strings.Compare(a.Ref, b.Ref) },
	"updated_at": func(a, b *Pipeline) int { return cmpTime(a.UpdatedAt, b.UpdatedAt) },
	"user_id":    func(a, b *Pipeline) int { return cmp.Compare(a.User.ID, b.User.ID) },
}

func pipelineID(p *Pipeline) int { return p.ID }

func encodePipelineBasic(p *Pipeline) []byte { return p.cache.get(p.basic()) }

var finishedStatuses = []string{"success", "failed", "canceled", "skipped"}

func handlePipelines(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	scope, status, source := rc.q.Get("scope"), rc.q.Get("status"), rc.q.Get("source")
	ref, sha, name, username := rc.q.Get("ref"), rc.q.Get("sha"), rc.q.Get("name"), rc.q.Get("username")
	yamlErrors, hasYAML := rc.boolParam("yaml_errors")
	updated, ok := rc.timeFilter("updated")
	if !ok {
		return
	}
	created, ok := rc.timeFilter("created")
	if !ok {
		return
	}
	if scope != "" && !slices.Contains([]string{"running", "pending", "finished", "branches", "tags"}, scope) {
		writeError(rc.w, http.StatusBadRequest, "scope does not have a valid value")
		return
	}
	var items []*Pipeline
	for _, p := range ps.pipelines {
		switch scope {
		case "running", "pending":
			if p.Status != scope {
				continue
			}
		case "finished":
			if !slices.Contains(finishedStatuses, p.Status) {
				continue
			}
		case "branches":
			if p.Tag {
				continue
			}
		case "tags":
			if !p.Tag {
				continue
			}
		}
		if (status != "" && p.Status != status) || (source != "" && p.Source != source) ||
			(ref != "" && p.Ref != ref) || (sha != "" && p.SHA != sha) ||
			(name != "" && deref(p.Name) != name) || (username != "" && p.User.Username != username) {
			continue
		}
		if hasYAML && (p.YAMLErrors != nil) != yamlErrors {
			continue
		}
		if !updated.match(p.UpdatedAt.Time) || !created.match(p.CreatedAt.Time) {
			continue
		}
		items = append(items, p)
	}
	if !sortList(rc, items, pipelineOrders, "id", "desc", pipelineID) {
		return
	}
	paginate(rc, items, pipelineID, encodePipelineBasic, listOpts{})
}

func handlePipeline(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	id, _ := atoiStrict(rc.params["pipeline_id"])
	p := ps.findPipeline(id)
	if p == nil {
		writeMessage(rc.w, http.StatusNotFound, "404 Not found")
		return
	}
	writeJSON(rc.w, http.StatusOK, p)
}

func jobID(j *Job) int { return j.ID }

func encodeJob(j *Job) []byte { return j.cache.get(j) }

func (rc *reqCtx) jobScope() []string { return rc.listParam("scope") }

func filterJobs(jobs []*Job, scope []string) []*Job {
	out := make([]*Job, 0, len(jobs))
	for _, j := range jobs {
		if len(scope) > 0 && !slices.Contains(scope, j.Status) {
			continue
		}
		out = append(out, j)
	}
	return out
}

func handlePipelineJobs(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	id, _ := atoiStrict(rc.params["pipeline_id"])
	if ps.findPipeline(id) == nil {
		writeMessage(rc.w, http.StatusNotFound, "404 Pipeline Not Found")
		return
	}
	items := filterJobs(ps.jobs[id], rc.jobScope())
	slices.SortFunc(items, func(a, b *Job) int { return cmp.Compare(a.ID, b.ID) })
	paginate(rc, items, jobID, encodeJob, listOpts{})
}

func handleProjectJobs(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	var all []*Job
	for _, js := range ps.jobs {
		all = append(all, js...)
	}
	items := filterJobs(all, rc.jobScope())
	asc := rc.q.Get("pagination") == "keyset" && rc.q.Get("sort") == "asc"
	slices.SortFunc(items, func(a, b *Job) int {
		if asc {
			return cmp.Compare(a.ID, b.ID)
		}
		return cmp.Compare(b.ID, a.ID)
	})
	paginate(rc, items, jobID, encodeJob, listOpts{keyset: []string{"id"}})
}

func handleJob(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	id, _ := atoiStrict(rc.params["job_id"])
	for _, js := range ps.jobs {
		for _, j := range js {
			if j.ID == id {
				writeBytes(rc.w, http.StatusOK, encodeJob(j))
				return
			}
		}
	}
	writeMessage(rc.w, http.StatusNotFound, "404 Not found")
}

type pipelineRequest struct {
	Ref       string `json:"ref"`
	Variables []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"variables"`
}

func handleCreatePipeline(rc *reqCtx) {
	ds := rc.s.ds
	ds.lockWrite()
	defer ds.mu.Unlock()
	ps := rc.project()
	if ps == nil {
		return
	}
	if ds.projectAccess(rc.uid, ps) < DeveloperAccess {
		writeMessage(rc.w, http.StatusForbidden, "403 Forbidden")
		return
	}
	var req pipelineRequest
	if body, _ := io.ReadAll(io.LimitReader(rc.r.Body, 1<<20)); len(body) > 0 && strings.Contains(rc.r.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(rc.w, http.StatusBadRequest, "ref is missing")
			return
		}
	}
	if req.Ref == "" {
		req.Ref = rc.q.Get("ref")
	}
	if req.Ref == "" {
		if err := rc.r.ParseForm(); err == nil {
			req.Ref = rc.r.PostForm.Get("ref")
		}
	}
	if req.Ref == "" {
		writeError(rc.w, http.StatusBadRequest, "ref is missing")
		return
	}
	if ps.repo == nil || ps.repo.resolveRef(req.Ref) == nil {
		writeJSON(rc.w, http.StatusBadRequest, map[string]any{"message": map[string][]string{"base": {"Reference not found"}}})
		return
	}
	now := ds.now().UTC().Truncate(time.Millisecond)
	pl := ds.addPipeline(ps, req.Ref, "api", "created", ds.userByID[rc.uid], now, nil)
	for k := range 2 {
		t := jobTemplates[k]
		ds.next.job++
		ds.jobsAppend(ps, pl.ID, &Job{ID: ds.next.job, Status: "created", Stage: t.stage, Name: t.name, Ref: pl.Ref,
			Tag: pl.Tag, CreatedAt: pl.CreatedAt, User: pl.User,
			Pipeline: JobPipeline{ID: pl.ID, IID: pl.IID, ProjectID: pl.ProjectID, Ref: pl.Ref, SHA: pl.SHA,
				Status: pl.Status, Source: pl.Source, CreatedAt: pl.CreatedAt, UpdatedAt: pl.UpdatedAt, WebURL: pl.WebURL},
			Commit: CommitBasic{ID: pl.SHA, ShortID: shortSHA(pl.SHA), ParentIDs: []string{}, Trailers: map[string]string{}},
			WebURL: ps.p.WebURL + "/-/jobs/" + strconv.Itoa(ds.next.job), Artifacts: []any{}, TagList: []string{},
			projectID: ps.p.ID, cache: &jsonCache{}})
	}
	ps.touch(now)
	writeJSON(rc.w, http.StatusCreated, pl)
}

// --- deployments, environments, releases ---

var deploymentOrders = map[string]orderFunc[*Deployment]{
	"id":          func(a, b *Deployment) int { return cmp.Compare(a.ID, b.ID) },
	"iid":         func(a, b *Deployment) int { return cmp.Compare(a.IID, b.IID) },
	"created_at":  func(a, b *Deployment) int { return cmpTime(a.CreatedAt, b.CreatedAt) },
	"updated_at":  func(a, b *Deployment) int { return cmpTime(a.UpdatedAt, b.UpdatedAt) },
	"finished_at": func(a, b *Deployment) int { return a.finishedAt.Compare(b.finishedAt) },
	"ref":         func(a, b *Deployment) int { return strings.Compare(a.Ref, b.Ref) },
}

func deploymentID(d *Deployment) int { return d.ID }

func encodeDeployment(d *Deployment) []byte { return d.cache.get(d) }

func handleDeployments(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	updated, ok := rc.timeFilter("updated")
	if !ok {
		return
	}
	finished, ok := rc.timeFilter("finished")
	if !ok {
		return
	}
	env, status := rc.q.Get("environment"), rc.q.Get("status")
	orderBy := cmp.Or(rc.q.Get("order_by"), "id")
	// GitLab's DeploymentsFinder validations.
	if (updated.hasAfter || updated.hasBefore) && orderBy != "updated_at" {
		writeMessage(rc.w, http.StatusBadRequest, "400 Bad request - `updated_at` filter and `updated_at` sorting must be paired")
		return
	}
	if finished.hasAfter || finished.hasBefore {
		if orderBy != "finished_at" {
			writeMessage(rc.w, http.StatusBadRequest, "400 Bad request - `finished_at` filter and `finished_at` sorting must be paired")
			return
		}
		if status != "success" {
			writeMessage(rc.w, http.StatusBadRequest, "400 Bad request - `finished_at` filter must be combined with `success` status filter.")
			return
		}
	}
	if status != "" && !slices.Contains([]string{"created", "running", "success", "failed", "canceled", "skipped", "blocked"}, status) {
		writeError(rc.w, http.StatusBadRequest, "status does not have a valid value")
		return
	}
	var items []*Deployment
	for _, d := range ps.deployments {
		if (env != "" && d.Environment.Name != env) || (status != "" && d.Status != status) {
			continue
		}
		if !updated.match(d.UpdatedAt.Time) || !finished.match(d.finishedAt) {
			continue
		}
		items = append(items, d)
	}
	if !sortList(rc, items, deploymentOrders, "id", "asc", deploymentID) {
		return
	}
	paginate(rc, items, deploymentID, encodeDeployment, listOpts{})
}

func handleDeployment(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	id, _ := atoiStrict(rc.params["deployment_id"])
	for _, d := range ps.deployments {
		if d.ID == id {
			writeBytes(rc.w, http.StatusOK, encodeDeployment(d))
			return
		}
	}
	writeMessage(rc.w, http.StatusNotFound, "404 Not found")
}

func handleEnvironments(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	name, search := rc.q.Get("name"), strings.ToLower(rc.q.Get("search"))
	states := rc.q.Get("states")
	var items []*Environment
	for _, e := range ps.environments {
		if (name != "" && e.Name != name) || (search != "" && !strings.Contains(strings.ToLower(e.Name), search)) ||
			(states != "" && e.State != states) {
			continue
		}
		items = append(items, e)
	}
	paginate(rc, items, func(e *Environment) int { return e.ID }, func(e *Environment) []byte { return e.cache.get(e) }, listOpts{})
}

var releaseOrders = map[string]orderFunc[*Release]{
	"released_at": func(a, b *Release) int { return cmpTime(a.ReleasedAt, b.ReleasedAt) },
	"created_at":  func(a, b *Release) int { return cmpTime(a.CreatedAt, b.CreatedAt) },
}

func handleReleases(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	items := slices.Clone(ps.releases)
	idx := func(r *Release) int { return slices.Index(ps.releases, r) }
	if !sortList(rc, items, releaseOrders, "released_at", "desc", idx) {
		return
	}
	paginate(rc, items, idx, func(r *Release) []byte { return r.cache.get(r) }, listOpts{})
}

func handleRelease(rc *reqCtx) {
	defer rc.rlock()()
	ps := rc.project()
	if ps == nil {
		return
	}
	for _, r := range ps.releases {
		if r.TagName == rc.params["tag_name"] {
			writeBytes(rc.w, http.StatusOK, r.cache.get(r))
			return
		}
	}
	writeMessage(rc.w, http.StatusNotFound, "404 Not Found")
}
