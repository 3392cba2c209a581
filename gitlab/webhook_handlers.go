package gitlab

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	glapi "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/oceankit/oceankit/ocean"
)

// Every processor refetches the object it is about, so that live items
// have the shape the resync produces (same endpoints or the same entity,
// same enrichments), and decides from the current state, not the payload:
// 403/404 deletes the entity, and an object the resource's selector no
// longer selects is returned in Delete so that the framework removes it.

// getItem fetches one object; gone reports a 403 or 404 (deleted, or the
// token may not see it: a resync would not list it either).
func (g *Integration) getItem(ctx context.Context, path string, q url.Values) (ocean.Item, bool, error) {
	var it ocean.Item
	if err := g.client.Get(ctx, path, q, &it); err != nil {
		if isInaccessible(err) && ctx.Err() == nil {
			return nil, true, nil
		}
		return nil, false, err
	}
	if len(it) == 0 {
		return nil, true, nil
	}
	return it, false, nil
}

// getProject fetches a project as the /projects listing renders it (the
// single-project answer adds `permissions`, which listings do not have).
func (g *Integration) getProject(ctx context.Context, ref string) (ocean.Item, bool, error) {
	p, gone, err := g.getItem(ctx, "projects/"+ref, nil)
	if p != nil {
		delete(p, "permissions")
	}
	return p, gone, err
}

// projectActive is GitLab's `active` filter: not archived and not pending
// deletion.
func projectActive(p ocean.Item) bool {
	if b, _ := p["archived"].(bool); b {
		return false
	}
	return p["marked_for_deletion_at"] == nil || p["marked_for_deletion_at"] == ""
}

func groupActive(grp ocean.Item) bool {
	if b, _ := grp["archived"].(bool); b {
		return false
	}
	return grp["marked_for_deletion_on"] == nil || grp["marked_for_deletion_on"] == ""
}

func activeOK(want *bool, active bool) bool { return want == nil || *want == active }

func pendingDeletion(it ocean.Item, field string) bool {
	v, ok := it[field]
	return ok && v != nil && v != ""
}

func upsert(it ocean.Item) ocean.Changes { return ocean.Changes{Upsert: []ocean.Item{it}} }
func remove(it ocean.Item) ocean.Changes { return ocean.Changes{Delete: []ocean.Item{it}} }

// projectOf is the id of the project an event is about.
func projectOf(p map[string]any) string {
	for _, path := range [][]string{{"project_id"}, {"project", "id"}, {"object_attributes", "target_project_id"}, {"object_attributes", "project_id"}} {
		if id := idField(p, path...); id != "" {
			return id
		}
	}
	return ""
}

var deletedSuffix = regexp.MustCompile(`-(deleted|deletion_scheduled)-\d+$`)

// deletedProjectStub is the identity of a project an event says is gone:
// enough for mappings keyed on id, path or path_with_namespace. GitLab
// renames projects it deletes with delay ("…-deleted-<id>"); the suffix is
// stripped so that the identifier matches what the resync wrote.
func deletedProjectStub(p map[string]any) ocean.Item {
	id := projectOf(p)
	pwn := strField(p, "path_with_namespace")
	if pwn == "" {
		pwn = strField(p, "project", "path_with_namespace")
	}
	if pwn == "" {
		pwn = strField(p, "project_path_with_namespace")
	}
	pwn = deletedSuffix.ReplaceAllString(pwn, "")
	if id != "" {
		pwn = strings.TrimSuffix(pwn, "-"+id)
	}
	name := strField(p, "name")
	if name == "" {
		name = strField(p, "project", "name")
	}
	if name == "" {
		name = strField(p, "project_name")
	}
	path := pwn[strings.LastIndexByte(pwn, '/')+1:]
	stub := ocean.Item{"name": name, "path": path, "path_with_namespace": pwn}
	if id != "" {
		stub["id"] = jsonNumber(id)
	}
	return stub
}

