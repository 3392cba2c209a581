package gitlab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	retryablehttp "github.com/hashicorp/go-retryablehttp"
	glapi "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/ocean"
)

// blobReq is one file to read: a path of a project at a ref.
type blobReq struct {
	proj ocean.Item
	ref  string
	path string
}

type blobKey struct{ project, ref, path string }

func (b blobReq) key() blobKey { return blobKey{projectRef(b.proj), b.ref, b.path} }

type blobStatus int

const (
	blobOK blobStatus = iota
	blobMissing
	blobTooLarge
	blobBinary
	// blobOverBudget is a file the caller chose not to download (see
	// admitFunc).
	blobOverBudget
)

// blobData is what was learnt about one file.
type blobData struct {
	status blobStatus
	oid    string
	size   int64
	exec   bool
	text   string
	sha256 string
	// commitID and lastCommitID are known when the file was read over
	// REST; GraphQL's blob has no commit fields.
	commitID, lastCommitID any
}

// Byte budget of one GraphQL content query: keeps a response, and the
// memory it takes, bounded whatever the batch size.
const gqlContentBytes = 4 << 20

// blobBlock is one project block of a GraphQL blob query: paths of one
// project at one ref.
type blobBlock struct {
	fullPath string
	ref      string
	paths    []string
	bytes    int64 // expected content size, for content queries
}

type gqlBlobNode struct {
	Path        string          `json:"path"`
	Oid         string          `json:"oid"`
	Size        json.RawMessage `json:"size"`
	Mode        string          `json:"mode"`
	RawTextBlob *string         `json:"rawTextBlob"`
}

type gqlBlobProject struct {
	Repository *struct {
		Blobs *struct {
			Nodes []gqlBlobNode `json:"nodes"`
		} `json:"blobs"`
	} `json:"repository"`
}

// blobOutcome is a block's answer: nodes, or nil with rest set when the
// block must be read over REST.
type blobOutcome struct {
	nodes []gqlBlobNode
	rest  bool
}

// fetchBlobs reads files: metadata first and content only for files under
// the size cap, both through GraphQL blobs(paths:) queries batching many
// projects each; files GraphQL cannot answer are read over REST (HEAD for
// the size, then the raw content). A missing file is blobMissing; a
// failure other than 403/404 fails the call.
func (r *contentRun) fetchBlobs(ctx context.Context, reqs []blobReq) (map[blobKey]*blobData, error) {
	return r.fetchBlobsWithin(ctx, reqs, nil)
}

// admitFunc chooses, once the size of every file under the cap is known
// and before any content is downloaded, which of them are read. It is
// called once per fetch.
type admitFunc func(sizes map[blobKey]int64) map[blobKey]bool

// fetchBlobsWithin is fetchBlobs with admit (nil admits every file): the
// files it leaves out are blobOverBudget and never downloaded.
func (r *contentRun) fetchBlobsWithin(ctx context.Context, reqs []blobReq, admit admitFunc) (map[blobKey]*blobData, error) {
	out := make(map[blobKey]*blobData, len(reqs))
	var uniq []blobReq
	for _, q := range reqs {
		k := q.key()
		if _, ok := out[k]; ok {
			continue
		}
		out[k] = nil
		uniq = append(uniq, q)
	}
	// Metadata. A blobOK entry without text is a file whose content is
	// still to be read.
	var known, heads []blobReq
	if r.g.client.GraphQLEnabled() {
		var err error
		known, heads, err = r.graphQLMeta(ctx, uniq, out)
		if err != nil {
			return nil, err
		}
	} else {
		heads = uniq
	}
	if err := r.restEach(ctx, heads, out, func(ctx context.Context, q blobReq, _ *blobData) (*blobData, error) {
		return r.restHead(ctx, q)
	}); err != nil {
		return nil, err
	}
	if admit != nil {
		sizes := map[blobKey]int64{}
		for k, d := range out {
			if d != nil && d.status == blobOK {
				sizes[k] = d.size
			}
		}
		ok := admit(sizes)
		for k := range sizes {
			if !ok[k] {
				out[k].status = blobOverBudget
			}
		}
	}
	// Content.
	pending := func(qs []blobReq) []blobReq {
		var p []blobReq
		for _, q := range qs {
			if d := out[q.key()]; d != nil && d.status == blobOK {
				p = append(p, q)
			}
		}
		return p
	}
	again, err := r.graphQLContent(ctx, pending(known), out)
	if err != nil {
		return nil, err
	}
	if err := r.restEach(ctx, pending(heads), out, r.restContent); err != nil {
		return nil, err
	}
	// Files that changed between the GraphQL queries are read whole.
	if err := r.restEach(ctx, again, out, func(ctx context.Context, q blobReq, _ *blobData) (*blobData, error) {
		return r.restBlob(ctx, q)
	}); err != nil {
		return nil, err
	}
	for k, d := range out {
		if d == nil {
			out[k] = &blobData{status: blobMissing}
		}
	}
	return out, nil
}

