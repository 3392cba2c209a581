package httpx

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBodyBytes bounds one answer's body (see WithMaxBodyBytes).
const DefaultMaxBodyBytes = 32 << 20

// Client calls one API. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	hc        *http.Client
	headers   http.Header
	secrets   []string
	retry     RetryPolicy
	maxBody   int64
	limiter   *limiter
	userAgent string
	now       func() time.Time
}

// Option configures a Client. Options validate what they are given.
type Option func(*Client) error

// New returns a Client for the API at baseURL (http or https); request
// paths are relative to it.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("httpx: base URL %q: want http(s)://host[/path]", baseURL)
	}
	c := &Client{base: u, hc: &http.Client{Timeout: time.Minute}, headers: http.Header{},
		retry: DefaultRetryPolicy(), maxBody: DefaultMaxBodyBytes, now: time.Now}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, fmt.Errorf("httpx: %w", err)
		}
	}
	return c, nil
}

// WithHTTPClient sends requests with hc (its transport, timeout, TLS).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("nil http.Client")
		}
		c.hc = hc
		return nil
	}
}

// WithBearerToken authenticates with "Authorization: Bearer token".
func WithBearerToken(token string) Option {
	if strings.TrimSpace(token) == "" {
		return func(*Client) error { return errors.New("bearer token: empty credential") }
	}
	return WithSecretHeader("Authorization", "Bearer "+token)
}

// WithBasicAuth authenticates with HTTP basic authentication.
func WithBasicAuth(user, password string) Option {
	return func(c *Client) error {
		v := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
		c.secrets = append(c.secrets, password, v)
		c.headers.Set("Authorization", v)
		return nil
	}
}

// WithSecretHeader sends a header whose value is a credential (an API
// key): it never appears in errors.
func WithSecretHeader(name, value string) Option {
	return func(c *Client) error {
		if strings.TrimSpace(value) == "" {
			return fmt.Errorf("header %s: empty credential", name)
		}
		c.secrets = append(c.secrets, value)
		if _, tok, ok := strings.Cut(value, " "); ok && len(tok) >= 4 {
			c.secrets = append(c.secrets, tok)
		}
		c.headers.Set(name, value)
		return nil
	}
}

// WithHeader sends a header with every request.
func WithHeader(name, value string) Option {
	return func(c *Client) error {
		c.headers.Set(name, value)
		return nil
	}
}

// WithUserAgent sets the User-Agent.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// WithRetry sets the retry policy; MaxAttempts 1 turns retries off.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.MaxAttempts < 1 || p.BaseDelay < 0 || p.MaxDelay < 0 {
			return fmt.Errorf("retry policy %+v: MaxAttempts must be at least 1 and the delays not negative", p)
		}
		c.retry = p
		return nil
	}
}

// WithRateLimit sends at most perSecond requests a second on average, with
// bursts of up to burst requests.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *Client) error {
		if perSecond <= 0 || burst < 1 {
			return fmt.Errorf("rate limit %g/s burst %d: both must be positive", perSecond, burst)
		}
		c.limiter = &limiter{interval: time.Duration(float64(time.Second) / perSecond), burst: burst}
		return nil
	}
}

// WithMaxBodyBytes bounds one answer's body (default DefaultMaxBodyBytes);
// a larger one is an error rather than memory the sync does not have.
func WithMaxBodyBytes(n int64) Option {
	return func(c *Client) error {
		if n <= 0 {
			return fmt.Errorf("max body bytes %d: must be positive", n)
		}
		c.maxBody = n
		return nil
	}
}

// StatusError is an answer outside 2xx, after retries.
type StatusError struct {
	Method string
	// URL is the request's URL without its query values.
	URL    string
	Status int
	// Body is the start of the answer's body, credentials removed.
	Body string
	// Header is the answer's header.
	Header http.Header
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// IsStatus reports whether err is a StatusError with one of the statuses.
func IsStatus(err error, statuses ...int) bool {
	var se *StatusError
	if !errors.As(err, &se) {
		return false
	}
	for _, s := range statuses {
		if se.Status == s {
			return true
		}
	}
	return false
}

// Response is an answer in 2xx, its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request to path (relative to the base URL) with retries and
// returns the answer when its status is 2xx, else a *StatusError. body,
// if not nil, is sent as JSON. GET, HEAD, PUT, DELETE and OPTIONS are
// retried on every retryable answer; POST and PATCH only on 429 and 503
// and on connection errors before anything was sent.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body any) (*Response, error) {
	u, err := c.resolve(path, query)
	if err != nil {
		return nil, err
	}
	var payload []byte
	if body != nil {
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("httpx: %s %s: encode body: %w", method, redactURL(u), err)
		}
	}
	return c.send(ctx, method, u, payload)
}

