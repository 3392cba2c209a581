package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oceankit/oceankit/ocean"
)

// heartbeatScript records this replica as alive (scored by Redis's clock,
// so replicas' clocks need not agree), forgets replicas silent for ARGV[2]
// ms, and returns the live ones.
var heartbeatScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)

// renewScript extends a lease this replica holds; 0 when it is not ours.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// releaseScript gives up a lease if this replica holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// coordinator holds this replica's leases: it renews them, takes free
// shards up to a fair share, gives shards up when other replicas have
// fewer, and runs one worker per held shard. Only its goroutine touches
// workers.
type coordinator struct {
	q        *Queue
	apply    ocean.ApplyFunc
	sem      chan struct{}
	drain    context.Context
	workers  map[int]*worker
	finished chan int
	// freeBefore holds the shards that were free at the previous tick: a
	// shard nobody took for a whole tick is taken even beyond the fair
	// share, so that no shard waits for a replica that is gone.
	freeBefore  map[int]bool
	every       time.Duration
	lastCleanup time.Time
	// epoch is the Redis epoch the workers' shards belong to; when Redis
	// has another, it lost its data, and with it every lease and entry.
	epoch string
}

func newCoordinator(q *Queue, apply ocean.ApplyFunc) *coordinator {
	c := &coordinator{
		q:          q,
		apply:      apply,
		workers:    map[int]*worker{},
		finished:   make(chan int, q.cfg.Shards),
		freeBefore: map[int]bool{},
		every:      q.cfg.LeaseTTL / 3,
	}
	if q.cfg.Workers > 0 {
		c.sem = make(chan struct{}, q.cfg.Workers)
	}
	return c
}

func (c *coordinator) run(ctx context.Context) {
	drain, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	c.drain = drain
	bg := context.WithoutCancel(ctx)
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	c.tick(ctx, true)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			c.tick(ctx, true)
		case s := <-c.finished:
			c.finish(bg, s)
		}
	}
	// Shutdown: stop reading, let the events in hand finish for
	// ShutdownWait while the leases stay renewed, then give everything up.
	for _, w := range c.workers {
		w.stopRead()
	}
	timer := time.AfterFunc(c.q.cfg.ShutdownWait, cancelDrain)
	defer timer.Stop()
	for len(c.workers) > 0 {
		select {
		case <-tick.C:
			c.tick(bg, false)
		case s := <-c.finished:
			c.finish(bg, s)
		}
	}
	rctx, cancel := context.WithTimeout(bg, time.Second)
	defer cancel()
	if err := c.q.rdb.ZRem(rctx, c.q.membersKey(), c.q.cfg.Consumer).Err(); err != nil {
		c.q.log.Warn("could not leave the replica set; others will notice after the lease TTL", "error", err)
	}
	c.q.log.Info("stopped consuming live events")
}