// jsonNumber renders a decimal id as the float64 JSON numbers decode to.
func jsonNumber(id string) float64 {
	var n float64
	for _, c := range id {
		n = n*10 + float64(c-'0')
	}
	return n
}

// projectRefOf names the project of an event in a URL: its id, else its
// escaped path (project member events may carry only the path).
func projectRefOf(p map[string]any) string {
	if id := projectOf(p); id != "" {
		return id
	}
	if pwn := strField(p, "project_path_with_namespace"); pwn != "" {
		return glapi.PathEscape(pwn)
	}
	return ""
}

// validateProjectID requires the numeric project id that push, tag and
// job payloads always carry.
func validateProjectID(kind string) func(ev *ocean.Event) error {
	return func(ev *ocean.Event) error {
		if projectOf(ev.Payload) == "" {
			return requireFields(ev.Payload, kind, [][]string{{"project_id"}}, nil)
		}
		return nil
	}
}

func validateProjectRef(kind string) func(ev *ocean.Event) error {
	return func(ev *ocean.Event) error {
		if projectRefOf(ev.Payload) == "" {
			return requireFields(ev.Payload, kind, [][]string{{"project_id"}}, nil)
		}
		return nil
	}
}

// --- project and project-with-members ---

func (g *Integration) projectProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-project", kind: KindProject, auth: a,
		headers: []string{hookProject, hookPush}, events: append(slices.Clone(projectEvents), "push"),
		when:     defaultBranchPushOr,
		validate: validateProjectRef("project"),
		key:      func(ev *ocean.Event) string { return "project:" + projectRefOf(ev.Payload) },
		handle:   g.handleProject,
	}
}

// defaultBranchPushOr lets through every event except pushes to other
// branches than the default one: included files, search results and
// languages are read on the default branch.
func defaultBranchPushOr(p map[string]any) bool {
	if eventName(p) != "push" {
		return true
	}
	def := strField(p, "project", "default_branch")
	return def != "" && strField(p, "ref") == "refs/heads/"+def
}

func (g *Integration) handleProject(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
	sel, err := selector[ProjectSelector](res)
	if err != nil {
		return ocean.Changes{}, err
	}
	p, gone, err := g.getProject(ctx, projectRefOf(ev.Payload))
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(deletedProjectStub(ev.Payload)), nil
	case pendingDeletion(p, "marked_for_deletion_at"), !activeOK(sel.IncludeOnlyActiveProjects, projectActive(p)):
		return remove(p), nil
	}
	if err := g.enrich.enrich(ctx, []ocean.Item{p}, sel.enrichment()); err != nil {
		return ocean.Changes{}, err
	}
	return upsert(p), nil
}

func (g *Integration) projectMembersProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-project-with-members", kind: KindProjectWithMembers, auth: a,
		headers: []string{hookProject, hookMember}, events: append(slices.Clone(projectEvents), projectMemberEvent...),
		validate: validateProjectRef("project"),
		key:      func(ev *ocean.Event) string { return "project:" + projectRefOf(ev.Payload) },
		handle:   g.handleProjectWithMembers,
	}
}

func (g *Integration) handleProjectWithMembers(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
	sel, err := selector[ProjectMembersSelector](res)
	if err != nil {
		return ocean.Changes{}, err
	}
	p, gone, err := g.getProject(ctx, projectRefOf(ev.Payload))
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(deletedProjectStub(ev.Payload)), nil
	case pendingDeletion(p, "marked_for_deletion_at"), !activeOK(sel.IncludeOnlyActiveProjects, projectActive(p)):
		return remove(p), nil
	}
	rows, err := g.memberRows(ctx, "projects/"+idString(p["id"]), sel.IncludeInheritedMembers, sel.IncludeBotMembers)
	if err != nil {
		if !isInaccessible(err) || ctx.Err() != nil {
			return ocean.Changes{}, err
		}
		rows = []any{}
	}
	p["__members"] = rows
	return upsert(p), nil
}

// --- group and group-with-members ---

