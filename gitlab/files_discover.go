package gitlab

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/oceankit/oceankit/ocean"
)

// fileQuery is what discovery looks for: the compiled globs, the search
// queries built from them, and the branch choice.
type fileQuery struct {
	globs    []glob
	searches []string
	branch   string            // the selector's branch, if any
	branches map[string]string // repo path (lower-cased) → branch
	active   *bool
	repos    []RepoRef
}

func newFileQuery(sel FileSelector) (fileQuery, error) {
	fq := fileQuery{branch: sel.Files.Branch, branches: repoBranches(sel.Files.Repos), active: sel.IncludeOnlyActiveGroups, repos: sel.Files.Repos}
	seen := map[string]bool{}
	for _, p := range sel.Files.Path {
		g, err := compileGlob(p, globOptions{anyDepth: true})
		if err != nil {
			return fq, err
		}
		fq.globs = append(fq.globs, g)
		if q := searchQuery(p); !seen[q] {
			seen[q] = true
			fq.searches = append(fq.searches, q)
		}
	}
	return fq, nil
}

func (fq fileQuery) matches(p string) bool {
	for _, g := range fq.globs {
		if g.match(p) {
			return true
		}
	}
	return false
}

// explicitRef is the branch a project is read at when the selector names
// one (the repo entry's, else the selector's), or "".
func (fq fileQuery) explicitRef(p ocean.Item) string {
	if b := fq.branches[strings.ToLower(str(p["path_with_namespace"]))]; b != "" {
		return b
	}
	return fq.branch
}

type emitFunc func(ctx context.Context, reqs []blobReq) error

// discoverFiles finds the files of the selector with its strategy and
// hands them to emit in groups as they are found.
func (r *contentRun) discoverFiles(ctx context.Context, strategy string, fq fileQuery, emit emitFunc) error {
	switch strategy {
	case StrategyRepositoryTree:
		return r.eachProject(ctx, fq.repos, fq.active, func(ctx context.Context, p ocean.Item) error {
			ref := refFor(p, fq.explicitRef(p))
			if ref == "" {
				return nil // empty repository
			}
			reqs, err := r.treeMatches(ctx, p, ref, fq.globs, false)
			if err != nil || len(reqs) == 0 {
				return err
			}
			return emit(ctx, reqs)
		})
	case StrategyProjectSearch:
		return r.searchProjects(ctx, fq, emit)
	default:
		if len(fq.repos) > 0 {
			return r.searchProjects(ctx, fq, emit)
		}
		return r.searchGroups(ctx, fq, emit)
	}
}

// eachProject runs fn for every project scanned (bounded), skipping those
// that answer 403 or 404 (or 400 on a search: GitLab's answer for a repo
// without a repository or search).
func (r *contentRun) eachProject(ctx context.Context, repos []RepoRef, active *bool, fn func(context.Context, ocean.Item) error) error {
	list := func(ctx context.Context, f func([]ocean.Item) error) error {
		return r.projectsFor(ctx, repos, active, f)
	}
	skip400 := func(err error) bool { return StatusCode(err) == http.StatusBadRequest }
	return r.g.fanOut(ctx, "project", list, fn, skip400)
}

func (r *contentRun) searchProjects(ctx context.Context, fq fileQuery, emit emitFunc) error {
	return r.eachProject(ctx, fq.repos, fq.active, func(ctx context.Context, p ocean.Item) error {
		return r.searchProject(ctx, p, fq, emit)
	})
}

