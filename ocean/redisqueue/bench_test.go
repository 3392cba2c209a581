package redisqueue_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
)

func benchEvent(i int) *ocean.QueuedEvent {
	return queued(fmt.Sprintf("widget-hook/w-%d", i%64), fmt.Sprint(i),
		map[string]any{"widget": map[string]any{"id": fmt.Sprintf("w-%d", i%64), "size": i}})
}

// BenchmarkEnqueue measures the intake: one delivery, one event, one Lua
// script.
func BenchmarkEnqueue(b *testing.B) {
	addr := startRedis(b)
	cfg := testConfig(b, addr, 16)
	cfg.MaxQueued = 1 << 30
	q := newQueue(b, cfg)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := q.Enqueue(ctx, []*ocean.QueuedEvent{benchEvent(i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEndToEnd measures queued events applied per second by one
// replica over 16 shards (apply does nothing).
func BenchmarkEndToEnd(b *testing.B) {
	addr := startRedis(b)
	cfg := testConfig(b, addr, 16)
	cfg.MaxQueued = 1 << 30
	q := newQueue(b, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	go func() {
		_ = q.Run(ctx, func(context.Context, *ocean.QueuedEvent) {
			if n.Add(1) == target {
				close(done)
			}
		})
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		require.NoError(b, q.Enqueue(ctx, []*ocean.QueuedEvent{benchEvent(i)}))
	}
	<-done
	b.StopTimer()
	cancel()
}
