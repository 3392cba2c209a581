package ocean

import (
	"cmp"
	"errors"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/port"
)

// A resync remembers, per entity, what Port held when it started (to skip
// unchanged writes and find stale entities), what it wrote (stale
// deletion, writing a repeated entity once) and the relation targets it
// pointed at. At a million entities that memory is the sync's footprint,
// so each is a digest, and no identifier is kept: a stale entity is named
// by reading the catalog again, identifiers only, when there is one to
// delete (see staleIdentifiers).
//
// What Port held is a sorted array of 24-byte entries (gathered in
// fixed-size chunks while the catalog streams in, so no append doubling;
// copied once into an array of the exact size), searched through a
// directory of the keys' top bits: 24 MB at a million entities, no map
// slack. What the resync wrote (writtenSet) is kept, for entities Port
// held, as one word per entry of that array; only new entities take a map
// slot. Relation targets are kept only when the index holds them.
//
// Every way a digest can mislead is safe:
//   - a key digest never differs for the same blueprint and identifier, so
//     what the resync wrote is always found written: never deleted;
//   - two keys colliding (about one chance in 10^7 at a million entities,
//     with a new seed each resync) make an entity look written: it is
//     kept until the next resync, never deleted wrongly;
//   - a write is skipped as unchanged only when the key and a content
//     digest that includes a second, independent hash of the identifier
//     both match: 128 bits, so a collision cannot skip a write;
//   - two entities Port holds under one key are found when the index is
//     sealed: that key is never taken as unchanged, and what the resync
//     writes under it marks both as written.

// digests computes a resync's digests from its seed.
type digests struct {
	seed maphash.Seed
	// idFn replaces idDigest in tests, to make identifiers collide.
	idFn func(seed maphash.Seed, id string) uint64
}

// idDigest hashes an identifier alone (relation targets name no
// blueprint).
func idDigest(seed maphash.Seed, id string) uint64 {
	return maphash.String(seed, id)
}

// id digests an identifier.
func (d digests) id(id string) uint64 {
	if d.idFn != nil {
		return d.idFn(d.seed, id)
	}
	return idDigest(d.seed, id)
}

