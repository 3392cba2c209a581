package gitlabtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ReferenceTime is the "now" of generated data when Size.Now is zero, so that
// the same seed and Size always produce byte-identical data.
func ReferenceTime() time.Time { return time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC) }

// Size says how much data Generate builds. Counts "per group" apply to every
// group and subgroup; counts "per project" to every project.
type Size struct {
	Groups                  int // top-level groups
	SubgroupDepth           int // levels of subgroups below each top-level group
	SubgroupsPerGroup       int // subgroups of each group above the deepest level
	ProjectsPerGroup        int
	PersonalProjects        int // projects in the token user's personal namespace; the second one has an empty repository
	MergeRequestsPerProject int
	IssuesPerProject        int
	PipelinesPerProject     int
	JobsPerPipeline         int
	MembersPerGroup         int // human members besides the token user; every top-level group also gets a bot
	MembersPerProject       int // direct project members; every third project also gets a bot
	BranchesPerProject      int // including the default branch; the second branch is "develop"
	TagsPerProject          int
	ReleasesPerProject      int // releases of the newest tags (at most TagsPerProject)
	DeploymentsPerProject   int
	EnvironmentsPerProject  int
	FilesPerProject         int // extra source files besides the fixed layout (README.md, CODEOWNERS, port.yml, …)
	Users                   int // size of the user pool; 0 derives it from MembersPerGroup
	// Now is the reference time all generated timestamps precede. Zero means
	// ReferenceTime; set time.Now() for data that looks recent to a client
	// filtering with updated_after.
	Now time.Time
}

// Presets.
var (
	// SizeSmall is for unit tests and the demo: 6 groups (3 top-level, one
	// of which the token user is not a member of), 20 projects.
	SizeSmall = Size{
		Groups: 3, SubgroupDepth: 1, SubgroupsPerGroup: 1, ProjectsPerGroup: 3, PersonalProjects: 2,
		MergeRequestsPerProject: 4, IssuesPerProject: 4, PipelinesPerProject: 3, JobsPerPipeline: 3,
		MembersPerGroup: 3, MembersPerProject: 1, BranchesPerProject: 3, TagsPerProject: 2, ReleasesPerProject: 1,
		DeploymentsPerProject: 2, EnvironmentsPerProject: 2, FilesPerProject: 2,
	}
	// SizeMedium is for integration tests: 70 groups, ~350 projects, ~3,500
	// merge requests.
	SizeMedium = Size{
		Groups: 10, SubgroupDepth: 2, SubgroupsPerGroup: 2, ProjectsPerGroup: 5, PersonalProjects: 3,
		MergeRequestsPerProject: 10, IssuesPerProject: 10, PipelinesPerProject: 5, JobsPerPipeline: 4,
		MembersPerGroup: 5, MembersPerProject: 2, BranchesPerProject: 4, TagsPerProject: 3, ReleasesPerProject: 2,
		DeploymentsPerProject: 3, EnvironmentsPerProject: 2, FilesPerProject: 3,
	}
	// SizeLarge is for benchmarks: 350 groups, ~5,000 projects, ~50,000
	// merge requests.
	SizeLarge = Size{
		Groups: 50, SubgroupDepth: 2, SubgroupsPerGroup: 2, ProjectsPerGroup: 14, PersonalProjects: 3,
		MergeRequestsPerProject: 10, IssuesPerProject: 10, PipelinesPerProject: 5, JobsPerPipeline: 4,
		MembersPerGroup: 5, MembersPerProject: 2, BranchesPerProject: 3, TagsPerProject: 2, ReleasesPerProject: 1,
		DeploymentsPerProject: 2, EnvironmentsPerProject: 2, FilesPerProject: 1,
	}
)

// GroupCount is the number of groups (top-level and subgroups) the size makes.
func (s Size) GroupCount() int {
	perTree, level := 1, 1
	for range s.SubgroupDepth {
		level *= s.SubgroupsPerGroup
		perTree += level
	}
	return s.Groups * perTree
}

// ProjectCount is the number of projects the size makes.
func (s Size) ProjectCount() int { return s.GroupCount()*s.ProjectsPerGroup + s.PersonalProjects }

// perProjectEntities approximates the objects a project holds besides itself.
func (s Size) perProjectEntities() int {
	return s.MergeRequestsPerProject + s.IssuesPerProject + s.PipelinesPerProject*(1+s.JobsPerPipeline) +
		s.MembersPerProject + s.BranchesPerProject + s.TagsPerProject + s.ReleasesPerProject +
		s.DeploymentsPerProject + s.EnvironmentsPerProject + s.FilesPerProject + 14
}

// Entities approximates the total number of objects Generate makes.
func (s Size) Entities() int {
	return s.ProjectCount()*(1+s.perProjectEntities()) + s.GroupCount()*(1+s.MembersPerGroup)
}

// SizeFor scales SizeMedium's per-project shape to about target objects in
// total (see Size.Entities), by changing how many groups there are.
func SizeFor(target int) Size {
	s := SizeMedium
	s.SubgroupDepth, s.SubgroupsPerGroup = 1, 2 // 3 groups per tree
	perTree := s.GroupCount() / max(1, s.Groups)
	perTreeEntities := perTree*(1+s.MembersPerGroup) + perTree*s.ProjectsPerGroup*(1+s.perProjectEntities())
	s.Groups = max(1, int(math.Round(float64(target)/float64(perTreeEntities))))
	return s
}

var (
	adjectives = []string{"amber", "brisk", "calm", "daring", "eager", "fuzzy", "gentle", "hidden", "icy", "jolly",
		"keen", "lucid", "mellow", "nimble", "orange", "proud", "quiet", "rapid", "silver", "tidy", "urban", "vivid",
		"witty", "young", "zesty"}
	nouns = []string{"falcon", "harbor", "meadow", "comet", "river", "canyon", "lantern", "orchid", "glacier",
		"beacon", "summit", "prairie", "willow", "reef", "ember", "atlas", "delta", "nebula", "quartz", "tundra"}
	firstNames = []string{"Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger",
		"Radia", "Donald", "Shafi", "Tim", "Hedy", "Alan", "Katherine", "John", "Sophie", "Guido", "Anita"}
	lastNames = []string{"Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen",
		"Dijkstra", "Perlman", "Knuth", "Goldwasser", "Berners-Lee", "Lamarr", "Turing", "Johnson", "Backus",
		"Wilson", "Rossum", "Borg"}
	labelPool   = []string{"bug", "feature", "backend", "frontend", "security", "documentation", "needs-review", "tech-debt"}
	topicPool   = []string{"api", "backend", "frontend", "infra", "data", "ml", "platform", "payments", "mobile", "cli"}
	tiers       = []string{"Mission Critical", "Customer Facing", "Internal Service", "Other"}
	currentLvls = []int{OwnerAccess, ReporterAccess, DeveloperAccess, MaintainerAccess}
)

