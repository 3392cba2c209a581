package ocean

import (
	"context"
	"errors"
	"sync"
)

// A resync's memo lets kinds share what they fetch: gitlab-v2's `member`
// and `group-with-members` both need every group's members, and fetching
// them once per resync instead of once per kind halves those requests.

type memoKey struct{}

type memo struct {
	mu sync.Mutex
	m  map[string]*memoEntry
}

type memoEntry struct {
	done chan struct{}
	v    any
	err  error
}

func withMemo(ctx context.Context, m *memo) context.Context {
	return context.WithValue(ctx, memoKey{}, m)
}

// Memo returns fn's result for key, computed once per resync and shared by
// every kind of that resync that asks for the same key; callers that ask
// while it is being computed wait for it. Outside a resync (a live event)
// it simply calls fn. Errors are not kept: a later caller tries again.
// Results are shared, so callers must not modify them.
func Memo[T any](ctx context.Context, key string, fn func(context.Context) (T, error)) (T, error) {
	m, _ := ctx.Value(memoKey{}).(*memo)
	if m == nil {
		return fn(ctx)
	}
	m.mu.Lock()
	e, ok := m.m[key]
	if !ok {
		e = &memoEntry{done: make(chan struct{})}
		m.m[key] = e
		m.mu.Unlock()
		v, err := fn(ctx)
		e.v, e.err = v, err
		if err != nil {
			m.mu.Lock()
			delete(m.m, key)
			m.mu.Unlock()
		}
		close(e.done)
		return v, err
	}
	m.mu.Unlock()
	select {
	case <-e.done:
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
	if e.err != nil {
		// The computing caller's own context may have ended (its kind
		// failed): that is no reason for this one to fail.
		if errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded) {
			return fn(ctx)
		}
		var zero T
		return zero, e.err
	}
	return e.v.(T), nil
}

// Memoized reports whether ctx belongs to a resync whose Memo shares
// results between kinds and pages; a kind can then prefer one wide request
// (a whole group's search) that later pages reuse.
func Memoized(ctx context.Context) bool {
	m, _ := ctx.Value(memoKey{}).(*memo)
	return m != nil
}