// tick checks that Redis kept its data, renews the leases and, when
// acquire is set, rebalances. While Redis is known to be down it sends
// nothing (the prober watches it) and only gives up the shards whose
// leases it can no longer vouch for. Its commands share one deadline,
// LeaseTTL/3, so that a stalled Redis cannot hold it past the leases.
func (c *coordinator) tick(parent context.Context, acquire bool) {
	q := c.q
	now := time.Now()
	ctx, cancel := context.WithTimeout(parent, c.every)
	defer cancel()
	if !q.backend.isDown() {
		c.checkEpoch(parent, ctx)
	}
	c.renew(parent, ctx, now)
	if !acquire || parent.Err() != nil || q.backend.isDown() {
		return
	}
	members, err := heartbeatScript.Run(ctx, q.rdb, []string{q.membersKey()}, q.cfg.Consumer, q.cfg.LeaseTTL.Milliseconds()).StringSlice()
	if err != nil {
		c.warn(parent, "Redis heartbeat failed", err)
		return
	}
	if !slices.Contains(members, q.cfg.Consumer) {
		members = append(members, q.cfg.Consumer)
	}
	sort.Strings(members)
	n := q.cfg.Shards
	keys := make([]string, n)
	for i := range keys {
		keys[i] = q.leaseKey(i)
	}
	vals, err := q.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		c.warn(parent, "reading shard leases failed", err)
		return
	}
	owners := make([]string, n)
	count := map[string]int{}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			owners[i] = s
			count[s]++
		}
	}
	target := (n + len(members) - 1) / len(members)
	mine := 0
	var held []int
	for s, w := range c.workers {
		if !w.releasing && !w.lost {
			mine++
			held = append(held, s)
		}
	}
	if mine > target {
		under := false
		for _, m := range members {
			if m != q.cfg.Consumer && count[m] < target {
				under = true
				break
			}
		}
		if under {
			// Give up the highest shards; their events in hand finish
			// first, then the lease is released for the other replica.
			sort.Sort(sort.Reverse(sort.IntSlice(held)))
			for _, s := range held[:mine-target] {
				w := c.workers[s]
				w.releasing = true
				w.stopRead()
				mine--
				q.log.Debug("handing a shard over", "shard", s)
			}
		}
	}
	// Replicas start looking at different shards, so they rarely race for
	// the same lease.
	me := slices.Index(members, q.cfg.Consumer)
	offset := me * n / len(members)
	free := map[int]bool{}
	for k := range n {
		s := (offset + k) % n
		if c.workers[s] != nil {
			continue
		}
		if owners[s] == q.cfg.Consumer {
			// Still ours in Redis although its worker stopped (the lease
			// could not be confirmed for a while): carry on with it.
			if res, err := renewScript.Run(ctx, q.rdb, []string{keys[s]}, q.cfg.Consumer, q.cfg.LeaseTTL.Milliseconds()).Int(); err == nil && res == 1 {
				mine++
				c.start(parent, s, now)
			}
			continue
		}
		if owners[s] != "" {
			continue
		}
		if mine >= target && !c.freeBefore[s] {
			free[s] = true
			continue
		}
		ok, err := q.rdb.SetNX(ctx, keys[s], q.cfg.Consumer, q.cfg.LeaseTTL).Result()
		if err != nil {
			c.warn(parent, "taking a shard lease failed", err, "shard", s)
			break
		}
		if !ok {
			continue
		}
		mine++
		c.start(parent, s, now)
	}
	c.freeBefore = free
	c.publish()
	if q.cfg.ConsumerCleanupIdle > 0 && now.Sub(c.lastCleanup) >= q.cfg.MaintenanceInterval {
		c.lastCleanup = now
		c.cleanupConsumers(ctx)
	}
}

// checkEpoch compares Redis's epoch with the workers'. When it changed,
// Redis lost its data: the leases are void and the entries in hand are
// gone (their replicas queue them again), so every worker stops at once,
// and the streams and groups are recreated from the start.
func (c *coordinator) checkEpoch(parent, ctx context.Context) {
	q := c.q
	epoch, err := q.sync(ctx, q.rdb)
	if err != nil {
		c.warn(parent, "checking the live-events streams failed", err)
		return
	}
	if epoch == c.epoch {
		q.groupsMissing.Store(false)
		return
	}
	if c.epoch != "" {
		if len(c.workers) > 0 {
			q.log.Info("Redis lost its data: stopping this replica's shards, to take them again", "shards", len(c.workers))
		}
		for _, w := range c.workers {
			w.lost = true
			w.stopRead()
			w.stopApply()
		}
		c.publish()
		if err := q.ensureGroups(ctx); err != nil {
			c.warn(parent, "recreating the consumer groups failed", err)
			return
		}
	}
	c.epoch = epoch
}

func (c *coordinator) warn(ctx context.Context, msg string, err error, args ...any) {
	c.q.warn(ctx, c.q.log, msg, err, args...)
}

// warn logs a failed Redis command: at debug level when Redis cannot be
// reached (the queue logs that once, when it happens, and once when it is
// back), as a warning otherwise. Nothing is logged for a command cut
// short by ctx.
func (q *Queue) warn(ctx context.Context, log *slog.Logger, msg string, err error, args ...any) {
	if ctx.Err() != nil {
		return
	}
	if !errors.Is(err, errDown) {
		q.backend.observe(ctx, err)
	}
	args = append(args, "error", err)
	if unreachable(err) {
		log.Debug(msg, args...)
		return
	}
	log.Warn(msg, args...)
}