// searchProject runs the blob searches in one project and emits the hits
// the globs accept.
func (r *contentRun) searchProject(ctx context.Context, p ocean.Item, fq fileQuery, emit emitFunc) error {
	explicit := fq.explicitRef(p)
	for _, s := range fq.searches {
		q := url.Values{"scope": {"blobs"}, "search": {s}}
		if explicit != "" {
			q.Set("ref", explicit)
		}
		err := r.g.client.Pages(ctx, "projects/"+projectRef(p)+"/search", q, func(hits []ocean.Item) error {
			var reqs []blobReq
			for _, h := range hits {
				hp := str(h["path"])
				if !fq.matches(hp) {
					continue
				}
				reqs = append(reqs, blobReq{proj: p, ref: refFor(p, explicit, str(h["ref"])), path: hp})
			}
			if len(reqs) == 0 {
				return nil
			}
			return emit(ctx, reqs)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// noAdvancedSearch recognises GitLab's answers for a group whose blob
// search needs Advanced Search or exact code search.
func noAdvancedSearch(err error) bool {
	if StatusCode(err) != http.StatusBadRequest {
		return false
	}
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "advanced search") || strings.Contains(m, "exact code search") ||
		(strings.Contains(m, "scope") && strings.Contains(m, "blobs") && strings.Contains(m, "not available"))
}

type searchHit struct {
	projectID string
	path, ref string
}

// searchGroups is gitlab-v2's groupSearch: a blob search per top-level
// group (subgroups included); a group without Advanced Search is searched
// project by project; with no group at all, every project is.
func (r *contentRun) searchGroups(ctx context.Context, fq fileQuery, emit emitFunc) error {
	roots, err := r.g.topLevelGroups(ctx, fq.active)
	if err != nil {
		return err
	}
	var found atomic.Int64
	counted := func(ctx context.Context, reqs []blobReq) error {
		found.Add(int64(len(reqs)))
		return emit(ctx, reqs)
	}
	list := func(_ context.Context, f func([]ocean.Item) error) error {
		if len(roots) == 0 {
			return nil
		}
		return f(roots)
	}
	err = r.g.fanOut(ctx, "group", list, func(ctx context.Context, grp ocean.Item) error {
		return r.searchGroup(ctx, idString(grp["id"]), str(grp["full_path"]), fq, counted)
	}, nil)
	if err != nil {
		return err
	}
	if found.Load() == 0 {
		// gitlab-v2's last resort: groups unreadable or search finding
		// nothing, search every project the token lists.
		return r.searchProjects(ctx, fq, emit)
	}
	return nil
}

// fullPath keys the client's memory of groups without Advanced Search,
// which the enrichment's searches share.
func (r *contentRun) searchGroup(ctx context.Context, gid, fullPath string, fq fileQuery, emit emitFunc) error {
	if fullPath == "" {
		fullPath = gid // GitLab always sends full_path; this only keeps keys apart
	}
	if r.g.client.groupSearchOff(fullPath) {
		return r.searchGroupProjects(ctx, gid, fq, emit)
	}
	var hits []searchHit
	for _, s := range fq.searches {
		q := url.Values{"scope": {"blobs"}, "search": {s}, "search_type": {"advanced"}}
		err := r.g.client.Pages(ctx, "groups/"+gid+"/search", q, func(page []ocean.Item) error {
			for _, h := range page {
				if hp := str(h["path"]); fq.matches(hp) {
					hits = append(hits, searchHit{projectID: idString(h["project_id"]), path: hp, ref: str(h["ref"])})
				}
			}
			return nil
		})
		if noAdvancedSearch(err) && ctx.Err() == nil {
			r.g.client.noGroupSearch.Store(fullPath, struct{}{})
			r.g.log.InfoContext(ctx, "gitlab: group blob search unavailable, searching its projects one by one", "group", gid)
			return r.searchGroupProjects(ctx, gid, fq, emit)
		}
		if err != nil {
			return err
		}
	}
	if len(hits) == 0 {
		return nil
	}
	if err := r.resolveGroupProjects(ctx, gid, hits); err != nil {
		return err
	}
	var reqs []blobReq
	for _, h := range hits {
		p, err := r.project(ctx, h.projectID)
		if errors.Is(err, errProjectGone) {
			continue
		}
		if err != nil {
			return err
		}
		reqs = append(reqs, blobReq{proj: p, ref: refFor(p, fq.explicitRef(p), h.ref), path: h.path})
	}
	if len(reqs) == 0 {
		return nil
	}
	return emit(ctx, reqs)
}

// resolveGroupProjects loads the projects of a group's hits. A few are
// fetched one by one; many are picked from the group's project list, 100
// per request, stopping as soon as the list stops paying for itself.
func (r *contentRun) resolveGroupProjects(ctx context.Context, gid string, hits []searchHit) error {
	need := map[string]bool{}
	for _, h := range hits {
		if h.projectID == "" {
			continue
		}
		if _, ok := r.projects.peek(h.projectID); !ok {
			need[h.projectID] = true
		}
	}
	if len(need) <= 3 {
		return nil // r.project fetches them
	}
	errEnough := errors.New("enough")
	pages := 0
	q := url.Values{"include_subgroups": {"true"}, "with_shared": {"false"}, "order_by": {"id"}, "sort": {"asc"}}
	err := r.g.client.Pages(ctx, "groups/"+gid+"/projects", q, func(page []ocean.Item) error {
		pages++
		for _, p := range dropPendingDeletion(page, "marked_for_deletion_at") {
			if id := idString(p["id"]); need[id] {
				r.remember(p)
				delete(need, id)
			}
		}
		if len(need) <= pages {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		if isInaccessible(err) && ctx.Err() == nil {
			return nil
		}
		return err
	}
	return nil
}

// searchGroupProjects searches each project of a group (subgroups
// included, unlike gitlab-v2's fallback, which missed them).
func (r *contentRun) searchGroupProjects(ctx context.Context, gid string, fq fileQuery, emit emitFunc) error {
	list := func(ctx context.Context, f func([]ocean.Item) error) error {
		q := url.Values{"include_subgroups": {"true"}, "with_shared": {"false"}, "order_by": {"id"}, "sort": {"asc"}}
		setActive(q, fq.active)
		return r.g.client.Pages(ctx, "groups/"+gid+"/projects", q, func(page []ocean.Item) error {
			page = dropPendingDeletion(page, "marked_for_deletion_at")
			if len(page) == 0 {
				return nil
			}
			return f(page)
		})
	}
	skip400 := func(err error) bool { return StatusCode(err) == http.StatusBadRequest }
	return r.g.fanOut(ctx, "project", list, func(ctx context.Context, p ocean.Item) error {
		return r.searchProject(ctx, p, fq, emit)
	}, skip400)
}

// treeMatches lists a project's tree at ref and returns the files the
// globs accept. Concrete paths are not listed: they are read directly (a
// missing one is simply not found).
func (r *contentRun) treeMatches(ctx context.Context, p ocean.Item, ref string, globs []glob, fold bool) ([]blobReq, error) {
	var (
		reqs  []blobReq
		walks []walk
		seen  = map[string]bool{}
	)
	for _, g := range globs {
		if w, ok := g.blobWalk(); ok {
			walks = append(walks, w)
			continue
		}
		if !seen[g.raw] {
			seen[g.raw] = true
			reqs = append(reqs, blobReq{proj: p, ref: ref, path: g.raw})
		}
	}
	walks, err := r.pruneWalks(ctx, p, ref, minimizeWalks(walks), fold)
	if err != nil {
		return nil, err
	}
	for _, w := range walks {
		err := r.listTree(ctx, p, ref, w, func(page []treeEntry) error {
			for _, e := range page {
				ep := str(e["path"])
				if str(e["type"]) != "blob" || seen[ep] {
					continue
				}
				for _, g := range globs {
					if g.match(ep) {
						seen[ep] = true
						reqs = append(reqs, blobReq{proj: p, ref: ref, path: ep})
						break
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return reqs, nil
}
