package port

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/oceankit/oceankit/clock"
)

// Port's regional API hosts. The client appends /v1.
const (
	EUBaseURL = "https://api.getport.io"
	USBaseURL = "https://api.us.getport.io"
)

// MaxRequestBytes is Port's limit on any request body (1 MiB).
const MaxRequestBytes = 1 << 20

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// defaultUserAgent is sent when neither WithUserAgent nor WithDatasource is given.
const defaultUserAgent = "oceankit-port-client"

// Client talks to one Port organisation. It is safe for concurrent use; share one.
type Client struct {
	apiURL       string // base URL + "/v1"
	clientID     string
	clientSecret string
	hc           *http.Client
	timeout      time.Duration
	tlsConfig    *tls.Config // WithTLSConfig; nil: Go's defaults
	log          *slog.Logger
	userAgent    string
	datasource   *Datasource
	retry        RetryPolicy
	limiter      *rate.Limiter

	// userAgentHeader is userAgent as a header value, shared by requests.
	userAgentHeader []string
	// lastAuth is the latest Authorization header value (see authHeader).
	lastAuth atomic.Pointer[[]string]

	auth  tokenSource
	pace  pacer
	stats stats
	// serverClock follows Port's clock from its answers' Date headers.
	serverClock serverClock

	// clock tells the time and waits (WithClock).
	clock clock.Clock

	// bulkRoutes holds the URLs of recent bulk upserts (see bulkRouteFor).
	bulkRoutes struct {
		sync.Mutex
		m map[bulkRouteKey]*bulkRoute
	}

	// encodeBufs and answerBufs hold scratch buffers for reuse: bulk
	// upserts' encodings and answers being read. Neither is ever a
	// request body, which the transport may read after a call returns.
	encodeBufs, answerBufs sync.Pool
}

// maxPooledBuffer is the largest scratch buffer kept for reuse. The pool
// is for the many small ones (a bulk upsert's entities, its answer); a
// larger one (a page of the catalog listing, megabytes) is left to the
// garbage collector, as a pooled one would stay in the heap while the
// sync goes on, and raise its peak.
const maxPooledBuffer = 256 << 10

// scratch returns an empty buffer for BulkUpsert's encodings.
func (c *Client) scratch() *[]byte {
	if p, ok := c.encodeBufs.Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, 0, 32<<10)
	return &b
}

// release returns a scratch buffer once nothing refers to its bytes.
func (c *Client) release(p *[]byte) {
	if cap(*p) <= maxPooledBuffer {
		*p = (*p)[:0]
		c.encodeBufs.Put(p)
	}
}

// Option configures a Client in New.
type Option func(*Client) error

// WithHTTPClient sets the HTTP client. Its transport should keep idle connections per
// host (the default one keeps 100) because a sync sends many small requests.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("port: WithHTTPClient: nil *http.Client")
		}
		c.hc = hc
		return nil
	}
}

// WithTimeout bounds each request (each attempt of a retried one), keeping
// the client's own connection pool.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d < 0 {
			return errors.New("port: WithTimeout: negative timeout")
		}
		c.timeout = d
		return nil
	}
}

// WithLogger sets the logger for retries, throttling and token refreshes (debug and warn
// levels). By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("port: WithLogger: nil *slog.Logger")
		}
		c.log = l
		return nil
	}
}

// WithUserAgent sets the User-Agent header. Port stores it as the $datasource of every
// entity written; prefer WithDatasource for integrations.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		if strings.TrimSpace(ua) == "" {
			return errors.New("port: WithUserAgent: empty user agent")
		}
		c.userAgent = ua
		c.datasource = nil
		return nil
	}
}

// WithDatasource sets the User-Agent to d.UserAgent() and makes d the default owner filter
// of [Client.DatasourceEntities].
func WithDatasource(d Datasource) Option {
	return func(c *Client) error {
		if err := d.validate(); err != nil {
			return err
		}
		c.userAgent = d.UserAgent()
		c.datasource = &d
		return nil
	}
}

