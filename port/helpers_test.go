package port_test

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"

	"github.com/oceankit/oceankit/internal/logtest"
)

var testDS = port.Datasource{Type: "GitLab-v2", Version: "0.9.30", Identifier: "my-gitlab"}

// fastRetry keeps tests fast: no waits between attempts.
var fastRetry = port.RetryPolicy{MaxAttempts: 4}

func newClient(t testing.TB, srv *porttest.Server, opts ...port.Option) *port.Client {
	t.Helper()
	opts = append([]port.Option{port.WithRetryPolicy(fastRetry), port.WithDatasource(testDS)}, opts...)
	c, err := port.New(srv.URL, srv.ClientID, srv.ClientSecret, opts...)
	require.NoError(t, err)
	return c
}

// sleepRecorder records requested waits without waiting.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *sleepRecorder) all() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...)
}

// newFakeClock is the host's clock in tests that move time by hand.
func newFakeClock() *clock.Fake { return clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = logtest.Buffer

func debugLogger(b *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func serviceBlueprint() port.Blueprint {
	return port.Blueprint{
		Identifier: "service",
		Title:      "Service",
		Schema: port.BlueprintSchema{Properties: map[string]map[string]any{
			"url":      {"type": "string", "format": "url"},
			"stars":    {"type": "number"},
			"archived": {"type": "boolean"},
			"language": {"type": "string", "enum": []any{"go", "python"}},
			"blob":     {"type": "string"},
		}},
	}
}

// newCatalog starts a server with a "group" and a "service" blueprint (service → group).
func newCatalog(t testing.TB, opts ...porttest.Option) *porttest.Server {
	t.Helper()
	srv := porttest.NewServer(t, opts...)
	require.NoError(t, srv.AddBlueprint(port.Blueprint{Identifier: "group", Title: "Group",
		Schema: port.BlueprintSchema{Properties: map[string]map[string]any{"path": {"type": "string"}}}}))
	bp := serviceBlueprint()
	bp.Relations = map[string]port.Relation{"group": {Target: "group", Title: "Group"}}
	require.NoError(t, srv.AddBlueprint(bp))
	return srv
}

func services(n int, prefix string) []port.Entity {
	out := make([]port.Entity, n)
	for i := range out {
		out[i] = port.Entity{
			Identifier: prefix + itoa(i),
			Title:      "Service " + itoa(i),
			Properties: map[string]any{"url": "https://example.com/" + itoa(i), "stars": float64(i)},
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
