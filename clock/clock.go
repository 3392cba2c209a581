// Package clock is the time source of the ocean framework (ocean.WithClock):
// the real one, and a fake that tests advance by hand so that schedules run
// without sleeping.
package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Clock tells the time, makes tickers and waits. Everything in oceankit
// that waits (retry backoffs, pauses, polls, schedules) waits on one, so a
// test that gives a Fake controls all of it.
type Clock interface {
	Now() time.Time
	NewTicker(d time.Duration) Ticker
	// Sleep waits for d or until ctx is done, whichever comes first, and
	// returns ctx's error in the second case.
	Sleep(ctx context.Context, d time.Duration) error
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

// Sleep waits on a timer, or until ctx is done.
func (Real) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

// Fake is a clock that moves only when Advance is called (or, with
// AutoAdvance, when something sleeps on it).
type Fake struct {
	mu       sync.Mutex
	now      time.Time
	tickers  []*fakeTicker
	sleepers []*fakeSleeper
	auto     bool
	created  chan struct{}
}

// fakeSleeper is one Sleep waiting for the fake time to reach until.
type fakeSleeper struct {
	until time.Time
	done  chan struct{}
}

// NewFake returns a fake clock set to start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, created: make(chan struct{}, 64)}
}

// AutoAdvance makes every Sleep move the clock forward by its duration and
// return at once, so that retries and pauses cost a test no time; tickers
// still fire only as the clock passes their period. It returns f.
func (f *Fake) AutoAdvance() *Fake {
	f.mu.Lock()
	f.auto = true
	f.mu.Unlock()
	return f
}

// Sleep waits until Advance has moved the clock d past the time of the call,
// or until ctx is done. With AutoAdvance it advances the clock itself.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	f.mu.Lock()
	if f.auto {
		f.mu.Unlock()
		f.Advance(d)
		return nil
	}
	s := &fakeSleeper{until: f.now.Add(d), done: make(chan struct{})}
	f.sleepers = append(f.sleepers, s)
	f.mu.Unlock()
	f.signal()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		for i, o := range f.sleepers {
			if o == s {
				f.sleepers = append(f.sleepers[:i], f.sleepers[i+1:]...)
				break
			}
		}
		f.mu.Unlock()
		return ctx.Err()
	}
}

// WaitSleepers blocks until at least n calls of Sleep are waiting, so a test
// can advance the clock only once the code under test waits on it.
func (f *Fake) WaitSleepers(n int) {
	for {
		f.mu.Lock()
		c := len(f.sleepers)
		f.mu.Unlock()
		if c >= n {
			return
		}
		<-f.created
	}
}

// signal wakes WaitTickers and WaitSleepers to count again.
func (f *Fake) signal() {
	select {
	case f.created <- struct{}{}:
	default:
	}
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
	f.signal()
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

// Advance moves the clock forward, fires every ticker whose time came and
// wakes every Sleep whose time came.
// Like time.Ticker, a ticker drops ticks its reader has not taken.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	now := f.now
	ts := append([]*fakeTicker(nil), f.tickers...)
	waiting := f.sleepers[:0]
	for _, s := range f.sleepers {
		if now.Before(s.until) {
			waiting = append(waiting, s)
		} else {
			close(s.done)
		}
	}
	f.sleepers = waiting
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
