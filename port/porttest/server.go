package porttest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oceankit/oceankit/internal/conncount"
	"github.com/oceankit/oceankit/port"
)

// Routes, as Go ServeMux patterns. Use them with InjectFault and Count.
const (
	RouteToken              = "POST /v1/auth/access_token"
	RouteUpsertEntity       = "POST /v1/blueprints/{blueprint}/entities"
	RouteBulkUpsert         = "POST /v1/blueprints/{blueprint}/entities/bulk"
	RouteGetEntity          = "GET /v1/blueprints/{blueprint}/entities/{identifier}"
	RouteDeleteEntity       = "DELETE /v1/blueprints/{blueprint}/entities/{identifier}"
	RouteBulkDelete         = "POST /v1/blueprints/{blueprint}/bulk/entities/delete"
	RouteSearch             = "POST /v1/entities/search"
	RouteBlueprintSearch    = "POST /v1/blueprints/{blueprint}/entities/search"
	RouteDatasourceEntities = "POST /v1/blueprints/entities/datasource-entities"
	RouteCreateBlueprint    = "POST /v1/blueprints"
	RouteGetBlueprint       = "GET /v1/blueprints/{blueprint}"
	RouteListBlueprints     = "GET /v1/blueprints"
	RoutePatchBlueprint     = "PATCH /v1/blueprints/{blueprint}"
	RouteDeleteBlueprint    = "DELETE /v1/blueprints/{blueprint}"
	RouteCreateIntegration  = "POST /v1/integration"
	RouteGetIntegration     = "GET /v1/integration/{id}"
	RoutePatchIntegration   = "PATCH /v1/integration/{id}"
	RouteDeleteIntegration  = "DELETE /v1/integration/{id}"
	RoutePatchConfig        = "PATCH /v1/integration/{id}/config"
	RoutePatchResyncState   = "PATCH /v1/integration/{id}/resync-state"
	RouteGetResyncRequest   = "GET /v1/integration/{id}/resync-request"
	RoutePostKindExamples   = "POST /v1/integration/{id}/kinds/{kind}/examples"
	RouteGetKinds           = "GET /v1/integration/{id}/kinds"
	RouteGetCursor          = "GET /v1/integration/{id}/cursor"
	RoutePutCursor          = "PUT /v1/integration/{id}/cursor"
	RoutePostCursor         = "POST /v1/integration/{id}/cursor"
	RouteProvisionEnabled   = "GET /v1/integration/provision-enabled"
	RouteOrganization       = "GET /v1/organization"
	RouteCreateAction       = "POST /v1/actions"
	RouteGetAction          = "GET /v1/actions/{id}"
	RouteCreateScorecard    = "POST /v1/blueprints/{blueprint}/scorecards"
	RouteGetScorecard       = "GET /v1/blueprints/{blueprint}/scorecards/{id}"
	RouteCreatePage         = "POST /v1/pages"
	RouteGetPage            = "GET /v1/pages/{id}"
	RouteDeletePage         = "DELETE /v1/pages/{id}"
	// RouteUnknown is the route of requests no pattern matches (answered 404).
	RouteUnknown = "unknown"
)

// Server is an in-memory Port API. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to give port.New (without /v1).
	URL string
	// ClientID and ClientSecret are the credentials the server accepts.
	ClientID, ClientSecret string

	ts      *httptest.Server
	cfg     config
	catalog catalog

	// conns counts TCP connections (Connections).
	conns conncount.Counter

	authMu      sync.Mutex
	token       string
	tokenExpiry time.Time
	tokens      int
	traces      atomic.Uint64

	reqMu    sync.Mutex
	requests []Request
	counts   map[string]int
	faults   []*Fault
	latency  time.Duration
	window   rateWindow

	runs runStore // self-service action runs (actions.go)

	ingest ingestStore // logs and sync metrics received (ingest.go)
}

type config struct {
	clientID, clientSecret string
	tokenLifetime          time.Duration
	now                    func() time.Time
	recordBodies           bool
	noRequestLog           bool
	basePath               string
	latency                time.Duration
	rate                   RateLimit
	compact                bool
}

// Option configures a Server.
type Option func(*config)