// WithRetryPolicy replaces the default retry policy ([DefaultRetryPolicy]).
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.BaseDelay < 0 || p.MaxDelay < 0 {
			return errors.New("port: WithRetryPolicy: negative delay")
		}
		if p.MaxAttempts < 1 {
			p.MaxAttempts = 1
		}
		c.retry = p
		return nil
	}
}

// WithRateLimit caps the client at r requests per second with bursts of burst, on top of
// the pacing driven by Port's x-ratelimit-* headers. Use it to share Port's organisation
// budget with other clients (Port's entity API allows 35,000 requests per 5 minutes).
func WithRateLimit(r float64, burst int) Option {
	return func(c *Client) error {
		if r <= 0 || burst < 1 {
			return errors.New("port: WithRateLimit: rate and burst must be positive")
		}
		c.limiter = rate.NewLimiter(rate.Limit(r), burst)
		return nil
	}
}

// New returns a client for the Port API at baseURL (for example [EUBaseURL]; empty means
// EUBaseURL). The client appends /v1 (a trailing /v1 in baseURL is accepted).
func New(baseURL, clientID, clientSecret string, opts ...Option) (*Client, error) {
	if baseURL == "" {
		baseURL = EUBaseURL
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("port: base URL %q is not an absolute http(s) URL", baseURL)
	}
	if clientID == "" || clientSecret == "" {
		return nil, errors.New("port: client ID and client secret are required")
	}
	base := strings.TrimSuffix(strings.TrimSuffix(baseURL, "/"), "/v1")
	c := &Client{
		apiURL:       base + "/v1",
		clientID:     clientID,
		clientSecret: clientSecret,
		log:          slog.New(slog.DiscardHandler),
		userAgent:    defaultUserAgent,
		retry:        DefaultRetryPolicy(),
		clock:        clock.Real{},
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.hc != nil && c.tlsConfig != nil {
		return nil, errors.New("port: WithTLSConfig and WithHTTPClient are alternatives: set TLS on the given client's transport")
	}
	if c.hc == nil {
		timeout := c.timeout
		if timeout == 0 {
			timeout = 60 * time.Second
		}
		t := newTransport()
		if c.tlsConfig != nil {
			t.TLSClientConfig = c.tlsConfig
		}
		c.hc = &http.Client{Transport: t, Timeout: timeout}
	}
	c.userAgentHeader = []string{c.userAgent}
	c.auth.c = c
	return c, nil
}

// newTransport is tuned for many small concurrent requests to one host: Go's default
// keeps only 2 idle connections per host, which makes concurrent bulk upserts reconnect
// constantly.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 100
	t.MaxIdleConnsPerHost = 100
	t.IdleConnTimeout = 90 * time.Second
	t.ForceAttemptHTTP2 = true
	// An HTTP/1.1 request goes out through a buffered writer of this size
	// (Go's default is 4 KiB). A bulk upsert's body (20 entities, typically
	// 8-20 KB) then fits in it with its headers and leaves in one write;
	// with the default, the part past 4 KiB goes through io.Copy, which
	// allocates a buffer the size of that part on every request. The
	// buffer lives as long as its connection: 64 KiB for each of the few
	// connections a sync keeps busy.
	t.WriteBufferSize = writeBufferSize
	return t
}

// writeBufferSize is the transport's write buffer (see newTransport).
const writeBufferSize = 64 << 10

// UserAgent returns the User-Agent the client sends (Port's $datasource of its writes).
func (c *Client) UserAgent() string { return c.userAgent }

// Datasource returns the datasource set with WithDatasource.
func (c *Client) Datasource() (Datasource, bool) {
	if c.datasource == nil {
		return Datasource{}, false
	}
	return *c.datasource, true
}

// Stats counts what a client has done since New.
type Stats struct {
	Requests       int64 // HTTP requests sent, including retries and token requests
	Retries        int64 // requests that were retries
	RateLimited    int64 // 429 answers received
	TokenRefreshes int64 // access tokens fetched
	Throttled      int64 // requests delayed by pacing or WithRateLimit
}

type stats struct {
	requests, retries, rateLimited, tokens, throttled atomic.Int64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:       c.stats.requests.Load(),
		Retries:        c.stats.retries.Load(),
		RateLimited:    c.stats.rateLimited.Load(),
		TokenRefreshes: c.stats.tokens.Load(),
		Throttled:      c.stats.throttled.Load(),
	}
}

