package httpcheck

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRequest(t *testing.T) {
	t.Parallel()
	ok := func() *http.Request {
		return &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "https", Host: "gitlab.example.com", Path: "/api/v4/projects"},
			Header: http.Header{"Private-Token": {"glpat-secret\tvalue"}}}
	}
	tests := []struct {
		name string
		edit func(*http.Request)
		want string
	}{
		{"fine", func(*http.Request) {}, ""},
		{"method", func(r *http.Request) { r.Method = "GE T" }, "invalid method"},
		{"relative URL", func(r *http.Request) { r.URL = &url.URL{Path: "/x"} }, "absolute http(s) URL"},
		{"other scheme", func(r *http.Request) { r.URL.Scheme = "ftp" }, "absolute http(s) URL"},
		{"header name", func(r *http.Request) { r.Header["Bad Name"] = []string{"x"} }, "invalid header name"},
		{"newline in a token", func(r *http.Request) { r.Header.Set("Private-Token", "glpat-secret\n") }, "control character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := ok()
			tc.edit(r)
			err := Request(r)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.want)
			assert.NotContains(t, err.Error(), "glpat-secret", "header values are never quoted")
		})
	}
}