func (g *Integration) groupProcessor(a *hookAuth, withMembers bool) *hookProcessor {
	p := &hookProcessor{
		name: "gitlab-group", kind: KindGroup, auth: a,
		headers: []string{hookSubgroup}, events: groupEvents,
		validate: func(ev *ocean.Event) error {
			return requireFields(ev.Payload, "group", [][]string{{"group_id"}}, nil)
		},
		key: func(ev *ocean.Event) string { return "group:" + idField(ev.Payload, "group_id") },
	}
	p.handle = func(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
		return g.handleGroup(ctx, ev, res, withMembers)
	}
	if withMembers {
		p.name, p.kind = "gitlab-group-with-members", KindGroupWithMembers
		p.headers = []string{hookSubgroup, hookMember}
		p.events = append(slices.Clone(groupEvents), groupMemberEvents...)
	}
	return p
}

// groupDetailOnly are fields GET /groups/:id adds to the listing's shape
// (runners_token is a secret the listing never shows).
var groupDetailOnly = []string{"projects", "shared_projects", "runners_token"}

func (g *Integration) handleGroup(ctx context.Context, ev *ocean.Event, res ocean.Resource, withMembers bool) (ocean.Changes, error) {
	sel, err := selector[GroupMembersSelector](res)
	if err != nil {
		return ocean.Changes{}, err
	}
	gid := idField(ev.Payload, "group_id")
	grp, gone, err := g.getItem(ctx, "groups/"+gid, url.Values{"with_projects": {"false"}})
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(deletedGroupStub(ev.Payload)), nil
	case pendingDeletion(grp, "marked_for_deletion_on"), !activeOK(sel.IncludeOnlyActiveGroups, groupActive(grp)):
		return remove(grp), nil
	}
	for _, k := range groupDetailOnly {
		delete(grp, k)
	}
	if withMembers {
		rows, err := g.memberRows(ctx, "groups/"+gid, sel.IncludeInheritedMembers, sel.IncludeBotMembers)
		if err != nil {
			if !isInaccessible(err) || ctx.Err() != nil {
				return ocean.Changes{}, err
			}
			rows = []any{}
		}
		grp["__members"] = rows
	}
	return upsert(grp), nil
}

func deletedGroupStub(p map[string]any) ocean.Item {
	stub := ocean.Item{"id": jsonNumber(idField(p, "group_id"))}
	for k, src := range map[string][]string{"name": {"name", "group_name"}, "path": {"path", "group_path"}, "full_path": {"full_path", "group_path"}} {
		for _, s := range src {
			if v := strField(p, s); v != "" {
				stub[k] = v
				break
			}
		}
	}
	return stub
}

// --- member ---

func (g *Integration) memberProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-member", kind: KindMember, auth: a,
		headers: []string{hookMember}, events: groupMemberEvents,
		validate: func(ev *ocean.Event) error {
			return requireFields(ev.Payload, "member", [][]string{{"group_id"}, {"user_id"}}, nil)
		},
		// Keyed by user: the member entity is the user (gitlab-v2's
		// mapping keys it by username), whatever the group.
		key:    func(ev *ocean.Event) string { return "user:" + idField(ev.Payload, "user_id") },
		handle: g.handleMember,
	}
}

// handleMember upserts the user's member object if the user is still a
// member of the event's group, or of any other group the resync lists:
// leaving one group must not delete a user who belongs to others (the
// member kind has one entity per user). Only a user who is a member of no
// listed group any more is deleted. Bots are deleted unless the selector
// keeps them.
func (g *Integration) handleMember(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
	sel, err := selector[GroupMembersSelector](res)
	if err != nil {
		return ocean.Changes{}, err
	}
	gid, uid := idField(ev.Payload, "group_id"), idField(ev.Payload, "user_id")
	stub := ocean.Item{
		"id": jsonNumber(uid), "username": strField(ev.Payload, "user_username"),
		"name": strField(ev.Payload, "user_name"), "email": strField(ev.Payload, "user_email"),
	}
	m, err := g.groupMember(ctx, gid, uid, sel)
	if err != nil {
		return ocean.Changes{}, err
	}
	if m == nil {
		m, err = g.memberElsewhere(ctx, gid, uid, sel)
		if err != nil {
			return ocean.Changes{}, err
		}
	}
	switch {
	case m == nil:
		return remove(stub), nil
	case !sel.IncludeBotMembers && isBot(m):
		return remove(m), nil
	}
	return upsert(m), nil
}

