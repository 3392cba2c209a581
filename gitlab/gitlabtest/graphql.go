package gitlabtest

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"
)

//go:embed schema.graphqls
var schemaSDL string

// MaxQuerySize is GitLab's limit on the length of a GraphQL query string.
const MaxQuerySize = 10000

// maxPageSize is GitLab's default maximum page size of a connection.
const maxPageSize = 100

func graphQLSchema() *ast.Schema {
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "gitlab.graphqls", Input: schemaSDL})
	if err != nil {
		// The schema is part of this package; tests load it.
		return nil
	}
	return s
}

// Schema returns the GraphQL SDL the server validates queries against.
func Schema() string { return schemaSDL }

type gqlRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

func gqlErrors(msgs ...string) map[string]any {
	errs := make([]map[string]string, len(msgs))
	for i, m := range msgs {
		errs[i] = map[string]string{"message": m}
	}
	return map[string]any{"errors": errs}
}

func handleGraphQL(rc *reqCtx) {
	if rc.s.schema == nil {
		writeMessage(rc.w, http.StatusInternalServerError, "500 Internal Server Error")
		return
	}
	body, err := io.ReadAll(io.LimitReader(rc.r.Body, 1<<20))
	if err != nil {
		writeJSON(rc.w, http.StatusBadRequest, gqlErrors("could not read the request body"))
		return
	}
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		// Multiplexed requests: an array of queries, answered in order.
		var reqs []gqlRequest
		if err := json.Unmarshal(body, &reqs); err != nil {
			writeJSON(rc.w, http.StatusBadRequest, gqlErrors("Invalid JSON body: "+err.Error()))
			return
		}
		out := make([]any, len(reqs))
		for i := range reqs {
			out[i] = rc.execute(&reqs[i])
		}
		writeJSON(rc.w, http.StatusOK, out)
		return
	}
	var req gqlRequest
	if strings.Contains(rc.r.Header.Get("Content-Type"), "application/graphql") {
		req.Query = string(body)
	} else if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(rc.w, http.StatusBadRequest, gqlErrors("Invalid JSON body: "+err.Error()))
		return
	}
	writeGQL(rc, rc.execute(&req))
}

// writeGQL writes an answer of execute. One whose data resolved is written
// as json.Marshal would write it ({"data":…,"errors":…}, keys sorted) from
// a buffer the server reuses: json.Marshal would re-scan the whole data
// object after omap's encoder wrote it (compacting what is already
// compact), which at a thousand projects' files per resync cost as much as
// encoding it. Anything else goes through writeJSON.
func writeGQL(rc *reqCtx, out any) {
	m, ok := out.(map[string]any)
	data, isOmap := m["data"].(omap)
	if !ok || !isOmap || len(m) > 2 {
		writeJSON(rc.w, http.StatusOK, out)
		return
	}
	errs, hasErrs := m["errors"]
	if len(m) == 2 && !hasErrs {
		writeJSON(rc.w, http.StatusOK, out)
		return
	}
	buf := rc.s.pageBuf()
	defer rc.s.putPageBuf(buf)
	buf.WriteString(`{"data":`)
	if err := data.encode(buf); err != nil {
		writeJSON(rc.w, http.StatusOK, out) // the same failure json.Marshal meets
		return
	}
	if hasErrs {
		b, err := json.Marshal(errs)
		if err != nil {
			writeJSON(rc.w, http.StatusOK, out)
			return
		}
		buf.WriteString(`,"errors":`)
		buf.Write(b)
	}
	buf.WriteByte('}')
	writeBytes(rc.w, http.StatusOK, buf.Bytes())
}

