package ocean

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/oceankit/oceankit/httpx"
	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/port"
)

// ErrQueueFull is returned when the live-event queue cannot take an event;
// the HTTP route answers 503 so the sender retries.
var ErrQueueFull = errors.New("ocean: live-event queue is full")

// maxVersions bounds the per-key version memory used to drop out-of-order
// events; past it the memory is cleared, which only weakens the check for
// keys not seen since.
const maxVersions = 200_000

// QueuedEvent is a live event waiting for one processor.
type QueuedEvent struct {
	// Key orders events: those with the same key are applied one at a
	// time, in the order they were accepted.
	Key string `json:"key"`
	// Processor names the processor (Processor.Name) that handles it.
	Processor string `json:"processor"`
	// Event is the delivery, without its decoded Payload: a queue holds
	// the raw body only, and the App decodes it again to apply the event.
	// The jobs of one delivery share it; nothing may change it.
	Event *Event `json:"event"`
}

// ApplyFunc applies one queued event: it retries, logs and counts failures
// itself, so a queue only has to call it and then consider the event done.
type ApplyFunc func(ctx context.Context, ev *QueuedEvent)

// EventQueue holds accepted live events until they are applied. The default
// is in process and bounded in events (OCEAN__EVENT_QUEUE_SIZE) and bytes
// (WebhookLimits.QueueBytes); ocean/redisqueue shares one queue between
// replicas behind a load balancer.
type EventQueue interface {
	// Enqueue accepts all of one delivery's events, or none: ErrQueueFull
	// (answered 503) when it cannot take them.
	Enqueue(ctx context.Context, events []*QueuedEvent) error
	// Run hands events to apply until ctx is done, then lets the events in
	// hand finish. Events with the same Key must be applied one at a time,
	// in order.
	Run(ctx context.Context, apply ApplyFunc) error
}

// EventQueueHealth is implemented by an EventQueue whose backend can be
// unavailable, such as ocean/redisqueue's Redis. Healthy returns nil while
// the queue can take events and the reason otherwise; it reports a state
// the queue keeps up to date and must not block. While it returns an
// error, /health/ready answers 503 and the gauge
// ocean_live_events_backend_up is 0.
type EventQueueHealth interface {
	Healthy() error
}

// WithEventQueue replaces the in-process live-event queue.
func WithEventQueue(q EventQueue) Option {
	return func(a *App) error {
		if q == nil {
			return errors.New("ocean: WithEventQueue(nil): leave the option out for the in-process queue")
		}
		a.queue = q
		return nil
	}
}

// memoryQueue is the in-process EventQueue. Events with the same key are
// applied one at a time in arrival order; different keys run in parallel on
// EventWorkersCount workers; a run of queued events for one key of a
// Coalesce collapses into the newest.
//
// It is bounded by count (jobs) and by bytes: the jobs of one delivery share
// its Event, which counts once, for as long as one of them is queued.
type memoryQueue struct {
	app *App

	mu     sync.Mutex
	cond   *sync.Cond
	keys   map[string]*keyQueue
	ready  []string
	size   int
	bytes  int64
	refs   map[*Event]int
	closed bool
	// stopped is set when the shutdown drain ran out of time: workers
	// take no more events, and what is left is reported as not applied.
	stopped bool
}

type keyQueue struct {
	events  []*QueuedEvent
	active  bool
	inReady bool
}

