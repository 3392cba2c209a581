package gitlab

import (
	"context"
	"path"
	"strings"

	"github.com/oceankit/oceankit/ocean"
)

// folderRule is one compiled `folders` entry.
type folderRule struct {
	g        glob
	repos    map[string]string // lower-cased path → branch ("" = default)
	anyRepo  bool
	concrete bool
}

// listFolders is the `folder` kind: per project and branch, the folders
// the patterns select, as gitlab-v2's {folder, repo, __branch} items. A
// concrete path lists that directory's sub-folders; a glob lists the
// folders it matches. All entries of a project share minimized tree
// listings.
func (g *Integration) listFolders(ctx context.Context, sel FolderSelector, send ocean.Sender) error {
	if len(sel.Folders) == 0 {
		return nil
	}
	r := g.newContentRun(0)
	var (
		rules   []folderRule
		all     bool
		named   []RepoRef
		namedOK = map[string]bool{}
	)
	for _, f := range sel.Folders {
		gl, err := compileGlob(f.Path, globOptions{allowEmpty: true})
		if err != nil {
			return err
		}
		fr := folderRule{g: gl, repos: map[string]string{}, anyRepo: len(f.Repos) == 0, concrete: gl.concrete()}
		for _, rr := range f.Repos {
			fr.repos[strings.ToLower(rr.Name)] = rr.Branch
			if !namedOK[strings.ToLower(rr.Name)] {
				namedOK[strings.ToLower(rr.Name)] = true
				named = append(named, RepoRef{Name: rr.Name})
			}
		}
		all = all || fr.anyRepo
		rules = append(rules, fr)
	}
	scan := named
	if all {
		scan = nil // every project, the named ones among them
	}
	return r.eachProject(ctx, scan, sel.IncludeOnlyActiveProjects, func(ctx context.Context, p ocean.Item) error {
		items, err := r.projectFolders(ctx, p, rules)
		if err != nil || len(items) == 0 {
			return err
		}
		if len(sel.IncludedFiles) > 0 {
			inc, err := r.includedFiles(ctx, []ocean.Item{p}, sel.IncludedFiles)
			if err != nil {
				return err
			}
			for _, it := range items {
				it["__includedFiles"] = inc[idString(p["id"])]
			}
		}
		return send.Send(ctx, items)
	})
}

// projectFolders lists one project's folders for the rules that apply to
// it, per branch.
func (r *contentRun) projectFolders(ctx context.Context, p ocean.Item, rules []folderRule) ([]ocean.Item, error) {
	key := strings.ToLower(str(p["path_with_namespace"]))
	byRef := map[string][]folderRule{}
	var refs []string
	for _, fr := range rules {
		branch, named := fr.repos[key]
		if !named && !fr.anyRepo {
			continue
		}
		ref := refFor(p, branch)
		if ref == "" {
			continue // empty repository
		}
		if _, ok := byRef[ref]; !ok {
			refs = append(refs, ref)
		}
		byRef[ref] = append(byRef[ref], fr)
	}
	var items []ocean.Item
	for _, ref := range refs {
		rs := byRef[ref]
		walks := make([]walk, 0, len(rs))
		for _, fr := range rs {
			walks = append(walks, fr.g.folderWalk())
		}
		walks, err := r.pruneWalks(ctx, p, ref, minimizeWalks(walks), false)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, w := range walks {
			err := r.listTree(ctx, p, ref, w, func(page []treeEntry) error {
				for _, e := range page {
					ep := str(e["path"])
					if str(e["type"]) != "tree" || seen[ep] || !folderMatches(rs, ep) {
						continue
					}
					seen[ep] = true
					items = append(items, ocean.Item{
						"folder": map[string]any{"id": e["id"], "name": e["name"], "type": e["type"], "path": e["path"], "mode": e["mode"]},
						"repo":   p, "__branch": ref,
					})
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return items, nil
}

func folderMatches(rules []folderRule, p string) bool {
	for _, fr := range rules {
		if fr.concrete {
			dir := path.Dir(p)
			if dir == "." {
				dir = ""
			}
			if dir == fr.g.raw {
				return true
			}
			continue
		}
		if fr.g.match(p) {
			return true
		}
	}
	return false
}
