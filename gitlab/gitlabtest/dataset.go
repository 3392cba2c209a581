package gitlabtest

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// GitLab access levels.
const (
	NoAccess         = 0
	MinimalAccess    = 5
	GuestAccess      = 10
	PlannerAccess    = 15
	ReporterAccess   = 20
	DeveloperAccess  = 30
	MaintainerAccess = 40
	OwnerAccess      = 50
)

// DefaultWebBase is the host that generated web_url fields point to.
const DefaultWebBase = "https://gitlab.example.com"

// Dataset is the state of a fake GitLab instance: users, groups, projects and
// everything in them. It is safe for concurrent use; a Server reads it under
// a read lock and the mutation helpers take the write lock.
type Dataset struct {
	mu sync.RWMutex

	now     func() time.Time
	webBase string
	seed    int64

	currentUserID int

	users      []*User
	humans     []*User // the generated pool's human users (not the token user, not bots): authors, reviewers
	userByID   map[int]*User
	userByName map[string]*User

	groups       []*Group // sorted by ID
	groupByID    map[int]*Group
	groupByPath  map[string]*Group // lower-cased full path
	children     map[int][]*Group
	groupMembers map[int]map[int]*memberRec
	groupHooks   map[int][]*Hook

	projects      []*projectState         // sorted by ID
	byGroup       map[int][]*projectState // projects directly in a group, sorted by ID
	projectByID   map[int]*projectState
	projectByPath map[string]*projectState // lower-cased path_with_namespace

	next counters

	// gen counts changes (lockWrite): what a server memoises of the
	// dataset (its group listing) is valid while gen is unchanged.
	gen uint64

	// lazy is set on a dataset from GenerateLazy.
	lazy *lazyGen
}

// counters are the last IDs given out, per kind of object.
type counters struct {
	user, group, project, mr, issue, pipeline, job, deployment, environment, hook, milestone, token int
	commit                                                                                          uint64
}

// lazyGen is what a lazy dataset needs to regenerate a project's
// collections.
type lazyGen struct {
	size Size
	now  time.Time
	// counts are the regenerated collections' sizes, counted once at
	// generation.
	counts Counts
}

// lazyChildren regenerates one project's collections: the state of its
// random stream and the ID counters when they were first generated.
//
// The stream states are rand.PCG values (two words, no pointers) rather
// than their binary encoding: a million-entity instance keeps one of these
// per project, and every slice would be one more object for the fakes'
// garbage collector to trace on every cycle.
type lazyChildren struct {
	rng   rand.PCG // the stream where the project's collections begin
	next  counters
	users int32 // how many users there were (humanUser draws among them)
	stack uint8
	// mrRng is the stream's state where the merge requests begin (after
	// the repository and languages), and branches the branch names they
	// draw source branches from when there is more than the default one:
	// a merge-request list regenerates the merge requests alone
	// (Dataset.mergeRequestsOnly).
	mrRng    rand.PCG
	hasMRRng bool
	branches []string
}

type memberRec struct {
	userID    int
	access    int
	createdAt time.Time
	createdBy int
	expiresAt *string
}

type projectState struct {
	p            *Project
	groupID      int // 0 for a personal project
	ownerID      int // the owner of a personal project
	members      map[int]*memberRec
	mrs          []*MergeRequest // by IID
	issues       []*Issue        // by IID
	pipelines    []*Pipeline     // by ID
	jobs         map[int][]*Job  // pipeline ID → jobs
	deployments  []*Deployment
	environments []*Environment
	releases     []*Release
	languages    []Language
	repo         *repository
	hooks        []*Hook

	nextMRIID, nextIssueIID, nextPipelineIID, nextDeploymentIID int

	// lazy, in a lazy dataset, regenerates the collections above (from
	// repo to releases), which are then nil here; see Dataset.materialise.
	lazy *lazyChildren
	// have, on a materialised copy, is how much of the collections it
	// holds (0 on the dataset's own record).
	have depth
}

// depth is how much of a lazy project's collections a request needs.
// They come from one random stream in a fixed order (repository,
// languages, merge requests, then the rest), so regenerating the first
// ones alone is exact and skips the cost of the others: GraphQL's
// languages and files need no merge requests, a blob search needs only
// the repository.
type depth uint8

