package porttest

import (
	"encoding/json"
	"hash/fnv"
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
func (e *entity) pack() {
	b, err := json.Marshal(packedBody{e.props, e.rels})
	if err != nil {
		return // every stored value came from JSON; keep the maps
	}
	h := fnv.New64a()
	_, _ = h.Write(b)
	e.packed, e.digest, e.props, e.rels = b, h.Sum64(), nil, nil
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
	}
	h := fnv.New64a()
	_, _ = h.Write(body)
	extra, _ := json.Marshal([]any{e.title, e.icon, e.team})
	_, _ = h.Write(extra)
	return h.Sum64()
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
