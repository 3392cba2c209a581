package gitlab

import (
	"context"
	"errors"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/oceankit/oceankit/ocean"
)

// Live events of the repository-content kinds (file, folder, skill,
// plugin), from branch pushes.
//
// Each handler first decides from the payload alone whether the push can
// concern the resource (its repos, the branch it reads, the paths the
// commits touch), so that pushes elsewhere cost no request (but for the
// compare that completes a push whose commit list GitLab cut). It then reads
// the current state on the pushed branch through the resync's own code
// (fileReader, buildSkill, projectFolders, pagePlugins), so that a live
// item has the resync's shape, parsing, size cap and file:// resolution.
// Reading the branch rather than the push's `after` makes a late event
// converge on the newest state.
//
// A pushed-away file is deleted with the item it was: it is read at the
// push's `before` so that mappings taking identifiers from the content
// (itemsToParse over port.yml, a skill's front-matter name) find them. When
// `before` cannot be read (a new branch, a force push GitLab has
// collected), a stub with the identity fields known from the push (path,
// ref, project as repo) is deleted instead; content-derived identifiers
// are then left to the next resync.
//
// Branch deletions change nothing, as in gitlab-v2: the kinds read one
// branch per project, normally the default one, which cannot be deleted.

// The content kinds' processors apply every push of a key (project and
// branch) in turn instead of collapsing a burst into its newest push. Every
// content handler decides from the paths a push's commits name (what to
// read, whether a folder or plugin needs rebuilding, what was removed), and
// the newest push of a burst does not say what the older ones changed:
// collapsing would lose their files until the next resync. A push that
// touches nothing a resource selects costs no request, so bursts stay
// cheap.

func (g *Integration) fileProcessor(a *hookAuth) *hookProcessor {
	return contentPushProcessor(g, a, "gitlab-file", KindFile, g.handleFilePush)
}

func (g *Integration) skillProcessor(a *hookAuth) *hookProcessor {
	return contentPushProcessor(g, a, "gitlab-skill", KindSkill, g.handleSkillPush)
}

func (g *Integration) folderProcessor(a *hookAuth) *hookProcessor {
	return contentPushProcessor(g, a, "gitlab-folder", KindFolder, g.handleFolderPush)
}

func (g *Integration) pluginProcessor(a *hookAuth) *hookProcessor {
	return contentPushProcessor(g, a, "gitlab-plugin", KindPlugin, g.handlePluginPush)
}

// contentPushProcessor is pushProcessor with the push's paths completed
// through the compare API when GitLab cut its commit list.
func contentPushProcessor[S any](g *Integration, a *hookAuth, name, kind string, handle func(context.Context, pushEvent, S) (ocean.Changes, error)) *hookProcessor {
	p := pushProcessor(a, name, kind, handle)
	p.handle = withSelector(func(ctx context.Context, ev *ocean.Event, sel S) (ocean.Changes, error) {
		push := parsePush(ev.Payload)
		if err := g.completePush(ctx, ev.Payload, &push); err != nil {
			return ocean.Changes{}, err
		}
		return handle(ctx, push, sel)
	})
	p.ordered = true
	return p
}

// compareDiff is one file of GitLab's compare answer.
type compareDiff struct {
	OldPath     string `json:"old_path"`
	NewPath     string `json:"new_path"`
	NewFile     bool   `json:"new_file"`
	RenamedFile bool   `json:"renamed_file"`
	DeletedFile bool   `json:"deleted_file"`
}

// completePush replaces the commits' paths by the compare of before..after
// when the payload lists fewer commits than the push has (GitLab sends at
// most 20). A compare GitLab cannot answer (a force push whose `before` is
// gone: 404) keeps the payload's lists, as gitlab-v2 does; branch creations
// and deletions have no `before`/`after` to compare.
func (g *Integration) completePush(ctx context.Context, payload map[string]any, push *pushEvent) error {
	total, _ := payload["total_commits_count"].(float64)
	commits, _ := payload["commits"].([]any)
	if int(total) <= len(commits) || push.Created() || push.Deleted() || push.Before == "" || push.After == "" {
		return nil
	}
	var cmp struct {
		Diffs []compareDiff `json:"diffs"`
	}
	q := url.Values{"from": {push.Before}, "to": {push.After}}
	if err := g.client.Get(ctx, "projects/"+push.ProjectID+"/repository/compare", q, &cmp); err != nil {
		if isInaccessible(err) && ctx.Err() == nil {
			return nil
		}
		return err
	}
	applyDiffs(push, cmp.Diffs)
	return nil
}

