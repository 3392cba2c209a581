package gitlabtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound is returned (wrapped) by mutation helpers when the object they
// address does not exist.
var ErrNotFound = errors.New("gitlabtest: not found")

// ErrExists is returned (wrapped) when creating an object that exists.
var ErrExists = errors.New("gitlabtest: already exists")

func (d *Dataset) stamp() time.Time { return d.now().UTC().Truncate(time.Millisecond) }

// touch records activity on a project.
func (ps *projectState) touch(at time.Time) {
	ps.p.LastActivityAt = T(at)
	ps.p.UpdatedAt = T(at)
	ps.p.cache.reset()
}

func (d *Dataset) generatorAt(now time.Time) *generator {
	return &generator{d: d, s: Size{BranchesPerProject: 1}, now: now, seed: d.seed,
		r: rand.New(rand.NewPCG(uint64(d.seed), uint64(d.next.project)<<8|uint64(d.next.group)))}
}

func (d *Dataset) mustProject(idOrPath string) (*projectState, error) {
	ps := d.findProject(idOrPath)
	if ps == nil {
		return nil, fmt.Errorf("project %q: %w", idOrPath, ErrNotFound)
	}
	return ps, nil
}

// CreateGroup creates a group under parent (a group ID or full path; empty
// for a top-level group). The token user becomes its Owner when top-level.
func (d *Dataset) CreateGroup(parent, name string) (Group, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	var pg *Group
	if parent != "" {
		if pg = d.findGroup(parent); pg == nil {
			return Group{}, fmt.Errorf("group %q: %w", parent, ErrNotFound)
		}
	}
	now := d.stamp()
	g := d.generatorAt(now).addGroup(pg, name, false)
	g.CreatedAt = T(now)
	if pg == nil {
		d.groupMembers[g.ID][d.currentUserID] = &memberRec{userID: d.currentUserID, access: OwnerAccess, createdAt: now, createdBy: d.currentUserID}
	}
	return *g, nil
}

// DeleteGroup deletes a group, its subgroups and their projects.
func (d *Dataset) DeleteGroup(idOrPath string) error {
	d.lockWrite()
	defer d.mu.Unlock()
	g := d.findGroup(idOrPath)
	if g == nil {
		return fmt.Errorf("group %q: %w", idOrPath, ErrNotFound)
	}
	doomed := append(d.descendants(g), g)
	for _, ps := range d.groupProjects(g, true) {
		d.removeProject(ps)
	}
	for _, x := range doomed {
		delete(d.groupByID, x.ID)
		delete(d.groupByPath, strings.ToLower(x.FullPath))
		delete(d.groupMembers, x.ID)
		delete(d.groupHooks, x.ID)
		delete(d.children, x.ID)
		delete(d.byGroup, x.ID)
	}
	d.groups = slices.DeleteFunc(d.groups, func(x *Group) bool { return d.groupByID[x.ID] == nil })
	if g.ParentID != nil {
		d.children[*g.ParentID] = slices.DeleteFunc(d.children[*g.ParentID], func(x *Group) bool { return x.ID == g.ID })
	}
	return nil
}

// CreateProject creates a project with the standard repository layout in a
// namespace: a group ID or full path, or a username for a personal project.
func (d *Dataset) CreateProject(namespace, name string) (Project, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	grp := d.findGroup(namespace)
	var owner *User
	if grp == nil {
		owner = d.userByName[strings.ToLower(namespace)]
		if owner == nil {
			return Project{}, fmt.Errorf("namespace %q: %w", namespace, ErrNotFound)
		}
	}
	path := slug(name)
	nsPath := namespace
	if grp != nil {
		nsPath = grp.FullPath
	} else {
		nsPath = owner.Username
	}
	if d.projectByPath[strings.ToLower(nsPath+"/"+path)] != nil {
		return Project{}, fmt.Errorf("project %s/%s: %w", nsPath, path, ErrExists)
	}
	now := d.stamp()
	vis := "private"
	if grp != nil {
		vis = grp.Visibility
	}
	ps := d.generatorAt(now).addProject(grp, owner, vis, false, path)
	ps.p.CreatedAt = T(now)
	ps.touch(now)
	return *ps.p, nil
}

// UpdateProject changes a project through fn and records activity
// (updated_at, last_activity_at). fn must not change the ID.
func (d *Dataset) UpdateProject(idOrPath string, fn func(*Project)) (Project, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	ps, err := d.mustProject(idOrPath)
	if err != nil {
		return Project{}, err
	}
	oldPath := ps.p.PathWithNamespace
	fn(ps.p)
	if ps.p.PathWithNamespace != oldPath {
		delete(d.projectByPath, strings.ToLower(oldPath))
		d.projectByPath[strings.ToLower(ps.p.PathWithNamespace)] = ps
	}
	ps.touch(d.stamp())
	return *ps.p, nil
}

