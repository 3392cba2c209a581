package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable is returned by Enqueue when Redis cannot take events now:
// it is unreachable (or was at the last attempt, less than ProbeInterval
// ago), or it is recovering from a loss of its data. The webhook route
// answers 503, so the sender delivers again later. Healthy returns it too.
var ErrUnavailable = errors.New("redisqueue: Redis is unavailable")

// errRecovering is Enqueue's answer during the recovery window after Redis
// lost its data (see the package documentation).
var errRecovering = fmt.Errorf("%w: recovering the live events queued before Redis lost its data", ErrUnavailable)

// backend is a circuit breaker over Redis. The first command that fails
// because Redis cannot be reached marks it down; while it is down Enqueue
// fails at once instead of waiting on a dead connection, except for one
// trial every ProbeInterval, and Run's prober checks it in the background.
// Each change of state is logged once.
type backend struct {
	log   *slog.Logger
	every time.Duration

	mu      sync.Mutex
	down    bool
	since   time.Time
	cause   error
	trying  bool
	nextTry time.Time
}

// admit reports whether a command may be sent now: always while Redis is
// up, and to one caller per ProbeInterval while it is down.
func (b *backend) admit() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.down {
		return nil
	}
	if now := time.Now(); !b.trying && !now.Before(b.nextTry) {
		b.trying = true
		return nil
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, b.cause)
}

// isDown reports whether Redis is known to be unreachable.
func (b *backend) isDown() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.down
}

// observe records the outcome of a command sent with ctx: a success or an
// answer from Redis means it is up, a failure to reach it means it is
// down. A command cut short by its caller says nothing.
func (b *backend) observe(ctx context.Context, err error) {
	switch {
	case err == nil || !unreachable(err):
		b.up()
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		b.mu.Lock()
		b.trying = false
		b.mu.Unlock()
	default:
		b.fail(err)
	}
}

func (b *backend) up() {
	b.mu.Lock()
	was, since := b.down, b.since
	b.down, b.trying, b.cause = false, false, nil
	b.mu.Unlock()
	if was {
		b.log.Info("Redis is reachable again; live events are accepted and applied", "down_for", time.Since(since).Round(time.Millisecond).String())
	}
}

func (b *backend) fail(err error) {
	b.mu.Lock()
	was := b.down
	now := time.Now()
	if !was {
		b.down, b.since = true, now
	}
	b.cause, b.trying, b.nextTry = err, false, now.Add(b.every)
	b.mu.Unlock()
	if !was {
		b.log.Warn("Redis is unreachable: live-event deliveries are answered 503 and none are applied until it is back",
			"error", err)
	}
}

// healthy is nil while Redis is up.
func (b *backend) healthy() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.down {
		return nil
	}
	return fmt.Errorf("%w since %s: %w", ErrUnavailable, b.since.UTC().Format(time.RFC3339), b.cause)
}

// unreachable reports whether err means that Redis could not be reached
// or cannot serve anything now (as PING would find), as opposed to an
// answer it gave or this process's own load (all connections busy).
func unreachable(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.ErrPoolTimeout) {
		return false
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := strings.TrimPrefix(re.Error(), "ERR ")
		for _, p := range []string{"LOADING", "MASTERDOWN", "BUSY ", "TRYAGAIN", "CLUSTERDOWN"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true
}

// isNoGroup reports a stream or consumer group that does not exist (any
// more): Redis lost its data, or someone deleted the key.
func isNoGroup(err error) bool { return redis.HasErrorPrefix(err, "NOGROUP") }

// Healthy implements ocean.EventQueueHealth: nil while Redis is reachable,
// an ErrUnavailable naming the cause while it is not. It does not talk to
// Redis; the state is kept up to date by the queue's own traffic and by
// Run's prober.
func (q *Queue) Healthy() error { return q.backend.healthy() }

// probe checks, every ProbeInterval while Redis is down, whether it is
// back, so that Enqueue stops failing fast as soon as it is. It first
// dials the address (no client log line when that fails), then PINGs.
func (q *Queue) probe(ctx context.Context) {
	t := time.NewTicker(q.cfg.ProbeInterval)
	defer t.Stop()
	d := net.Dialer{Timeout: q.cfg.EnqueueTimeout}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !q.backend.isDown() {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, q.cfg.EnqueueTimeout)
		conn, err := d.DialContext(pctx, q.network, q.addr)
		if err == nil {
			_ = conn.Close()
			err = q.enq.Ping(pctx).Err()
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		q.backend.observe(ctx, err)
	}
}