type language struct{ name, color, ext string }

var stacks = map[string][]language{
	"go":     {{"Go", "#00ADD8", "go"}, {"Makefile", "#427819", ""}, {"Dockerfile", "#384d54", ""}},
	"node":   {{"TypeScript", "#3178c6", "ts"}, {"JavaScript", "#f1e05a", "js"}, {"CSS", "#663399", ""}},
	"python": {{"Python", "#3572A5", "py"}, {"Shell", "#89e051", ""}, {"Dockerfile", "#384d54", ""}},
	"ruby":   {{"Ruby", "#701516", "rb"}, {"HTML", "#e34c26", ""}, {"JavaScript", "#f1e05a", ""}},
}
var stackNames = []string{"go", "node", "python", "ruby"}

type generator struct {
	d    *Dataset
	s    Size
	now  time.Time
	r    *rand.Rand
	seed int64
	// lazy drops each project's collections once generated, keeping what
	// regenerates them (see GenerateLazy).
	lazy bool
	// atMRs, when set, is called where a project's merge requests begin in
	// its stream (a lazy dataset saves the state there).
	atMRs func(ps *projectState)
	// keepMR, when set, says which merge requests a list can show, from
	// what is drawn first (state and times): the others are drawn from the
	// stream but not built (see skipMR).
	keepMR func(state string, created, updated time.Time) bool
	// skippedMRs counts the merge requests keepMR left out.
	skippedMRs int
}

// noMRs is a keepMR that builds none: lazy generation only counts a
// project's merge requests and their latest activity.
func noMRs(string, time.Time, time.Time) bool { return false }

// Generate builds a dataset. The same seed and Size always produce the same
// data. The token user (ID 1, "oceankit") is Owner, Reporter, Developer or
// Maintainer of the top-level groups in turn (inherited by subgroups), except the last top-level group
// (when there are at least three), which it is not a member of: its public
// and internal projects are visible, its private ones are not.
func Generate(seed int64, size Size) *Dataset { return generate(seed, size, false) }

// GenerateLazy builds the same dataset as Generate (same seed and Size, same
// data) without keeping it all: users, groups, projects and memberships are
// kept, while each project's merge requests, issues, pipelines, jobs,
// deployments, environments, releases, languages and repository are
// regenerated from the seed whenever a request needs them, and no object's
// JSON is cached. It serves a million-entity instance in a few hundred MiB
// instead of several GiB, at the cost of CPU per request.
//
// A lazy dataset is for reading: the mutation helpers change nothing that
// is regenerated (a project's collections), so do not mutate one.
func GenerateLazy(seed int64, size Size) *Dataset { return generate(seed, size, true) }

func generate(seed int64, size Size, lazy bool) *Dataset {
	now := size.Now
	if now.IsZero() {
		now = ReferenceTime()
	}
	now = now.UTC().Truncate(time.Millisecond)
	g := &generator{d: newDataset(seed, now), s: size, now: now, seed: seed,
		r: rand.New(rand.NewPCG(uint64(seed), 0x5eed)), lazy: lazy}
	g.users()
	if lazy {
		g.d.lazy = &lazyGen{size: size, now: now}
	}
	g.groups()
	g.personalProjects()
	return g.d
}

func (g *generator) rng(kind, id int) *rand.Rand {
	r, _ := g.rngSource(kind, id)
	return r
}

// rngSource is rng with its source, whose state a lazy dataset saves.
func (g *generator) rngSource(kind, id int) (*rand.Rand, *rand.PCG) {
	src := rand.NewPCG(uint64(g.seed), uint64(kind)<<40|uint64(id))
	return rand.New(src), src
}

// ago returns a time between lo and hi days before now.
func (g *generator) ago(r *rand.Rand, lo, hi float64) time.Time {
	days := lo + r.Float64()*(hi-lo)
	return g.now.Add(-time.Duration(days * float64(24*time.Hour))).Truncate(time.Millisecond)
}

func between(r *rand.Rand, a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(r.Int64N(int64(b.Sub(a))))).Truncate(time.Millisecond)
}

func (g *generator) addUser(username, name string, bot bool, created time.Time) *User {
	d := g.d
	d.next.user++
	u := &User{
		ID: d.next.user, Username: username, Name: name, State: "active",
		WebURL: d.webBase + "/" + username, CreatedAt: T(created), Bot: bot,
		Email: username + "@example.com",
	}
	if bot {
		u.Email = username + "@noreply." + strings.TrimPrefix(d.webBase, "https://")
	}
	d.users = append(d.users, u)
	d.userByID[u.ID] = u
	d.userByName[strings.ToLower(username)] = u
	return u
}

func (g *generator) users() {
	n := g.s.Users
	if n <= 0 {
		n = max(12, 3*g.s.MembersPerGroup+5)
	}
	me := g.addUser("oceankit", "Oceankit Sync", false, g.now.AddDate(-3, 0, 0))
	me.Bio = "Service account for catalog sync"
	g.d.currentUserID = me.ID
	for i := 1; i < n; i++ {
		first, last := firstNames[(i-1)%len(firstNames)], lastNames[((i-1)/len(firstNames)+i-1)%len(lastNames)]
		username := strings.ToLower(first + "." + strings.ReplaceAll(last, "-", ""))
		if i > len(firstNames) {
			username += strconv.Itoa(i)
		}
		u := g.addUser(username, first+" "+last, false, g.ago(g.r, 400, 1500))
		if i%11 == 0 {
			u.State = "blocked"
		}
		g.d.humans = append(g.d.humans, u)
	}
}