// Request is a raw API call for [Client.Do].
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is relative to /v1, for example "/organization". Escape identifiers with
	// url.PathEscape.
	Path string
	// Query holds query parameters.
	Query url.Values
	// Header holds extra request headers (for example x-skip-resync).
	Header http.Header
	// Body is sent as JSON unless nil; []byte and json.RawMessage are sent as they are.
	Body any
	// Idempotent allows retrying after failures the server may already have applied.
	// GET, HEAD, PUT, DELETE and OPTIONS are always treated as idempotent.
	Idempotent bool
}

// Do sends an authenticated request to any Port route and decodes a JSON answer into
// out (unless out is nil). Error answers become *Error.
func (c *Client) Do(ctx context.Context, r Request, out any) error {
	if r.Method == "" || !strings.HasPrefix(r.Path, "/") {
		return errors.New("port: Do: method and a path starting with / are required")
	}
	idem := r.Idempotent
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		idem = true
	}
	body, err := encodeBody(r.Body)
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, &call{method: r.Method, path: r.Path, query: r.Query, header: r.Header, body: body, idempotent: idem})
	if err != nil {
		return err
	}
	return resp.decode(out)
}

func encodeBody(v any) ([]byte, error) {
	switch b := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return b, nil
	case json.RawMessage:
		return b, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("port: encode request body: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// call is one logical API call; send may make several HTTP requests for it.
type call struct {
	method string
	path   string // relative to /v1, escaped
	query  url.Values
	// rawQuery is query encoded, when the caller sends it more than once.
	rawQuery string
	// url and apiPath, when set, are the request's URL and "/v1"+path,
	// built once for calls that are sent many times (bulk upserts).
	url, apiPath string
	header       http.Header
	body         []byte
	idempotent   bool
	noAuth       bool // the token route itself
}

type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
	// buf holds body, a buffer of c.answerBufs until release.
	buf *[]byte
	c   *Client
}

// decode decodes the answer into out (unless out is nil) and releases
// its body: decode is the last use of the body.
func (r *response) decode(out any) error {
	if out == nil {
		r.release()
		return nil
	}
	return r.decodeWith(func(data []byte) error { return json.Unmarshal(data, out) })
}

// decodeWith is decode with a decoder of its own, which must decode as
// json.Unmarshal does.
func (r *response) decodeWith(decode func([]byte) error) error {
	defer r.release()
	if len(bytes.TrimSpace(r.body)) == 0 {
		return nil
	}
	if err := decode(r.body); err != nil {
		return fmt.Errorf("port: %s %s: decode answer: %w", r.method, r.path, err)
	}
	return nil
}

// release gives the body's buffer back for reuse. Whatever was decoded
// from it holds copies (encoding/json copies strings and raw messages).
func (r *response) release() {
	if r.buf == nil {
		return
	}
	if cap(*r.buf) <= maxPooledBuffer {
		*r.buf = (*r.buf)[:0]
		r.c.answerBufs.Put(r.buf)
	}
	r.buf, r.body = nil, nil
}

// answerBuf returns an empty buffer to read an answer into.
func (c *Client) answerBuf() *[]byte {
	if p, ok := c.answerBufs.Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, 0, 4<<10)
	return &b
}

