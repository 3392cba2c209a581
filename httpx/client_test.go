package httpx_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/httpx"
)

const base = "https://tracker.example.com/api"

// fast retries keep the tests quick; the waits themselves are not tested
// here (see TestDelay).
var fast = httpx.RetryPolicy{MaxAttempts: 4, MaxDelay: time.Millisecond}

func newClient(t *testing.T, opts ...httpx.Option) (*httpx.Client, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	all := append([]httpx.Option{httpx.WithHTTPClient(&http.Client{Transport: mt}), httpx.WithRetry(fast)}, opts...)
	c, err := httpx.New(base, all...)
	require.NoError(t, err)
	return c, mt
}

func TestGetJSONSendsCredentialsAndDecodes(t *testing.T) {
	t.Parallel()
	c, mt := newClient(t, httpx.WithBearerToken("s3cret-token"), httpx.WithUserAgent("tracker-sync/1.0"))
	mt.RegisterResponder(http.MethodGet, base+"/tickets/7", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, "Bearer s3cret-token", r.Header.Get("Authorization"))
		assert.Equal(t, "tracker-sync/1.0", r.Header.Get("User-Agent"))
		return httpmock.NewStringResponse(200, `{"id":7,"title":"Broken"}`), nil
	})
	var out struct {
		ID    int
		Title string
	}
	require.NoError(t, c.GetJSON(t.Context(), "/tickets/7", nil, &out))
	assert.Equal(t, 7, out.ID)
	assert.Equal(t, "Broken", out.Title)
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		method    string
		statuses  []int
		wantCalls int
		wantErr   int // status of the final StatusError, 0 for success
	}{
		{"transient 500s then success", http.MethodGet, []int{500, 502, 200}, 3, 0},
		{"429 then success", http.MethodGet, []int{429, 200}, 2, 0},
		{"gives up after MaxAttempts", http.MethodGet, []int{503, 503, 503, 503, 503}, 4, 503},
		{"404 is not retried", http.MethodGet, []int{404, 200}, 1, 404},
		{"501 is not retried", http.MethodGet, []int{501, 200}, 1, 501},
		{"POST is not retried on 500", http.MethodPost, []int{500, 200}, 1, 500},
		{"POST is retried on 429", http.MethodPost, []int{429, 200}, 2, 0},
		{"POST is retried on 503", http.MethodPost, []int{503, 201}, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mt := newClient(t)
			var rs []httpmock.Responder
			for _, s := range tt.statuses {
				r := httpmock.NewStringResponder(s, `{"error":"x"}`)
				if s == 429 {
					r = r.HeaderSet(http.Header{"Retry-After": {"1"}})
				}
				rs = append(rs, r)
			}
			seq := rs[0]
			for _, r := range rs[1:] {
				seq = seq.Then(r)
			}
			mt.RegisterResponder(tt.method, base+"/tickets", seq)
			_, err := c.Do(t.Context(), tt.method, "/tickets", nil, map[string]any{"a": 1})
			if tt.wantErr == 0 {
				require.NoError(t, err)
			} else {
				var se *httpx.StatusError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, tt.wantErr, se.Status)
				assert.True(t, httpx.IsStatus(err, tt.wantErr))
			}
			assert.Equal(t, tt.wantCalls, mt.GetTotalCallCount())
		})
	}
}

func TestErrorsNeverShowCredentials(t *testing.T) {
	t.Parallel()
	c, mt := newClient(t, httpx.WithBearerToken("s3cret-token"), httpx.WithSecretHeader("X-Api-Key", "k3y-value"))
	mt.RegisterResponder(http.MethodGet, `=~^`+base+`/tickets`, httpmock.NewStringResponder(400,
		`{"error":"bad token s3cret-token or key k3y-value"}`))
	_, err := c.Do(t.Context(), http.MethodGet, "/tickets", url.Values{"api_key": {"k3y-value"}, "status": {"open"}}, nil)
	require.Error(t, err)
	msg := err.Error()
	assert.NotContains(t, msg, "s3cret-token")
	assert.NotContains(t, msg, "k3y-value")
	assert.Contains(t, msg, "GET "+base+"/tickets?api_key=…&status=…: 400 Bad Request")
	assert.Contains(t, msg, "[redacted]")

	mt.RegisterNoResponder(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("dial tcp: connection reset")
	})
	_, err = c.Do(t.Context(), http.MethodGet, "/other", url.Values{"token": {"k3y-value"}}, nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "k3y-value")
}

