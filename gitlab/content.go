package gitlab

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"

	glapi "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/oceankit/oceankit/internal/flight"
	"github.com/oceankit/oceankit/ocean"
)

// Kinds that read repository content.
const (
	KindFile   = "file"
	KindFolder = "folder"
	KindSkill  = "skill"
	KindPlugin = "plugin"
)

// contentKinds returns the kinds that read repository content (file,
// folder, skill, plugin).
func (g *Integration) contentKinds() []ocean.Kind {
	return []ocean.Kind{
		ocean.NewKind(KindFile, g.listFiles),
		ocean.NewKind(KindFolder, g.listFolders),
		ocean.NewKind(KindSkill, g.listSkills),
		ocean.NewKind(KindPlugin, g.listPlugins),
	}
}

// memo runs fn once per key; concurrent callers of the same key wait for
// the first one. A lookup cut short by its context is not remembered as
// the answer.
type memo[K comparable, V any] struct{ g flight.Group[K, V] }

func (m *memo[K, V]) get(ctx context.Context, k K, fn func() (V, error)) (V, error) {
	return m.g.Do(ctx, k, fn, func(error) bool { return ctx.Err() != nil })
}

// peek returns a value already computed, without waiting.
func (m *memo[K, V]) peek(k K) (V, bool) { return m.g.Peek(k) }

// put stores a known value.
func (m *memo[K, V]) put(k K, v V) { m.g.Put(k, v) }

// contentRun is the state of one content kind's fetch: the caches that
// keep its requests proportional to what matches. It lives as long as the
// kind's Fetch, so a resync never reads another resync's data.
type contentRun struct {
	g       *Integration
	maxSize int64
	// projects caches project lookups by id and by lower-cased full path.
	projects memo[string, ocean.Item]
	// roots caches the top-level listing of a project at a ref.
	roots memo[string, []treeEntry]
	// included caches __includedFiles per project id.
	includedMu sync.Mutex
	included   map[string]map[string]any
}

// includedFiles returns __includedFiles for each project (by id), reading
// what is not cached yet in GraphQL batches through the project
// enrichment: the files at the project's root on its default branch, as
// gitlab-v2's file and folder kinds read them.
func (r *contentRun) includedFiles(ctx context.Context, projects []ocean.Item, paths []string) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	var todo []ocean.Item
	r.includedMu.Lock()
	if r.included == nil {
		r.included = map[string]map[string]any{}
	}
	queued := map[string]bool{}
	for _, p := range projects {
		id := idString(p["id"])
		if m, ok := r.included[id]; ok {
			out[id] = m
		} else if !queued[id] {
			queued[id] = true
			todo = append(todo, cloneItem(p)) // the enrichment writes into it
		}
	}
	r.includedMu.Unlock()
	if len(todo) == 0 {
		return out, nil
	}
	if err := r.g.enrich.enrich(ctx, todo, projectEnrichment{files: paths}); err != nil {
		return nil, err
	}
	r.includedMu.Lock()
	defer r.includedMu.Unlock()
	for _, p := range todo {
		id := idString(p["id"])
		m, _ := p["__includedFiles"].(map[string]any)
		r.included[id] = m
		out[id] = m
	}
	return out, nil
}

func (g *Integration) newContentRun(maxSize int64) *contentRun {
	if maxSize <= 0 {
		maxSize = g.cfg.MaxFileSize
	}
	if maxSize <= 0 {
		maxSize = DefaultMaxFileSize
	}
	return &contentRun{g: g, maxSize: maxSize}
}

// errProjectGone is a project that 403s, 404s or is pending deletion.
var errProjectGone = errors.New("gitlab: project not accessible")

// project fetches a project by id or full path, once per run. A project
// the token cannot see, or one pending deletion, is errProjectGone.
func (r *contentRun) project(ctx context.Context, idOrPath string) (ocean.Item, error) {
	key := strings.ToLower(idOrPath)
	return r.projects.get(ctx, key, func() (ocean.Item, error) {
		var p ocean.Item
		err := r.g.client.Get(ctx, "projects/"+glapi.PathEscape(idOrPath), nil, &p)
		switch {
		case err != nil && isInaccessible(err) && ctx.Err() == nil:
			return nil, errProjectGone
		case err != nil:
			return nil, err
		case len(p) == 0 || (p["marked_for_deletion_at"] != nil && p["marked_for_deletion_at"] != ""):
			return nil, errProjectGone
		}
		r.remember(p)
		return p, nil
	})
}

