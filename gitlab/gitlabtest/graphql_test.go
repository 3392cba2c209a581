package gitlabtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

func gql(t *testing.T, s *Server, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	resp, b := call(t, s, http.MethodPost, "/api/graphql", string(body))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), string(b))
	return out
}

func TestSchemaLoads(t *testing.T) {
	t.Parallel()
	_, err := gqlparser.LoadSchema(&ast.Source{Input: Schema()})
	require.NoError(t, err)
}

func TestGraphQLMultiplexedProjectsWithBlobsAndLanguages(t *testing.T) {
	t.Parallel()
	ds := Generate(1, SizeSmall)
	s := NewServer(t, WithDataset(ds))
	p3, _ := ds.Project("3")
	p5, _ := ds.Project("5")
	query := `query Files($a: ID!, $paths: [String!]!) {
	  p0: project(fullPath: $a) { ...proj }
	  p1: project(fullPath: "` + p5.PathWithNamespace + `") { ...proj }
	  missing: project(fullPath: "no/such") { id }
	  queryComplexity { score limit }
	}
	fragment proj on Project {
	  id fullPath name webUrl
	  languages { name share color }
	  repository { rootRef blobs(paths: $paths) { nodes { path name rawTextBlob size } } }
	}`
	out := gql(t, s, query, map[string]any{"a": p3.PathWithNamespace, "paths": []string{"README.md", "port.yml", "assets/logo.png", "nope.txt"}})
	require.Nil(t, out["errors"])
	data := out["data"].(map[string]any)
	p0 := data["p0"].(map[string]any)
	assert.Equal(t, "gid://gitlab/Project/3", p0["id"])
	assert.Equal(t, p3.PathWithNamespace, p0["fullPath"])
	langs := p0["languages"].([]any)
	require.Len(t, langs, 3)
	assert.NotEmpty(t, langs[0].(map[string]any)["color"])
	repo := p0["repository"].(map[string]any)
	assert.Equal(t, *p3.DefaultBranch, repo["rootRef"])
	nodes := repo["blobs"].(map[string]any)["nodes"].([]any)
	var paths []string
	for _, n := range nodes {
		nm := n.(map[string]any)
		paths = append(paths, nm["path"].(string))
		_, isString := nm["size"].(string)
		assert.True(t, isString, "BigInt is a string")
		if nm["path"] == "README.md" {
			assert.Contains(t, nm["rawTextBlob"], "# ")
		}
		if nm["path"] == "assets/logo.png" {
			assert.Nil(t, nm["rawTextBlob"], "binary files have no text")
		}
	}
	assert.Equal(t, []string{"README.md", "port.yml", "assets/logo.png"}, paths, "in request order; missing paths are omitted")
	p1 := data["p1"].(map[string]any)
	assert.Equal(t, p5.Name, p1["name"])
	assert.Nil(t, data["missing"])
	qc := data["queryComplexity"].(map[string]any)
	assert.EqualValues(t, 250, qc["limit"])
	assert.Greater(t, qc["score"].(float64), 20.0)

	// Field order follows the query.
	_, raw := call(t, s, http.MethodPost, "/api/graphql", `{"query":"{ z: currentUser { username } a: currentUser { name } }"}`)
	assert.Less(t, strings.Index(string(raw), `"z"`), strings.Index(string(raw), `"a"`))
}

