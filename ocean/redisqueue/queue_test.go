package redisqueue_test

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/redisqueue"
	"github.com/oceankit/oceankit/ocean/settings"
)

// applied records what an ApplyFunc was given, in order.
type applied struct {
	mu  sync.Mutex
	evs []*ocean.QueuedEvent
}

func (a *applied) apply(_ context.Context, qe *ocean.QueuedEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.evs = append(a.evs, qe)
}

func (a *applied) ids() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, len(a.evs))
	for i, e := range a.evs {
		out[i] = e.Event.ID
	}
	return out
}

func streamLen(t *testing.T, rc *redis.Client, q *redisqueue.Queue, shards int) int64 {
	t.Helper()
	var n int64
	for i := range shards {
		l, err := rc.XLen(context.Background(), q.Stream(i)).Result()
		require.NoError(t, err)
		n += l
	}
	return n
}

func TestEnqueueIsBoundedAndAllOrNothing(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	rc := rawClient(t, addr)
	cfg := testConfig(t, addr, 4)
	cfg.MaxQueued = 3
	q := newQueue(t, cfg)
	ctx := context.Background()

	require.NoError(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("a", "1", nil), queued("b", "2", nil)}))
	err := q.Enqueue(ctx, []*ocean.QueuedEvent{queued("c", "3", nil), queued("d", "4", nil)})
	require.ErrorIs(t, err, ocean.ErrQueueFull, "a delivery that does not fit is refused")
	assert.EqualValues(t, 2, streamLen(t, rc, q, 4), "and none of its events is queued")
	require.NoError(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("c", "3", nil)}))
	require.ErrorIs(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("e", "5", nil)}), ocean.ErrQueueFull)

	// Applied events leave the streams, which makes room again.
	got := &applied{}
	runQueue(t, q, got.apply)
	eventually(t, func() bool { return len(got.ids()) == 3 }, "queued events applied")
	eventually(t, func() bool { return streamLen(t, rc, q, 4) == 0 }, "applied entries deleted")
	require.NoError(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("e", "5", nil)}))
}

func TestEventsSurviveTheTripThroughRedis(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	rc := rawClient(t, addr)
	q := newQueue(t, testConfig(t, addr, 2))
	qe := queued("widget-hook/w-1", "evt-1", map[string]any{"widget": map[string]any{"id": "w-1"}})
	qe.Event.Headers.Set("X-Gitlab-Token", "glpat-very-secret")
	qe.Event.Headers.Set("Authorization", "Bearer very-secret")
	qe.Event.Headers.Set("X-Gitlab-Event", "Push Hook")
	require.NoError(t, q.Enqueue(context.Background(), []*ocean.QueuedEvent{qe}))

	entries, err := rc.XRange(context.Background(), q.Stream(q.ShardOf(qe.Key)), "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, entries, 1)
	for k, v := range entries[0].Values {
		assert.NotContains(t, v, "very-secret", "field %s holds no credential", k)
	}
	assert.Equal(t, "evt-1", entries[0].Values["eventId"])
	assert.Equal(t, "/webhook", entries[0].Values["webhookPath"])

	got := &applied{}
	runQueue(t, q, got.apply)
	eventually(t, func() bool { return len(got.ids()) == 1 }, "applied")
	ev := got.evs[0]
	assert.Equal(t, "widget-hook/w-1", ev.Key)
	assert.Equal(t, "widget-hook", ev.Processor)
	assert.JSONEq(t, `{"widget":{"id":"w-1"}}`, string(ev.Event.Body))
	assert.Nil(t, ev.Event.Payload, "the App decodes the payload again from the body")
	assert.Equal(t, "Push Hook", ev.Event.Headers.Get("X-Gitlab-Event"))
	assert.Empty(t, ev.Event.Headers.Get("X-Gitlab-Token"))
	assert.Empty(t, ev.Event.Headers.Get("Authorization"))
	assert.WithinDuration(t, qe.Event.ReceivedAt, ev.Event.ReceivedAt, time.Millisecond)
}

func TestDeadReplicasEntriesAreReclaimedInOrder(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	rc := rawClient(t, addr)
	ctx := context.Background()
	cfg := testConfig(t, addr, 1)
	cfg.ConsumerCleanupIdle = 20 * time.Millisecond
	q := newQueue(t, cfg)
	require.NoError(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("k", "1", nil), queued("k", "2", nil), queued("k", "3", nil)}))

	// A replica that read the first entry and died without a word: its
	// lease runs out on its own and its entry stays pending.
	stream := q.Stream(0)
	require.ErrorContains(t, rc.XGroupCreateMkStream(ctx, stream, cfg.Group, "0").Err(), "BUSYGROUP",
		"Enqueue stores entries in a stream whose group exists")
	_, err := rc.XReadGroup(ctx, &redis.XReadGroupArgs{Group: cfg.Group, Consumer: "dead-replica", Streams: []string{stream, ">"}, Count: 1}).Result()
	require.NoError(t, err)
	require.NoError(t, rc.Set(ctx, stream+":owner", "dead-replica", 300*time.Millisecond).Err())

	got := &applied{}
	runQueue(t, q, got.apply)
	eventually(t, func() bool { return len(got.ids()) == 3 }, "every entry applied after the lease ran out")
	assert.Equal(t, []string{"1", "2", "3"}, got.ids(), "the reclaimed entry first, once")
	eventually(t, func() bool {
		p, err := rc.XPending(ctx, stream, cfg.Group).Result()
		return err == nil && p.Count == 0
	}, "nothing left pending")
	eventually(t, func() bool {
		cons, err := rc.XInfoConsumers(ctx, stream, cfg.Group).Result()
		if err != nil {
			return false
		}
		for _, c := range cons {
			if c.Name == "dead-replica" {
				return false
			}
		}
		return true
	}, "the dead replica's consumer is removed from the group")
}

