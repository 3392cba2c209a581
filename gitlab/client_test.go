package gitlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// sleepRecorder replaces real waits: it records what the client asked for
// and returns at once (or the context's error).
type sleepRecorder struct {
	mu      sync.Mutex
	waits   []time.Duration
	elapsed time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.elapsed += d
	s.mu.Unlock()
	return ctx.Err()
}

// recorderEpoch is where a sleepRecorder's clock starts: a fixed second,
// so that headers computed from it (RateLimit-Reset, in whole seconds)
// give exact waits, however loaded the machine.
var recorderEpoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// now is a clock that advances by the recorded waits.
func (s *sleepRecorder) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return recorderEpoch.Add(s.elapsed)
}

func (s *sleepRecorder) option() Option { return WithClock(funcClock{sleep: s.sleep, now: s.now}) }

// funcClock is a clock whose time and waits are functions; a nil one is
// the real clock's.
type funcClock struct {
	sleep func(context.Context, time.Duration) error
	now   func() time.Time
}

func (f funcClock) Now() time.Time {
	if f.now == nil {
		return time.Now()
	}
	return f.now()
}

func (f funcClock) NewTicker(d time.Duration) clock.Ticker { return clock.Real{}.NewTicker(d) }

func (f funcClock) Sleep(ctx context.Context, d time.Duration) error {
	if f.sleep == nil {
		return clock.Real{}.Sleep(ctx, d)
	}
	return f.sleep(ctx, d)
}

func (s *sleepRecorder) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

func testConfig(url string) Config {
	return Config{Host: url, Token: "glpat-test-token", UseGraphQL: true, MaxConcurrency: 4, MaxRetries: 3}
}

func newTestClient(t *testing.T, h http.Handler, mut ...func(*Config)) (*Client, *sleepRecorder) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL)
	for _, m := range mut {
		m(&cfg)
	}
	rec := &sleepRecorder{}
	c, err := NewClient(cfg, rec.option())
	require.NoError(t, err)
	return c, rec
}

func TestClientAuthHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, token, tokenType string
		wantPrivate            bool
	}{
		{"personal access token", "glpat-abcdefghijklmnop", "", true},
		{"legacy 20-char token", "abcdefghij0123456789", "", true},
		{"oauth token", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "", false},
		{"forced private", "sometoken", TokenTypePrivate, true},
		{"forced oauth", "glpat-abcdefghijklmnop", TokenTypeOAuth, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var private, bearer atomic.Value
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				private.Store(r.Header.Get("Private-Token"))
				bearer.Store(r.Header.Get("Authorization"))
				fmt.Fprint(w, `{"id":1}`)
			}), func(c *Config) { c.Token = settings.Secret(tt.token); c.TokenType = tt.tokenType })
			var out map[string]any
			require.NoError(t, c.Get(t.Context(), "projects/1", nil, &out))
			if tt.wantPrivate {
				assert.Equal(t, tt.token, private.Load())
				assert.Empty(t, bearer.Load())
			} else {
				assert.Equal(t, "Bearer "+tt.token, bearer.Load())
				assert.Empty(t, private.Load())
			}
		})
	}
}

