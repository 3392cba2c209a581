package ocean

import (
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/port"
)

const catalogMapping = `
resources:
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"widget"'
          team: .team
          properties:
            color: .color
            size: .size
          relations:
            owner: .owner
`

func catalogEntity(id string, props map[string]any) *port.Entity {
	e := &port.Entity{Identifier: id, Blueprint: "widget", Title: "W " + id, Team: []any{"a", "b"},
		Properties: map[string]any{"color": "red", "size": 1.0}, Relations: map[string]any{"owner": "o1"}}
	for k, v := range props {
		if v == "<absent>" {
			delete(e.Properties, k)
			continue
		}
		e.Properties[k] = v
	}
	return e
}

// The digest keeps what the per-field comparison decided: no real change
// is skipped, and an entity Port holds as the upsert would leave it is.
func TestCatalogIndexUnchanged(t *testing.T) {
	t.Parallel()
	pac, err := mapping.Parse([]byte(catalogMapping))
	require.NoError(t, err)
	tests := []struct {
		name   string
		merge  bool
		stored *port.Entity
		ours   *port.Entity
		want   bool
	}{
		{"equal", true, catalogEntity("w", nil), catalogEntity("w", nil), true},
		{"equal without merge", false, catalogEntity("w", nil), catalogEntity("w", nil), true},
		{"numbers by value", true, catalogEntity("w", map[string]any{"size": 1}), catalogEntity("w", map[string]any{"size": 1.0}), true},
		{"team in any order", true, func() *port.Entity { e := catalogEntity("w", nil); e.Team = []any{"b", "a"}; return e }(), catalogEntity("w", nil), true},
		{"a property changed", true, catalogEntity("w", nil), catalogEntity("w", map[string]any{"color": "blue"}), false},
		{"a property now null", true, catalogEntity("w", nil), catalogEntity("w", map[string]any{"color": nil}), false},
		{"null and absent are the same", true, catalogEntity("w", map[string]any{"color": "<absent>"}), catalogEntity("w", map[string]any{"color": nil}), true},
		{"a property the mapping does not write, with merge", true, catalogEntity("w", map[string]any{"owner_note": "x"}), catalogEntity("w", nil), true},
		{"a property the mapping does not write, replaced", false, catalogEntity("w", map[string]any{"owner_note": "x"}), catalogEntity("w", nil), false},
		{"a title changed", true, catalogEntity("w", nil), func() *port.Entity { e := catalogEntity("w", nil); e.Title = "new"; return e }(), false},
		{"a relation changed", true, catalogEntity("w", nil), func() *port.Entity { e := catalogEntity("w", nil); e.Relations["owner"] = "o2"; return e }(), false},
		{"not in Port", true, catalogEntity("other", nil), catalogEntity("w", nil), false},
		{"a search-query relation is always written", true, catalogEntity("w", nil),
			func() *port.Entity {
				e := catalogEntity("w", nil)
				e.Relations["owner"] = map[string]any{"combinator": "and", "rules": []any{}}
				return e
			}(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCatalogIndex(newSigner(), tt.merge, pac)
			require.NoError(t, c.add(tt.stored))
			c.seal()
			assert.Equal(t, tt.want, c.unchanged(tt.ours))
		})
	}
}

// Every entity added is listed by each with its key and identifier
// digests, found by its key and compared right, across chunks.
func TestCatalogIndexFindsEveryEntity(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 300, 3*(1<<entryChunkBits) + 17} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			c := newCatalogIndex(newSigner(), true, nil)
			want := map[uint64]string{}
			var ents []*port.Entity
			for i := range n {
				e := catalogEntity(fmt.Sprintf("w-%d-%s", i, strings.Repeat("x", i%200)), nil)
				if i%3 == 0 {
					e.Blueprint = "other"
				}
				require.NoError(t, c.add(e))
				want[c.key(e.Blueprint, e.ID())] = e.Blueprint + "/" + e.ID()
				ents = append(ents, e)
			}
			c.seal()
			got := map[uint64]string{}
			c.each(func(pos int, key uint64, bp string, idHash uint64) {
				assert.Equal(t, key, c.at(pos).key)
				name := want[key]
				assert.Equal(t, bp, strings.SplitN(name, "/", 2)[0])
				assert.Equal(t, c.d.id(strings.SplitN(name, "/", 2)[1]), idHash)
				got[key] = name
			})
			assert.Equal(t, want, got)
			for _, e := range ents {
				pos, ok := c.find(c.key(e.Blueprint, e.ID()))
				require.True(t, ok, e.ID())
				assert.Equal(t, c.key(e.Blueprint, e.ID()), c.at(pos).key)
				assert.True(t, c.unchanged(e), e.ID())
				assert.True(t, c.holdsID(c.d.id(e.ID())), e.ID())
			}
			_, ok := c.find(c.key("widget", "not-held"))
			assert.False(t, ok)
			assert.False(t, c.holdsID(c.d.id("not-held")))
		})
	}
}