// groupMember returns the user's member object in a group the member kind
// lists, or nil.
func (g *Integration) groupMember(ctx context.Context, gid, uid string, sel GroupMembersSelector) (ocean.Item, error) {
	if sel.IncludeOnlyActiveGroups != nil {
		grp, gone, err := g.getItem(ctx, "groups/"+gid, url.Values{"with_projects": {"false"}})
		if err != nil {
			return nil, err
		}
		if gone || !activeOK(sel.IncludeOnlyActiveGroups, groupActive(grp)) {
			return nil, nil
		}
	}
	path := "groups/" + gid + "/members/"
	if sel.IncludeInheritedMembers {
		path += "all/"
	}
	m, gone, err := g.getItem(ctx, path+uid, nil)
	if err != nil || gone {
		return nil, err
	}
	return m, nil
}

// memberElsewhere looks for the user in the other groups the member kind
// lists, stopping at the first.
func (g *Integration) memberElsewhere(ctx context.Context, skip, uid string, sel GroupMembersSelector) (ocean.Item, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	found := make(chan ocean.Item, 1)
	err := g.fanOut(ctx, "group", g.groupLister(sel.IncludeOnlyActiveGroups), func(ctx context.Context, grp ocean.Item) error {
		gid := idString(grp["id"])
		if gid == skip {
			return nil
		}
		path := "groups/" + gid + "/members/"
		if sel.IncludeInheritedMembers {
			path += "all/"
		}
		m, gone, err := g.getItem(ctx, path+uid, nil)
		if err != nil || gone {
			return err
		}
		select {
		case found <- m:
			cancel() // one membership is enough
		default:
		}
		return nil
	}, nil)
	select {
	case m := <-found:
		return m, nil
	default:
	}
	return nil, err
}

// --- merge request ---

func (g *Integration) mergeRequestProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-merge-request", kind: KindMergeRequest, auth: a,
		headers: []string{hookMergeRequest}, events: []string{"merge_request"},
		validate: func(ev *ocean.Event) error {
			if projectOf(ev.Payload) == "" {
				return requireFields(ev.Payload, "merge request", [][]string{{"object_attributes", "target_project_id"}}, nil)
			}
			return requireFields(ev.Payload, "merge request", [][]string{{"object_attributes", "iid"}}, nil)
		},
		key: func(ev *ocean.Event) string {
			return "mr:" + mrProject(ev.Payload) + ":" + idField(ev.Payload, "object_attributes", "iid")
		},
		version: timeField("object_attributes", "updated_at"),
		handle:  g.handleMergeRequest,
	}
}

// mrProject is the merge request's (target) project.
func mrProject(p map[string]any) string {
	if id := idField(p, "object_attributes", "target_project_id"); id != "" {
		return id
	}
	return projectOf(p)
}

// listOne fetches one merge request or issue through the project list
// with iids[], which answers in the listing's shape (the single-object
// endpoints add fields the resync never has).
func (g *Integration) listOne(ctx context.Context, path, iid string) (ocean.Item, bool, error) {
	var items []ocean.Item
	err := g.client.Get(ctx, path, url.Values{"iids[]": {iid}, "state": {"all"}, "per_page": {"1"}}, &items)
	if err != nil {
		if isInaccessible(err) && ctx.Err() == nil {
			return nil, true, nil
		}
		return nil, false, err
	}
	if len(items) == 0 {
		return nil, true, nil
	}
	return items[0], false, nil
}

