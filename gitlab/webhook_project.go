package gitlab

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/oceankit/oceankit/ocean"
)

// Live events of the project, project-with-members, group,
// group-with-members and member kinds (Project, Subgroup and Member Hooks,
// and default-branch pushes for project).

func (g *Integration) projectProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-project", kind: KindProject, auth: a,
		headers: []string{hookProject, hookPush}, events: append(slices.Clone(projectEvents), "push"),
		when:     defaultBranchPushOr,
		validate: validateProjectRef("project"),
		key:      func(ev *ocean.Event) string { return "project:" + projectRefOf(ev.Payload) },
		handle:   withSelector(g.handleProject),
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

func (g *Integration) handleProject(ctx context.Context, ev *ocean.Event, sel ProjectSelector) (ocean.Changes, error) {
	p, drop, err := g.refetchProject(ctx, ev, sel.IncludeOnlyActiveProjects)
	if err != nil || p == nil {
		return drop, err
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
		handle:   withSelector(g.handleProjectWithMembers),
	}
}

func (g *Integration) handleProjectWithMembers(ctx context.Context, ev *ocean.Event, sel ProjectMembersSelector) (ocean.Changes, error) {
	p, drop, err := g.refetchProject(ctx, ev, sel.IncludeOnlyActiveProjects)
	if err != nil || p == nil {
		return drop, err
	}
	rows, err := g.liveMembers(ctx, "projects/"+idString(p["id"]), sel.IncludeInheritedMembers, sel.IncludeBotMembers)
	if err != nil {
		return ocean.Changes{}, err
	}
	p["__members"] = rows
	return upsert(p), nil
}

// refetchProject refetches the project a project or member event names. When
// the project is gone, pending deletion or not selected, p is nil and drop
// deletes its entity.
func (g *Integration) refetchProject(ctx context.Context, ev *ocean.Event, active *bool) (p ocean.Item, drop ocean.Changes, err error) {
	p, gone, err := g.getProject(ctx, projectRefOf(ev.Payload))
	switch {
	case err != nil:
		return nil, ocean.Changes{}, err
	case gone:
		return nil, remove(deletedProjectStub(ev.Payload)), nil
	case pendingDeletion(p, "marked_for_deletion_at"), !activeOK(active, projectActive(p)):
		return nil, remove(p), nil
	}
	return p, ocean.Changes{}, nil
}

// liveMembers is __members for a live event: an owner whose members the
// token may not read gets none, as in the resync.
func (g *Integration) liveMembers(ctx context.Context, owner string, inherited, bots bool) ([]any, error) {
	rows, err := g.memberRows(ctx, owner, inherited, bots)
	if err != nil && isInaccessible(err) && ctx.Err() == nil {
		return []any{}, nil
	}
	return rows, err
}

func (g *Integration) groupProcessor(a *hookAuth, withMembers bool) *hookProcessor {
	p := &hookProcessor{
		name: "gitlab-group", kind: KindGroup, auth: a,
		headers: []string{hookSubgroup}, events: groupEvents,
		validate: func(ev *ocean.Event) error {
			return requireFields(ev.Payload, "group", [][]string{{"group_id"}}, nil)
		},
		key: func(ev *ocean.Event) string { return "group:" + idField(ev.Payload, "group_id") },
	}
	p.handle = withSelector(func(ctx context.Context, ev *ocean.Event, sel GroupMembersSelector) (ocean.Changes, error) {
		return g.handleGroup(ctx, ev, sel, withMembers)
	})
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

func (g *Integration) handleGroup(ctx context.Context, ev *ocean.Event, sel GroupMembersSelector, withMembers bool) (ocean.Changes, error) {
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
		rows, err := g.liveMembers(ctx, "groups/"+gid, sel.IncludeInheritedMembers, sel.IncludeBotMembers)
		if err != nil {
			return ocean.Changes{}, err
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
		handle: withSelector(g.handleMember),
	}
}

// handleMember upserts the user's member object if the user is still a
// member of the event's group, or of any other group the resync lists:
// leaving one group must not delete a user who belongs to others (the
// member kind has one entity per user). Only a user who is a member of no
// listed group any more is deleted. Bots are deleted unless the selector
// keeps them.
func (g *Integration) handleMember(ctx context.Context, ev *ocean.Event, sel GroupMembersSelector) (ocean.Changes, error) {
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
