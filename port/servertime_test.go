package port_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func TestServerTimeFollowsPortsDateHeader(t *testing.T) {
	t.Parallel()
	portClock := porttest.NewStepClock(time.Date(2026, 3, 1, 10, 0, 0, 500_000_000, time.UTC), 0)
	local := newFakeClock().AutoAdvance() // a different day altogether: the host's clock is wrong
	srv := porttest.NewServer(t, porttest.WithClock(portClock.Now))
	c := newClient(t, srv, port.WithClock(local))

	_, ok := c.ServerTime(time.Minute)
	assert.False(t, ok, "no answer yet")

	_, err := c.GetIntegration(context.Background(), "missing")
	require.Error(t, err, "a refusal carries Port's clock too")
	got, ok := c.ServerTime(time.Minute)
	require.True(t, ok)
	assert.Equal(t, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), got.UTC(), "the Date header, to the second: never ahead of Port")

	local.Advance(30 * time.Second)
	got, ok = c.ServerTime(time.Minute)
	require.True(t, ok)
	assert.Equal(t, time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC), got.UTC(), "time passes on both sides alike")

	local.Advance(time.Minute)
	_, ok = c.ServerTime(time.Minute)
	assert.False(t, ok, "a reading older than maxAge is not trusted")
}

func TestServerTimeKeepsTheTighterOfTwoReadings(t *testing.T) {
	t.Parallel()
	dates := []string{"Sun, 01 Mar 2026 10:00:00 GMT", "Sun, 01 Mar 2026 09:59:59 GMT", ""}
	i := 0
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/auth/access_token" {
			w.Header().Set("Date", dates[0])
			_, _ = w.Write([]byte(`{"accessToken":"t","expiresIn":3600}`))
			return
		}
		w.Header()["Date"] = nil // net/http adds the real date unless told not to
		if dates[i] != "" {
			w.Header().Set("Date", dates[i])
		}
		i++
		_, _ = w.Write([]byte(`{"ok":true,"integration":{"identifier":"x"}}`))
	}))
	t.Cleanup(hs.Close)
	local := newFakeClock().AutoAdvance()
	c, err := port.New(hs.URL, "id", "secret", port.WithClock(local), port.WithRetryPolicy(fastRetry))
	require.NoError(t, err)
	for range dates {
		_, err := c.GetIntegration(context.Background(), "x")
		require.NoError(t, err)
		local.Advance(2 * time.Second)
	}
	got, ok := c.ServerTime(time.Minute)
	require.True(t, ok)
	// 10:00:00 was read 6 s ago. The answer dated 09:59:59 two seconds
	// later says less than that reading carried forward (10:00:02), and an
	// answer without a Date says nothing.
	assert.Equal(t, time.Date(2026, 3, 1, 10, 0, 6, 0, time.UTC), got.UTC())
}
