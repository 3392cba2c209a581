package gitlabtest

import (
	"crypto/sha1" //nolint:gosec // git object IDs are SHA-1 by definition
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// blob is one version of a file. Large generated files keep only a seed and a
// size, and are produced on demand, so that a dataset with thousands of
// oversized files stays small in memory.
type blob struct {
	data     []byte
	lazySize int
	lazySeed uint64
	binary   bool
	exec     bool
	commitID string // the commit that wrote this version (last_commit_id)

	once sync.Once
	oid  string
	sha  string
}

func (b *blob) bytes() []byte {
	if b.data != nil || b.lazySize == 0 {
		return b.data
	}
	return lazyContent(b.lazySeed, b.lazySize, b.binary)
}

func (b *blob) size() int {
	if b.data != nil || b.lazySize == 0 {
		return len(b.data)
	}
	return b.lazySize
}

// ids returns the git blob ID and the content's SHA-256, computed once.
func (b *blob) ids() (oid, sha string) {
	b.once.Do(func() {
		data := b.bytes()
		h := sha1.New() //nolint:gosec // git object ID
		h.Write([]byte("blob " + strconv.Itoa(len(data)) + "\x00"))
		h.Write(data)
		b.oid = hex.EncodeToString(h.Sum(nil))
		s := sha256.Sum256(data)
		b.sha = hex.EncodeToString(s[:])
	})
	return b.oid, b.sha
}

func (b *blob) isText() bool {
	if b.binary {
		return false
	}
	data := b.bytes()
	return utf8.Valid(data) && !slices.Contains(data, 0)
}

func lazyContent(seed uint64, size int, binary bool) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := make([]byte, size)
	if binary {
		copy(out, "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
		for i := 16; i < size; i++ {
			out[i] = byte(r.Uint32())
		}
		return out
	}
	// A large JSON array of records: valid, and parsable by clients that try.
	const line = `  {"id": 0000000000, "name": "record", "value": "xxxxxxxxxxxxxxxx"},` + "\n"
	out = out[:0]
	out = append(out, "[\n"...)
	for i := 0; len(out)+len(line)+8 < size; i++ {
		out = append(out, `  {"id": `...)
		out = append(out, strconv.Itoa(i)...)
		out = append(out, `, "name": "record", "value": "`...)
		out = strconv.AppendUint(out, r.Uint64(), 16)
		out = append(out, "\"},\n"...)
	}
	out = append(out, `  {"id": -1}`+"\n]\n"...)
	for len(out) < size {
		out = append(out, ' ')
	}
	return out[:size]
}

type branchState struct {
	name      string
	files     map[string]*blob
	head      CommitBasic
	protected bool
	merged    bool
}

type repository struct {
	branches map[string]*branchState
	tags     []*Tag // newest first
}

func (r *repository) branchNames() []string {
	names := make([]string, 0, len(r.branches))
	for n := range r.branches {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// resolveRef finds the files of a branch, tag or commit ID.
func (r *repository) resolveRef(ref string) *branchState {
	if r == nil {
		return nil
	}
	if b := r.branches[ref]; b != nil {
		return b
	}
	ref = strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/tags/")
	if b := r.branches[ref]; b != nil {
		return b
	}
	for _, t := range r.tags {
		if t.Name == ref {
			return r.findCommit(t.Target)
		}
	}
	return r.findCommit(ref)
}

func (r *repository) findCommit(id string) *branchState {
	if len(id) < 7 {
		return nil
	}
	for _, n := range r.branchNames() {
		b := r.branches[n]
		if strings.HasPrefix(b.head.ID, id) {
			return b
		}
	}
	return nil
}

// tree lists the entries under dir (recursive or not), sorted by path.
func (b *branchState) tree(dir string, recursive bool) ([]TreeEntry, bool) {
	dir = strings.Trim(dir, "/")
	entries := map[string]TreeEntry{}
	found := dir == ""
	for p, bl := range b.files {
		var rel string
		switch {
		case dir == "":
			rel = p
		case strings.HasPrefix(p, dir+"/"):
			rel = p[len(dir)+1:]
			found = true
		default:
			continue
		}
		parts := strings.Split(rel, "/")
		prefix := dir
		for i, part := range parts {
			full := part
			if prefix != "" {
				full = prefix + "/" + part
			}
			last := i == len(parts)-1
			if _, ok := entries[full]; !ok {
				if last {
					oid, _ := bl.ids()
					mode := "100644"
					if bl.exec {
						mode = "100755"
					}
					entries[full] = TreeEntry{ID: oid, Name: part, Type: "blob", Path: full, Mode: mode}
				} else {
					entries[full] = TreeEntry{ID: treeID(b.head.ID, full), Name: part, Type: "tree", Path: full, Mode: "040000"}
				}
			}
			if !recursive {
				break
			}
			prefix = full
		}
	}
	if !found {
		return nil, false
	}
	out := make([]TreeEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b TreeEntry) int { return strings.Compare(a.Path, b.Path) })
	return out, true
}

func treeID(commit, p string) string {
	h := sha1.Sum([]byte("tree " + commit + " " + p)) //nolint:gosec // fake git object ID
	return hex.EncodeToString(h[:])
}

// blobQuery is a parsed blob search: free text plus GitLab's filename:,
// path: and extension: qualifiers.
type blobQuery struct {
	terms     []string
	filename  *regexp.Regexp
	pathRe    *regexp.Regexp
	extension string
}

func parseBlobQuery(q string) blobQuery {
	var bq blobQuery
	for _, f := range strings.Fields(q) {
		lower := strings.ToLower(f)
		switch {
		case strings.HasPrefix(lower, "filename:"):
			bq.filename = globRegexp(f[len("filename:"):], true)
		case strings.HasPrefix(lower, "path:"):
			bq.pathRe = globRegexp(strings.Trim(f[len("path:"):], "/"), false)
		case strings.HasPrefix(lower, "extension:"):
			bq.extension = strings.ToLower(strings.TrimPrefix(f[len("extension:"):], "."))
		default:
			bq.terms = append(bq.terms, lower)
		}
	}
	return bq
}

// globRegexp turns a search qualifier with * wildcards into a case-insensitive
// regexp: filenames must match whole, paths match as a directory prefix.
func globRegexp(glob string, whole bool) *regexp.Regexp {
	parts := strings.Split(glob, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	expr := "(?i)^" + strings.Join(parts, ".*")
	if whole {
		expr += "$"
	} else {
		expr += "(/|$)"
	}
	return regexp.MustCompile(expr)
}

// search returns blob search results for the query, sorted by path.
func (b *branchState) search(q blobQuery, projectID int, ref string) []BlobSearchResult {
	paths := make([]string, 0, len(b.files))
	for p := range b.files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var out []BlobSearchResult
	for _, p := range paths {
		bl := b.files[p]
		name := path.Base(p)
		if q.filename != nil && !q.filename.MatchString(name) {
			continue
		}
		if q.pathRe != nil {
			dir := path.Dir(p)
			if dir == "." || !q.pathRe.MatchString(dir) {
				continue
			}
		}
		if q.extension != "" && strings.ToLower(strings.TrimPrefix(path.Ext(p), ".")) != q.extension {
			continue
		}
		if bl.size() > maxSearchableSize || !bl.isText() {
			continue
		}
		content := string(bl.bytes())
		startline, data, ok := 1, firstLines(content, 0, 3), true
		if len(q.terms) > 0 {
			startline, data, ok = matchTerms(p, content, q.terms)
		}
		if !ok {
			continue
		}
		out = append(out, BlobSearchResult{
			Basename: strings.TrimSuffix(p, path.Ext(p)), Data: data, Path: p, Filename: p,
			Ref: ref, Startline: startline, ProjectID: projectID,
		})
	}
	return out
}

// maxSearchableSize mirrors GitLab indexing only files up to 1 MiB.
const maxSearchableSize = 1 << 20

// matchTerms reports whether every term occurs in the file's path or content,
// with the lines around the first content match.
func matchTerms(p, content string, terms []string) (int, string, bool) {
	lowerContent := strings.ToLower(content)
	lowerPath := strings.ToLower(p)
	first := -1
	for _, t := range terms {
		i := strings.Index(lowerContent, t)
		if i < 0 && !strings.Contains(lowerPath, t) {
			return 0, "", false
		}
		if i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if first < 0 {
		return 1, firstLines(content, 0, 3), true
	}
	line := strings.Count(content[:first], "\n")
	start := max(0, line-1)
	return start + 1, firstLines(content, start, 3), true
}

func firstLines(content string, from, n int) string {
	lines := strings.SplitAfter(content, "\n")
	if from >= len(lines) {
		return ""
	}
	return strings.Join(lines[from:min(len(lines), from+n)], "")
}

// newCommit makes a commit object with a deterministic ID.
func (d *Dataset) newCommit(projectWeb string, parent string, title string, author *User, at time.Time) CommitBasic {
	d.next.commit++
	h := sha1.Sum([]byte(strconv.FormatInt(d.seed, 10) + "/" + strconv.FormatUint(d.next.commit, 10) + "/" + title)) //nolint:gosec // fake git object ID
	id := hex.EncodeToString(h[:])
	var parents []string
	if parent != "" {
		parents = []string{parent}
	} else {
		parents = []string{}
	}
	return CommitBasic{
		ID: id, ShortID: id[:8], CreatedAt: T(at), ParentIDs: parents, Title: title, Message: title + "\n",
		AuthorName: author.Name, AuthorEmail: author.Email, AuthoredDate: T(at),
		CommitterName: author.Name, CommitterEmail: author.Email, CommittedDate: T(at),
		Trailers: map[string]string{}, WebURL: projectWeb + "/-/commit/" + id,
	}
}
