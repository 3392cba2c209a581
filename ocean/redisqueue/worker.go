package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oceankit/oceankit/ocean"
)

// worker consumes one shard while this replica holds its lease: first the
// entries other consumers left pending (they are older than anything not
// yet delivered, so per-key order holds), then new ones, one at a time.
type worker struct {
	c      *coordinator
	shard  int
	stream string

	// readCtx stops reading (rebalance, shutdown); applyCtx cuts the event
	// in hand short (lease lost, shutdown wait over).
	readCtx   context.Context
	stopRead  context.CancelFunc
	applyCtx  context.Context
	stopApply context.CancelFunc

	// Coordinator-only state.
	renewed   time.Time
	releasing bool
	lost      bool
}

type outcome int

const (
	done        outcome = iota // applied (or parked) and acknowledged
	stopped                    // cut short: the entry stays pending
	retry                      // the handler panicked: deliver it again
	redisFailed                // Redis failed: back off, then recover
)

func (w *worker) run() {
	q := w.c.q
	log := q.log.With("shard", w.shard)
	reclaim := true
	for w.readCtx.Err() == nil {
		if reclaim {
			switch w.recoverPending() {
			case stopped:
				return
			case retry:
				sleep(w.readCtx, q.cfg.RetryDelay)
				continue
			case redisFailed:
				sleep(w.readCtx, q.cfg.ErrorBackoff)
				continue
			}
			reclaim = false
		}
		if q.backend.isDown() {
			// The prober says when it is back; the coordinator stops
			// this shard if that takes longer than the lease.
			sleep(w.readCtx, q.cfg.ErrorBackoff)
			reclaim = true
			continue
		}
		res, err := q.rdb.XReadGroup(w.readCtx, &redis.XReadGroupArgs{
			Group:    q.cfg.Group,
			Consumer: q.cfg.Consumer,
			Streams:  []string{w.stream, ">"},
			Count:    int64(q.cfg.ReadCount),
			Block:    q.cfg.Block,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if w.readCtx.Err() != nil {
				return
			}
			if isNoGroup(err) && w.recreate(log) {
				reclaim = true
				continue
			}
			q.warn(w.readCtx, log, "reading the live-events stream failed", err)
			sleep(w.readCtx, q.cfg.ErrorBackoff)
			reclaim = true
			continue
		}
	batch:
		for _, s := range res {
			for _, m := range s.Messages {
				switch w.handle(m, 1) {
				case stopped:
					return
				case retry:
					reclaim = true
					sleep(w.readCtx, q.cfg.RetryDelay)
					break batch
				case redisFailed:
					reclaim = true
					sleep(w.readCtx, q.cfg.ErrorBackoff)
					break batch
				}
				// Entries read but not handled stay pending for the next
				// owner, which takes them before anything newer.
				if w.readCtx.Err() != nil {
					return
				}
			}
		}
	}
}

// recreate makes the shard's stream and consumer group again after Redis
// reported them missing (it lost its data, or someone deleted the key),
// from the start of the stream so that entries added meanwhile are read.
func (w *worker) recreate(log *slog.Logger) bool {
	if err := w.c.q.ensureGroup(w.readCtx, w.shard); err != nil {
		w.c.q.warn(w.readCtx, log, "recreating the consumer group failed", err)
		return false
	}
	if w.c.q.groupsMissing.CompareAndSwap(false, true) {
		// Once until the coordinator finds the streams in order again:
		// after a loss every shard meets it.
		log.Info("a stream or consumer group was missing; recreated it, reading from the start of the stream")
	} else {
		log.Debug("a stream or consumer group was missing; recreated it")
	}
	return true
}

// recoverPending takes over, in entry order, every entry of the shard that
// was delivered and never acknowledged: by a replica that died or gave the
// shard up, or by this one before a panic. One entry is claimed at a time,
// so that entries behind a failing one do not have their delivery count
// raised by its retries.
func (w *worker) recoverPending() outcome {
	q := w.c.q
	start := "0-0"
	for {
		if w.readCtx.Err() != nil {
			return stopped
		}
		msgs, next, err := q.rdb.XAutoClaim(w.readCtx, &redis.XAutoClaimArgs{
			Stream:   w.stream,
			Group:    q.cfg.Group,
			Consumer: q.cfg.Consumer,
			MinIdle:  0,
			Start:    start,
			Count:    1,
		}).Result()
		if err != nil {
			if w.readCtx.Err() != nil {
				return stopped
			}
			if isNoGroup(err) && w.recreate(q.log.With("shard", w.shard)) {
				// A new group has nothing pending.
				return done
			}
			q.warn(w.readCtx, q.log, "reclaiming pending live events failed", err, "shard", w.shard)
			return redisFailed
		}
		if len(msgs) == 0 {
			if next == "0-0" || next == "" {
				return done
			}
			start = next
			continue
		}
		m := msgs[0]
		pend, err := q.rdb.XPendingExt(w.readCtx, &redis.XPendingExtArgs{
			Stream: w.stream, Group: q.cfg.Group, Start: m.ID, End: m.ID, Count: 1,
		}).Result()
		if err != nil {
			if w.readCtx.Err() != nil {
				return stopped
			}
			return redisFailed
		}
		deliveries := int64(1)
		if len(pend) == 1 {
			deliveries = pend[0].RetryCount
		}
		if deliveries > 1 {
			q.log.Info("redelivering a live event that was not finished", "shard", w.shard, "entry", m.ID, "deliveries", deliveries)
		}
		if r := w.handle(m, deliveries); r != done {
			return r
		}
		start = next
		if start == "0-0" || start == "" {
			start = "0-0"
		}
	}
}

// handle applies one entry and acknowledges it. An entry delivered more
// than 1+MaxRequeue times, or that cannot be decoded, is parked in the
// dead-letter stream instead.
func (w *worker) handle(m redis.XMessage, deliveries int64) outcome {
	q := w.c.q
	if limit := int64(1 + q.cfg.MaxRequeue); deliveries > limit {
		return w.park(m, deliveries, fmt.Sprintf("delivered %d times without finishing", deliveries-1))
	}
	qe, err := decode(m.Values)
	if err != nil {
		return w.park(m, deliveries, "cannot decode: "+err.Error())
	}
	if sem := w.c.sem; sem != nil {
		select {
		case sem <- struct{}{}:
		case <-w.readCtx.Done():
			return stopped
		}
	}
	panicked := safeApply(w.applyCtx, w.c.apply, qe)
	if w.c.sem != nil {
		<-w.c.sem
	}
	if w.applyCtx.Err() != nil {
		// Cut short: another replica (or this one, later) applies it again.
		q.log.Info("live event interrupted; it stays queued", "shard", w.shard, "entry", m.ID, "event", qe.Event.ID)
		return stopped
	}
	if panicked != nil {
		q.log.Error("live event handler panicked; the event will be delivered again",
			"shard", w.shard, "entry", m.ID, "event", qe.Event.ID, "processor", qe.Processor, "panic", fmt.Sprint(panicked))
		return retry
	}
	return w.ack(m.ID)
}

// ack acknowledges and deletes an applied entry, retrying Redis errors for
// as long as the shard is held (an unacknowledged entry would be applied
// again by the next owner).
func (w *worker) ack(id string) outcome {
	q := w.c.q
	for {
		err := errDown
		if !q.backend.isDown() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(w.readCtx), 5*time.Second)
			_, err = q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.XAck(ctx, w.stream, q.cfg.Group, id)
				p.XDel(ctx, w.stream, id)
				return nil
			})
			cancel()
			if err == nil {
				return done
			}
		}
		q.warn(w.applyCtx, q.log, "acknowledging a live event failed", err, "shard", w.shard, "entry", id)
		if w.applyCtx.Err() != nil || !sleep(w.applyCtx, q.cfg.ErrorBackoff) {
			return stopped
		}
	}
}