// WithCredentials sets the accepted client ID and secret (default: random ones).
func WithCredentials(clientID, clientSecret string) Option {
	return func(c *config) { c.clientID, c.clientSecret = clientID, clientSecret }
}

// WithTokenLifetime sets how long access tokens live (default 3 hours, as Port's).
func WithTokenLifetime(d time.Duration) Option { return func(c *config) { c.tokenLifetime = d } }

// WithClock replaces time.Now for token expiry, entity timestamps (createdAt,
// updatedAt), the Date header of every answer and rate-limit windows. Give
// the fake the same clock as the code under test, or one skewed against it,
// to test what depends on the two agreeing.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithRecordBodies keeps every request body in Requests (off by default to save memory
// in benchmarks).
func WithRecordBodies() Option { return func(c *config) { c.recordBodies = true } }

// WithoutRequestLog keeps only per-route counts, not the list of requests.
func WithoutRequestLog() Option { return func(c *config) { c.noRequestLog = true } }

// WithBasePath serves the API under a path prefix (URL includes it), which catches
// clients that build absolute paths.
func WithBasePath(p string) Option {
	return func(c *config) { c.basePath = "/" + strings.Trim(p, "/") }
}

// WithLatency delays every answer by d.
func WithLatency(d time.Duration) Option { return func(c *config) { c.latency = d } }

// RateLimit is a fixed-window limit on entity routes (paths containing /entities), like
// Port's "Entities API: 35,000 requests per 5 minutes".
type RateLimit struct {
	Limit  int
	Period time.Duration
}

// WithRateLimit limits entity routes. Over the limit the server answers 429 with
// Retry-After; every entity-route answer carries x-ratelimit-limit, -remaining, -reset
// (seconds until the window resets) and -period.
func WithRateLimit(r RateLimit) Option { return func(c *config) { c.rate = r } }

