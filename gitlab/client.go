package gitlab

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"
	glapi "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/httpx"
	"github.com/oceankit/oceankit/internal/httpcheck"
	"github.com/oceankit/oceankit/internal/jsonenc"
	"github.com/oceankit/oceankit/internal/jsonproj"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// Version is the provider's version, sent in the User-Agent.
const Version = "0.1.0"

// perPage is GitLab's maximum page size.
const perPage = "100"

// Option adjusts a Client or provider beyond what Config holds. Options
// check what they are given (the constructors return the error), as
// port's and ocean's do.
type Option func(*options) error

type options struct {
	logger     *slog.Logger
	httpClient *http.Client
	userAgent  string
	clock      clock.Clock
}

// WithLogger sets the logger (slog.Default() otherwise).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("gitlab: WithLogger(nil): leave the option out for slog.Default()")
		}
		o.logger = l
		return nil
	}
}

// WithHTTPClient sets the HTTP client under client-go (for proxies, custom
// TLS, or the framework's timeout).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("gitlab: WithHTTPClient(nil)")
		}
		o.httpClient = c
		return nil
	}
}

// WithUserAgent sets the User-Agent sent to GitLab.
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		if strings.TrimSpace(ua) == "" {
			return errors.New("gitlab: WithUserAgent: empty")
		}
		o.userAgent = ua
		return nil
	}
}

// WithClock sets the clock behind the waits before retries and during
// rate-limit pauses, the limits' windows, and the time selectors count
// from (updatedAfter, daysOld): tests give a clock.Fake, or one that
// records the waits instead of sleeping.
func WithClock(c clock.Clock) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("gitlab: WithClock(nil)")
		}
		o.clock = c
		return nil
	}
}

// Client is a GitLab API client for resyncs: it returns the API's raw JSON
// objects, pages through lists as they arrive, retries what GitLab asks to be
// retried (honouring Retry-After and RateLimit-Reset), and keeps within the
// configured and announced rate limits. It is safe for concurrent use.
//
// It is built on client-go (transport, auth, URL handling, pagination
// headers) with client-go's own retries off: retries go through this
// client's limiter, so a retried request waits for its budget like any
// other.
type Client struct {
	gl    *glapi.Client
	cfg   Config
	auth  *tokenAuth
	lim   *limiter
	log   *slog.Logger
	sleep func(context.Context, time.Duration) error
	// wholeJSON decodes every page whole with encoding/json, as before
	// field projection (OCEAN__RESYNC__DECODE_ALL_FIELDS; see NewApp).
	wholeJSON bool

	requests atomic.Int64
	retries  atomic.Int64

	graphQLOff   atomic.Bool  // GraphQL answered as unavailable
	groupsKeyset atomic.Int32 // 0 untried, 1 works, 2 unsupported
	// noGroupSearch holds the top-level groups (by full path) whose blob
	// search GitLab refused for want of Advanced Search: the enrichment's
	// __searchQueries and the file kind then search their projects one by
	// one, without asking again for the life of the client.
	noGroupSearch sync.Map

	versionMu sync.Mutex
	version   *serverVersion // nil until GET /version has answered

	bufs sync.Pool
}

// APIError is a GitLab answer other than success. It never holds the
// token.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Message    string
	Err        error
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("gitlab: %s %s: %d", e.Method, e.Path, e.StatusCode)
	var er *glapi.ErrorResponse
	switch {
	case e.Message != "":
		msg += " " + e.Message
	case e.Err != nil && !errors.As(e.Err, &er):
		// A cause other than GitLab's own error document (which would
		// repeat the URL) says what went wrong.
		msg += ": " + e.Err.Error()
	}
	return msg
}

// ErrInvalidRequest is wrapped by the error of a request that could not be
// sent as it was built: a header value with a control character (a token
// read from a file with its trailing newline), an unusable URL. Sending it
// again fails the same way, so it is never retried.
var ErrInvalidRequest = errors.New("gitlab: request cannot be sent")