func (rc *reqCtx) execute(req *gqlRequest) any {
	if strings.TrimSpace(req.Query) == "" {
		return gqlErrors("No query string was present")
	}
	if len(req.Query) > MaxQuerySize {
		return gqlErrors("Query too large")
	}
	doc, errs := gqlparser.LoadQueryWithRules(rc.s.schema, req.Query, nil)
	for _, e := range errs {
		e.Message = gitlabMessage(e.Message)
	}
	if len(errs) > 0 {
		return map[string]any{"errors": errs}
	}
	op, err := pickOperation(doc, req.OperationName)
	if err != nil {
		return gqlErrors(err.Error())
	}
	vars, err := validator.VariableValues(rc.s.schema, op, req.Variables)
	if err != nil {
		return map[string]any{"errors": gqlerror.List{toGQLError(err)}}
	}
	e := &executor{rc: rc, doc: doc, vars: vars}
	e.score = e.complexity(op.SelectionSet, 0)
	if e.score > rc.s.cfg.maxComplexity {
		return gqlErrors(fmt.Sprintf("Query has complexity of %d, which exceeds max complexity of %d", e.score, rc.s.cfg.maxComplexity))
	}
	rc.s.ds.mu.RLock()
	data := e.object("Query", nil, op.SelectionSet, ast.Path{})
	rc.s.ds.mu.RUnlock()
	out := map[string]any{"data": data}
	if len(e.errs) > 0 {
		out["errors"] = e.errs
	}
	return out
}

func toGQLError(err error) *gqlerror.Error {
	if ge, ok := err.(*gqlerror.Error); ok {
		return ge
	}
	return gqlerror.Wrap(err)
}

func pickOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, error) {
	if name != "" {
		if op := doc.Operations.ForName(name); op != nil {
			return op, nil
		}
		return nil, fmt.Errorf("No operation named %q", name) //nolint:staticcheck // GraphQL error text
	}
	if len(doc.Operations) != 1 {
		return nil, fmt.Errorf("An operation name is required") //nolint:staticcheck // GraphQL error text
	}
	return doc.Operations[0], nil
}

// omap is a JSON object that keeps the query's field order.
type omap []kv

type kv struct {
	k string
	v any
}

func (m omap) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := m.encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encode writes m into buf, nested objects and lists included, in one
// pass: marshalling each level on its own made encoding/json re-check the
// whole subtree at every level, which cost more than resolving the query.
func (m omap) encode(buf *bytes.Buffer) error {
	buf.WriteByte('{')
	for i, e := range m {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := encodeValue(buf, e.k); err != nil {
			return err
		}
		buf.WriteByte(':')
		if err := encodeValue(buf, e.v); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

func encodeValue(buf *bytes.Buffer, v any) error {
	switch t := v.(type) {
	case omap:
		return t.encode(buf)
	case []omap:
		buf.WriteByte('[')
		for i, m := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := m.encode(buf); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case []any:
		buf.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeValue(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case nil:
		buf.WriteString("null")
		return nil
	case bool:
		buf.WriteString(strconv.FormatBool(t))
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}

// executor walks a validated query's AST and resolves it against the
// dataset. It supports aliases, variables, fragments, inline fragments and
// @skip/@include.
type executor struct {
	rc    *reqCtx
	doc   *ast.QueryDocument
	vars  map[string]any
	score int
	errs  gqlerror.List
}

// complexity approximates GitLab's query complexity: every field counts 1
// (a field selected through a fragment counts each time the fragment is
// spread). GitLab also weighs connection arguments; this fake does not, so
// its scores are lower bounds of GitLab's.
func (e *executor) complexity(set ast.SelectionSet, depth int) int {
	if depth > 50 {
		return 0
	}
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			n += 1 + e.complexity(s.SelectionSet, depth+1)
		case *ast.InlineFragment:
			n += e.complexity(s.SelectionSet, depth+1)
		case *ast.FragmentSpread:
			if f := e.doc.Fragments.ForName(s.Name); f != nil {
				n += e.complexity(f.SelectionSet, depth+1)
			}
		}
	}
	return n
}

type fieldGroup struct {
	key    string
	fields []*ast.Field
}

func (e *executor) included(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		arg := d.Arguments.ForName("if")
		if arg == nil {
			continue
		}
		v, err := arg.Value.Value(e.vars)
		b, _ := v.(bool)
		if err != nil {
			continue
		}
		if (d.Name == "skip" && b) || (d.Name == "include" && !b) {
			return false
		}
	}
	return true
}

func (e *executor) collect(set ast.SelectionSet, typeName string, groups []fieldGroup) []fieldGroup {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if !e.included(s.Directives) {
				continue
			}
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			i := slices.IndexFunc(groups, func(g fieldGroup) bool { return g.key == key })
			if i < 0 {
				groups = append(groups, fieldGroup{key: key})
				i = len(groups) - 1
			}
			groups[i].fields = append(groups[i].fields, s)
		case *ast.InlineFragment:
			if e.included(s.Directives) && (s.TypeCondition == "" || s.TypeCondition == typeName) {
				groups = e.collect(s.SelectionSet, typeName, groups)
			}
		case *ast.FragmentSpread:
			f := e.doc.Fragments.ForName(s.Name)
			if f != nil && e.included(s.Directives) && f.TypeCondition == typeName {
				groups = e.collect(f.SelectionSet, typeName, groups)
			}
		}
	}
	return groups
}

