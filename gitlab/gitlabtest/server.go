package gitlabtest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/oceankit/oceankit/internal/conncount"
)

// DefaultToken is the token a Server accepts unless WithToken says otherwise.
const DefaultToken = "glpat-gitlabtest-0000000000"

// Server is a running fake GitLab. Its URL is the instance root; REST lives
// under URL+"/api/v4" and GraphQL at URL+"/api/graphql".
type Server struct {
	// URL is the base URL of the instance, without /api/v4.
	URL string
	// Token is the access token the server accepts.
	Token string

	ds     *Dataset
	ts     *httptest.Server
	cfg    config
	schema *ast.Schema

	// conns counts TCP connections (Connections).
	conns conncount.Counter

	// groupsMemo holds the group listings of the dataset generation
	// groupsGen, by listKey (handleGroups).
	memoMu     sync.Mutex
	groupsGen  uint64
	groupsMemo map[string][]*Group

	// pages holds the buffers list pages are written from (writePage).
	pages sync.Pool

	mu      sync.Mutex
	total   int64
	byRoute map[string]int64
	faults  []*Fault
	denied  map[int]int
	limits  map[string]*window
}

type config struct {
	dataset       *Dataset
	token         string
	scopes        []string
	latency       time.Duration
	rateLimit     int
	endpointLimit map[string]int
	limitWindow   time.Duration
	graphql       bool
	maxComplexity int
	offsetLimit   int
	advSearch     bool
	version       string
	clock         func() time.Time
	tokenKind     TokenKind
	pathPrefix    string
	tls           bool
	noKeyset      bool
	noGQLFields   []string
}

// Option configures a Server.
type Option func(*config)

// WithDataset serves ds instead of Generate(1, SizeSmall).
func WithDataset(ds *Dataset) Option { return func(c *config) { c.dataset = ds } }

// WithToken sets the accepted token (default DefaultToken).
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithTokenScopes sets the scopes GET /personal_access_tokens/self reports
// (default ["api"]).
func WithTokenScopes(scopes ...string) Option { return func(c *config) { c.scopes = scopes } }

// WithLatency delays every response by d (or until the request is cancelled).
func WithLatency(d time.Duration) Option { return func(c *config) { c.latency = d } }

// WithRateLimit enables the authenticated-API limit of requestsPerMinute
// requests per fixed one-minute window: every response then carries
// RateLimit-Limit/-Observed/-Remaining/-Reset/-Name, and requests past the
// limit answer 429 "Retry later" with Retry-After and RateLimit-ResetTime,
// like GitLab's Rack::Attack throttle.
func WithRateLimit(requestsPerMinute int) Option {
	return func(c *config) { c.rateLimit = requestsPerMinute }
}

// WithRateLimitWindow sets the length of the fixed windows of WithRateLimit
// and WithEndpointRateLimits (default one minute, as on GitLab): their
// limits then count requests per window. A shorter window runs a
// rate-limited benchmark in scaled time — a tenth of a minute with the same
// limits is gitlab.com ten times faster. RateLimit-Limit still announces a
// per-minute rate (the limit times the windows in a minute), which is how
// clients read it.
func WithRateLimitWindow(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.limitWindow = d
		}
	}
}

// WithEndpointRateLimits adds per-route-class limits (requests per minute),
// keyed by route class as Server.RequestsByRoute reports them (for example
// "GET /groups"). Past a limit GitLab answers 429 with no RateLimit headers.
// GitLabComEndpointLimits returns gitlab.com's set.
func WithEndpointRateLimits(limits map[string]int) Option {
	return func(c *config) {
		if c.endpointLimit == nil {
			c.endpointLimit = map[string]int{}
		}
		for k, v := range limits {
			c.endpointLimit[k] = v
		}
	}
}

