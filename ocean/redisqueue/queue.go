package redisqueue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// Queue is an ocean.EventQueue on Redis Streams, shared by every replica of
// an integration. See the package documentation for how it works.
type Queue struct {
	cfg Config
	rdb *redis.Client // the consumers' connections
	// enq serves Enqueue (and the prober): short timeouts and no hidden
	// retries, so that a delivery is answered promptly whatever Redis does.
	enq           *redis.Client
	network, addr string
	log           *slog.Logger
	backend       *backend

	running atomic.Bool
	// groupsMissing is set when a worker recreated a missing stream or
	// group, so that one line is logged per occurrence, not one per shard.
	groupsMissing atomic.Bool

	// epochMu guards epoch: held shared while a script checks it and the
	// outbox records what it added, exclusively while adopting a new one.
	epochMu sync.RWMutex
	epoch   string
	outbox  *outbox

	mu    sync.Mutex
	owned []int // shards being consumed, sorted; for Owned
}

var _ ocean.EventQueue = (*Queue)(nil)

// ErrShardsChanged is returned by Enqueue when the queued events were
// spread over another number of shards than this replica's Shards: the
// replicas disagree on OCEAN__LIVE_EVENTS__REDIS__SHARDS.
var ErrShardsChanged = errors.New("redisqueue: the queue in Redis uses another shard count")

// New checks cfg and builds the queue. It does not talk to Redis: Run
// connects (with the startup retries) and Enqueue uses the connection pool
// as needed.
func New(cfg Config) (*Queue, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	opt, err := c.options()
	if err != nil {
		return nil, err
	}
	eopt, err := c.options()
	if err != nil {
		return nil, err
	}
	eopt.MaxRetries = -1
	eopt.DialerRetries = 1
	eopt.DialTimeout = c.EnqueueTimeout
	eopt.ReadTimeout = c.EnqueueTimeout
	eopt.WriteTimeout = c.EnqueueTimeout
	eopt.PoolTimeout = c.EnqueueTimeout
	eopt.ContextTimeoutEnabled = true
	// Deadlines on contexts bound the consumers' commands too (a tick of
	// the coordinator must not outlast the leases).
	opt.ContextTimeoutEnabled = true
	network := opt.Network
	if network == "" {
		network = "tcp"
	}
	log := c.Logger.With("component", "redisqueue", "consumer", c.Consumer)
	return &Queue{
		cfg:     c,
		rdb:     redis.NewClient(opt),
		enq:     redis.NewClient(eopt),
		network: network,
		addr:    opt.Addr,
		log:     log,
		backend: &backend{log: log, every: c.ProbeInterval},
		outbox:  newOutbox(c.Shards),
	}, nil
}

// Close closes the connection pools. Call it after Run returned.
func (q *Queue) Close() error { return errors.Join(q.rdb.Close(), q.enq.Close()) }

// Consumer is this replica's consumer name in the group.
func (q *Queue) Consumer() string { return q.cfg.Consumer }

// Stream is the Redis key of a shard's stream.
func (q *Queue) Stream(shard int) string { return q.cfg.Prefix + ":" + strconv.Itoa(shard) }

// DeadLetterStream is the Redis key of the stream where entries that could
// not be applied are parked. Each parked entry keeps the original fields
// and adds "stream", "entryId", "deliveries", "reason" and "parkedAt".
func (q *Queue) DeadLetterStream() string { return q.cfg.Prefix + ":dead" }

// ShardOf is the shard that events with this key go to.
func (q *Queue) ShardOf(key string) int { return shardOf(key, q.cfg.Shards) }

// Owned lists the shards this replica is consuming now.
func (q *Queue) Owned() []int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.owned)
}

func (q *Queue) leaseKey(shard int) string { return q.Stream(shard) + ":owner" }
func (q *Queue) membersKey() string        { return q.cfg.Prefix + ":replicas" }
func (q *Queue) metaKey() string           { return q.cfg.Prefix + ":meta" }