func (e *executor) object(typeName string, src any, set ast.SelectionSet, p ast.Path) omap {
	groups := e.collect(set, typeName, nil)
	out := make(omap, 0, len(groups))
	for _, g := range groups {
		f := g.fields[0]
		var sub ast.SelectionSet
		for _, x := range g.fields {
			sub = append(sub, x.SelectionSet...)
		}
		fp := append(slices.Clip(p), ast.PathName(g.key))
		out = append(out, kv{g.key, e.field(typeName, src, f, sub, fp)})
	}
	return out
}

func (e *executor) args(f *ast.Field) map[string]any {
	out := map[string]any{}
	if f.Definition == nil {
		return out
	}
	for _, def := range f.Definition.Arguments {
		if a := f.Arguments.ForName(def.Name); a != nil {
			if a.Value.Kind == ast.Variable {
				if v, ok := e.vars[a.Value.Raw]; ok {
					out[def.Name] = v
				}
				continue
			}
			if v, err := a.Value.Value(e.vars); err == nil {
				out[def.Name] = v
			}
			continue
		}
		if def.DefaultValue != nil {
			if v, err := def.DefaultValue.Value(nil); err == nil {
				out[def.Name] = v
			}
		}
	}
	return out
}

func argString(a map[string]any, k string) string {
	s, _ := a[k].(string)
	return s
}

func argInt(a map[string]any, k string) (int, bool) {
	switch v := a[k].(type) {
	case int64:
		return int(v), true
	case int:
		return v, true
	case float64:
		return int(v), true
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	}
	return 0, false
}

func argStrings(a map[string]any, k string) ([]string, bool) {
	v, ok := a[k]
	if !ok || v == nil {
		return nil, false
	}
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out, true
}

func argBool(a map[string]any, k string) (bool, bool) {
	b, ok := a[k].(bool)
	return b, ok
}

func gqlTime(t Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func gid(kind string, id int) string { return "gid://gitlab/" + kind + "/" + strconv.Itoa(id) }

func cursor(id int) string {
	return base64.StdEncoding.EncodeToString([]byte(`{"id":"` + strconv.Itoa(id) + `"}`))
}

func parseCursor(c string) (int, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &v) != nil {
		return 0, false
	}
	return atoiStrict(v.ID)
}

// connection is a resolved page of a connection.
type connection struct {
	ids      []int
	nodes    []any
	total    int
	hasNext  bool
	hasPrev  bool
	nodeType string
}

// page cuts items (with their cursor IDs) by first/after/last/before.
func page[T any](a map[string]any, items []T, idOf func(T) int) ([]T, bool, bool) {
	start, end := 0, len(items)
	if c := argString(a, "after"); c != "" {
		if id, ok := parseCursor(c); ok {
			if i := slices.IndexFunc(items, func(t T) bool { return idOf(t) == id }); i >= 0 {
				start = i + 1
			}
		}
	}
	if c := argString(a, "before"); c != "" {
		if id, ok := parseCursor(c); ok {
			if i := slices.IndexFunc(items, func(t T) bool { return idOf(t) == id }); i >= 0 {
				end = i
			}
		}
	}
	if start > end {
		start = end
	}
	first, hasFirst := argInt(a, "first")
	last, hasLast := argInt(a, "last")
	if !hasFirst && !hasLast {
		first, hasFirst = maxPageSize, true
	}
	hasNext, hasPrev := end < len(items), start > 0
	if hasFirst {
		first = min(max(first, 0), maxPageSize)
		if end-start > first {
			end = start + first
			hasNext = true
		}
	}
	if hasLast {
		last = min(max(last, 0), maxPageSize)
		if end-start > last {
			start = end - last
			hasPrev = true
		}
	}
	return items[start:end], hasNext, hasPrev
}