func newMemoryQueue(a *App) *memoryQueue {
	q := &memoryQueue{app: a, keys: map[string]*keyQueue{}, refs: map[*Event]int{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *memoryQueue) capacity() int {
	if n := q.app.cfg.EventQueueSize; n > 0 {
		return n
	}
	return 10_000
}

func (q *memoryQueue) byteCapacity() int64 {
	return q.app.intake().resolved.QueueBytes
}

// Enqueue adds all of a delivery's events, or none. An empty queue takes
// a delivery of any size, so that one larger than the byte bound is not
// refused for ever.
func (q *memoryQueue) Enqueue(_ context.Context, jobs []*QueuedEvent) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrQueueFull
	}
	if q.size+len(jobs) > q.capacity() {
		return ErrQueueFull
	}
	var add int64
	seen := map[*Event]bool{}
	for _, j := range jobs {
		if q.refs[j.Event] == 0 && !seen[j.Event] {
			seen[j.Event] = true
			add += eventSize(j.Event)
		}
	}
	if q.bytes > 0 && q.bytes+add > q.byteCapacity() {
		return ErrQueueFull
	}
	for _, j := range jobs {
		q.hold(j)
		kq := q.keys[j.Key]
		if kq == nil {
			kq = &keyQueue{}
			q.keys[j.Key] = kq
		}
		kq.events = append(kq.events, j)
		q.size++
		if !kq.active && !kq.inReady {
			kq.inReady = true
			q.ready = append(q.ready, j.Key)
		}
	}
	q.app.metrics.queueDepth(q.size)
	q.cond.Broadcast()
	return nil
}

// hold and release count a job's Event in the byte bound; the caller holds
// q.mu.
func (q *memoryQueue) hold(j *QueuedEvent) {
	if q.refs[j.Event] == 0 {
		q.bytes += eventSize(j.Event)
	}
	q.refs[j.Event]++
}

func (q *memoryQueue) release(j *QueuedEvent) {
	q.refs[j.Event]--
	if q.refs[j.Event] <= 0 {
		delete(q.refs, j.Event)
		q.bytes -= eventSize(j.Event)
	}
}

// next blocks for the next job; ok is false once the queue is closed and
// empty, or stopped.
func (q *memoryQueue) next() (*QueuedEvent, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.ready) == 0 || q.stopped {
		if q.closed || q.stopped {
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
	if q.app.coalesces(j.Processor) {
		// The handler fetches the current state: of a run of queued
		// events for the key, only the newest needs handling.
		last := len(kq.events) - 1
		for last > 0 && kq.events[last].Processor != j.Processor {
			last--
		}
		if last > 0 {
			q.app.metrics.eventsCoalesced(last)
			for _, dropped := range kq.events[:last+1] {
				q.release(dropped)
			}
			j = kq.events[last]
			kq.events = append(kq.events[:0:0], kq.events[last+1:]...)
			q.size -= last + 1
			q.app.metrics.queueDepth(q.size)
			return j, true
		}
	}
	q.release(j)
	kq.events[0] = nil
	kq.events = kq.events[1:]
	q.size--
	q.app.metrics.queueDepth(q.size)
	return j, true
}

func (q *memoryQueue) done(key string) {
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

// Run starts the workers and, when ctx is done, lets them drain the queue
// for at most MaxWaitSecondsBeforeShutdown. Then the events in hand are
// cancelled and the rest left: one line reports how many were not applied
// (the next resync brings the catalog up to date), and none of them counts
// as a failure.
func (q *memoryQueue) Run(ctx context.Context, apply ApplyFunc) error {
	workers := max(q.app.cfg.EventWorkersCount, 1)
	drainCtx, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	interruptedBefore := q.app.hooks.interrupted.Load()
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
				apply(drainCtx, j)
				q.done(j.Key)
			}
		}()
	}
	<-ctx.Done()
	q.mu.Lock()
	q.closed = true
	left := q.size
	q.cond.Broadcast()
	q.mu.Unlock()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-q.drainDeadline(finished):
		q.mu.Lock()
		q.stopped = true
		q.cond.Broadcast()
		q.mu.Unlock()
		cancelDrain()
		<-finished
	}
	q.mu.Lock()
	lost := q.size
	q.mu.Unlock()
	interrupted := int(q.app.hooks.interrupted.Load() - interruptedBefore)
	if lost+interrupted > 0 {
		q.app.log.Warn("live events not applied before shutdown; the next resync brings the catalog up to date",
			"count", lost+interrupted, "queued", lost, "interrupted", interrupted, "queued_at_shutdown", left)
	}
	q.app.metrics.queueDepth(lost)
	return nil
}

