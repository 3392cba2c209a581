package porttest

import (
	"encoding/json"
	"slices"

	"github.com/oceankit/oceankit/internal/jsonenc"
	"github.com/oceankit/oceankit/port"
)

// WithCompactEntities stores each entity's properties and relations as
// their compact JSON encoding with a 64-bit digest, instead of as maps:
// about a fifth of the memory, for catalogs of a million entities. Reads
// decode the stored JSON, so every answer is the same as without it (the
// numbers and strings of a property are what JSON round-trips); reading
// is slower. Server.Entity and Server.Entities still return whole
// entities; Server.Digest returns the digest.
func WithCompactEntities() Option { return func(c *config) { c.compact = true } }

// packedBody is how a compact entity keeps its maps.
type packedBody struct {
	P map[string]any `json:"p"`
	R map[string]any `json:"r"`
}

// pack replaces e's maps by their encoding. Relations stay normalised
// (string or []string) when unpacked.
//
// The encoding is exactly json.Marshal(packedBody{props, rels}),
// {"p":<props>,"r":<rels>}, built from the two maps' encodings so that
// propsLen can say where one ends: a read renders them from these bytes
// without decoding them (packedEntity). scratch is a buffer to encode in,
// reused by the caller (the catalog, under its write lock).
func (e *entity) pack(scratch *[]byte) {
	const head, mid = `{"p":`, `,"r":`
	b := append((*scratch)[:0], head...)
	b, okP := jsonenc.AppendValue(b, e.props, true, nil)
	propsLen := len(b) - len(head)
	b = append(b, mid...)
	b, okR := jsonenc.AppendValue(b, e.rels, true, nil)
	b = append(b, '}')
	*scratch = b
	if !okP || !okR {
		// A value jsonenc does not take (one a test stored through
		// the Go API): json.Marshal decides, as it always did.
		pb, err := json.Marshal(e.props)
		if err != nil {
			return // every stored value came from JSON; keep the maps
		}
		rb, err := json.Marshal(e.rels)
		if err != nil {
			return
		}
		b = append(append(append(append(append(b[:0], head...), pb...), mid...), rb...), '}')
		*scratch, propsLen = b, len(pb)
	}
	e.packed, e.propsLen, e.props, e.rels = slices.Clone(b), uint32(propsLen), nil, nil
	// Every write of a compact entity packs it, title, icon and team
	// included, so its content digest is computed here once rather than on
	// every Each over a million entities.
	e.digest = 0
	e.digest = e.contentDigest()
}

// packedParts returns the encodings of a packed entity's properties and
// relations, as unpack would re-encode them (null becomes {}).
func (e *entity) packedParts() (props, rels json.RawMessage) {
	const head, mid = len(`{"p":`), len(`,"r":`)
	props = e.packed[head : head+int(e.propsLen)]
	rels = e.packed[head+int(e.propsLen)+mid : len(e.packed)-1]
	if string(props) == "null" {
		props = json.RawMessage("{}")
	}
	if string(rels) == "null" {
		rels = json.RawMessage("{}")
	}
	return props, rels
}

// packedEntity renders a packed entity as toPort's port.Entity encodes,
// with its properties and relations copied from the stored bytes instead
// of decoded and encoded again: a datasource read of a million entities
// costs the fake little. (The two fields come last; JSON objects are
// unordered.)
type packedEntity struct {
	port.Entity
	Properties json.RawMessage `json:"properties"`
	Relations  json.RawMessage `json:"relations"`
}

// renderPacked is render for a packed entity without include or exclude.
func renderPacked(e *entity) packedEntity {
	props, rels := e.packedParts()
	return packedEntity{Entity: port.Entity{
		Identifier: e.id, Blueprint: e.bp.id, Title: e.title, Icon: e.icon, Team: e.team,
		CreatedAt: e.createdAt, UpdatedAt: e.updatedAt, CreatedBy: "porttest", UpdatedBy: "porttest", Datasource: e.datasource,
	}, Properties: props, Relations: rels}
}

// unpack decodes a compact entity's maps; for a plain entity it returns them.
func (e *entity) unpack() (props, rels map[string]any) {
	if e.packed == nil {
		return e.props, e.rels
	}
	var pb packedBody
	if err := json.Unmarshal(e.packed, &pb); err != nil {
		return map[string]any{}, map[string]any{}
	}
	if pb.P == nil {
		pb.P = map[string]any{}
	}
	if pb.R == nil {
		pb.R = map[string]any{}
	}
	for k, v := range pb.R {
		if list, ok := v.([]any); ok {
			ids := make([]string, 0, len(list))
			for _, x := range list {
				if s, ok := x.(string); ok {
					ids = append(ids, s)
				}
			}
			pb.R[k] = ids
		}
	}
	return pb.P, pb.R
}

func (e *entity) properties() map[string]any {
	p, _ := e.unpack()
	return p
}

func (e *entity) relations() map[string]any {
	_, r := e.unpack()
	return r
}

// contentDigest is a digest of what the entity says (title, icon, team,
// properties, relations): equal digests, equal content.
func (e *entity) contentDigest() uint64 {
	body := e.packed
	if body == nil {
		body, _ = json.Marshal(packedBody{e.props, e.rels})
	} else if e.digest != 0 {
		return e.digest
	}
	var stack [256]byte
	extra, ok := jsonenc.AppendValue(stack[:0], []any{e.title, e.icon, e.team}, true, nil)
	if !ok {
		extra, _ = json.Marshal([]any{e.title, e.icon, e.team})
	}
	return fnv64a(fnv64a(fnvOffset64, body), extra)
}

// FNV-64a (hash/fnv's New64a), inline: through hash.Hash64 the digest's
// scratch buffer escaped to the heap for every entity packed.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnv64a(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}

// Digest returns a digest of an entity's content (title, icon, team,
// properties and relations; not its timestamps): two digests are equal
// when the entity did not change in between.
func (s *Server) Digest(blueprint, identifier string) (uint64, bool) {
	s.catalog.mu.RLock()
	defer s.catalog.mu.RUnlock()
	bp := s.catalog.blueprints[blueprint]
	if bp == nil || bp.entities[identifier] == nil {
		return 0, false
	}
	return bp.entities[identifier].contentDigest(), true
}

// EntitySummary is what Each reports of an entity, without its maps.
type EntitySummary struct {
	Blueprint, Identifier, Datasource string
	// Digest is Server.Digest of the entity.
	Digest uint64
}

// Each calls fn for every entity, in creation order, without decoding a
// compact entity's maps (fn must not call the Server).
func (s *Server) Each(fn func(EntitySummary)) {
	s.catalog.mu.RLock()
	defer s.catalog.mu.RUnlock()
	for _, e := range s.catalog.all {
		if !e.deleted {
			fn(EntitySummary{Blueprint: e.bp.id, Identifier: e.id, Datasource: e.datasource, Digest: e.contentDigest()})
		}
	}
}