func (e *APIError) Unwrap() error { return e.Err }

// StatusCode returns the HTTP status of a GitLab error, or 0.
func StatusCode(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether err is GitLab's 404.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// isInaccessible reports a 403 or 404: the object is gone or the token may
// not see it, so a fan-out skips it.
func isInaccessible(err error) bool {
	s := StatusCode(err)
	return s == http.StatusForbidden || s == http.StatusNotFound
}

// NewClient returns a Client for cfg. The host URL is validated here, so a
// bad one fails at start-up.
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	o := options{logger: slog.Default(), clock: clock.Real{}, userAgent: "oceankit-gitlab/" + Version}
	for _, f := range opts {
		if err := f(&o); err != nil {
			return nil, err
		}
	}
	endpointLimits := cfg.IsGitLabCom()
	if cfg.EndpointLimits != nil {
		endpointLimits = *cfg.EndpointLimits
	}
	perMinute := float64(cfg.RequestsPerMinute)
	if perMinute == 0 && cfg.IsGitLabCom() {
		perMinute = 2000 * 0.9 // GitLab.com's per-user limit with a margin
	}
	lim := newLimiter(cfg.MaxConcurrency, perMinute, cfg.RequestsPerMinute == 0, endpointLimits, o.clock.Sleep)
	lim.now = o.clock.Now

	glopts := []glapi.ClientOptionFunc{
		glapi.WithBaseURL(cfg.BaseURL()),
		glapi.WithCustomLimiter(lim),
		glapi.WithoutRetries(),
		glapi.WithUserAgent(o.userAgent),
	}
	hc := o.httpClient
	if hc == nil {
		// client-go's default pool keeps GOMAXPROCS+1 idle connections
		// per host while MaxConcurrency requests are in flight: most
		// requests would reconnect.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = max(100, 2*cfg.MaxConcurrency)
		t.MaxIdleConnsPerHost = max(100, 2*cfg.MaxConcurrency)
		t.IdleConnTimeout = 90 * time.Second
		if cfg.TLS != nil {
			t.TLSClientConfig = cfg.TLS.Clone()
		}
		hc = &http.Client{Transport: t}
	}
	hc = checkedClient(hc)
	if cfg.RequestTimeout > 0 {
		// client-go reads the whole body inside Do and its own retries are
		// off, so the client's timeout bounds exactly one attempt.
		hc.Timeout = cfg.RequestTimeout
	}
	glopts = append(glopts, glapi.WithHTTPClient(hc))
	auth := &tokenAuth{tokenType: cfg.TokenType, token: cfg.Token.Value()}
	gl, err := glapi.NewAuthSourceClient(auth, glopts...)
	if err != nil {
		return nil, fmt.Errorf("gitlab: create client: %w", err)
	}
	c := &Client{gl: gl, cfg: cfg, auth: auth, lim: lim, log: o.logger, sleep: o.clock.Sleep}
	c.bufs.New = func() any { return new(bytes.Buffer) }
	if !cfg.UseGraphQL {
		c.graphQLOff.Store(true)
	}
	return c, nil
}

// tokenAuth sends the current token in the header its kind needs (see
// TokenTypeAuto).
// The token changes when the token file is re-read after a 401.
type tokenAuth struct {
	tokenType string
	mu        sync.RWMutex
	token     string
}

func (*tokenAuth) Init(context.Context, *glapi.Client) error { return nil }

func (a *tokenAuth) Header(context.Context) (string, string, error) {
	t := a.current()
	switch h := authHeader(a.tokenType, t); h {
	case headerBearer:
		return h, "Bearer " + t, nil
	default:
		return h, t, nil
	}
}

func (a *tokenAuth) current() string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.token
}

func (a *tokenAuth) set(t string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.token = t
}