// drainDeadline fires after MaxWaitSecondsBeforeShutdown on the App's
// clock (at once when it is zero), or never once the workers finished.
func (q *memoryQueue) drainDeadline(finished <-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	wait := time.Duration(q.app.cfg.MaxWaitSecondsBeforeShutdown * float64(time.Second))
	if wait <= 0 {
		close(out)
		return out
	}
	t := q.app.clock.NewTicker(wait)
	go func() {
		defer t.Stop()
		select {
		case <-t.C():
			close(out)
		case <-finished:
		}
	}()
	return out
}

// processor finds a provider processor by name.
func (a *App) processor(name string) Processor {
	for _, p := range a.provider.Processors {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

func (a *App) coalesces(name string) bool {
	f, ok := a.processor(name).(*ProcessorFuncs)
	return ok && f.Coalesce
}

// applyQueued applies one queued event: it drops an event older than one
// already applied for the same key, bounds the processing time, retries,
// and counts the outcome.
func (a *App) applyQueued(ctx context.Context, qe *QueuedEvent) {
	p := a.processor(qe.Processor)
	log := a.log.With("event", qe.Event.ID, "processor", qe.Processor)
	if p == nil {
		log.Error("live event for a processor this program does not have")
		a.metrics.eventProcessed("failed")
		return
	}
	// The queued event is shared by the delivery's jobs and holds only
	// the raw body: decode it into this job's own copy.
	cp := *qe.Event
	ev := &cp
	ev.Payload = nil
	if err := json.Unmarshal(ev.Body, &ev.Payload); err != nil || ev.Payload == nil {
		log.Error("live event body is not a JSON object", "error", err)
		a.metrics.eventProcessed("failed")
		return
	}
	if ver, ok := eventVersion(p, ev); ok {
		a.versionsMu.Lock()
		prev, seen := a.versions[qe.Key]
		stale := seen && ver.Before(prev)
		if !stale {
			if len(a.versions) >= maxVersions {
				a.versions = map[string]time.Time{}
			}
			a.versions[qe.Key] = ver
		}
		a.versionsMu.Unlock()
		if stale {
			log.Info("skipping an event older than one already applied", "key", qe.Key)
			a.metrics.eventProcessed("stale")
			return
		}
	}
	retries, base := a.eventRetryPolicy()
	timeout := time.Duration(a.cfg.MaxEventProcessingSeconds * float64(time.Second))
	ectx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := a.applyEvent(ectx, p, ev, retries, base, nil); err != nil {
		if ctx.Err() != nil {
			// Cut short by shutdown, not failed: the queue reports it with
			// the events it could not start.
			log.Debug("live event interrupted by shutdown", "error", err)
			a.hooks.interrupted.Add(1)
			a.metrics.eventProcessed("interrupted")
			return
		}
		log.Error("live event failed", "error", err)
		a.metrics.eventProcessed("failed")
		return
	}
	a.metrics.eventProcessed("ok")
}

// applyEvent maps the processor's changes with every resource of the kinds
// the event affects and writes them to Port.
func (a *App) applyEvent(ctx context.Context, proc Processor, ev *Event, retries int, base time.Duration, rec *report.Event) error {
	if rp, ok := proc.(RunEventProcessor); ok {
		return a.applyRunEvent(ctx, rp, ev, retries, base)
	}
	matched, err := a.applyToKinds(ctx, proc.Kinds(ev), rec, func(ctx context.Context, res Resource) (Changes, error) {
		return a.handleWithRetry(ctx, proc, ev, res, retries, base)
	})
	if !matched {
		a.log.Debug("live event for kinds the mapping does not include", "event", ev.ID, "kinds", proc.Kinds(ev))
	}
	return err
}

// applyToKinds maps the changes changesFor gives, with every resource of
// the port app config of the given kinds, and writes them (see
// writeChanges). matched is false when the config has no such resource.
func (a *App) applyToKinds(ctx context.Context, kindNames []string, rec *report.Event, changesFor func(context.Context, Resource) (Changes, error)) (matched bool, err error) {
	pac, err := a.portAppConfig(ctx, false)
	if err != nil {
		return false, err
	}
	mapper, err := a.compile(pac)
	if err != nil {
		return false, fmt.Errorf("port app config: %w", err)
	}
	kinds := map[string]bool{}
	for _, k := range kindNames {
		kinds[k] = true
	}
	opts := port.UpsertOptions{
		Merge:                        pac.EnableMergeEntity,
		CreateMissingRelatedEntities: pac.CreateMissingRelatedEntities,
		EventType:                    "http_request",
	}
	var errs []error
	for _, rm := range mapper.Resources() {
		if !kinds[rm.Kind()] {
			continue
		}
		matched = true
		if err := mapper.resourceErr(rm.Index()); err != nil {
			// The other resources of the kind still apply the event.
			errs = append(errs, Permanent(err))
			continue
		}
		res := Resource{Kind: rm.Kind(), Index: rm.Index(), Selector: rm.Resource().Selector.Raw}
		changes, err := changesFor(withPortAppConfig(ctx, pac), res)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", rm.Kind(), rm.Index(), err))
			continue
		}
		if err := a.writeChanges(ctx, rm, changes, opts, pac.DeleteDependentEntities, rec); err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", rm.Kind(), rm.Index(), err))
		}
	}
	return matched, errors.Join(errs...)
}