// DeleteProject deletes a project and everything in it.
func (d *Dataset) DeleteProject(idOrPath string) error {
	d.lockWrite()
	defer d.mu.Unlock()
	ps, err := d.mustProject(idOrPath)
	if err != nil {
		return err
	}
	d.removeProject(ps)
	return nil
}

func (d *Dataset) removeProject(ps *projectState) {
	delete(d.projectByID, ps.p.ID)
	delete(d.projectByPath, strings.ToLower(ps.p.PathWithNamespace))
	d.projects = slices.DeleteFunc(d.projects, func(x *projectState) bool { return x == ps })
	if ps.groupID != 0 {
		d.byGroup[ps.groupID] = slices.DeleteFunc(d.byGroup[ps.groupID], func(x *projectState) bool { return x == ps })
	}
}

// CreateMergeRequest adds a merge request to a project. Zero fields of mr get
// defaults: state "opened", the token user as author, the default branch as
// target, and fresh ID, IID, timestamps and URLs.
func (d *Dataset) CreateMergeRequest(projectID int, mr MergeRequest) (MergeRequest, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil {
		return MergeRequest{}, fmt.Errorf("project %d: %w", projectID, ErrNotFound)
	}
	now := d.stamp()
	d.next.mr++
	m := mr
	p := ps.p
	m.ID, m.IID, m.ProjectID = d.next.mr, ps.nextMRIID, p.ID
	ps.nextMRIID++
	if m.State == "" {
		m.State = "opened"
	}
	if m.Author.ID == 0 {
		m.Author = d.userByID[d.currentUserID].Basic()
	}
	if m.TargetBranch == "" {
		m.TargetBranch = deref(p.DefaultBranch)
	}
	if m.SourceBranch == "" {
		m.SourceBranch = "feature/mr-" + strconv.Itoa(m.IID)
	}
	if m.Title == "" {
		m.Title = "Merge request " + strconv.Itoa(m.IID)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = T(now)
	}
	m.UpdatedAt = T(now)
	m.SourceProjectID, m.TargetProjectID = p.ID, p.ID
	m.ImportedFrom = "none"
	if m.Labels == nil {
		m.Labels = []string{}
	}
	if m.Assignees == nil {
		m.Assignees = []UserBasic{}
	}
	if m.Reviewers == nil {
		m.Reviewers = []UserBasic{}
	}
	m.MergeStatus, m.DetailedMergeStatus = "can_be_merged", "mergeable"
	m.WebURL = fmt.Sprintf("%s/-/merge_requests/%d", p.WebURL, m.IID)
	m.References = References{Short: "!" + strconv.Itoa(m.IID), Relative: "!" + strconv.Itoa(m.IID), Full: p.PathWithNamespace + "!" + strconv.Itoa(m.IID)}
	m.cache = &jsonCache{}
	ps.mrs = append(ps.mrs, &m)
	ps.touch(now)
	return m, nil
}

// UpdateMergeRequest changes a merge request through fn and bumps its
// updated_at and the project's activity. Setting State to "merged" or
// "closed" also fills merged_at/closed_at when fn left them zero.
func (d *Dataset) UpdateMergeRequest(projectID, iid int, fn func(*MergeRequest)) (MergeRequest, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil || ps.findMR(iid) == nil {
		return MergeRequest{}, fmt.Errorf("merge request %d!%d: %w", projectID, iid, ErrNotFound)
	}
	m := ps.findMR(iid)
	fn(m)
	now := d.stamp()
	m.UpdatedAt = T(now)
	switch m.State {
	case "merged":
		if m.MergedAt.IsZero() {
			m.MergedAt = T(now)
		}
	case "closed":
		if m.ClosedAt.IsZero() {
			m.ClosedAt = T(now)
		}
	}
	m.cache.reset()
	ps.touch(now)
	return *m, nil
}

// DeleteMergeRequest deletes a merge request.
func (d *Dataset) DeleteMergeRequest(projectID, iid int) error {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil || ps.findMR(iid) == nil {
		return fmt.Errorf("merge request %d!%d: %w", projectID, iid, ErrNotFound)
	}
	ps.mrs = slices.DeleteFunc(ps.mrs, func(m *MergeRequest) bool { return m.IID == iid })
	ps.touch(d.stamp())
	return nil
}

