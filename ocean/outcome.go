package ocean

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/oceankit/oceankit/port"
)

// MissingBlueprintsError fails a kind whose mapping writes to blueprints
// that do not exist in Port. It is found with one read before anything is
// written, instead of as one rejected entity per item.
type MissingBlueprintsError struct {
	Blueprints []string
}

func (e *MissingBlueprintsError) Error() string {
	q := make([]string, len(e.Blueprints))
	for i, b := range e.Blueprints {
		q[i] = fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("blueprint %s does not exist in Port: add it to Port's data model, or start the integration "+
		"with initializePortResources (OCEAN__INITIALIZE_PORT_RESOURCES=true) to create its default blueprints",
		strings.Join(q, ", "))
}

// WritesFailedError fails a kind some of whose entities Port did not take
// (after retries): the catalog is not equal to the source for it.
type WritesFailedError struct {
	Failed, Total int64
	// First is the first write error.
	First error
}

func (e *WritesFailedError) Error() string {
	msg := fmt.Sprintf("%d of %d entities were not written to Port", e.Failed, e.Total)
	if e.First != nil {
		msg += "; first error: " + e.First.Error()
	}
	return msg
}

func (e *WritesFailedError) Unwrap() error { return e.First }

// checkBlueprints reads Port's blueprints once and fails, before anything
// is written, every kind whose mapping names a blueprint Port lacks. A
// blueprint computed per item is left to the writes to find out. When the
// read itself fails the kinds run: their writes will say what is wrong.
func (r *resyncRun) checkBlueprints(ctx context.Context, kinds []*kindRun) {
	if r.catalog == nil {
		return
	}
	list, err := r.catalog.ListBlueprints(ctx)
	if err != nil {
		r.log.Warn("could not read Port's blueprints to check the mapping against them", "error", err)
		return
	}
	r.blueprints = make(map[string]port.Blueprint, len(list))
	for _, bp := range list {
		r.blueprints[bp.Identifier] = bp
	}
	for _, k := range kinds {
		if k.report.Err != nil {
			continue // already failed (its resource does not compile)
		}
		lits, ok := k.rm.Resource().LiteralBlueprints()
		if !ok {
			continue
		}
		var missing []string
		for _, bp := range lits {
			if _, ok := r.blueprints[bp]; !ok && !slices.Contains(missing, bp) {
				missing = append(missing, bp)
			}
		}
		if len(missing) > 0 {
			k.report.Err = &MissingBlueprintsError{Blueprints: missing}
		}
	}
}

// unmetDependency reports whether Port refused an entity for something it
// points at that does not exist yet: with createMissingRelatedEntities off,
// a related entity that a later kind (or a later page) writes.
func (r *resyncRun) unmetDependency(err error) bool {
	if r.pac.CreateMissingRelatedEntities {
		return false
	}
	var pe *port.Error
	return errors.As(err, &pe) && pe.StatusCode == http.StatusNotFound
}

// retryUnmet sends once more, after every kind ran, the entities Port
// refused for a missing related entity: targets first, then the entities
// that point at them (Ocean's retry of failed upserts). What fails again
// counts as failed.
func (r *resyncRun) retryUnmet(ctx context.Context) {
	r.unmetMu.Lock()
	unmet := r.unmet
	r.unmet = nil
	r.unmetMu.Unlock()
	if len(unmet) == 0 {
		return
	}
	r.log.Info("sending again the entities whose related entities were missing", "count", len(unmet))
	for _, level := range dependencyLevels(unmet) {
		type group struct {
			kind      *kindRun
			blueprint string
		}
		groups := map[group][]port.Entity{}
		var order []group
		for _, u := range level {
			g := group{u.kind, u.entity.Blueprint}
			if _, ok := groups[g]; !ok {
				order = append(order, g)
			}
			groups[g] = append(groups[g], u.entity)
		}
		for _, g := range order {
			r.upsert(ctx, upsertBatch{kind: g.kind, blueprint: g.blueprint, entities: groups[g], final: true})
		}
	}
}

// dependencyLevels orders entities so that each comes after the entities
// of the set it relates to. Entities in a cycle come last, together.
func dependencyLevels(ents []unmetEntity) [][]unmetEntity {
	byID := map[string][]int{}
	for i, u := range ents {
		byID[u.entity.ID()] = append(byID[u.entity.ID()], i)
	}
	deps := make([][]int, len(ents))
	dependents := make([][]int, len(ents))
	indeg := make([]int, len(ents))
	for i, u := range ents {
		for _, t := range relationTargets(u.entity.Relations) {
			for _, j := range byID[t] {
				if j == i || slices.Contains(deps[i], j) {
					continue
				}
				deps[i] = append(deps[i], j)
				dependents[j] = append(dependents[j], i)
				indeg[i]++
			}
		}
	}
	done := make([]bool, len(ents))
	var levels [][]unmetEntity
	left := len(ents)
	for left > 0 {
		var ready []int
		for i := range ents {
			if !done[i] && indeg[i] == 0 {
				ready = append(ready, i)
			}
		}
		if len(ready) == 0 { // a cycle: the rest together
			for i := range ents {
				if !done[i] {
					ready = append(ready, i)
				}
			}
		}
		level := make([]unmetEntity, 0, len(ready))
		for _, i := range ready {
			done[i] = true
			left--
			level = append(level, ents[i])
		}
		for _, i := range ready {
			for _, d := range dependents[i] {
				indeg[d]--
			}
		}
		levels = append(levels, level)
	}
	return levels
}

// relationTargets lists the identifiers an entity's relations name
// (search-query relations name none).
func relationTargets(rel map[string]any) []string {
	var out []string
	for _, v := range rel {
		switch t := v.(type) {
		case string:
			out = append(out, t)
		case []string:
			out = append(out, t...)
		case []any:
			for _, e := range t {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// deleteOrder orders the blueprints of stale entities dependents first: a
// blueprint whose relations point at another is cleaned before it, so that
// deleting a target without deleteDependentEntities never fails on an
// entity that still points at it, and with it a cascade never deletes what
// the run then counts again. Without the data model (or in a cycle) the
// rest go in name order.
func deleteOrder(stale []string, model map[string]port.Blueprint) []string {
	slices.Sort(stale)
	in := map[string]bool{}
	for _, bp := range stale {
		in[bp] = true
	}
	// refs[b] counts the stale blueprints (other than b) that point at b.
	refs := map[string]int{}
	for _, bp := range stale {
		for _, t := range relatedBlueprints(model[bp]) {
			if t != bp && in[t] {
				refs[t]++
			}
		}
	}
	out := make([]string, 0, len(stale))
	done := map[string]bool{}
	for len(out) < len(stale) {
		next := ""
		for _, bp := range stale {
			if !done[bp] && refs[bp] == 0 {
				next = bp
				break
			}
		}
		if next == "" { // a cycle
			for _, bp := range stale {
				if !done[bp] {
					next = bp
					break
				}
			}
		}
		done[next] = true
		out = append(out, next)
		for _, t := range relatedBlueprints(model[next]) {
			if t != next && in[t] {
				refs[t]--
			}
		}
	}
	return out
}

// relatedBlueprints lists the distinct targets of a blueprint's relations.
func relatedBlueprints(bp port.Blueprint) []string {
	var out []string
	for _, rel := range bp.Relations {
		if !slices.Contains(out, rel.Target) {
			out = append(out, rel.Target)
		}
	}
	return out
}