// GitLabComEndpointLimits returns gitlab.com's per-endpoint limits, per minute
// (GET /projects is 2,000 per 10 minutes, so 200 per minute here).
func GitLabComEndpointLimits() map[string]int {
	return map[string]int{
		"GET /projects":                 200,
		"GET /projects/:id":             400,
		"GET /groups":                   50,
		"GET /groups/:id":               400,
		"GET /groups/:id/projects":      600,
		"GET /projects/:id/search":      100,
		"GET /groups/:id/search":        100,
		"GET /groups/:id/members/all":   200,
		"GET /projects/:id/members/all": 200,
	}
}

// WithGraphQL turns the GraphQL endpoint on (default) or off; off, it answers
// 404 like an old self-managed instance.
func WithGraphQL(enabled bool) Option { return func(c *config) { c.graphql = enabled } }

// WithMaxComplexity sets the GraphQL complexity limit (default 250, GitLab's
// limit for authenticated requests).
func WithMaxComplexity(n int) Option { return func(c *config) { c.maxComplexity = n } }

// WithOffsetLimit sets the maximum offset of offset pagination on /projects
// (default 50,000 like GitLab's offset_pagination_limit); 0 disables the cap.
// A small value lets a test reach the cap without 50,000 projects.
func WithOffsetLimit(n int) Option { return func(c *config) { c.offsetLimit = n } }

// WithAdvancedSearch sets whether group-level blob search is available
// (default true). Off, GET /groups/:id/search?scope=blobs answers 400 as
// GitLab does without Elasticsearch/Zoekt.
func WithAdvancedSearch(enabled bool) Option { return func(c *config) { c.advSearch = enabled } }

// DefaultVersion is the GitLab version GET /version reports by default.
const DefaultVersion = "18.9.2-ee"

// WithVersion sets the version GET /version reports (default
// DefaultVersion). Clients gate newer parameters on it: the search API's
// include_archived, for one, exists from 18.9.
func WithVersion(v string) Option { return func(c *config) { c.version = v } }

// WithClock sets the clock used for rate-limit windows (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// New starts a server; the caller must Close it.
func New(opts ...Option) *Server {
	cfg := config{token: DefaultToken, tokenKind: TokenPersonal, scopes: []string{"api"}, graphql: true, maxComplexity: 250,
		offsetLimit: 50000, advSearch: true, version: DefaultVersion, clock: time.Now, limitWindow: time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.dataset == nil {
		cfg.dataset = Generate(1, SizeSmall)
	}
	s := &Server{
		Token: cfg.token, ds: cfg.dataset, cfg: cfg, schema: graphQLSchema(),
		byRoute: map[string]int64{}, denied: map[int]int{}, limits: map[string]*window{},
	}
	trimSchema(s.schema, cfg.noGQLFields)
	s.ts = httptest.NewUnstartedServer(s)
	s.ts.Config.ConnState = s.conns.ConnState
	if cfg.tls {
		s.ts.StartTLS()
	} else {
		s.ts.Start()
	}
	s.URL = s.ts.URL + strings.TrimSuffix(cfg.pathPrefix, "/")
	return s
}

// NewServer starts a server that is closed when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := New(opts...)
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// groupsMemoMax bounds the memoised group listings (a sync lists one or
// two queries; a test may list many).
const groupsMemoMax = 8

// memoGroups returns the memoised listing of key at dataset generation
// gen. The slice is shared: callers must not change it.
func (s *Server) memoGroups(gen uint64, key string) ([]*Group, bool) {
	s.memoMu.Lock()
	defer s.memoMu.Unlock()
	if s.groupsGen != gen {
		return nil, false
	}
	items, ok := s.groupsMemo[key]
	return items, ok
}

// storeGroups memoises the listing of key at generation gen.
func (s *Server) storeGroups(gen uint64, key string, items []*Group) {
	s.memoMu.Lock()
	defer s.memoMu.Unlock()
	if s.groupsMemo == nil || s.groupsGen != gen || len(s.groupsMemo) >= groupsMemoMax {
		s.groupsGen, s.groupsMemo = gen, map[string][]*Group{}
	}
	s.groupsMemo[key] = items
}

// Connections returns how many TCP connections clients opened to the
// server and how many were closed, since it started. A client that keeps
// fewer idle connections than it has requests in flight closes and reopens
// them all the time, and shows here; counting costs the server nothing.
func (s *Server) Connections() (opened, closed int64) {
	return s.conns.Counts()
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Dataset returns the served dataset; its mutation helpers change what the
// server answers.
func (s *Server) Dataset() *Dataset { return s.ds }

// APIURL is URL+"/api/v4".
func (s *Server) APIURL() string { return s.URL + "/api/v4" }

// Fault makes matching requests fail. A zero Count means every matching
// request fails until ClearFaults.
type Fault struct {
	Status     int           // HTTP status to answer, e.g. 429, 500, 502
	RetryAfter time.Duration // sent as Retry-After (seconds, rounded up) when > 0
	PathPrefix string        // matched against the path without /api/v4 (e.g. "/projects"); "/graphql" matches GraphQL; empty matches all
	Method     string        // empty matches all methods
	Count      int           // how many requests fail
	Body       string        // response body; a GitLab-like default when empty

	used int
}

// FailNext makes the next n requests whose path starts with pathPrefix fail
// with status (and Retry-After when retryAfter > 0).
func (s *Server) FailNext(n, status int, retryAfter time.Duration, pathPrefix string) {
	s.InjectFault(Fault{Status: status, RetryAfter: retryAfter, PathPrefix: pathPrefix, Count: n})
}

// InjectFault adds a fault. Faults are checked in the order they were added.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.used = 0
	s.faults = append(s.faults, &f)
}

// ClearFaults removes all faults.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// DenyProject makes a project answer status (403 or 404) on GET
// /projects/:id and every sub-resource, and disappear from GraphQL, while it
// still appears in listings — like a project whose permissions changed
// during a sync.
func (s *Server) DenyProject(id, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[id] = status
}

// AllowProject undoes DenyProject.
func (s *Server) AllowProject(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, id)
}

