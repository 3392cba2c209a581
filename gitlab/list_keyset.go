package gitlab

import (
	"context"
	"errors"
	"math"
	"net/url"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/ocean"
)

// errMet ends one direction of a two-ended listing once the other has
// covered the rest.
var errMet = errors.New("gitlab: the two ends of the listing met")

// keysetBothEnds lists path (keyset pagination ordered by id, q ascending)
// from both ends at once: one walk up from the lowest id, one down from the
// highest, until they meet. Keyset pages must be fetched one after another,
// which made the project list the longest chain of a resync (a page of 100
// full projects takes GitLab seconds on large instances); two walks halve
// it. Each id is delivered once: a walk keeps only the ids the other has
// not reached, and stops when it reaches them. An instance whose first page
// is its only page costs one request, as before; otherwise the walks
// overlap by at most a page or two.
//
// fn receives pages as they come (ascending within a page from the upward
// walk, descending from the downward one) and is never called concurrently.
//
// proj projects the items (see Client.pages); it must keep keysetReads.
func (c *Client) keysetBothEnds(ctx context.Context, path string, q url.Values, proj projection, fn func([]ocean.Item) error) error {
	m := &meeting{low: math.MinInt64, high: math.MaxInt64}
	var fnMu sync.Mutex
	deliver := func(page []ocean.Item) error {
		if len(page) == 0 {
			return nil
		}
		fnMu.Lock()
		defer fnMu.Unlock()
		return fn(page)
	}
	eg, ectx := errgroup.WithContext(ctx)
	down := sync.OnceFunc(func() {
		eg.Go(func() error {
			dq := cloneValues(q)
			dq.Set("sort", "desc")
			err := c.pages(ectx, path, dq, proj, func(page []ocean.Item) error {
				keep, met := m.claim(page, false)
				if err := deliver(keep); err != nil {
					return err
				}
				if met {
					return errMet
				}
				return nil
			})
			return m.end(err)
		})
	})
	eg.Go(func() error {
		first := true
		err := c.pages(ectx, path, q, proj, func(page []ocean.Item) error {
			full := len(page) >= c.pageSize(q)
			keep, met := m.claim(page, true)
			if err := deliver(keep); err != nil {
				return err
			}
			if met {
				return errMet
			}
			if first && full {
				// More pages may follow: start walking down from the top.
				down()
			}
			first = false
			return nil
		})
		return m.end(err)
	})
	return eg.Wait()
}

// pageSize is the per_page a listing asks for.
func (c *Client) pageSize(q url.Values) int {
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		return n
	}
	n, _ := strconv.Atoi(perPage)
	return n
}

// meeting tracks how far each walk of a two-ended listing has gone.
type meeting struct {
	mu   sync.Mutex
	low  int64 // the highest id the upward walk delivered
	high int64 // the lowest id the downward walk delivered
	done bool  // one walk covered everything
}

// claim returns the items of a page that the other walk has not delivered,
// and whether this walk has now met it. Items without a numeric id are
// kept (they cannot be ordered; GitLab always sends one).
func (m *meeting) claim(page []ocean.Item, up bool) ([]ocean.Item, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return nil, true
	}
	keep := page[:0:0]
	met := false
	for _, it := range page {
		id, ok := itemID(it)
		switch {
		case !ok:
			keep = append(keep, it)
		case up && id < m.high:
			keep = append(keep, it)
			m.low = max(m.low, id)
		case !up && id > m.low:
			keep = append(keep, it)
			m.high = min(m.high, id)
		default:
			met = true
		}
	}
	if met {
		m.done = true
	}
	return keep, met
}

// end records that a walk finished: at the end of the list it has covered
// everything, so the other stops at its next page.
func (m *meeting) end(err error) error {
	if errors.Is(err, errMet) {
		return nil
	}
	if err == nil {
		m.mu.Lock()
		m.done = true
		m.mu.Unlock()
	}
	return err
}

// keysetReads are the keys a two-ended listing reads from its items.
var keysetReads = []string{"id"}

func itemID(it ocean.Item) (int64, bool) {
	id, err := strconv.ParseInt(idString(it["id"]), 10, 64)
	return id, err == nil
}