// restEach runs read for every request (with what out holds for it), fanout
// at a time, and stores what it returns.
func (r *contentRun) restEach(ctx context.Context, qs []blobReq, out map[blobKey]*blobData, read func(context.Context, blobReq, *blobData) (*blobData, error)) error {
	if len(qs) == 0 {
		return nil
	}
	var mu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(r.g.fanout)
	for _, q := range qs {
		mu.Lock()
		cur := out[q.key()]
		mu.Unlock()
		eg.Go(func() error {
			d, err := read(ectx, q, cur)
			if err != nil {
				return err
			}
			mu.Lock()
			out[q.key()] = d
			mu.Unlock()
			return nil
		})
	}
	return eg.Wait()
}

// graphQLMeta reads the metadata of reqs into out. It returns the files
// it answered (blobOK ones still need their content) and those left for
// REST.
func (r *contentRun) graphQLMeta(ctx context.Context, reqs []blobReq, out map[blobKey]*blobData) (known, rest []blobReq, err error) {
	blocks, owners := blobBlocks(reqs, nil)
	meta, err := r.runBlobBlocks(ctx, blocks, "path oid size mode", 8)
	if err != nil {
		return nil, nil, err
	}
	for bi, o := range meta {
		if o.rest {
			rest = append(rest, owners[bi]...)
			continue
		}
		found := map[string]gqlBlobNode{}
		for _, n := range o.nodes {
			found[strings.Trim(n.Path, "/")] = n
		}
		for _, q := range owners[bi] {
			n, ok := found[strings.Trim(q.path, "/")]
			if !ok {
				out[q.key()] = &blobData{status: blobMissing}
				continue
			}
			d := &blobData{oid: n.Oid, size: parseBigInt(n.Size), exec: n.Mode == "100755"}
			if d.size > r.maxSize {
				d.status = blobTooLarge
			}
			out[q.key()] = d
			known = append(known, q)
		}
	}
	return known, rest, nil
}

// blobBlocks groups reqs by project and ref into blocks of at most
// gqlMaxPaths paths; with sizes, also of at most gqlContentBytes of
// content.
func blobBlocks(reqs []blobReq, sizes func(blobReq) int64) ([]blobBlock, [][]blobReq) {
	type pr struct{ project, ref string }
	byProject := map[pr][]blobReq{}
	var order []pr
	for _, q := range reqs {
		k := pr{projectRef(q.proj), q.ref}
		if _, ok := byProject[k]; !ok {
			order = append(order, k)
		}
		byProject[k] = append(byProject[k], q)
	}
	var (
		blocks []blobBlock
		owners [][]blobReq
	)
	for _, k := range order {
		var cur blobBlock
		var curOwners []blobReq
		for _, q := range byProject[k] {
			var size int64
			if sizes != nil {
				size = sizes(q)
			}
			if len(cur.paths) > 0 && (len(cur.paths) >= gqlMaxPaths || cur.bytes+size > gqlContentBytes) {
				blocks, owners = append(blocks, cur), append(owners, curOwners)
				cur, curOwners = blobBlock{}, nil
			}
			if len(cur.paths) == 0 {
				cur = blobBlock{fullPath: str(q.proj["path_with_namespace"]), ref: k.ref}
			}
			cur.paths = append(cur.paths, q.path)
			cur.bytes += size
			curOwners = append(curOwners, q)
		}
		if len(cur.paths) > 0 {
			blocks, owners = append(blocks, cur), append(owners, curOwners)
		}
	}
	return blocks, owners
}

// graphQLContent reads the content of reqs, whose metadata is in out, in
// byte-budgeted blocks. It returns the files to read whole over REST:
// those GraphQL could not answer, and those that changed since their
// metadata was read.
func (r *contentRun) graphQLContent(ctx context.Context, reqs []blobReq, out map[blobKey]*blobData) ([]blobReq, error) {
	cblocks, cowners := blobBlocks(reqs, func(q blobReq) int64 { return out[q.key()].size })
	content, err := r.runBlobBlocks(ctx, cblocks, "path rawTextBlob", 6)
	if err != nil {
		return nil, err
	}
	var rest []blobReq
	for bi, o := range content {
		if o.rest {
			rest = append(rest, cowners[bi]...)
			continue
		}
		found := map[string]gqlBlobNode{}
		for _, n := range o.nodes {
			found[strings.Trim(n.Path, "/")] = n
		}
		for _, q := range cowners[bi] {
			d := out[q.key()]
			n, ok := found[strings.Trim(q.path, "/")]
			switch {
			case !ok: // deleted between the two queries
				d.status = blobMissing
			case n.RawTextBlob == nil:
				d.status = blobBinary
			case int64(len(*n.RawTextBlob)) != d.size:
				// Changed between the queries, or cut short by the server:
				// REST reads it whole, with a fresh size check.
				out[q.key()] = nil
				rest = append(rest, q)
			default:
				d.text = *n.RawTextBlob
				sum := sha256.Sum256([]byte(d.text))
				d.sha256 = hex.EncodeToString(sum[:])
			}
		}
	}
	return rest, nil
}