// send runs the retry loop for one call: pacing, token, request, classification.
func (c *Client) send(ctx context.Context, cl *call) (*response, error) {
	class := classify(cl)
	refreshed := false
	stale := ""
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("port: %s /v1%s: %w", cl.method, cl.path, err)
		}
		if err := c.throttle(ctx, class); err != nil {
			return nil, fmt.Errorf("port: %s /v1%s: %w", cl.method, cl.path, err)
		}
		auth := ""
		if !cl.noAuth {
			tok, err := c.auth.token(ctx, stale)
			if err != nil {
				return nil, err
			}
			auth = tok
		}
		if attempt > 1 {
			c.stats.retries.Add(1)
		}
		resp, wrote, err := c.roundTrip(ctx, cl, auth)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("port: %s /v1%s: %w", cl.method, cl.path, ctx.Err())
			}
			if errors.Is(err, ErrInvalidRequest) {
				return nil, fmt.Errorf("port: %s /v1%s: %w", cl.method, cl.path, err)
			}
			if isCertificateError(err) {
				return nil, fmt.Errorf("port: %s /v1%s: %w", cl.method, cl.path, &CertificateError{Err: err})
			}
			// A request that never reached the server can be resent whatever the method.
			if (cl.idempotent || !wrote) && attempt < c.retry.MaxAttempts {
				wait := c.retry.backoff(attempt, 0)
				c.log.DebugContext(ctx, "port: retrying after transport error",
					"method", cl.method, "path", cl.path, "attempt", attempt, "wait", wait, "error", err.Error())
				if err := c.clock.Sleep(ctx, wait); err != nil {
					return nil, fmt.Errorf("port: %s /v1%s: %w", cl.method, cl.path, err)
				}
				continue
			}
			return nil, fmt.Errorf("port: %s /v1%s: %w", cl.method, cl.path, err)
		}
		c.pace.observe(class, resp.header, c.clock.Now())
		c.serverClock.observe(resp.header, c.clock.Now())
		if resp.status >= 200 && resp.status < 300 {
			return resp, nil
		}
		if resp.status == http.StatusTooManyRequests {
			c.stats.rateLimited.Add(1)
		}
		if resp.status == http.StatusUnauthorized && !cl.noAuth && !refreshed {
			// The token expired or was revoked early: refresh once and resend. Port did
			// not apply the request, so this is safe for any method.
			refreshed = true
			stale = auth
			attempt--
			c.log.DebugContext(ctx, "port: 401, refreshing access token", "method", cl.method, "path", cl.path)
			continue
		}
		stale = ""
		apiErr := c.apiError(resp)
		resp.release()
		if retryableStatus(resp.status) && (cl.idempotent || resp.status == http.StatusTooManyRequests) && attempt < c.retry.MaxAttempts {
			wait := c.retry.backoff(attempt, apiErr.RetryAfter)
			c.log.DebugContext(ctx, "port: retrying",
				"method", cl.method, "path", cl.path, "status", resp.status, "attempt", attempt, "wait", wait, "trace_id", apiErr.TraceID)
			if err := c.clock.Sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("port: %s /v1%s: %w", cl.method, cl.path, err)
			}
			continue
		}
		return nil, apiErr
	}
}

// exchange is what one HTTP request needs besides the request itself,
// allocated together: whether its headers were written, the trace that
// tells, and its answer.
type exchange struct {
	wrote atomic.Bool
	trace httptrace.ClientTrace
	resp  response
}

// Header values that never change, shared by every request.
var (
	acceptJSON      = []string{"application/json"}
	contentTypeJSON = []string{"application/json"}
)

// authHeader returns the Authorization header value for the token auth,
// the same slice for as long as the token lasts.
func (c *Client) authHeader(auth string) []string {
	if p := c.lastAuth.Load(); p != nil && (*p)[0] == auth {
		return *p
	}
	v := []string{auth}
	c.lastAuth.Store(&v)
	return v
}

