package ocean

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/port"
)

type unmetEntity struct {
	kind   *kindRun
	entity port.Entity
}

type upsertBatch struct {
	kind      *kindRun
	blueprint string
	entities  []port.Entity
	// final is set on the retry of refused entities: what Port refuses
	// now has failed.
	final bool
}

// mapPage maps one page and hands full batches to the upserters.
func (r *resyncRun) mapPage(ctx context.Context, k *kindRun, acc *accumulator, page []Item) error {
	t0 := r.clock.Now()
	res, err := k.rm.Map(ctx, page)
	k.mapNs.Add(int64(r.clock.Now().Sub(t0)))
	if err != nil {
		return fmt.Errorf("map: %w", err)
	}
	k.filtered.Add(int64(res.Filtered))
	k.misconf.Add(int64(res.Failed + res.Dropped))
	k.recordMapping(res, page)
	// What the resync produced is tracked against the catalog read, so
	// nothing is recorded before it is in.
	if err := r.waitExisting(ctx); err != nil {
		return err
	}
	for _, m := range res.Misconfigured {
		if m.Identifier != "" && m.Blueprint != "" {
			r.markSeen(m.Blueprint, m.Identifier)
			continue
		}
		k.unknownIDs.Add(1)
	}
	// An entity dropped for a null identifier or blueprint may still be in
	// Port under the identifier it had before: Ocean deletes it as stale
	// (a typo in the identifier mapping wipes the kind); here it protects
	// the kind's blueprints instead.
	k.unknownIDs.Add(int64(res.Dropped))
	k.dropped.Add(int64(res.Dropped))
	for _, e := range res.Entities {
		k.mapped.Add(1)
		pe := toPortEntity(e)
		if r.pac.CreateMissingRelatedEntities {
			r.markRelationTargets(pe.Relations)
		}
		k.blueprints.LoadOrStore(pe.Blueprint, struct{}{})
		if !r.sendOnce(&pe) {
			k.skipped.Add(1)
			continue
		}
		if r.isUnchanged(&pe) {
			k.skipped.Add(1)
			continue
		}
		if err := acc.add(ctx, pe); err != nil {
			return err
		}
	}
	return nil
}

// storeMax raises v to n unless it already holds more.
func storeMax(v *atomic.Int64, n int64) {
	for {
		cur := v.Load()
		if cur >= n || v.CompareAndSwap(cur, n) {
			return
		}
	}
}

func (r *resyncRun) markSeen(blueprint, id string) {
	key := r.digests().key(blueprint, id)
	r.mu.Lock()
	r.written.mark(key)
	r.mu.Unlock()
}

// sendOnce records an entity about to be written and reports whether this
// resync already wrote the very same entity: kinds such as `member` list
// one user once per group, and writing it again would change nothing.
func (r *resyncRun) sendOnce(e *port.Entity) bool {
	id := e.ID()
	if id == "" {
		return true
	}
	h := r.signer.entityHash(e)
	key := r.digests().key(e.Blueprint, id)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.written.send(key, h)
}

// markRelationTargets remembers the identifiers this resync points at: Port
// may have created them as placeholders, and they must not be deleted as
// stale (Ocean's safe delete does the same). With the catalog index, only
// targets it holds are remembered: nothing else can be found stale (in a
// first resync, nothing at all).
func (r *resyncRun) markRelationTargets(rel map[string]any) {
	if len(rel) == 0 {
		return
	}
	d, idx := r.digests(), r.existing
	var hashes [8]uint64
	targets := hashes[:0]
	add := func(id string) {
		if h := d.id(id); idx == nil || idx.holdsID(h) {
			targets = append(targets, h)
		}
	}
	for _, v := range rel {
		switch t := v.(type) {
		case string:
			add(t)
		case []any:
			for _, e := range t {
				if s, ok := e.(string); ok {
					add(s)
				}
			}
		case []string:
			for _, s := range t {
				add(s)
			}
		}
	}
	if len(targets) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range targets {
		r.relTargets[h] = struct{}{}
	}
}

