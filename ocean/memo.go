package ocean

import (
	"context"
	"errors"

	"github.com/oceankit/oceankit/internal/flight"
)

// A resync's memo lets kinds share what they fetch: gitlab-v2's `member`
// and `group-with-members` both need every group's members, and fetching
// them once per resync instead of once per kind halves those requests.

type memoKey struct{}

// memo is one resync's shared results.
type memo = flight.Group[string, any]

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
	forget := func(error) bool { return true }
	v, err := m.Do(ctx, key, func() (any, error) { return fn(ctx) }, forget)
	if err != nil {
		// The computing caller's own context may have ended (its kind
		// failed): that is no reason for this one to fail.
		if ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			return fn(ctx)
		}
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// Memoized reports whether ctx belongs to a resync whose Memo shares
// results between kinds and pages; a kind can then prefer one wide request
// (a whole group's search) that later pages reuse.
func Memoized(ctx context.Context) bool {
	m, _ := ctx.Value(memoKey{}).(*memo)
	return m != nil
}
