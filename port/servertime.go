package port

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/oceankit/oceankit/clock"
)

// serverClock follows Port's clock through the Date header of its answers,
// so that a caller can compare its own instants with the timestamps Port
// puts on entities without trusting this host's clock to agree with Port's.
//
// A Date header is truncated to the second and was stamped before the
// answer left Port, so date plus the time elapsed here since the answer
// arrived never runs ahead of Port's clock: the estimate errs early, by up
// to a second plus one network latency.
type serverClock struct {
	mu    sync.Mutex
	has   bool
	date  time.Time // Port's clock, as estimated when local was read
	local time.Time // this process's clock (with its monotonic reading)
}

// serverClockFresh is how long one observation is combined with the next:
// both are lower bounds of Port's clock, so the later of the two estimates
// is the tighter one, but over hours the two clocks drift apart.
const serverClockFresh = 10 * time.Minute

func (s *serverClock) observe(h http.Header, local time.Time) {
	v := h.Get("Date")
	if v == "" {
		return
	}
	date, err := http.ParseTime(v)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.has {
		elapsed := local.Sub(s.local)
		if elapsed < 0 {
			return // answers observed out of order: keep the newer one
		}
		if elapsed < serverClockFresh {
			if prev := s.date.Add(elapsed); prev.After(date) {
				date = prev
			}
		}
	}
	s.has, s.date, s.local = true, date, local
}

func (s *serverClock) estimate(local time.Time, maxAge time.Duration) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.has {
		return time.Time{}, false
	}
	elapsed := local.Sub(s.local)
	if elapsed < 0 || elapsed > maxAge {
		return time.Time{}, false
	}
	return s.date.Add(elapsed), true
}

// ServerTime estimates Port's clock now, from the Date header of the
// newest answer the client received no more than maxAge ago. The estimate
// never runs ahead of Port's clock; it may lag it by up to a second plus one
// round trip. ok is false when no such answer carried a Date header: make
// any request (even one Port refuses) and ask again.
//
// The sync uses it to tell the entities Port stamped before a resync
// started from those written during it, whatever this host's clock says.
func (c *Client) ServerTime(maxAge time.Duration) (t time.Time, ok bool) {
	return c.serverClock.estimate(c.clock.Now(), maxAge)
}

// WithClock sets the clock behind token renewal, rate-limit pacing, the
// estimate of Port's clock (ServerTime) and the waits before retries, for
// tests that move time by hand (clock.Fake).
func WithClock(c clock.Clock) Option {
	return func(cl *Client) error {
		if c == nil {
			return errors.New("port: WithClock: nil clock")
		}
		cl.clock = c
		return nil
	}
}