const (
	// noDepth regenerates nothing: the project's own fields only.
	noDepth depth = iota
	// depthRepo is the repository: branches, files and tags (without the
	// release a tag gets later in the stream).
	depthRepo
	// depthLanguages adds the languages.
	depthLanguages
	// depthMRs adds the merge requests.
	depthMRs
	// depthAll is every collection.
	depthAll
)

// materialise returns ps with all its collections: ps itself, or in a
// lazy dataset a private copy with them regenerated. The copy shares the
// project, its members and hooks; what the collections hold is the
// copy's own, so that concurrent readers never share it. Callers hold d.mu
// (read or write).
func (d *Dataset) materialise(ps *projectState) *projectState { return d.materialiseTo(ps, depthAll) }

// materialiseTo is materialise regenerating only the collections up to
// depth n (see depth); a copy that already has them is returned as is.
func (d *Dataset) materialiseTo(ps *projectState, n depth) *projectState {
	if ps == nil || ps.lazy == nil || d.lazy == nil || ps.have >= n {
		return ps
	}
	src := ps.lazy.rng // a copy: the saved state stays where it was
	cp := &projectState{p: ps.p, groupID: ps.groupID, ownerID: ps.ownerID, members: ps.members, hooks: ps.hooks,
		jobs: map[int][]*Job{}, nextMRIID: 1, nextIssueIID: 1, nextPipelineIID: 1, nextDeploymentIID: 1,
		lazy: ps.lazy, have: n}
	scratch := &Dataset{seed: d.seed, webBase: d.webBase, currentUserID: d.currentUserID, users: d.users[:ps.lazy.users],
		humans: d.humans, userByID: d.userByID, next: ps.lazy.next}
	g := &generator{d: scratch, s: d.lazy.size, now: d.lazy.now, seed: d.seed}
	g.childrenTo(cp, rand.New(&src), stackNames[ps.lazy.stack], n)
	return cp
}

// mergeRequestsOnly returns a private copy of ps holding its merge
// requests and no other collection, regenerated from where they begin in
// the stream (a merge-request list reads nothing else); outside a lazy
// dataset, ps itself. The copy is for reading the merge requests only.
// keep, when not nil, says which merge requests the reader can use (from
// their state and times); the copy may then lack the others. Callers
// hold d.mu.
func (d *Dataset) mergeRequestsOnly(ps *projectState, keep func(state string, created, updated time.Time) bool) *projectState {
	if ps == nil || ps.lazy == nil || d.lazy == nil || ps.have >= depthMRs {
		return ps
	}
	lz := ps.lazy
	if !lz.hasMRRng {
		return d.materialiseTo(ps, depthMRs)
	}
	src := lz.mrRng // a copy
	// have stays noDepth: the copy lacks the repository and languages, so
	// materialiseTo regenerates from the original state if asked.
	cp := &projectState{p: ps.p, groupID: ps.groupID, ownerID: ps.ownerID, members: ps.members, hooks: ps.hooks,
		jobs: map[int][]*Job{}, nextMRIID: 1, nextIssueIID: 1, nextPipelineIID: 1, nextDeploymentIID: 1, lazy: lz}
	branches := lz.branches
	if branches == nil && ps.p.DefaultBranch != nil {
		branches = []string{*ps.p.DefaultBranch}
	}
	// mergeRequests draws source branches by name only.
	cp.repo = &repository{branches: make(map[string]*branchState, len(branches))}
	for _, b := range branches {
		cp.repo.branches[b] = nil
	}
	scratch := &Dataset{seed: d.seed, webBase: d.webBase, currentUserID: d.currentUserID, users: d.users[:lz.users],
		humans: d.humans, userByID: d.userByID, next: lz.next}
	g := &generator{d: scratch, s: d.lazy.size, now: d.lazy.now, seed: d.seed, keepMR: keep}
	g.mergeRequests(cp, rand.New(&src))
	cp.repo = nil
	return cp
}

// mergeRequestsOnlyAll is mergeRequestsOnly over a list (a new slice in
// a lazy dataset).
func (d *Dataset) mergeRequestsOnlyAll(in []*projectState, keep func(state string, created, updated time.Time) bool) []*projectState {
	if d.lazy == nil {
		return in
	}
	out := make([]*projectState, len(in))
	for i, ps := range in {
		out[i] = d.mergeRequestsOnly(ps, keep)
	}
	return out
}

// materialiseAll is materialise over a list (a new slice in a lazy
// dataset).
func (d *Dataset) materialiseAll(in []*projectState) []*projectState {
	return d.materialiseAllTo(in, depthAll)
}