// accumulator groups one worker's entities per blueprint into full bulks,
// so that requests carry the bulk limit rather than whatever a page held.
type accumulator struct {
	r       *resyncRun
	k       *kindRun
	size    int
	pending map[string][]port.Entity
}

func newAccumulator(r *resyncRun, k *kindRun) *accumulator {
	size := r.upsertBatch
	if size <= 0 || size > 20 {
		size = 20
	}
	return &accumulator{r: r, k: k, size: size, pending: map[string][]port.Entity{}}
}

func (a *accumulator) add(ctx context.Context, e port.Entity) error {
	b := a.pending[e.Blueprint]
	if b == nil {
		// A batch is sent once full: growing it by appends allocated
		// twice its size (port.Entity is a large struct) for each batch.
		b = make([]port.Entity, 0, a.size)
	}
	b = append(b, e)
	if len(b) >= a.size {
		a.pending[e.Blueprint] = nil
		return a.send(ctx, e.Blueprint, b)
	}
	a.pending[e.Blueprint] = b
	return nil
}

func (a *accumulator) flushAll(ctx context.Context) error {
	for bp, b := range a.pending {
		if len(b) == 0 {
			continue
		}
		delete(a.pending, bp)
		if err := a.send(ctx, bp, b); err != nil {
			return err
		}
	}
	return nil
}

func (a *accumulator) send(ctx context.Context, bp string, ents []port.Entity) error {
	select {
	case a.r.batches <- upsertBatch{kind: a.k, blueprint: bp, entities: ents}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// upsert writes one batch and accounts per entity.
func (r *resyncRun) upsert(ctx context.Context, b upsertBatch) {
	if err := ctx.Err(); err != nil {
		b.kind.failed.Add(int64(len(b.entities)))
		b.kind.writeErr.CompareAndSwap(nil, &err)
		return
	}
	t0 := r.clock.Now()
	results, err := r.writer.upsert(ctx, b.blueprint, b.entities, r.upsertOpts)
	t1 := r.clock.Now()
	b.kind.writeNs.Add(int64(t1.Sub(t0)))
	storeMax(&b.kind.lastWriteEnd, t1.UnixNano())
	if err != nil {
		b.kind.failed.Add(int64(len(b.entities)))
		b.kind.writeErr.CompareAndSwap(nil, &err)
		r.log.Error("bulk upsert failed", "kind", b.kind.rm.Kind(), "blueprint", b.blueprint,
			"entities", len(b.entities), "error", err)
		return
	}
	var failed, unmet int
	var first error
	for i, res := range results {
		if res.Err != nil {
			if !b.final && r.unmetDependency(res.Err) {
				unmet++
				r.unmetMu.Lock()
				r.unmet = append(r.unmet, unmetEntity{kind: b.kind, entity: b.entities[i]})
				r.unmetMu.Unlock()
				continue
			}
			failed++
			if first == nil {
				first = res.Err
			}
			continue
		}
		if res.Skipped {
			b.kind.skipped.Add(1)
			continue
		}
		b.kind.upserted.Add(1)
	}
	if failed > 0 {
		b.kind.failed.Add(int64(failed))
		b.kind.writeErr.CompareAndSwap(nil, &first)
		r.log.Warn("entities rejected by Port", "kind", b.kind.rm.Kind(), "blueprint", b.blueprint,
			"count", failed, "first_error", first)
	}
	r.metrics.entitiesWritten(b.kind.rm.Kind(), len(results)-failed-unmet, failed)
}

// toPortEntity converts a mapped entity to the wire type.
func toPortEntity(e mapping.Entity) port.Entity {
	return port.Entity{
		Identifier: e.Identifier,
		Blueprint:  e.Blueprint,
		Title:      e.Title,
		Icon:       e.Icon,
		Team:       e.Team,
		Properties: e.Properties,
		Relations:  e.Relations,
	}
}
