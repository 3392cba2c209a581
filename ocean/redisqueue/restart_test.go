package redisqueue_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/redisqueue"
)

// Redis loses its data: killed in the middle of a burst and started again
// empty (no persistence), with two replicas behind the webhook route.
// Events accepted before the kill were still waiting in Redis (the
// handlers were held), events delivered during the outage are answered
// 503, and the sender delivers again until it gets 202, as GitLab does.
// Every event answered 202 is applied, in the order it was accepted per
// widget. The outage is shorter than the shard leases (the replicas find
// Redis empty while holding their shards), or longer (they gave their
// shards up meanwhile).
func TestRedisRestartedEmptyMidBurstLosesNoAcceptedEvent(t *testing.T) {
	t.Parallel()
	for _, long := range []bool{false, true} {
		t.Run(map[bool]string{false: "short outage", true: "outage past the leases"}[long], func(t *testing.T) {
			t.Parallel()
			redisRestartedEmptyMidBurst(t, long)
		})
	}
}

func redisRestartedEmptyMidBurst(t *testing.T, longOutage bool) {
	const shards = 4
	srv := startRedisServer(t)
	c := newClusterOn(t, srv.addr)
	gate := make(chan struct{})
	a := c.start("replica-a", shards, &widgetHook{gate: gate, entered: make(chan string, 64)})
	b := c.start("replica-b", shards, &widgetHook{gate: gate, entered: make(chan string, 64)})
	eventually(t, func() bool {
		return len(a.queue.Owned()) == shards/2 && len(b.queue.Owned()) == shards/2
	}, "the replicas share the shards")

	ids := widgetsCovering(a, shards)
	accepted := map[string][]int{}
	to := func(n, i int) *replica {
		if (n+i)%2 == 1 {
			return b
		}
		return a
	}
	// The burst's first half is accepted and waits in Redis: the replicas
	// are busy with (held in) their first events.
	for n := range 3 {
		for i, id := range ids {
			require.Equal(t, http.StatusAccepted, c.post(to(n, i), id, n))
			accepted[id] = append(accepted[id], n)
		}
	}

	srv.kill()
	for _, r := range []*replica{a, b} {
		start := time.Now()
		assert.Equal(t, http.StatusServiceUnavailable, c.post(r, ids[0], 1000), "a delivery during the outage is refused")
		t.Logf("503 during the outage after %v", time.Since(start))
		start = time.Now()
		assert.Equal(t, http.StatusServiceUnavailable, c.post(r, ids[1], 1000), "and the next one too")
		t.Logf("next 503 during the outage after %v", time.Since(start))
		eventually(t, func() bool { return status(t, r.url+"/health/ready") == http.StatusServiceUnavailable }, "not ready while Redis is down")
		assert.Contains(t, body(t, r.url+"/metrics"), "ocean_live_events_backend_up 0")
	}
	if longOutage {
		eventually(t, func() bool { return len(a.queue.Owned())+len(b.queue.Owned()) == 0 },
			"shards given up when their leases cannot be renewed")
	}

	srv.restart() // empty
	close(gate)
	// The burst's second half: the sender retries what is refused.
	for n := 3; n < 6; n++ {
		for i, id := range ids {
			r := to(n, i)
			eventually(t, func() bool {
				switch s := c.post(r, id, n); s {
				case http.StatusAccepted:
					return true
				case http.StatusServiceUnavailable:
					time.Sleep(10 * time.Millisecond)
					return false
				default:
					t.Fatalf("unexpected status %d", s)
					return false
				}
			}, "delivery accepted after the restart")
			accepted[id] = append(accepted[id], n)
		}
	}
	waitApplied(t, c.rec.all, accepted)
	for _, id := range ids {
		eventually(t, func() bool { return c.size(id) == 5 }, "last state of "+id+" in Port")
	}
	for _, r := range []*replica{a, b} {
		assert.Equal(t, http.StatusOK, status(t, r.url+"/health/ready"), "ready again")
		assert.Contains(t, body(t, r.url+"/metrics"), "ocean_live_events_backend_up 1")
	}
	require.NoError(t, a.stop())
	require.NoError(t, b.stop())

	got := c.rec.all()
	firsts, dups := firstApplications(got)
	for _, id := range ids {
		assert.Equal(t, accepted[id], firsts[id], "the events of %s are applied in the order they were accepted", id)
	}
	t.Logf("%d events accepted, %d applications, %d applied more than once", 6*len(ids), len(got), dups)
}