// New starts a server. Call Close when done.
func New(opts ...Option) *Server {
	cfg := config{tokenLifetime: 3 * time.Hour, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.clientID == "" {
		cfg.clientID = "porttest-client-" + randomHex(4)
	}
	if cfg.clientSecret == "" {
		cfg.clientSecret = "porttest-secret-" + randomHex(16)
	}
	s := &Server{
		ClientID:     cfg.clientID,
		ClientSecret: cfg.clientSecret,
		cfg:          cfg,
		counts:       map[string]int{},
		latency:      cfg.latency,
	}
	s.catalog.init(cfg.now)
	s.catalog.compact = cfg.compact
	mux := http.NewServeMux()
	s.routes(mux)
	var h http.Handler = mux
	if cfg.basePath != "" && cfg.basePath != "/" {
		h = http.StripPrefix(cfg.basePath, mux)
	}
	// URL is set before the server starts serving: handlers read it (the
	// ingest URLs of new integrations), and the race detector sees no
	// order between a write after Start and a handler's read.
	s.ts = httptest.NewUnstartedServer(h)
	s.ts.Config.ConnState = s.conns.ConnState
	s.URL = "http://" + s.ts.Listener.Addr().String() + strings.TrimSuffix(cfg.basePath, "/")
	s.ts.Start()
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

// Connections returns how many TCP connections clients opened to the
// server and how many were closed, since it started. A client that keeps
// fewer idle connections than it has requests in flight closes and reopens
// them all the time, and shows here; counting costs the server nothing.
func (s *Server) Connections() (opened, closed int64) {
	return s.conns.Counts()
}

// Client returns an *http.Client for the server (the httptest one).
func (s *Server) Client() *http.Client { return s.ts.Client() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Request is one request the server received.
type Request struct {
	Method    string
	Route     string // the matched Route constant
	Path      string // decoded path, without the base path
	RawPath   string // path as sent (escaped)
	Query     url.Values
	UserAgent string
	Body      []byte // only with WithRecordBodies
	Status    int    // status answered (0 for a dropped connection)
	Time      time.Time
}

// Requests returns the requests received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests matched route (a Route constant).
func (s *Server) Count(route string) int {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return s.counts[route]
}

// ResetRequests forgets recorded requests and counts.
func (s *Server) ResetRequests() {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.requests = nil
	s.counts = map[string]int{}
}

// Fault is an injected failure.
type Fault struct {
	// Route is the Route constant to fail; "" matches every route except RouteToken.
	Route string
	// Times is how many requests fail (at least 1).
	Times int
	// Status is the answer's status, with Port's error body; RetryAfter, if set, is sent
	// as the Retry-After header.
	Status     int
	RetryAfter string
	// Drop closes the connection without answering (the client sees a reset or EOF).
	Drop bool
	// Latency delays the request before it fails (or, with Status 0 and Drop false,
	// before it is handled normally).
	Latency time.Duration
}

// InjectFault adds a fault. Faults are consumed in the order they were added.
func (s *Server) InjectFault(f Fault) {
	if f.Times < 1 {
		f.Times = 1
	}
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.faults = nil
}

// SetLatency sets the delay added to every answer.
func (s *Server) SetLatency(d time.Duration) {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.latency = d
}

// ExpireTokens revokes every issued token: the next request with one gets 401, and the
// next token request issues a new token.
func (s *Server) ExpireTokens() {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	s.token = ""
}

// AccessToken returns the active access token ("" when none), so tests can check that
// it never leaks into errors or logs.
func (s *Server) AccessToken() string {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	return s.token
}

func (s *Server) traceID() string {
	return "porttest-trace-" + strconv.FormatUint(s.traces.Add(1), 10)
}

// TokensIssued returns how many token requests succeeded.
func (s *Server) TokensIssued() int {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	return s.tokens
}

type rateWindow struct {
	start time.Time
	used  int
}

// statusWriter reports the status before the header goes out.
type statusWriter struct {
	http.ResponseWriter
	status   int
	onHeader func(status int)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.onHeader(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// call is the decoded context of one request handed to route handlers.
type call struct {
	r    *http.Request
	body []byte
	ua   string
}

type handlerFunc func(w http.ResponseWriter, c *call)

func (s *Server) handle(mux *http.ServeMux, route string, h handlerFunc) {
	pattern := route
	if route == RouteUnknown {
		pattern = "/"
	}
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, route, h)
	})
}

func (s *Server) serve(rw http.ResponseWriter, r *http.Request, route string, h handlerFunc) {
	now := s.cfg.now()
	rec := Request{Method: r.Method, Route: route, Path: r.URL.Path, RawPath: r.URL.EscapedPath(),
		Query: r.URL.Query(), UserAgent: r.UserAgent(), Time: now}
	// The request is recorded when the answer's header is written (or the connection
	// dropped), before the client can see anything, so a test that got its answer always
	// finds the request recorded.
	var once sync.Once
	record := func(status int) {
		once.Do(func() {
			rec.Status = status
			s.reqMu.Lock()
			s.counts[route]++
			if !s.cfg.noRequestLog {
				s.requests = append(s.requests, rec)
			}
			s.reqMu.Unlock()
		})
	}
	defer record(0)
	w := &statusWriter{ResponseWriter: rw, onHeader: record}
	w.Header().Set("x-trace-id", s.traceID())
	// Port's answers carry its own clock; net/http would stamp the real one,
	// and a test that moves the fake's clock must see it move here too.
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))

	// Read the whole body first: answering before reading it would make the client see
	// a broken pipe instead of the answer.
	body, tooLarge, err := readBody(r)
	if err != nil {
		return
	}
	if s.cfg.recordBodies {
		rec.Body = body
	}

	s.reqMu.Lock()
	fault := s.takeFault(route)
	latency := s.latency
	s.reqMu.Unlock()
	if fault != nil {
		latency += fault.Latency
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if fault != nil && fault.Drop {
		if hj, ok := rw.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				record(0)
				_ = conn.Close()
				return
			}
		}
		record(0)
		panic(http.ErrAbortHandler)
	}
	if route != RouteToken && strings.Contains(r.URL.Path, "/entities") && s.cfg.rate.Limit > 0 {
		if !s.rateLimit(w, now) {
			return
		}
	}
	if fault != nil && fault.Status != 0 {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		writeError(w, fault.Status, faultCode(fault.Status), "injected fault")
		return
	}
	if route != RouteToken && !s.authorized(r, now) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Unauthorized: invalid or expired token")
		return
	}
	if tooLarge {
		writeError(w, http.StatusRequestEntityTooLarge, "request_too_large", "Request body is too large (limit is 1MiB)")
		return
	}
	h(w, &call{r: r, body: body, ua: r.UserAgent()})
}

