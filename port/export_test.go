package port

import (
	"context"
	"time"

	"github.com/oceankit/oceankit/clock"
)

// testClock is a clock whose time and waits a test sets separately.
type testClock struct {
	clock.Clock
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

func (t testClock) Now() time.Time {
	if t.now != nil {
		return t.now()
	}
	return t.Clock.Now()
}

func (t testClock) Sleep(ctx context.Context, d time.Duration) error {
	if t.sleep != nil {
		return t.sleep(ctx, d)
	}
	return t.Clock.Sleep(ctx, d)
}

func (c *Client) testClock() testClock {
	if tc, ok := c.clock.(testClock); ok {
		return tc
	}
	return testClock{Clock: c.clock}
}

// SetClock replaces the time the client reads.
func SetClock(c *Client, now func() time.Time) { tc := c.testClock(); tc.now = now; c.clock = tc }

// SetSleep replaces the client's waits (backoff, pacing).
func SetSleep(c *Client, sleep func(context.Context, time.Duration) error) {
	tc := c.testClock()
	tc.sleep = sleep
	c.clock = tc
}
