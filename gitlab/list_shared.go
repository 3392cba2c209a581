package gitlab

import (
	"context"
	"errors"
	"maps"
	"sync"

	"github.com/oceankit/oceankit/ocean"
)

// sharedListCap bounds the items a shared listing keeps for the kinds of a
// resync that read it (about 3 KiB each for a group); past it, each reader
// lists the rest itself.
const sharedListCap = 20000

// errSharedListFull ends a shared listing that reached its cap.
var errSharedListFull = errors.New("gitlab: shared listing reached its cap")

// sharedList is one listing of a collection that several kinds of a resync
// read, each from the first page, as the pages arrive. It lists in the
// background, so a reader that is slow (a kind fetching members for every
// group) does not hold back a fast one (a kind that only wants group ids);
// the pages stay in memory until the resync ends, up to a cap.
type sharedList struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced when pages arrive or the listing ends
	pages   [][]ocean.Item
	items   int
	done    bool
	err     error
}

// startSharedList starts listing with ctx, the context of the first kind
// that asked: if that kind ends early the listing stops, and the others
// list the rest themselves.
func startSharedList(ctx context.Context, limit int, list func(context.Context, func([]ocean.Item) error) error) *sharedList {
	l := &sharedList{changed: make(chan struct{})}
	go func() {
		err := list(ctx, func(page []ocean.Item) error {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.items+len(page) > limit {
				return errSharedListFull
			}
			l.pages = append(l.pages, page)
			l.items += len(page)
			l.notifyLocked()
			return nil
		})
		l.mu.Lock()
		l.done, l.err = true, err
		l.notifyLocked()
		l.mu.Unlock()
	}()
	return l
}

func (l *sharedList) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// read gives fn every page from the first, waiting for pages still being
// listed. With clone, fn gets its own copies of the items, which it may
// change and send. If the shared listing stopped short for a reason of its
// own (the cap, the first kind's context ending), read lists again with
// list and gives fn what it has not had yet; a GitLab error is every
// reader's error.
func (l *sharedList) read(ctx context.Context, clone bool, list func(context.Context, func([]ocean.Item) error) error, fn func([]ocean.Item) error) error {
	seen := map[string]struct{}{}
	for next := 0; ; {
		l.mu.Lock()
		for next >= len(l.pages) && !l.done {
			ch := l.changed
			l.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
			l.mu.Lock()
		}
		if next < len(l.pages) {
			page := l.pages[next]
			next++
			l.mu.Unlock()
			out := page
			if clone {
				out = make([]ocean.Item, len(page))
			}
			for i, it := range page {
				seen[idString(it["id"])] = struct{}{}
				if clone {
					out[i] = maps.Clone(it)
				}
			}
			if err := fn(out); err != nil {
				return err
			}
			continue
		}
		err := l.err
		l.mu.Unlock()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errSharedListFull), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return list(ctx, func(page []ocean.Item) error {
				rest := page[:0:0]
				for _, it := range page {
					if _, ok := seen[idString(it["id"])]; !ok {
						rest = append(rest, it)
					}
				}
				if len(rest) == 0 {
					return nil
				}
				return fn(rest)
			})
		default:
			return err
		}
	}
}