// reloadToken reads the token file (Config.TokenFile) after a 401 and
// swaps its token in; it reports whether there is a token to retry with.
// Neither the token nor the file's content is ever logged: a file that
// cannot be read or holds no usable token is reported by its path.
func (c *Client) reloadToken(ctx context.Context) bool {
	b, err := os.ReadFile(c.cfg.TokenFile)
	if err != nil {
		c.log.WarnContext(ctx, "gitlab: answered 401 and the OAuth token file cannot be read", "path", c.cfg.TokenFile, "error", err)
		return false
	}
	tok, err := settings.CleanSecret("OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH", settings.Secret(strings.TrimSpace(string(b))))
	if err != nil || tok == "" {
		c.log.WarnContext(ctx, "gitlab: answered 401 and the OAuth token file holds no usable token", "path", c.cfg.TokenFile)
		return false
	}
	c.auth.set(tok.Value())
	c.log.InfoContext(ctx, "gitlab: answered 401; retrying once with the token re-read from the OAuth token file", "path", c.cfg.TokenFile)
	return true
}

// Stats counts the HTTP requests a client sent.
type Stats struct {
	// Requests counts every attempt, retries included.
	Requests int64
	// Retries counts the attempts that were retries.
	Retries int64
}

// Stats returns the client's request counters.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Retries: c.retries.Load()}
}

// groupSearchOff reports whether GitLab refused the group's blob search.
func (c *Client) groupSearchOff(fullPath string) bool {
	_, off := c.noGroupSearch.Load(fullPath)
	return off
}

// GraphQLEnabled reports whether enrichments are batched through GraphQL:
// on by config, and not turned off by GitLab answering it is unavailable.
func (c *Client) GraphQLEnabled() bool { return !c.graphQLOff.Load() }