func (a *App) handleWithRetry(ctx context.Context, p Processor, ev *Event, res Resource, retries int, base time.Duration) (Changes, error) {
	policy := httpx.RetryPolicy{MaxAttempts: retries + 1, BaseDelay: base, MaxDelay: 30 * time.Second}
	for attempt := 1; ; attempt++ {
		ch, err := p.Handle(ctx, ev, res)
		if err == nil {
			return ch, nil
		}
		if IsPermanent(err) || attempt >= policy.MaxAttempts || ctx.Err() != nil {
			return Changes{}, err
		}
		if err := a.clock.Sleep(ctx, policy.Delay(attempt, 0)); err != nil {
			return Changes{}, err
		}
	}
}

// writeChanges upserts what passes the resource's selector and deletes, if
// this integration owns them, the entities of items deleted at the source
// or no longer selected.
func (a *App) writeChanges(ctx context.Context, rm *mapping.ResourceMapper, ch Changes, opts port.UpsertOptions, deleteDependents bool, rec *report.Event) error {
	var errs []error
	upserted := map[entityKey]bool{}
	var toDelete []port.Entity
	// A selector type that judges items (ItemMatcher) rules out what its
	// list call would not return: those items go as rejected ones do.
	if m := a.itemMatcher(rm); m != nil && len(ch.Upsert) > 0 {
		var keep []Item
		for _, it := range ch.Upsert {
			if m(it) {
				keep = append(keep, it)
			} else {
				ch.Delete = append(ch.Delete, it)
			}
		}
		ch.Upsert = keep
	}
	if len(ch.Upsert) > 0 {
		res, err := rm.MapAll(ctx, ch.Upsert)
		if err != nil {
			return err
		}
		for _, m := range res.Misconfigured {
			a.log.Warn("live event item left out by a mapping error", "kind", rm.Kind(), "index", rm.Index(), "field", m.Field, "expr", m.Expr, "error", m.Err)
		}
		for _, m := range res.FieldErrors {
			a.log.Warn("live event entity written with a field null: its jq failed", "kind", rm.Kind(), "index", rm.Index(),
				"field", m.Field, "expr", m.Expr, "entity", m.Blueprint+"/"+m.Identifier, "error", m.Err)
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
			for i, r := range results {
				if r.Err != nil {
					errs = append(errs, fmt.Errorf("upsert to %s: %w", bp, r.Err))
					continue
				}
				ok++
				if rec != nil && i < len(ents) {
					rec.Upserted = append(rec.Upserted, bp+"/"+ents[i].ID())
				}
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
	if err := a.deleteOwned(ctx, toDelete, upserted, deleteDependents, rec); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// deleteOwned deletes the entities among ents that this integration owns in
// Port, never touching another integration's entities or one just upserted.
func (a *App) deleteOwned(ctx context.Context, ents []port.Entity, keep map[entityKey]bool, deleteDependents bool, rec *report.Event) error {
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
		if rec != nil && err == nil {
			for _, id := range owned {
				rec.Deleted = append(rec.Deleted, bp+"/"+id)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete from %s: %w", bp, err))
		}
	}
	return errors.Join(errs...)
}