// collidingIDs digests every identifier alike: the worst a 64-bit digest
// can do (every key of a blueprint collides, every relation target too).
func collidingIDs(maphash.Seed, string) uint64 { return 42 }

// fakeCatalog serves a fixed catalog as Port's datasource listing, in pages
// of two; it counts the listings.
type fakeCatalog struct {
	held     []*port.Entity
	listings int
}

func (f *fakeCatalog) DatasourceEntities(_ context.Context, q port.DatasourceQuery) iter.Seq2[[]port.Entity, error] {
	f.listings++
	return func(yield func([]port.Entity, error) bool) {
		for start := 0; start < len(f.held); start += 2 {
			var page []port.Entity
			for _, e := range f.held[start:min(start+2, len(f.held))] {
				if len(q.Include) > 0 {
					page = append(page, port.Entity{Identifier: e.Identifier, Blueprint: e.Blueprint})
					continue
				}
				page = append(page, *e)
			}
			if !yield(page, nil) {
				return
			}
		}
	}
}

func (f *fakeCatalog) ListBlueprints(context.Context) ([]port.Blueprint, error) { return nil, nil }

func (f *fakeCatalog) PostKindExamples(context.Context, string, string, []any) error { return nil }

// staleRun is the least of a resync that finding stale entities needs:
// the catalog Port held, read and indexed with idFn, and what the resync
// then writes.
func staleRun(t *testing.T, idFn func(maphash.Seed, string) uint64, held []*port.Entity) (*resyncRun, *fakeCatalog) {
	t.Helper()
	cat := &fakeCatalog{held: held}
	r := &resyncRun{signer: newSigner(), relTargets: map[uint64]struct{}{}, existingReady: make(chan struct{})}
	r.catalog = cat
	r.pac = &mapping.Config{CreateMissingRelatedEntities: true}
	r.upsertOpts.Merge = true
	r.written.idFn = idFn
	require.NoError(t, r.loadExisting(context.Background(), time.Time{}))
	close(r.existingReady)
	return r, cat
}

// testWrite records e as produced by the resync and reports whether it
// goes to Port, as mapPage does.
func (r *resyncRun) testWrite(e *port.Entity) bool {
	r.markRelationTargets(e.Relations)
	if !r.sendOnce(e) {
		return false
	}
	return !r.isUnchanged(e)
}

// A collision of digests never deletes what the resync wrote, nor skips a
// write: under a key that several entities share, all are kept and all
// are written. Only a deletion can be missed (the safe side; the next
// resync, with another seed, makes it).
func TestStaleEntitiesUnderCollidingDigests(t *testing.T) {
	t.Parallel()
	ent := func(id, owner string) *port.Entity {
		e := catalogEntity(id, nil)
		e.Relations["owner"] = owner
		return e
	}
	a, b, c := ent("a", "o1"), ent("b", "o1"), ent("c", "o1")
	o1, o2 := ent("o1", "o2"), ent("o2", "o2")
	tests := []struct {
		name      string
		idFn      func(maphash.Seed, string) uint64
		held      []*port.Entity
		write     []*port.Entity
		wantStale []string
		wantSent  []bool
		wantFound int
	}{
		{"b is stale", nil, []*port.Entity{a, b}, []*port.Entity{a}, []string{"b"}, []bool{false}, 1},
		{"a new entity is written", nil, []*port.Entity{a}, []*port.Entity{a, c}, nil, []bool{false, true}, 0},
		{"a relation target is kept", nil, []*port.Entity{a, o1, o2}, []*port.Entity{a}, []string{"o2"}, []bool{false}, 1},
		{"colliding: what Port held under one key is written and kept", collidingIDs, []*port.Entity{a, b}, []*port.Entity{a}, nil, []bool{true}, 0},
		{"colliding: a new entity under a held key is written, the held one kept", collidingIDs, []*port.Entity{a}, []*port.Entity{c}, nil, []bool{true}, 0},
		{"colliding: a relation target keeps everything", collidingIDs, []*port.Entity{a, o1, o2}, []*port.Entity{c}, nil, []bool{true}, 0},
		{"colliding: nothing written, everything stale", collidingIDs, []*port.Entity{a, b}, nil, []string{"a", "b"}, nil, 2},
		{"Port listed an entity twice: named once", nil, []*port.Entity{a, a, b}, []*port.Entity{b}, []string{"a"}, []bool{false}, 2},
		{"Port listed an entity twice: it is written, not skipped", nil, []*port.Entity{a, a, b}, []*port.Entity{a}, []string{"b"}, []bool{true}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, cat := staleRun(t, tt.idFn, tt.held)
			var sent []bool
			for _, e := range tt.write {
				sent = append(sent, r.testWrite(e))
			}
			assert.Equal(t, tt.wantSent, sent, "sent")
			ctx := context.Background()
			stale, _, err := r.staleEntities(ctx, map[string]bool{})
			require.NoError(t, err)
			assert.Equal(t, tt.wantFound, stale.count, "found")
			assert.Equal(t, 1, cat.listings, "finding stale entities needs no second read")
			if stale.count == 0 {
				return
			}
			named, err := r.staleIdentifiers(ctx, stale, map[string]bool{})
			require.NoError(t, err)
			assert.Equal(t, tt.wantStale, named.ids["widget"])
			for _, e := range tt.write {
				assert.NotContains(t, named.ids["widget"], e.ID(), "written, so never stale")
			}
		})
	}
}

