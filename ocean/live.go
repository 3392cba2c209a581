package ocean

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/port"
)

// ErrQueueFull is returned when the live-event queue cannot take an event;
// the HTTP route answers 503 so the sender retries.
var ErrQueueFull = errors.New("ocean: live-event queue is full")

// maxVersions bounds the per-key version memory used to drop out-of-order
// events; past it the memory is cleared, which only weakens the check for
// keys not seen since.
const maxVersions = 200_000

// liveQueue holds accepted events until workers apply them. Events with the
// same key are applied one at a time in arrival order; different keys run in
// parallel on EventWorkersCount workers.
type liveQueue struct {
	app *App

	mu       sync.Mutex
	cond     *sync.Cond
	keys     map[string]*keyQueue
	ready    []string
	size     int
	closed   bool
	versions map[string]time.Time

	retries   int
	retryBase time.Duration
}

type keyQueue struct {
	events  []*queuedEvent
	active  bool
	inReady bool
}

type queuedEvent struct {
	ev   *Event
	proc Processor
	key  string
}

func newLiveQueue(a *App) *liveQueue {
	q := &liveQueue{app: a, keys: map[string]*keyQueue{}, versions: map[string]time.Time{}, retries: 3, retryBase: time.Second}
	if a.eventRetryBase > 0 {
		q.retries, q.retryBase = a.eventRetries, a.eventRetryBase
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// WithEventRetry sets how often a failed live event is retried and the
// first backoff (doubling, capped at 30 s). Ocean's defaults are 3 and 1 s.
func WithEventRetry(retries int, base time.Duration) Option {
	return func(a *App) error {
		a.eventRetries, a.eventRetryBase = retries, base
		return nil
	}
}

func (q *liveQueue) capacity() int {
	if n := q.app.cfg.EventQueueSize; n > 0 {
		return n
	}
	return 10_000
}

// enqueue adds all of an event's processor jobs, or none.
func (q *liveQueue) enqueue(jobs []*queuedEvent) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrQueueFull
	}
	if q.size+len(jobs) > q.capacity() {
		return ErrQueueFull
	}
	for _, j := range jobs {
		kq := q.keys[j.key]
		if kq == nil {
			kq = &keyQueue{}
			q.keys[j.key] = kq
		}
		kq.events = append(kq.events, j)
		q.size++
		if !kq.active && !kq.inReady {
			kq.inReady = true
			q.ready = append(q.ready, j.key)
		}
	}
	q.app.metrics.queueDepth(q.size)
	q.cond.Broadcast()
	return nil
}

// next blocks for the next job; ok is false once the queue is closed and
// empty.
func (q *liveQueue) next() (*queuedEvent, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.ready) == 0 {
		if q.closed {
			return nil, false
		}
		q.cond.Wait()
	}
	key := q.ready[0]
	q.ready = q.ready[1:]
	kq := q.keys[key]
	kq.inReady = false
	kq.active = true
	j := kq.events[0]
	if c, ok := j.proc.(Coalescer); ok && c.Coalesce() {
		// The handler fetches the current state: of a run of queued
		// events for the key, only the newest needs handling.
		last := len(kq.events) - 1
		for last > 0 && kq.events[last].proc != j.proc {
			last--
		}
		if last > 0 {
			q.app.metrics.eventsCoalesced(last)
			j = kq.events[last]
			kq.events = append(kq.events[:0:0], kq.events[last+1:]...)
			q.size -= last + 1
			q.app.metrics.queueDepth(q.size)
			return j, true
		}
	}
	kq.events = kq.events[1:]
	q.size--
	q.app.metrics.queueDepth(q.size)
	return j, true
}

func (q *liveQueue) done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	kq := q.keys[key]
	kq.active = false
	if len(kq.events) > 0 {
		kq.inReady = true
		q.ready = append(q.ready, key)
		q.cond.Broadcast()
		return
	}
	delete(q.keys, key)
}

