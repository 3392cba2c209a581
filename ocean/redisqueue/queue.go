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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oceankit/oceankit/ocean"
)

// Queue is an ocean.EventQueue on Redis Streams, shared by every replica of
// an integration. See the package documentation for how it works.
type Queue struct {
	cfg Config
	rdb *redis.Client
	log *slog.Logger

	running atomic.Bool

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
	return &Queue{
		cfg: c,
		rdb: redis.NewClient(opt),
		log: c.Logger.With("component", "redisqueue", "consumer", c.Consumer),
	}, nil
}

// Close closes the connection pool. Call it after Run returned.
func (q *Queue) Close() error { return q.rdb.Close() }

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

// enqueueScript adds all of a delivery's entries, or none when the streams
// together already hold ARGV[1] entries (-1), or when the queued data was
// spread over another number of shards (-2). KEYS are every shard's stream
// and then the meta key; ARGV[3] is the number of entries, each given as
// its shard's position in KEYS and its field/value pairs.
var enqueueScript = redis.NewScript(`
local shards = #KEYS - 1
local recorded = redis.call('GET', KEYS[#KEYS])
if recorded and tonumber(recorded) ~= shards then
  return -2
end
if not recorded then
  redis.call('SET', KEYS[#KEYS], shards)
end
local max = tonumber(ARGV[1])
local n = tonumber(ARGV[3])
local total = 0
for i = 1, shards do
  total = total + redis.call('XLEN', KEYS[i])
end
if total + n > max then
  return -1
end
local per = tonumber(ARGV[4])
for j = 0, n - 1 do
  local b = 5 + j * (per + 1)
  redis.call('XADD', KEYS[tonumber(ARGV[b])], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, b + 1, b + per))
end
return n
`)

// Enqueue adds a delivery's events to their shards' streams, all or none:
// ocean.ErrQueueFull when the streams hold MaxQueued entries, and the Redis
// error (the route answers 503 as well) when Redis cannot be reached.
func (q *Queue) Enqueue(ctx context.Context, events []*ocean.QueuedEvent) error {
	if len(events) == 0 {
		return nil
	}
	keys := make([]string, q.cfg.Shards, q.cfg.Shards+1)
	for i := range keys {
		keys[i] = q.Stream(i)
	}
	keys = append(keys, q.metaKey())
	args := []any{q.cfg.MaxQueued, q.cfg.MaxQueued, len(events), entryFields}
	for _, e := range events {
		fields, err := encode(e)
		if err != nil {
			return err
		}
		args = append(args, q.ShardOf(e.Key)+1)
		args = append(args, fields...)
	}
	n, err := enqueueScript.Run(ctx, q.rdb, keys, args...).Int()
	if err != nil {
		return fmt.Errorf("redisqueue: enqueue: %w", err)
	}
	switch n {
	case -1:
		return ocean.ErrQueueFull
	case -2:
		return ErrShardsChanged
	}
	return nil
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
	c := newCoordinator(q, apply)
	c.run(ctx)
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
		var ce *ocean.ConfigError
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

// setup checks the shard count against the queued data and creates the
// streams and the consumer group.
func (q *Queue) setup(ctx context.Context) error {
	if err := q.rdb.Ping(ctx).Err(); err != nil {
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
					return &ocean.ConfigError{Name: EnvPrefix + "REDIS__SHARDS", Reason: fmt.Sprintf(
						"is %d but %d events are still queued over %d shards; run with %d until the streams are empty", n, l, old, old)}
				}
			}
			if err := q.rdb.Set(ctx, q.metaKey(), n, 0).Err(); err != nil {
				return err
			}
		}
	}
	for i := range n {
		if err := q.ensureGroup(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

func (q *Queue) ensureGroup(ctx context.Context, shard int) error {
	// Start at 0: entries added before the group existed are delivered
	// too; applied entries are deleted, so nothing is delivered twice.
	err := q.rdb.XGroupCreateMkStream(ctx, q.Stream(shard), q.cfg.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
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