func (s *Server) deniedStatus(id int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.denied[id]
}

// Requests returns how many requests the server received (including failed
// and unauthorised ones) since it started or since ResetStats.
func (s *Server) Requests() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// RouteRequests returns how many requests a route class received, e.g.
// RouteRequests("GET /projects/:id/merge_requests").
func (s *Server) RouteRequests(route string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byRoute[route]
}

// RequestsByRoute returns the request count of every route class seen.
func (s *Server) RequestsByRoute() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.byRoute))
	for k, v := range s.byRoute {
		out[k] = v
	}
	return out
}

// ResetStats zeroes the request counters and the rate-limit windows.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total = 0
	s.byRoute = map[string]int64{}
	s.limits = map[string]*window{}
}

type window struct {
	start time.Time
	count int
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	inner, inside := s.stripPrefix(r)
	if !inside {
		s.mu.Lock()
		s.total++
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	r = inner
	rt, params := s.match(r)
	route := rt.class(r.Method)
	s.mu.Lock()
	s.total++
	s.byRoute[route]++
	s.mu.Unlock()

	if s.cfg.latency > 0 {
		t := time.NewTimer(s.cfg.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if s.applyFault(w, r) {
		return
	}
	user, ok := s.authenticate(r)
	if !ok {
		if rt.graphql {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]string{{"message": "Invalid token"}}})
			return
		}
		writeMessage(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	if !s.rateLimit(w, route) {
		return
	}
	if rt.handler == nil {
		writeMessage(w, http.StatusNotFound, "404 Not Found")
		return
	}
	if rt.graphql && !s.cfg.graphql {
		writeMessage(w, http.StatusNotFound, "404 Not Found")
		return
	}
	q := r.URL.Query()
	if s.cfg.noKeyset {
		q.Del("pagination")
	}
	rc := &reqCtx{Context: r.Context(), s: s, w: w, r: r, params: params, q: q, uid: user}
	rt.handler(rc)
}

func (s *Server) applyFault(w http.ResponseWriter, r *http.Request) bool {
	p := apiPath(r.URL.Path)
	s.mu.Lock()
	var hit *Fault
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if !strings.HasPrefix(p, f.PathPrefix) {
			continue
		}
		f.used++
		hit = f
		if f.Count > 0 && f.used >= f.Count {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		break
	}
	s.mu.Unlock()
	if hit == nil {
		return false
	}
	if hit.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((hit.RetryAfter+time.Second-1)/time.Second)))
	}
	body := hit.Body
	if body == "" {
		if hit.Status == http.StatusTooManyRequests {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(hit.Status)
			_, _ = w.Write([]byte("Retry later\n"))
			return true
		}
		writeMessage(w, hit.Status, strconv.Itoa(hit.Status)+" "+http.StatusText(hit.Status))
		return true
	}
	w.WriteHeader(hit.Status)
	_, _ = w.Write([]byte(body))
	return true
}