// blueprint digests a blueprint so that it can be combined with an
// identifier's digest: a different function than id's (a blueprint and an
// identifier of the same text must not cancel out).
func (d digests) blueprint(bp string) uint64 {
	x := maphash.String(d.seed, bp)
	// splitmix64's finalizer: a bijection, so distinct blueprint hashes
	// stay distinct.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// key digests an entity's blueprint and identifier. It is the identifier's
// digest XOR the blueprint's, so that the identifier's digest (what
// relation targets are kept by) can be recovered from the key.
func (d digests) key(bp, id string) uint64 {
	return d.id(id) ^ d.blueprint(bp)
}

// indexEntry is what the index keeps of one entity Port held.
type indexEntry struct {
	key uint64 // digests.key of its blueprint and identifier
	// content is the sum of mixField over the compared fields and of
	// idCheck: an entity is unchanged only if its key and its content
	// match.
	content uint64
	fields  uint16 // non-null fields Port held, all of them; neverEqual for none
	bp      uint16 // index in catalogIndex.blueprints
}

// neverEqual in indexEntry.fields marks an entity never taken as unchanged:
// it holds a search query, or shares its key with another entry.
const neverEqual = 1<<16 - 1

// entryChunkBits sizes the chunks the index gathers entries in: 4,096
// entries, 96 KiB.
const entryChunkBits = 12

// catalogIndex is the catalog Port held for this integration when a
// resync started. It is filled by add, then sealed, then only read.
type catalogIndex struct {
	signer *signer
	d      digests
	// check is the seed of the second identifier hash in content.
	check maphash.Seed
	merge bool
	// compared lists, per blueprint, the fields an upsert with merge
	// compares: those the mapping writes to it. A blueprint not in it
	// (computed per item) compares all fields, which may cost a write
	// but never skips a change.
	compared   map[string]map[uint32]bool
	blueprints []string
	bpIndex    map[string]uint16
	// bpKeys holds digests.blueprint of each of blueprints.
	bpKeys []uint64
	// chunks gathers the entries until seal; entries holds them after,
	// sorted by key.
	chunks  [][]indexEntry
	entries []indexEntry
	n       int
	// dir[p] is the first entry whose key's top dirBits bits are p or
	// more; set by seal.
	dir     []uint32
	dirBits uint
	// idBits has a bit set for each identifier digest the index holds
	// (its low bits; 8 to 16 bits per entry): most identifiers it does
	// not hold are told by one read, without a search per blueprint.
	idBits []uint64
	sealed bool
}

// newCatalogIndex prepares an index for a mapping; merge is the port app
// config's enableMergeEntity.
func newCatalogIndex(s *signer, merge bool, pac *mapping.Config) *catalogIndex {
	c := &catalogIndex{signer: s, d: digests{seed: s.seed}, check: maphash.MakeSeed(), merge: merge,
		compared: map[string]map[uint32]bool{}, bpIndex: map[string]uint16{}}
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

// errIndexFull is returned by add past 65,535 blueprints or 2^32
// entities; the resync then writes everything and reads the catalog again
// to find stale entities.
var errIndexFull = errors.New("ocean: the catalog is too large to index")

// key digests an entity's blueprint and identifier.
func (c *catalogIndex) key(blueprint, id string) uint64 {
	return c.d.key(blueprint, id)
}

// idCheck is the identifier's part of an entity's content digest: a hash
// independent of the key's.
func (c *catalogIndex) idCheck(id string) uint64 {
	return mixField(fieldSig{h: maphash.String(c.check, id)})
}

// add records one entity Port holds; e is not retained.
func (c *catalogIndex) add(e *port.Entity) error {
	if c.sealed {
		return errors.New("ocean: catalog index: add after seal")
	}
	id := e.ID()
	if id == "" {
		return nil
	}
	if c.n == math.MaxUint32 { // dir holds positions as uint32
		return errIndexFull
	}
	bp, ok := c.bpIndex[e.Blueprint]
	if !ok {
		if len(c.blueprints) >= neverEqual {
			return errIndexFull
		}
		bp = uint16(len(c.blueprints))
		c.blueprints = append(c.blueprints, e.Blueprint)
		c.bpKeys = append(c.bpKeys, c.d.blueprint(e.Blueprint))
		c.bpIndex[e.Blueprint] = bp
	}
	entry := indexEntry{key: c.d.id(id) ^ c.bpKeys[bp], bp: bp}
	if sig, ok := c.signer.sign(e, false); ok {
		entry.content, _ = c.content(e.Blueprint, sig)
		entry.content += c.idCheck(id)
		entry.fields = uint16(min(len(sig), neverEqual-1))
	} else {
		entry.fields = neverEqual // holds a search query
	}
	i := c.n & (1<<entryChunkBits - 1)
	if i == 0 {
		c.chunks = append(c.chunks, make([]indexEntry, 1<<entryChunkBits))
	}
	c.chunks[len(c.chunks)-1][i] = entry
	c.n++
	return nil
}

// at returns entry i of the sealed index.
func (c *catalogIndex) at(i int) *indexEntry {
	return &c.entries[i]
}

// len returns the number of entries.
func (c *catalogIndex) len() int { return c.n }

// seal sorts the index by key, marks the keys held by more than one entry
// (never unchanged, see find) and builds the directory. The index is
// read-only afterwards.
func (c *catalogIndex) seal() {
	if c.sealed {
		return
	}
	c.sealed = true
	c.entries = make([]indexEntry, 0, c.n)
	for i, ch := range c.chunks {
		c.entries = append(c.entries, ch[:min(len(ch), c.n-len(c.entries))]...)
		c.chunks[i] = nil // garbage as soon as it is copied
	}
	c.chunks = nil
	slices.SortFunc(c.entries, func(a, b indexEntry) int { return cmp.Compare(a.key, b.key) })
	for i := 1; i < c.n; i++ {
		if a, b := &c.entries[i-1], &c.entries[i]; a.key == b.key {
			a.fields, b.fields = neverEqual, neverEqual
		}
	}
	// About 16 entries per directory slot: a lookup is one directory read
	// and a binary search of 4 steps.
	c.dirBits = uint(max(bits.Len(uint(c.n))-4, 0))
	c.dir = make([]uint32, 1<<c.dirBits+1)
	p := 0
	for i := range c.entries {
		top := c.bucket(c.entries[i].key)
		for p <= top {
			c.dir[p] = uint32(i)
			p++
		}
	}
	for ; p < len(c.dir); p++ {
		c.dir[p] = uint32(c.n)
	}
	c.idBits = make([]uint64, max(1, 1<<bits.Len(uint(c.n))/8))
	for i := range c.entries {
		e := &c.entries[i]
		c.setIDBit(e.key ^ c.bpKeys[e.bp])
	}
}

// setIDBit sets idHash's bit in idBits.
func (c *catalogIndex) setIDBit(idHash uint64) {
	b := idHash & uint64(len(c.idBits)*64-1)
	c.idBits[b/64] |= 1 << (b % 64)
}

// mayHoldID reports whether idHash's bit in idBits is set.
func (c *catalogIndex) mayHoldID(idHash uint64) bool {
	b := idHash & uint64(len(c.idBits)*64-1)
	return c.idBits[b/64]&(1<<(b%64)) != 0
}

// bucket returns key's slot in the directory: its top dirBits bits.
func (c *catalogIndex) bucket(key uint64) int {
	if c.dirBits == 0 {
		return 0
	}
	return int(key >> (64 - c.dirBits))
}

// find returns the position of the one entry under key. ok is false when
// no entry or several (a collision, or Port listing an entity twice) are
// under it; the index must be sealed.
func (c *catalogIndex) find(key uint64) (pos int, ok bool) {
	i, ok := c.first(key)
	if !ok || i+1 < c.n && c.entries[i+1].key == key {
		return 0, false
	}
	return i, true
}

// first returns the position of the first entry under key, if any.
func (c *catalogIndex) first(key uint64) (int, bool) {
	if !c.sealed || c.n == 0 {
		return 0, false
	}
	top := c.bucket(key)
	lo, hi := int(c.dir[top]), int(c.dir[top+1])
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if c.entries[mid].key < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < c.n && c.entries[lo].key == key
}

// holdsID reports whether an entry of any blueprint may hold the
// identifier digest idHash (a key collision answers yes: the safe side
// for relation targets).
func (c *catalogIndex) holdsID(idHash uint64) bool {
	if !c.sealed || c.n == 0 || !c.mayHoldID(idHash) {
		return false
	}
	for _, bk := range c.bpKeys {
		if c.holds(idHash ^ bk) {
			return true
		}
	}
	return false
}

// holds reports whether some entry is under key.
func (c *catalogIndex) holds(key uint64) bool {
	_, ok := c.first(key)
	return ok
}

// unchanged reports whether Port already holds e as an upsert would leave
// it.
func (c *catalogIndex) unchanged(e *port.Entity) bool {
	id := e.ID()
	if id == "" {
		return false
	}
	pos, ok := c.find(c.key(e.Blueprint, id))
	if !ok {
		return false
	}
	stored := c.at(pos)
	if stored.fields == neverEqual || c.blueprints[stored.bp] != e.Blueprint {
		return false
	}
	sig, ok := c.signer.sign(e, true)
	if !ok {
		return false
	}
	sum, nonNull := c.content(e.Blueprint, sig)
	if sum+c.idCheck(id) != stored.content {
		return false
	}
	// Without merge the upsert replaces the entity: anything else Port
	// holds would go.
	return c.merge || nonNull == int(stored.fields)
}

// each calls fn for every entry of the index, with its position, key
// digest, blueprint and identifier digest. The index must be sealed.
func (c *catalogIndex) each(fn func(pos int, key uint64, blueprint string, idHash uint64)) {
	for i := range c.entries {
		e := &c.entries[i]
		fn(i, e.key, c.blueprints[e.bp], e.key^c.bpKeys[e.bp])
	}
}