func (e *executor) projectConnection(a map[string]any, in []*projectState) *connection {
	ds := e.rc.s.ds
	ids, hasIDs := argStrings(a, "ids")
	paths, hasPaths := argStrings(a, "fullPaths")
	search := strings.ToLower(argString(a, "search"))
	membership, _ := argBool(a, "membership")
	topics, _ := argStrings(a, "topics")
	idSet := map[int]bool{}
	for _, g := range ids {
		if n, ok := atoiStrict(strings.TrimPrefix(g, "gid://gitlab/Project/")); ok {
			idSet[n] = true
		}
	}
	pathSet := map[string]bool{}
	for _, p := range paths {
		pathSet[strings.ToLower(p)] = true
	}
	var items []*projectState
	for _, ps := range in {
		if !e.visible(ps) {
			continue
		}
		if (hasIDs && !idSet[ps.p.ID]) || (hasPaths && !pathSet[strings.ToLower(ps.p.PathWithNamespace)]) {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(ps.p.Name), search) && !strings.Contains(strings.ToLower(ps.p.Path), search) {
			continue
		}
		if membership && ds.projectAccess(e.rc.uid, ps) < GuestAccess {
			continue
		}
		if len(topics) > 0 && !containsAll(ps.p.Topics, topics) {
			continue
		}
		items = append(items, ps)
	}
	// GitLab orders Query.projects by ID, newest first.
	slices.SortFunc(items, func(x, y *projectState) int { return y.p.ID - x.p.ID })
	pg, next, prev := page(a, items, projectID)
	c := &connection{total: len(items), hasNext: next, hasPrev: prev, nodeType: "Project"}
	for _, ps := range pg {
		c.ids = append(c.ids, ps.p.ID)
		c.nodes = append(c.nodes, ps)
	}
	return c
}

func (e *executor) visible(ps *projectState) bool {
	return e.rc.s.ds.projectVisible(e.rc.uid, ps) && e.rc.s.deniedStatus(ps.p.ID) == 0
}

type repoSrc struct{ ps *projectState }

type blobSrc struct {
	ps   *projectState
	ref  string
	path string
	b    *blob
}

func (e *executor) list(typeName string, items []any, set ast.SelectionSet, p ast.Path) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = e.object(typeName, it, set, append(slices.Clip(p), ast.PathIndex(i)))
	}
	return out
}