// humanUser picks a human user (not the token user). It draws among all
// users and retries on bots while bots are a minority that costs little
// (the data every test was written against); once they outnumber the
// humans 32 to 1 — every third project adds one, so a large instance has
// thousands — retrying would make generation quadratic, and it draws among
// the humans directly. Both are uniform over the humans.
func (g *generator) humanUser(r *rand.Rand) *User {
	users, humans := g.d.users[1:], g.d.humans
	if len(humans) == 0 || len(users) <= 32*len(humans) {
		for {
			u := users[r.IntN(len(users))]
			if !u.Bot {
				return u
			}
		}
	}
	return humans[r.IntN(len(humans))]
}

func slug(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "-")) }

func (g *generator) groups() {
	for i := range g.s.Groups {
		external := g.s.Groups >= 3 && i == g.s.Groups-1
		name := fmt.Sprintf("%s %s", titleCase(adjectives[i%len(adjectives)]), titleCase(nouns[(i/len(adjectives)+i)%len(nouns)]))
		if i >= len(adjectives) {
			name += " " + strconv.Itoa(i)
		}
		top := g.addGroup(nil, name, external)
		if !external {
			g.addMember(g.d.groupMembers[top.ID], g.d.currentUserID, currentLvls[i%len(currentLvls)], top.CreatedAt.Time)
		}
		// An access-token bot, as GitLab creates for group access tokens.
		bot := g.addUser(fmt.Sprintf("group_%d_bot_%s", top.ID, hexID(g.r, 32)), "Group access token bot", true, top.CreatedAt.Time)
		g.addMember(g.d.groupMembers[top.ID], bot.ID, MaintainerAccess, top.CreatedAt.Time)
		g.subgroups(top, 1, external)
	}
}

func (g *generator) subgroups(parent *Group, depth int, external bool) {
	g.projectsIn(parent, external)
	if depth > g.s.SubgroupDepth {
		return
	}
	for j := range g.s.SubgroupsPerGroup {
		name := fmt.Sprintf("%s %s", titleCase(nouns[(parent.ID+j)%len(nouns)]), []string{"Team", "Platform", "Services", "Tools"}[j%4])
		child := g.addGroup(parent, name, external)
		g.subgroups(child, depth+1, external)
	}
}

