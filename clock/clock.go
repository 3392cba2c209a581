// Package clock is the time source of the ocean framework (ocean.WithClock):
// the real one, and a fake that tests advance by hand so that schedules run
// without sleeping.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and makes tickers.
type Clock interface {
	Now() time.Time
	NewTicker(d time.Duration) Ticker
}

// Ticker delivers ticks on C until stopped.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTicker returns a time.Ticker.
func (Real) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

// Fake is a clock that moves only when Advance is called.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*fakeTicker
	created chan struct{}
}

// NewFake returns a fake clock set to start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, created: make(chan struct{}, 64)}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTicker returns a ticker that fires as Advance passes its period.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	f.mu.Lock()
	t := &fakeTicker{f: f, period: d, next: f.now.Add(d), c: make(chan time.Time, 1)}
	f.tickers = append(f.tickers, t)
	f.mu.Unlock()
	select {
	case f.created <- struct{}{}:
	default:
	}
	return t
}

// WaitTickers blocks until at least n tickers exist, so a test can advance
// the clock only once the code under test is listening.
func (f *Fake) WaitTickers(n int) {
	for {
		f.mu.Lock()
		c := 0
		for _, t := range f.tickers {
			if !t.stopped {
				c++
			}
		}
		f.mu.Unlock()
		if c >= n {
			return
		}
		<-f.created
	}
}

// Advance moves the clock forward and fires every ticker whose time came.
// Like time.Ticker, a ticker drops ticks its reader has not taken.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	now := f.now
	ts := append([]*fakeTicker(nil), f.tickers...)
	f.mu.Unlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].next.Before(ts[j].next) })
	for _, t := range ts {
		t.fire(now)
	}
}

type fakeTicker struct {
	f       *Fake
	period  time.Duration
	next    time.Time
	c       chan time.Time
	stopped bool
}

func (t *fakeTicker) C() <-chan time.Time { return t.c }

func (t *fakeTicker) Stop() {
	t.f.mu.Lock()
	t.stopped = true
	t.f.mu.Unlock()
}

func (t *fakeTicker) fire(now time.Time) {
	t.f.mu.Lock()
	if t.stopped || now.Before(t.next) {
		t.f.mu.Unlock()
		return
	}
	for !now.Before(t.next) {
		t.next = t.next.Add(t.period)
	}
	t.f.mu.Unlock()
	select {
	case t.c <- now:
	default:
	}
}