// CreateIssue adds an issue to a project; zero fields get defaults as in
// CreateMergeRequest.
func (d *Dataset) CreateIssue(projectID int, issue Issue) (Issue, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil {
		return Issue{}, fmt.Errorf("project %d: %w", projectID, ErrNotFound)
	}
	now := d.stamp()
	d.next.issue++
	title := issue.Title
	if title == "" {
		title = "Issue " + strconv.Itoa(ps.nextIssueIID)
	}
	author := d.userByID[d.currentUserID]
	if issue.Author.ID != 0 && d.userByID[issue.Author.ID] != nil {
		author = d.userByID[issue.Author.ID]
	}
	is := d.generatorAt(now).newIssue(ps, d.next.issue, ps.nextIssueIID, title, author, now)
	ps.nextIssueIID++
	if issue.Description != "" {
		is.Description = issue.Description
	}
	if issue.State != "" {
		is.State = issue.State
	}
	if issue.IssueType != "" {
		is.IssueType, is.Type = issue.IssueType, strings.ToUpper(issue.IssueType)
	}
	if issue.Labels != nil {
		is.Labels = issue.Labels
	}
	if issue.Assignees != nil {
		is.Assignees = issue.Assignees
	}
	is.Confidential = issue.Confidential
	ps.issues = append(ps.issues, is)
	ps.touch(now)
	return *is, nil
}

// UpdateIssue changes an issue through fn and bumps updated_at.
func (d *Dataset) UpdateIssue(projectID, iid int, fn func(*Issue)) (Issue, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil || ps.findIssue(iid) == nil {
		return Issue{}, fmt.Errorf("issue %d#%d: %w", projectID, iid, ErrNotFound)
	}
	is := ps.findIssue(iid)
	fn(is)
	now := d.stamp()
	is.UpdatedAt = T(now)
	if is.State == "closed" && is.ClosedAt.IsZero() {
		is.ClosedAt = T(now)
	}
	is.cache.reset()
	ps.touch(now)
	return *is, nil
}

// DeleteIssue deletes an issue.
func (d *Dataset) DeleteIssue(projectID, iid int) error {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil || ps.findIssue(iid) == nil {
		return fmt.Errorf("issue %d#%d: %w", projectID, iid, ErrNotFound)
	}
	ps.issues = slices.DeleteFunc(ps.issues, func(i *Issue) bool { return i.IID == iid })
	ps.touch(d.stamp())
	return nil
}

// CreatePipeline adds a pipeline on ref (a branch or tag) with the given
// status and source "push".
func (d *Dataset) CreatePipeline(projectID int, ref, status string) (Pipeline, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil || ps.repo.resolveRef(ref) == nil {
		return Pipeline{}, fmt.Errorf("pipeline on %d@%s: %w", projectID, ref, ErrNotFound)
	}
	now := d.stamp()
	pl := d.addPipeline(ps, ref, "push", status, d.userByID[d.currentUserID], now, nil)
	ps.touch(now)
	return *pl, nil
}

// UpdatePipeline changes a pipeline through fn and bumps updated_at.
func (d *Dataset) UpdatePipeline(projectID, id int, fn func(*Pipeline)) (Pipeline, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil || ps.findPipeline(id) == nil {
		return Pipeline{}, fmt.Errorf("pipeline %d/%d: %w", projectID, id, ErrNotFound)
	}
	pl := ps.findPipeline(id)
	fn(pl)
	now := d.stamp()
	pl.UpdatedAt = T(now)
	pl.cache.reset()
	ps.touch(now)
	return *pl, nil
}

// CreateBranch creates branch name from ref (a branch, tag or commit).
func (d *Dataset) CreateBranch(projectID int, name, from string) error {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil {
		return fmt.Errorf("project %d: %w", projectID, ErrNotFound)
	}
	src := ps.repo.resolveRef(from)
	if src == nil {
		return fmt.Errorf("ref %q: %w", from, ErrNotFound)
	}
	if ps.repo.branches[name] != nil {
		return fmt.Errorf("branch %q: %w", name, ErrExists)
	}
	files := make(map[string]*blob, len(src.files))
	for k, v := range src.files {
		files[k] = v
	}
	ps.repo.branches[name] = &branchState{name: name, files: files, head: src.head}
	ps.touch(d.stamp())
	return nil
}

// DeleteBranch deletes a branch (not the default one).
func (d *Dataset) DeleteBranch(projectID int, name string) error {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil || ps.repo.branches[name] == nil {
		return fmt.Errorf("branch %d/%s: %w", projectID, name, ErrNotFound)
	}
	if ps.p.DefaultBranch != nil && *ps.p.DefaultBranch == name {
		return fmt.Errorf("branch %q is the default branch: %w", name, ErrExists)
	}
	delete(ps.repo.branches, name)
	ps.touch(d.stamp())
	return nil
}

