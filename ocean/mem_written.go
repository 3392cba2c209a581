package ocean

import "hash/maphash"

// writtenSet is what a resync produced, for stale deletion and for writing
// a repeated entity once: per entity, the hash of what was sent for it, or
// seenUnsent. Entities Port held (found in the sealed catalog index) take
// one word at their index position; the others, and those whose key the
// index holds more than once, a map slot by key digest. In an unchanged
// second resync nearly every entity is in the index, so the set costs 8
// bytes per entity instead of a map's 20 to 40.
//
// A writtenSet is not safe for concurrent use: the resync holds its mu.
type writtenSet struct {
	// idFn replaces idDigest in tests (see digests).
	idFn func(seed maphash.Seed, id string) uint64
	// idx is the catalog index the positions refer to, nil without one.
	idx *catalogIndex
	// held has one word per index entry.
	held  []uint64
	other map[uint64]uint64
	// count is the number of distinct keys in the set.
	count int
}

// seenUnsent marks an entity produced but not sent (misconfigured: its
// identifier is known, its entity was not written). A hash equal to it is
// stored as seenUnsent-1, so that a sent entity is never taken for an
// unsent one.
const seenUnsent = ^uint64(0)

// digests returns the resync's digest functions.
func (r *resyncRun) digests() digests {
	return digests{seed: r.signer.seed, idFn: r.written.idFn}
}

// attach makes the set keep, at their index positions, the entities of a
// sealed index. It must be called before anything is added.
func (w *writtenSet) attach(idx *catalogIndex) {
	w.idx = idx
	w.held = make([]uint64, idx.len())
}

// slot returns where the set keeps key: a word of held, or nil for the map.
func (w *writtenSet) slot(key uint64) *uint64 {
	if w.idx == nil {
		return nil
	}
	pos, ok := w.idx.find(key)
	if !ok {
		return nil
	}
	return &w.held[pos]
}

// get returns what the set holds for key: 0 when the resync did not
// produce it.
func (w *writtenSet) get(key uint64) uint64 {
	if p := w.slot(key); p != nil {
		return *p
	}
	return w.other[key]
}

// set stores v (not 0) for key.
func (w *writtenSet) set(key, v uint64) {
	if p := w.slot(key); p != nil {
		if *p == 0 {
			w.count++
		}
		*p = v
		return
	}
	if w.other == nil {
		w.other = map[uint64]uint64{}
	}
	if _, ok := w.other[key]; !ok {
		w.count++
	}
	w.other[key] = v
}

// mark records an entity produced but not sent, unless it was sent.
func (w *writtenSet) mark(key uint64) {
	if w.get(key) == 0 {
		w.set(key, seenUnsent)
	}
}

// send records an entity about to be sent, with the hash of what is sent,
// and reports whether it must be: false when the very same was sent
// already.
func (w *writtenSet) send(key, hash uint64) bool {
	if hash == seenUnsent {
		hash--
	}
	// get and set in one search of the index and two map operations:
	// this runs for every entity a resync produces.
	if p := w.slot(key); p != nil {
		if *p == hash {
			return false
		}
		if *p == 0 {
			w.count++
		}
		*p = hash
		return true
	}
	old, ok := w.other[key]
	if old == hash {
		return false
	}
	if w.other == nil {
		w.other = map[uint64]uint64{}
	}
	if !ok {
		w.count++
	}
	w.other[key] = hash
	return true
}

// has reports whether the resync produced the entity under key; pos is
// its index position, or -1 when it comes from elsewhere. Under a key the
// index holds more than once, every entity is taken as produced when one
// is: the one written cannot be told from the other, and keeping both is
// the safe side.
func (w *writtenSet) has(pos int, key uint64) bool {
	if pos >= 0 && w.idx != nil && pos < w.idx.len() {
		if w.held[pos] != 0 {
			return true
		}
	} else if p := w.slot(key); p != nil {
		return *p != 0
	}
	_, ok := w.other[key]
	return ok
}

// len returns the number of distinct entities produced.
func (w *writtenSet) len() int { return w.count }