func TestPanickingEventIsParkedAfterTheBound(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	rc := rawClient(t, addr)
	ctx := context.Background()
	cfg := testConfig(t, addr, 1)
	cfg.MaxRequeue = 2
	q := newQueue(t, cfg)
	require.NoError(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("a", "before", nil)}))
	require.NoError(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("b", "poison", nil)}))
	require.NoError(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("a", "after", nil)}))
	_, err := rc.XAdd(ctx, &redis.XAddArgs{Stream: q.Stream(0), Values: []any{"key", "c", "processor", "p", "event", "{not json"}}).Result()
	require.NoError(t, err)
	require.NoError(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("a", "last", nil)}))

	var attempts atomic.Int32
	got := &applied{}
	runQueue(t, q, func(ctx context.Context, qe *ocean.QueuedEvent) {
		if qe.Event.ID == "poison" {
			attempts.Add(1)
			panic("handler bug")
		}
		got.apply(ctx, qe)
	})
	eventually(t, func() bool { return len(got.ids()) == 3 }, "the other events applied")
	assert.Equal(t, []string{"before", "after", "last"}, got.ids(), "events behind a parked one keep their order")
	assert.EqualValues(t, 1+cfg.MaxRequeue, attempts.Load(), "delivered 1+MaxRequeue times")

	dead, err := rc.XRange(ctx, q.DeadLetterStream(), "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, dead, 2)
	assert.Equal(t, "poison", dead[0].Values["eventId"])
	assert.Equal(t, "b", dead[0].Values["key"])
	assert.Equal(t, "4", dead[0].Values["deliveries"])
	assert.Contains(t, dead[0].Values["reason"], "delivered 3 times without finishing")
	assert.Equal(t, q.Stream(0), dead[0].Values["stream"])
	assert.Contains(t, dead[1].Values["reason"], "cannot decode")
	assert.Equal(t, "{not json", dead[1].Values["event"])
	eventually(t, func() bool { return streamLen(t, rc, q, 1) == 0 }, "parked entries leave the shard")
}

