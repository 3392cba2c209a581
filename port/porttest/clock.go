package porttest

import (
	"sync"
	"time"
)

// StepClock is a clock for [WithClock] that moves forward by a fixed step
// each time it is read, starting from a fixed instant.
//
// Port dates its answers to the second (the Date header), and a sync that
// tells entities written before a resync from those written during it
// reads that header. With the wall clock, two resyncs a few milliseconds
// apart fall in the same second and the second cannot see the first's
// entities as older than itself; with a StepClock of one second every
// request lands in a later second, and the test no longer depends on the
// date or the speed of the machine.
type StepClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

// NewStepClock returns a clock that reads start first, then start+step,
// start+2*step, and so on.
func NewStepClock(start time.Time, step time.Duration) *StepClock {
	return &StepClock{now: start, step: step}
}

// Now returns the clock's time and moves it on by the step.
func (c *StepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(c.step)
	return t
}

// Peek returns the time the next reading will give, without moving the
// clock.
func (c *StepClock) Peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *StepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