// apiPath strips /api/v4 (or /api for GraphQL) from a request path.
func apiPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/api/v4"); ok {
		return rest
	}
	if rest, ok := strings.CutPrefix(p, "/api"); ok {
		return rest
	}
	return p
}

func (s *Server) authenticate(r *http.Request) (int, bool) {
	tok := s.tokenFrom(r)
	if tok == "" || tok != s.Token {
		return 0, false
	}
	s.ds.mu.RLock()
	defer s.ds.mu.RUnlock()
	return s.ds.currentUserID, true
}

// rateLimit applies the global and per-endpoint limits; false means a 429
// was written.
func (s *Server) rateLimit(w http.ResponseWriter, route string) bool {
	if s.cfg.rateLimit <= 0 && len(s.cfg.endpointLimit) == 0 {
		return true
	}
	now := s.cfg.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if lim := s.cfg.endpointLimit[route]; lim > 0 {
		win := s.window("route:"+route, now)
		win.count++
		if win.count > lim {
			reset := win.start.Add(s.cfg.limitWindow)
			w.Header().Set("Retry-After", strconv.Itoa(secondsUntil(now, reset)))
			writeJSON(w, http.StatusTooManyRequests, map[string]any{
				"message": map[string]string{"error": "This endpoint has been requested too many times. Try again later."},
			})
			return false
		}
	}
	if s.cfg.rateLimit <= 0 {
		return true
	}
	win := s.window("global", now)
	win.count++
	reset := win.start.Add(s.cfg.limitWindow)
	h := w.Header()
	h.Set("RateLimit-Name", "throttle_authenticated_api")
	h.Set("RateLimit-Limit", strconv.Itoa(int(int64(s.cfg.rateLimit)*int64(time.Minute)/int64(s.cfg.limitWindow))))
	h.Set("RateLimit-Observed", strconv.Itoa(win.count))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(0, s.cfg.rateLimit-win.count)))
	h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if win.count > s.cfg.rateLimit {
		h.Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
		h.Set("Retry-After", strconv.Itoa(secondsUntil(now, reset)))
		h.Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("Retry later\n"))
		return false
	}
	return true
}

func secondsUntil(now, t time.Time) int {
	return max(1, int((t.Sub(now)+time.Second-1)/time.Second))
}

// window returns the current fixed window of a key (one minute unless
// WithRateLimitWindow); s.mu is held.
func (s *Server) window(key string, now time.Time) *window {
	win := s.limits[key]
	if win == nil || !now.Before(win.start.Add(s.cfg.limitWindow)) {
		win = &window{start: now}
		s.limits[key] = win
	}
	return win
}

// reqCtx carries one request through a handler.
// maxPooledPage is the largest page buffer kept for reuse: one oversized
// answer does not pin its memory.
const maxPooledPage = 4 << 20

func (s *Server) pageBuf() *bytes.Buffer {
	if b, ok := s.pages.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func (s *Server) putPageBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledPage {
		b.Reset()
		s.pages.Put(b)
	}
}

type reqCtx struct {
	context.Context
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	params map[string]string
	q      url.Values
	uid    int
}
