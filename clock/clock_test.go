package clock_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/clock"
)

var start = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestFakeSleepWakesWhenAdvancePassesItsTime(t *testing.T) {
	t.Parallel()
	f := clock.NewFake(start)
	done := make(chan error, 1)
	go func() { done <- f.Sleep(t.Context(), 10*time.Second) }()
	f.WaitSleepers(1)
	f.Advance(9 * time.Second)
	select {
	case <-done:
		t.Fatal("Sleep returned before its time")
	default:
	}
	f.Advance(time.Second)
	require.NoError(t, <-done)
	assert.Equal(t, start.Add(10*time.Second), f.Now())
}

func TestFakeSleepEndsWithItsContext(t *testing.T) {
	t.Parallel()
	f := clock.NewFake(start)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Sleep(ctx, time.Hour) }()
	f.WaitSleepers(1)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	f.Advance(2 * time.Hour) // the cancelled sleeper is gone: nothing to wake
}

func TestAutoAdvanceSleepsWithoutWaiting(t *testing.T) {
	t.Parallel()
	f := clock.NewFake(start).AutoAdvance()
	tick := f.NewTicker(time.Minute)
	for range 3 {
		require.NoError(t, f.Sleep(t.Context(), 30*time.Second))
	}
	assert.Equal(t, start.Add(90*time.Second), f.Now())
	select {
	case at := <-tick.C():
		assert.Equal(t, start.Add(time.Minute), at, "the ticker fired as the sleeps passed its period")
	default:
		t.Fatal("the ticker did not fire")
	}
}

func TestSleepOfZeroOrADoneContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range []clock.Clock{clock.Real{}, clock.NewFake(start), clock.NewFake(start).AutoAdvance()} {
		require.NoError(t, c.Sleep(t.Context(), 0))
		require.ErrorIs(t, c.Sleep(ctx, time.Hour), context.Canceled)
	}
}

// A test gives the code under test a Fake and moves time by hand: the
// retry that would wait a minute wakes as soon as the test says a minute
// has passed.
func ExampleFake() {
	f := clock.NewFake(start)
	done := make(chan struct{})
	go func() {
		_ = f.Sleep(context.Background(), time.Minute) // a backoff in the code under test
		close(done)
	}()
	f.WaitSleepers(1)
	f.Advance(time.Minute)
	<-done
	fmt.Println(f.Now().Format(time.Kitchen))
	// Output: 12:01PM
}