func (g *Integration) handleMergeRequest(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
	sel, err := selector[MergeRequestSelector](res)
	if err != nil {
		return ocean.Changes{}, err
	}
	mr, gone, err := g.listOne(ctx, "projects/"+mrProject(ev.Payload)+"/merge_requests", idField(ev.Payload, "object_attributes", "iid"))
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(object(ev.Payload, "object_attributes")), nil
	}
	state := str(mr["state"])
	if !slices.Contains(sel.States, state) {
		return remove(mr), nil
	}
	if state != "opened" && !updatedWithin(mr, sel.UpdatedAfter) {
		return remove(mr), nil
	}
	return upsert(mr), nil
}

// updatedWithin reports whether the item's updated_at is within the last
// days, as the resync's updated_after filter selects it.
func updatedWithin(it ocean.Item, days float64) bool {
	t, ok := parseTime(str(it["updated_at"]))
	if !ok {
		return true
	}
	return !t.Before(time.Now().Add(-time.Duration(days * float64(24*time.Hour))))
}

// --- issue ---

func (g *Integration) issueProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-issue", kind: KindIssue, auth: a,
		// Confidential issues arrive under their own header (gitlab-v2
		// subscribes to them but drops them).
		headers: []string{hookIssue, hookConfidentialIssue}, events: []string{"issue"},
		validate: func(ev *ocean.Event) error {
			if projectOf(ev.Payload) == "" {
				return requireFields(ev.Payload, "issue", [][]string{{"object_attributes", "project_id"}}, nil)
			}
			return requireFields(ev.Payload, "issue", [][]string{{"object_attributes", "iid"}}, nil)
		},
		key: func(ev *ocean.Event) string {
			return "issue:" + issueProject(ev.Payload) + ":" + idField(ev.Payload, "object_attributes", "iid")
		},
		version: timeField("object_attributes", "updated_at"),
		handle:  g.handleIssue,
	}
}

func issueProject(p map[string]any) string {
	if id := idField(p, "object_attributes", "project_id"); id != "" {
		return id
	}
	return projectOf(p)
}

func (g *Integration) handleIssue(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
	sel, err := selector[IssueSelector](res)
	if err != nil {
		return ocean.Changes{}, err
	}
	pid := issueProject(ev.Payload)
	is, gone, err := g.listOne(ctx, "projects/"+pid+"/issues", idField(ev.Payload, "object_attributes", "iid"))
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(object(ev.Payload, "object_attributes")), nil
	case !issueSelected(sel, is):
		return remove(is), nil
	}
	if sel.NonArchived {
		p, gone, err := g.getProject(ctx, pid)
		switch {
		case err != nil:
			return ocean.Changes{}, err
		case gone:
			return remove(is), nil
		case p["archived"] == true:
			return remove(is), nil
		}
	}
	return upsert(is), nil
}

// issueSelected applies the selector's filters the way GitLab's issue list
// applies the query parameters the resync sends.
func issueSelected(sel IssueSelector, is ocean.Item) bool {
	if sel.State != nil && str(is["state"]) != *sel.State {
		return false
	}
	if sel.IssueType != nil && !strings.EqualFold(str(is["issue_type"]), *sel.IssueType) {
		return false
	}
	if sel.Labels != nil && *sel.Labels != "" {
		have := map[string]bool{}
		if ls, ok := is["labels"].([]any); ok {
			for _, l := range ls {
				switch v := l.(type) {
				case string:
					have[strings.ToLower(v)] = true
				case map[string]any:
					have[strings.ToLower(str(v["name"]))] = true
				}
			}
		}
		for _, want := range strings.Split(*sel.Labels, ",") {
			if w := strings.ToLower(strings.TrimSpace(want)); w != "" && !have[w] {
				return false
			}
		}
	}
	if sel.UpdatedAfter != nil && !updatedWithin(is, *sel.UpdatedAfter) {
		return false
	}
	return true
}

// --- project-scoped kinds: shared checks ---

// projectGate applies includeOnlyActiveProjects, fetching the project only
// when the selector sets it. ok is false when the project's items are not
// selected (or the project is gone).
func (g *Integration) projectGate(ctx context.Context, pid string, active *bool) (ok bool, err error) {
	if active == nil {
		return true, nil
	}
	p, gone, err := g.getProject(ctx, pid)
	if err != nil {
		return false, err
	}
	return !gone && activeOK(active, projectActive(p)), nil
}