// enqueueScript adds all of a delivery's entries, or none. KEYS are laid
// out as scriptKeys says; ARGV: [1] MaxQueued, [2] the streams' MAXLEN,
// [3] the number of entries, [4] field/value arguments per entry, [5] the
// consumer group, [6] the epoch the replica knows, [7] the number m of
// streams to report on and [8..7+m] their positions in KEYS, then each
// entry as its shard's position in KEYS and its field/value pairs. It
// refuses the delivery (a code, see recovery.go) when the epoch is not the
// one the replica knows, within the recovery window, when the queued data
// was spread over another number of shards, or when the streams hold
// MaxQueued entries. Otherwise it first moves staged entries into the
// streams, creates the streams it adds to with the consumer group when
// they are missing (from the start, so that the group reads what is
// added; a group deleted alone is recreated the same way by the consumer
// that meets NOGROUP), and returns the count, the new entries' ids and the
// first ids of the streams asked about.
var enqueueScript = redis.NewScript(flushLua + `
local n = #KEYS - 5
local epoch = redis.call('GET', KEYS[n + 2])
if not epoch then
  return {-3}
end
if epoch ~= ARGV[6] then
  return {-4}
end
if redis.call('EXISTS', KEYS[n + 3]) == 1 then
  return {-5}
end
flush(n, ARGV[5])
local recorded = redis.call('GET', KEYS[n + 1])
if recorded and tonumber(recorded) ~= n then
  return {-2}
end
if not recorded then
  redis.call('SET', KEYS[n + 1], n)
end
local max = tonumber(ARGV[1])
local count = tonumber(ARGV[3])
local total = 0
for i = 1, n do
  total = total + redis.call('XLEN', KEYS[i])
end
if total + count > max then
  return {-1}
end
local m = tonumber(ARGV[7])
local list = {}
for i = 8, 7 + m do
  list[#list + 1] = tonumber(ARGV[i])
end
local per = tonumber(ARGV[4])
local out = {count}
for j = 0, count - 1 do
  local b = 8 + m + j * (per + 1)
  local key = KEYS[tonumber(ARGV[b])]
  if redis.call('EXISTS', key) == 0 then
    redis.call('XGROUP', 'CREATE', key, ARGV[5], '0', 'MKSTREAM')
  end
  out[#out + 1] = redis.call('XADD', key, 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, b + 1, b + per))
end
return firsts(list, out)
`)

// Enqueue adds a delivery's events to their shards' streams, all or none,
// and returns nil only once they are stored in streams that the consumer
// group reads. It returns ocean.ErrQueueFull when the streams hold
// MaxQueued entries, and an ErrUnavailable (the route answers 503 for both)
// when Redis cannot be reached within EnqueueTimeout, is known to be down,
// or is recovering from a loss of its data.
func (q *Queue) Enqueue(ctx context.Context, events []*ocean.QueuedEvent) error {
	if len(events) == 0 {
		return nil
	}
	shards := make([]int, len(events))
	fields := make([][]string, len(events))
	for i, e := range events {
		f, err := encode(e)
		if err != nil {
			return err
		}
		shards[i] = q.ShardOf(e.Key)
		fields[i] = f
	}
	if err := q.backend.admit(); err != nil {
		return err
	}
	keys := q.scriptKeys()
	for attempt := 0; ; attempt++ {
		code, err := q.enqueue(ctx, keys, shards, fields)
		if err != nil {
			if unreachable(err) {
				return fmt.Errorf("%w: enqueue: %w", ErrUnavailable, err)
			}
			return fmt.Errorf("redisqueue: enqueue: %w", err)
		}
		switch code {
		case codeFull:
			return ocean.ErrQueueFull
		case codeShardsChanged:
			return ErrShardsChanged
		case codeRecovering:
			return errRecovering
		case codeNoEpoch, codeEpochChanged:
			if attempt >= 2 {
				return errEpochUnsettled
			}
			rctx, cancel := context.WithTimeout(ctx, q.cfg.EnqueueTimeout)
			err := q.recover(rctx, q.enq)
			cancel()
			if err != nil {
				if unreachable(err) && !errors.Is(err, ErrUnavailable) {
					return fmt.Errorf("%w: %w", ErrUnavailable, err)
				}
				return err
			}
			continue
		}
		return nil
	}
}

