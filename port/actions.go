package port

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// RunStatus is the status of a self-service action run.
type RunStatus string

// Action run statuses, as Port spells them.
const (
	RunInProgress RunStatus = "IN_PROGRESS"
	RunSuccess    RunStatus = "SUCCESS"
	RunFailure    RunStatus = "FAILURE"
)

// Terminal reports whether the run has finished.
func (s RunStatus) Terminal() bool { return s == RunSuccess || s == RunFailure }

// ActionRun is a run of a self-service action that Port hands to an
// integration (an "integration action": its invocation method names this
// installation).
type ActionRun struct {
	ID     string    `json:"id"`
	Status RunStatus `json:"status"`
	// Action names the action the run belongs to.
	Action ActionRef `json:"action"`
	// Payload says which integration action to run and with what inputs.
	Payload ActionRunPayload `json:"payload"`
	// Link is where the run can be followed (Port accepts a URL or a list).
	Link Links `json:"link,omitempty"`
	// ExternalRunID is the run's identifier in the third-party system.
	ExternalRunID string `json:"externalRunId,omitempty"`
	// Summary is the run's result message.
	Summary string `json:"summary,omitempty"`
}

// ActionRef names an action.
type ActionRef struct {
	Identifier string `json:"identifier"`
}

// ActionRunPayload is the invocation of an integration action.
type ActionRunPayload struct {
	// Type is INTEGRATION_ACTION.
	Type string `json:"type"`
	// InstallationID is the integration the run is for.
	InstallationID string `json:"installationId"`
	// IntegrationActionType selects the integration's executor
	// (gitlab-v2's "trigger_pipeline").
	IntegrationActionType string `json:"integrationActionType"`
	// IntegrationActionExecutionProperties are the run's inputs.
	IntegrationActionExecutionProperties map[string]any `json:"integrationActionExecutionProperties"`
}

// Links is a run's link: Port takes one URL or a list of them.
type Links []string

// UnmarshalJSON accepts a string, a list of strings or null.
func (l *Links) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		if one == "" {
			*l = nil
		} else {
			*l = Links{one}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("port: run link is neither a URL nor a list of URLs: %w", err)
	}
	*l = many
	return nil
}

// ClaimRunsRequest is the body of ClaimPendingRuns.
type ClaimRunsRequest struct {
	// InstallationID is the integration whose runs are claimed.
	InstallationID string `json:"installationId"`
	// Limit caps the runs returned.
	Limit int `json:"limit"`
	// VisibilityTimeoutMs is how long claimed runs stay hidden from other
	// claimers; a run not acknowledged by then is handed out again.
	VisibilityTimeoutMs int `json:"visibilityTimeoutMs"`
	// Exclude lists action identifiers not to claim runs of (those that
	// already fill their share of the claimer's buffer).
	Exclude []string `json:"exclude,omitempty"`
}

// RunPatch changes a run. Empty fields are left unchanged.
type RunPatch struct {
	Status        RunStatus `json:"status,omitempty"`
	Summary       string    `json:"summary,omitempty"`
	Link          string    `json:"link,omitempty"`
	ExternalRunID string    `json:"externalRunId,omitempty"`
}

// ErrRunAcknowledged is returned (wrapped, with the *Error of Port's 409) by
// AckRun when another claimer acknowledged the run first.
var ErrRunAcknowledged = errors.New("port: action run already acknowledged")

// reservedUsage marks the calls of the actions processor, as Ocean does.
var reservedUsage = http.Header{"X-Port-Reserved-Usage": {"true"}}

func runPath(id string) string { return "/actions/runs/" + url.PathEscape(id) }

// ClaimPendingRuns claims pending runs for an installation
// (POST /v1/actions/runs/claim-pending). Claimed runs are hidden from other
// claimers for the visibility timeout; acknowledge one (AckRun) before
// executing it.
func (c *Client) ClaimPendingRuns(ctx context.Context, req ClaimRunsRequest) ([]ActionRun, error) {
	if req.InstallationID == "" || req.Limit < 1 {
		return nil, errors.New("port: ClaimPendingRuns needs an installation ID and a positive limit")
	}
	var env struct {
		Runs []ActionRun `json:"runs"`
	}
	// A retried claim only delays the runs the lost answer held until their
	// visibility timeout: safe to resend.
	err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/actions/runs/claim-pending", Header: reservedUsage.Clone(),
		Body: req, Idempotent: true}, &env)
	if err != nil {
		return nil, err
	}
	return env.Runs, nil
}

// AckRun acknowledges a claimed run (PATCH /v1/actions/runs/ack): the
// caller now owns it. When another claimer got there first the error wraps
// ErrRunAcknowledged (and is IsConflict). The call is not resent after a
// failure Port may have applied, since a resend would answer 409 for a run
// this caller owns.
func (c *Client) AckRun(ctx context.Context, runID string) error {
	err := c.Do(ctx, Request{Method: http.MethodPatch, Path: "/actions/runs/ack", Header: reservedUsage.Clone(),
		Body: map[string]string{"runId": runID}}, nil)
	if IsConflict(err) {
		return fmt.Errorf("%w: %w", ErrRunAcknowledged, err)
	}
	return err
}

// PatchRun changes a run's status, summary, link or external run ID
// (PATCH /v1/actions/runs/{id}) and returns the run.
func (c *Client) PatchRun(ctx context.Context, runID string, p RunPatch) (*ActionRun, error) {
	var env struct {
		Run *ActionRun `json:"run"`
	}
	// The patch sets absolute values: resending it is harmless.
	if err := c.write(ctx, http.MethodPatch, runPath(runID), nil, p, &env, true); err != nil {
		return nil, err
	}
	if env.Run == nil {
		return &ActionRun{ID: runID}, nil
	}
	return env.Run, nil
}

// PostRunLog appends a line to a run's log (POST /v1/actions/runs/{id}/logs).
func (c *Client) PostRunLog(ctx context.Context, runID, message string) error {
	return c.write(ctx, http.MethodPost, runPath(runID)+"/logs", nil, map[string]string{"message": message}, nil, false)
}

// GetRun returns a run (GET /v1/actions/runs/{id}?version=v2, the current
// version of the route as Port's API reference asks).
func (c *Client) GetRun(ctx context.Context, runID string) (*ActionRun, error) {
	var env struct {
		Run *ActionRun `json:"run"`
	}
	if err := c.get(ctx, runPath(runID), url.Values{"version": {"v2"}}, &env); err != nil {
		return nil, err
	}
	if env.Run == nil {
		return nil, fmt.Errorf("port: get run %q: answer has no run", runID)
	}
	return env.Run, nil
}

// FindRunByExternalID returns the run whose externalRunId is id
// (GET /v1/actions/runs?version=v2&external_run_id=…), or nil and no error
// when there is none.
func (c *Client) FindRunByExternalID(ctx context.Context, externalRunID string) (*ActionRun, error) {
	var env struct {
		Runs []ActionRun `json:"runs"`
	}
	q := url.Values{"version": {"v2"}, "external_run_id": {externalRunID}}
	if err := c.get(ctx, "/actions/runs", q, &env); err != nil {
		return nil, err
	}
	if len(env.Runs) == 0 {
		return nil, nil
	}
	return &env.Runs[0], nil
}
