package ocean

// Hooks for the package's tests. Other packages' tests use the public API:
// a fake clock (WithClock with clock.Fake) makes retries and polls cost no
// time, and the log (or the resync state in port/porttest) says when a
// resync ended.

import (
	"errors"
	"fmt"
	"time"

	"github.com/oceankit/oceankit/ocean/report"
)

// WithEventRetry sets how often a failed live event is retried and the
// first backoff (doubling, capped at 30 s). Ocean's defaults are 3 and 1 s.
func WithEventRetry(retries int, base time.Duration) Option {
	return func(a *App) error {
		if retries < 0 || base <= 0 {
			return fmt.Errorf("ocean: WithEventRetry(%d, %s): retries must not be negative and the backoff positive", retries, base)
		}
		a.eventRetries, a.eventRetryBase = retries, base
		return nil
	}
}

// WithActionsPollInterval replaces OCEAN__ACTIONS_PROCESSOR__POLL_CHECK_INTERVAL_SECONDS
// with a finer interval (tests).
func WithActionsPollInterval(d time.Duration) Option {
	return func(a *App) error {
		if d <= 0 {
			return errors.New("ocean: WithActionsPollInterval needs a positive interval")
		}
		a.actionPoll = d
		return nil
	}
}

// ResyncDone delivers the report of every resync the scheduler finishes
// (dropping reports nobody reads).
func (a *App) ResyncDone() <-chan *report.Resync { return a.sched.done }
