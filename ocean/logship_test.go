package ocean_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/port/porttest"
)

func TestRunShipsTheIntegrationsLogsToPort(t *testing.T) {
	h := newHarness(t, 3)
	a := h.app()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.Logger().Info("the client secret " + h.srv.ClientSecret + " never ships")
	require.NoError(t, a.Run(ctx))

	logs := h.srv.IngestedLogs(integrationID)
	var msgs []string
	for _, l := range logs {
		msgs = append(msgs, l.Message)
		assert.NotContains(t, l.Message, h.srv.ClientSecret)
	}
	assert.Contains(t, msgs, "resync started")
	assert.Contains(t, msgs, "resync finished")
	assert.Contains(t, msgs, "the client secret [REDACTED] never ships")
}

func TestDryRunShipsNoLogs(t *testing.T) {
	h := newHarness(t, 3)
	var out bytes.Buffer
	a := h.app(ocean.WithDryRun(&out))
	_, err := h.resync(a)
	require.NoError(t, err)
	assert.Equal(t, 0, h.srv.Count(porttest.RouteIngestLogs))
}