func faultCode(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "rate_limit_exceeded"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusUnprocessableEntity:
		return "invalid_request"
	}
	return strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
}

// takeFault pops the first pending fault matching route. reqMu is held.
func (s *Server) takeFault(route string) *Fault {
	for i, f := range s.faults {
		if f.Route == route || (f.Route == "" && route != RouteToken) {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

func readBody(r *http.Request) ([]byte, bool, error) {
	if r.Body == nil {
		return nil, false, nil
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= port.MaxRequestBytes {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, port.MaxRequestBytes+1))
	if err != nil {
		return nil, false, err
	}
	if n > port.MaxRequestBytes {
		_, err := io.Copy(io.Discard, r.Body)
		return nil, true, err
	}
	return buf.Bytes(), false, nil
}

// rateLimit counts the request in the fixed window and answers 429 when it is over.
func (s *Server) rateLimit(w http.ResponseWriter, now time.Time) bool {
	rl := s.cfg.rate
	s.reqMu.Lock()
	if s.window.start.IsZero() || !now.Before(s.window.start.Add(rl.Period)) {
		s.window = rateWindow{start: now}
	}
	s.window.used++
	used := s.window.used
	reset := s.window.start.Add(rl.Period).Sub(now)
	s.reqMu.Unlock()

	h := w.Header()
	h.Set("x-ratelimit-limit", strconv.Itoa(rl.Limit))
	h.Set("x-ratelimit-remaining", strconv.Itoa(max(rl.Limit-used, 0)))
	h.Set("x-ratelimit-reset", seconds(reset))
	h.Set("x-ratelimit-period", seconds(rl.Period))
	if used > rl.Limit {
		h.Set("Retry-After", seconds(reset))
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Too many requests, please try again later")
		return false
	}
	return true
}

func seconds(d time.Duration) string {
	if d >= time.Second {
		return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
	}
	return strconv.FormatFloat(math.Ceil(d.Seconds()*1000)/1000, 'f', -1, 64)
}

func (s *Server) authorized(r *http.Request, now time.Time) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return false
	}
	s.authMu.Lock()
	defer s.authMu.Unlock()
	return s.token != "" && tok == s.token && now.Before(s.tokenExpiry)
}

func (s *Server) handleToken(w http.ResponseWriter, c *call) {
	var req struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil || req.ClientID == "" || req.ClientSecret == "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "body must have clientId and clientSecret")
		return
	}
	if req.ClientID != s.ClientID || req.ClientSecret != s.ClientSecret {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Invalid client credentials")
		return
	}
	now := s.cfg.now()
	s.authMu.Lock()
	// Port returns the active token while it is valid, with what is left of its life.
	if s.token == "" || !now.Before(s.tokenExpiry) {
		s.token = "porttest." + randomHex(24)
		s.tokenExpiry = now.Add(s.cfg.tokenLifetime)
	}
	s.tokens++
	tok, left := s.token, s.tokenExpiry.Sub(now)
	s.authMu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "accessToken": tok,
		"expiresIn": math.Max(1, math.Floor(left.Seconds())), "tokenType": "Bearer"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// apiError is an error answer in Port's shape.
type apiError struct {
	status  int
	code    string
	message string
	details map[string]any
}

func (e *apiError) write(w http.ResponseWriter) {
	body := map[string]any{"ok": false, "error": e.code, "message": e.message}
	if e.details != nil {
		body["details"] = e.details
	}
	writeJSON(w, e.status, body)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	(&apiError{status: status, code: code, message: msg}).write(w)
}

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func notFound(resource, value string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "not_found",
		message: fmt.Sprintf("%s with identifier %q was not found", resource, value),
		details: map[string]any{"resource": resource, "byField": "identifier", "withValue": value}}
}

func boolParam(r *http.Request, name string) bool {
	v := r.URL.Query().Get(name)
	return v == "true" || v == "1"
}

func decode(c *call, v any) *apiError {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return errorf(http.StatusUnprocessableEntity, "invalid_request", "The json provided does not match the route's schema: empty body")
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return errorf(http.StatusUnprocessableEntity, "invalid_request", "The json provided does not match the route's schema: %v", err)
	}
	return nil
}
