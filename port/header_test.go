package port_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
)

// TestRequestHeaders checks the headers every request carries, with the
// caller's extra ones, and that a refreshed token replaces the old one on
// the requests that follow.
func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	var (
		mu     sync.Mutex
		tokens int
		got    = map[string]http.Header{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/v1/auth/access_token" {
			tokens++
			_, _ = w.Write([]byte(`{"accessToken":"tok` + itoa(tokens) + `","expiresIn":3600,"tokenType":"Bearer"}`))
			return
		}
		if r.Header.Get("Authorization") == "Bearer tok1" && r.URL.Path == "/v1/rotate" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got[r.Method+" "+r.URL.Path] = r.Header.Clone()
		_, _ = w.Write([]byte(`{"ok":true,"entities":[{"identifier":"a","index":0,"created":true}],"errors":[]}`))
	}))
	t.Cleanup(srv.Close)
	c, err := port.New(srv.URL, "id", "secret", port.WithRetryPolicy(fastRetry), port.WithDatasource(testDS))
	require.NoError(t, err)

	_, err = c.BulkUpsert(t.Context(), "service", []port.Entity{{Identifier: "a"}}, port.UpsertOptions{})
	require.NoError(t, err)
	extra := http.Header{"X-Skip-Resync": {"true"}, "x-multi": {"1", "2"}, "Accept": {"text/plain"}}
	require.NoError(t, c.Do(t.Context(), port.Request{Method: http.MethodGet, Path: "/organization", Header: extra}, nil))
	require.NoError(t, c.Do(t.Context(), port.Request{Method: http.MethodGet, Path: "/rotate"}, nil))

	mu.Lock()
	defer mu.Unlock()
	tests := []struct {
		name string
		key  string
		want http.Header
	}{
		{"bulk upsert", "POST /v1/blueprints/service/entities/bulk", http.Header{
			"User-Agent": {testDS.UserAgent()}, "Accept": {"application/json"}, "Content-Type": {"application/json"},
			"Authorization": {"Bearer tok1"}, "Content-Length": {"33"}, "Accept-Encoding": {"gzip"}}},
		{"extra headers; the client's own win", "GET /v1/organization", http.Header{
			"User-Agent": {testDS.UserAgent()}, "Accept": {"application/json"}, "Authorization": {"Bearer tok1"},
			"X-Skip-Resync": {"true"}, "X-Multi": {"1", "2"}, "Accept-Encoding": {"gzip"}}},
		{"refreshed token", "GET /v1/rotate", http.Header{
			"User-Agent": {testDS.UserAgent()}, "Accept": {"application/json"}, "Authorization": {"Bearer tok2"},
			"Accept-Encoding": {"gzip"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, got[tt.key])
		})
	}
	assert.Equal(t, http.Header{"X-Skip-Resync": {"true"}, "x-multi": {"1", "2"}, "Accept": {"text/plain"}}, extra,
		"the caller's header is left alone")
}