func TestPagesFollowsKeysetAndOffsetLinks(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	// keyset: Link rel="next" carrying id_after
	mux.HandleFunc("/api/v4/projects", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "keyset", r.URL.Query().Get("pagination"))
		assert.Equal(t, "100", r.URL.Query().Get("per_page"))
		after, _ := strconv.Atoi(r.URL.Query().Get("id_after"))
		if after < 20 {
			w.Header().Set("Link", fmt.Sprintf(`<http://elsewhere/api/v4/projects?id_after=%d&pagination=keyset&per_page=100>; rel="next"`, after+10))
		}
		fmt.Fprint(w, "[")
		for i := after + 1; i <= after+10; i++ {
			if i > after+1 {
				fmt.Fprint(w, ",")
			}
			fmt.Fprintf(w, `{"id":%d,"extra":{"kept":true}}`, i)
		}
		fmt.Fprint(w, "]")
	})
	// offset: X-Next-Page
	mux.HandleFunc("/api/v4/groups/7/issues", func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page == 0 {
			page = 1
		}
		if page < 3 {
			w.Header().Set("X-Next-Page", strconv.Itoa(page+1))
		}
		fmt.Fprintf(w, `[{"iid":%d}]`, page)
	})
	c, _ := newTestClient(t, mux)

	var ids []float64
	pages := 0
	err := c.Pages(t.Context(), "projects", map[string][]string{"pagination": {"keyset"}}, func(page []ocean.Item) error {
		pages++
		for _, p := range page {
			ids = append(ids, p["id"].(float64))
			assert.Equal(t, map[string]any{"kept": true}, p["extra"], "raw JSON reaches the kind unchanged")
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 3, pages)
	assert.Len(t, ids, 30)
	assert.Equal(t, float64(30), ids[29])

	var iids []any
	require.NoError(t, c.Pages(t.Context(), "groups/7/issues", nil, func(page []ocean.Item) error {
		for _, p := range page {
			iids = append(iids, p["iid"])
		}
		return nil
	}))
	assert.Equal(t, []any{1.0, 2.0, 3.0}, iids)
	assert.Equal(t, int64(6), c.Stats().Requests)
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answers   []func(w http.ResponseWriter)
		wantErr   int
		wantWaits []time.Duration // approximate, ±1s
		wantTries int
	}{
		{
			name: "429 honours Retry-After",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) { w.Header().Set("Retry-After", "7"); w.WriteHeader(429) },
				func(w http.ResponseWriter) { w.Header().Set("Retry-After", "3"); w.WriteHeader(429) },
			},
			wantWaits: []time.Duration{7 * time.Second, 3 * time.Second},
			wantTries: 3,
		},
		{
			name: "429 without Retry-After waits for RateLimit-Reset",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.Header().Set("RateLimit-Reset", strconv.FormatInt(recorderEpoch.Add(42*time.Second).Unix(), 10))
					w.WriteHeader(429)
				},
			},
			wantWaits: []time.Duration{42 * time.Second},
			wantTries: 2,
		},
		{
			name: "5xx backs off and recovers",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) { w.WriteHeader(502) },
				func(w http.ResponseWriter) { w.WriteHeader(503) },
			},
			wantTries: 3,
		},
		{
			name: "attempts are bounded",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) { w.WriteHeader(500) },
				func(w http.ResponseWriter) { w.WriteHeader(500) },
				func(w http.ResponseWriter) { w.WriteHeader(500) },
				func(w http.ResponseWriter) { w.WriteHeader(500) },
				func(w http.ResponseWriter) { w.WriteHeader(500) },
			},
			wantErr:   500,
			wantTries: 4,
		},
		{
			name:      "404 is not retried",
			answers:   []func(http.ResponseWriter){func(w http.ResponseWriter) { w.WriteHeader(404) }},
			wantErr:   404,
			wantTries: 1,
		},
		{
			name:      "400 is not retried",
			answers:   []func(http.ResponseWriter){func(w http.ResponseWriter) { w.WriteHeader(400); fmt.Fprint(w, `{"message":"bad"}`) }},
			wantErr:   400,
			wantTries: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			c, rec := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				if i < len(tt.answers) {
					tt.answers[i](w)
					return
				}
				fmt.Fprint(w, `{"ok":true}`)
			}))
			var out map[string]any
			err := c.Get(t.Context(), "projects/1", nil, &out)
			assert.Equal(t, tt.wantTries, int(n.Load()))
			if tt.wantErr != 0 {
				require.Error(t, err)
				assert.Equal(t, tt.wantErr, StatusCode(err))
				assert.NotContains(t, err.Error(), "glpat-test-token")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, true, out["ok"])
			waits := rec.all()
			require.Len(t, waits, tt.wantTries-1)
			for i, want := range tt.wantWaits {
				assert.InDelta(t, want.Seconds(), waits[i].Seconds(), 1.0, "wait %d", i)
			}
		})
	}
}

func TestRateLimitHeadersPauseEveryone(t *testing.T) {
	t.Parallel()
	reset := recorderEpoch.Add(30 * time.Second).Unix()
	var n atomic.Int32
	c, rec := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("RateLimit-Limit", "600")
			w.Header().Set("RateLimit-Remaining", "2")
			w.Header().Set("RateLimit-Reset", strconv.FormatInt(reset, 10))
		}
		fmt.Fprint(w, `{}`)
	}))
	var out map[string]any
	require.NoError(t, c.Get(t.Context(), "projects/1", nil, &out))
	assert.Empty(t, rec.all(), "the first request goes straight out")
	require.NoError(t, c.Get(t.Context(), "groups/1", nil, &out))
	waits := rec.all()
	require.Len(t, waits, 1, "the next request waits for the reset")
	assert.InDelta(t, 30, waits[0].Seconds(), 1.5)
	assert.InDelta(t, 600*0.9, c.lim.globalPerMinute(), 0.001, "the announced limit is adopted with a margin")
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel() // the caller goes away while GitLab is busy
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(429)
	}))
	var out map[string]any
	err := c.Get(ctx, "projects/1", nil, &out)
	require.ErrorIs(t, err, context.Canceled)

	err = c.Pages(ctx, "projects", nil, func([]ocean.Item) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
}

