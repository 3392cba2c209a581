package ocean

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/oceankit/oceankit/port"
)

// portBulkDeleteMax is Port's limit of identifiers per bulk delete.
const portBulkDeleteMax = 100

// reconcile deletes the stale entities: those of this integration that
// Port held when the resync started and that the resync did not produce.
// Each rule of the package doc's "Deletion" is one step: blueprints a kind
// could not vouch for are protected, relation targets are kept, nothing is
// deleted over the threshold, dependents go first.
func (r *resyncRun) reconcile(ctx context.Context, kinds []*kindRun) error {
	rep := r.report
	if r.catalog == nil {
		rep.DeletionSkipped = "no Port client"
		return nil
	}
	if err := r.waitExisting(ctx); err != nil {
		return err
	}
	protected, skip := protectedBlueprints(kinds)
	if protected == nil {
		rep.DeletionSkipped = skip
		r.log.Warn("skipping stale-entity deletion", "reason", skip)
		return nil
	}
	rep.DeletionSkipped = skip
	stale, total, err := r.staleEntities(ctx, protected)
	if err != nil {
		return err
	}
	rep.StaleFound = stale.count
	if stale.count == 0 {
		return nil
	}
	if reason := r.overThreshold(stale.count, total); reason != "" {
		rep.DeletionSkipped = reason
		r.log.Warn("skipping stale-entity deletion", "reason", reason)
		return nil
	}
	if stale, err = r.staleIdentifiers(ctx, stale, protected); err != nil {
		return err
	}
	byBlueprint, err := r.deleteStale(ctx, stale.ids)
	for _, n := range byBlueprint {
		rep.Deleted += n
	}
	attributeDeletions(kinds, byBlueprint)
	r.log.Info("deleted stale entities", "count", rep.Deleted, "found", stale.count, "first", stale.first())
	if err != nil {
		return fmt.Errorf("ocean: stale-entity deletion: %w", err)
	}
	return nil
}

// protectedBlueprints returns the blueprints whose stale entities must be
// kept because a kind writing to them did not complete, and why deletion
// is partial. It returns nil when no blueprint is safe to clean: a kind
// that did not complete computes its blueprint per item.
func protectedBlueprints(kinds []*kindRun) (protected map[string]bool, reason string) {
	protected = map[string]bool{}
	for _, k := range kinds {
		if k.report.Complete {
			continue
		}
		lits, ok := k.rm.Resource().LiteralBlueprints()
		if !ok {
			return nil, fmt.Sprintf("kind %s[%d] failed and its blueprint is computed per item, so no blueprint is safe to clean", k.report.Kind, k.report.Index)
		}
		for _, lit := range lits {
			protected[lit] = true
		}
		if reason == "" && k.report.DeletionBlocked != "" {
			reason = fmt.Sprintf("not for %s[%d]'s blueprints: %s", k.report.Kind, k.report.Index, k.report.DeletionBlocked)
		}
		for _, bp := range k.report.Blueprints {
			protected[bp] = true
		}
	}
	return protected, reason
}

// staleSet is the stale entities: by blueprint, identifiers sorted, or,
// found in the catalog index, by key digest until staleIdentifiers names
// them.
type staleSet struct {
	ids   map[string][]string
	keys  map[uint64]struct{}
	count int
}

// first names up to five stale entities, for the log.
func (s staleSet) first() []string {
	var out []string
	for _, bp := range slices.Sorted(maps.Keys(s.ids)) {
		for _, id := range s.ids[bp] {
			if len(out) == 5 {
				return out
			}
			out = append(out, bp+"/"+id)
		}
	}
	return out
}

