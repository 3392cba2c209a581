package gitlab

import (
	"context"
	"path"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/oceankit/oceankit/ocean"
)

const skillFile = "skill.md"

// skillRule is one compiled `paths` entry.
type skillRule struct {
	g       glob
	repos   map[string]string // lower-cased path → branch
	anyRepo bool
}

// listSkills is the `skill` kind: SKILL.md files found by repository tree
// walks (search indexes skip dot-directories), read in GraphQL batches and
// shaped as gitlab-v2's {skill, repo, __branch} items. Glob matching is
// case-insensitive, as in gitlab-v2.
func (g *Integration) listSkills(ctx context.Context, sel SkillSelector, send ocean.Sender) error {
	var (
		rules []skillRule
		globs []glob
		all   bool
		named []RepoRef
		seen  = map[string]bool{}
	)
	for _, sp := range sel.Paths {
		gl, err := compileGlob(sp.Path, globOptions{fold: true})
		if err != nil {
			return err
		}
		sr := skillRule{g: gl, repos: map[string]string{}, anyRepo: len(sp.Repos) == 0}
		for _, rr := range sp.Repos {
			k := strings.ToLower(rr.Name)
			sr.repos[k] = rr.Branch
			if !seen[k] {
				seen[k] = true
				named = append(named, RepoRef{Name: rr.Name})
			}
		}
		all = all || sr.anyRepo
		rules = append(rules, sr)
		globs = append(globs, gl)
	}
	if len(rules) == 0 {
		return nil
	}
	if all {
		named = nil
	}
	r := g.newContentRun(0)
	pipe := newBatcher(ctx, fileBatch, 2, func(ctx context.Context, reqs []blobReq) error {
		data, err := r.fetchBlobs(ctx, reqs)
		if err != nil {
			return err
		}
		var items []ocean.Item
		for _, q := range reqs {
			d := data[q.key()]
			if d == nil || !r.usable(ctx, q, d) {
				continue
			}
			items = append(items, ocean.Item{"skill": r.buildSkill(ctx, q, d.text, globs), "repo": q.proj, "__branch": q.ref})
		}
		if len(items) == 0 {
			return nil
		}
		return send.Send(ctx, items)
	})
	derr := r.eachProject(pipe.ctx, named, sel.IncludeOnlyActiveGroups, func(ctx context.Context, p ocean.Item) error {
		key := strings.ToLower(str(p["path_with_namespace"]))
		byRef := map[string][]glob{}
		var refs []string
		for _, sr := range rules {
			branch, ok := sr.repos[key]
			if !ok && !sr.anyRepo {
				continue
			}
			ref := refFor(p, branch)
			if ref == "" {
				continue
			}
			if _, ok := byRef[ref]; !ok {
				refs = append(refs, ref)
			}
			byRef[ref] = append(byRef[ref], sr.g)
		}
		for _, ref := range refs {
			reqs, err := r.treeMatches(ctx, p, ref, byRef[ref], true)
			if err != nil {
				return err
			}
			out := reqs[:0]
			for _, q := range reqs {
				if strings.ToLower(path.Base(q.path)) == skillFile {
					out = append(out, q)
				}
			}
			if len(out) > 0 {
				if err := pipe.add(ctx, out); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return pipe.close(derr)
}

// buildSkill shapes a SKILL.md as gitlab-v2 does: front matter (YAML
// between leading --- markers), name (front matter's, else the folder's),
// description, the body as instructions, and the root of the location
// that matched.
func (r *contentRun) buildSkill(ctx context.Context, q blobReq, text string, globs []glob) map[string]any {
	fm, body := r.skillFrontMatter(ctx, q, text)
	dir := path.Dir(q.path)
	if dir == "." {
		dir = ""
	}
	name, _ := fm["name"].(string)
	if strings.TrimSpace(name) == "" {
		name = path.Base(dir)
		if dir == "" {
			name = ""
		}
	}
	desc, _ := fm["description"].(string)
	return map[string]any{
		"name": name, "description": desc, "instructions": body, "frontmatter": fm,
		"path": dir, "skillMdPath": q.path, "root": skillRoot(q.path, globs),
	}
}

func (r *contentRun) skillFrontMatter(ctx context.Context, q blobReq, text string) (map[string]any, string) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if !strings.HasPrefix(text, "---") {
		return map[string]any{}, text
	}
	parts := strings.SplitN(text, "---", 3)
	if len(parts) < 3 {
		return map[string]any{}, text
	}
	raw := strings.TrimSpace(parts[1])
	body := strings.TrimLeft(parts[2], "\n")
	if raw == "" {
		return map[string]any{}, body
	}
	var v any
	err := yaml.Unmarshal([]byte(raw), &v)
	if err == nil {
		v, err = jsonValue(v)
	}
	if err != nil {
		r.g.log.WarnContext(ctx, "gitlab: skill front matter is not valid YAML",
			"project", q.proj["path_with_namespace"], "path", q.path, "error", err)
		return map[string]any{}, body
	}
	m, ok := v.(map[string]any)
	if !ok {
		return map[string]any{}, body
	}
	return m, body
}

// skillRoot is the location a SKILL.md was found under: the matching
// pattern without its SKILL.md tail, else the skill folder's parent.
func skillRoot(p string, globs []glob) string {
	for _, g := range globs {
		if !g.match(p) {
			continue
		}
		lower := strings.ToLower(g.raw)
		for _, suf := range []string{"/**/" + skillFile, "/" + skillFile, "**/" + skillFile, skillFile} {
			if strings.HasSuffix(lower, suf) {
				if root := strings.Trim(g.raw[:len(g.raw)-len(suf)], "/"); root != "" {
					return root
				}
				break
			}
		}
	}
	dir := path.Dir(p)
	if parent := path.Dir(dir); parent != "." && parent != "" && parent != "/" {
		return parent
	}
	if dir == "." {
		return ""
	}
	return dir
}