// PutFile creates or replaces a file on a branch, as one new commit. On an
// empty repository it creates the branch and makes it the default.
func (d *Dataset) PutFile(projectID int, branch, path string, content []byte) error {
	return d.commitFile(projectID, branch, path, content, false)
}

// DeleteFile deletes a file from a branch, as one new commit.
func (d *Dataset) DeleteFile(projectID int, branch, path string) error {
	return d.commitFile(projectID, branch, path, nil, true)
}

func (d *Dataset) commitFile(projectID int, branch, path string, content []byte, del bool) error {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil {
		return fmt.Errorf("project %d: %w", projectID, ErrNotFound)
	}
	path = strings.Trim(path, "/")
	b := ps.repo.branches[branch]
	if b == nil {
		if len(ps.repo.branches) > 0 || del {
			return fmt.Errorf("branch %q: %w", branch, ErrNotFound)
		}
		b = &branchState{name: branch, files: map[string]*blob{}, protected: true}
		ps.repo.branches[branch] = b
		br := branch
		ps.p.DefaultBranch = &br
		ps.p.EmptyRepo = false
	}
	if del && b.files[path] == nil {
		return fmt.Errorf("file %q: %w", path, ErrNotFound)
	}
	now := d.stamp()
	verb := "Update "
	if del {
		verb = "Delete "
	}
	b.head = d.newCommit(ps.p.WebURL, b.head.ID, verb+path, d.userByID[d.currentUserID], now)
	// Copy on write: other branches may share this branch's map.
	files := make(map[string]*blob, len(b.files)+1)
	for k, v := range b.files {
		files[k] = v
	}
	if del {
		delete(files, path)
	} else {
		files[path] = &blob{data: slices.Clone(content), commitID: b.head.ID}
	}
	b.files = files
	ps.touch(now)
	return nil
}

// CreateUser adds a user; bot users are rendered with bot: true.
func (d *Dataset) CreateUser(username, name string, bot bool) (User, error) {
	d.lockWrite()
	defer d.mu.Unlock()
	if d.userByName[strings.ToLower(username)] != nil {
		return User{}, fmt.Errorf("user %q: %w", username, ErrExists)
	}
	u := d.generatorAt(d.stamp()).addUser(username, name, bot, d.stamp())
	return *u, nil
}

// AddGroupMember adds or changes a user's membership of a group.
func (d *Dataset) AddGroupMember(groupID, userID, accessLevel int) error {
	d.lockWrite()
	defer d.mu.Unlock()
	if d.groupByID[groupID] == nil || d.userByID[userID] == nil {
		return fmt.Errorf("group %d / user %d: %w", groupID, userID, ErrNotFound)
	}
	d.groupMembers[groupID][userID] = &memberRec{userID: userID, access: accessLevel, createdAt: d.stamp(), createdBy: d.currentUserID}
	return nil
}

// RemoveGroupMember removes a user's direct membership of a group.
func (d *Dataset) RemoveGroupMember(groupID, userID int) error {
	d.lockWrite()
	defer d.mu.Unlock()
	if d.groupMembers[groupID][userID] == nil {
		return fmt.Errorf("member %d of group %d: %w", userID, groupID, ErrNotFound)
	}
	delete(d.groupMembers[groupID], userID)
	return nil
}

// AddProjectMember adds or changes a user's direct membership of a project.
func (d *Dataset) AddProjectMember(projectID, userID, accessLevel int) error {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil || d.userByID[userID] == nil {
		return fmt.Errorf("project %d / user %d: %w", projectID, userID, ErrNotFound)
	}
	now := d.stamp()
	ps.members[userID] = &memberRec{userID: userID, access: accessLevel, createdAt: now, createdBy: d.currentUserID}
	ps.touch(now)
	return nil
}

// RemoveProjectMember removes a user's direct membership of a project.
func (d *Dataset) RemoveProjectMember(projectID, userID int) error {
	d.lockWrite()
	defer d.mu.Unlock()
	ps := d.projectByID[projectID]
	if ps == nil || ps.members[userID] == nil {
		return fmt.Errorf("member %d of project %d: %w", userID, projectID, ErrNotFound)
	}
	delete(ps.members, userID)
	ps.touch(d.stamp())
	return nil
}

// SetAdmin makes the token user an administrator (or not). Administrators
// see every group and project, as on GitLab.
func (d *Dataset) SetAdmin(admin bool) {
	d.lockWrite()
	defer d.mu.Unlock()
	d.userByID[d.currentUserID].IsAdmin = admin
}
