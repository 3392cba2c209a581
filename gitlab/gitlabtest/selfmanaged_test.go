package gitlabtest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPathPrefixAndTLS(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithPathPrefix("gitlab/"), WithTLS())
	require.True(t, strings.HasPrefix(s.URL, "https://"))
	require.True(t, strings.HasSuffix(s.URL, "/gitlab"))
	require.NotNil(t, s.Certificate())
	resp, list := getList(t, s, "/api/v4/projects?per_page=1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, list, 1)
	assert.Contains(t, resp.Header.Get("Link"), s.URL+"/api/v4/projects?", "links keep the prefix")

	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(s.URL, "/gitlab")+"/api/v4/projects", nil)
	req.Header.Set("PRIVATE-TOKEN", s.Token)
	r, err := s.Client().Do(req)
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusNotFound, r.StatusCode, "outside the prefix")
}

func TestWithoutKeysetPagination(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithoutKeysetPagination(), WithVersion("13.12.15"))
	resp, list := getList(t, s, "/api/v4/projects?pagination=keyset&order_by=id&sort=asc&per_page=2")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Len(t, list, 2)
	assert.Equal(t, "2", resp.Header.Get("X-Next-Page"), "offset pages, as before keyset pagination")
}

func TestWithoutGraphQLFields(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithoutGraphQLFields("Project.languages"))
	_, b := call(t, s, http.MethodPost, "/api/graphql", `{"query":"query{p0:project(fullPath:\"a/b\"){languages{name share}}}"}`)
	assert.Contains(t, string(b), `Field 'languages' doesn't exist on type 'Project'`)
	// Other servers keep the whole schema.
	_, b = call(t, NewServer(t), http.MethodPost, "/api/graphql", `{"query":"query{p0:project(fullPath:\"a/b\"){languages{name share}}}"}`)
	assert.NotContains(t, string(b), "doesn't exist")
}

func TestTokenKinds(t *testing.T) {
	t.Parallel()
	for _, k := range []TokenKind{TokenOAuth, TokenJob} {
		s := NewServer(t, WithTokenKind(k))
		resp, _ := call(t, s, http.MethodGet, "/api/v4/personal_access_tokens/self", "", "PRIVATE-TOKEN", "", "Authorization", "Bearer "+s.Token)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s tokens are not personal access tokens", k)
	}
}
