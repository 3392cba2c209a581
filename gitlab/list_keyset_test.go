package gitlab

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
)

// keysetServer serves ids (sorted ascending) at /api/v4/items with GitLab's
// keyset pagination ordered by id, both directions.
type keysetServer struct {
	mu       sync.Mutex
	ids      []int
	requests atomic.Int32
	failAt   int32 // answer 500 to this request number (0: never)
}

func (s *keysetServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	if n == s.failAt {
		http.Error(w, `{"message":"500 Internal Server Error"}`, http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	desc := q.Get("sort") == "desc"
	s.mu.Lock()
	ids := slices.Clone(s.ids)
	s.mu.Unlock()
	if desc {
		slices.Reverse(ids)
	}
	start := 0
	if v := q.Get("id_after"); v != "" && !desc {
		after, _ := strconv.Atoi(v)
		for start < len(ids) && ids[start] <= after {
			start++
		}
	}
	if v := q.Get("id_before"); v != "" && desc {
		before, _ := strconv.Atoi(v)
		for start < len(ids) && ids[start] >= before {
			start++
		}
	}
	end := min(len(ids), start+per)
	page := make([]map[string]any, 0, end-start)
	for _, id := range ids[start:end] {
		page = append(page, map[string]any{"id": id})
	}
	if end < len(ids) && len(page) > 0 {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		key := "id_after"
		if desc {
			key = "id_before"
		}
		nq.Set(key, strconv.Itoa(ids[end-1]))
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?%s>; rel="next"`, r.Host, r.URL.Path, nq.Encode()))
	}
	_ = json.NewEncoder(w).Encode(page)
}

func seqIDs(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 3*i + 1 // gaps, as real ids have
	}
	return out
}

func TestKeysetBothEndsDeliversEveryIDOnce(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 99, 100, 101, 250, 1000, 1234} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			srv := &keysetServer{ids: seqIDs(n)}
			c, _ := newTestClient(t, srv)
			var inFn atomic.Int32
			var got []int
			q := url.Values{"pagination": {"keyset"}, "order_by": {"id"}, "sort": {"asc"}}
			err := c.keysetBothEnds(t.Context(), "items", q, nil, func(page []ocean.Item) error {
				require.Equal(t, int32(1), inFn.Add(1), "fn is never called concurrently")
				defer inFn.Add(-1)
				for _, it := range page {
					id, _ := itemID(it)
					got = append(got, int(id))
				}
				return nil
			})
			require.NoError(t, err)
			slices.Sort(got)
			if n == 0 {
				assert.Empty(t, got)
			} else {
				assert.Equal(t, seqIDs(n), got, "every id once")
			}
			pages := max(1, (n+99)/100)
			reqs := int(srv.requests.Load())
			if n <= 99 {
				assert.Equal(t, 1, reqs, "a single page costs a single request")
			} else {
				assert.GreaterOrEqual(t, reqs, pages)
				assert.LessOrEqual(t, reqs, pages+2, "the walks overlap by at most a page or two")
			}
		})
	}
}

func TestKeysetBothEndsFailsWithTheAPIError(t *testing.T) {
	t.Parallel()
	srv := &keysetServer{ids: seqIDs(1000), failAt: 4}
	c, _ := newTestClient(t, srv, func(cfg *Config) { cfg.MaxRetries = 0 })
	q := url.Values{"pagination": {"keyset"}, "order_by": {"id"}, "sort": {"asc"}}
	err := c.keysetBothEnds(t.Context(), "items", q, nil, func([]ocean.Item) error { return nil })
	require.Error(t, err)
	assert.Equal(t, http.StatusInternalServerError, StatusCode(err))
}

func TestKeysetBothEndsStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	srv := &keysetServer{ids: seqIDs(1000)}
	c, _ := newTestClient(t, srv)
	boom := fmt.Errorf("downstream full")
	q := url.Values{"pagination": {"keyset"}, "order_by": {"id"}, "sort": {"asc"}}
	calls := 0
	err := c.keysetBothEnds(t.Context(), "items", q, nil, func([]ocean.Item) error {
		calls++
		if calls == 2 {
			return boom
		}
		return nil
	})
	require.ErrorIs(t, err, boom)
}

// Projects created while the listing runs are covered like a one-way
// keyset listing covers them: those above the upward walk's position.
func TestKeysetBothEndsWithAdditions(t *testing.T) {
	t.Parallel()
	srv := &keysetServer{ids: seqIDs(500)}
	c, _ := newTestClient(t, srv)
	q := url.Values{"pagination": {"keyset"}, "order_by": {"id"}, "sort": {"asc"}}
	seen := map[int]int{}
	err := c.keysetBothEnds(t.Context(), "items", q, nil, func(page []ocean.Item) error {
		srv.mu.Lock()
		srv.ids = append(srv.ids, srv.ids[len(srv.ids)-1]+3)
		srv.mu.Unlock()
		for _, it := range page {
			id, _ := itemID(it)
			seen[int(id)]++
		}
		return nil
	})
	require.NoError(t, err)
	for _, id := range seqIDs(500) {
		assert.Equal(t, 1, seen[id], "id %d existed before the listing: delivered exactly once", id)
	}
	for id, n := range seen {
		assert.Equal(t, 1, n, "id %d delivered once", id)
	}
}
