package gitlab

import (
	"errors"
	"path"
	"slices"
	"strings"
)

// globOptions tune how a path glob is read.
type globOptions struct {
	// anyDepth reads a pattern without a slash as **/pattern: the file
	// name at any depth, as GitLab's filename: search matches (file kind).
	// A leading slash ("/port.yml") anchors it at the repository root.
	anyDepth bool
	// fold matches case-insensitively (skills).
	fold bool
	// allowEmpty accepts "" as the repository root (folders).
	allowEmpty bool
}

// glob is a compiled path pattern with wcmatch's GLOBSTAR|DOTGLOB reading,
// which gitlab-v2 uses: `*`, `?` and `[…]` match within one path segment
// (dot-files included), `**` as a whole segment matches any number of
// segments, zero included.
type glob struct {
	raw  string
	segs []string
	fold bool
}

func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[\\") }

func compileGlob(p string, o globOptions) (glob, error) {
	p = strings.TrimSpace(p)
	anchored := strings.HasPrefix(p, "/")
	p = strings.Trim(p, "/")
	if p == "" && !o.allowEmpty {
		return glob{}, errors.New("empty pattern")
	}
	if o.anyDepth && !anchored && !strings.Contains(p, "/") {
		p = "**/" + p
	}
	g := glob{raw: p, fold: o.fold}
	if p == "" {
		return g, nil
	}
	for s := range strings.SplitSeq(p, "/") {
		if s == "" || s == "." || s == ".." {
			return glob{}, errors.New("a pattern segment is empty, . or ..")
		}
		if o.fold {
			s = strings.ToLower(s)
		}
		if s != "**" {
			if _, err := path.Match(s, ""); err != nil {
				return glob{}, err
			}
		}
		g.segs = append(g.segs, s)
	}
	return g, nil
}

// match reports whether the repository path p matches.
func (g glob) match(p string) bool {
	p = strings.Trim(p, "/")
	if g.fold {
		p = strings.ToLower(p)
	}
	if p == "" {
		return len(g.segs) == 0
	}
	return matchSegs(g.segs, strings.Split(p, "/"))
}

func matchSegs(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true
			}
			for i := range len(segs) + 1 {
				if matchSegs(pat, segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// concrete reports a pattern without wildcards: one exact path.
func (g glob) concrete() bool { return !hasMeta(g.raw) }

// prefix is the literal directory before the first wildcard segment.
func (g glob) prefix() string {
	var lit []string
	for _, s := range strings.Split(g.raw, "/") {
		if hasMeta(s) {
			break
		}
		lit = append(lit, s)
	}
	if len(lit) == len(g.segs) { // concrete: its directory
		lit = lit[:max(0, len(lit)-1)]
	}
	return strings.Join(lit, "/")
}

// walk is one repository tree listing: a directory, recursively or not.
type walk struct {
	dir       string
	recursive bool
}

// blobWalk is the listing that finds every file the pattern can match:
// none for a concrete path (it is read directly), the pattern's directory
// when only its last segment has a wildcard, else a recursive listing
// under the literal prefix.
func (g glob) blobWalk() (walk, bool) {
	if g.concrete() {
		return walk{}, false
	}
	pre := g.prefix()
	rest := g.segs[len(splitPath(pre)):]
	if len(rest) == 1 && rest[0] != "**" {
		return walk{dir: pre}, true
	}
	return walk{dir: pre, recursive: true}, true
}

// folderWalk follows gitlab-v2's folder listing: a concrete path lists
// that directory's sub-folders, a glob lists under its literal prefix.
func (g glob) folderWalk() walk {
	if g.concrete() {
		return walk{dir: g.raw}
	}
	pre := g.prefix()
	rest := g.segs[len(splitPath(pre)):]
	return walk{dir: pre, recursive: len(rest) != 1 || rest[0] == "**"}
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// under reports whether p is dir or below it.
func under(p, dir string) bool {
	return dir == "" || p == dir || strings.HasPrefix(p, dir+"/")
}

// minimizeWalks drops listings another one covers: anything under a
// recursive listing, and a flat listing of a directory also listed
// recursively. The result is sorted.
func minimizeWalks(ws []walk) []walk {
	slices.SortFunc(ws, func(a, b walk) int {
		if c := strings.Compare(a.dir, b.dir); c != 0 {
			return c
		}
		if a.recursive == b.recursive {
			return 0
		}
		if a.recursive {
			return -1
		}
		return 1
	})
	var out []walk
	for _, w := range ws {
		covered := false
		for _, o := range out {
			if o.recursive && under(w.dir, o.dir) || o == w {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, w)
		}
	}
	return out
}

// searchQuery builds gitlab-v2's blob search for a pattern:
// "<keyword> [path:<dir>] filename:<name>", the keyword being the file name
// without wildcards (or the last directory when nothing is left). A `**`
// directory is left out of path:, which GitLab would read literally; the
// glob is applied to every hit anyway.
func searchQuery(pattern string) string {
	p := strings.Trim(strings.TrimSpace(pattern), "/")
	dir, name := path.Split(p)
	dir = strings.Trim(dir, "/")
	keyword := strings.Trim(strings.NewReplacer("*", "", "?", "", "[", "", "]", "").Replace(name), "/")
	if keyword == "" {
		segs := splitPath(dir)
		for i := len(segs) - 1; i >= 0; i-- {
			if !hasMeta(segs[i]) {
				keyword = segs[i]
				break
			}
		}
	}
	if i := strings.Index(dir, "**"); i >= 0 {
		dir = strings.Trim(dir[:i], "/")
	}
	var b strings.Builder
	b.WriteString(keyword)
	if dir != "" {
		b.WriteString(" path:")
		b.WriteString(dir)
	}
	b.WriteString(" filename:")
	b.WriteString(name)
	return strings.TrimSpace(b.String())
}