// GetJSON fetches path and decodes its JSON answer into out.
func (c *Client) GetJSON(ctx context.Context, path string, query url.Values, out any) error {
	resp, err := c.Do(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("httpx: GET %s: decode answer: %w", c.show(path), err)
	}
	return nil
}

func (c *Client) show(path string) string {
	u, err := c.resolve(path, nil)
	if err != nil {
		return path
	}
	return redactURL(u)
}

// resolve joins path to the base URL. An absolute URL (a next-page link)
// must point at the base URL's host: the credentials go nowhere else.
func (c *Client) resolve(path string, query url.Values) (*url.URL, error) {
	var u *url.URL
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		p, err := url.Parse(path)
		if err != nil {
			return nil, fmt.Errorf("httpx: URL %q: %w", redactURLString(path), err)
		}
		if p.Host != c.base.Host || p.Scheme != c.base.Scheme {
			return nil, fmt.Errorf("httpx: %s is not on %s://%s: not sending the credentials there", redactURL(p), c.base.Scheme, c.base.Host)
		}
		u = p
	} else {
		ref, err := url.Parse(strings.TrimLeft(path, "/"))
		if err != nil {
			return nil, fmt.Errorf("httpx: path %q: %w", path, err)
		}
		base := *c.base
		base.Path = strings.TrimRight(base.Path, "/") + "/"
		base.RawPath = ""
		u = base.ResolveReference(ref)
	}
	if len(query) > 0 {
		q := u.Query()
		for k, vs := range query {
			q[k] = append([]string(nil), vs...)
		}
		u.RawQuery = q.Encode()
	}
	return u, nil
}

func (c *Client) send(ctx context.Context, method string, u *url.URL, payload []byte) (*Response, error) {
	idempotent := method != http.MethodPost && method != http.MethodPatch
	for attempt := 1; ; attempt++ {
		if c.limiter != nil {
			if err := c.limiter.wait(ctx); err != nil {
				return nil, err
			}
		}
		resp, err := c.once(ctx, method, u, payload)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var hint time.Duration
		retry := false
		var se *StatusError
		switch {
		case errors.As(err, &se):
			retry = RetryableStatus(se.Status) && (idempotent || se.Status == http.StatusTooManyRequests || se.Status == http.StatusServiceUnavailable)
			hint, _ = RetryAfter(se.Header, c.now())
		case errors.Is(err, errTooLarge):
		default:
			retry = idempotent || isDialError(err)
		}
		if !retry || attempt >= c.retry.MaxAttempts {
			return nil, err
		}
		if err := Sleep(ctx, c.retry.Delay(attempt, hint)); err != nil {
			return nil, err
		}
	}
}

var errTooLarge = errors.New("answer larger than the client's body limit")

func (c *Client) once(ctx context.Context, method string, u *url.URL, payload []byte) (*Response, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("httpx: %s %s: %w", method, redactURL(u), err)
	}
	for k, vs := range c.headers {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("httpx: %s %s: %s", method, redactURL(u), c.redact(errorText(err)))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("httpx: %s %s: read answer: %s", method, redactURL(u), c.redact(errorText(err)))
	}
	if int64(len(b)) > c.maxBody {
		return nil, fmt.Errorf("httpx: %s %s: %w (%d bytes)", method, redactURL(u), errTooLarge, c.maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &StatusError{Method: method, URL: redactURL(u), Status: resp.StatusCode, Body: c.redact(excerpt(b)), Header: resp.Header}
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// errorText is an error's text without the URL net/http puts in it (its
// query may hold credentials).
func errorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func isDialError(err error) bool {
	return strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host")
}

func (c *Client) redact(s string) string {
	for _, sec := range c.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return s
}

// redactURL renders u without query values or user info: they may hold
// credentials.
func redactURL(u *url.URL) string {
	v := *u
	v.User = nil
	if v.RawQuery != "" {
		q := v.Query()
		for k := range q {
			q[k] = []string{"…"}
		}
		v.RawQuery = strings.ReplaceAll(q.Encode(), "%E2%80%A6", "…")
	}
	return v.String()
}

func redactURLString(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i]
	}
	return s
}

