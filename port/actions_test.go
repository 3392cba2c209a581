package port_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// headerRecorder records the headers of requests to one path.
type headerRecorder struct {
	mu   sync.Mutex
	next http.RoundTripper
	seen map[string]http.Header
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.seen[r.Method+" "+r.URL.Path] = r.Header.Clone()
	h.mu.Unlock()
	return h.next.RoundTrip(r)
}

func (h *headerRecorder) get(key string) http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen[key]
}

func TestActionRunLifecycle(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	rec := &headerRecorder{next: http.DefaultTransport, seen: map[string]http.Header{}}
	c := newClient(t, srv, port.WithHTTPClient(&http.Client{Transport: rec}))
	ctx := context.Background()

	id := srv.CreateActionRun(porttest.NewActionRun{InstallationID: "my-gitlab", Type: "trigger_pipeline",
		Properties: map[string]any{"project": "g/p", "ref": "main"}})
	srv.CreateActionRun(porttest.NewActionRun{InstallationID: "someone-else", Type: "trigger_pipeline"})

	runs, err := c.ClaimPendingRuns(ctx, port.ClaimRunsRequest{InstallationID: "my-gitlab", Limit: 10, VisibilityTimeoutMs: 60000})
	require.NoError(t, err)
	require.Len(t, runs, 1, "only this installation's runs are claimed")
	r := runs[0]
	assert.Equal(t, id, r.ID)
	assert.Equal(t, port.RunInProgress, r.Status)
	assert.Equal(t, "trigger_pipeline", r.Action.Identifier)
	assert.Equal(t, "INTEGRATION_ACTION", r.Payload.Type)
	assert.Equal(t, "trigger_pipeline", r.Payload.IntegrationActionType)
	assert.Equal(t, map[string]any{"project": "g/p", "ref": "main"}, r.Payload.IntegrationActionExecutionProperties)
	assert.Equal(t, "true", rec.get("POST /v1/actions/runs/claim-pending").Get("X-Port-Reserved-Usage"))

	again, err := c.ClaimPendingRuns(ctx, port.ClaimRunsRequest{InstallationID: "my-gitlab", Limit: 10, VisibilityTimeoutMs: 60000})
	require.NoError(t, err)
	assert.Empty(t, again, "a claimed run is hidden for the visibility timeout")

	require.NoError(t, c.AckRun(ctx, id))
	assert.Equal(t, "true", rec.get("PATCH /v1/actions/runs/ack").Get("X-Port-Reserved-Usage"))
	err = c.AckRun(ctx, id)
	require.Error(t, err)
	assert.ErrorIs(t, err, port.ErrRunAcknowledged)
	assert.True(t, port.IsConflict(err))

	require.NoError(t, c.PostRunLog(ctx, id, "Triggering"))
	got, err := c.PatchRun(ctx, id, port.RunPatch{Link: "https://gitlab.example.com/g/p/-/pipelines/7", ExternalRunID: "gl_1_7"})
	require.NoError(t, err)
	assert.Equal(t, port.Links{"https://gitlab.example.com/g/p/-/pipelines/7"}, got.Link)
	assert.Equal(t, port.RunInProgress, got.Status, "a link leaves the status alone")

	found, err := c.FindRunByExternalID(ctx, "gl_1_7")
	require.NoError(t, err)
	require.NotNil(t, found)
	assert.Equal(t, id, found.ID)
	none, err := c.FindRunByExternalID(ctx, "gl_1_8")
	require.NoError(t, err)
	assert.Nil(t, none)

	_, err = c.PatchRun(ctx, id, port.RunPatch{Status: port.RunSuccess, Summary: "Pipeline completed: success"})
	require.NoError(t, err)
	fetched, err := c.GetRun(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, port.RunSuccess, fetched.Status)
	for _, r := range srv.Requests() {
		if r.Route == porttest.RouteGetRun {
			assert.Equal(t, "v2", r.Query.Get("version"), "the current version of the route")
		}
	}
	assert.True(t, fetched.Status.Terminal())
	assert.Equal(t, "Pipeline completed: success", fetched.Summary)
	assert.Equal(t, "gl_1_7", fetched.ExternalRunID)

	stored, ok := srv.ActionRun(id)
	require.True(t, ok)
	assert.Equal(t, []string{"Triggering"}, stored.Logs)
	assert.Equal(t, []port.RunStatus{port.RunSuccess}, stored.Statuses)
	assert.Equal(t, 1, stored.Claims)
	assert.True(t, stored.Acked)
	assert.Equal(t, 1, stored.AckConflicts)
}