// roundTrip sends one HTTP request. wrote reports whether the request was (at least
// partly) written, i.e. whether the server may have applied it.
func (c *Client) roundTrip(ctx context.Context, cl *call, auth string) (*response, bool, error) {
	u := cl.url
	switch {
	case u != "":
	case cl.rawQuery != "":
		u = c.apiURL + cl.path + "?" + cl.rawQuery
	case len(cl.query) > 0:
		u = c.apiURL + cl.path + "?" + cl.query.Encode()
	default:
		u = c.apiURL + cl.path
	}
	x := &exchange{}
	x.trace.WroteHeaders = func() { x.wrote.Store(true) }
	ctx = httptrace.WithClientTrace(ctx, &x.trace)
	var body io.Reader = http.NoBody
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	// The fixed header values are shared by every request (the transport
	// and http.Client only read them, and copy the header for a
	// redirect; a RoundTripper must not modify the request): Header.Set
	// would allocate a slice for each. The keys are canonical, so the
	// assignments are Header.Set's.
	h := req.Header
	for k, vs := range cl.header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	h["User-Agent"] = c.userAgentHeader
	h["Accept"] = acceptJSON
	if cl.body != nil {
		h["Content-Type"] = contentTypeJSON
	}
	if auth != "" {
		h["Authorization"] = c.authHeader(auth)
	}
	if err := checkRequest(req); err != nil {
		return nil, false, err
	}
	c.stats.requests.Add(1)
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, x.wrote.Load(), scrubURLError(err)
	}
	defer res.Body.Close()
	var rd io.Reader = res.Body
	if res.StatusCode >= 300 {
		rd = io.LimitReader(res.Body, maxErrorBody)
	}
	p := c.answerBuf()
	buf := (*p)[:0]
	if n := res.ContentLength; n >= 0 && n < 64<<20 && int(n) >= cap(buf) {
		// The whole answer and room to read its end: no growing.
		buf = make([]byte, 0, n+1)
	}
	buf, err = readAnswer(rd, buf)
	*p = buf
	apiPath := cl.apiPath
	if apiPath == "" {
		apiPath = "/v1" + cl.path
	}
	resp := &x.resp
	*resp = response{method: cl.method, path: apiPath, status: res.StatusCode, header: res.Header, body: *p, buf: p, c: c}
	if err != nil {
		resp.release()
		return nil, true, fmt.Errorf("read the %d answer: %w", res.StatusCode, err)
	}
	return resp, true, nil
}

// readAnswer appends what r holds to buf. Unlike bytes.Buffer's ReadFrom,
// which wants 512 free bytes before each read and doubles the buffer for
// them, it grows buf only when it is full, so that an answer of a known
// length is read into a buffer of that length.
func readAnswer(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// scrubURLError drops the query string from *url.Error, which may carry run IDs.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if i := strings.IndexByte(ue.URL, '?'); i >= 0 {
			ue.URL = ue.URL[:i]
		}
	}
	return err
}

// apiError turns a non-2xx answer into *Error, with secrets scrubbed from Port's text.
func (c *Client) apiError(r *response) *Error {
	e := &Error{
		StatusCode: r.status,
		Method:     r.method,
		Path:       r.path,
		TraceID:    r.header.Get(headerTraceID),
		RetryAfter: retryAfter(r.header, c.clock.Now()),
	}
	var eb errorBody
	if json.Unmarshal(r.body, &eb) == nil {
		e.Code, e.Message, e.Details = eb.Error, eb.Message, eb.Details
	} else if len(r.body) > 0 {
		msg := string(r.body)
		if len(msg) > 512 {
			msg = msg[:512] + "…"
		}
		e.Message = strings.TrimSpace(msg)
	}
	e.Message = c.redact(e.Message)
	if len(e.Details) > 0 {
		e.Details = json.RawMessage(c.redact(string(e.Details)))
	}
	return e
}

// redact removes the client secret and the current access token from s.
func (c *Client) redact(s string) string {
	if s == "" {
		return s
	}
	s = strings.ReplaceAll(s, c.clientSecret, "[REDACTED]")
	if tok := c.auth.current(); tok != "" {
		s = strings.ReplaceAll(s, tok, "[REDACTED]")
	}
	return s
}

// throttle waits for the optional client-side limiter and Port's rate-limit budget.
func (c *Client) throttle(ctx context.Context, class int) error {
	delayed := false
	if c.limiter != nil {
		r := c.limiter.Reserve()
		if d := r.DelayFrom(c.clock.Now()); d > 0 {
			delayed = true
			if err := c.clock.Sleep(ctx, d); err != nil {
				r.Cancel()
				return err
			}
		}
	}
	if d := c.pace.reserve(class, c.clock.Now()); d > 0 {
		delayed = true
		c.log.DebugContext(ctx, "port: pacing to stay under Port's rate limit", "wait", d)
		if err := c.clock.Sleep(ctx, d); err != nil {
			return err
		}
	}
	if delayed {
		c.stats.throttled.Add(1)
	}
	return nil
}
