package ocean

import (
	"fmt"
	"runtime"
	"testing"

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
			c.add(tt.stored)
			assert.Equal(t, tt.want, c.unchanged(tt.ours))
		})
	}
}

func TestCatalogIndexEachNamesEveryEntity(t *testing.T) {
	t.Parallel()
	c := newCatalogIndex(newSigner(), true, nil)
	want := map[string]bool{}
	for i := range 300 {
		e := catalogEntity(fmt.Sprintf("w-%d-%s", i, string(make([]byte, i%200))), nil)
		if i%3 == 0 {
			e.Blueprint = "other"
		}
		c.add(e)
		want[e.Blueprint+"/"+e.ID()] = true
	}
	got := map[string]bool{}
	c.each(func(key uint64, bp, id string) {
		assert.Equal(t, keyDigest(c.signer.seed, bp, id), key)
		got[bp+"/"+id] = true
	})
	assert.Equal(t, want, got)
}

// BenchmarkResyncMemoryPerEntity measures what a resync keeps per entity of
// a catalog it fully rewrites: the index of what Port held, and what it
// wrote. The regression guard of issue 22's per-entity target (a few dozen
// bytes; under 150): compare bytes/entity across changes.
func BenchmarkResyncMemoryPerEntity(b *testing.B) {
	pac, err := mapping.Parse([]byte(catalogMapping))
	require.NoError(b, err)
	const n = 200_000
	ents := make([]port.Entity, n)
	for i := range ents {
		ents[i] = *catalogEntity(fmt.Sprintf("group/subgroup/project-%07d", i), nil)
	}
	var perEntity float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := newSigner()
		c := newCatalogIndex(s, true, pac)
		seen := map[uint64]uint64{}
		for i := range ents {
			c.add(&ents[i])
			seen[keyDigest(s.seed, ents[i].Blueprint, ents[i].ID())] = s.entityHash(&ents[i])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perEntity = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(c)
		runtime.KeepAlive(seen)
	}
	b.ReportMetric(perEntity, "bytes/entity")
}
