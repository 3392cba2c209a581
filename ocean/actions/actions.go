// Package actions is the API of self-service actions: an integration that
// executes action runs Port hands it registers an [Executor] per action type
// on its ocean.Provider (Provider.Actions). The framework claims runs,
// acknowledges them, calls Execute with a [Reporter] for the run's logs,
// link and result, and paces them by a [RateLimiter] when the executor has
// one. A live-event processor that completes runs (ocean.RunEventProcessor)
// finds them through [Runs].
package actions

import (
	"context"
	"time"

	"github.com/oceankit/oceankit/port"
)

// Status is an action run's status in Port.
type Status = port.RunStatus

// Action run statuses.
const (
	InProgress = port.RunInProgress
	Success    = port.RunSuccess
	Failure    = port.RunFailure
)

// Run is one run of a self-service action that Port handed to this
// integration.
type Run struct {
	// ID is the run's identifier in Port.
	ID string
	// Action is the action's identifier in Port.
	Action string
	// Type is the integration action type (gitlab-v2's
	// "trigger_pipeline"): it selects the executor.
	Type string
	// Status is the run's status when it was read.
	Status Status
	// Inputs are the user's inputs (Port's integrationActionExecutionProperties).
	Inputs map[string]any
	// ExternalRunID is the run's identifier in the third-party system, once
	// an executor set one.
	ExternalRunID string
}

// Executor runs the runs of one integration action type.
//
// The framework claims runs from Port, acknowledges each one before
// calling Execute (a run another process acknowledged first is skipped),
// and calls Execute once per run. When Execute returns an error the run is
// marked FAILURE with the error's message (secrets redacted); when it
// returns nil without completing the run and without handing it to
// Reporter.Continue, the run is marked SUCCESS.
type Executor interface {
	// Action is the integration action type this executor runs.
	Action() string
	// Execute runs one run, reporting progress through rep.
	Execute(ctx context.Context, run *Run, rep Reporter) error
}

// Reporter reports one run's progress to Port. Its methods are safe for
// concurrent use; messages have every configured secret redacted.
type Reporter interface {
	// Log appends a line to the run's log.
	Log(ctx context.Context, message string) error
	// SetLink records where the run can be followed and the run's
	// identifier in the third-party system, by which a live event can find
	// it later (Runs.ByExternalID). Either may be empty.
	SetLink(ctx context.Context, link, externalRunID string) error
	// Succeed and Fail complete the run with a summary. Only the first
	// completion is sent; later ones return nil.
	Succeed(ctx context.Context, summary string) error
	Fail(ctx context.Context, summary string) error
	// Status reads the run's status from Port, where another process (a
	// live event on another replica) may have completed it. A terminal
	// status makes later completions no-ops.
	Status(ctx context.Context) (Status, error)
	// Continue hands the rest of the run to f, which runs in the background
	// after Execute returns, without holding a worker, until it returns or
	// the App stops. An error from f fails the run (unless it is already
	// complete); when f returns nil the run is left as f left it. Use it
	// for runs that finish later in the third-party system (a pipeline).
	Continue(f func(ctx context.Context, rep Reporter) error)
}

// RateLimiter is implemented by executors whose third-party API has
// a budget. Before a run is acknowledged the framework asks how long to
// wait; while the answer is positive it logs the delay to the run and
// waits (at most 10 s at a time, then asks again), so that a run is not
// started into a rate limit.
type RateLimiter interface {
	RateLimitWait(run *Run) time.Duration
}

// Runs finds action runs in Port.
type Runs interface {
	// ByExternalID returns the run whose external run ID is id, with a
	// reporter for it, or a nil run and no error when there is none.
	ByExternalID(ctx context.Context, externalRunID string) (*Run, Reporter, error)
}