// run starts the workers and, when ctx is done, lets them drain the queue
// for at most MaxWaitSecondsBeforeShutdown.
func (q *liveQueue) run(ctx context.Context) {
	workers := max(q.app.cfg.EventWorkersCount, 1)
	drainCtx, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, ok := q.next()
				if !ok {
					return
				}
				q.apply(drainCtx, j)
				q.done(j.key)
			}
		}()
	}
	<-ctx.Done()
	q.mu.Lock()
	q.closed = true
	left := q.size
	q.cond.Broadcast()
	q.mu.Unlock()
	wait := time.Duration(q.app.cfg.MaxWaitSecondsBeforeShutdown * float64(time.Second))
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(wait):
		cancelDrain()
		<-finished
	}
	q.mu.Lock()
	lost := q.size
	q.mu.Unlock()
	if lost > 0 {
		q.app.log.Warn("live events not applied before shutdown", "count", lost, "queued_at_shutdown", left)
	}
}

// apply handles one event with retries and writes its changes.
func (q *liveQueue) apply(ctx context.Context, j *queuedEvent) {
	a := q.app
	log := a.log.With("event", j.ev.ID, "processor", j.proc.Name())
	if v, ok := j.proc.(Versioner); ok {
		if ver, ok := v.Version(j.ev); ok {
			q.mu.Lock()
			prev, seen := q.versions[j.key]
			stale := seen && ver.Before(prev)
			if !stale {
				if len(q.versions) >= maxVersions {
					q.versions = map[string]time.Time{}
				}
				q.versions[j.key] = ver
			}
			q.mu.Unlock()
			if stale {
				log.Info("skipping an event older than one already applied", "key", j.key)
				a.metrics.eventProcessed("stale")
				return
			}
		}
	}
	timeout := time.Duration(a.cfg.MaxEventProcessingSeconds * float64(time.Second))
	ectx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := a.applyEvent(ectx, j, q.retries, q.retryBase)
	if err != nil {
		log.Error("live event failed", "error", err)
		a.metrics.eventProcessed("failed")
		return
	}
	a.metrics.eventProcessed("ok")
}

// applyEvent maps the processor's changes with every resource of the kinds
// the event affects and writes them to Port.
func (a *App) applyEvent(ctx context.Context, j *queuedEvent, retries int, base time.Duration) error {
	if rp, ok := j.proc.(RunEventProcessor); ok {
		return a.applyRunEvent(ctx, rp, j.ev, retries, base)
	}
	pac, err := a.portAppConfig(ctx, false)
	if err != nil {
		return err
	}
	mapper, err := a.compile(pac)
	if err != nil {
		return fmt.Errorf("port app config: %w", err)
	}
	kinds := map[string]bool{}
	for _, k := range j.proc.Kinds(j.ev) {
		kinds[k] = true
	}
	opts := port.UpsertOptions{
		Merge:                        pac.EnableMergeEntity,
		CreateMissingRelatedEntities: pac.CreateMissingRelatedEntities,
		EventType:                    "http_request",
	}
	var errs []error
	matched := false
	for _, rm := range mapper.Resources() {
		if !kinds[rm.Kind()] {
			continue
		}
		matched = true
		res := Resource{Kind: rm.Kind(), Index: rm.Index(), Selector: rm.Resource().Selector.Raw}
		changes, err := handleWithRetry(withPortAppConfig(ctx, pac), j.proc, j.ev, res, retries, base)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", rm.Kind(), rm.Index(), err))
			continue
		}
		if err := a.writeChanges(ctx, rm, changes, opts, pac.DeleteDependentEntities); err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", rm.Kind(), rm.Index(), err))
		}
	}
	if !matched {
		a.log.Debug("live event for kinds the mapping does not include", "event", j.ev.ID, "kinds", j.proc.Kinds(j.ev))
	}
	return errors.Join(errs...)
}

