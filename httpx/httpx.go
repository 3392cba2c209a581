// Package httpx is the HTTP toolkit for talking to a third-party API from
// a provider: what every integration otherwise writes again, and usually
// without retries.
//
// Start here: New makes a Client for an API's base URL, with its
// authentication (WithBearerToken, WithHeader), a retry policy (on by
// default: 408, 429 and 5xx answers and network errors are retried with
// exponential backoff, honouring Retry-After and rate-limit reset headers)
// and an optional request rate (WithRateLimit). GetJSON fetches one
// document; Pages walks a paginated collection (Link rel="next",
// X-Next-Page, or a cursor you read from the body) and hands each page of
// items to a function, the shape an ocean.Kind's Fetch sends on.
//
// Errors name the method, the URL without its query values and the status,
// with a short excerpt of the body; the credentials given to the Client
// never appear in them.
//
// RetryPolicy, RetryAfter and Sleep are the retry core oceankit's own
// GitLab and Port clients use too.
package httpx

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds how failed requests are retried. The n-th retry
// waits BaseDelay·2^(n-1) with ±25% jitter, at most MaxDelay; when the
// server says how long to wait (Retry-After, rate-limit reset headers) the
// wait is at least that, still capped at MaxDelay. MaxAttempts counts
// every send: 1 means no retries.
type RetryPolicy struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
}

// DefaultRetryPolicy is 5 attempts, from 500 ms doubling, each wait at
// most 30 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}
}

// Delay returns how long to wait before retry number attempt (1 for the
// first retry), given the wait the server asked for (0 if none).
func (p RetryPolicy) Delay(attempt int, hint time.Duration) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	if d > 0 {
		// Jitter, so that many requests failing together do not retry
		// together.
		d = d*3/4 + time.Duration(rand.Int64N(int64(d)/2+1))
	}
	d = max(d, hint)
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d
}

// RetryableStatus reports whether an answer with this status is worth
// sending again: request timeouts, rate limits and server errors (501 Not
// Implemented excepted).
func RetryableStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return true
	case status >= 500 && status != http.StatusNotImplemented:
		return true
	}
	return false
}

// RetryAfter returns how long the server asked to wait, and whether it
// said: Retry-After (seconds or an HTTP date), then RateLimit-Reset and
// X-RateLimit-Reset (seconds to wait, or a Unix time when larger than ten
// years of seconds), then RateLimit-ResetTime (an HTTP date). The reset
// headers count only when the remaining quota is 0 or not given.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
			return time.Duration(secs * float64(time.Second)), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	exhausted := func(name string) bool {
		v := strings.TrimSpace(h.Get(name))
		return v == "" || v == "0"
	}
	for _, p := range [...][2]string{{"RateLimit-Reset", "RateLimit-Remaining"}, {"X-RateLimit-Reset", "X-RateLimit-Remaining"}} {
		v := strings.TrimSpace(h.Get(p[0]))
		if v == "" || !exhausted(p[1]) {
			continue
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
			if n > 10*365*24*3600 {
				return max(time.Unix(int64(n), 0).Sub(now), 0), true
			}
			return time.Duration(n * float64(time.Second)), true
		}
	}
	if v := strings.TrimSpace(h.Get("RateLimit-ResetTime")); v != "" {
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	return 0, false
}

// Sleep waits for d, or until ctx is done (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