func parseBigInt(raw json.RawMessage) int64 {
	s := strings.Trim(string(raw), `"`)
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func gqlBlobBlock(k int, b blobBlock, fields string) string {
	var sb strings.Builder
	sb.WriteString("b")
	sb.WriteString(strconv.Itoa(k))
	sb.WriteString(":project(fullPath:")
	sb.WriteString(gqlString(b.fullPath))
	sb.WriteString("){repository{blobs(paths:[")
	for i, p := range b.paths {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(gqlString(p))
	}
	sb.WriteString("]")
	if b.ref != "" {
		sb.WriteString(",ref:")
		sb.WriteString(gqlString(b.ref))
	}
	sb.WriteString("){nodes{")
	sb.WriteString(fields)
	sb.WriteString("}}}}")
	return sb.String()
}

// runBlobBlocks runs blocks in queries planned under GitLab's complexity
// and size limits (cost is one block's score) and the content byte
// budget, several queries at once.
func (r *contentRun) runBlobBlocks(ctx context.Context, blocks []blobBlock, fields string, cost int) ([]blobOutcome, error) {
	out := make([]blobOutcome, len(blocks))
	if len(blocks) == 0 {
		return out, nil
	}
	var batches [][]int
	var (
		cur   []int
		score = 1
		chars = 16
		bytes int64
	)
	maxN := int(r.g.enrich.batch.Load())
	for i, b := range blocks {
		n := len(gqlBlobBlock(len(cur), b, fields))
		if len(cur) > 0 && (len(cur) >= maxN || score+cost > gqlTargetScore || chars+n > gqlMaxChars || bytes+b.bytes > gqlContentBytes) {
			batches = append(batches, cur)
			cur, score, chars, bytes = nil, 1, 16, 0
		}
		cur = append(cur, i)
		score += cost
		chars += n + 1
		bytes += b.bytes
	}
	batches = append(batches, cur)
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(max(1, r.g.fanout/2))
	for _, b := range batches {
		eg.Go(func() error { return r.runBlobBatch(ectx, blocks, b, fields, out) })
	}
	return out, eg.Wait()
}

func (r *contentRun) runBlobBatch(ctx context.Context, blocks []blobBlock, batch []int, fields string, out []blobOutcome) error {
	toREST := func() error {
		for _, i := range batch {
			out[i] = blobOutcome{rest: true}
		}
		return nil
	}
	c := r.g.client
	if !c.GraphQLEnabled() {
		return toREST()
	}
	var q strings.Builder
	q.WriteString("query{")
	for k, i := range batch {
		if k > 0 {
			q.WriteByte(' ')
		}
		q.WriteString(gqlBlobBlock(k, blocks[i], fields))
	}
	q.WriteString("}")
	resp, err := graphQLTyped[map[string]*gqlBlobProject](ctx, c, q.String(), nil)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s := StatusCode(err); s == http.StatusNotFound || s == http.StatusForbidden || s == http.StatusUnauthorized {
			if c.graphQLOff.CompareAndSwap(false, true) {
				c.log.WarnContext(ctx, "gitlab: GraphQL unavailable, reading files over REST", "status", s)
			}
			return toREST()
		}
		c.log.WarnContext(ctx, "gitlab: GraphQL file batch failed, reading over REST", "projects", len(batch), "error", err)
		return toREST()
	}
	if c.schemaMismatch(ctx, resp.Errors) {
		return toREST()
	}
	if resp.DataErr != nil {
		c.log.WarnContext(ctx, "gitlab: unreadable GraphQL answer, reading files over REST", "error", resp.DataErr)
		return toREST()
	}
	data := resp.Data
	failed, whole := failedAliases(resp.Errors, "b", len(batch))
	if whole {
		r.g.enrich.learnComplexity(resp.Errors, len(batch))
	}
	if whole || data == nil {
		if len(batch) == 1 {
			return toREST()
		}
		h := len(batch) / 2
		if err := r.runBlobBatch(ctx, blocks, batch[:h], fields, out); err != nil {
			return err
		}
		return r.runBlobBatch(ctx, blocks, batch[h:], fields, out)
	}
	for k, i := range batch {
		if failed[k] {
			out[i] = blobOutcome{rest: true}
			continue
		}
		// A null project is one the token cannot see (or a wrong path):
		// its files are missing, as REST's 404 would say.
		pd := data["b"+strconv.Itoa(k)]
		var nodes []gqlBlobNode
		if pd != nil && pd.Repository != nil && pd.Repository.Blobs != nil {
			nodes = pd.Repository.Blobs.Nodes
		}
		out[i] = blobOutcome{nodes: nodes}
	}
	return nil
}