// limiter spaces requests interval apart on average, allowing bursts.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	burst    int
	next     time.Time // when the bucket is full again, minus burst slots
}

func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	earliest := now.Add(-time.Duration(l.burst-1) * l.interval)
	if l.next.Before(earliest) {
		l.next = earliest
	}
	at := l.next
	l.next = l.next.Add(l.interval)
	l.mu.Unlock()
	return Sleep(ctx, at.Sub(now))
}

// pageConfig is how Pages finds the items and the next page.
type pageConfig struct {
	itemsAt     string
	cursorParam string
	cursorAt    string
}

// PageOption tells Pages how an API pages.
type PageOption func(*pageConfig)

// ItemsAt says the items are the array in this field of an object answer
// (for example "data"); by default the answer is the array itself.
func ItemsAt(field string) PageOption {
	return func(p *pageConfig) { p.itemsAt = field }
}

// Cursor says the next page is asked for with query parameter param set
// to the value of the answer's field at (dotted, e.g. "meta.next_cursor");
// an empty or missing value ends the walk. Without it, Pages follows the
// Link header's rel="next", then X-Next-Page.
func Cursor(param, at string) PageOption {
	return func(p *pageConfig) { p.cursorParam, p.cursorAt = param, at }
}

// Pages walks a paginated collection from path and calls fn with each
// page's items, in order, as pages arrive. It stops at the first error,
// from the API or from fn.
func (c *Client) Pages(ctx context.Context, path string, query url.Values, fn func(items []map[string]any) error, opts ...PageOption) error {
	var pc pageConfig
	for _, o := range opts {
		o(&pc)
	}
	q := url.Values{}
	for k, vs := range query {
		q[k] = append([]string(nil), vs...)
	}
	next := path
	for page := 1; ; page++ {
		resp, err := c.Do(ctx, http.MethodGet, next, q, nil)
		if err != nil {
			return err
		}
		items, body, err := decodePage(resp.Body, pc.itemsAt)
		if err != nil {
			return fmt.Errorf("httpx: GET %s (page %d): %w", c.show(next), page, err)
		}
		if len(items) > 0 {
			if err := fn(items); err != nil {
				return err
			}
		}
		switch {
		case pc.cursorParam != "":
			cur := lookup(body, pc.cursorAt)
			if cur == "" || len(items) == 0 {
				return nil
			}
			q.Set(pc.cursorParam, cur)
		case linkNext(resp.Header) != "":
			// The link carries the whole query.
			next, q = linkNext(resp.Header), nil
		case resp.Header.Get("X-Next-Page") != "":
			if q == nil {
				q = url.Values{}
			}
			q.Set("page", strings.TrimSpace(resp.Header.Get("X-Next-Page")))
		default:
			return nil
		}
		if len(items) == 0 && pc.cursorParam == "" {
			return nil
		}
	}
}

func decodePage(b []byte, at string) ([]map[string]any, map[string]any, error) {
	if at == "" {
		var raw []any
		if err := json.Unmarshal(b, &raw); err == nil {
			items, err := objects(raw)
			return items, nil, err
		}
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, nil, fmt.Errorf("answer is not JSON: %w", err)
	}
	if at == "" {
		return nil, nil, errors.New("answer is an object, not an array: say where the items are with httpx.ItemsAt")
	}
	raw, ok := obj[at].([]any)
	if !ok && obj[at] != nil {
		return nil, nil, fmt.Errorf("answer's %q is not an array", at)
	}
	items, err := objects(raw)
	return items, obj, err
}

func objects(raw []any) ([]map[string]any, error) {
	items := make([]map[string]any, 0, len(raw))
	for i, v := range raw {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("item %d is not an object", i)
		}
		items = append(items, m)
	}
	return items, nil
}

func lookup(obj map[string]any, dotted string) string {
	var v any = obj
	for _, k := range strings.Split(dotted, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return ""
}

// linkNext returns the rel="next" target of a Link header, or "".
func linkNext(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, part := range strings.Split(v, ",") {
			target, params, ok := strings.Cut(part, ";")
			if !ok {
				continue
			}
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && strings.Trim(val, `"`) == "next" {
					return strings.Trim(strings.TrimSpace(target), "<>")
				}
			}
		}
	}
	return ""
}
