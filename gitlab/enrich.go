package gitlab

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	glapi "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/internal/jsonproj"
	"github.com/oceankit/oceankit/ocean"
)

// GitLab's GraphQL limits for authenticated requests
// (docs.gitlab.com/api/graphql: max complexity 250, max query size 10,000
// characters). Batches are planned below both with a margin.
const (
	gqlMaxComplexity = 250
	gqlTargetScore   = 240
	gqlMaxChars      = 9000
	gqlMaxBatch      = 50
	gqlMaxPaths      = 100 // one connection page
)

// projectEnrichment is what the project selector asks to add to each
// project.
type projectEnrichment struct {
	languages bool
	files     []string
	searches  []SearchQuery
}

func (e projectEnrichment) empty() bool {
	return !e.languages && len(e.files) == 0 && len(e.searches) == 0
}

// enricher adds per-project data to pages of projects. Languages and
// included files go through GraphQL in batches of many projects per query;
// projects GraphQL cannot answer fall back to REST one by one. Searches
// are REST (GraphQL has no equivalent), limited by the search class.
type enricher struct {
	c      *Client
	fanout int
	// batch is the current upper bound on projects per GraphQL query; it
	// halves when GitLab rejects a query as too complex.
	batch atomic.Int32
}

func newEnricher(c *Client, fanout int) *enricher {
	e := &enricher{c: c, fanout: max(1, fanout)}
	e.batch.Store(gqlMaxBatch)
	return e
}

