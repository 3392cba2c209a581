package redisqueue_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// widgetsCovering returns one widget id per shard, so that every replica
// gets events whatever shards it holds.
func widgetsCovering(r *replica, shards int) []string {
	seen := map[int]bool{}
	var ids []string
	for i := 0; len(ids) < shards; i++ {
		id := fmt.Sprintf("w-%05d", i)
		if s := r.queue.ShardOf("widget-hook/" + id); !seen[s] {
			seen[s] = true
			ids = append(ids, id)
		}
	}
	return ids
}

func TestTwoReplicasApplyEachEventOnceInOrder(t *testing.T) {
	t.Parallel()
	const shards = 4
	c := newCluster(t)
	a := c.start("replica-a", shards, &widgetHook{})
	b := c.start("replica-b", shards, &widgetHook{})
	eventually(t, func() bool {
		oa, ob := a.queue.Owned(), b.queue.Owned()
		return len(oa) == shards/2 && len(ob) == shards/2
	}, "the replicas share the shards")
	for _, s := range a.queue.Owned() {
		assert.NotContains(t, b.queue.Owned(), s, "a shard has one owner")
	}

	ids := widgetsCovering(a, shards)
	const updates = 10
	for n := range updates {
		for i, id := range ids {
			to := a
			if (n+i)%2 == 1 {
				to = b
			}
			require.Equal(t, http.StatusAccepted, c.post(to, id, n))
		}
	}
	eventually(t, func() bool { return len(c.rec.all()) >= updates*len(ids) }, "every event handled")
	for _, id := range ids {
		eventually(t, func() bool { return c.size(id) == updates-1 }, "last state of "+id+" in Port")
	}
	require.NoError(t, a.stop())
	require.NoError(t, b.stop())

	got := c.rec.all()
	assert.Len(t, got, updates*len(ids), "each event is applied exactly once")
	last := map[string]int{}
	perReplica := map[string]int{}
	for _, h := range got {
		prev, seen := last[h.id]
		if seen {
			assert.Equal(t, prev+1, h.size, "events for %s are applied in the order they were posted", h.id)
		} else {
			assert.Equal(t, 0, h.size)
		}
		last[h.id] = h.size
		perReplica[h.replica]++
	}
	assert.Positive(t, perReplica["replica-a"], "replica a applied events")
	assert.Positive(t, perReplica["replica-b"], "replica b applied events")
}

func TestKilledReplicaEventsAreTakenOver(t *testing.T) {
	t.Parallel()
	const shards = 2
	c := newCluster(t)
	blocked := &widgetHook{gate: make(chan struct{}), entered: make(chan string, 1)}
	a := c.start("replica-a", shards, blocked)
	eventually(t, func() bool { return len(a.queue.Owned()) == shards }, "a holds every shard")

	require.Equal(t, http.StatusAccepted, c.post(a, "w-00001", 1))
	<-blocked.entered // a is in the middle of the event

	b := c.start("replica-b", shards, &widgetHook{})
	require.Equal(t, http.StatusAccepted, c.post(b, "w-00001", 2))
	require.NoError(t, a.stop(), "a stops while its handler is blocked")

	eventually(t, func() bool { return c.size("w-00001") == 2 }, "b applied both events")
	eventually(t, func() bool { return len(b.queue.Owned()) == shards }, "b holds every shard")
	require.NoError(t, b.stop())
	got := c.rec.all()
	require.Len(t, got, 2)
	assert.Equal(t, handled{replica: "replica-b", id: "w-00001", size: 1}, got[0], "the interrupted event is applied first")
	assert.Equal(t, handled{replica: "replica-b", id: "w-00001", size: 2}, got[1])
}

func TestAppEventWhoseHandlerPanicsIsParked(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	a := c.start("replica-a", 1, &widgetHook{panicOn: "w-00009"})
	require.Equal(t, http.StatusAccepted, c.post(a, "w-00009", 1))
	require.Equal(t, http.StatusAccepted, c.post(a, "w-00002", 1))
	eventually(t, func() bool { return c.size("w-00002") == 1 }, "the next event is applied")
	rc := rawClient(t, c.redis)
	dead, err := rc.XRange(context.Background(), a.queue.DeadLetterStream(), "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, dead, 1, "the event that keeps failing is parked")
	assert.Equal(t, "widget-hook/w-00009", dead[0].Values["key"])
	assert.Equal(t, -1, c.size("w-00009"))
	require.NoError(t, a.stop())
}