// do sends one request with retries. build is called for every attempt
// (after the limiter admits it), decode with the body of a success.
//
// A success whose body is cut short or is not valid JSON is retried when
// the request is a read (GET, HEAD or a GraphQL query), as a connection
// reset would be; a request that cannot be sent as built
// (ErrInvalidRequest) is never retried.
func (c *Client) do(ctx context.Context, method, path string, build func() (*retryablehttp.Request, error), decode func([]byte) error) (*glapi.Response, error) {
	class := classify(method, path)
	tokenReloaded := false
	for attempt := 0; ; attempt++ {
		release, err := c.lim.acquire(ctx, class)
		if err != nil {
			return nil, err
		}
		req, err := build()
		if err != nil {
			release()
			return nil, fmt.Errorf("gitlab: build %s %s: %w", method, path, err)
		}
		buf := c.bufs.Get().(*bytes.Buffer)
		buf.Reset()
		c.requests.Add(1)
		resp, err := c.gl.Do(req, buf)
		release()
		if resp != nil {
			c.lim.observe(resp.Header)
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		switch {
		case err != nil && success(status):
			// client-go copies the body after the status line: a failure
			// here is the body cut short.
			err = &bodyError{op: "read", err: err}
		case err == nil && decode != nil:
			if derr := decode(buf.Bytes()); derr != nil {
				err = &bodyError{op: "decode", err: derr}
			}
		}
		c.putBuf(buf)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return resp, ctx.Err()
		}
		if errors.Is(err, ErrInvalidRequest) {
			return resp, fmt.Errorf("gitlab: %s %s: %w", method, path, err)
		}
		if status == 0 && isCertificateError(err) {
			// Answered the same way every time: retrying only delays the
			// message that says what to set.
			return resp, fmt.Errorf("gitlab: %s %s: GitLab's TLS certificate is not trusted (a private CA or a self-signed certificate? set OCEAN__SSL__THIRD_PARTY__CA_BUNDLE, or OCEAN__SSL__THIRD_PARTY__VERIFY=false): %w", method, path, err)
		}
		if status == http.StatusUnauthorized && c.cfg.TokenFile != "" && !tokenReloaded {
			// gitlab-v2's mid-session refresh: Port rewrites the file when
			// it refreshes the OAuth token; one retry, whatever the method.
			tokenReloaded = true
			if c.reloadToken(ctx) {
				c.retries.Add(1)
				continue
			}
		}
		if status == 0 && c.cfg.RequestTimeout > 0 && isTimeout(err) {
			err = &TimeoutError{Limit: c.cfg.RequestTimeout, Err: err}
		}
		wait, retry := c.retryDelay(resp, status, attempt)
		var be *bodyError
		if errors.As(err, &be) {
			retry = be.retryable() && isRead(method, path)
			wait = c.backoff(attempt)
		}
		if !retry || attempt >= c.cfg.MaxRetries {
			return resp, c.wrapErr(method, path, status, err)
		}
		if status == http.StatusTooManyRequests {
			// Endpoint limits answer 429 without rate-limit headers; the
			// per-user limit sends them and concerns every class.
			pc := class
			if resp.Header.Get("RateLimit-Limit") != "" || resp.Header.Get("RateLimit-Remaining") != "" {
				pc = classDefault
			}
			c.lim.pauseFor(pc, wait)
		}
		c.retries.Add(1)
		c.log.DebugContext(ctx, "gitlab: retrying request", "method", method, "path", path, "status", status, "attempt", attempt+1, "wait", wait, "error", err.Error())
		if status != http.StatusTooManyRequests {
			if err := c.sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
}

func success(status int) bool { return status >= 200 && status < 300 }

// TimeoutError is an attempt that got no complete answer within
// Config.RequestTimeout (OCEAN__CLIENT_TIMEOUT). It is retried like a lost
// connection; callers see it once the retries are spent.
type TimeoutError struct {
	Limit time.Duration
	Err   error
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timed out (OCEAN__CLIENT_TIMEOUT is %s): %v", e.Limit, e.Err)
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// isCertificateError reports a TLS handshake that failed on the server's
// certificate (unknown authority, wrong host name, expired).
func isCertificateError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

// isTimeout reports an attempt cut by the HTTP client's own timeout (the
// caller's context is checked before).
func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// isRead reports a request that changes nothing, so that repeating it after
// its answer was lost is safe: GET, HEAD and GraphQL queries (the client
// sends no mutations).
func isRead(method, path string) bool {
	return method == http.MethodGet || method == http.MethodHead || (method == http.MethodPost && path == "graphql")
}

// bodyError is a success answer whose body could not be read to its end or
// decoded.
type bodyError struct {
	op  string // "read" or "decode"
	err error
}

func (e *bodyError) Error() string { return e.op + " body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// retryable reports a failure that another attempt may not meet: the
// connection broke, or the JSON is cut or garbled (a proxy or a reset in
// the middle). A well-formed body of the wrong shape is answered the same
// way every time.
func (e *bodyError) retryable() bool {
	if e.op == "read" {
		return true
	}
	var syn *json.SyntaxError
	return errors.As(e.err, &syn) || errors.Is(e.err, io.ErrUnexpectedEOF)
}

func (c *Client) putBuf(b *bytes.Buffer) {
	if b.Cap() <= 4<<20 { // do not keep huge bodies alive
		c.bufs.Put(b)
	}
}

func (c *Client) wrapErr(method, path string, status int, err error) error {
	if status == 0 {
		return fmt.Errorf("gitlab: %s %s: %w", method, path, err)
	}
	if success(status) {
		// Not GitLab's refusal: the answer was lost on the way.
		return fmt.Errorf("gitlab: %s %s: %d answer: %w", method, path, status, err)
	}
	e := &APIError{Method: method, Path: path, StatusCode: status, Err: err}
	var er *glapi.ErrorResponse
	if errors.As(err, &er) {
		e.Message = er.Message
	}
	return e
}

// retryDelay decides whether an attempt is retried and after how long.
func (c *Client) retryDelay(resp *glapi.Response, status, attempt int) (time.Duration, bool) {
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout,
		status == http.StatusInternalServerError, status == http.StatusBadGateway,
		status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
		return c.retryWait(resp.Header, attempt), true
	case status == 0:
		// Transport error or an unreadable body: the request is a read
		// (GET, or a GraphQL query), so repeating it is safe.
		return c.backoff(attempt), true
	}
	return 0, false
}

// retryWait is the wait before retrying an answer: as long as GitLab asked
// (Retry-After, else RateLimit-Reset once the quota is spent, else
// RateLimit-ResetTime), even when that is shorter than the backoff, since
// GitLab's reset is exact; the backoff when it did not say. Never more
// than Config.MaxRetryWait.
func (c *Client) retryWait(h http.Header, attempt int) time.Duration {
	if d, ok := httpx.RetryAfter(h, c.lim.now()); ok && d > 0 {
		return min(d, c.cfg.MaxRetryWait)
	}
	return c.backoff(attempt)
}

// backoff is the wait before retrying attempt (0 for the first try) when
// GitLab did not say how long: exponential from 500 ms, jittered, at most
// 30 s and Config.MaxRetryWait.
func (c *Client) backoff(attempt int) time.Duration {
	p := httpx.RetryPolicy{BaseDelay: 500 * time.Millisecond, MaxDelay: min(30*time.Second, c.cfg.MaxRetryWait)}
	return p.Delay(attempt+1, 0)
}

func withQuery(q url.Values) glapi.RequestOptionFunc {
	return func(req *retryablehttp.Request) error {
		if len(q) > 0 {
			req.URL.RawQuery = q.Encode()
		}
		return nil
	}
}

func (c *Client) getRequest(ctx context.Context, path string, q url.Values, next glapi.RequestOptionFunc) func() (*retryablehttp.Request, error) {
	return func() (*retryablehttp.Request, error) {
		return c.gl.NewRequest(http.MethodGet, path, nil, []glapi.RequestOptionFunc{glapi.WithContext(ctx), withQuery(q), next})
	}
}

// Get fetches one object (or any JSON value) at path, relative to
// /api/v4/ with path parameters escaped (url.PathEscape), into out.
func (c *Client) Get(ctx context.Context, path string, q url.Values, out any) error {
	_, err := c.do(ctx, http.MethodGet, path, c.getRequest(ctx, path, q, nil), func(b []byte) error {
		return json.Unmarshal(b, out)
	})
	return err
}

// GetRaw fetches a non-JSON body, such as a file's raw content.
func (c *Client) GetRaw(ctx context.Context, path string, q url.Values) ([]byte, error) {
	var out []byte
	_, err := c.do(ctx, http.MethodGet, path, c.getRequest(ctx, path, q, nil), func(b []byte) error {
		out = bytes.Clone(b)
		return nil
	})
	return out, err
}

// Pages lists a collection and calls fn with each page of raw objects as it
// arrives, following keyset links (Link rel="next") or offset pages
// (X-Next-Page). per_page defaults to 100. fn may keep the page.
func (c *Client) Pages(ctx context.Context, path string, q url.Values, fn func(page []ocean.Item) error) error {
	return c.pages(ctx, path, q, nil, fn)
}

// pages is Pages decoding of each page's items only what proj keeps
// (whole items when proj, or what it returns, is nil).
func (c *Client) pages(ctx context.Context, path string, q url.Values, proj projection, fn func(page []ocean.Item) error) error {
	q = cloneValues(q)
	if q.Get("per_page") == "" {
		q.Set("per_page", perPage)
	}
	var next glapi.RequestOptionFunc
	lastLink := ""
	for {
		var page []ocean.Item
		var keys *jsonproj.Keys
		if proj != nil && !c.wholeJSON {
			keys = proj()
		}
		resp, err := c.do(ctx, http.MethodGet, path, c.getRequest(ctx, path, q, next), func(b []byte) error {
			var err error
			if c.wholeJSON {
				page, err = decodeItemsJSON(b)
			} else {
				page, err = decodeItems(b, keys)
			}
			return err
		})
		if err != nil {
			return err
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		n, ok := glapi.WithNext(resp)
		if !ok || len(page) == 0 {
			return nil
		}
		if resp.NextLink != "" {
			if resp.NextLink == lastLink {
				return fmt.Errorf("gitlab: GET %s: the next-page link repeats itself", path)
			}
			lastLink = resp.NextLink
		}
		next = n
	}
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q)+1)
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// GraphQLError is one entry of a GraphQL response's `errors`.
type GraphQLError struct {
	Message string `json:"message"`
	Path    []any  `json:"path,omitempty"`
}

// GraphQLResponse is a GraphQL answer: data (possibly partial) and errors.
type GraphQLResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []GraphQLError  `json:"errors"`
}

// GraphQL posts a query to the instance's /api/graphql. An error is
// returned for HTTP failures only; GraphQL errors are in the response.
func (c *Client) GraphQL(ctx context.Context, query string, vars map[string]any) (*GraphQLResponse, error) {
	var out GraphQLResponse
	err := c.graphQL(ctx, query, vars, func(b []byte) error {
		return json.Unmarshal(b, &out)
	})
	if err != nil {
		if ge, ok := graphQLErrorDocument(err); ok {
			return ge, nil
		}
		return nil, err
	}
	return &out, nil
}

// graphQLAnswer is a GraphQL answer whose data is decoded as T.
type graphQLAnswer[T any] struct {
	Data   T              `json:"data"`
	Errors []GraphQLError `json:"errors"`
	// DataErr is set when the answer is JSON whose data does not decode
	// as T; Data is then the zero value and Errors are still read.
	DataErr error `json:"-"`
}

// graphQLTyped is GraphQL with the data decoded as T in the same pass as
// the rest of the answer. GraphQL's json.RawMessage costs a second scan
// and a copy of the data, which for a batch of included files (READMEs,
// CODEOWNERS) is most of the answer. What an answer leads to is what
// GraphQL followed by json.Unmarshal of its Data into T leads to: an
// answer that is not JSON is the request's error (retried as a garbled
// body), data of the wrong shape is DataErr, a 400 carrying a GraphQL
// error document is that document.
func graphQLTyped[T any](ctx context.Context, c *Client, query string, vars map[string]any) (*graphQLAnswer[T], error) {
	body, err := graphQLBody(query, vars)
	if err != nil {
		return nil, fmt.Errorf("gitlab: build POST graphql: %w", err)
	}
	return graphQLAnswerOf(ctx, c, body, decodeAnswer[T])
}

// graphQLAnswerOf is graphQLTyped for a request body built by the caller,
// with the body of a success decoded by decode: decodeAnswer, or a decoder
// that answers exactly as it does.
func graphQLAnswerOf[T any](ctx context.Context, c *Client, body []byte, decode func([]byte) (graphQLAnswer[T], error)) (*graphQLAnswer[T], error) {
	var out graphQLAnswer[T]
	err := c.graphQLPost(ctx, body, func(b []byte) error {
		var err error
		out, err = decode(b)
		return err
	})
	if err != nil {
		ge, ok := graphQLErrorDocument(err)
		if !ok {
			return nil, err
		}
		out = answerOf[T](ge)
	}
	return &out, nil
}

// decodeAnswer decodes the body of a successful GraphQL request as
// graphQLTyped describes.
func decodeAnswer[T any](b []byte) (graphQLAnswer[T], error) {
	var out graphQLAnswer[T]
	if json.Unmarshal(b, &out) == nil {
		return out, nil
	}
	// Rare: tell a body that is not a GraphQL answer (the request's
	// error, as GraphQL has it) from data of the wrong shape, as the
	// two steps did.
	var env GraphQLResponse
	if err := json.Unmarshal(b, &env); err != nil {
		return graphQLAnswer[T]{}, err
	}
	return answerOf[T](&env), nil
}

// answerOf decodes a GraphQLResponse's data as T.
func answerOf[T any](r *GraphQLResponse) graphQLAnswer[T] {
	out := graphQLAnswer[T]{Errors: r.Errors}
	if len(r.Data) > 0 {
		if err := json.Unmarshal(r.Data, &out.Data); err != nil {
			var zero T
			out.Data, out.DataErr = zero, err
		}
	}
	return out
}

// graphQL posts a query and hands decode the body of a success.
func (c *Client) graphQL(ctx context.Context, query string, vars map[string]any, decode func([]byte) error) error {
	body, err := graphQLBody(query, vars)
	if err != nil {
		return fmt.Errorf("gitlab: build POST graphql: %w", err)
	}
	return c.graphQLPost(ctx, body, decode)
}

// graphQLBody is the request body of a query: the bytes client-go's
// NewRequest makes of a glapi.GraphQLQuery (json.Marshal), with the query
// escaped straight into them rather than through reflection.
func graphQLBody(query string, vars map[string]any) ([]byte, error) {
	b := make([]byte, 0, len(query)+len(query)/8+64)
	b = append(b, `{"query":`...)
	b = jsonenc.AppendString(b, query, true) // json.Marshal escapes HTML
	if len(vars) > 0 {
		v, err := json.Marshal(vars)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"variables":`...)
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// graphQLPost posts a request body (graphQLBody's) to the instance's
// /api/graphql and hands decode the body of a success. The body is built
// once for all attempts, and given to client-go as it stands: handed a
// GraphQLQuery, NewRequest would marshal it again for every attempt.
func (c *Client) graphQLPost(ctx context.Context, body []byte, decode func([]byte) error) error {
	const path = "graphql"
	setBody := func(req *retryablehttp.Request) error { return req.SetBody(body) }
	build := func() (*retryablehttp.Request, error) {
		// A POST without a body to marshal still gets client-go's headers
		// (Content-Type: application/json among them).
		req, err := c.gl.NewRequest(http.MethodPost, "", nil, []glapi.RequestOptionFunc{glapi.WithContext(ctx), setBody})
		if err != nil {
			return nil, err
		}
		// client-go resolves against /api/v4/; GraphQL lives beside it,
		// under the same path prefix.
		req.URL.Path = strings.TrimSuffix(req.URL.Path, "api/v4/") + "api/graphql"
		req.URL.RawPath = ""
		return req, nil
	}
	_, err := c.do(ctx, http.MethodPost, path, build, decode)
	return err
}

// graphQLErrorDocument returns the GraphQL errors of a 400 answer, which
// GitLab sends for a query it refuses as a whole.
func graphQLErrorDocument(err error) (*GraphQLResponse, bool) {
	var er *glapi.ErrorResponse
	if StatusCode(err) == http.StatusBadRequest && errors.As(err, &er) {
		var ge GraphQLResponse
		if json.Unmarshal(er.Body, &ge) == nil && len(ge.Errors) > 0 {
			return &ge, true
		}
	}
	return nil, false
}

// gqlMissingField is GitLab's answer to a query asking for a field its
// schema lacks (graphql-ruby's wording).
var gqlMissingField = regexp.MustCompile(`Field '([^']+)' doesn't exist on type '([^']+)'`)