// enrich sets __languages, __includedFiles and __searchQueries on the
// projects, as gitlab-v2 shapes them. Enrichment failures other than
// cancellation are logged and leave nulls, as in gitlab-v2: one project's
// missing README must not fail the kind.
func (e *enricher) enrich(ctx context.Context, projects []ocean.Item, what projectEnrichment) error {
	if what.empty() || len(projects) == 0 {
		return nil
	}
	n := len(projects)
	var langs, files, searches []map[string]any
	if what.languages {
		langs = make([]map[string]any, n)
	}
	if len(what.files) > 0 {
		files = make([]map[string]any, n)
	}
	if len(what.searches) > 0 {
		searches = make([]map[string]any, n)
	}
	g, gctx := errgroup.WithContext(ctx)
	if langs != nil || files != nil {
		g.Go(func() error { return e.content(gctx, contentJob{projects, what, langs, files}) })
	}
	if searches != nil {
		g.Go(func() error { return e.search(gctx, projects, what.searches, searches) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, p := range projects {
		if langs != nil {
			p["__languages"] = langs[i]
		}
		if files != nil {
			p["__includedFiles"] = files[i]
		}
		if searches != nil {
			p["__searchQueries"] = searches[i]
		}
	}
	return nil
}

// contentJob is one page's languages and included files: the projects,
// what to fetch, and where the answers go (langs[i] and files[i] are
// projects[i]'s; a nil slice is not fetched).
type contentJob struct {
	projects     []ocean.Item
	what         projectEnrichment
	langs, files []map[string]any
}

// content fills languages and files, through GraphQL where possible.
func (e *enricher) content(ctx context.Context, job contentJob) error {
	pending := make([]int, len(job.projects))
	for i := range pending {
		pending[i] = i
	}
	if e.c.GraphQLEnabled() && len(job.what.files) <= gqlMaxPaths {
		var err error
		pending, err = e.graphQLContent(ctx, job, pending)
		if err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.fanout)
	for _, i := range pending {
		g.Go(func() error { return e.restContent(gctx, job, i) })
	}
	return g.Wait()
}

// graphQLContent answers what it can of the projects at idx through
// batched GraphQL queries and returns the indexes left for REST.
func (e *enricher) graphQLContent(ctx context.Context, job contentJob, idx []int) ([]int, error) {
	batches := e.plan(job.projects, idx, job.what)
	var (
		g, gctx = errgroup.WithContext(ctx)
		rest    = make([][]int, len(batches))
	)
	g.SetLimit(e.fanout)
	for bi, b := range batches {
		g.Go(func() error {
			r, err := e.runBatch(gctx, job, b)
			rest[bi] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []int
	for _, r := range rest {
		out = append(out, r...)
	}
	return out, nil
}

// projectCost estimates a project block's complexity score: one per field,
// connections counted as fields.
func projectCost(what projectEnrichment) int {
	cost := 1 // project
	if what.languages {
		cost += 3 // languages { name share }
	}
	if len(what.files) > 0 {
		cost += 5 // repository { blobs { nodes { path rawTextBlob } } }
	}
	return cost
}

// plan cuts idx into batches under the complexity, size and count bounds.
func (e *enricher) plan(projects []ocean.Item, idx []int, what projectEnrichment) [][]int {
	maxN := int(e.batch.Load())
	cost := projectCost(what)
	var (
		out   [][]int
		cur   []int
		score = 1
		chars = 64
	)
	for _, i := range idx {
		block := gqlProjectBlockLen(0, projects[i], what)
		if len(cur) > 0 && (len(cur) >= maxN || score+cost > gqlTargetScore || chars+block > gqlMaxChars) {
			out = append(out, cur)
			cur, score, chars = nil, 1, 64
		}
		cur = append(cur, i)
		score += cost
		chars += block + 4
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func gqlString(s string) string {
	b, _ := json.Marshal(s) // JSON string escapes are valid GraphQL string escapes
	return string(b)
}

// gqlPlain reports whether gqlString(s) is s between quotes, and so is a
// JSON string's content as it stands: printable ASCII without the bytes
// json.Marshal escapes (quote, backslash and the HTML ones). Project
// paths and branch names nearly always are.
func gqlPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// gqlStringLen is len(gqlString(s)), without building it when s is plain.
func gqlStringLen(s string) int {
	if gqlPlain(s) {
		return len(s) + 2
	}
	return len(gqlString(s))
}

// The fixed parts of a content query (see contentBody). None holds a byte
// JSON escapes, so they stand as they are inside the request body's query
// string.
const (
	gqlBlockProject   = ":project(fullPath:"
	gqlBlockOpen      = "){"
	gqlBlockLanguages = "languages{name share}"
	gqlBlockRepoOpen  = "repository{blobs(paths:$paths,ref:"
	gqlBlockRepoClose = "){nodes{path rawTextBlob}}}"
	gqlQueryPaths     = "query($paths:[String!]!){"
	gqlQueryPlain     = "query{"
)

// gqlProjectBlockLen is the length of project p's block of a content
// query, aliased p<k>, measured without building it: plan measures every
// project of a page.
func gqlProjectBlockLen(k int, p ocean.Item, what projectEnrichment) int {
	n := 1 + gqlDigits(k) + len(gqlBlockProject) + gqlStringLen(str(p["path_with_namespace"])) + len(gqlBlockOpen) + 1
	if what.languages {
		n += len(gqlBlockLanguages)
	}
	if len(what.files) > 0 {
		n += len(gqlBlockRepoOpen) + gqlStringLen(refOf(p)) + len(gqlBlockRepoClose)
	}
	return n
}

// gqlDigits is len(strconv.Itoa(k)) for k >= 0.
func gqlDigits(k int) int {
	n := 1
	for k >= 10 {
		k /= 10
		n++
	}
	return n
}

// contentBody is the request body of a batch's query, aliasing each
// project p0, p1, … by its position in the batch: the bytes json.Marshal
// makes of a glapi.GraphQLQuery holding the query and its variables
// ($paths), written in one pass into one buffer sized up front. Building
// the query, then marshalling it, escaped it twice and copied it thrice.
func contentBody(projects []ocean.Item, batch []int, what projectEnrichment) []byte {
	head := gqlQueryPlain
	if len(what.files) > 0 {
		head = gqlQueryPaths
	}
	size := len(`{"query":"`) + len(head) + len(`}"}`)
	for k, i := range batch {
		// The body escapes a plain string's quotes: one byte more each.
		size += gqlProjectBlockLen(k, projects[i], what) + 2
		if len(what.files) > 0 {
			size += 2
		}
		if k > 0 {
			size++
		}
	}
	var paths []byte
	if len(what.files) > 0 {
		paths, _ = json.Marshal(what.files) // strings always marshal
		size += len(`,"variables":{"paths":}`) + len(paths)
	}
	b := make([]byte, 0, size)
	b = append(b, `{"query":"`...)
	b = append(b, head...)
	for k, i := range batch {
		p := projects[i]
		if k > 0 {
			b = append(b, ' ')
		}
		b = append(b, 'p')
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, gqlBlockProject...)
		b = appendGQLStringEscaped(b, str(p["path_with_namespace"]))
		b = append(b, gqlBlockOpen...)
		if what.languages {
			b = append(b, gqlBlockLanguages...)
		}
		if len(what.files) > 0 {
			b = append(b, gqlBlockRepoOpen...)
			b = appendGQLStringEscaped(b, refOf(p))
			b = append(b, gqlBlockRepoClose...)
		}
		b = append(b, '}')
	}
	b = append(b, `}"`...)
	if len(what.files) > 0 {
		b = append(b, `,"variables":{"paths":`...)
		b = append(b, paths...)
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendGQLStringEscaped appends gqlString(s) as it stands inside a JSON
// string: escaped a second time.
func appendGQLStringEscaped(b []byte, s string) []byte {
	if gqlPlain(s) {
		b = append(b, '\\', '"')
		b = append(b, s...)
		return append(b, '\\', '"')
	}
	q, _ := json.Marshal(gqlString(s))
	return append(b, q[1:len(q)-1]...)
}

// gqlContent is one project block's answer.
type gqlContent struct {
	Languages  []gqlContentLanguage  `json:"languages"`
	Repository *gqlContentRepository `json:"repository"`
}

type gqlContentLanguage struct {
	Name  string  `json:"name"`
	Share float64 `json:"share"`
}

type gqlContentRepository struct {
	Blobs *gqlContentBlobs `json:"blobs"`
}

type gqlContentBlobs struct {
	Nodes []gqlContentBlob `json:"nodes"`
}

type gqlContentBlob struct {
	Path        string  `json:"path"`
	RawTextBlob *string `json:"rawTextBlob"`
}

// runBatch runs one batch (indexes into job.projects) and returns the
// projects it could not answer.
func (e *enricher) runBatch(ctx context.Context, job contentJob, batch []int) ([]int, error) {
	if !e.c.GraphQLEnabled() {
		return batch, nil
	}
	resp, err := graphQLAnswerOf(ctx, e.c, contentBody(job.projects, batch, job.what), decodeContentAnswer)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if s := StatusCode(err); s == http.StatusNotFound || s == http.StatusForbidden || s == http.StatusUnauthorized {
			if e.c.graphQLOff.CompareAndSwap(false, true) {
				e.c.log.WarnContext(ctx, "gitlab: GraphQL unavailable, enriching projects over REST", "status", s)
			}
			return batch, nil
		}
		e.c.log.WarnContext(ctx, "gitlab: GraphQL batch failed, falling back to REST", "projects", len(batch), "error", err)
		return batch, nil
	}
	if e.c.schemaMismatch(ctx, resp.Errors) {
		return batch, nil
	}
	if resp.DataErr != nil {
		e.c.log.WarnContext(ctx, "gitlab: unreadable GraphQL answer, falling back to REST", "error", resp.DataErr)
		return batch, nil
	}
	data := resp.Data
	failed, whole := failedAliases(resp.Errors, "p", len(batch))
	if whole {
		e.learnComplexity(resp.Errors, len(batch))
	}
	if whole || data == nil {
		if len(batch) > 1 {
			h := len(batch) / 2
			r1, err := e.runBatch(ctx, job, batch[:h])
			if err != nil {
				return nil, err
			}
			r2, err := e.runBatch(ctx, job, batch[h:])
			return append(r1, r2...), err
		}
		return batch, nil
	}
	var rest []int
	for k, i := range batch {
		pc := data["p"+strconv.Itoa(k)]
		if failed[k] || pc == nil {
			rest = append(rest, i)
			continue
		}
		if job.langs != nil {
			m := make(map[string]any, len(pc.Languages))
			for _, l := range pc.Languages {
				m[l.Name] = l.Share
			}
			job.langs[i] = m
		}
		if job.files != nil {
			m := make(map[string]any, len(job.what.files))
			for _, f := range job.what.files {
				m[f] = nil
			}
			if pc.Repository != nil && pc.Repository.Blobs != nil {
				for _, n := range pc.Repository.Blobs.Nodes {
					if _, want := m[n.Path]; want && n.RawTextBlob != nil {
						m[n.Path] = *n.RawTextBlob
					}
				}
			}
			job.files[i] = m
		}
	}
	return rest, nil
}

// failedAliases sorts the errors of a batched GraphQL answer whose blocks
// are aliased prefix+k (p0, p1, … or b0, b1, …) for k < n: an error on one
// block marks that block failed, to be read another way; any other error
// (no path, an unknown alias) fails the whole query.
func failedAliases(errs []GraphQLError, prefix string, n int) (failed map[int]bool, whole bool) {
	failed = map[int]bool{}
	for _, ge := range errs {
		alias := ""
		if len(ge.Path) > 0 {
			alias, _ = ge.Path[0].(string)
		}
		k, err := strconv.Atoi(strings.TrimPrefix(alias, prefix))
		if !strings.HasPrefix(alias, prefix) || err != nil || k < 0 || k >= n {
			whole = true
			continue
		}
		failed[k] = true
	}
	return failed, whole
}

// learnComplexity adopts the batch size a "too complex" error of a query
// of n blocks implies, for the batches to come.
func (e *enricher) learnComplexity(errs []GraphQLError, n int) {
	if n < 2 {
		return
	}
	for _, ge := range errs {
		if tooComplex(ge.Message) {
			e.batch.Store(int32(learnBatch(ge.Message, n)))
		}
	}
}

var complexityMsg = regexp.MustCompile(`complexity of (\d+), which exceeds max complexity of (\d+)`)

// learnBatch sizes the next batches from GitLab's complexity error ("Query
// has complexity of 300, which exceeds max complexity of 250"), or halves
// the batch when the message says nothing more.
func learnBatch(msg string, n int) int {
	if m := complexityMsg.FindStringSubmatch(msg); m != nil {
		score, _ := strconv.Atoi(m[1])
		limit, _ := strconv.Atoi(m[2])
		if score > 0 && limit > 0 {
			return max(1, int(float64(n)*float64(limit)/float64(score)*0.95))
		}
	}
	return max(1, n/2)
}

func tooComplex(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "complexity") || strings.Contains(m, "too large") || strings.Contains(m, "max length") || strings.Contains(m, "exceeds")
}

// restContent fetches project i's languages and files over REST.
func (e *enricher) restContent(ctx context.Context, job contentJob, i int) error {
	p, what, langs, files := job.projects[i], job.what, job.langs, job.files
	id := projectRef(p)
	if langs != nil {
		m := map[string]any{}
		if err := e.c.Get(ctx, "projects/"+id+"/languages", nil, &m); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !isInaccessible(err) {
				e.c.log.WarnContext(ctx, "gitlab: languages unavailable", "project", p["path_with_namespace"], "error", err)
			}
			m = map[string]any{}
		}
		langs[i] = m
	}
	if files != nil {
		m := make(map[string]any, len(what.files))
		q := url.Values{"ref": {refOf(p)}}
		for _, f := range what.files {
			path := "projects/" + id + "/repository/files/" + glapi.PathEscape(strings.TrimPrefix(f, "/")) + "/raw"
			b, err := e.c.GetRaw(ctx, path, q)
			switch {
			case err == nil:
				m[f] = string(b)
			case ctx.Err() != nil:
				return ctx.Err()
			default:
				if !isInaccessible(err) {
					e.c.log.WarnContext(ctx, "gitlab: included file unavailable", "project", p["path_with_namespace"], "file", f, "error", err)
				}
				m[f] = nil
			}
		}
		files[i] = m
	}
	return nil
}

// groupSearchMin is how many projects of one top-level group a page must
// hold before their searches go through one group search: a live event
// enriches a single project and searches it alone.
const groupSearchMin = 5

// search runs each project's search queries (first result only matters).
// Projects of a top-level group are answered by one blob search of the
// group (paged, shared by every page of the resync through ocean.Memo)
// rather than one search per project: on gitlab.com search is limited to
// 100 requests a minute, and per-project searches were three quarters of
// a default resync's requests. Archived projects are in the group search
// from GitLab 18.9 (include_archived); before that, and in groups without
// Advanced Search, they are searched one by one, as are personal projects,
// as gitlab-v2 does.
func (e *enricher) search(ctx context.Context, projects []ocean.Item, queries []SearchQuery, out []map[string]any) error {
	// Every page asks the same way, so that they share one group search.
	withArchived := e.c.serverVersion(ctx).atLeast(18, 9)
	byRoot := map[string]int{}
	for _, p := range projects {
		if root := rootGroup(p, withArchived); root != "" {
			byRoot[root]++
		}
	}
	// One group search per (group, query) for the page, shared with the
	// other pages of the resync through ocean.Memo.
	type groupQuery struct{ root, query string }
	grouped := map[groupQuery]idSet{}
	shared := ocean.Memoized(ctx)
	for root, n := range byRoot {
		// Within a resync the group's answer serves its later pages too,
		// so even a few projects of it justify the group search.
		if n < groupSearchMin && !shared {
			continue
		}
		for _, sq := range queries {
			hits, ok, err := e.groupHits(ctx, root, sq, withArchived)
			if err != nil {
				return err
			}
			if ok {
				grouped[groupQuery{root, sq.Name}] = hits
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.fanout)
	for i, p := range projects {
		g.Go(func() error {
			m := make(map[string]any, len(queries))
			root := rootGroup(p, withArchived)
			for _, sq := range queries {
				if hits, ok := grouped[groupQuery{root, sq.Name}]; ok {
					m[sq.Name] = hits.has(idString(p["id"]))
					continue
				}
				var hits []json.RawMessage
				q := url.Values{"scope": {sq.scope()}, "search": {sq.Query}, "per_page": {"1"}}
				err := e.c.Get(gctx, "projects/"+projectRef(p)+"/search", q, &hits)
				switch {
				case err == nil:
					m[sq.Name] = len(hits) > 0
				case gctx.Err() != nil:
					return gctx.Err()
				default:
					e.c.log.WarnContext(gctx, "gitlab: search query failed", "project", p["path_with_namespace"], "query", sq.Name, "error", err)
					m[sq.Name] = nil
				}
			}
			out[i] = m
			return nil
		})
	}
	return g.Wait()
}

// rootGroupReads are the project keys rootGroup reads.
var rootGroupReads = []string{"archived", "namespace.kind", "namespace.full_path"}

// enrichReads are the project keys enrich reads: projectRef, refOf
// (GraphQL blocks, REST paths, logs use path_with_namespace too),
// rootGroup and the search hits' ids.
var enrichReads = concatReads(projectRefReads, rootGroupReads)

// rootGroup is the top-level group of a project's namespace, or "" for a
// personal project, or an archived one unless the group search includes
// them.
func rootGroup(p ocean.Item, withArchived bool) string {
	if b, _ := p["archived"].(bool); b && !withArchived {
		return ""
	}
	ns, _ := p["namespace"].(map[string]any)
	if ns == nil || str(ns["kind"]) != "group" {
		return ""
	}
	full := str(ns["full_path"])
	if i := strings.IndexByte(full, '/'); i >= 0 {
		full = full[:i]
	}
	return full
}

// searchHitKeys are the keys groupHits reads from a search hit.
func searchHitKeys() *jsonproj.Keys { return searchHitKeySet }

var searchHitKeySet = jsonproj.NewKeys("project_id")

// groupHits returns the ids of the projects of a top-level group in which
// the search query matches, from one paged group blob search per resync;
// ok is false when GitLab does not offer group blob search there.
// withArchived asks for archived projects too (GitLab 18.9 and later).
func (e *enricher) groupHits(ctx context.Context, root string, sq SearchQuery, withArchived bool) (idSet, bool, error) {
	if e.c.groupSearchOff(root) {
		return idSet{}, false, nil
	}
	type result struct {
		hits idSet
		ok   bool
	}
	key := "gitlab:groupsearch:" + root + "\x00" + sq.scope() + "\x00" + sq.Query + "\x00" + strconv.FormatBool(withArchived)
	r, err := ocean.Memo(ctx, key, func(ctx context.Context) (result, error) {
		var hits idSet
		q := url.Values{"scope": {sq.scope()}, "search": {sq.Query}}
		if withArchived {
			q.Set("include_archived", "true")
		}
		// Only the hits' projects matter: a blob hit also carries the
		// matching file's content, which is not decoded.
		err := e.c.pages(ctx, "groups/"+glapi.PathEscape(root)+"/search", q, searchHitKeys, func(page []ocean.Item) error {
			for _, h := range page {
				if id := idString(h["project_id"]); id != "" {
					hits.add(id)
				}
			}
			return nil
		})
		switch {
		case err == nil:
			return result{hits: hits.sealed(), ok: true}, nil
		case ctx.Err() != nil:
			return result{}, ctx.Err()
		case noAdvancedSearch(err):
			e.c.noGroupSearch.Store(root, struct{}{})
			return result{}, nil
		case isInaccessible(err):
			// Remembered for this resync only (Memo): access may change.
			return result{}, nil
		default:
			// Anything else: search the group's projects one by one.
			e.c.log.WarnContext(ctx, "gitlab: group search failed; searching projects one by one", "group", root, "query", sq.Name, "error", err)
			return result{}, nil
		}
	})
	return r.hits, r.ok, err
}
