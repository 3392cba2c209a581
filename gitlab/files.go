package gitlab

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/ocean"
)

// fileBatch is how many discovered files are read together: enough to
// fill GraphQL queries across many projects, few enough to stream.
const fileBatch = 200

// listFiles is the `file` kind: discovery (search or tree walks) finds the
// candidate files, which are read in batches through GraphQL, parsed, and
// sent as gitlab-v2's {file, repo} items.
func (g *Integration) listFiles(ctx context.Context, sel FileSelector, send ocean.Sender) error {
	fq, err := newFileQuery(sel)
	if err != nil {
		return err
	}
	r := g.newContentRun(sel.Files.MaxFileSize)
	rd := &fileReader{r: r, skipParsing: sel.Files.SkipParsing, included: sel.IncludedFiles}
	pipe := newBatcher(ctx, fileBatch, 2, func(ctx context.Context, reqs []blobReq) error {
		items, err := rd.read(ctx, reqs, fq.explicitRef)
		if err != nil || len(items) == 0 {
			return err
		}
		return send.Send(ctx, items)
	})
	derr := r.discoverFiles(pipe.ctx, sel.Files.SearchStrategy, fq, pipe.add)
	err = pipe.close(derr)
	rd.logOverBudget(ctx)
	return err
}

// batcher collects discovered files, de-duplicated, and processes them in
// batches of size, at most inFlight at once; add blocks while they are
// busy, which is the back-pressure on discovery.
type batcher struct {
	ctx     context.Context
	eg      *errgroup.Group
	size    int
	process func(context.Context, []blobReq) error

	mu      sync.Mutex
	pending []blobReq
	seen    map[blobKey]struct{}
}

func newBatcher(ctx context.Context, size, inFlight int, process func(context.Context, []blobReq) error) *batcher {
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(inFlight)
	return &batcher{ctx: ectx, eg: eg, size: size, process: process, seen: map[blobKey]struct{}{}}
}

func (b *batcher) add(ctx context.Context, reqs []blobReq) error {
	b.mu.Lock()
	for _, q := range reqs {
		k := q.key()
		if _, dup := b.seen[k]; dup {
			continue
		}
		b.seen[k] = struct{}{}
		b.pending = append(b.pending, q)
	}
	var batch []blobReq
	if len(b.pending) >= b.size {
		batch, b.pending = b.pending, nil
	}
	b.mu.Unlock()
	if batch != nil {
		b.eg.Go(func() error { return b.process(b.ctx, batch) })
	}
	return ctx.Err()
}

// close processes what is left (unless discovery failed) and waits.
func (b *batcher) close(discoverErr error) error {
	if discoverErr == nil {
		b.mu.Lock()
		batch := b.pending
		b.pending = nil
		b.mu.Unlock()
		if len(batch) > 0 {
			b.eg.Go(func() error { return b.process(b.ctx, batch) })
		}
	}
	// A failed batch cancels discovery: its error is the cause.
	if err := b.eg.Wait(); err != nil {
		return err
	}
	return discoverErr
}

// DefaultMaxFileRefExpansion bounds how much the file:// references of one
// parsed file may expand it by (the sum of the referenced texts, counted
// once per reference). A file whose references would take more keeps the
// references past the budget as they are written (file://…): without a
// bound, a 10 KB YAML file with 500 references to a 900 KB file made a
// 450 MB item.
const DefaultMaxFileRefExpansion = 4 << 20

// fileReader turns discovered files into items.
type fileReader struct {
	r           *contentRun
	skipParsing bool
	included    []string
	// refBudget overrides the per-file expansion budget (0: the larger of
	// DefaultMaxFileRefExpansion and the size cap, so that one file at the
	// cap can always be referenced).
	refBudget int64

	overOnce  sync.Once
	overFiles atomic.Int64 // files with references left unexpanded
	overRefs  atomic.Int64 // references left unexpanded
}

type readFile struct {
	q  blobReq
	fd map[string]any
}

// fileRef is one file:// reference of a parsed file, in the order the
// file is walked.
type fileRef struct {
	file int // index in the batch's files
	req  blobReq
	set  func(any)
}

func (rd *fileReader) budget() int64 {
	if rd.refBudget > 0 {
		return rd.refBudget
	}
	return max(DefaultMaxFileRefExpansion, rd.r.maxSize)
}

// admitRefs spends each file's budget on its references in order: a
// referenced file is downloaded when some reference to it fits.
func (rd *fileReader) admitRefs(refs []fileRef) admitFunc {
	return func(sizes map[blobKey]int64) map[blobKey]bool {
		ok := map[blobKey]bool{}
		left, file := int64(0), -1
		for _, ref := range refs {
			if ref.file != file {
				file, left = ref.file, rd.budget()
			}
			size, known := sizes[ref.req.key()]
			if known && size <= left {
				left -= size
				ok[ref.req.key()] = true
			}
		}
		return ok
	}
}

