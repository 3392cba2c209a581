package ocean

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"maps"
	"math"
	"math/big"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

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
	seed maphash.Seed
	// names is read without a lock on every field of every entity; a new
	// name (rare: a mapping has a few dozen) replaces the whole table
	// under mu.
	names atomic.Pointer[fieldNames]
	mu    sync.Mutex
}

// fieldNames is an immutable table of interned field names: properties
// and relations by their key alone, so that looking one up builds no
// "properties."+key string.
type fieldNames struct {
	top, props, rels map[string]uint32
	n                uint32
}

func newSigner() *signer {
	s := &signer{seed: maphash.MakeSeed()}
	s.names.Store(&fieldNames{top: map[string]uint32{}, props: map[string]uint32{}, rels: map[string]uint32{}})
	return s
}

// Kinds of field names in fieldNames.
const (
	fieldTop = iota
	fieldProperty
	fieldRelation
)

func (t *fieldNames) table(kind int) map[string]uint32 {
	switch kind {
	case fieldProperty:
		return t.props
	case fieldRelation:
		return t.rels
	}
	return t.top
}

// fieldID interns a field name: "title", "properties.<key>",
// "relations.<key>".
func (s *signer) fieldID(name string) uint32 {
	if k, ok := strings.CutPrefix(name, "properties."); ok {
		return s.fieldIDOf(fieldProperty, k)
	}
	if k, ok := strings.CutPrefix(name, "relations."); ok {
		return s.fieldIDOf(fieldRelation, k)
	}
	return s.fieldIDOf(fieldTop, name)
}

// fieldIDOf interns the field key of a kind.
func (s *signer) fieldIDOf(kind int, key string) uint32 {
	if id, ok := s.names.Load().table(kind)[key]; ok {
		return id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.names.Load()
	if id, ok := old.table(kind)[key]; ok {
		return id
	}
	t := &fieldNames{top: maps.Clone(old.top), props: maps.Clone(old.props), rels: maps.Clone(old.rels), n: old.n + 1}
	t.table(kind)[key] = t.n
	s.names.Store(t)
	return t.n
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
	var scratch [256]byte
	names := s.names.Load()
	put := func(kind int, name string, canonical []byte) {
		sum := maphash.Bytes(s.seed, canonical)
		if sum == nullHash {
			sum = 1 // keep the marker unambiguous
		}
		sig = append(sig, fieldSig{id: s.idIn(names, kind, name), h: sum})
	}
	add := func(kind int, name string, v any, unordered bool) bool {
		if v == nil {
			if withNulls {
				sig = append(sig, fieldSig{id: s.idIn(names, kind, name), h: nullHash})
			}
			return true
		}
		if isSearchQuery(v) {
			return false
		}
		if unordered {
			v = sortedStrings(v)
		}
		put(kind, name, appendCanonical(scratch[:0], v, 0))
		return true
	}
	if e.Title != "" {
		put(fieldTop, "title", appendCanonicalString(scratch[:0], e.Title))
	}
	if e.Icon != "" {
		put(fieldTop, "icon", appendCanonicalString(scratch[:0], e.Icon))
	}
	if e.Team != nil && !add(fieldTop, "team", e.Team, true) {
		return nil, false
	}
	for k, v := range e.Properties {
		add(fieldProperty, k, v, false)
	}
	for k, v := range e.Relations {
		if !add(fieldRelation, k, v, false) {
			return nil, false
		}
	}
	slices.SortFunc(sig, func(a, b fieldSig) int { return cmp.Compare(a.id, b.id) })
	return sig, true
}

// idIn interns a field key, looking in names (a table loaded once per
// entity) first.
func (s *signer) idIn(names *fieldNames, kind int, key string) uint32 {
	if id, ok := names.table(kind)[key]; ok {
		return id
	}
	return s.fieldIDOf(kind, key)
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
		if len(t) < 2 {
			return v
		}
		out := slices.Clone(t)
		if allStrings(out) {
			// A total order: the one sorted result sort.SliceStable
			// gives too, without its reflection.
			slices.SortFunc(out, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
			return out
		}
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

// maxCanonicalDepth is how deep appendCanonical nests before it gives
// up on a value (a map holding itself) and writes a marker that equals
// nothing Port can hold.
const maxCanonicalDepth = 10000

// appendCanonical appends a canonical form of a JSON value: numbers by
// value, object keys sorted, every value self-delimiting (strings by
// length, numbers in 8 bytes), so that two values have the same form only
// when they are the same JSON value.
func appendCanonical(dst []byte, v any, depth int) []byte {
	num := func(f float64) []byte {
		switch {
		case f == 0:
			f = 0 // -0 is 0
		case f != f:
			f = math.NaN() // one NaN
		}
		return binary.LittleEndian.AppendUint64(append(dst, 'n'), math.Float64bits(f))
	}
	if depth > maxCanonicalDepth {
		return append(dst, '?')
	}
	switch t := v.(type) {
	case nil:
		return append(dst, 'z')
	case bool:
		if t {
			return append(dst, 't')
		}
		return append(dst, 'f')
	case string:
		return appendCanonicalString(dst, t)
	case float64:
		return num(t)
	case float32:
		return num(float64(t))
	case int:
		return num(float64(t))
	case int64:
		return num(float64(t))
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return appendCanonicalString(append(dst, 'N'), t.String())
		}
		return num(f)
	case *big.Int:
		f, _ := new(big.Float).SetInt(t).Float64()
		return num(f)
	case []any:
		dst = append(dst, '[')
		for _, e := range t {
			dst = appendCanonical(dst, e, depth+1)
		}
		return append(dst, ']')
	case []string:
		dst = append(dst, '[')
		for _, e := range t {
			dst = appendCanonicalString(dst, e)
		}
		return append(dst, ']')
	case map[string]any:
		var stack [16]string
		keys := stack[:0]
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for _, k := range keys {
			dst = appendCanonicalString(dst, k)
			dst = appendCanonical(dst, t[k], depth+1)
		}
		return append(dst, '}')
	default:
		// Anything else (a struct from a custom kind) hashes through JSON.
		b, err := json.Marshal(t)
		if err != nil {
			return append(dst, '?')
		}
		var back any
		if json.Unmarshal(b, &back) != nil {
			return appendCanonicalString(append(dst, 'J'), string(b))
		}
		return appendCanonical(dst, back, depth+1)
	}
}

// allStrings reports whether every element of a list is a string.
func allStrings(list []any) bool {
	for _, e := range list {
		if _, ok := e.(string); !ok {
			return false
		}
	}
	return true
}

// hashValue writes the canonical form of a JSON value to h.
func hashValue(h *maphash.Hash, v any) {
	var scratch [256]byte
	_, _ = h.Write(appendCanonical(scratch[:0], v, 0))
}

// appendCanonicalString appends a string's canonical form: its length,
// then its bytes.
func appendCanonicalString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(append(dst, 's'), uint64(len(s)))
	return append(dst, s...)
}

// entityHash hashes everything an upsert of e sends; it never returns 0,
// which stands for "not sent".
func (s *signer) entityHash(e *port.Entity) uint64 {
	var scratch [1024]byte
	b := appendCanonicalString(scratch[:0], e.Title)
	b = appendCanonicalString(b, e.Icon)
	b = appendCanonical(b, e.Team, 0)
	b = appendCanonical(b, e.Properties, 0)
	b = appendCanonical(b, e.Relations, 0)
	b = appendCanonical(b, e.Identifier, 0)
	if sum := maphash.Bytes(s.seed, b); sum != 0 {
		return sum
	}
	return 1
}