// staleEntities finds what Port held (the catalog read at the start, else
// a fresh read of entities stamped before the cut-off) that this resync
// did not produce, outside the protected blueprints and the relation
// targets. total counts the catalog as this resync leaves it, entities
// it wrote for the first time included.
func (r *resyncRun) staleEntities(ctx context.Context, protected map[string]bool) (stale staleSet, total int, err error) {
	stale.ids = map[string][]string{}
	var listed, overlap int
	d := r.digests()
	consider := func(pos int, key uint64, blueprint string, idHash uint64) bool {
		listed++
		if r.written.has(pos, key) {
			overlap++
			return false
		}
		if protected[blueprint] {
			return false
		}
		if _, ok := r.relTargets[idHash]; ok {
			return false
		}
		stale.count++
		return true
	}
	if r.existing != nil {
		// The catalog as it was when the resync started: entities written
		// since (by live events) are not in it and so are never stale.
		stale.keys = map[uint64]struct{}{}
		r.existing.each(func(pos int, key uint64, blueprint string, idHash uint64) {
			if consider(pos, key, blueprint, idHash) {
				stale.keys[key] = struct{}{}
			}
		})
	} else {
		ds := r.datasource
		for page, err := range r.catalog.DatasourceEntities(ctx, port.DatasourceQuery{
			Prefix: ds.Prefix(), Suffix: ds.Suffix(), Before: r.cutoff,
		}) {
			if err != nil {
				return staleSet{}, 0, fmt.Errorf("ocean: list this integration's entities: %w", err)
			}
			for _, e := range page {
				if id := e.ID(); id != "" && consider(-1, d.key(e.Blueprint, id), e.Blueprint, d.id(id)) {
					stale.ids[e.Blueprint] = append(stale.ids[e.Blueprint], id)
				}
			}
		}
		for _, ids := range stale.ids {
			sort.Strings(ids)
		}
	}
	// Entities written by this resync are newer than its start and so not
	// listed; count them in, or a full rewrite would look like deleting
	// almost everything.
	return stale, listed + r.written.len() - overlap, nil
}

// staleIdentifiers names the stale entities found in the catalog index,
// which keeps no identifiers: it reads the catalog again (identifiers and
// blueprints only, stamped before the cut-off as the first read) and
// takes those under a stale key that are, checked again by name, neither
// produced by this resync, protected nor a relation target. An entity a
// live event wrote meanwhile is newer than the cut-off and so kept.
func (r *resyncRun) staleIdentifiers(ctx context.Context, stale staleSet, protected map[string]bool) (staleSet, error) {
	if stale.keys == nil {
		return stale, nil
	}
	named := staleSet{ids: map[string][]string{}, count: stale.count}
	d := r.digests()
	ds := r.datasource
	for page, err := range r.catalog.DatasourceEntities(ctx, port.DatasourceQuery{
		Prefix: ds.Prefix(), Suffix: ds.Suffix(), Before: r.cutoff, Include: []string{"identifier", "blueprint"},
	}) {
		if err != nil {
			return staleSet{}, fmt.Errorf("ocean: list this integration's entities to name the stale ones: %w", err)
		}
		for _, e := range page {
			id := e.ID()
			if id == "" || protected[e.Blueprint] {
				continue
			}
			key := d.key(e.Blueprint, id)
			if _, ok := stale.keys[key]; !ok || r.written.has(-1, key) {
				continue
			}
			if _, ok := r.relTargets[d.id(id)]; ok {
				continue
			}
			named.ids[e.Blueprint] = append(named.ids[e.Blueprint], id)
		}
	}
	for bp, ids := range named.ids {
		// Sorted, and once each: Port may list an entity twice.
		sort.Strings(ids)
		named.ids[bp] = slices.Compact(ids)
	}
	return named, nil
}

// overThreshold says why deleting n of total entities is refused under
// entityDeletionThreshold, or "".
func (r *resyncRun) overThreshold(n, total int) string {
	rate := float64(n) / float64(max(total, 1))
	threshold := r.pac.EntityDeletionThreshold
	if threshold <= 0 || rate > threshold {
		return fmt.Sprintf("deleting %d of %d entities (%.0f%%) is over the entityDeletionThreshold of %.0f%%",
			n, total, rate*100, threshold*100)
	}
	return ""
}

// deleteStale deletes the stale entities, dependents first in a fixed
// order (see deleteOrder), in Port's bulk size, and counts what went per
// blueprint.
func (r *resyncRun) deleteStale(ctx context.Context, stale map[string][]string) (map[string]int, error) {
	batch := min(max(r.deleteBatch, 1), portBulkDeleteMax)
	opts := port.DeleteOptions{DeleteDependents: r.pac.DeleteDependentEntities}
	byBlueprint := map[string]int{}
	var errs []error
	for _, bp := range deleteOrder(slices.Collect(maps.Keys(stale)), r.blueprints) {
		ids := stale[bp]
		for start := 0; start < len(ids); start += batch {
			chunk := ids[start:min(start+batch, len(ids))]
			n, err := r.writer.delete(ctx, bp, chunk, opts)
			byBlueprint[bp] += n
			if err != nil {
				errs = append(errs, fmt.Errorf("delete from %s: %w", bp, err))
			}
		}
	}
	return byBlueprint, errors.Join(errs...)
}