// errDown stands for a command not sent because Redis is known to be down.
var errDown = fmt.Errorf("%w (not tried)", ErrUnavailable)

// renew extends every held lease. A lease found taken, or not confirmed
// for most of its TTL, stops its worker at once: another replica may be
// consuming the shard.
func (c *coordinator) renew(parent, ctx context.Context, now time.Time) {
	q := c.q
	for s, w := range c.workers {
		if w.lost {
			continue
		}
		res, err := 0, errDown
		if !q.backend.isDown() {
			res, err = renewScript.Run(ctx, q.rdb, []string{q.leaseKey(s)}, q.cfg.Consumer, q.cfg.LeaseTTL.Milliseconds()).Int()
		}
		switch {
		case err == nil && res == 1:
			w.renewed = now
			continue
		case err == nil:
			q.log.Warn("lost the lease of a shard; stopping it", "shard", s)
		case now.Sub(w.renewed) < q.cfg.LeaseTTL-c.every:
			c.warn(parent, "renewing a shard lease failed", err, "shard", s)
			continue
		default:
			c.warn(parent, "cannot confirm the lease of a shard; stopping it", err, "shard", s)
		}
		w.lost = true
		w.stopRead()
		w.stopApply()
	}
	c.publish()
}

// start runs a worker for a shard whose lease was just taken.
func (c *coordinator) start(ctx context.Context, shard int, now time.Time) {
	readCtx, stopRead := context.WithCancel(ctx)
	applyCtx, stopApply := context.WithCancel(c.drain)
	w := &worker{
		c: c, shard: shard, stream: c.q.Stream(shard),
		readCtx: readCtx, stopRead: stopRead,
		applyCtx: applyCtx, stopApply: stopApply,
		renewed: now,
	}
	c.workers[shard] = w
	c.q.log.Debug("consuming a shard", "shard", shard)
	go func() {
		defer func() { c.finished <- shard }()
		w.run()
	}()
}

// finish forgets a stopped worker and releases its lease unless it was
// lost.
func (c *coordinator) finish(ctx context.Context, shard int) {
	w := c.workers[shard]
	delete(c.workers, shard)
	w.stopRead()
	w.stopApply()
	c.publish()
	if w.lost || c.q.backend.isDown() {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := releaseScript.Run(rctx, c.q.rdb, []string{c.q.leaseKey(shard)}, c.q.cfg.Consumer).Err(); err != nil {
		c.warn(ctx, "releasing a shard lease failed; it expires on its own", err, "shard", shard)
	}
}

// publish makes the held shards visible to Owned.
func (c *coordinator) publish() {
	var owned []int
	for s, w := range c.workers {
		if !w.lost && !w.releasing {
			owned = append(owned, s)
		}
	}
	sort.Ints(owned)
	c.q.mu.Lock()
	c.q.owned = owned
	c.q.mu.Unlock()
}

// cleanupConsumers removes from the group the consumers of held shards
// that have been idle for ConsumerCleanupIdle and hold nothing: replicas
// that are gone (each process has its own consumer name).
func (c *coordinator) cleanupConsumers(ctx context.Context) {
	q := c.q
	for s, w := range c.workers {
		if w.lost {
			continue
		}
		cons, err := q.rdb.XInfoConsumers(ctx, q.Stream(s), q.cfg.Group).Result()
		if err != nil {
			continue
		}
		for _, cn := range cons {
			if cn.Name == q.cfg.Consumer || cn.Pending > 0 || cn.Idle < q.cfg.ConsumerCleanupIdle {
				continue
			}
			if err := q.rdb.XGroupDelConsumer(ctx, q.Stream(s), q.cfg.Group, cn.Name).Err(); err == nil {
				q.log.Debug("removed an idle consumer", "shard", s, "removed", cn.Name)
			}
		}
	}
}