// eventProject is the payload's project object, carrying the
// path_with_namespace __project is built from.
func eventProject(p map[string]any) ocean.Item {
	if m := object(p, "project"); m != nil {
		return m
	}
	return ocean.Item{}
}

// --- tag ---

func (g *Integration) tagProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-tag", kind: KindTag, auth: a,
		headers: []string{hookTagPush}, events: []string{"tag_push"},
		validate: func(ev *ocean.Event) error {
			if !strings.HasPrefix(strField(ev.Payload, "ref"), "refs/tags/") {
				return requireFields(ev.Payload, "tag push", nil, [][]string{{"ref"}})
			}
			return validateProjectID("tag push")(ev)
		},
		key:    func(ev *ocean.Event) string { return "tag:" + projectOf(ev.Payload) + ":" + tagName(ev.Payload) },
		handle: g.handleTag,
	}
}

func tagName(p map[string]any) string { return strings.TrimPrefix(strField(p, "ref"), "refs/tags/") }

func (g *Integration) handleTag(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
	sel, err := selector[ProjectSelector](res)
	if err != nil {
		return ocean.Changes{}, err
	}
	pid, name, proj := projectOf(ev.Payload), tagName(ev.Payload), eventProject(ev.Payload)
	stub := ocean.Item{"name": name}
	withProject(proj)(stub)
	if strField(ev.Payload, "after") == zeroSHA {
		return remove(stub), nil // gitlab-v2 ignores tag deletions
	}
	// Names with "/" are escaped (gitlab-v2 kept only the last segment).
	return g.refetchInProject(ctx, pid, sel.IncludeOnlyActiveProjects, "/repository/tags/"+glapi.PathEscape(name), proj, stub)
}

// refetchInProject fetches one object of a project (a tag, a release) for
// an event: it is upserted with __project when the project is selected and
// the object exists, and stub (its identity) is deleted otherwise.
func (g *Integration) refetchInProject(ctx context.Context, pid string, active *bool, sub string, proj ocean.Item, stub ocean.Item) (ocean.Changes, error) {
	if ok, err := g.projectGate(ctx, pid, active); err != nil || !ok {
		return remove(stub), err
	}
	it, gone, err := g.getItem(ctx, "projects/"+pid+sub, nil)
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(stub), nil
	}
	withProject(proj)(it)
	return upsert(it), nil
}

// --- release ---

func (g *Integration) releaseProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-release", kind: KindRelease, auth: a,
		headers: []string{hookRelease}, events: []string{"release"},
		validate: func(ev *ocean.Event) error {
			return requireFields(ev.Payload, "release", [][]string{{"project", "id"}}, [][]string{{"tag"}})
		},
		key: func(ev *ocean.Event) string {
			return "release:" + projectOf(ev.Payload) + ":" + strField(ev.Payload, "tag")
		},
		handle: g.handleRelease,
	}
}

func (g *Integration) handleRelease(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
	sel, err := selector[ProjectSelector](res)
	if err != nil {
		return ocean.Changes{}, err
	}
	pid, tag, proj := projectOf(ev.Payload), strField(ev.Payload, "tag"), eventProject(ev.Payload)
	// The payload in the REST shape (tag_name), for mappings written for
	// the resync's items.
	stub := ocean.Item{"tag_name": tag}
	for _, k := range []string{"name", "description", "created_at", "released_at"} {
		if v, ok := ev.Payload[k]; ok {
			stub[k] = v
		}
	}
	withProject(proj)(stub)
	if strField(ev.Payload, "action") == "delete" {
		return remove(stub), nil
	}
	return g.refetchInProject(ctx, pid, sel.IncludeOnlyActiveProjects, "/releases/"+glapi.PathEscape(tag), proj, stub)
}

// --- pipeline ---