// read fetches a batch of files and shapes the items: files that are gone,
// over the size cap or binary are left out (the last two with a warning);
// JSON and YAML are parsed unless skipParsing, and a file that does not
// parse keeps its text, with a warning, so that mappings reaching into it
// report it misconfigured; file:// references are resolved within the
// per-file budget, each referenced file downloaded once.
func (rd *fileReader) read(ctx context.Context, reqs []blobReq, explicitRef func(ocean.Item) string) ([]ocean.Item, error) {
	r := rd.r
	data, err := r.fetchBlobs(ctx, reqs)
	if err != nil {
		return nil, err
	}
	// A search index may name a branch that is gone: read such files at the
	// default branch (gitlab-v2 0.9.24).
	var heal []blobReq
	for i, q := range reqs {
		def := str(q.proj["default_branch"])
		if data[q.key()].status == blobMissing && explicitRef(q.proj) == "" && def != "" && def != q.ref {
			reqs[i].ref = def
			heal = append(heal, reqs[i])
		}
	}
	if len(heal) > 0 {
		healed, err := r.fetchBlobs(ctx, heal)
		if err != nil {
			return nil, err
		}
		for k, d := range healed {
			data[k] = d
		}
	}
	var (
		files []readFile
		refs  []fileRef
	)
	for _, q := range reqs {
		d := data[q.key()]
		if d == nil || !r.usable(ctx, q, d) {
			continue
		}
		fd := fileData(q, d)
		if !rd.skipParsing && parsable(q.path) {
			v, err := parseContent(d.text)
			if err != nil {
				r.g.log.WarnContext(ctx, "gitlab: file is not valid JSON or YAML; its content is kept as text",
					"project", q.proj["path_with_namespace"], "path", q.path, "ref", q.ref, "error", err)
			} else {
				fd["content"] = v
				walkFileRefs(v, func(p string, set func(any)) {
					refs = append(refs, fileRef{file: len(files), req: blobReq{proj: q.proj, ref: q.ref, path: p}, set: set})
				})
			}
		}
		files = append(files, readFile{q: q, fd: fd})
	}
	if len(refs) > 0 {
		reqs := make([]blobReq, len(refs))
		for i, ref := range refs {
			reqs[i] = ref.req
		}
		rdata, err := r.fetchBlobsWithin(ctx, reqs, rd.admitRefs(refs))
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			// Best effort, as gitlab-v2 0.9.6: the files are still synced.
			r.g.log.WarnContext(ctx, "gitlab: file:// references left unresolved", "files", len(files), "error", err)
		default:
			rd.resolveRefs(ctx, files, refs, rdata)
		}
	}
	var inc map[string]map[string]any
	if len(rd.included) > 0 && len(files) > 0 {
		projs := make([]ocean.Item, len(files))
		for i, f := range files {
			projs[i] = f.q.proj
		}
		if inc, err = r.includedFiles(ctx, projs, rd.included); err != nil {
			return nil, err
		}
	}
	items := make([]ocean.Item, 0, len(files))
	for _, f := range files {
		it := ocean.Item{"file": f.fd, "repo": f.q.proj}
		if inc != nil {
			it["__includedFiles"] = inc[idString(f.q.proj["id"])]
		}
		items = append(items, it)
	}
	return items, nil
}

// resolveRefs replaces each reference with the referenced text, a missing
// file with null, within each file's budget; the references past it are
// left as written and counted.
func (rd *fileReader) resolveRefs(ctx context.Context, files []readFile, refs []fileRef, data map[blobKey]*blobData) {
	log := rd.r.g.log
	left, file, over := int64(0), -1, 0
	flush := func() {
		if over == 0 {
			return
		}
		q := files[file].q
		rd.overFiles.Add(1)
		rd.overRefs.Add(int64(over))
		attrs := []any{"project", q.proj["path_with_namespace"], "path", q.path, "ref", q.ref, "references", over, "budget", rd.budget()}
		first := false
		rd.overOnce.Do(func() { first = true })
		if first {
			log.WarnContext(ctx, "gitlab: file:// references left unexpanded: their texts would exceed the per-file budget", attrs...)
		} else {
			log.DebugContext(ctx, "gitlab: file:// references left unexpanded: their texts would exceed the per-file budget", attrs...)
		}
		over = 0
	}
	for _, ref := range refs {
		if ref.file != file {
			flush()
			file, left = ref.file, rd.budget()
		}
		d := data[ref.req.key()]
		switch {
		case d == nil || d.status == blobMissing:
			ref.set(nil)
		case d.status == blobOK && int64(len(d.text)) <= left:
			left -= int64(len(d.text))
			ref.set(d.text)
		case d.status == blobOK, d.status == blobOverBudget:
			over++
		default:
			log.WarnContext(ctx, "gitlab: file:// reference left unresolved: the file is binary or over the size limit",
				"project", files[file].q.proj["path_with_namespace"], "path", ref.req.path, "reference", ref.req.path)
		}
	}
	flush()
}

// logOverBudget reports, once for a kind, how many files kept references
// unexpanded (the first one was logged as it happened).
func (rd *fileReader) logOverBudget(ctx context.Context) {
	if n := rd.overFiles.Load(); n > 1 {
		rd.r.g.log.WarnContext(ctx, "gitlab: file:// references left unexpanded in several files: their texts would exceed the per-file budget",
			"files", n, "references", rd.overRefs.Load(), "budget", rd.budget())
	}
}

// usable reports whether a read file has content to sync, logging why not.
func (r *contentRun) usable(ctx context.Context, q blobReq, d *blobData) bool {
	switch d.status {
	case blobOK:
		return true
	case blobTooLarge:
		r.g.log.WarnContext(ctx, "gitlab: skipping a file over the size limit; raise "+envMaxFileSize+" (maxFileSize), or the selector's files.maxFileSize, to read it",
			"project", q.proj["path_with_namespace"], "path", q.path, "ref", q.ref, "size", d.size, "limit", r.maxSize)
	case blobBinary:
		r.g.log.WarnContext(ctx, "gitlab: skipping binary file",
			"project", q.proj["path_with_namespace"], "path", q.path, "ref", q.ref)
	default:
		r.g.log.DebugContext(ctx, "gitlab: file not found", "project", q.proj["path_with_namespace"], "path", q.path, "ref", q.ref)
	}
	return false
}