func TestActionRunErrors(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	c := newClient(t, srv)
	ctx := context.Background()

	_, err := c.ClaimPendingRuns(ctx, port.ClaimRunsRequest{Limit: 1})
	require.Error(t, err, "an installation ID is required")
	_, err = c.GetRun(ctx, "r_missing")
	assert.True(t, port.IsNotFound(err))
	err = c.AckRun(ctx, "r_missing")
	assert.True(t, port.IsNotFound(err))
	assert.False(t, errors.Is(err, port.ErrRunAcknowledged))
	_, err = c.PatchRun(ctx, "r_missing", port.RunPatch{Status: port.RunFailure})
	assert.True(t, port.IsNotFound(err))
	_, err = c.PatchRun(ctx, "r_missing", port.RunPatch{Status: "DONE"})
	assert.True(t, port.IsValidation(err), "an unknown status is rejected")
}

func TestAckIsNotResentAfterAFailure(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	c := newClient(t, srv)
	id := srv.CreateActionRun(porttest.NewActionRun{InstallationID: "i", Type: "t"})
	// A 503 may hide an ack that was applied; resending it would answer 409
	// for a run this caller owns, so the caller sees the 503 instead.
	srv.InjectFault(porttest.Fault{Route: porttest.RouteAckRun, Status: http.StatusServiceUnavailable, Times: 1})
	err := c.AckRun(context.Background(), id)
	require.Error(t, err)
	assert.Equal(t, 1, srv.Count(porttest.RouteAckRun))
}

func TestLinksDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want port.Links
		err  bool
	}{
		{in: `"https://x"`, want: port.Links{"https://x"}},
		{in: `["https://x","https://y"]`, want: port.Links{"https://x", "https://y"}},
		{in: `""`, want: nil},
		{in: `null`, want: nil},
		{in: `42`, err: true},
	}
	for _, tt := range tests {
		var r struct {
			Link port.Links `json:"link"`
		}
		err := json.Unmarshal([]byte(`{"link":`+tt.in+`}`), &r)
		if tt.err {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, r.Link, tt.in)
	}
}

func TestClaimHonoursVisibilityAndExclude(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := porttest.NewServer(t, porttest.WithClock(clock))
	c := newClient(t, srv)
	ctx := context.Background()
	a := srv.CreateActionRun(porttest.NewActionRun{InstallationID: "i", Type: "deploy"})
	b := srv.CreateActionRun(porttest.NewActionRun{InstallationID: "i", Type: "trigger", Action: "trigger_prod"})

	runs, err := c.ClaimPendingRuns(ctx, port.ClaimRunsRequest{InstallationID: "i", Limit: 5, VisibilityTimeoutMs: 1000, Exclude: []string{"trigger_prod"}})
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Equal(t, a, runs[0].ID, "runs of excluded actions are left for later")

	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	runs, err = c.ClaimPendingRuns(ctx, port.ClaimRunsRequest{InstallationID: "i", Limit: 5, VisibilityTimeoutMs: 1000})
	require.NoError(t, err)
	ids := []string{}
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	assert.Equal(t, []string{a, b}, ids, "an unacknowledged run is handed out again once its visibility timeout passed")
}