func TestPages(t *testing.T) {
	t.Parallel()
	ids := func(pages [][]map[string]any) []any {
		var out []any
		for _, p := range pages {
			for _, it := range p {
				out = append(out, it["id"])
			}
		}
		return out
	}
	t.Run("Link rel=next", func(t *testing.T) {
		t.Parallel()
		c, mt := newClient(t)
		mt.RegisterResponderWithQuery(http.MethodGet, base+"/tickets", "status=open", httpmock.NewStringResponder(200, `[{"id":1},{"id":2}]`).
			HeaderSet(http.Header{"Link": {`<` + base + `/tickets?status=open&page=2>; rel="next", <` + base + `/tickets?page=9>; rel="last"`}}))
		mt.RegisterResponderWithQuery(http.MethodGet, base+"/tickets", "status=open&page=2", httpmock.NewStringResponder(200, `[{"id":3}]`))
		var pages [][]map[string]any
		require.NoError(t, c.Pages(t.Context(), "/tickets", url.Values{"status": {"open"}}, func(items []map[string]any) error {
			pages = append(pages, items)
			return nil
		}))
		assert.Equal(t, []any{1.0, 2.0, 3.0}, ids(pages))
		assert.Len(t, pages, 2)
	})
	t.Run("X-Next-Page", func(t *testing.T) {
		t.Parallel()
		c, mt := newClient(t)
		mt.RegisterResponderWithQuery(http.MethodGet, base+"/tickets", "per_page=2", httpmock.NewStringResponder(200, `[{"id":1},{"id":2}]`).
			HeaderSet(http.Header{"X-Next-Page": {"2"}}))
		mt.RegisterResponderWithQuery(http.MethodGet, base+"/tickets", "per_page=2&page=2", httpmock.NewStringResponder(200, `[{"id":3}]`).
			HeaderSet(http.Header{"X-Next-Page": {""}}))
		var pages [][]map[string]any
		require.NoError(t, c.Pages(t.Context(), "/tickets", url.Values{"per_page": {"2"}}, func(items []map[string]any) error {
			pages = append(pages, items)
			return nil
		}))
		assert.Equal(t, []any{1.0, 2.0, 3.0}, ids(pages))
	})
	t.Run("cursor in the body", func(t *testing.T) {
		t.Parallel()
		c, mt := newClient(t)
		mt.RegisterResponderWithQuery(http.MethodGet, base+"/tickets", "", httpmock.NewStringResponder(200, `{"data":[{"id":1}],"meta":{"next":"abc"}}`))
		mt.RegisterResponderWithQuery(http.MethodGet, base+"/tickets", "cursor=abc", httpmock.NewStringResponder(200, `{"data":[{"id":2}],"meta":{"next":null}}`))
		var pages [][]map[string]any
		require.NoError(t, c.Pages(t.Context(), "/tickets", nil, func(items []map[string]any) error {
			pages = append(pages, items)
			return nil
		}, httpx.ItemsAt("data"), httpx.Cursor("cursor", "meta.next")))
		assert.Equal(t, []any{1.0, 2.0}, ids(pages))
	})
	t.Run("a next link to another host is refused", func(t *testing.T) {
		t.Parallel()
		c, mt := newClient(t, httpx.WithBearerToken("s3cret-token"))
		mt.RegisterResponder(http.MethodGet, base+"/tickets", httpmock.NewStringResponder(200, `[{"id":1}]`).
			HeaderSet(http.Header{"Link": {`<https://evil.example.net/steal?x=1>; rel="next"`}}))
		err := c.Pages(t.Context(), "/tickets", nil, func([]map[string]any) error { return nil })
		require.ErrorContains(t, err, "not sending the credentials there")
		assert.Equal(t, 1, mt.GetTotalCallCount())
	})
	t.Run("an error from fn stops the walk", func(t *testing.T) {
		t.Parallel()
		c, mt := newClient(t)
		mt.RegisterResponder(http.MethodGet, base+"/tickets", httpmock.NewStringResponder(200, `[{"id":1}]`).
			HeaderSet(http.Header{"X-Next-Page": {"2"}}))
		stop := errors.New("stop")
		err := c.Pages(t.Context(), "/tickets", nil, func([]map[string]any) error { return stop })
		require.ErrorIs(t, err, stop)
		assert.Equal(t, 1, mt.GetTotalCallCount())
	})
	t.Run("an object answer without ItemsAt says what to do", func(t *testing.T) {
		t.Parallel()
		c, mt := newClient(t)
		mt.RegisterResponder(http.MethodGet, base+"/tickets", httpmock.NewStringResponder(200, `{"data":[]}`))
		err := c.Pages(t.Context(), "/tickets", nil, func([]map[string]any) error { return nil })
		require.ErrorContains(t, err, "httpx.ItemsAt")
	})
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	c, mt := newClient(t, httpx.WithMaxBodyBytes(10))
	mt.RegisterResponder(http.MethodGet, base+"/big", httpmock.NewStringResponder(200, strings.Repeat("x", 11)))
	_, err := c.Do(t.Context(), http.MethodGet, "/big", nil, nil)
	require.ErrorContains(t, err, "larger than the client's body limit")
	assert.Equal(t, 1, mt.GetTotalCallCount(), "not retried")
}