var parkScript = redis.NewScript(`
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
`)

// park moves an entry to the dead-letter stream and removes it from its
// shard, in one step.
func (w *worker) park(m redis.XMessage, deliveries int64, reason string) outcome {
	q := w.c.q
	args := []any{q.cfg.Group, m.ID, q.cfg.DeadLetterMaxLen}
	for k, v := range m.Values {
		if s, ok := v.(string); ok {
			args = append(args, k, s)
		}
	}
	args = append(args,
		"stream", w.stream,
		"entryId", m.ID,
		"deliveries", strconv.FormatInt(deliveries, 10),
		"reason", reason,
		"parkedAt", time.Now().UTC().Format(time.RFC3339Nano),
	)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.readCtx), 5*time.Second)
	defer cancel()
	if err := parkScript.Run(ctx, q.rdb, []string{w.stream, q.DeadLetterStream()}, args...).Err(); err != nil {
		q.warn(ctx, q.log, "parking a live event failed", err, "shard", w.shard, "entry", m.ID)
		return redisFailed
	}
	evID, _ := m.Values[fieldEventID].(string)
	q.log.Error("live event parked in the dead-letter stream", "shard", w.shard, "entry", m.ID,
		"event", evID, "reason", reason, "stream", q.DeadLetterStream())
	return done
}

// safeApply applies one event; a panic in a handler is returned, not
// raised, so that one bad event cannot crash every replica in turn.
func safeApply(ctx context.Context, apply ocean.ApplyFunc, qe *ocean.QueuedEvent) (panicked any) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	apply(ctx, qe)
	return nil
}
