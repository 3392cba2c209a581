package ocean_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/ocean/settings"
)

func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// RequestResync's channel closes when a resync that started after the
// request ended; a resync aborted by a newer request hands the wait on to
// the next; one cut short by the program stopping never closes it, so that
// a listener that acknowledges only then gets the request again.
func TestRequestResyncSaysWhenItsResyncEnded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 150)
	h.cfg.EventListener.Type = settings.ListenerWebhook // the scheduler runs; nothing resyncs by itself
	gate, started := make(chan struct{}), make(chan struct{})
	h.src.gate, h.src.started = gate, started
	a := h.app()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	first := a.RequestResync("first", true)
	<-started
	startedB := make(chan struct{})
	h.src.mu.Lock()
	h.src.started = startedB // the next resync waits at the same gate
	h.src.mu.Unlock()
	second := a.RequestResync("second", true) // aborts the first resync
	rep := <-a.ResyncDone()
	assert.Equal(t, report.StateAborted, rep.Status)
	<-startedB
	assert.False(t, closedWithin(first, 50*time.Millisecond), "an aborted resync answers nothing")
	h.src.mu.Lock()
	h.src.gate = nil
	h.src.mu.Unlock()
	close(gate)
	rep = <-a.ResyncDone()
	require.Equal(t, report.StateCompleted, rep.Status)
	assert.True(t, closedWithin(first, 10*time.Second), "the resync that followed answers the first request too")
	assert.True(t, closedWithin(second, 10*time.Second))

	// Stopped in the middle of a resync: never answered.
	gate2, started2 := make(chan struct{}), make(chan struct{})
	h.src.mu.Lock()
	h.src.gate, h.src.started = gate2, started2
	h.src.mu.Unlock()
	third := a.RequestResync("third", false)
	<-started2
	cancel()
	<-done
	assert.False(t, closedWithin(third, 50*time.Millisecond))
}