func handleWithRetry(ctx context.Context, p Processor, ev *Event, res Resource, retries int, base time.Duration) (Changes, error) {
	delay := base
	for attempt := 0; ; attempt++ {
		ch, err := p.Handle(ctx, ev, res)
		if err == nil {
			return ch, nil
		}
		if IsPermanent(err) || attempt >= retries || ctx.Err() != nil {
			return Changes{}, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return Changes{}, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// writeChanges upserts what passes the resource's selector and deletes, if
// this integration owns them, the entities of items deleted at the source
// or no longer selected.
func (a *App) writeChanges(ctx context.Context, rm *mapping.ResourceMapper, ch Changes, opts port.UpsertOptions, deleteDependents bool) error {
	var errs []error
	upserted := map[entityKey]bool{}
	var toDelete []port.Entity
	if len(ch.Upsert) > 0 {
		res, err := rm.MapAll(ctx, ch.Upsert)
		if err != nil {
			return err
		}
		for _, m := range res.Misconfigured {
			a.log.Warn("live event item left out by a mapping error", "kind", rm.Kind(), "field", m.Field, "error", m.Err)
		}
		byBP := map[string][]port.Entity{}
		for _, e := range res.Entities {
			pe := toPortEntity(e)
			byBP[pe.Blueprint] = append(byBP[pe.Blueprint], pe)
			upserted[entityKey{pe.Blueprint, pe.ID()}] = true
		}
		for bp, ents := range byBP {
			results, err := a.writer.upsert(ctx, bp, ents, opts)
			if err != nil {
				errs = append(errs, fmt.Errorf("upsert to %s: %w", bp, err))
				continue
			}
			ok := 0
			for _, r := range results {
				if r.Err != nil {
					errs = append(errs, fmt.Errorf("upsert to %s: %w", bp, r.Err))
					continue
				}
				ok++
			}
			a.metrics.entitiesWritten(rm.Kind(), ok, len(results)-ok)
		}
		for _, e := range res.Rejected {
			toDelete = append(toDelete, toPortEntity(e))
		}
	}
	if len(ch.Delete) > 0 {
		// A deleted item is deleted whether or not it still passes the
		// selector (Ocean used to skip those and leave them in Port).
		res, err := rm.MapAll(ctx, ch.Delete)
		if err != nil {
			return err
		}
		for _, e := range append(res.Entities, res.Rejected...) {
			toDelete = append(toDelete, toPortEntity(e))
		}
	}
	if err := a.deleteOwned(ctx, toDelete, upserted, deleteDependents); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// deleteOwned deletes the entities among ents that this integration owns in
// Port, never touching another integration's entities or one just upserted.
func (a *App) deleteOwned(ctx context.Context, ents []port.Entity, keep map[entityKey]bool, deleteDependents bool) error {
	byBP := map[string][]string{}
	for _, e := range ents {
		id := e.ID()
		if id == "" || keep[entityKey{e.Blueprint, id}] {
			continue
		}
		byBP[e.Blueprint] = append(byBP[e.Blueprint], id)
	}
	if len(byBP) == 0 || a.port == nil {
		return nil
	}
	ds := a.datasource()
	var errs []error
	for bp, ids := range byBP {
		values := make([]any, len(ids))
		for i, id := range ids {
			values[i] = id
		}
		found, err := a.port.SearchEntities(ctx, port.Query{Combinator: "and", Rules: []any{
			port.Rule{Property: "$identifier", Operator: "in", Value: values},
			port.Rule{Property: "$blueprint", Operator: "=", Value: bp},
			port.Rule{Property: "$datasource", Operator: "contains", Value: ds.Prefix()},
			port.Rule{Property: "$datasource", Operator: "contains", Value: ds.Suffix()},
		}}, port.SearchOptions{Include: []string{"identifier", "blueprint"}})
		if err != nil {
			errs = append(errs, fmt.Errorf("look up %s entities to delete: %w", bp, err))
			continue
		}
		var owned []string
		for _, e := range found {
			if id := e.ID(); id != "" {
				owned = append(owned, id)
			}
		}
		if len(owned) == 0 {
			continue
		}
		n, err := a.writer.delete(ctx, bp, owned, port.DeleteOptions{DeleteDependents: deleteDependents})
		a.metrics.entitiesDeleted(bp, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("delete from %s: %w", bp, err))
		}
	}
	return errors.Join(errs...)
}