func TestGraphQLProjectsConnection(t *testing.T) {
	t.Parallel()
	ds := Generate(7, SizeMedium)
	s := NewServer(t, WithDataset(ds))
	var seen []string
	after := ""
	for i := 0; ; i++ {
		out := gql(t, s, `query($after: String) { projects(membership: true, first: 40, after: $after) {
			count pageInfo { hasNextPage endCursor } nodes { fullPath } } }`, map[string]any{"after": after})
		require.Nil(t, out["errors"])
		conn := out["data"].(map[string]any)["projects"].(map[string]any)
		for _, n := range conn["nodes"].([]any) {
			seen = append(seen, n.(map[string]any)["fullPath"].(string))
		}
		pi := conn["pageInfo"].(map[string]any)
		if pi["hasNextPage"] != true {
			assert.EqualValues(t, len(seen), conn["count"])
			break
		}
		after = pi["endCursor"].(string)
		require.Less(t, i, 50)
	}
	resp, _ := getList(t, s, "/api/v4/projects?membership=true")
	assert.Equal(t, resp.Header.Get("X-Total"), jsonInt(len(seen)))

	p := ds.Projects()[4]
	out := gql(t, s, `{ projects(fullPaths: ["`+p.PathWithNamespace+`"], ids: ["gid://gitlab/Project/`+jsonInt(p.ID)+`"]) { edges { cursor node { name } } } }`, nil)
	edges := out["data"].(map[string]any)["projects"].(map[string]any)["edges"].([]any)
	require.Len(t, edges, 1)
	assert.Equal(t, p.Name, edges[0].(map[string]any)["node"].(map[string]any)["name"])
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestGraphQLErrors(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithMaxComplexity(5))

	out := gql(t, s, `{ project(fullPath: "a") { id `, nil)
	errs := out["errors"].([]any)
	require.NotEmpty(t, errs)
	e := errs[0].(map[string]any)
	assert.NotEmpty(t, e["message"])
	assert.NotEmpty(t, e["locations"])
	assert.Nil(t, out["data"])

	out = gql(t, s, `{ project(fullPath: "a") { id noSuchField } }`, nil)
	e = out["errors"].([]any)[0].(map[string]any)
	assert.Contains(t, e["message"], "noSuchField")
	assert.NotEmpty(t, e["locations"])

	out = gql(t, s, `query($p: ID!) { project(fullPath: $p) { id } }`, nil)
	assert.NotEmpty(t, out["errors"], "a missing required variable fails")

	out = gql(t, s, `{ project(fullPath: "a") { id name fullPath webUrl repository { rootRef } } }`, nil)
	assert.Equal(t, []any{map[string]any{"message": "Query has complexity of 7, which exceeds max complexity of 5"}}, out["errors"])

	big := `{ currentUser { username } }` + strings.Repeat(" ", MaxQuerySize)
	out = gql(t, s, big, nil)
	assert.Equal(t, "Query too large", out["errors"].([]any)[0].(map[string]any)["message"])

	resp, _ := call(t, s, http.MethodPost, "/api/graphql", `{"query":"{ currentUser { id } }"}`, "PRIVATE-TOKEN", "bad")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestGraphQLDeniedProjectIsNull(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	p, _ := s.Dataset().Project("1")
	s.DenyProject(1, http.StatusForbidden)
	out := gql(t, s, `{ project(fullPath: "`+p.PathWithNamespace+`") { id } }`, nil)
	assert.Nil(t, out["data"].(map[string]any)["project"])
}

// GraphQL answers are written byte for byte as json.Marshal writes them,
// however they are built: data alone, data with field errors, query errors,
// and strings JSON escapes (HTML characters, line separators).
func TestGraphQLAnswerBytesAsMarshal(t *testing.T) {
	t.Parallel()
	ds := Generate(1, SizeSmall)
	s := NewServer(t, WithDataset(ds))
	p3, _ := ds.Project("3")
	rc := &reqCtx{Context: t.Context(), s: s, uid: 1}
	queries := []string{
		`{ p0: project(fullPath: "` + p3.PathWithNamespace + `") { id languages { name share color } repository { blobs(paths: ["README.md", "port.yml"]) { nodes { path rawTextBlob size } } } } }`,
		`{ missing: project(fullPath: "no/such") { id } queryComplexity { score limit } }`,
		`{ project(fullPath: "` + p3.PathWithNamespace + `") { nope } }`,
		`{ project(fullPath: `,
	}
	outs := []any{
		map[string]any{"data": omap{{"a<b>&", "x\u2028y</script>"}, {"n", []any{1.5, nil, true, omap{{"k", []omap{{{"z", "é"}}}}}}}}},
		map[string]any{"data": omap{{"p", nil}}, "errors": gqlErrors("Field 'x' <doesn't> exist")["errors"]},
		map[string]any{"data": omap(nil)},
		map[string]any{"data": omap{{"bad", make(chan int)}}},
	}
	for _, q := range queries {
		outs = append(outs, rc.execute(&gqlRequest{Query: q}))
	}
	for i, out := range outs {
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		writeJSON(want, http.StatusOK, out)
		writeGQL(&reqCtx{s: s, w: got}, out)
		assert.Equal(t, want.Code, got.Code, "answer %d", i)
		assert.Equal(t, want.Body.String(), got.Body.String(), "answer %d", i)
		assert.Equal(t, want.Header(), got.Header(), "answer %d", i)
	}
}