// The queue alone: two consumers, both enqueuing events for the same keys,
// Redis killed while some events are applied, some held and some waiting,
// and started again empty. Every Enqueue that returned nil is applied at
// least once, first in the order of the Enqueues per key, and the last
// event of each key is the last applied.
func TestQueueRecoversEveryEnqueuedEventFromAnEmptyRestart(t *testing.T) {
	t.Parallel()
	const shards = 4
	srv := startRedisServer(t)
	ctx := context.Background()
	gate := make(chan struct{})
	var mu sync.Mutex
	var got []handled
	apply := func(name string) ocean.ApplyFunc {
		return func(ctx context.Context, qe *ocean.QueuedEvent) {
			if strings.HasPrefix(qe.Key, "held") {
				select {
				case <-gate:
				case <-ctx.Done():
					return // cut short: it stays queued
				}
			}
			size, _ := strconv.Atoi(qe.Event.ID)
			mu.Lock()
			got = append(got, handled{replica: name, id: qe.Key, size: size})
			mu.Unlock()
		}
	}
	var qs []*redisqueue.Queue
	for _, name := range []string{"q1", "q2"} {
		cfg := testConfig(t, srv.addr, shards)
		cfg.Consumer = name
		q := newQueue(t, cfg)
		qs = append(qs, q)
		runQueue(t, q, apply(name))
	}
	eventually(t, func() bool { return len(qs[0].Owned())+len(qs[1].Owned()) == shards }, "shards held")

	keys := []string{"held-1", "held-2", "free-1", "free-2", "free-3"}
	accepted := map[string][]int{}
	enqueue := func(n int, key string) error {
		return qs[n%2].Enqueue(ctx, []*ocean.QueuedEvent{queued(key, strconv.Itoa(n), nil)})
	}
	for n := range 10 {
		for _, k := range keys {
			require.NoError(t, enqueue(n, k))
			accepted[k] = append(accepted[k], n)
		}
	}
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	}, "some events applied before the kill")

	srv.kill()
	for _, q := range qs {
		err := q.Enqueue(ctx, []*ocean.QueuedEvent{queued("free-1", "999", nil)})
		require.ErrorIs(t, err, redisqueue.ErrUnavailable, "refused while Redis is down")
		require.ErrorIs(t, q.Healthy(), redisqueue.ErrUnavailable)
		err = q.Enqueue(ctx, []*ocean.QueuedEvent{queued("free-1", "999", nil)})
		require.ErrorIs(t, err, redisqueue.ErrUnavailable, "refused again, without waiting on Redis")
	}
	srv.restart()
	close(gate)
	for n := 10; n < 20; n++ {
		for _, k := range keys {
			eventually(t, func() bool {
				err := enqueue(n, k)
				if err != nil {
					require.ErrorIs(t, err, redisqueue.ErrUnavailable)
					time.Sleep(5 * time.Millisecond)
				}
				return err == nil
			}, "enqueued after the restart")
			accepted[k] = append(accepted[k], n)
		}
	}
	waitApplied(t, func() []handled {
		mu.Lock()
		defer mu.Unlock()
		return append([]handled(nil), got...)
	}, accepted)
	for _, q := range qs {
		require.NoError(t, q.Healthy())
		eventually(t, func() bool { return q.OutboxLen() == 0 }, "a replica forgets the events it saw applied")
	}
	mu.Lock()
	defer mu.Unlock()
	firsts, dups := firstApplications(got)
	last := map[string]int{}
	for _, h := range got {
		last[h.id] = h.size
	}
	for _, k := range keys {
		assert.Equal(t, accepted[k], firsts[k], "events of %s first applied in order", k)
		assert.Equal(t, 19, last[k], "the last event of %s is applied last", k)
	}
	t.Logf("%d events enqueued, %d applications, %d applied more than once", 20*len(keys), len(got), dups)
}