// applyDiffs sets the push's paths from compare diffs: a rename removes
// the old path and adds the new one.
func applyDiffs(push *pushEvent, diffs []compareDiff) {
	push.Added, push.Modified, push.Removed = nil, nil, nil
	add := func(dst *[]string, p string) {
		if p != "" && !slices.Contains(*dst, p) {
			*dst = append(*dst, p)
		}
	}
	for _, d := range diffs {
		switch {
		case d.DeletedFile:
			add(&push.Removed, d.OldPath)
		case d.RenamedFile:
			add(&push.Removed, d.OldPath)
			add(&push.Added, d.NewPath)
		case d.NewFile:
			add(&push.Added, d.NewPath)
		default:
			add(&push.Modified, d.NewPath)
		}
	}
}

// touchedPaths are the paths the push's commits add, modify or remove.
func touchedPaths(push pushEvent) []string {
	out := make([]string, 0, len(push.Added)+len(push.Modified)+len(push.Removed))
	for _, list := range [][]string{push.Added, push.Modified, push.Removed} {
		for _, p := range list {
			if p = strings.Trim(p, "/"); p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// pushedPath is the pushed project's path_with_namespace, lower-cased as
// the selectors' repo maps are keyed.
func pushedPath(p ocean.Item) string { return strings.ToLower(str(p["path_with_namespace"])) }

func repoNamed(repos []RepoRef, pwn string) bool {
	for _, r := range repos {
		if strings.EqualFold(r.Name, pwn) {
			return true
		}
	}
	return false
}

// pushProject fetches the pushed project as the resync lists it for a
// content kind: a selector naming its repos reads them one by one (GitLab's
// single-project answer, and no active filter, as projectsFor does);
// otherwise the project is shaped as the /projects listing renders it and
// the active filter applies. nil means the resync would not scan it.
func (r *contentRun) pushProject(ctx context.Context, pid string, named bool, active *bool) (ocean.Item, error) {
	p, err := r.project(ctx, pid)
	switch {
	case errors.Is(err, errProjectGone):
		return nil, nil
	case err != nil:
		return nil, err
	case named:
		return p, nil
	case !activeOK(active, projectActive(p)):
		return nil, nil
	}
	p = cloneItem(p) // the run's cache keeps GitLab's answer
	delete(p, "permissions")
	return p, nil
}

// readableBefore reports whether the push's previous head can be read.
func readableBefore(push pushEvent) bool { return push.Before != "" && !push.Created() }

// --- file ---

func (g *Integration) handleFilePush(ctx context.Context, push pushEvent, sel FileSelector) (ocean.Changes, error) {
	if push.Deleted() {
		return ocean.Changes{}, nil
	}
	fq, err := newFileQuery(sel)
	if err != nil {
		return ocean.Changes{}, ocean.Permanent(err)
	}
	// The resync reads a project at the repo entry's branch, else the
	// selector's, else the default branch: pushes to others are not read.
	inScope := func(p ocean.Item) bool {
		if len(fq.repos) > 0 && !repoNamed(fq.repos, pushedPath(p)) {
			return false
		}
		return refFor(p, fq.explicitRef(p)) == push.Branch
	}
	var paths []string
	for _, p := range touchedPaths(push) {
		if fq.matches(p) {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 || !inScope(push.Project) {
		return ocean.Changes{}, nil
	}
	r := g.newContentRun(sel.Files.MaxFileSize)
	p, err := r.pushProject(ctx, push.ProjectID, len(fq.repos) > 0, fq.active)
	if err != nil || p == nil || !inScope(p) {
		return ocean.Changes{}, err
	}
	// The branch is named so that a missing file is not "healed" by a read
	// at the default branch, as search hits on a stale branch are.
	atBranch := func(ocean.Item) string { return push.Branch }
	rd := &fileReader{r: r, skipParsing: sel.Files.SkipParsing, included: sel.IncludedFiles}
	items, err := rd.read(ctx, blobReqs(p, push.Branch, paths), atBranch)
	if err != nil {
		return ocean.Changes{}, err
	}
	// A path that now has no item (removed, or no longer readable: binary
	// or over the size cap, which the resync skips too) is deleted.
	gone := missingPaths(paths, items, func(it ocean.Item) string { return str(object(it, "file")["path"]) })
	if len(gone) == 0 {
		return ocean.Changes{Upsert: items}, nil
	}
	former, err := r.formerFiles(ctx, sel.Files.SkipParsing, p, push, gone)
	if err != nil {
		return ocean.Changes{}, err
	}
	return ocean.Changes{Upsert: items, Delete: former}, nil
}

func blobReqs(p ocean.Item, ref string, paths []string) []blobReq {
	reqs := make([]blobReq, len(paths))
	for i, fp := range paths {
		reqs[i] = blobReq{proj: p, ref: ref, path: fp}
	}
	return reqs
}

// missingPaths are the paths no item has.
func missingPaths(paths []string, items []ocean.Item, pathOf func(ocean.Item) string) []string {
	have := make(map[string]bool, len(items))
	for _, it := range items {
		have[pathOf(it)] = true
	}
	var out []string
	for _, p := range paths {
		if !have[p] {
			out = append(out, p)
		}
	}
	return out
}

// formerFiles are the items the resync made of files that are gone: read
// and parsed at the push's `before` (file:// references resolved there
// too; included files, which no identifier needs, are not read), with the
// branch as their ref, else stubs.
func (r *contentRun) formerFiles(ctx context.Context, skipParsing bool, p ocean.Item, push pushEvent, paths []string) ([]ocean.Item, error) {
	var items []ocean.Item
	if readableBefore(push) {
		rd := &fileReader{r: r, skipParsing: skipParsing}
		old, err := rd.read(ctx, blobReqs(p, push.Before, paths), func(ocean.Item) string { return push.Before })
		if err != nil {
			return nil, err
		}
		for _, it := range old {
			object(it, "file")["ref"] = push.Branch
		}
		items = old
	}
	for _, fp := range missingPaths(paths, items, func(it ocean.Item) string { return str(object(it, "file")["path"]) }) {
		items = append(items, ocean.Item{
			"file": map[string]any{"file_name": path.Base(fp), "file_path": fp, "path": fp, "ref": push.Branch, "project_id": p["id"]},
			"repo": p,
		})
	}
	return items, nil
}

// --- skill ---

func (g *Integration) handleSkillPush(ctx context.Context, push pushEvent, sel SkillSelector) (ocean.Changes, error) {
	if push.Deleted() {
		return ocean.Changes{}, nil
	}
	var (
		rules []skillRule
		globs []glob
		all   bool
	)
	for _, sp := range sel.Paths {
		gl, err := compileGlob(sp.Path, globOptions{fold: true})
		if err != nil {
			return ocean.Changes{}, ocean.Permanent(err)
		}
		sr := skillRule{g: gl, repos: map[string]string{}, anyRepo: len(sp.Repos) == 0}
		for _, rr := range sp.Repos {
			sr.repos[strings.ToLower(rr.Name)] = rr.Branch
		}
		all = all || sr.anyRepo
		rules = append(rules, sr)
		globs = append(globs, gl)
	}
	// The locations the resync reads on the pushed branch of a project.
	applicable := func(p ocean.Item) []glob {
		var out []glob
		for _, sr := range rules {
			branch, ok := sr.repos[pushedPath(p)]
			if (ok || sr.anyRepo) && refFor(p, branch) == push.Branch {
				out = append(out, sr.g)
			}
		}
		return out
	}
	matches := func(gs []glob, fp string) bool {
		if strings.ToLower(path.Base(fp)) != skillFile {
			return false
		}
		return slices.ContainsFunc(gs, func(g glob) bool { return g.match(fp) })
	}
	var paths []string
	if gs := applicable(push.Project); len(gs) > 0 {
		for _, fp := range touchedPaths(push) {
			if matches(gs, fp) {
				paths = append(paths, fp)
			}
		}
	}
	if len(paths) == 0 {
		return ocean.Changes{}, nil
	}
	r := g.newContentRun(0)
	p, err := r.pushProject(ctx, push.ProjectID, !all, sel.IncludeOnlyActiveGroups)
	if err != nil || p == nil {
		return ocean.Changes{}, err
	}
	gs := applicable(p)
	paths = slices.DeleteFunc(paths, func(fp string) bool { return !matches(gs, fp) })
	if len(paths) == 0 {
		return ocean.Changes{}, nil
	}
	skills := func(ref string) ([]ocean.Item, error) {
		reqs := blobReqs(p, ref, paths)
		data, err := r.fetchBlobs(ctx, reqs)
		if err != nil {
			return nil, err
		}
		var items []ocean.Item
		for _, q := range reqs {
			if d := data[q.key()]; d != nil && r.usable(ctx, q, d) {
				items = append(items, ocean.Item{"skill": r.buildSkill(ctx, q, d.text, globs), "repo": p, "__branch": push.Branch})
			}
		}
		return items, nil
	}
	skillPath := func(it ocean.Item) string { return str(object(it, "skill")["skillMdPath"]) }
	items, err := skills(push.Branch)
	if err != nil {
		return ocean.Changes{}, err
	}
	gone := missingPaths(paths, items, skillPath)
	if len(gone) == 0 {
		return ocean.Changes{Upsert: items}, nil
	}
	// A gone skill is deleted as it was at `before` (its front matter names
	// it), else as a stub built from its path.
	var former []ocean.Item
	if readableBefore(push) {
		old, err := skills(push.Before)
		if err != nil {
			return ocean.Changes{}, err
		}
		for _, it := range old {
			if slices.Contains(gone, skillPath(it)) {
				former = append(former, it)
			}
		}
	}
	for _, fp := range missingPaths(gone, former, skillPath) {
		q := blobReq{proj: p, ref: push.Branch, path: fp}
		former = append(former, ocean.Item{"skill": r.buildSkill(ctx, q, "", globs), "repo": p, "__branch": push.Branch})
	}
	return ocean.Changes{Upsert: items, Delete: former}, nil
}

// --- folder ---

// handleFolderPush re-lists the project's folders for the resource when
// the push touched anything under a folder it selects (a folder's tree id
// changes with its content), and deletes the selected folders that held
// removed files and are gone now.
func (g *Integration) handleFolderPush(ctx context.Context, push pushEvent, sel FolderSelector) (ocean.Changes, error) {
	if push.Deleted() || len(sel.Folders) == 0 {
		return ocean.Changes{}, nil
	}
	var (
		rules []folderRule
		all   bool
	)
	for _, f := range sel.Folders {
		gl, err := compileGlob(f.Path, globOptions{allowEmpty: true})
		if err != nil {
			return ocean.Changes{}, ocean.Permanent(err)
		}
		fr := folderRule{g: gl, repos: map[string]string{}, anyRepo: len(f.Repos) == 0, concrete: gl.concrete()}
		for _, rr := range f.Repos {
			fr.repos[strings.ToLower(rr.Name)] = rr.Branch
		}
		all = all || fr.anyRepo
		rules = append(rules, fr)
	}
	applicable := func(p ocean.Item) []folderRule {
		var out []folderRule
		for _, fr := range rules {
			branch, ok := fr.repos[pushedPath(p)]
			if (ok || fr.anyRepo) && refFor(p, branch) == push.Branch {
				out = append(out, fr)
			}
		}
		return out
	}
	// selectedDirs are the folders the rules select that contain a path.
	selectedDirs := func(rs []folderRule, paths []string) []string {
		var out []string
		for _, fp := range paths {
			for d := path.Dir(fp); d != "." && d != "/" && d != ""; d = path.Dir(d) {
				if !slices.Contains(out, d) && folderMatches(rs, d) {
					out = append(out, d)
				}
			}
		}
		return out
	}
	if rs := applicable(push.Project); len(rs) == 0 || len(selectedDirs(rs, touchedPaths(push))) == 0 {
		return ocean.Changes{}, nil
	}
	r := g.newContentRun(0)
	p, err := r.pushProject(ctx, push.ProjectID, !all, sel.IncludeOnlyActiveProjects)
	if err != nil || p == nil {
		return ocean.Changes{}, err
	}
	rs := applicable(p)
	if len(rs) == 0 {
		return ocean.Changes{}, nil
	}
	items, err := r.projectFolders(ctx, p, rs)
	if err != nil {
		return ocean.Changes{}, err
	}
	if len(sel.IncludedFiles) > 0 && len(items) > 0 {
		inc, err := r.includedFiles(ctx, []ocean.Item{p}, sel.IncludedFiles)
		if err != nil {
			return ocean.Changes{}, err
		}
		for _, it := range items {
			it["__includedFiles"] = inc[idString(p["id"])]
		}
	}
	// A folder that held a removed file and is not listed any more was
	// removed with it. Its tree id and mode are not known any more: the
	// stub has the path, name and type; a mapping keyed on the id leaves
	// it to the next resync.
	present := map[string]bool{}
	for _, it := range items {
		present[str(object(it, "folder")["path"])] = true
	}
	var gone []ocean.Item
	for _, d := range selectedDirs(rs, push.Removed) {
		if !present[d] {
			gone = append(gone, ocean.Item{
				"folder": map[string]any{"name": path.Base(d), "type": "tree", "path": d},
				"repo":   p, "__branch": push.Branch,
			})
		}
	}
	return ocean.Changes{Upsert: items, Delete: gone}, nil
}

// --- plugin ---

// handlePluginPush rebuilds the project's plugin item when the push
// touched a manifest or a file of a directory provider the resource reads.
// A project left without a supported plugin is deleted as its plugin was
// at `before` (else as a stub named after the project).
func (g *Integration) handlePluginPush(ctx context.Context, push pushEvent, sel PluginSelector) (ocean.Changes, error) {
	if push.Deleted() || len(sel.Providers) == 0 {
		return ocean.Changes{}, nil
	}
	var (
		manifests []string
		dirs      []walk
	)
	for _, pv := range sel.Providers {
		manifests = append(manifests, pluginManifests[pv]...)
		if d, ok := pluginDirs[pv]; ok {
			dirs = append(dirs, walk{dir: d})
		}
	}
	// The resync reads plugins on the default branch only.
	inScope := func(p ocean.Item) bool {
		return (len(sel.Repos) == 0 || repoNamed(sel.Repos, pushedPath(p))) && refFor(p) == push.Branch
	}
	touched := slices.ContainsFunc(touchedPaths(push), func(fp string) bool {
		return slices.Contains(manifests, fp) || slices.ContainsFunc(dirs, func(w walk) bool { return path.Dir(fp) == w.dir })
	})
	if !touched || !inScope(push.Project) {
		return ocean.Changes{}, nil
	}
	r := g.newContentRun(0)
	p, err := r.pushProject(ctx, push.ProjectID, len(sel.Repos) > 0, sel.IncludeOnlyActiveGroups)
	if err != nil || p == nil || !inScope(p) {
		return ocean.Changes{}, err
	}
	items, err := r.pagePlugins(ctx, []ocean.Item{p}, sel.Providers, manifests, dirs)
	if err != nil {
		return ocean.Changes{}, err
	}
	if len(items) > 0 {
		return ocean.Changes{Upsert: items}, nil
	}
	if readableBefore(push) {
		// pagePlugins reads a project at its default branch: the previous
		// head stands in for it.
		old := cloneItem(p)
		old["default_branch"] = push.Before
		was, err := r.pagePlugins(ctx, []ocean.Item{old}, sel.Providers, manifests, dirs)
		if err != nil {
			return ocean.Changes{}, err
		}
		if len(was) > 0 {
			it := was[0]
			it["repo"], it["__branch"] = p, push.Branch
			return ocean.Changes{Delete: []ocean.Item{it}}, nil
		}
	}
	stub := ocean.Item{"plugin": map[string]any{"name": firstString(p, "name", "path")}, "repo": p, "__branch": push.Branch}
	return ocean.Changes{Delete: []ocean.Item{stub}}, nil
}