// materialiseAllTo is materialiseTo over a list.
func (d *Dataset) materialiseAllTo(in []*projectState, n depth) []*projectState {
	if d.lazy == nil {
		return in
	}
	out := make([]*projectState, len(in))
	for i, ps := range in {
		out[i] = d.materialiseTo(ps, n)
	}
	return out
}

// childCounts counts a project's collections.
func (ps *projectState) childCounts() Counts {
	c := Counts{MergeRequests: len(ps.mrs), Issues: len(ps.issues), Pipelines: len(ps.pipelines),
		Deployments: len(ps.deployments), Environments: len(ps.environments), Releases: len(ps.releases)}
	for _, j := range ps.jobs {
		c.Jobs += len(j)
	}
	if ps.repo != nil {
		c.Tags, c.Branches = len(ps.repo.tags), len(ps.repo.branches)
		if b := ps.defaultBranch(); b != nil {
			c.Files = len(b.files)
		}
	}
	return c
}

// dropChildren forgets the collections a lazy dataset regenerates.
func (ps *projectState) dropChildren() {
	ps.repo, ps.languages, ps.mrs, ps.issues, ps.pipelines = nil, nil, nil, nil, nil
	ps.jobs, ps.deployments, ps.environments, ps.releases = nil, nil, nil, nil
}

func newDataset(seed int64, now time.Time) *Dataset {
	d := &Dataset{
		seed:          seed,
		webBase:       DefaultWebBase,
		userByID:      map[int]*User{},
		userByName:    map[string]*User{},
		groupByID:     map[int]*Group{},
		groupByPath:   map[string]*Group{},
		children:      map[int][]*Group{},
		groupMembers:  map[int]map[int]*memberRec{},
		groupHooks:    map[int][]*Hook{},
		projectByID:   map[int]*projectState{},
		byGroup:       map[int][]*projectState{},
		projectByPath: map[string]*projectState{},
	}
	fixed := now
	d.now = func() time.Time {
		// Mutations must move time forward from the generated data even when
		// the dataset was generated "in the future" of the wall clock.
		if t := time.Now().UTC(); t.After(fixed) {
			return t
		}
		fixed = fixed.Add(time.Second)
		return fixed
	}
	return d
}

// lockWrite takes the write lock for a change to the dataset.
func (d *Dataset) lockWrite() {
	d.mu.Lock()
	d.gen++
}

// SetClock replaces the clock used by the mutation helpers for updated_at,
// last_activity_at and new objects' created_at.
func (d *Dataset) SetClock(now func() time.Time) {
	d.lockWrite()
	defer d.mu.Unlock()
	d.now = now
}

// CurrentUser returns the user the server's token authenticates as.
func (d *Dataset) CurrentUser() User {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return *d.userByID[d.currentUserID]
}

// User returns the user with the given ID.
func (d *Dataset) User(id int) (User, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	u, ok := d.userByID[id]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// Users returns all users, by ID.
func (d *Dataset) Users() []User {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]User, len(d.users))
	for i, u := range d.users {
		out[i] = *u
	}
	return out
}

// Groups returns all groups, by ID.
func (d *Dataset) Groups() []Group {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Group, len(d.groups))
	for i, g := range d.groups {
		out[i] = *g
	}
	return out
}

// Group returns a group by numeric ID or full path.
func (d *Dataset) Group(idOrPath string) (Group, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	g := d.findGroup(idOrPath)
	if g == nil {
		return Group{}, false
	}
	return *g, true
}

// Projects returns all projects, by ID.
func (d *Dataset) Projects() []Project {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Project, len(d.projects))
	for i, ps := range d.projects {
		out[i] = *ps.p
	}
	return out
}

// PersonalProjectPaths returns the path_with_namespace of every project in a
// user's namespace, by ID (without copying every project, as Projects does).
func (d *Dataset) PersonalProjectPaths() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []string
	for _, ps := range d.projects {
		if ps.groupID == 0 {
			out = append(out, ps.p.PathWithNamespace)
		}
	}
	return out
}

// Project returns a project by numeric ID or path_with_namespace.
func (d *Dataset) Project(idOrPath string) (Project, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ps := d.findProject(idOrPath)
	if ps == nil {
		return Project{}, false
	}
	return *ps.p, true
}