// Redis frozen (SIGSTOP) longer than the leases, then resumed with its
// data: deliveries meanwhile are refused within EnqueueTimeout and then
// at once, and every event accepted before and after is applied, in order.
func TestFrozenRedisResumesWithItsData(t *testing.T) {
	t.Parallel()
	const shards = 2
	srv := startRedisServer(t)
	ctx := context.Background()
	var mu sync.Mutex
	var got []handled
	var qs []*redisqueue.Queue
	for _, name := range []string{"q1", "q2"} {
		cfg := testConfig(t, srv.addr, shards)
		cfg.Consumer = name
		cfg.EnqueueTimeout = 200 * time.Millisecond
		q := newQueue(t, cfg)
		qs = append(qs, q)
		runQueue(t, q, func(_ context.Context, qe *ocean.QueuedEvent) {
			size, _ := strconv.Atoi(qe.Event.ID)
			mu.Lock()
			got = append(got, handled{replica: name, id: qe.Key, size: size})
			mu.Unlock()
		})
	}
	eventually(t, func() bool { return len(qs[0].Owned())+len(qs[1].Owned()) == shards }, "shards held")
	keys := []string{"a", "b", "c"}
	accepted := map[string][]int{}
	enqueue := func(n int, key string) error {
		return qs[n%2].Enqueue(ctx, []*ocean.QueuedEvent{queued(key, strconv.Itoa(n), nil)})
	}
	for n := range 5 {
		for _, k := range keys {
			require.NoError(t, enqueue(n, k))
			accepted[k] = append(accepted[k], n)
		}
	}
	srv.freeze()
	for _, q := range qs {
		err := q.Enqueue(ctx, []*ocean.QueuedEvent{queued("a", "999", nil)})
		require.ErrorIs(t, err, redisqueue.ErrUnavailable, "refused after EnqueueTimeout")
		err = q.Enqueue(ctx, []*ocean.QueuedEvent{queued("a", "999", nil)})
		require.ErrorIs(t, err, redisqueue.ErrUnavailable, "then at once")
	}
	eventually(t, func() bool { return len(qs[0].Owned())+len(qs[1].Owned()) == 0 }, "shards given up")
	srv.thaw()
	for n := 5; n < 10; n++ {
		for _, k := range keys {
			eventually(t, func() bool {
				err := enqueue(n, k)
				if err != nil {
					time.Sleep(5 * time.Millisecond)
				}
				return err == nil
			}, "enqueued after the thaw")
			accepted[k] = append(accepted[k], n)
		}
	}
	snapshot := func() []handled {
		mu.Lock()
		defer mu.Unlock()
		return append([]handled(nil), got...)
	}
	waitApplied(t, snapshot, accepted)
	firsts, dups := firstApplications(snapshot())
	for _, k := range keys {
		assert.Equal(t, accepted[k], without(firsts[k], 999), "events of %s first applied in order", k)
	}
	t.Logf("%d events enqueued, %d applied more than once", 10*len(keys), dups)
}