// field resolves one field of an object.
func (e *executor) field(typeName string, src any, f *ast.Field, set ast.SelectionSet, p ast.Path) any {
	if f.Name == "__typename" {
		return typeName
	}
	if strings.HasPrefix(f.Name, "__") {
		e.errs = append(e.errs, &gqlerror.Error{Message: "Introspection is not supported by gitlabtest", Path: p})
		return nil
	}
	ds := e.rc.s.ds
	a := e.args(f)
	switch typeName {
	case "Query":
		switch f.Name {
		case "project":
			// A project's GraphQL fields read its languages and repository,
			// nothing later in a lazy project's stream.
			ps := ds.findProjectTo(argString(a, "fullPath"), depthLanguages)
			if ps == nil || atoiCheck(argString(a, "fullPath")) || !e.visible(ps) {
				return nil
			}
			return e.object("Project", ps, set, p)
		case "projects":
			return e.object("ProjectConnection", e.projectConnection(a, ds.projects), set, p)
		case "group":
			g := ds.groupByPath[strings.ToLower(argString(a, "fullPath"))]
			if g == nil || !ds.groupVisible(e.rc.uid, g) {
				return nil
			}
			return e.object("Group", g, set, p)
		case "currentUser":
			return e.object("CurrentUser", ds.userByID[e.rc.uid], set, p)
		case "metadata":
			return e.object("Metadata", nil, set, p)
		case "queryComplexity":
			return e.object("QueryComplexity", nil, set, p)
		}
	case "QueryComplexity":
		if f.Name == "limit" {
			return e.rc.s.cfg.maxComplexity
		}
		return e.score
	case "Metadata":
		switch f.Name {
		case "enterprise":
			return false
		case "revision":
			return "gitlabtest"
		case "version":
			return "18.3.0"
		}
	case "CurrentUser":
		u := src.(*User)
		switch f.Name {
		case "id":
			return gid("User", u.ID)
		case "username":
			return u.Username
		case "name":
			return u.Name
		case "webUrl":
			return u.WebURL
		case "bot":
			return u.Bot
		case "state":
			return u.State
		}
	case "Group":
		g := src.(*Group)
		switch f.Name {
		case "id":
			return gid("Group", g.ID)
		case "fullPath":
			return g.FullPath
		case "fullName":
			return g.FullName
		case "name":
			return g.Name
		case "path":
			return g.Path
		case "description":
			return g.Description
		case "visibility":
			return g.Visibility
		case "webUrl":
			return g.WebURL
		case "projects":
			inc, _ := argBool(a, "includeSubgroups")
			return e.object("ProjectConnection", e.projectConnection(a, ds.groupProjectsTo(g, inc, depthLanguages)), set, p)
		}
	case "ProjectConnection", "RepositoryBlobConnection":
		c := src.(*connection)
		switch f.Name {
		case "count":
			return c.total
		case "nodes":
			return e.list(c.nodeType, c.nodes, set, p)
		case "edges":
			edges := make([]any, len(c.nodes))
			for i := range c.nodes {
				edges[i] = [2]any{c.ids[i], c.nodes[i]}
			}
			return e.list(c.nodeType+"Edge", edges, set, p)
		case "pageInfo":
			return e.object("PageInfo", c, set, p)
		}
	case "ProjectEdge", "RepositoryBlobEdge":
		edge := src.([2]any)
		if f.Name == "cursor" {
			return cursor(edge[0].(int))
		}
		return e.object(strings.TrimSuffix(typeName, "Edge"), edge[1], set, p)
	case "PageInfo":
		c := src.(*connection)
		switch f.Name {
		case "hasNextPage":
			return c.hasNext
		case "hasPreviousPage":
			return c.hasPrev
		case "startCursor":
			if len(c.ids) == 0 {
				return nil
			}
			return cursor(c.ids[0])
		case "endCursor":
			if len(c.ids) == 0 {
				return nil
			}
			return cursor(c.ids[len(c.ids)-1])
		}
	case "Project":
		return e.projectField(src.(*projectState), f, set, p)
	case "RepositoryLanguage":
		l := src.(Language)
		switch f.Name {
		case "name":
			return l.Name
		case "share":
			return l.Share
		case "color":
			return l.Color
		}
	case "Repository":
		return e.repositoryField(src.(repoSrc).ps, f, a, set, p)
	case "RepositoryBlob":
		return blobField(src.(blobSrc), f)
	}
	return nil
}

// atoiCheck reports whether a fullPath is numeric: Query.project takes a
// path, not an ID.
func atoiCheck(s string) bool {
	_, ok := atoiStrict(s)
	return ok
}