func TestBaseURLValidationAndPathPrefix(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"gitlab.example.com", "ftp://gitlab.example.com", "https://", "https://gitlab.example.com/api/v4", "https://gitlab.example.com/?x=1"} {
		_, err := NewClient(Config{Host: bad, Token: "t"})
		assert.Error(t, err, bad)
	}
	_, err := NewClient(Config{Host: "https://gitlab.example.com"})
	assert.Error(t, err, "a token is required")

	var paths sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths.Store(r.URL.Path, true)
		if r.Method == http.MethodPost {
			fmt.Fprint(w, `{"data":{"x":1}}`)
			return
		}
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(Config{Host: srv.URL + "/gitlab/", Token: "t", UseGraphQL: true})
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, c.Get(t.Context(), "projects/a%2Fb", nil, &out))
	resp, err := c.GraphQL(t.Context(), "query{x}", nil)
	require.NoError(t, err)
	assert.JSONEq(t, `{"x":1}`, string(resp.Data))
	_, ok := paths.Load("/gitlab/api/v4/projects/a/b")
	assert.True(t, ok, "REST goes under the path prefix")
	_, ok = paths.Load("/gitlab/api/graphql")
	assert.True(t, ok, "GraphQL goes under the path prefix")
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := map[string]endpointClass{
		"projects":                     classProjectList,
		"groups":                       classGroupList,
		"projects/12":                  classProjectGet,
		"groups/a%2Fb":                 classGroupGet,
		"groups/3/projects":            classGroupProjects,
		"projects/12/search":           classSearch,
		"groups/3/search":              classSearch,
		"search":                       classSearch,
		"groups/3/members/all":         classMembersAll,
		"projects/3/members/all":       classMembersAll,
		"projects/3/members":           classDefault,
		"groups/3/merge_requests":      classDefault,
		"projects/1/repository/search": classSearch,
	}
	for path, want := range tests {
		assert.Equal(t, want, classify(http.MethodGet, path), path)
	}
	assert.Equal(t, classDefault, classify(http.MethodPost, "projects"))
}

func TestEndpointLimitsOnlyOnGitLabCom(t *testing.T) {
	t.Parallel()
	com, err := NewClient(Config{Token: "t"})
	require.NoError(t, err)
	require.NotNil(t, com.lim.classes[classGroupList])
	assert.InDelta(t, 50.0, com.lim.classes[classGroupList].perMinute(), 1e-9)
	assert.InDelta(t, 100.0, com.lim.classes[classSearch].perMinute(), 1e-9)
	assert.InDelta(t, 200.0, com.lim.classes[classProjectList].perMinute(), 1e-9)
	assert.InDelta(t, 1800.0, com.lim.globalPerMinute(), 1e-9)

	self, err := NewClient(Config{Host: "https://gitlab.example.com", Token: "t"})
	require.NoError(t, err)
	assert.Nil(t, self.lim.classes[classGroupList])
	assert.Zero(t, self.lim.globalPerMinute(), "no proactive limit until GitLab announces one")

	on := true
	forced, err := NewClient(Config{Host: "https://gitlab.example.com", Token: "t", EndpointLimits: &on, RequestsPerMinute: 600})
	require.NoError(t, err)
	assert.NotNil(t, forced.lim.classes[classSearch])
	assert.InDelta(t, 600, forced.lim.globalPerMinute(), 1e-9)
}

func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
		fmt.Fprint(w, `{}`)
	}), func(c *Config) { c.MaxConcurrency = 3 })
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			var out map[string]any
			assert.NoError(t, c.Get(t.Context(), "projects/1", nil, &out))
		})
	}
	// Let requests through one at a time until all are done.
	go func() {
		for range 10 {
			release <- struct{}{}
		}
	}()
	wg.Wait()
	assert.LessOrEqual(t, peak.Load(), int32(3))
}