// without drops v from s.
func without(s []int, v int) []int {
	var out []int
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// A consumer whose stream and group disappear while Redis keeps running
// (a manual DEL) recreates them and reads what is added afterwards, and
// Enqueue into a stream Redis lost stores the entry where the group reads
// it from the start.
func TestDeletedStreamAndGroupAreRecreated(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	rc := rawClient(t, addr)
	ctx := context.Background()
	q := newQueue(t, testConfig(t, addr, 1))
	got := &applied{}
	runQueue(t, q, got.apply)
	eventually(t, func() bool { return len(q.Owned()) == 1 }, "running")
	require.NoError(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("k", "1", nil)}))
	eventually(t, func() bool { return len(got.ids()) == 1 }, "applied")

	require.NoError(t, rc.Del(ctx, q.Stream(0)).Err())
	require.NoError(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("k", "2", nil)}))
	groups, err := rc.XInfoGroups(ctx, q.Stream(0)).Result()
	require.NoError(t, err)
	require.Len(t, groups, 1, "Enqueue created the group with the stream")
	eventually(t, func() bool { return len(got.ids()) == 2 }, "applied after the stream was deleted")

	require.NoError(t, rc.XGroupDestroy(ctx, q.Stream(0), "widgets.test-widgets").Err())
	// The consumer meets NOGROUP before the next Enqueue recreates it.
	eventually(t, func() bool {
		g, err := rc.XInfoGroups(ctx, q.Stream(0)).Result()
		return err == nil && len(g) == 1
	}, "the consumer recreated the group")
	require.NoError(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("k", "3", nil)}))
	eventually(t, func() bool { return len(got.ids()) == 3 }, "applied after the group was destroyed")
	assert.Equal(t, []string{"1", "2", "3"}, got.ids())
}

// While Redis is down, Healthy says so, Enqueue fails with ErrUnavailable,
// and both recover once it is back, without a restart of the queue.
func TestHealthFollowsRedis(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t)
	ctx := context.Background()
	q := newQueue(t, testConfig(t, srv.addr, 2))
	got := &applied{}
	runQueue(t, q, got.apply)
	eventually(t, func() bool { return len(q.Owned()) == 2 }, "running")
	require.NoError(t, q.Healthy())

	srv.kill()
	eventually(t, func() bool { return q.Healthy() != nil }, "Redis seen down by the consumers")
	require.ErrorIs(t, q.Healthy(), redisqueue.ErrUnavailable)
	require.ErrorIs(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("k", "lost", nil)}), redisqueue.ErrUnavailable)

	srv.restart()
	eventually(t, func() bool { return q.Healthy() == nil }, "Redis seen up again")
	eventually(t, func() bool {
		return q.Enqueue(ctx, []*ocean.QueuedEvent{queued("k", "after", nil)}) == nil
	}, "accepted again after the recovery window")
	eventually(t, func() bool { return len(got.ids()) == 1 }, "applied")
	assert.Equal(t, []string{"after"}, got.ids())
}

// waitApplied waits (boundedly) until every accepted (id, size) was
// handled, and fails with the number never handled.
func waitApplied(t *testing.T, handledNow func() []handled, accepted map[string][]int) {
	t.Helper()
	total, lost := 0, 0
	deadline := time.Now().Add(15 * time.Second)
	for {
		seen := map[string]bool{}
		for _, h := range handledNow() {
			seen[fmt.Sprint(h.id, "/", h.size)] = true
		}
		total, lost = 0, 0
		for id, sizes := range accepted {
			for _, s := range sizes {
				total++
				if !seen[fmt.Sprint(id, "/", s)] {
					lost++
				}
			}
		}
		if lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.Zero(t, lost, "%d of %d accepted events were never applied", lost, total)
}

// firstApplications lists, per id, the sizes in the order they were first
// handled, and counts the handlings of a size already handled.
func firstApplications(got []handled) (map[string][]int, int) {
	firsts := map[string][]int{}
	seen := map[string]bool{}
	dups := 0
	for _, h := range got {
		k := fmt.Sprint(h.id, "/", h.size)
		if seen[k] {
			dups++
			continue
		}
		seen[k] = true
		firsts[h.id] = append(firsts[h.id], h.size)
	}
	return firsts, dups
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func body(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