func (g *Integration) pipelineProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-pipeline", kind: KindPipeline, auth: a,
		headers: []string{hookPipeline}, events: []string{"pipeline"},
		validate: func(ev *ocean.Event) error {
			return requireFields(ev.Payload, "pipeline", [][]string{{"project", "id"}, {"object_attributes", "id"}}, nil)
		},
		key: func(ev *ocean.Event) string {
			return "pipeline:" + projectOf(ev.Payload) + ":" + idField(ev.Payload, "object_attributes", "id")
		},
		handle: g.handlePipeline,
	}
}

// pipelineListFields are the fields of a pipeline in GitLab's pipeline
// list, which the resync reads; the single-pipeline answer has more.
var pipelineListFields = []string{"id", "iid", "project_id", "sha", "ref", "status", "source", "created_at", "updated_at", "web_url", "name"}

func (g *Integration) handlePipeline(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
	sel, err := selector[PipelineSelector](res)
	if err != nil {
		return ocean.Changes{}, err
	}
	pid, id, proj := projectOf(ev.Payload), idField(ev.Payload, "object_attributes", "id"), eventProject(ev.Payload)
	stub := ocean.Item{"id": jsonNumber(id), "project_id": jsonNumber(pid)}
	for _, k := range []string{"iid", "sha", "ref", "status", "source", "created_at", "name"} {
		if v, ok := object(ev.Payload, "object_attributes")[k]; ok {
			stub[k] = v
		}
	}
	withProject(proj)(stub)
	if ok, err := g.projectGate(ctx, pid, sel.IncludeOnlyActiveProjects); err != nil || !ok {
		return remove(stub), err
	}
	pl, gone, err := g.getItem(ctx, "projects/"+pid+"/pipelines/"+id, nil)
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(stub), nil
	}
	user := strField(pl, "user", "username")
	if user == "" {
		user = strField(ev.Payload, "user", "username")
	}
	selected := pipelineSelected(sel.APIQueryParams, pl, user)
	listed := make(ocean.Item, len(pipelineListFields)+1)
	for _, k := range pipelineListFields {
		if v, ok := pl[k]; ok {
			listed[k] = v
		}
	}
	withProject(proj)(listed)
	if !selected {
		return remove(listed), nil
	}
	return upsert(listed), nil
}

var finishedStatuses = []string{"success", "failed", "canceled", "skipped"}

// pipelineSelected applies the pipeline-list filters to one pipeline.
func pipelineSelected(q *PipelineQueryParams, pl ocean.Item, username string) bool {
	if q == nil {
		return true
	}
	eq := func(want string, got any) bool { return want == "" || want == str(got) }
	if !eq(q.Status, pl["status"]) || !eq(q.Ref, pl["ref"]) || !eq(q.SHA, pl["sha"]) ||
		!eq(q.Source, pl["source"]) || !eq(q.Name, pl["name"]) || (q.Username != "" && q.Username != username) {
		return false
	}
	switch q.Scope {
	case "running", "pending":
		if str(pl["status"]) != q.Scope {
			return false
		}
	case "finished":
		if !slices.Contains(finishedStatuses, str(pl["status"])) {
			return false
		}
	case "branches", "tags":
		if tag, ok := pl["tag"].(bool); ok && tag != (q.Scope == "tags") {
			return false
		}
	}
	if q.YamlErrors != nil {
		if ye, ok := pl["yaml_errors"]; ok && (ye != nil && ye != "") != *q.YamlErrors {
			return false
		}
	}
	return timeWindow(pl["updated_at"], q.UpdatedAfter, q.UpdatedBefore) && timeWindow(pl["created_at"], q.CreatedAfter, q.CreatedBefore)
}

// timeWindow checks after ≤ v ≤ before on parsed times (gitlab-v2
// compared the strings).
func timeWindow(v any, after, before string) bool {
	if after == "" && before == "" {
		return true
	}
	t, ok := parseTime(str(v))
	if !ok {
		return false
	}
	if a, ok := parseTime(after); ok && t.Before(a) {
		return false
	}
	if b, ok := parseTime(before); ok && t.After(b) {
		return false
	}
	return true
}