// head sends a HEAD request and returns the response headers.
func (c *Client) head(ctx context.Context, p string, q url.Values) (http.Header, error) {
	build := func() (*retryablehttp.Request, error) {
		return c.gl.NewRequest(http.MethodHead, p, nil, []glapi.RequestOptionFunc{glapi.WithContext(ctx), withQuery(q)})
	}
	resp, err := c.do(ctx, http.MethodHead, p, build, nil)
	if err != nil {
		return nil, err
	}
	return resp.Header, nil
}

// restBlob reads one file over REST: HEAD for its metadata (so that an
// oversized file is never downloaded), then the raw content.
func (r *contentRun) restBlob(ctx context.Context, q blobReq) (*blobData, error) {
	d, err := r.restHead(ctx, q)
	if err != nil || d.status != blobOK {
		return d, err
	}
	return r.restContent(ctx, q, d)
}

func restFilePath(q blobReq) (string, url.Values) {
	return "projects/" + projectRef(q.proj) + "/repository/files/" + glapi.PathEscape(strings.Trim(q.path, "/")), url.Values{"ref": {q.ref}}
}

// restHead reads one file's metadata over REST. A file under the size cap
// is blobOK without its text.
func (r *contentRun) restHead(ctx context.Context, q blobReq) (*blobData, error) {
	base, qv := restFilePath(q)
	h, err := r.g.client.head(ctx, base, qv)
	if err != nil {
		if isInaccessible(err) && ctx.Err() == nil {
			return &blobData{status: blobMissing}, nil
		}
		return nil, err
	}
	size, _ := strconv.ParseInt(h.Get("X-Gitlab-Size"), 10, 64)
	d := &blobData{
		oid: h.Get("X-Gitlab-Blob-Id"), size: size, exec: h.Get("X-Gitlab-Execute-Filemode") == "true",
		sha256: h.Get("X-Gitlab-Content-Sha256"), commitID: nilIfEmpty(h.Get("X-Gitlab-Commit-Id")),
		lastCommitID: nilIfEmpty(h.Get("X-Gitlab-Last-Commit-Id")),
	}
	if size > r.maxSize {
		d.status = blobTooLarge
	}
	return d, nil
}

// restContent reads the raw content of a file whose metadata is d.
func (r *contentRun) restContent(ctx context.Context, q blobReq, d *blobData) (*blobData, error) {
	base, qv := restFilePath(q)
	b, err := r.g.client.GetRaw(ctx, base+"/raw", qv)
	if err != nil {
		if isInaccessible(err) && ctx.Err() == nil {
			return &blobData{status: blobMissing}, nil
		}
		return nil, err
	}
	if int64(len(b)) > r.maxSize { // changed since the HEAD
		d.status, d.size = blobTooLarge, int64(len(b))
		return d, nil
	}
	if !isText(b) {
		d.status = blobBinary
		return d, nil
	}
	d.text = string(b)
	if d.sha256 == "" {
		sum := sha256.Sum256(b)
		d.sha256 = hex.EncodeToString(sum[:])
	}
	return d, nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// isText is GitLab's test for a text blob: valid UTF-8 without NUL bytes.
func isText(b []byte) bool {
	return utf8.Valid(b) && !slices.Contains(b, 0)
}

// fileData shapes a file as gitlab-v2 does: GitLab's file object (content
// decoded), plus project_id and path.
func fileData(q blobReq, d *blobData) map[string]any {
	p := strings.Trim(q.path, "/")
	sha := any(nil)
	if d.sha256 != "" {
		sha = d.sha256
	}
	return map[string]any{
		"file_name":        path.Base(p),
		"file_path":        p,
		"size":             float64(d.size),
		"encoding":         "base64",
		"content":          d.text,
		"content_sha256":   sha,
		"ref":              q.ref,
		"blob_id":          d.oid,
		"commit_id":        d.commitID,
		"last_commit_id":   d.lastCommitID,
		"execute_filemode": d.exec,
		"project_id":       q.proj["id"],
		"path":             p,
	}
}