// MergeRequests returns a project's merge requests, by IID.
func (d *Dataset) MergeRequests(projectID int) []MergeRequest {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ps := d.materialise(d.projectByID[projectID])
	if ps == nil {
		return nil
	}
	out := make([]MergeRequest, len(ps.mrs))
	for i, m := range ps.mrs {
		out[i] = *m
	}
	return out
}

// Issues returns a project's issues, by IID.
func (d *Dataset) Issues(projectID int) []Issue {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ps := d.materialise(d.projectByID[projectID])
	if ps == nil {
		return nil
	}
	out := make([]Issue, len(ps.issues))
	for i, m := range ps.issues {
		out[i] = *m
	}
	return out
}

// Pipelines returns a project's pipelines, by ID.
func (d *Dataset) Pipelines(projectID int) []Pipeline {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ps := d.materialise(d.projectByID[projectID])
	if ps == nil {
		return nil
	}
	out := make([]Pipeline, len(ps.pipelines))
	for i, m := range ps.pipelines {
		out[i] = *m
	}
	return out
}

// GroupHooks returns the webhooks registered on a group.
func (d *Dataset) GroupHooks(groupID int) []Hook {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Hook, 0, len(d.groupHooks[groupID]))
	for _, h := range d.groupHooks[groupID] {
		out = append(out, *h)
	}
	return out
}

// ProjectHooks returns the webhooks registered on a project.
func (d *Dataset) ProjectHooks(projectID int) []Hook {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ps := d.projectByID[projectID]
	if ps == nil {
		return nil
	}
	out := make([]Hook, 0, len(ps.hooks))
	for _, h := range ps.hooks {
		out = append(out, *h)
	}
	return out
}

// Counts reports how many objects of each kind the dataset holds.
type Counts struct {
	Users, Groups, Projects, MergeRequests, Issues, Pipelines, Jobs, Deployments,
	Environments, Releases, Tags, Branches, Files, GroupMembers, ProjectMembers int
}

func (c *Counts) add(o Counts) {
	c.Users += o.Users
	c.Groups += o.Groups
	c.Projects += o.Projects
	c.MergeRequests += o.MergeRequests
	c.Issues += o.Issues
	c.Pipelines += o.Pipelines
	c.Jobs += o.Jobs
	c.Deployments += o.Deployments
	c.Environments += o.Environments
	c.Releases += o.Releases
	c.Tags += o.Tags
	c.Branches += o.Branches
	c.Files += o.Files
	c.GroupMembers += o.GroupMembers
	c.ProjectMembers += o.ProjectMembers
}

// Total is the sum of all counts.
func (c Counts) Total() int {
	return c.Users + c.Groups + c.Projects + c.MergeRequests + c.Issues + c.Pipelines + c.Jobs + c.Deployments +
		c.Environments + c.Releases + c.Tags + c.Branches + c.Files + c.GroupMembers + c.ProjectMembers
}

// Counts counts the dataset's objects (files are counted on default branches).
func (d *Dataset) Counts() Counts {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c := Counts{Users: len(d.users), Groups: len(d.groups), Projects: len(d.projects)}
	for _, m := range d.groupMembers {
		c.GroupMembers += len(m)
	}
	for _, ps := range d.projects {
		c.ProjectMembers += len(ps.members)
		c.add(ps.childCounts())
	}
	if d.lazy != nil {
		c.add(d.lazy.counts)
	}
	return c
}

// --- lookups (callers hold d.mu) ---

func (d *Dataset) findGroup(idOrPath string) *Group {
	if id, ok := atoiStrict(idOrPath); ok {
		return d.groupByID[id]
	}
	return d.groupByPath[strings.ToLower(idOrPath)]
}

func (d *Dataset) findProject(idOrPath string) *projectState {
	return d.findProjectTo(idOrPath, depthAll)
}

// findProjectTo is findProject with the collections up to depth n only.
func (d *Dataset) findProjectTo(idOrPath string, n depth) *projectState {
	if id, ok := atoiStrict(idOrPath); ok {
		return d.materialiseTo(d.projectByID[id], n)
	}
	return d.materialiseTo(d.projectByPath[strings.ToLower(idOrPath)], n)
}

func (d *Dataset) parent(g *Group) *Group {
	if g.ParentID == nil {
		return nil
	}
	return d.groupByID[*g.ParentID]
}