// schemaMismatch reports whether GitLab refused a query for a field its
// GraphQL schema lacks (an older GitLab). GraphQL is then turned off for
// the client's life, with one warning: every later query would fail the
// same way, and REST reads the same data.
func (c *Client) schemaMismatch(ctx context.Context, errs []GraphQLError) bool {
	for _, ge := range errs {
		m := gqlMissingField.FindStringSubmatch(ge.Message)
		if m == nil {
			continue
		}
		if c.graphQLOff.CompareAndSwap(false, true) {
			c.log.WarnContext(ctx, "gitlab: this GitLab's GraphQL API has no "+m[2]+"."+m[1]+" (an older version); languages, included files and file contents are read over REST",
				"version", c.serverVersion(ctx).String())
		}
		return true
	}
	return false
}

// serverVersion is GitLab's version as GET /version reports it.
type serverVersion struct {
	major, minor int
	known        bool
}

// String is "major.minor", or "unknown".
func (v serverVersion) String() string {
	if !v.known {
		return "unknown"
	}
	return strconv.Itoa(v.major) + "." + strconv.Itoa(v.minor)
}

// atLeast reports whether GitLab is at least major.minor; an unknown
// version is not.
func (v serverVersion) atLeast(major, minor int) bool {
	return v.known && (v.major > major || (v.major == major && v.minor >= minor))
}