// --- job ---

func (g *Integration) jobProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-job", kind: KindJob, auth: a,
		headers: []string{hookJob}, events: []string{"build"},
		validate: func(ev *ocean.Event) error {
			return requireFields(ev.Payload, "job", [][]string{{"project_id"}, {"build_id"}}, nil)
		},
		key: func(ev *ocean.Event) string {
			return "job:" + projectOf(ev.Payload) + ":" + idField(ev.Payload, "build_id")
		},
		handle: g.handleJob,
	}
}

func (g *Integration) handleJob(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
	sel, err := selector[JobSelector](res)
	if err != nil {
		return ocean.Changes{}, err
	}
	pid, id := projectOf(ev.Payload), idField(ev.Payload, "build_id")
	stub := ocean.Item{"id": jsonNumber(id), "name": strField(ev.Payload, "build_name"), "status": strField(ev.Payload, "build_status"),
		"stage": strField(ev.Payload, "build_stage"), "ref": strField(ev.Payload, "ref")}
	if ok, err := g.projectGate(ctx, pid, sel.IncludeOnlyActiveProjects); err != nil || !ok {
		return remove(stub), err
	}
	job, gone, err := g.getItem(ctx, "projects/"+pid+"/jobs/"+id, nil)
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(stub), nil
	}
	// The resync lists the jobs of the pipelines pipelineQueryParams
	// selects; the job carries its pipeline in the listing's shape.
	if pl := object(job, "pipeline"); pl != nil && !pipelineSelected(sel.PipelineQueryParams, pl, strField(job, "user", "username")) {
		return remove(job), nil
	}
	return upsert(job), nil
}

// --- deployment ---

func (g *Integration) deploymentProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-deployment", kind: KindDeployment, auth: a,
		headers: []string{hookDeployment}, events: []string{"deployment"},
		validate: func(ev *ocean.Event) error {
			return requireFields(ev.Payload, "deployment", [][]string{{"project", "id"}, {"deployment_id"}}, nil)
		},
		key: func(ev *ocean.Event) string {
			return "deployment:" + projectOf(ev.Payload) + ":" + idField(ev.Payload, "deployment_id")
		},
		version: timeField("status_changed_at"),
		handle:  g.handleDeployment,
	}
}

func (g *Integration) handleDeployment(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
	sel, err := selector[DeploymentSelector](res)
	if err != nil {
		return ocean.Changes{}, err
	}
	pid, id := projectOf(ev.Payload), idField(ev.Payload, "deployment_id")
	stub := ocean.Item{"id": jsonNumber(id), "status": strField(ev.Payload, "status"), "ref": strField(ev.Payload, "ref"),
		"environment": map[string]any{"name": strField(ev.Payload, "environment")}, "__project": eventProject(ev.Payload)}
	p, gone, err := g.getProject(ctx, pid)
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone, !activeOK(sel.IncludeOnlyActiveProjects, projectActive(p)):
		return remove(stub), nil
	}
	stub["__project"] = p
	dep, gone, err := g.getItem(ctx, "projects/"+pid+"/deployments/"+id, nil)
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(stub), nil
	}
	dep["__project"] = p
	if !deploymentSelected(sel.APIQueryParams, dep) {
		return remove(dep), nil
	}
	return upsert(dep), nil
}

func deploymentSelected(q *DeploymentQueryParams, dep ocean.Item) bool {
	if q == nil {
		return true
	}
	if q.Environment != "" && strField(dep, "environment", "name") != q.Environment {
		return false
	}
	if q.Status != "" && str(dep["status"]) != q.Status {
		return false
	}
	finished := dep["finished_at"]
	if finished == nil {
		finished = field(dep, "deployable", "finished_at")
	}
	return timeWindow(dep["updated_at"], q.UpdatedAfter, q.UpdatedBefore) && timeWindow(finished, q.FinishedAfter, q.FinishedBefore)
}