func TestShardsSpreadOverReplicasAndMoveWhenOneLeaves(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	const shards = 6
	var qs []*redisqueue.Queue
	var stops []func() error
	for _, name := range []string{"r1", "r2", "r3"} {
		cfg := testConfig(t, addr, shards)
		cfg.Consumer = name
		q := newQueue(t, cfg)
		qs = append(qs, q)
		stops = append(stops, runQueue(t, q, (&applied{}).apply))
	}
	owners := func(qs []*redisqueue.Queue) ([]int, bool) {
		var all []int
		for _, q := range qs {
			all = append(all, q.Owned()...)
		}
		sort.Ints(all)
		return all, len(all) == shards
	}
	eventually(t, func() bool {
		for _, q := range qs {
			if len(q.Owned()) != 2 {
				return false
			}
		}
		_, ok := owners(qs)
		return ok
	}, "two shards each")
	all, _ := owners(qs)
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5}, all, "every shard held once")

	require.NoError(t, stops[0]())
	eventually(t, func() bool {
		return len(qs[1].Owned()) == 3 && len(qs[2].Owned()) == 3
	}, "the remaining replicas take the shards over")
	all, _ = owners(qs[1:])
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5}, all)
}

func TestChangedShardCountIsRefusedWhileEventsAreQueued(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	ctx := context.Background()
	q4 := newQueue(t, testConfig(t, addr, 4))
	require.NoError(t, q4.Enqueue(ctx, []*ocean.QueuedEvent{queued("k", "1", nil)}))

	q8 := newQueue(t, testConfig(t, addr, 8))
	require.ErrorIs(t, q8.Enqueue(ctx, []*ocean.QueuedEvent{queued("k", "2", nil)}), redisqueue.ErrShardsChanged)
	err := q8.Run(ctx, (&applied{}).apply)
	var ce *settings.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "OCEAN__LIVE_EVENTS__REDIS__SHARDS", ce.Name)

	got := &applied{}
	stop := runQueue(t, q4, got.apply)
	eventually(t, func() bool { return len(got.ids()) == 1 }, "drained with the old count")
	require.NoError(t, stop())
	stop8 := runQueue(t, q8, (&applied{}).apply)
	eventually(t, func() bool { return len(q8.Owned()) > 0 }, "q8 running")
	require.NoError(t, q8.Enqueue(ctx, []*ocean.QueuedEvent{queued("k", "2", nil)}), "an empty queue can be re-sharded")
	require.NoError(t, stop8())
}

func TestRedisDownAtStartFailsRunAndEnqueue(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "127.0.0.1:1", 2) // nothing listens on port 1
	cfg.StartupRetries = 1
	cfg.StartupBackoff = time.Millisecond
	q := newQueue(t, cfg)
	err := q.Run(context.Background(), (&applied{}).apply)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redisqueue")
	err = q.Enqueue(context.Background(), []*ocean.QueuedEvent{queued("k", "1", nil)})
	require.Error(t, err)
	assert.False(t, errors.Is(err, ocean.ErrQueueFull))
}

func TestRunTwiceIsRefused(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	q := newQueue(t, testConfig(t, addr, 1))
	runQueue(t, q, (&applied{}).apply)
	eventually(t, func() bool { return len(q.Owned()) == 1 }, "running")
	require.Error(t, q.Run(context.Background(), (&applied{}).apply))
}

func TestLostLeaseStopsTheShardAndCancelsTheEventInHand(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	rc := rawClient(t, addr)
	ctx := context.Background()
	cfg := testConfig(t, addr, 1)
	cfg.LeaseTTL = 300 * time.Millisecond
	q := newQueue(t, cfg)
	require.NoError(t, q.Enqueue(ctx, []*ocean.QueuedEvent{queued("k", "1", nil)}))

	entered := make(chan struct{}, 4)
	var cancelled atomic.Int32
	got := &applied{}
	runQueue(t, q, func(ctx context.Context, qe *ocean.QueuedEvent) {
		if cancelled.Load() == 0 {
			entered <- struct{}{}
			<-ctx.Done()
			cancelled.Add(1)
			return
		}
		got.apply(ctx, qe)
	})
	<-entered
	// Someone else holds the shard now (a replica that saw the lease
	// expire during a long pause of this one).
	require.NoError(t, rc.Set(ctx, q.Stream(0)+":owner", "intruder", 400*time.Millisecond).Err())
	eventually(t, func() bool { return cancelled.Load() == 1 }, "the event in hand is cancelled")
	eventually(t, func() bool { return len(q.Owned()) == 0 }, "the shard is given up")
	// Once the intruder's lease runs out the shard comes back, and the
	// event that was cut short is applied.
	eventually(t, func() bool { return len(got.ids()) == 1 }, "applied after the shard came back")
	assert.Equal(t, []string{"1"}, got.ids())
}