// serverVersion reads GitLab's version once per client. A 4xx (a token
// without the scope, an instance hiding it) is remembered as unknown; other
// failures are not remembered, so a later call asks again.
func (c *Client) serverVersion(ctx context.Context) serverVersion {
	c.versionMu.Lock()
	defer c.versionMu.Unlock()
	if c.version != nil {
		return *c.version
	}
	var body struct {
		Version string `json:"version"`
	}
	err := c.Get(ctx, "version", nil, &body)
	var v serverVersion
	switch s := StatusCode(err); {
	case err == nil:
		_, perr := fmt.Sscanf(body.Version, "%d.%d", &v.major, &v.minor)
		v.known = perr == nil
	case s >= 400 && s < 500:
	default:
		c.log.DebugContext(ctx, "gitlab: version unknown", "error", err)
		return v
	}
	c.version = &v
	return v
}

// decodeItems decodes a JSON array of objects, keeping of each only what
// keys keeps (all when nil). jsonproj decodes exactly as
// encoding/json would into []any, in less than half its time even for
// whole items, and skips building the values of the keys it does not
// keep. It decodes into []any and converts: a named map type
// (ocean.Item) would be filled key by key through reflection.
func decodeItems(b []byte, keys *jsonproj.Keys) ([]ocean.Item, error) {
	raw, err := jsonproj.Unmarshal(b, keys)
	if err != nil {
		return nil, err
	}
	return itemsOf(raw)
}

