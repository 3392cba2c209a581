package port_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func TestIngestFollowsTheIntegrationsURLs(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	srv.AddIntegration(port.Integration{Identifier: "gl"})
	c := newClient(t, srv)
	ctx := context.Background()

	in, err := c.GetIntegration(ctx, "gl")
	require.NoError(t, err)
	logURL, metricURL := in.LogIngestURL(), in.MetricIngestURL()
	require.NotEmpty(t, logURL)
	require.NotEmpty(t, metricURL)

	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, c.IngestLogs(ctx, logURL, []port.LogRecord{{Message: "hello", Level: "INFO", Timestamp: ts, Extra: map[string]any{"kind": "project"}}}))
	logs := srv.IngestedLogs("gl")
	require.Len(t, logs, 1)
	assert.Equal(t, "hello", logs[0].Message)
	assert.Equal(t, "project", logs[0].Extra["kind"])
	assert.True(t, ts.Equal(logs[0].Timestamp))

	ev := port.SyncMetricsEvent{EventID: "r1", KindIdentifier: "project-0", Kind: "project", SyncState: "pending"}
	require.NoError(t, c.PostSyncMetrics(ctx, metricURL, []port.SyncMetricsEvent{ev}))
	ev.SyncState = "completed"
	require.NoError(t, c.PutKindSyncMetrics(ctx, metricURL, ev))
	require.NoError(t, c.PostHeartbeat(ctx, metricURL, "r1"))
	got, ok := srv.KindSyncMetrics("gl", "r1", "project-0")
	require.True(t, ok)
	assert.Equal(t, "completed", got.SyncState)
	assert.Len(t, srv.SyncMetricsEvents("gl"), 2)
	assert.Equal(t, []string{"r1"}, srv.Heartbeats("gl"))
	assert.Equal(t, 1, srv.Count(porttest.RouteIngestKindMetrics))
}

func TestIngestRefreshesAnExpiredToken(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	srv.AddIntegration(port.Integration{Identifier: "gl"})
	c := newClient(t, srv)
	ctx := context.Background()
	in, err := c.GetIntegration(ctx, "gl")
	require.NoError(t, err)
	srv.ExpireTokens()
	require.NoError(t, c.PostHeartbeat(ctx, in.MetricIngestURL(), "r1"))
	assert.Equal(t, 2, srv.TokensIssued())
}

func TestIngestRejectsWhatPortWouldAndKeepsTheToken(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	srv.AddIntegration(port.Integration{Identifier: "gl"})
	c := newClient(t, srv)
	ctx := context.Background()
	in, err := c.GetIntegration(ctx, "gl")
	require.NoError(t, err)

	var perr *port.Error
	err = c.PutKindSyncMetrics(ctx, in.MetricIngestURL(), port.SyncMetricsEvent{EventID: "r1", KindIdentifier: "k-0", SyncState: "bogus"})
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, 422, perr.StatusCode)

	// A plain-http URL on another host never gets the bearer token.
	err = c.IngestLogs(ctx, "http://elsewhere.invalid/logs", nil)
	assert.True(t, errors.Is(err, port.ErrInvalidRequest), "%v", err)
	assert.Equal(t, 0, srv.Count(porttest.RouteUnknown))
}

func TestIntegrationWithoutIngestAttributes(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	srv.AddIntegration(port.Integration{Identifier: "gl", Extra: map[string]json.RawMessage{
		"logAttributes": json.RawMessage(`{}`), "metricAttributes": json.RawMessage(`null`)}})
	c := newClient(t, srv)
	in, err := c.GetIntegration(context.Background(), "gl")
	require.NoError(t, err)
	assert.Empty(t, in.LogIngestURL())
	assert.Empty(t, in.MetricIngestURL())
}