func titleCase(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func (g *generator) addGroup(parent *Group, name string, external bool) *Group {
	d := g.d
	d.next.group++
	id := d.next.group
	r := g.rng(1, id)
	path := slug(name)
	fullPath, fullName := path, name
	var parentID *int
	created := g.ago(r, 700, 1400)
	if parent != nil {
		pid := parent.ID
		parentID = &pid
		fullPath = parent.FullPath + "/" + path
		fullName = parent.FullName + " / " + name
		created = between(r, parent.CreatedAt.Time, g.now.AddDate(0, 0, -300))
	}
	// Unique paths among siblings.
	for d.groupByPath[strings.ToLower(fullPath)] != nil {
		path += "-" + strconv.Itoa(id)
		fullPath += "-" + strconv.Itoa(id)
	}
	vis := []string{"private", "internal", "private"}[r.IntN(3)]
	if external {
		vis = "public"
	}
	main := "main"
	grp := &Group{
		ID: id, WebURL: d.webBase + "/groups/" + fullPath, Name: name, Path: path,
		Description: fmt.Sprintf("The %s group.", name), Visibility: vis, ProjectCreationLevel: "developer",
		SubgroupCreationLevel: "maintainer", EmailsEnabled: true, LFSEnabled: true, DefaultBranch: &main,
		DefaultBranchProtection: 2, RequestAccessEnabled: true, FullName: fullName, FullPath: fullPath,
		CreatedAt: T(created), ParentID: parentID, OrganizationID: 1, SharedRunnersSetting: "enabled",
		cache: &jsonCache{},
	}
	if id%29 == 17 {
		day := g.now.AddDate(0, 0, -2).Format("2006-01-02")
		grp.MarkedForDeletionOn = &day
	}
	if g.lazy {
		grp.cache = nil
	}
	d.groups = append(d.groups, grp)
	d.groupByID[id] = grp
	d.groupByPath[strings.ToLower(fullPath)] = grp
	d.groupMembers[id] = map[int]*memberRec{}
	if parent != nil {
		d.children[parent.ID] = append(d.children[parent.ID], grp)
	}
	for range g.s.MembersPerGroup {
		u := g.humanUser(r)
		lvl := []int{GuestAccess, ReporterAccess, DeveloperAccess, DeveloperAccess, MaintainerAccess, OwnerAccess}[r.IntN(6)]
		if _, ok := d.groupMembers[id][u.ID]; !ok {
			g.addMember(d.groupMembers[id], u.ID, lvl, created)
		}
	}
	return grp
}

func (g *generator) addMember(m map[int]*memberRec, uid, level int, after time.Time) {
	r := g.rng(2, uid*7919+len(m))
	rec := &memberRec{userID: uid, access: level, createdAt: between(r, after, g.now.AddDate(0, 0, -1)), createdBy: g.d.currentUserID}
	if r.IntN(10) == 0 {
		exp := g.now.AddDate(0, 6, 0).Format("2006-01-02")
		rec.expiresAt = &exp
	}
	m[uid] = rec
}

func hexID(r *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	b.Grow(n)
	for range n {
		b.WriteByte(digits[r.IntN(16)])
	}
	return b.String()
}

func (g *generator) projectsIn(grp *Group, external bool) {
	for k := range g.s.ProjectsPerGroup {
		vis := grp.Visibility
		if external {
			vis = []string{"public", "private", "internal"}[k%3]
		} else if vis != "private" && k%2 == 1 {
			vis = "private"
		}
		g.addProject(grp, nil, vis, false, "")
	}
}

func (g *generator) personalProjects() {
	me := g.d.userByID[g.d.currentUserID]
	for k := range g.s.PersonalProjects {
		g.addProject(nil, me, []string{"private", "public"}[k%2], k == 1, "")
	}
}

func (g *generator) addProject(grp *Group, owner *User, vis string, empty bool, fixedName string) *projectState {
	d := g.d
	d.next.project++
	id := d.next.project
	r, src := g.rngSource(3, id)
	name := fmt.Sprintf("%s-%s", adjectives[r.IntN(len(adjectives))], nouns[r.IntN(len(nouns))])
	if fixedName != "" {
		name = fixedName
	}
	var ns Namespace
	var created time.Time
	if grp != nil {
		ns = Namespace{ID: grp.ID, Name: grp.Name, Path: grp.Path, Kind: "group", FullPath: grp.FullPath,
			ParentID: grp.ParentID, WebURL: grp.WebURL}
		created = between(r, grp.CreatedAt.Time, g.now.AddDate(0, 0, -60))
	} else {
		ns = Namespace{ID: 100000 + owner.ID, Name: owner.Name, Path: owner.Username, Kind: "user",
			FullPath: owner.Username, WebURL: owner.WebURL}
		created = g.ago(r, 60, 900)
	}
	path := name
	for d.projectByPath[strings.ToLower(ns.FullPath+"/"+path)] != nil {
		path = name + "-" + strconv.Itoa(id)
	}
	defBranch := "main"
	if id%7 == 3 {
		defBranch = "master"
	}
	nsName := []string{strings.ReplaceAll(ns.FullPath, "/", " / ")}
	if grp != nil {
		nsName[0] = grp.FullName
	}
	pwn := ns.FullPath + "/" + path
	apiSelf := d.webBase + "/api/v4/projects/" + strconv.Itoa(id)
	// The project's strings share one allocation (see oneAllocation); web,
	// the API root and the path are prefixes of some of them.
	strs := oneAllocation(
		[]string{pwn},
		[]string{nsName[0], " / ", path},
		[]string{d.webBase, "/", pwn, ".git"},
		[]string{"git@", strings.TrimPrefix(d.webBase, "https://"), ":", pwn, ".git"},
		[]string{d.webBase, "/", pwn, "/-/blob/", defBranch, "/README.md"},
		[]string{fmt.Sprintf("%s service owned by %s.", titleCase(strings.ReplaceAll(path, "-", " ")), ns.Name)},
		[]string{apiSelf, "/issues"},
		[]string{apiSelf, "/merge_requests"},
		[]string{apiSelf, "/repository/branches"},
		[]string{apiSelf, "/labels"},
		[]string{apiSelf, "/events"},
		[]string{apiSelf, "/members"},
		[]string{apiSelf, "/cluster_agents"},
	)
	pwn, nwn, httpURL, sshURL, readme, desc := strs[0], strs[1], strs[2], strs[3], strs[4], strs[5]
	web := httpURL[:len(httpURL)-len(".git")]
	stackIdx := r.IntN(len(stackNames))
	stack := stackNames[stackIdx]
	topics := pickN(r, topicPool, r.IntN(3))
	p := &Project{
		ID: id, Description: &desc, Name: path, NameWithNamespace: nwn, Path: path, PathWithNamespace: pwn,
		CreatedAt: T(created), DefaultBranch: &defBranch, TagList: topics, Topics: topics,
		SSHURLToRepo:  sshURL,
		HTTPURLToRepo: httpURL, WebURL: web, ForksCount: r.IntN(5), StarCount: r.IntN(40),
		Namespace: ns, Visibility: vis, IssuesEnabled: true, MergeRequestsEnabled: true, WikiEnabled: true,
		JobsEnabled: true, SnippetsEnabled: true, ContainerRegistryEnabled: true, IssuesAccessLevel: "enabled",
		RepositoryAccessLevel: "enabled", MergeRequestsAccessLevel: "enabled", BuildsAccessLevel: "enabled",
		CreatorID: d.currentUserID, ImportStatus: "none", CIDefaultGitDepth: 20, PublicJobs: true,
		SharedWithGroups: []SharedGroup{}, RequestAccessEnabled: true, MergeMethod: "merge", SquashOption: "default_off",
		cache: &jsonCache{},
	}
	links := strs[6:]
	p.Links = ProjectLinks{Self: links[0][:len(apiSelf)], Issues: links[0], MergeRequests: links[1],
		RepoBranches: links[2], Labels: links[3], Events: links[4], Members: links[5], ClusterAgents: links[6]}
	if owner != nil {
		ob := owner.Basic()
		p.Owner = &ob
	}
	if id%10 == 9 {
		p.Archived = true
	}
	if id%23 == 11 {
		at := g.now.AddDate(0, 0, -3).Format("2006-01-02")
		p.MarkedForDeletionAt = &at
		p.MarkedForDeletionOn = &at
	}
	ps := &projectState{p: p, members: map[int]*memberRec{}, jobs: map[int][]*Job{}, nextMRIID: 1, nextIssueIID: 1,
		nextPipelineIID: 1, nextDeploymentIID: 1}
	if grp != nil {
		ps.groupID = grp.ID
		d.byGroup[grp.ID] = append(d.byGroup[grp.ID], ps)
	} else {
		ps.ownerID = owner.ID
	}
	d.projects = append(d.projects, ps)
	d.projectByID[id] = ps
	d.projectByPath[strings.ToLower(pwn)] = ps

	for range g.s.MembersPerProject {
		u := g.humanUser(r)
		if ps.members[u.ID] == nil {
			g.addMember(ps.members, u.ID, []int{ReporterAccess, DeveloperAccess, MaintainerAccess}[r.IntN(3)], created)
		}
	}
	if id%3 == 0 {
		bot := g.addUser(fmt.Sprintf("project_%d_bot_%s", id, hexID(r, 32)), "Project access token bot", true, created)
		g.addMember(ps.members, bot.ID, DeveloperAccess, created)
	}

	last := created
	if empty {
		p.DefaultBranch = nil
		p.EmptyRepo = true
		ps.repo = &repository{branches: map[string]*branchState{}}
	} else {
		p.ReadmeURL = &readme
		var lz *lazyChildren
		if g.lazy {
			lz = &lazyChildren{rng: *src, next: d.next, users: int32(len(d.users)), stack: uint8(stackIdx)}
			g.atMRs = func(ps *projectState) {
				lz.mrRng, lz.hasMRRng = *src, true
				if names := ps.repo.branchNames(); len(names) != 1 || names[0] != defBranch {
					lz.branches = names
				}
			}
		}
		if lz != nil {
			g.keepMR, g.skippedMRs = noMRs, 0 // they are dropped below
		}
		last = maxTime(last, g.children(ps, r, stack))
		g.atMRs, g.keepMR = nil, nil
		if lz != nil {
			ps.lazy = lz
			c := ps.childCounts()
			c.MergeRequests += g.skippedMRs
			d.lazy.counts.add(c)
		}
	}
	open := 0
	for _, is := range ps.issues {
		if is.State == "opened" {
			open++
		}
	}
	p.OpenIssuesCount = open
	p.LastActivityAt = T(maxTime(last, created))
	p.UpdatedAt = p.LastActivityAt
	if ps.lazy != nil {
		ps.dropChildren()
		p.cache = nil
	}
	return ps
}

// children generates a project's collections and repository from its
// random stream; it returns the latest activity among them. A lazy dataset
// calls it again, from the saved stream and counters, to serve them.
func (g *generator) children(ps *projectState, r *rand.Rand, stack string) time.Time {
	return g.childrenTo(ps, r, stack, depthAll)
}

// childrenTo is children stopping after the collections of depth n: what
// comes later in the stream is left out, what comes before is exact.
func (g *generator) childrenTo(ps *projectState, r *rand.Rand, stack string, n depth) time.Time {
	last := g.repository(ps, r, stack)
	if n < depthLanguages {
		return last
	}
	g.languages(ps, r, stack)
	if n < depthMRs {
		return last
	}
	if g.atMRs != nil {
		g.atMRs(ps)
	}
	last = maxTime(last, g.mergeRequests(ps, r))
	if n < depthAll {
		return last
	}
	last = maxTime(last, g.issues(ps, r))
	last = maxTime(last, g.pipelines(ps, r))
	g.deployments(ps, r)
	g.releases(ps, r)
	return last
}

// oneAllocation concatenates each group of pieces and returns the results
// as substrings of one string. A generated project's fifteen-odd strings
// are then one heap object: a million-entity instance holds hundreds of
// thousands of projects, and the fakes' garbage collector visits every
// object on every cycle.
func oneAllocation(groups ...[]string) []string {
	n := 0
	for _, g := range groups {
		for _, s := range g {
			n += len(s)
		}
	}
	var b strings.Builder
	b.Grow(n)
	ends := make([]int, len(groups))
	for i, g := range groups {
		for _, s := range g {
			b.WriteString(s)
		}
		ends[i] = b.Len()
	}
	all := b.String()
	out := make([]string, len(groups))
	start := 0
	for i, end := range ends {
		out[i], start = all[start:end], end
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func pickN(r *rand.Rand, pool []string, n int) []string {
	idx := r.Perm(len(pool))[:min(n, len(pool))]
	slices.Sort(idx)
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = pool[j]
	}
	return out
}

func (g *generator) languages(ps *projectState, r *rand.Rand, stack string) {
	langs := stacks[stack]
	a := 60 + r.Float64()*30
	b := (100 - a) * (0.5 + r.Float64()*0.4)
	c := 100 - a - b
	shares := []float64{a, b, c}
	for i, l := range langs {
		ps.languages = append(ps.languages, Language{Name: l.name, Share: math.Round(shares[i]*100) / 100, Color: l.color})
	}
}

func (g *generator) repository(ps *projectState, r *rand.Rand, stack string) time.Time {
	d := g.d
	p := ps.p
	author := g.humanUser(r)
	at := between(r, p.CreatedAt.Time, g.now.AddDate(0, 0, -1))
	head := d.newCommit(p.WebURL, "", "Initial layout", author, at)
	files := projectFiles(ps, r, stack, g.s.FilesPerProject, uint64(g.seed))
	for _, b := range files {
		b.commitID = head.ID
	}
	def := &branchState{name: *p.DefaultBranch, files: files, head: head, protected: true}
	ps.repo = &repository{branches: map[string]*branchState{def.name: def}}
	for i := 1; i < g.s.BranchesPerProject; i++ {
		name := "develop"
		if i > 1 {
			name = fmt.Sprintf("feature/%s-%d", nouns[r.IntN(len(nouns))], i)
		}
		bat := between(r, at, g.now)
		c := d.newCommit(p.WebURL, head.ID, "Work on "+name, g.humanUser(r), bat)
		bf := make(map[string]*blob, len(files)+1)
		for k, v := range files {
			bf[k] = v
		}
		bf["README.md"] = &blob{data: []byte(fmt.Sprintf("# %s\n\nWork in progress on branch %s.\n", p.Name, name)), commitID: c.ID}
		bf["CHANGELOG.md"] = &blob{data: []byte(fmt.Sprintf("## Unreleased\n\n- %s\n", c.Title)), commitID: c.ID}
		ps.repo.branches[name] = &branchState{name: name, files: bf, head: c, merged: i%3 == 2}
		at = maxTime(at, bat)
	}
	for i := range g.s.TagsPerProject {
		name := fmt.Sprintf("v1.%d.0", i)
		tat := between(r, p.CreatedAt.Time, head.CreatedAt.Time)
		t := &Tag{Name: name, Message: "Release " + name, Target: head.ID, Commit: head, Protected: i == 0,
			CreatedAt: T(tat), cache: &jsonCache{}}
		ps.repo.tags = append([]*Tag{t}, ps.repo.tags...)
	}
	return at
}

func (g *generator) mergeRequests(ps *projectState, r *rand.Rand) time.Time {
	d := g.d
	p := ps.p
	last := time.Time{}
	branches := ps.repo.branchNames()
	for range g.s.MergeRequestsPerProject {
		d.next.mr++
		iid := ps.nextMRIID
		ps.nextMRIID++
		created := between(r, p.CreatedAt.Time, g.now.AddDate(0, 0, -1))
		updated := between(r, created, g.now)
		author := g.humanUser(r)
		state := []string{"opened", "opened", "merged", "merged", "closed", "opened", "merged", "locked"}[r.IntN(8)]
		if r.IntN(20) > 0 && state == "locked" {
			state = "merged"
		}
		if g.keepMR != nil && !g.keepMR(state, created, updated) {
			g.skipMR(r, branches, *p.DefaultBranch, state)
			g.skippedMRs++
			last = maxTime(last, updated)
			continue
		}
		src := branches[r.IntN(len(branches))]
		if src == *p.DefaultBranch {
			src = "feature/" + nouns[r.IntN(len(nouns))] + "-" + strconv.Itoa(iid)
		}
		// Concatenation, not fmt: a lazy dataset regenerates these on every
		// merge-request list, the fakes' hottest path.
		verb := []string{"Fix", "Add", "Refactor", "Update", "Remove"}[r.IntN(5)]
		title := verb + " " + nouns[r.IntN(len(nouns))] + " in " + p.Name
		draft := r.IntN(10) == 0
		if draft {
			title = "Draft: " + title
		}
		yes := true
		m := &MergeRequest{
			ID: d.next.mr, IID: iid, ProjectID: p.ID, Title: title, Description: "Closes #" + strconv.Itoa(1+r.IntN(10)),
			State: state, ImportedFrom: "none", CreatedAt: T(created), UpdatedAt: T(updated),
			TargetBranch: *p.DefaultBranch, SourceBranch: src, Upvotes: r.IntN(4), Author: author.Basic(),
			Assignees: []UserBasic{}, Reviewers: []UserBasic{}, SourceProjectID: p.ID, TargetProjectID: p.ID,
			Labels: pickN(r, labelPool, r.IntN(3)), Draft: draft, WorkInProgress: draft, MergeStatus: "can_be_merged",
			DetailedMergeStatus: "mergeable", SHA: hexID(r, 40), UserNotesCount: r.IntN(12),
			ShouldRemoveSourceBranch: &yes, WebURL: p.WebURL + "/-/merge_requests/" + strconv.Itoa(iid),
			References: References{Short: "!" + strconv.Itoa(iid), Relative: "!" + strconv.Itoa(iid),
				Full: p.PathWithNamespace + "!" + strconv.Itoa(iid)},
			BlockingDiscussionsResolved: true, cache: &jsonCache{},
		}
		if r.IntN(3) > 0 {
			a := g.humanUser(r).Basic()
			m.Assignee, m.Assignees = &a, []UserBasic{a}
		}
		for range r.IntN(3) {
			m.Reviewers = append(m.Reviewers, g.humanUser(r).Basic())
		}
		switch state {
		case "merged":
			mu := g.humanUser(r).Basic()
			m.MergedBy, m.MergeUser, m.MergedAt = &mu, &mu, T(updated)
			sha := hexID(r, 40)
			m.MergeCommitSHA = &sha
			m.DetailedMergeStatus = "not_open"
		case "closed", "locked":
			cb := g.humanUser(r).Basic()
			m.ClosedBy, m.ClosedAt = &cb, T(updated)
			m.DetailedMergeStatus = "not_open"
		}
		if !draft && state == "opened" {
			m.PreparedAt = T(created.Add(time.Minute))
		}
		ps.mrs = append(ps.mrs, m)
		last = maxTime(last, updated)
	}
	return last
}

// skipMR draws from r what the rest of mergeRequests' loop draws for one
// merge request in state, in the same order, without building it: the
// stream, and every merge request after this one, stay exactly as they
// are. Keep the two in step.
func (g *generator) skipMR(r *rand.Rand, branches []string, defaultBranch, state string) {
	if branches[r.IntN(len(branches))] == defaultBranch {
		r.IntN(len(nouns)) // the feature branch's noun
	}
	r.IntN(5)          // verb
	r.IntN(len(nouns)) // noun
	r.IntN(10)         // draft
	r.IntN(10)         // description
	r.IntN(4)          // upvotes
	r.IntN(3)          // how many labels
	r.Perm(len(labelPool))
	skipHex(r, 40) // SHA
	r.IntN(12)     // notes
	if r.IntN(3) > 0 {
		g.humanUser(r) // assignee
	}
	for range r.IntN(3) {
		g.humanUser(r) // reviewers
	}
	switch state {
	case "merged":
		g.humanUser(r)
		skipHex(r, 40) // merge commit
	case "closed", "locked":
		g.humanUser(r)
	}
}

// skipHex draws what hexID(r, n) draws.
func skipHex(r *rand.Rand, n int) {
	for range n {
		r.IntN(16)
	}
}

func (g *generator) issues(ps *projectState, r *rand.Rand) time.Time {
	d := g.d
	p := ps.p
	last := time.Time{}
	for range g.s.IssuesPerProject {
		d.next.issue++
		iid := ps.nextIssueIID
		ps.nextIssueIID++
		created := between(r, p.CreatedAt.Time, g.now.AddDate(0, 0, -1))
		updated := between(r, created, g.now)
		typ := "issue"
		switch x := r.IntN(20); {
		case x < 2:
			typ = "incident"
		case x == 2:
			typ = "test_case"
		case x == 3:
			typ = "task"
		}
		is := g.newIssue(ps, d.next.issue, iid, fmt.Sprintf("%s: %s %s", titleCase(typ), adjectives[r.IntN(len(adjectives))],
			nouns[r.IntN(len(nouns))]), g.humanUser(r), created)
		is.UpdatedAt = T(updated)
		is.IssueType, is.Type = typ, strings.ToUpper(typ)
		is.Labels = pickN(r, labelPool, r.IntN(3))
		is.Confidential = r.IntN(20) == 0
		is.UserNotesCount = r.IntN(8)
		if r.IntN(5) < 2 {
			cb := g.humanUser(r).Basic()
			is.State, is.ClosedAt, is.ClosedBy = "closed", T(updated), &cb
		}
		if r.IntN(2) == 0 {
			a := g.humanUser(r).Basic()
			is.Assignee, is.Assignees = &a, []UserBasic{a}
		}
		ps.issues = append(ps.issues, is)
		last = maxTime(last, updated)
	}
	return last
}

func (g *generator) newIssue(ps *projectState, id, iid int, title string, author *User, created time.Time) *Issue {
	p := ps.p
	api := p.Links.Self
	return &Issue{
		ID: id, IID: iid, ProjectID: p.ID, Title: title, Description: "Steps to reproduce: …", State: "opened",
		CreatedAt: T(created), UpdatedAt: T(created), Labels: []string{}, Assignees: []UserBasic{}, Author: author.Basic(),
		Type: "ISSUE", IssueType: "issue", WebURL: fmt.Sprintf("%s/-/issues/%d", p.WebURL, iid),
		References: References{Short: "#" + strconv.Itoa(iid), Relative: "#" + strconv.Itoa(iid),
			Full: p.PathWithNamespace + "#" + strconv.Itoa(iid)},
		Severity: "UNKNOWN", ImportedFrom: "none",
		Links: IssueLinks{Self: fmt.Sprintf("%s/issues/%d", api, iid), Notes: fmt.Sprintf("%s/issues/%d/notes", api, iid),
			AwardEmoji: fmt.Sprintf("%s/issues/%d/award_emoji", api, iid), Project: api},
		cache: &jsonCache{},
	}
}

var jobTemplates = []struct{ stage, name string }{
	{"build", "compile"}, {"test", "unit-test"}, {"test", "lint"}, {"test", "integration-test"},
	{"security", "sast"}, {"deploy", "deploy-staging"}, {"deploy", "deploy-production"}, {"test", "e2e"},
}

func (g *generator) pipelines(ps *projectState, r *rand.Rand) time.Time {
	last := time.Time{}
	refs := ps.repo.branchNames()
	for _, t := range ps.repo.tags {
		refs = append(refs, t.Name)
	}
	for range g.s.PipelinesPerProject {
		created := between(r, ps.p.CreatedAt.Time, g.now.AddDate(0, 0, -1))
		status := []string{"success", "success", "success", "failed", "success", "running", "canceled", "skipped",
			"manual", "pending", "success", "created"}[r.IntN(12)]
		source := []string{"push", "push", "push", "merge_request_event", "schedule", "web", "api", "trigger"}[r.IntN(8)]
		ref := refs[r.IntN(len(refs))]
		pl := g.d.addPipeline(ps, ref, source, status, g.humanUser(r), created, r)
		g.jobs(ps, pl, r)
		last = maxTime(last, pl.UpdatedAt.Time)
	}
	return last
}

// addPipeline creates a pipeline (and no jobs); callers hold the write lock.
func (d *Dataset) addPipeline(ps *projectState, ref, source, status string, user *User, created time.Time, r *rand.Rand) *Pipeline {
	d.next.pipeline++
	iid := ps.nextPipelineIID
	ps.nextPipelineIID++
	p := ps.p
	isTag := false
	sha := ""
	if b := ps.repo.branches[ref]; b != nil {
		sha = b.head.ID
	}
	for _, t := range ps.repo.tags {
		if t.Name == ref {
			isTag, sha = true, t.Target
		}
	}
	pl := &Pipeline{
		ID: d.next.pipeline, IID: iid, ProjectID: p.ID, Status: status, Ref: ref, SHA: sha,
		BeforeSHA: "0000000000000000000000000000000000000000", Tag: isTag, User: user.Basic(),
		CreatedAt: T(created), UpdatedAt: T(created), CommittedAt: T(created),
		WebURL: fmt.Sprintf("%s/-/pipelines/%d", p.WebURL, d.next.pipeline), Source: source,
		cache: &jsonCache{},
	}
	if r != nil && status != "created" && status != "pending" && status != "manual" {
		pl.StartedAt = T(created.Add(time.Duration(5+r.IntN(60)) * time.Second))
		q := float64(r.IntN(30)) + 0.5
		pl.QueuedDuration = &q
		if status != "running" {
			dur := 30 + r.IntN(900)
			pl.Duration = &dur
			pl.FinishedAt = T(pl.StartedAt.Add(time.Duration(dur) * time.Second))
			pl.UpdatedAt = pl.FinishedAt
		} else {
			pl.UpdatedAt = pl.StartedAt
		}
	}
	pl.DetailedStatus = detailedStatus(status, pl.WebURL, p.WebURL)
	ps.pipelines = append(ps.pipelines, pl)
	return pl
}

func detailedStatus(status, pipelineURL, projectURL string) DetailedStatus {
	text := status
	if status == "success" {
		text = "passed"
	}
	return DetailedStatus{
		Icon: "status_" + status, Text: text, Label: text, Group: status, Tooltip: text, HasDetails: true,
		DetailsPath: strings.TrimPrefix(pipelineURL, projectURL[:strings.Index(projectURL[8:], "/")+8]),
		Favicon:     "/assets/ci_favicons/favicon_status_" + status + ".png",
	}
}

func (g *generator) jobs(ps *projectState, pl *Pipeline, r *rand.Rand) {
	d := g.d
	n := g.s.JobsPerPipeline
	failedAt := -1
	if pl.Status == "failed" && n > 0 {
		failedAt = r.IntN(n)
	}
	for k := range n {
		t := jobTemplates[k%len(jobTemplates)]
		status := pl.Status
		switch {
		case pl.Status == "failed":
			status = []string{"success", "failed", "skipped"}[cmpInt(k, failedAt)+1]
		case pl.Status == "running" && k > 0:
			status = []string{"running", "pending"}[min(1, k-1)]
		case pl.Status == "manual" && k == n-1:
			status = "manual"
		case pl.Status == "manual":
			status = "success"
		}
		d.next.job++
		user := d.userByID[pl.User.ID]
		j := &Job{
			ID: d.next.job, Status: status, Stage: t.stage, Name: t.name, Ref: pl.Ref, Tag: pl.Tag,
			AllowFailure: t.name == "e2e", CreatedAt: pl.CreatedAt, User: pl.User,
			Commit: CommitBasic{ID: pl.SHA, ShortID: shortSHA(pl.SHA), CreatedAt: pl.CommittedAt, ParentIDs: []string{},
				Title: "Pipeline commit", Message: "Pipeline commit\n", AuthorName: user.Name, AuthorEmail: user.Email,
				AuthoredDate: pl.CommittedAt, CommitterName: user.Name, CommitterEmail: user.Email,
				CommittedDate: pl.CommittedAt, Trailers: map[string]string{}, WebURL: ps.p.WebURL + "/-/commit/" + pl.SHA},
			Pipeline: JobPipeline{ID: pl.ID, IID: pl.IID, ProjectID: pl.ProjectID, Ref: pl.Ref, SHA: pl.SHA, Status: pl.Status,
				Source: pl.Source, CreatedAt: pl.CreatedAt, UpdatedAt: pl.UpdatedAt, WebURL: pl.WebURL},
			WebURL: fmt.Sprintf("%s/-/jobs/%d", ps.p.WebURL, d.next.job), Artifacts: []any{}, TagList: []string{},
			projectID: ps.p.ID, cache: &jsonCache{},
		}
		if status == "failed" {
			j.FailureReason = "script_failure"
		}
		if !pl.StartedAt.IsZero() && status != "created" && status != "pending" && status != "manual" && status != "skipped" {
			j.StartedAt = T(pl.StartedAt.Add(time.Duration(k*20) * time.Second))
			q := float64(r.IntN(10)) + 0.25
			j.QueuedDuration = &q
			if status != "running" {
				dur := float64(10+r.IntN(300)) + 0.5
				j.Duration = &dur
				j.FinishedAt = T(j.StartedAt.Add(time.Duration(dur * float64(time.Second))))
			}
		}
		if t.name == "unit-test" && status == "success" {
			c := math.Round((60+r.Float64()*39)*100) / 100
			j.Coverage = &c
		}
		d.jobsAppend(ps, pl.ID, j)
	}
}

func (d *Dataset) jobsAppend(ps *projectState, pipelineID int, j *Job) {
	ps.jobs[pipelineID] = append(ps.jobs[pipelineID], j)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func shortSHA(s string) string {
	if len(s) < 8 {
		return s
	}
	return s[:8]
}

func (g *generator) deployments(ps *projectState, r *rand.Rand) {
	d := g.d
	p := ps.p
	names := []string{"production", "staging", "review/feature-x", "development"}
	tiersFor := map[string]string{"production": "production", "staging": "staging", "review/feature-x": "development", "development": "development"}
	for i := range min(g.s.EnvironmentsPerProject, len(names)) {
		d.next.environment++
		ext := fmt.Sprintf("https://%s.%s.example.com", strings.ReplaceAll(names[i], "/", "-"), p.Path)
		created := between(r, p.CreatedAt.Time, g.now.AddDate(0, 0, -30))
		ps.environments = append(ps.environments, &Environment{
			ID: d.next.environment, Name: names[i], Slug: strings.ReplaceAll(names[i], "/", "-"), ExternalURL: &ext,
			State: "available", Tier: tiersFor[names[i]], CreatedAt: T(created), UpdatedAt: T(created), cache: &jsonCache{},
		})
	}
	if len(ps.environments) == 0 {
		return
	}
	for range g.s.DeploymentsPerProject {
		env := ps.environments[r.IntN(len(ps.environments))]
		status := []string{"success", "success", "success", "failed", "running", "canceled", "created", "blocked"}[r.IntN(8)]
		created := between(r, env.CreatedAt.Time, g.now.AddDate(0, 0, -1))
		d.next.deployment++
		iid := ps.nextDeploymentIID
		ps.nextDeploymentIID++
		user := g.humanUser(r)
		b := ps.defaultBranch()
		dep := &Deployment{
			ID: d.next.deployment, IID: iid, Ref: b.name, SHA: b.head.ID, CreatedAt: T(created), UpdatedAt: T(created),
			Status: status, User: user.Basic(),
			Environment: EnvironmentBasic{ID: env.ID, Name: env.Name, Slug: env.Slug, ExternalURL: env.ExternalURL,
				CreatedAt: env.CreatedAt, UpdatedAt: env.UpdatedAt},
			cache: &jsonCache{},
		}
		if status == "success" || status == "failed" || status == "canceled" {
			dep.finishedAt = created.Add(time.Duration(30+r.IntN(600)) * time.Second).Truncate(time.Millisecond)
			dep.UpdatedAt = T(dep.finishedAt)
		}
		if len(ps.pipelines) > 0 {
			pl := ps.pipelines[r.IntN(len(ps.pipelines))]
			d.next.job++
			dep.Deployable = &Deployable{ID: d.next.job, Status: status, Stage: "deploy", Name: "deploy-" + env.Slug,
				Ref: b.name, CreatedAt: T(created), StartedAt: T(created), FinishedAt: T(dep.finishedAt), User: user.Basic(),
				Commit: b.head, Pipeline: JobPipeline{ID: pl.ID, IID: pl.IID, ProjectID: p.ID, Ref: pl.Ref, SHA: pl.SHA,
					Status: pl.Status, Source: pl.Source, CreatedAt: pl.CreatedAt, UpdatedAt: pl.UpdatedAt, WebURL: pl.WebURL},
				WebURL: fmt.Sprintf("%s/-/jobs/%d", p.WebURL, d.next.job)}
		}
		ps.deployments = append(ps.deployments, dep)
	}
}

func (g *generator) releases(ps *projectState, r *rand.Rand) {
	p := ps.p
	for i, t := range ps.repo.tags {
		if i >= g.s.ReleasesPerProject {
			break
		}
		author := g.humanUser(r)
		rel := &Release{
			TagName: t.Name, Description: "## Changes\n\n- " + nouns[r.IntN(len(nouns))] + " improvements\n",
			Name: "Release " + t.Name, CreatedAt: t.CreatedAt, ReleasedAt: t.CreatedAt, Author: author.Basic(),
			Commit: t.Commit, CommitPath: "/" + p.PathWithNamespace + "/-/commit/" + t.Target,
			TagPath: "/" + p.PathWithNamespace + "/-/tags/" + t.Name,
			Assets: ReleaseAssets{Count: 4, Links: []any{}, Sources: []ReleaseSource{
				{"zip", fmt.Sprintf("%s/-/archive/%s/%s-%s.zip", p.WebURL, t.Name, p.Path, t.Name)},
				{"tar.gz", fmt.Sprintf("%s/-/archive/%s/%s-%s.tar.gz", p.WebURL, t.Name, p.Path, t.Name)},
				{"tar.bz2", fmt.Sprintf("%s/-/archive/%s/%s-%s.tar.bz2", p.WebURL, t.Name, p.Path, t.Name)},
				{"tar", fmt.Sprintf("%s/-/archive/%s/%s-%s.tar", p.WebURL, t.Name, p.Path, t.Name)},
			}},
			Evidences: []any{},
			Links: ReleaseLinks{
				ClosedIssuesURL:        p.WebURL + "/-/issues?release_tag=" + t.Name + "&scope=all&state=closed",
				ClosedMergeRequestsURL: p.WebURL + "/-/merge_requests?release_tag=" + t.Name + "&scope=all&state=closed",
				EditURL:                p.WebURL + "/-/releases/" + t.Name + "/edit",
				MergedMergeRequestsURL: p.WebURL + "/-/merge_requests?release_tag=" + t.Name + "&scope=all&state=merged",
				OpenedIssuesURL:        p.WebURL + "/-/issues?release_tag=" + t.Name + "&scope=all&state=opened",
				OpenedMergeRequestsURL: p.WebURL + "/-/merge_requests?release_tag=" + t.Name + "&scope=all&state=opened",
				Self:                   p.WebURL + "/-/releases/" + t.Name,
			},
			cache: &jsonCache{},
		}
		t.Release = &TagRelease{TagName: t.Name, Description: rel.Description}
		ps.releases = append(ps.releases, rel)
	}
}
