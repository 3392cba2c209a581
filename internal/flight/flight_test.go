package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDoRunsOncePerKey(t *testing.T) {
	t.Parallel()
	var g Group[string, int]
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			v, err := g.Do(t.Context(), "k", func() (int, error) {
				calls.Add(1)
				<-release
				return 42, nil
			}, nil)
			assert.NoError(t, err)
			assert.Equal(t, 42, v)
		})
	}
	close(release)
	wg.Wait()
	assert.EqualValues(t, 1, calls.Load())
	v, ok := g.Peek("k")
	assert.True(t, ok)
	assert.Equal(t, 42, v)
}

func TestForgottenErrorsAreRetried(t *testing.T) {
	t.Parallel()
	var g Group[string, int]
	boom := errors.New("boom")
	forget := func(err error) bool { return errors.Is(err, boom) }
	_, err := g.Do(t.Context(), "k", func() (int, error) { return 0, boom }, forget)
	require.ErrorIs(t, err, boom)
	v, err := g.Do(t.Context(), "k", func() (int, error) { return 7, nil }, forget)
	require.NoError(t, err)
	assert.Equal(t, 7, v)

	kept := errors.New("kept")
	_, _ = g.Do(t.Context(), "j", func() (int, error) { return 0, kept }, forget)
	_, err = g.Do(t.Context(), "j", func() (int, error) { return 1, nil }, forget)
	assert.ErrorIs(t, err, kept, "an error forget does not name is the answer")
	_, ok := g.Peek("j")
	assert.False(t, ok)
}

func TestWaitingStopsWithTheContext(t *testing.T) {
	t.Parallel()
	var g Group[string, int]
	started, release := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = g.Do(context.Background(), "k", func() (int, error) { close(started); <-release; return 1, nil }, nil)
	}()
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := g.Do(ctx, "k", func() (int, error) { return 2, nil }, nil)
	assert.ErrorIs(t, err, context.Canceled)
	close(release)
}

func TestPutKeepsTheFirstValue(t *testing.T) {
	t.Parallel()
	var g Group[int, string]
	g.Put(1, "a")
	g.Put(1, "b")
	v, ok := g.Peek(1)
	assert.True(t, ok)
	assert.Equal(t, "a", v)
}
