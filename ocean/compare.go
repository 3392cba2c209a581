package ocean

import (
	"encoding/json"
	"hash/maphash"
	"math"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/oceankit/oceankit/port"
)

// This file decides whether an entity Port already holds equals the one a
// resync is about to write, cheaply enough to check every entity: Port's
// state is read once per resync (the datasource listing) and kept as a
// digest per entity (see catalogIndex) built from signatures — one
// (field, value hash) pair per non-null field — rather than the entities
// themselves.
//
// The comparison follows what an upsert would do, so that it never skips a
// real change:
//   - with merge (enableMergeEntity, the default), only the fields the
//     mapping writes are compared: a property Port holds that the mapping
//     does not write stays as it is either way;
//   - without merge, the upsert replaces the entity, so a property Port has
//     and we do not send is a change;
//   - null and absent are the same (Port drops null properties);
//   - team lists compare in any order; other lists in order;
//   - numbers compare by value (1 and 1.0 are equal);
//   - an entity with a search-query identifier, team or relation cannot be
//     compared and is always written.

// fieldSig is one field of an entity: its interned name and value hash.
type fieldSig struct {
	id uint32
	h  uint64
}

// entitySig is an entity's non-null fields, sorted by id.
type entitySig []fieldSig

// signer turns entities into signatures. It interns field names so that a
// signature costs 16 bytes per field whatever the names.
type signer struct {
	seed  maphash.Seed
	mu    sync.RWMutex
	names map[string]uint32
}

func newSigner() *signer {
	return &signer{seed: maphash.MakeSeed(), names: map[string]uint32{}}
}

func (s *signer) fieldID(name string) uint32 {
	s.mu.RLock()
	id, ok := s.names[name]
	s.mu.RUnlock()
	if ok {
		return id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.names[name]; ok {
		return id
	}
	id = uint32(len(s.names) + 1)
	s.names[name] = id
	return id
}

// nullHash marks, in the signature of an entity about to be written, a
// property or relation sent as null: the upsert clears it, so Port must not
// hold a value for it. Stored signatures never contain it.
const nullHash = 0

// sign returns an entity's signature; ok is false when the entity holds a
// search query, which only Port can resolve. withNulls keeps null
// properties and relations (as nullHash), for an entity about to be sent.
func (s *signer) sign(e *port.Entity, withNulls bool) (entitySig, bool) {
	if _, ok := e.Identifier.(string); !ok {
		return nil, false
	}
	sig := make(entitySig, 0, 2+len(e.Properties)+len(e.Relations))
	var h maphash.Hash
	h.SetSeed(s.seed)
	add := func(name string, v any, unordered bool) bool {
		if v == nil {
			if withNulls {
				sig = append(sig, fieldSig{id: s.fieldID(name), h: nullHash})
			}
			return true
		}
		if isSearchQuery(v) {
			return false
		}
		h.Reset()
		if unordered {
			v = sortedStrings(v)
		}
		hashValue(&h, v)
		sum := h.Sum64()
		if sum == nullHash {
			sum = 1 // keep the marker unambiguous
		}
		sig = append(sig, fieldSig{id: s.fieldID(name), h: sum})
		return true
	}
	if e.Title != "" {
		add("title", e.Title, false)
	}
	if e.Icon != "" {
		add("icon", e.Icon, false)
	}
	if e.Team != nil && !add("team", e.Team, true) {
		return nil, false
	}
	for k, v := range e.Properties {
		add("properties."+k, v, false)
	}
	for k, v := range e.Relations {
		if !add("relations."+k, v, false) {
			return nil, false
		}
	}
	sort.Slice(sig, func(i, j int) bool { return sig[i].id < sig[j].id })
	return sig, true
}

func isSearchQuery(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		_, c := t["combinator"]
		_, r := t["rules"]
		return c && r
	case port.Query, *port.Query:
		return true
	case []any:
		for _, e := range t {
			if isSearchQuery(e) {
				return true
			}
		}
	}
	return false
}

func sortedStrings(v any) any {
	switch t := v.(type) {
	case []any:
		out := slices.Clone(t)
		sort.SliceStable(out, func(i, j int) bool {
			a, aok := out[i].(string)
			b, bok := out[j].(string)
			return aok && bok && a < b
		})
		return out
	case []string:
		out := slices.Clone(t)
		slices.Sort(out)
		return out
	}
	return v
}

// hashValue writes a canonical form of a JSON value: numbers by value,
// object keys sorted.
func hashValue(h *maphash.Hash, v any) {
	var buf [32]byte
	num := func(f float64) {
		_ = h.WriteByte('n')
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			_, _ = h.Write(strconv.AppendInt(buf[:0], int64(f), 10))
			return
		}
		_, _ = h.Write(strconv.AppendFloat(buf[:0], f, 'g', -1, 64))
	}
	switch t := v.(type) {
	case nil:
		_ = h.WriteByte('z')
	case bool:
		if t {
			_ = h.WriteByte('t')
		} else {
			_ = h.WriteByte('f')
		}
	case string:
		_ = h.WriteByte('s')
		_, _ = h.Write(strconv.AppendInt(buf[:0], int64(len(t)), 10))
		_ = h.WriteByte(':')
		_, _ = h.WriteString(t)
	case float64:
		num(t)
	case float32:
		num(float64(t))
	case int:
		num(float64(t))
	case int64:
		num(float64(t))
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			_, _ = h.WriteString("N" + t.String())
			return
		}
		num(f)
	case *big.Int:
		f, _ := new(big.Float).SetInt(t).Float64()
		num(f)
	case []any:
		_ = h.WriteByte('[')
		for _, e := range t {
			hashValue(h, e)
			_ = h.WriteByte(',')
		}
		_ = h.WriteByte(']')
	case []string:
		_ = h.WriteByte('[')
		for _, e := range t {
			hashValue(h, e)
			_ = h.WriteByte(',')
		}
		_ = h.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		_ = h.WriteByte('{')
		for _, k := range keys {
			hashValue(h, k)
			hashValue(h, t[k])
			_ = h.WriteByte(',')
		}
		_ = h.WriteByte('}')
	default:
		// Anything else (a struct from a custom kind) hashes through JSON.
		b, err := json.Marshal(t)
		if err != nil {
			_, _ = h.WriteString("?")
			return
		}
		var back any
		if json.Unmarshal(b, &back) != nil {
			_, _ = h.Write(b)
			return
		}
		hashValue(h, back)
	}
}

// entityHash hashes everything an upsert of e sends; it never returns 0,
// which stands for "not sent".
func (s *signer) entityHash(e *port.Entity) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	hashValue(&h, e.Title)
	hashValue(&h, e.Icon)
	hashValue(&h, e.Team)
	hashValue(&h, e.Properties)
	hashValue(&h, e.Relations)
	hashValue(&h, e.Identifier)
	if sum := h.Sum64(); sum != 0 {
		return sum
	}
	return 1
}