// The written set tells produced from not produced whether an entity is
// kept at its index position or by key, and a repeat of the very same
// entity is sent once.
func TestWrittenSet(t *testing.T) {
	t.Parallel()
	s := newSigner()
	idx := newCatalogIndex(s, true, nil)
	for i := range 10 {
		require.NoError(t, idx.add(catalogEntity(fmt.Sprint("held-", i), nil)))
	}
	idx.seal()
	for _, attached := range []bool{false, true} {
		var w writtenSet
		if attached {
			w.attach(idx)
		}
		held, fresh := idx.key("widget", "held-3"), idx.key("widget", "new")
		pos, ok := idx.find(held)
		require.True(t, ok)
		assert.False(t, w.has(pos, held))
		assert.True(t, w.send(held, 7))
		assert.False(t, w.send(held, 7), "the very same entity again")
		assert.True(t, w.send(held, 8), "another version of it")
		w.mark(held)
		assert.False(t, w.send(held, 8), "mark does not forget what was sent")
		assert.True(t, w.has(pos, held))
		assert.True(t, w.has(-1, held))
		w.mark(fresh)
		assert.True(t, w.has(-1, fresh))
		assert.True(t, w.send(fresh, seenUnsent), "a hash equal to the marker is still sent")
		assert.False(t, w.send(fresh, seenUnsent))
		assert.Equal(t, 2, w.len())
	}
}

// BenchmarkResyncMemoryPerEntity measures what a resync keeps per entity:
// "first" for a first resync (Port holds nothing; what it wrote), "second"
// for an unchanged second resync (the index of what Port held, identifiers
// included, and what it wrote). The regression guard of issue 22's
// per-entity target (a few dozen bytes; under 150): compare bytes/entity
// across changes.
func BenchmarkResyncMemoryPerEntity(b *testing.B) {
	pac, err := mapping.Parse([]byte(catalogMapping))
	require.NoError(b, err)
	const n = 200_000
	ents := make([]port.Entity, n)
	for i := range ents {
		ents[i] = *catalogEntity(fmt.Sprintf("group/subgroup/project-%07d", i), nil)
		// One entity in ten is a relation target, held by Port.
		ents[i].Relations["owner"] = fmt.Sprintf("group/subgroup/project-%07d", i/10*10)
	}
	for _, second := range []bool{false, true} {
		name := "first"
		if second {
			name = "second"
		}
		b.Run(name, func(b *testing.B) {
			var perEntity float64
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				r := &resyncRun{signer: newSigner(), relTargets: map[uint64]struct{}{}}
				// A first resync finds the catalog empty.
				c := newCatalogIndex(r.signer, true, pac)
				if second {
					for i := range ents {
						require.NoError(b, c.add(&ents[i]))
					}
				}
				c.seal()
				r.written.attach(c)
				r.existing = c
				for i := range ents {
					r.sendOnce(&ents[i])
					r.markRelationTargets(ents[i].Relations)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perEntity = float64(after.HeapAlloc-before.HeapAlloc) / n
				runtime.KeepAlive(r)
			}
			b.ReportMetric(perEntity, "bytes/entity")
		})
	}
}