func (e *executor) projectField(ps *projectState, f *ast.Field, set ast.SelectionSet, p ast.Path) any {
	pr := ps.p
	switch f.Name {
	case "id":
		return gid("Project", pr.ID)
	case "fullPath":
		return pr.PathWithNamespace
	case "name":
		return pr.Name
	case "path":
		return pr.Path
	case "nameWithNamespace":
		return pr.NameWithNamespace
	case "description":
		return pr.Description
	case "webUrl":
		return pr.WebURL
	case "httpUrlToRepo":
		return pr.HTTPURLToRepo
	case "sshUrlToRepo":
		return pr.SSHURLToRepo
	case "visibility":
		return pr.Visibility
	case "archived":
		return pr.Archived
	case "createdAt":
		return gqlTime(pr.CreatedAt)
	case "updatedAt":
		return gqlTime(pr.UpdatedAt)
	case "lastActivityAt":
		return gqlTime(pr.LastActivityAt)
	case "starCount":
		return pr.StarCount
	case "forksCount":
		return pr.ForksCount
	case "topics":
		return pr.Topics
	case "group":
		g := e.rc.s.ds.groupByID[ps.groupID]
		if g == nil {
			return nil
		}
		return e.object("Group", g, set, p)
	case "languages":
		// A project from a listing of a lazy dataset is not materialised yet.
		ps = e.rc.s.ds.materialiseTo(ps, depthLanguages)
		items := make([]any, len(ps.languages))
		for i, l := range ps.languages {
			items[i] = l
		}
		return e.list("RepositoryLanguage", items, set, p)
	case "repository":
		return e.object("Repository", repoSrc{e.rc.s.ds.materialiseTo(ps, depthLanguages)}, set, p)
	}
	return nil
}

func (e *executor) repositoryField(ps *projectState, f *ast.Field, a map[string]any, set ast.SelectionSet, p ast.Path) any {
	switch f.Name {
	case "empty":
		return ps.repo == nil || len(ps.repo.branches) == 0
	case "exists":
		return true
	case "rootRef":
		return ps.p.DefaultBranch
	case "blobs":
		ref := argString(a, "ref")
		if ref == "" {
			ref = deref(ps.p.DefaultBranch)
		}
		if rt := argString(a, "refType"); rt == "HEADS" {
			ref = "refs/heads/" + ref
		} else if rt == "TAGS" {
			ref = "refs/tags/" + ref
		}
		paths, _ := argStrings(a, "paths")
		var found []blobSrc
		if b := ps.repo.resolveRef(ref); b != nil {
			for _, fp := range paths {
				fp = strings.Trim(fp, "/")
				if bl := b.files[fp]; bl != nil && !slices.ContainsFunc(found, func(x blobSrc) bool { return x.path == fp }) {
					found = append(found, blobSrc{ps: ps, ref: strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/tags/"), path: fp, b: bl})
				}
			}
		}
		idx := func(bs blobSrc) int {
			return slices.IndexFunc(found, func(x blobSrc) bool { return x.path == bs.path })
		}
		pg, next, prev := page(a, found, idx)
		c := &connection{total: len(found), hasNext: next, hasPrev: prev, nodeType: "RepositoryBlob"}
		for _, bs := range pg {
			c.ids = append(c.ids, idx(bs))
			c.nodes = append(c.nodes, bs)
		}
		return e.object("RepositoryBlobConnection", c, set, p)
	}
	return nil
}

var extLanguages = map[string]string{".go": "go", ".ts": "typescript", ".js": "javascript", ".py": "python",
	".rb": "ruby", ".md": "markdown", ".yml": "yaml", ".yaml": "yaml", ".json": "json", ".sh": "shell"}

func blobField(bs blobSrc, f *ast.Field) any {
	// The object ID hashes the whole blob: only the fields that show it
	// compute it.
	switch f.Name {
	case "id":
		oid, _ := bs.b.ids()
		return "gid://gitlab/Gitlab::Graphql::Representation::TreeEntry/" + oid
	case "oid":
		oid, _ := bs.b.ids()
		return oid
	case "path":
		return bs.path
	case "name":
		return path.Base(bs.path)
	case "mode":
		if bs.b.exec {
			return "100755"
		}
		return "100644"
	case "size", "rawSize":
		return strconv.Itoa(bs.b.size())
	case "rawBlob":
		return string(bs.b.bytes())
	case "rawTextBlob":
		if !bs.b.isText() {
			return nil
		}
		return string(bs.b.bytes())
	case "webPath":
		return "/" + bs.ps.p.PathWithNamespace + "/-/blob/" + bs.ref + "/" + bs.path
	case "webUrl":
		return bs.ps.p.WebURL + "/-/blob/" + bs.ref + "/" + bs.path
	case "language":
		if l, ok := extLanguages[path.Ext(bs.path)]; ok {
			return l
		}
		return nil
	}
	return nil
}
