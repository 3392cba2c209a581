package port

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oceankit/oceankit/httpx"
	"github.com/oceankit/oceankit/internal/httpcheck"
)

// RetryPolicy bounds how failed requests are retried.
//
// The n-th retry waits BaseDelay·2^(n-1) with ±25 % jitter, at most MaxDelay; when Port
// sends Retry-After or x-ratelimit-reset the wait is at least that, still capped at
// MaxDelay. MaxAttempts counts every send (1 means no retries). A zero BaseDelay retries
// at once, which keeps tests fast.
type RetryPolicy struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
}

// DefaultRetryPolicy returns the policy used unless WithRetryPolicy is given: 10 attempts,
// 300 ms doubling, waits of at most 2 minutes (Port's rate-limit window is 5 minutes).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 10, BaseDelay: 300 * time.Millisecond, MaxDelay: 2 * time.Minute}
}

func (p RetryPolicy) backoff(attempt int, hint time.Duration) time.Duration {
	return httpx.RetryPolicy(p).Delay(attempt, hint)
}

// retryableStatus: timeouts, rate limits and gateway errors. 500 is not retried: Port
// answers it for bugs that a retry does not fix.
func retryableStatus(s int) bool {
	switch s {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter reads Retry-After (seconds or HTTP date), then x-ratelimit-reset.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if secs, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && secs >= 0 {
			return time.Duration(secs * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if at, ok := resetTime(h, now); ok && h.Get(headerRateLimitRemaining) == "0" {
		return max(at.Sub(now), 0)
	}
	return 0
}

// resetTime parses x-ratelimit-reset. Port's docs disagree between "seconds until reset"
// and "epoch seconds"; like Ocean, values above 10,000 are taken as epoch seconds. ISO
// dates are accepted too.
func resetTime(h http.Header, now time.Time) (time.Time, bool) {
	v := strings.TrimSpace(h.Get(headerRateLimitReset))
	if v == "" {
		return time.Time{}, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
		if f > 10000 {
			return time.Unix(0, int64(f*float64(time.Second))), true
		}
		return now.Add(time.Duration(f * float64(time.Second))), true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// Request classes have separate Port rate-limit buckets.
const (
	classOther = iota
	classEntities
	classAuth
	numClasses
)

func classify(cl *call) int {
	switch {
	case cl.noAuth:
		return classAuth
	case strings.Contains(cl.path, "/entities"):
		return classEntities
	}
	return classOther
}

// pacer spreads Port's remaining rate-limit budget over the rest of the window once it
// runs low, so that a long sync slows down smoothly instead of hitting 429.
type pacer struct {
	mu sync.Mutex
	b  [numClasses]bucket
}

type bucket struct {
	known     bool
	limit     int
	remaining int
	reset     time.Time
	next      time.Time // earliest start of the next paced request
}

// paceBelow is the fraction of the limit under which requests are spread out.
const paceBelow = 0.2

// reserve takes one request from the class's budget and says how long to wait first.
func (p *pacer) reserve(class int, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := &p.b[class]
	if !b.known {
		return 0
	}
	if !now.Before(b.reset) {
		b.known = false
		return 0
	}
	if float64(b.remaining) > paceBelow*float64(b.limit) {
		b.remaining--
		return 0
	}
	var at time.Time
	if b.remaining <= 0 {
		// Budget spent: everyone waits for the window to reset, then the next answer
		// tells us the new budget.
		at = b.reset
	} else {
		interval := b.reset.Sub(now) / time.Duration(b.remaining+1)
		at = now
		if b.next.After(now) {
			at = b.next
		}
		b.next = at.Add(interval)
		if at.After(b.reset) {
			at = b.reset
		}
	}
	b.remaining--
	return at.Sub(now)
}

// observe records the budget Port reported in an answer's x-ratelimit-* headers.
func (p *pacer) observe(class int, h http.Header, now time.Time) {
	rem := h.Get(headerRateLimitRemaining)
	if rem == "" {
		return
	}
	remaining, err := strconv.Atoi(strings.TrimSpace(rem))
	if err != nil {
		return
	}
	limit, _ := strconv.Atoi(strings.TrimSpace(h.Get(headerRateLimitLimit)))
	reset, ok := resetTime(h, now)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b := &p.b[class]
	if b.known && !reset.After(b.reset.Add(time.Second)) && remaining > b.remaining {
		// Answers arrive out of order; within one window keep the lower (newer) count.
		return
	}
	if !b.known || reset.After(b.reset.Add(time.Second)) {
		b.next = time.Time{}
	}
	b.known = true
	b.limit = max(limit, remaining)
	b.remaining = remaining
	b.reset = reset
}

// Port's answer headers, in canonical form: Header.Get with another form
// allocates the canonical one on every call, and every answer is read.
const (
	headerTraceID            = "X-Trace-Id"
	headerRateLimitRemaining = "X-Ratelimit-Remaining"
	headerRateLimitLimit     = "X-Ratelimit-Limit"
	headerRateLimitReset     = "X-Ratelimit-Reset"
)

// ErrInvalidRequest is wrapped by the error of a request that could not be
// sent as it was built: a header value with a control character (a User-Agent
// made from an identifier with a newline), an unusable URL. Sending it again
// fails the same way, so it is never retried.
var ErrInvalidRequest = errors.New("port: request cannot be sent")

// checkRequest refuses, with ErrInvalidRequest, a request net/http would
// refuse to send (see httpcheck.Request).
func checkRequest(req *http.Request) error {
	if err := httpcheck.Request(req); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return nil
}
