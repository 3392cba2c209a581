package gitlabtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// call makes a request with the server's token and returns the response and
// its body.
func call(t *testing.T, s *Server, method, path string, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	require.NoError(t, err)
	req.Header.Set("PRIVATE-TOKEN", s.Token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func get(t *testing.T, s *Server, path string) (*http.Response, []byte) {
	t.Helper()
	return call(t, s, http.MethodGet, path, "")
}

// getList GETs a JSON array and decodes it into []map[string]any.
func getList(t *testing.T, s *Server, path string) (*http.Response, []map[string]any) {
	t.Helper()
	resp, b := get(t, s, path)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, b)
	var out []map[string]any
	require.NoError(t, json.Unmarshal(b, &out), string(b))
	return resp, out
}

func getObject(t *testing.T, s *Server, path string) map[string]any {
	t.Helper()
	resp, b := get(t, s, path)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, b)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), string(b))
	return out
}

// nextLink extracts the rel="next" URL of a Link header.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if strings.HasSuffix(part, `rel="next"`) {
			return strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(part, ">", 2)[0], "<"), ">")
		}
	}
	return ""
}

func rels(h string) []string {
	var out []string
	for _, part := range strings.Split(h, ",") {
		if i := strings.Index(part, `rel="`); i >= 0 {
			out = append(out, strings.TrimSuffix(part[i+5:], `"`))
		}
	}
	return out
}

func ids(items []map[string]any) []int {
	out := make([]int, len(items))
	for i, it := range items {
		out[i] = int(it["id"].(float64))
	}
	return out
}

// projectAccessOf is the token user's access to a project.
func (d *Dataset) projectAccessOf(id int) int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.projectAccess(d.currentUserID, d.projectByID[id])
}