// enqueue runs enqueueScript once with the epoch this replica knows,
// records what it added in the outbox and forgets what is finished.
func (q *Queue) enqueue(ctx context.Context, keys []string, shards []int, fields [][]string) (int64, error) {
	q.epochMu.RLock()
	defer q.epochMu.RUnlock()
	// Report on the streams added to; the coordinator's ticks cover the
	// others.
	report := slices.Compact(slices.Sorted(slices.Values(shards)))
	args := make([]any, 0, 7+len(report)+len(shards)*(1+entryFields))
	args = append(args, q.cfg.MaxQueued, q.cfg.MaxQueued, len(shards), entryFields, q.cfg.Group, q.epoch, len(report))
	for _, s := range report {
		args = append(args, s+1)
	}
	for i, s := range shards {
		args = append(args, s+1)
		for _, f := range fields[i] {
			args = append(args, f)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, q.cfg.EnqueueTimeout)
	defer cancel()
	res, err := enqueueScript.Run(rctx, q.enq, keys, args...).Slice()
	q.backend.observe(ctx, err)
	if err != nil {
		return 0, err
	}
	code, err := resultCode(res)
	if err != nil || code < 0 {
		return code, err
	}
	if len(res) != 1+len(shards)+len(report) {
		return 0, fmt.Errorf("redisqueue: enqueue script replied %d values", len(res))
	}
	for i, shard := range shards {
		id, _ := res[1+i].(string)
		q.outbox.add(shard, id, fields[i])
	}
	q.outbox.prune(report, res[1+len(shards):])
	return code, nil
}

// Run consumes the shards this replica holds until ctx is done, then lets
// the events in hand finish for at most ShutdownWait, gives its shards up
// and returns. It returns an error only when Redis cannot be reached at
// start (after the startup retries) or the configuration does not fit the
// queued data.
func (q *Queue) Run(ctx context.Context, apply ocean.ApplyFunc) error {
	if !q.running.CompareAndSwap(false, true) {
		return errors.New("redisqueue: Run is already running")
	}
	defer q.running.Store(false)
	if err := q.connect(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	q.log.Info("consuming live events from Redis", "group", q.cfg.Group, "shards", q.cfg.Shards)
	probeCtx, stopProbe := context.WithCancel(ctx)
	probed := make(chan struct{})
	go func() {
		defer close(probed)
		q.probe(probeCtx)
	}()
	c := newCoordinator(q, apply)
	c.run(ctx)
	stopProbe()
	<-probed
	return nil
}

// connect pings Redis with the startup retries and prepares the streams.
func (q *Queue) connect(ctx context.Context) error {
	delay := q.cfg.StartupBackoff
	for attempt := 0; ; attempt++ {
		err := q.setup(ctx)
		if err == nil {
			return nil
		}
		var ce *settings.ConfigError
		if errors.As(err, &ce) || attempt >= q.cfg.StartupRetries || ctx.Err() != nil {
			return fmt.Errorf("redisqueue: prepare Redis streams: %w", err)
		}
		q.log.Warn("Redis not reachable, retrying", "error", err, "in", delay)
		if !sleep(ctx, delay) {
			return ctx.Err()
		}
		delay = time.Duration(float64(delay) * q.cfg.StartupBackoffBase)
	}
}

// setup checks the shard count against the queued data, creates the
// streams and the consumer group, and reads (or creates) the epoch.
func (q *Queue) setup(ctx context.Context) error {
	err := q.rdb.Ping(ctx).Err()
	q.backend.observe(ctx, err)
	if err != nil {
		return err
	}
	n := q.cfg.Shards
	ok, err := q.rdb.SetNX(ctx, q.metaKey(), n, 0).Result()
	if err != nil {
		return err
	}
	if !ok {
		old, err := q.rdb.Get(ctx, q.metaKey()).Int()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		if old != n {
			// A key's shard depends on the count: only an empty queue can
			// be re-sharded without breaking per-key order.
			for i := range old {
				l, err := q.rdb.XLen(ctx, q.Stream(i)).Result()
				if err != nil {
					return err
				}
				if l > 0 {
					return &settings.ConfigError{Name: EnvPrefix + "REDIS__SHARDS", Reason: fmt.Sprintf(
						"is %d but %d events are still queued over %d shards; run with %d until the streams are empty", n, l, old, old)}
				}
			}
			if err := q.rdb.Set(ctx, q.metaKey(), n, 0).Err(); err != nil {
				return err
			}
		}
	}
	if err := q.ensureGroups(ctx); err != nil {
		return err
	}
	_, err = q.sync(ctx, q.rdb)
	return err
}

// ensureGroups creates every shard's stream and consumer group that is
// missing.
func (q *Queue) ensureGroups(ctx context.Context) error {
	for i := range q.cfg.Shards {
		if err := q.ensureGroup(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// ensureGroup creates a shard's stream and consumer group if missing.
func (q *Queue) ensureGroup(ctx context.Context, shard int) error {
	// Start at 0, never $: entries added before the group existed (by a
	// replica that enqueued into a stream Redis had just lost) are
	// delivered too; applied entries are deleted, so nothing is delivered
	// twice.
	err := q.rdb.XGroupCreateMkStream(ctx, q.Stream(shard), q.cfg.Group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("create consumer group on shard %d: %w", shard, err)
	}
	return nil
}

// sleep waits d or until ctx is done; it reports whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func defaultConsumer() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "replica"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