// remember caches a project listed elsewhere under its id and path.
func (r *contentRun) remember(p ocean.Item) {
	if id := idString(p["id"]); id != "" {
		r.projects.put(id, p)
	}
	if fp := str(p["path_with_namespace"]); fp != "" {
		r.projects.put(strings.ToLower(fp), p)
	}
}

// treeEntry is one entry of GitLab's repository tree.
type treeEntry = ocean.Item

// listTree lists a directory of a project at ref (keyset pagination). A
// missing directory, ref or repository is an empty list.
func (r *contentRun) listTree(ctx context.Context, p ocean.Item, ref string, w walk, fn func([]treeEntry) error) error {
	q := url.Values{"ref": {ref}, "pagination": {"keyset"}}
	if w.dir != "" {
		q.Set("path", w.dir)
	}
	if w.recursive {
		q.Set("recursive", "true")
	}
	err := r.g.client.Pages(ctx, "projects/"+projectRef(p)+"/repository/tree", q, fn)
	if err != nil && IsNotFound(err) && ctx.Err() == nil {
		return nil
	}
	return err
}

// rootEntries lists a project's top level at ref, once per run.
func (r *contentRun) rootEntries(ctx context.Context, p ocean.Item, ref string) ([]treeEntry, error) {
	return r.roots.get(ctx, projectRef(p)+"@"+ref, func() ([]treeEntry, error) {
		var out []treeEntry
		err := r.listTree(ctx, p, ref, walk{}, func(page []treeEntry) error {
			for _, e := range page {
				out = append(out, ocean.Item{"name": e["name"], "type": e["type"], "path": e["path"]})
			}
			return nil
		})
		return out, err
	})
}

// pruneWalks drops listings whose first directory does not exist at the
// project's top level, at the cost of one listing of the top level. It is
// worth it only when several listings are planned (skills' eight default
// locations, say): a listing of a missing directory costs a request too.
func (r *contentRun) pruneWalks(ctx context.Context, p ocean.Item, ref string, ws []walk, fold bool) ([]walk, error) {
	n := 0
	for _, w := range ws {
		if w.dir != "" {
			n++
		}
	}
	if n < 2 {
		return ws, nil
	}
	root, err := r.rootEntries(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{}
	for _, e := range root {
		if str(e["type"]) == "tree" {
			name := str(e["name"])
			key := name
			if fold {
				key = strings.ToLower(name)
			}
			dirs[key] = name
		}
	}
	var out []walk
	for _, w := range ws {
		if w.dir == "" {
			out = append(out, w)
			continue
		}
		first, rest, _ := strings.Cut(w.dir, "/")
		if fold {
			first = strings.ToLower(first)
		}
		actual, ok := dirs[first]
		if !ok {
			continue
		}
		w.dir = actual
		if rest != "" {
			w.dir += "/" + rest
		}
		out = append(out, w)
	}
	return out, nil
}

// refFor is the branch to read in a project: the repo entry's, else the
// selector's, else the project's default branch.
func refFor(p ocean.Item, branches ...string) string {
	for _, b := range branches {
		if b != "" {
			return b
		}
	}
	return str(p["default_branch"])
}

// projectsFor streams the projects a content kind scans: the named repos
// (looked up once each; inaccessible ones logged and skipped) or every
// project the token lists.
func (r *contentRun) projectsFor(ctx context.Context, repos []RepoRef, active *bool, fn func([]ocean.Item) error) error {
	if len(repos) == 0 {
		return r.g.eachProjectPage(ctx, active, time.Time{}, nil, fn)
	}
	var page []ocean.Item
	seen := map[string]bool{}
	for _, rr := range repos {
		p, err := r.project(ctx, rr.Name)
		if errors.Is(err, errProjectGone) {
			r.g.log.WarnContext(ctx, "gitlab: skipping repo the token cannot read", "repo", rr.Name)
			continue
		}
		if err != nil {
			return err
		}
		id := idString(p["id"])
		if seen[id] {
			continue
		}
		seen[id] = true
		page = append(page, p)
	}
	if len(page) == 0 {
		return nil
	}
	return fn(page)
}

// repoBranches maps project path (lower-cased) → branch for repo entries
// that name one.
func repoBranches(repos []RepoRef) map[string]string {
	m := map[string]string{}
	for _, r := range repos {
		if r.Branch != "" {
			m[strings.ToLower(r.Name)] = r.Branch
		}
	}
	return m
}