// decodeItemsJSON is decodeItems with encoding/json, whole: what the
// kill switch of field projection uses, so that it also takes jsonproj
// out of the way.
func decodeItemsJSON(b []byte) ([]ocean.Item, error) {
	var raw []any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	return itemsOf(raw)
}

// itemsOf converts a decoded list to items: objects, and nil for null.
func itemsOf(raw []any) ([]ocean.Item, error) {
	page := make([]ocean.Item, len(raw))
	for i, v := range raw {
		switch m := v.(type) {
		case map[string]any:
			page[i] = m
		case nil:
			// a null element decodes to a nil Item, as before
		default:
			return nil, fmt.Errorf("gitlab: list element %d is %T, not an object", i, v)
		}
	}
	return page, nil
}

// checkedClient returns a copy of hc whose transport refuses, before
// anything is sent, a request that net/http would refuse anyway, so the
// refusal is typed (ErrInvalidRequest) and never retried.
func checkedClient(hc *http.Client) *http.Client {
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cp := *hc
	cp.Transport = checkedTransport{next: next}
	return &cp
}

type checkedTransport struct{ next http.RoundTripper }

func (t checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkRequest(req); err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper always closes the body
		}
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// checkRequest refuses, with ErrInvalidRequest, a request net/http would
// refuse to send (see httpcheck.Request).
func checkRequest(req *http.Request) error {
	if err := httpcheck.Request(req); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return nil
}