// attributeDeletions credits each blueprint's deletions to the first kind
// that writes to it.
func attributeDeletions(kinds []*kindRun, byBlueprint map[string]int) {
	for _, k := range kinds {
		for _, bp := range k.report.Blueprints {
			k.report.Deleted += int64(byBlueprint[bp])
			byBlueprint[bp] = 0
		}
	}
}

// portClockMaxAge is how old the Port answer that dates a resync's start
// may be; older, the resync asks Port once more.
const portClockMaxAge = time.Minute

// catalogCutoff returns the resync's start on Port's clock. Port stamps
// each entity's updatedAt with its own clock, and the cut-off is compared
// with those stamps: taken from this host's clock, a host an hour behind
// Port would never delete anything stale, and one an hour ahead would take
// entities a live event wrote during the resync for stale and delete them.
// The estimate comes from the Date header of a fresh Port answer (the port
// app config was usually just read) and errs early, which at worst leaves
// an entity written in the second before the resync for the next one.
func (a *App) catalogCutoff(ctx context.Context, log *slog.Logger) (time.Time, error) {
	if a.port == nil {
		return a.clock.Now(), nil
	}
	t, ok := a.port.ServerTime(portClockMaxAge)
	if !ok {
		// Any answer carries Port's clock, a refusal too.
		_, err := a.port.GetIntegration(ctx, a.cfg.Integration.Identifier)
		var pe *port.Error
		if err != nil && !errors.As(err, &pe) {
			return time.Time{}, fmt.Errorf("ocean: read Port's clock at the start of the resync: %w", err)
		}
		t, ok = a.port.ServerTime(portClockMaxAge)
	}
	if !ok {
		log.Warn("Port's answers carry no Date header: stale entities are told from this resync's by this host's clock, which must agree with Port's")
		return a.clock.Now(), nil
	}
	if skew := a.clock.Now().Sub(t); skew > time.Minute || skew < -time.Minute {
		log.Warn("this host's clock differs from Port's; stale entities are judged by Port's", "skew", skew.Round(time.Second))
	}
	return t, nil
}

// loadExisting reads what Port holds for this integration, once, as
// signatures (and, for a plan, whole entities).
func (r *resyncRun) loadExisting(ctx context.Context, before time.Time) error {
	if r.catalog == nil {
		return errors.New("ocean: reading the catalog needs a Port client")
	}
	ds := r.datasource
	existing := newCatalogIndex(r.signer, r.upsertOpts.Merge, r.pac)
	existing.d = r.digests()
	for page, err := range r.catalog.DatasourceEntities(ctx, port.DatasourceQuery{Prefix: ds.Prefix(), Suffix: ds.Suffix(), Before: before}) {
		if err != nil {
			return fmt.Errorf("ocean: list this integration's entities: %w", err)
		}
		for i := range page {
			e := &page[i]
			id := e.ID()
			if id == "" {
				continue
			}
			if err := existing.add(e); err != nil {
				return err
			}
			if r.plan != nil {
				r.plan.stored[entityKey{e.Blueprint, id}] = *e
			}
		}
	}
	existing.seal()
	r.mu.Lock()
	r.written.attach(existing)
	r.mu.Unlock()
	r.existing = existing
	return nil
}

// waitExisting waits until the catalog read of the resync is in (or
// failed).
func (r *resyncRun) waitExisting(ctx context.Context) error {
	select {
	case <-r.existingReady:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isUnchanged reports whether Port already holds e as the upsert would
// leave it.
func (r *resyncRun) isUnchanged(e *port.Entity) bool {
	if r.existing == nil {
		return false
	}
	if !r.existing.unchanged(e) {
		return false
	}
	if r.plan != nil {
		r.plan.unchanged(e.Blueprint)
	}
	return true
}