// descendants returns g's subgroups at every depth, by ID.
func (d *Dataset) descendants(g *Group) []*Group {
	var out []*Group
	stack := slices.Clone(d.children[g.ID])
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, c)
		stack = append(stack, d.children[c.ID]...)
	}
	slices.SortFunc(out, func(a, b *Group) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// groupProjects returns the projects directly in g, or in g and its
// subgroups, by ID.
func (d *Dataset) groupProjects(g *Group, includeSubgroups bool) []*projectState {
	return d.groupProjectsTo(g, includeSubgroups, depthAll)
}

// groupProjectsTo is groupProjects with the collections up to depth n only.
func (d *Dataset) groupProjectsTo(g *Group, includeSubgroups bool, n depth) []*projectState {
	if !includeSubgroups {
		return d.materialiseAllTo(slices.Clone(d.byGroup[g.ID]), n)
	}
	out := slices.Clone(d.byGroup[g.ID])
	for _, c := range d.descendants(g) {
		out = append(out, d.byGroup[c.ID]...)
	}
	slices.SortFunc(out, func(a, b *projectState) int { return cmp.Compare(a.p.ID, b.p.ID) })
	return d.materialiseAllTo(out, n)
}

// groupAccess is uid's access to g, inherited from ancestors.
func (d *Dataset) groupAccess(uid int, g *Group) int {
	best := NoAccess
	for ; g != nil; g = d.parent(g) {
		if m := d.groupMembers[g.ID][uid]; m != nil && m.access > best {
			best = m.access
		}
	}
	return best
}

// projectAccess is uid's access to a project: direct, inherited from its
// group, or as the owner of a personal namespace.
func (d *Dataset) projectAccess(uid int, ps *projectState) int {
	best := NoAccess
	if m := ps.members[uid]; m != nil {
		best = m.access
	}
	if ps.groupID != 0 {
		best = max(best, d.groupAccess(uid, d.groupByID[ps.groupID]))
	}
	if ps.ownerID == uid {
		best = OwnerAccess
	}
	for _, sg := range ps.p.SharedWithGroups {
		if g := d.groupByID[sg.GroupID]; g != nil {
			best = max(best, min(sg.GroupAccessLevel, d.groupAccess(uid, g)))
		}
	}
	return best
}

func (d *Dataset) isAdmin(uid int) bool {
	u := d.userByID[uid]
	return u != nil && u.IsAdmin
}

func (d *Dataset) projectVisible(uid int, ps *projectState) bool {
	return ps.p.Visibility != "private" || d.isAdmin(uid) || d.projectAccess(uid, ps) >= GuestAccess
}

func (d *Dataset) groupVisible(uid int, g *Group) bool {
	return g.Visibility != "private" || d.isAdmin(uid) || d.groupAccess(uid, g) >= GuestAccess
}

func (ps *projectState) findMR(iid int) *MergeRequest {
	i, ok := slices.BinarySearchFunc(ps.mrs, iid, func(m *MergeRequest, iid int) int { return cmp.Compare(m.IID, iid) })
	if !ok {
		return nil
	}
	return ps.mrs[i]
}

func (ps *projectState) findIssue(iid int) *Issue {
	i, ok := slices.BinarySearchFunc(ps.issues, iid, func(m *Issue, iid int) int { return cmp.Compare(m.IID, iid) })
	if !ok {
		return nil
	}
	return ps.issues[i]
}

func (ps *projectState) findPipeline(id int) *Pipeline {
	i, ok := slices.BinarySearchFunc(ps.pipelines, id, func(m *Pipeline, id int) int { return cmp.Compare(m.ID, id) })
	if !ok {
		return nil
	}
	return ps.pipelines[i]
}

func (ps *projectState) defaultBranch() *branchState {
	if ps.repo == nil || ps.p.DefaultBranch == nil {
		return nil
	}
	return ps.repo.branches[*ps.p.DefaultBranch]
}

// memberJSON renders a membership as GitLab's member object.
func (d *Dataset) memberJSON(m *memberRec, withBot bool) Member {
	u := d.userByID[m.userID]
	out := Member{
		ID: u.ID, Username: u.Username, Name: u.Name, State: u.State, Locked: u.Locked, AvatarURL: u.AvatarURL,
		WebURL: u.WebURL, AccessLevel: m.access, CreatedAt: T(m.createdAt), ExpiresAt: m.expiresAt,
		Email: u.Email, MembershipState: "active",
	}
	if c := d.userByID[m.createdBy]; c != nil {
		out.CreatedBy = c.Basic()
	}
	if withBot {
		b := u.Bot
		out.Bot = &b
	}
	return out
}

func atoiStrict(s string) (int, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
