package ocean

import (
	"encoding/binary"
	"hash/maphash"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/port"
)

// A resync remembers, per entity, what Port held when it started (to skip
// unchanged writes and find stale entities), what it wrote (stale
// deletion, writing a repeated entity once) and the relation targets it
// pointed at. At a million entities that memory is the sync's footprint,
// so each is a digest: 64-bit hashes of the entity's key and content, and
// the identifier text only for what Port held (a stale one must be named
// to be deleted), in one arena.
//
// Every way a digest can mislead is safe: two keys colliding (about one
// chance in 10^7 at a million entities) keep an entity from deletion or
// cause one write more, never a write skipped or a wrong deletion.

// keyDigest hashes an entity's blueprint and identifier.
func keyDigest(seed maphash.Seed, blueprint, id string) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	_, _ = h.WriteString(blueprint)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(id)
	return h.Sum64()
}

// idDigest hashes an identifier alone (relation targets name no
// blueprint).
func idDigest(seed maphash.Seed, id string) uint64 {
	return maphash.String(seed, id)
}

// storedEntity is what the index keeps of one entity Port held.
type storedEntity struct {
	content uint64 // sum of mixField over the compared fields
	off     uint32 // the identifier's offset in the arena
	fields  uint16 // non-null fields Port held, all of them
	bp      uint16 // index in catalogIndex.blueprints
}

// catalogIndex is the catalog Port held for this integration when a
// resync started.
type catalogIndex struct {
	signer *signer
	merge  bool
	// compared lists, per blueprint, the fields an upsert with merge
	// compares: those the mapping writes to it. A blueprint not in it
	// (computed per item) compares all fields, which may cost a write
	// but never skips a change.
	compared   map[string]map[uint32]bool
	blueprints []string
	bpIndex    map[string]uint16
	arena      []byte
	entries    map[uint64]storedEntity
}

// newCatalogIndex prepares an index for a mapping; merge is the port app
// config's enableMergeEntity.
func newCatalogIndex(s *signer, merge bool, pac *mapping.Config) *catalogIndex {
	c := &catalogIndex{signer: s, merge: merge, compared: map[string]map[uint32]bool{},
		bpIndex: map[string]uint16{}, entries: map[uint64]storedEntity{}}
	if !merge || pac == nil {
		return c
	}
	for i := range pac.Resources {
		res := &pac.Resources[i]
		lits, ok := res.LiteralBlueprints()
		if !ok {
			continue
		}
		for mi, em := range res.Port.Entity.Mappings {
			set := c.compared[lits[mi]]
			if set == nil {
				set = map[uint32]bool{}
				c.compared[lits[mi]] = set
			}
			if em.Title != "" {
				set[s.fieldID("title")] = true
			}
			if em.Icon != "" {
				set[s.fieldID("icon")] = true
			}
			if em.Team != nil {
				set[s.fieldID("team")] = true
			}
			for k := range em.Properties {
				set[s.fieldID("properties."+k)] = true
			}
			for k := range em.Relations {
				set[s.fieldID("relations."+k)] = true
			}
		}
	}
	return c
}

// mixField spreads one field's (name, value hash) so that a sum of them
// stands for the set.
func mixField(f fieldSig) uint64 {
	x := f.h ^ (uint64(f.id) * 0x9e3779b97f4a7c15)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// content sums the compared fields of a signature, skipping the null
// markers of an entity about to be sent (a null field must be absent in
// Port, and absent fields add nothing), and counts the non-null ones.
func (c *catalogIndex) content(blueprint string, sig entitySig) (sum uint64, nonNull int) {
	set, restricted := c.compared[blueprint]
	restricted = restricted && c.merge
	for _, f := range sig {
		if f.h == nullHash {
			continue
		}
		nonNull++
		if restricted && !set[f.id] {
			continue
		}
		sum += mixField(f)
	}
	return sum, nonNull
}

// add records one entity Port holds.
func (c *catalogIndex) add(e *port.Entity) {
	id := e.ID()
	if id == "" {
		return
	}
	bp, ok := c.bpIndex[e.Blueprint]
	if !ok {
		bp = uint16(len(c.blueprints))
		c.blueprints = append(c.blueprints, e.Blueprint)
		c.bpIndex[e.Blueprint] = bp
	}
	entry := storedEntity{off: uint32(len(c.arena)), bp: bp}
	c.arena = binary.AppendUvarint(c.arena, uint64(len(id)))
	c.arena = append(c.arena, id...)
	if sig, ok := c.signer.sign(e, false); ok {
		entry.content, _ = c.content(e.Blueprint, sig)
		entry.fields = uint16(min(len(sig), 1<<16-1))
	} else {
		entry.fields = 1<<16 - 1 // holds a search query: never equal
	}
	c.entries[keyDigest(c.signer.seed, e.Blueprint, id)] = entry
}

// unchanged reports whether Port already holds e as an upsert would leave
// it.
func (c *catalogIndex) unchanged(e *port.Entity) bool {
	id := e.ID()
	if id == "" {
		return false
	}
	stored, ok := c.entries[keyDigest(c.signer.seed, e.Blueprint, id)]
	if !ok || stored.fields == 1<<16-1 {
		return false
	}
	sig, ok := c.signer.sign(e, true)
	if !ok {
		return false
	}
	sum, nonNull := c.content(e.Blueprint, sig)
	if sum != stored.content {
		return false
	}
	// Without merge the upsert replaces the entity: anything else Port
	// holds would go.
	return c.merge || nonNull == int(stored.fields)
}

// each calls fn for every entity of the index, with its key digest.
func (c *catalogIndex) each(fn func(key uint64, blueprint, id string)) {
	for key, e := range c.entries {
		n, w := binary.Uvarint(c.arena[e.off:])
		start := int(e.off) + w
		fn(key, c.blueprints[e.bp], string(c.arena[start:start+int(n)]))
	}
}
