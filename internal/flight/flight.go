// Package flight runs a computation once per key and shares its result
// with every caller of that key: those that arrive while it runs wait for
// it, later ones get it at once. It is the single-flight cache behind
// ocean.Memo (one resync's shared fetches) and the GitLab content kinds'
// per-fetch caches.
package flight

import (
	"context"
	"sync"
)

// Group is a set of keyed computations. The zero value is ready to use; it
// is safe for concurrent use.
type Group[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]*entry[V]
}

type entry[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// Do returns fn's result for k, running fn only if no caller has (or is).
// A caller that waits stops waiting when ctx is done. When fn fails and
// forget(err) is true the failure is not kept, so that a later caller
// runs fn again (forget nil: keep every result).
func (g *Group[K, V]) Do(ctx context.Context, k K, fn func() (V, error), forget func(error) bool) (V, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[K]*entry[V]{}
	}
	e, ok := g.m[k]
	if !ok {
		e = &entry[V]{done: make(chan struct{})}
		g.m[k] = e
		g.mu.Unlock()
		e.v, e.err = fn()
		if e.err != nil && forget != nil && forget(e.err) {
			g.mu.Lock()
			delete(g.m, k)
			g.mu.Unlock()
		}
		close(e.done)
		return e.v, e.err
	}
	g.mu.Unlock()
	select {
	case <-e.done:
		return e.v, e.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// Peek returns a result already computed without error, without waiting.
func (g *Group[K, V]) Peek(k K) (V, bool) {
	g.mu.Lock()
	e, ok := g.m[k]
	g.mu.Unlock()
	if ok {
		select {
		case <-e.done:
			return e.v, e.err == nil
		default:
		}
	}
	var zero V
	return zero, false
}

// Put records a result known otherwise, unless k already has one.
func (g *Group[K, V]) Put(k K, v V) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[K]*entry[V]{}
	}
	if _, ok := g.m[k]; ok {
		return
	}
	e := &entry[V]{done: make(chan struct{}), v: v}
	close(e.done)
	g.m[k] = e
}
