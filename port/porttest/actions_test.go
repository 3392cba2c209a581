package porttest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func TestActionRunRoutesValidate(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	c := newRaw(t, srv)
	id := srv.CreateActionRun(porttest.NewActionRun{InstallationID: "i", Type: "t"})

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"claim without installation", http.MethodPost, "/v1/actions/runs/claim-pending", map[string]any{"limit": 1}, http.StatusUnprocessableEntity},
		{"claim limit zero", http.MethodPost, "/v1/actions/runs/claim-pending", map[string]any{"installationId": "i", "limit": 0}, http.StatusUnprocessableEntity},
		{"claim bad visibility", http.MethodPost, "/v1/actions/runs/claim-pending", map[string]any{"installationId": "i", "limit": 1, "visibilityTimeoutMs": 0}, http.StatusUnprocessableEntity},
		{"ack without run", http.MethodPatch, "/v1/actions/runs/ack", map[string]any{}, http.StatusUnprocessableEntity},
		{"ack unknown run", http.MethodPatch, "/v1/actions/runs/ack", map[string]any{"runId": "nope"}, http.StatusNotFound},
		{"patch unknown key", http.MethodPatch, "/v1/actions/runs/" + id, map[string]any{"state": "SUCCESS"}, http.StatusUnprocessableEntity},
		{"patch bad link", http.MethodPatch, "/v1/actions/runs/" + id, map[string]any{"link": 3}, http.StatusUnprocessableEntity},
		{"log without message", http.MethodPost, "/v1/actions/runs/" + id + "/logs", map[string]any{}, http.StatusUnprocessableEntity},
		{"log unknown run", http.MethodPost, "/v1/actions/runs/nope/logs", map[string]any{"message": "x"}, http.StatusNotFound},
		{"get unknown run", http.MethodGet, "/v1/actions/runs/nope", nil, http.StatusNotFound},
	}
	for _, tt := range tests {
		status, body := c.do(tt.method, tt.path, tt.body)
		assert.Equal(t, tt.status, status, "%s: %v", tt.name, body)
		assert.Equal(t, false, body["ok"], tt.name)
	}
	rec, ok := srv.ActionRun(id)
	require.True(t, ok)
	assert.Empty(t, rec.Statuses, "rejected patches change nothing")
	assert.Zero(t, rec.Claims)
}

func TestActionRunWireShape(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	c := newRaw(t, srv)
	id := srv.CreateActionRun(porttest.NewActionRun{InstallationID: "i", Type: "trigger_pipeline", Action: "run_ci",
		Properties: map[string]any{"ref": "main"}})

	status, body := c.do(http.MethodPost, "/v1/actions/runs/claim-pending", map[string]any{"installationId": "i", "limit": 5, "visibilityTimeoutMs": 1000})
	require.Equal(t, http.StatusOK, status)
	runs := body["runs"].([]any)
	require.Len(t, runs, 1)
	run := runs[0].(map[string]any)
	assert.Equal(t, id, run["id"])
	assert.Equal(t, "IN_PROGRESS", run["status"])
	assert.Equal(t, map[string]any{"identifier": "run_ci"}, run["action"])
	assert.Equal(t, map[string]any{"type": "INTEGRATION_ACTION", "installationId": "i", "integrationActionType": "trigger_pipeline",
		"integrationActionExecutionProperties": map[string]any{"ref": "main"}}, run["payload"])

	status, _ = c.do(http.MethodPatch, "/v1/actions/runs/ack", map[string]any{"runId": id})
	require.Equal(t, http.StatusOK, status)
	status, body = c.do(http.MethodPatch, "/v1/actions/runs/ack", map[string]any{"runId": id})
	assert.Equal(t, http.StatusConflict, status, "a second ack is a conflict")
	assert.Equal(t, "run_already_acknowledged", body["error"])

	status, body = c.do(http.MethodPatch, "/v1/actions/runs/"+id, map[string]any{"link": []string{"https://a", "https://b"}, "status": "FAILURE", "summary": "boom"})
	require.Equal(t, http.StatusOK, status, "%v", body)
	patched := body["run"].(map[string]any)
	assert.Equal(t, []any{"https://a", "https://b"}, patched["link"])
	assert.Equal(t, "FAILURE", patched["status"])

	rec, _ := srv.ActionRun(id)
	assert.Equal(t, []port.RunStatus{port.RunFailure}, rec.Statuses)
	assert.Equal(t, []string{"https://a", "https://b"}, rec.Links)
	assert.Equal(t, "boom", rec.Summary)
	assert.Len(t, srv.ActionRuns(), 1)

	status, body = c.do(http.MethodPost, "/v1/actions/runs/claim-pending", map[string]any{"installationId": "i", "limit": 5})
	require.Equal(t, http.StatusOK, status)
	assert.Empty(t, body["runs"], "finished runs are not handed out")
}
