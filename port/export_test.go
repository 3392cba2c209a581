package port

import (
	"context"
	"time"
)

// SetClock replaces the client's clock.
func SetClock(c *Client, now func() time.Time) { c.now = now }

// SetSleep replaces the client's waits (backoff, pacing).
func SetSleep(c *Client, sleep func(context.Context, time.Duration) error) { c.sleep = sleep }