func TestAPIErrorIsTyped(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		fmt.Fprint(w, `{"message":"403 Forbidden"}`)
	}))
	var out map[string]any
	err := c.Get(t.Context(), "projects/9", nil, &out)
	var ae *APIError
	require.True(t, errors.As(err, &ae))
	assert.Equal(t, 403, ae.StatusCode)
	assert.Equal(t, "projects/9", ae.Path)
	assert.True(t, isInaccessible(err))
}

func TestDecodeItems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []ocean.Item
		wantErr string
	}{
		{"objects", `[{"id":1,"a":{"b":[1,"x"]}},{"id":2}]`, []ocean.Item{{"id": 1.0, "a": map[string]any{"b": []any{1.0, "x"}}}, {"id": 2.0}}, ""},
		{"empty", `[]`, []ocean.Item{}, ""},
		{"null element", `[null,{"id":3}]`, []ocean.Item{nil, {"id": 3.0}}, ""},
		{"not an object", `[{"id":1},7]`, nil, "list element 1 is float64"},
		{"not a list", `{"message":"x"}`, nil, "cannot unmarshal object"},
		{"broken", `[{"id":`, nil, "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// jsonproj, and encoding/json (the kill switch's), alike.
			for _, decode := range []func([]byte) ([]ocean.Item, error){
				func(b []byte) ([]ocean.Item, error) { return decodeItems(b, nil) }, decodeItemsJSON,
			} {
				got, err := decode([]byte(tt.in))
				if tt.wantErr != "" {
					require.ErrorContains(t, err, tt.wantErr)
					continue
				}
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

// cutBody answers 200 with the first half of body, announcing all of it,
// then closes the connection: a reset in the middle of a page.
func cutBody(t *testing.T, w http.ResponseWriter, body string) {
	t.Helper()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, body[:len(body)/2])
	w.(http.Flusher).Flush()
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	_ = conn.Close()
}

func TestBrokenSuccessBodies(t *testing.T) {
	t.Parallel()
	const page = `[{"id":1,"name":"a"},{"id":2,"name":"b"}]`
	cut := func(t *testing.T, w http.ResponseWriter) { cutBody(t, w, page) }
	garbled := func(_ *testing.T, w http.ResponseWriter) { fmt.Fprint(w, `[{"id":1,"name":"a"},{"id":`) }
	whole := func(_ *testing.T, w http.ResponseWriter) { fmt.Fprint(w, page) }
	wrongShape := func(_ *testing.T, w http.ResponseWriter) { fmt.Fprint(w, `{"message":"not a list"}`) }
	tests := []struct {
		name      string
		answers   []func(*testing.T, http.ResponseWriter) // the last one repeats
		wantErr   []string                                // substrings; empty: success
		wantTries int
	}{
		{"cut once, then whole", []func(*testing.T, http.ResponseWriter){cut, whole}, nil, 2},
		{"always cut", []func(*testing.T, http.ResponseWriter){cut}, []string{"GET projects", "200", "unexpected EOF"}, 4},
		{"invalid JSON once, then whole", []func(*testing.T, http.ResponseWriter){garbled, whole}, nil, 2},
		{"always invalid JSON", []func(*testing.T, http.ResponseWriter){garbled}, []string{"GET projects", "decode body", "unexpected end of JSON input"}, 4},
		{"valid JSON of the wrong shape is not retried", []func(*testing.T, http.ResponseWriter){wrongShape}, []string{"decode body", "cannot unmarshal object"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			c, rec := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := min(int(n.Add(1))-1, len(tt.answers)-1)
				tt.answers[i](t, w)
			}))
			var got []ocean.Item
			err := c.Pages(t.Context(), "projects", nil, func(p []ocean.Item) error {
				got = append(got, p...)
				return nil
			})
			assert.Equal(t, tt.wantTries, int(n.Load()), "requests")
			assert.Len(t, rec.all(), tt.wantTries-1, "waits between attempts")
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, s := range tt.wantErr {
					assert.ErrorContains(t, err, s)
				}
				assert.NotContains(t, err.Error(), "glpat-test-token")
				return
			}
			require.NoError(t, err)
			assert.Len(t, got, 2)
		})
	}
}

func TestCutBodyOfAWriteIsNotRetried(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		cutBody(t, w, `{"id":7,"url":"https://example.com/hook"}`)
	}))
	var out map[string]any
	err := c.send(t.Context(), http.MethodPost, "projects/1/hooks", map[string]any{"url": "x"}, &out)
	require.ErrorContains(t, err, "unexpected EOF")
	assert.Equal(t, int32(1), n.Load(), "a POST that GitLab may have applied is not sent again")
}

func TestRequestsThatCannotBeSentAreNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token string
		opts  []Option
	}{
		{"user agent with a newline", "glpat-test-token", []Option{WithUserAgent("oceankit\r\nX-Injected: 1")}},
		{"token with a control character inside", "glpat-test-token\x00x", nil},
		{"oauth token with a control character", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abc\x01", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				fmt.Fprint(w, `{}`)
			}))
			t.Cleanup(srv.Close)
			cfg := testConfig(srv.URL)
			cfg.Token = settings.Secret(tt.token)
			rec := &sleepRecorder{}
			c, err := NewClient(cfg, append([]Option{rec.option()}, tt.opts...)...)
			if err != nil {
				// Refusing the token at start-up is as good: nothing retried.
				assert.NotContains(t, err.Error(), "glpat-test-token")
				return
			}
			var out map[string]any
			err = c.Get(t.Context(), "projects/1", nil, &out)
			require.ErrorIs(t, err, ErrInvalidRequest)
			assert.NotContains(t, err.Error(), "glpat-test-token", "the token is never quoted")
			assert.Zero(t, hits.Load(), "nothing reached the server")
			assert.Empty(t, rec.all(), "no wait, no retry")
			assert.Equal(t, Stats{Requests: 1}, c.Stats())
		})
	}
}

func TestCheckRequest(t *testing.T) {
	t.Parallel()
	ok, _ := http.NewRequest(http.MethodGet, "https://gitlab.example.com/api/v4/projects", nil)
	ok.Header.Set("Private-Token", "glpat-abc\tdef") // tab is allowed
	require.NoError(t, checkRequest(ok))
	tests := []struct {
		name string
		mut  func(r *http.Request)
	}{
		{"newline in a value", func(r *http.Request) { r.Header.Set("Private-Token", "abc\n") }},
		{"DEL in a value", func(r *http.Request) { r.Header.Set("X", "a\x7f") }},
		{"space in a name", func(r *http.Request) { r.Header["Bad Name"] = []string{"v"} }},
		{"no host", func(r *http.Request) { r.URL.Host = "" }},
		{"other scheme", func(r *http.Request) { r.URL.Scheme = "ftp" }},
		{"bad method", func(r *http.Request) { r.Method = "GE T" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := ok.Clone(t.Context())
			tt.mut(r)
			err := checkRequest(r)
			require.ErrorIs(t, err, ErrInvalidRequest)
			assert.NotContains(t, err.Error(), "abc")
		})
	}
}

func TestRetryWait(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := NewClient(Config{Host: "https://gitlab.example.com", Token: "t", MaxRetryWait: 90 * time.Second},
		WithClock(funcClock{now: func() time.Time { return now }}))
	require.NoError(t, err)
	h := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	reset := strconv.FormatInt(now.Add(42*time.Second).Unix(), 10)
	assert.Equal(t, 2*time.Second, c.retryWait(h("Retry-After", "2"), 5), "GitLab's wait, even below the backoff")
	assert.Equal(t, 42*time.Second, c.retryWait(h("RateLimit-Reset", reset, "RateLimit-Remaining", "0"), 0))
	assert.Equal(t, 42*time.Second, c.retryWait(h("RateLimit-ResetTime", now.Add(42*time.Second).Format(http.TimeFormat)), 0))
	assert.Equal(t, 90*time.Second, c.retryWait(h("Retry-After", "3600"), 0), "capped by MaxRetryWait")
	// A reset while quota remains is not a reason to wait for it.
	assert.Less(t, c.retryWait(h("RateLimit-Reset", reset, "RateLimit-Remaining", "100"), 0), time.Second)
	for attempt, want := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 30 * time.Second} {
		if attempt == 3 {
			attempt = 20
		}
		got := c.retryWait(http.Header{}, attempt)
		assert.InDelta(t, want.Seconds(), got.Seconds(), want.Seconds()/4, "attempt %d: exponential from 500 ms with jitter", attempt)
		assert.LessOrEqual(t, got, 30*time.Second, "the backoff stays under 30 s")
	}
}

func TestOptionsAreChecked(t *testing.T) {
	t.Parallel()
	cfg := Config{Token: "glpat-0123456789abcdefghij"}
	for name, o := range map[string]Option{
		"nil logger":      WithLogger(nil),
		"nil http client": WithHTTPClient(nil),
		"empty agent":     WithUserAgent(" "),
	} {
		_, err := New(cfg, o)
		assert.Error(t, err, name)
	}
}
