package kafka

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// requestingTrigger is a Trigger that can tell when the resync it was asked
// for ended (ocean.ResyncRequester); the test ends them.
type requestingTrigger struct {
	*fakeTrigger
	mu   sync.Mutex
	done []chan struct{}
}

func (r *requestingTrigger) RequestResync(reason string, cancelRunning bool) <-chan struct{} {
	ch := make(chan struct{})
	r.mu.Lock()
	r.done = append(r.done, ch)
	r.mu.Unlock()
	r.TriggerResync(reason, cancelRunning)
	return ch
}

// finishAll ends every resync asked for so far.
func (r *requestingTrigger) finishAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ch := range r.done {
		close(ch)
	}
	r.done = nil
}

func startRequesting(t *testing.T, cfg Config) (*requestingTrigger, func()) {
	t.Helper()
	l, err := New(cfg)
	require.NoError(t, err)
	trig := &requestingTrigger{fakeTrigger: newTrigger()}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Start(ctx, trig) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(waitFor):
				t.Fatal("the listener did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return trig, stop
}

// A message that asked for a resync is committed only once that resync
// ended: a program stopped (or killed) in the middle of the resync gets the
// message again when it starts, and resyncs. Ocean commits on receipt and
// loses the trigger.
func TestATriggerIsCommittedOnlyWhenItsResyncEnded(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	log, _ := bufferLogger(0)
	cfg := testConfig(c, log)

	trig, stop := startRequesting(t, cfg)
	offs := produce(t, c, changeLog,
		configChange("someone-else", "2026-02-01T00:00:00.000Z"),
		configChange(testIdent, "2026-02-01T00:00:00.000Z"))
	assert.Equal(t, reasonFor(changeLog, offs[1]), trig.next(t).reason)
	stop() // the resync never ended

	trig, stop = startRequesting(t, cfg)
	assert.Equal(t, reasonFor(changeLog, offs[1]), trig.next(t).reason, "delivered again after the restart")
	trig.finishAll()
	// The commit follows the end of the resync without waiting for another
	// message; a later message proves the loop went on.
	off := produce(t, c, changeLog, configChange(testIdent, "2026-02-02T00:00:00.000Z"))[0]
	assert.Equal(t, reasonFor(changeLog, off), trig.next(t).reason)
	trig.finishAll()
	require.Eventually(t, func() bool { return committedOffset(t, c, cfg) == off+1 }, waitFor, 10*time.Millisecond)
	stop()

	trig, _ = startRequesting(t, cfg)
	off = produce(t, c, changeLog, configChange(testIdent, "2026-02-03T00:00:00.000Z"))[0]
	assert.Equal(t, reasonFor(changeLog, off), trig.next(t).reason, "nothing handled is delivered again")
	assert.Len(t, trig.reasons(), 1)
}

// committedOffset reads the group's committed offset of the change log's
// partition 0 (-1 when none).
func committedOffset(t *testing.T, c *kfake.Cluster, cfg Config) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	require.NoError(t, err)
	defer cl.Close()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = Group(testOrg, cfg.IntegrationType, cfg.IntegrationIdentifier)
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = changeLog
	rt.Partitions = []int32{0}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	require.NoError(t, err)
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			return p.Offset
		}
	}
	return -1
}