func TestRateLimitWaitStopsWithTheContext(t *testing.T) {
	t.Parallel()
	c, mt := newClient(t, httpx.WithRateLimit(0.001, 1))
	mt.RegisterResponder(http.MethodGet, base+"/t", httpmock.NewStringResponder(200, `{}`))
	_, err := c.Do(t.Context(), http.MethodGet, "/t", nil, nil)
	require.NoError(t, err, "the burst is free")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.Do(ctx, http.MethodGet, "/t", nil, nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, mt.GetTotalCallCount())
}

func TestOptionsAreValidated(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]httpx.Option{
		"retry":      httpx.WithRetry(httpx.RetryPolicy{}),
		"rate":       httpx.WithRateLimit(0, 1),
		"body":       httpx.WithMaxBodyBytes(0),
		"credential": httpx.WithBearerToken(""),
		"client":     httpx.WithHTTPClient(nil),
	} {
		_, err := httpx.New(base, o)
		assert.Error(t, err, name)
	}
	_, err := httpx.New("ftp://x")
	assert.ErrorContains(t, err, "want http(s)")
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second, true},
		{"http date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second, true},
		{"date in the past", http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0, true},
		{"RateLimit-Reset epoch", http.Header{"Ratelimit-Reset": {"1767268860"}, "Ratelimit-Remaining": {"0"}}, time.Minute, true},
		{"X-RateLimit-Reset seconds", http.Header{"X-Ratelimit-Reset": {"30"}}, 30 * time.Second, true},
		{"quota left: no wait", http.Header{"Ratelimit-Reset": {"30"}, "Ratelimit-Remaining": {"12"}}, 0, false},
		{"RateLimit-ResetTime", http.Header{"Ratelimit-Resettime": {now.Add(5 * time.Second).Format(http.TimeFormat)}}, 5 * time.Second, true},
		{"nothing", http.Header{}, 0, false},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := httpx.RetryAfter(tt.header, now)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	p := httpx.RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond} {
		d := p.Delay(attempt, 0)
		assert.GreaterOrEqual(t, d, want*3/4, attempt)
		assert.LessOrEqual(t, d, want*5/4, attempt)
	}
	assert.Equal(t, time.Second, p.Delay(20, 0), "capped")
	assert.Equal(t, time.Second, p.Delay(1, time.Hour), "the server's wait, capped")
	assert.GreaterOrEqual(t, p.Delay(1, 700*time.Millisecond), 700*time.Millisecond, "the server's wait wins")
}
