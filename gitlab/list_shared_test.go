package gitlab

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/ocean"
)

// fakeListing lists pages of items with ids 1..n, 10 a page, counting
// listings; gate, when set, holds each page until it is received from.
type fakeListing struct {
	n        int
	listings atomic.Int32
	failAt   int // page index that fails with failErr, -1 for none
	failErr  error
	gate     chan struct{}
}

func (f *fakeListing) list(ctx context.Context, fn func([]ocean.Item) error) error {
	f.listings.Add(1)
	for start, page := 0, 0; start < f.n; start, page = start+10, page+1 {
		if page == f.failAt {
			return f.failErr
		}
		if f.gate != nil {
			select {
			case <-f.gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		var items []ocean.Item
		for i := start; i < min(start+10, f.n); i++ {
			items = append(items, ocean.Item{"id": float64(i + 1), "name": "g" + strconv.Itoa(i+1)})
		}
		if err := fn(items); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// collect reads l to the end and returns the ids it got, in order.
func collect(ctx context.Context, l *sharedList, clone bool, f *fakeListing) ([]string, error) {
	var ids []string
	err := l.read(ctx, clone, f.list, func(page []ocean.Item) error {
		for _, it := range page {
			ids = append(ids, idString(it["id"]))
			if clone {
				it["__members"] = []any{} // a reader changes its own copies
			}
		}
		return nil
	})
	return ids, err
}

func wantIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i + 1)
	}
	return out
}

func TestSharedListServesEveryReaderFromOneListing(t *testing.T) {
	t.Parallel()
	f := &fakeListing{n: 95, failAt: -1}
	l := startSharedList(t.Context(), 1000, f.list)
	var eg errgroup.Group
	var mu sync.Mutex
	var got [][]string
	for i := range 3 {
		eg.Go(func() error {
			ids, err := collect(t.Context(), l, i != 0, f)
			mu.Lock()
			got = append(got, ids)
			mu.Unlock()
			return err
		})
	}
	require.NoError(t, eg.Wait())
	// A reader that comes after the listing ended reads what was kept.
	late, err := collect(t.Context(), l, true, f)
	require.NoError(t, err)
	got = append(got, late)
	for _, ids := range got {
		assert.Equal(t, wantIDs(95), ids)
	}
	assert.Equal(t, int32(1), f.listings.Load(), "one listing for every reader")
	for _, page := range l.pages {
		for _, it := range page {
			assert.NotContains(t, it, "__members", "readers change their copies, not the shared items")
		}
	}
}

func TestSharedListPastItsCapReadersListTheRestThemselves(t *testing.T) {
	t.Parallel()
	f := &fakeListing{n: 95, failAt: -1}
	l := startSharedList(t.Context(), 30, f.list)
	ids, err := collect(t.Context(), l, true, f)
	require.NoError(t, err)
	assert.Equal(t, wantIDs(95), ids, "every item once, in order")
	assert.LessOrEqual(t, l.items, 30, "memory stays under the cap")
	assert.Equal(t, int32(2), f.listings.Load())
}

func TestSharedListFirstReaderGoneOthersCarryOn(t *testing.T) {
	t.Parallel()
	f := &fakeListing{n: 50, failAt: -1, gate: make(chan struct{})}
	first, cancel := context.WithCancel(t.Context())
	l := startSharedList(first, 1000, f.list)
	f.gate <- struct{}{} // one page listed
	cancel()             // the kind that started the listing fails
	ids, err := collect(t.Context(), l, true, &fakeListing{n: 50, failAt: -1})
	require.NoError(t, err)
	assert.Equal(t, wantIDs(50), ids)
}

func TestSharedListGitLabErrorReachesEveryReader(t *testing.T) {
	t.Parallel()
	boom := &APIError{Method: "GET", Path: "groups", StatusCode: 403, Message: "403 Forbidden"}
	f := &fakeListing{n: 50, failAt: 2, failErr: boom}
	l := startSharedList(t.Context(), 1000, f.list)
	for range 2 {
		ids, err := collect(t.Context(), l, true, f)
		require.Error(t, err)
		assert.True(t, errors.As(err, new(*APIError)))
		assert.Equal(t, wantIDs(20), ids, "the pages before the failure were delivered")
	}
	assert.Equal(t, int32(1), f.listings.Load(), "a GitLab error is not retried by each reader")
}

func TestSharedListReaderCancelled(t *testing.T) {
	t.Parallel()
	f := &fakeListing{n: 50, failAt: -1, gate: make(chan struct{})}
	l := startSharedList(t.Context(), 1000, f.list)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := collect(ctx, l, true, f)
	require.ErrorIs(t, err, context.Canceled)
	close(f.gate) // let the listing finish
}
