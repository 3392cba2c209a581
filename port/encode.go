package port

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/oceankit/oceankit/internal/jsonenc"
)

// The upsert body of every entity a sync writes goes through appendWrite.
// encoding/json spends most of its time there on reflection and on
// boxing; the values a mapping produces are few types (jq's: nil, bool,
// float64, int, string, []any, map[string]any), which internal/jsonenc
// writes directly, byte for byte as encoding/json writes them with HTML
// escaping off. Any other value is handed to encoding/json, and an entity that
// fails to encode is encoded by encoding/json again so that its error is
// encoding/json's own.

// encodeWrite appends the upsert body of e (writeBody(e) as encoding/json
// encodes it with HTML escaping off) to dst.
func encodeWrite(dst []byte, e *Entity) ([]byte, error) {
	return encodeWriteOrdered(dst, e, nil)
}

// keyOrders holds the sorted keys of the properties and of the relations
// last encoded with it. encoding/json writes map keys sorted, and so
// does jsonenc, collecting, sorting and escaping them for every map: for
// the properties of an entity, a third of its encoding. The entities of
// a bulk upsert come from one mapping and have the same keys (a mapping
// writes every property, null or not), which are then sorted and
// escaped once per call; other keys are sorted anew.
type keyOrders struct {
	properties, relations keyOrder
}

// keyOrder is the sorted keys of a map, each with the bytes that open
// its member (`"key":`, after a comma for all but the first), which
// then are not escaped again for every entity.
type keyOrder struct {
	members []member
	heads   []byte
}

type member struct {
	key string
	end int // heads[end of the member before:end] opens the member
}

// encodeWriteOrdered is encodeWrite, with the keys of the properties and
// relations in the order ko holds when they are the same keys (ko may be
// nil).
func encodeWriteOrdered(dst []byte, e *Entity, ko *keyOrders) ([]byte, error) {
	start := len(dst)
	out, ok := appendWrite(dst, e, ko)
	if ok {
		return out, nil
	}
	// Let encoding/json produce the bytes, or its error.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(writeBody(*e)); err != nil {
		return out[:start], err
	}
	return append(out[:start], bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

// appendWrite appends the fields of entityWrite in their order, with
// their omitempty rules; ok is false when a value could not be encoded.
func appendWrite(dst []byte, e *Entity, ko *keyOrders) ([]byte, bool) {
	ok := true
	dst = append(dst, '{')
	first := true
	field := func(name string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
	}
	if e.Identifier != nil {
		field("identifier")
		dst, ok = jsonenc.AppendValue(dst, e.Identifier, false, appendFallback)
	}
	if e.Title != "" && ok {
		field("title")
		dst = jsonenc.AppendString(dst, e.Title, false)
	}
	if e.Icon != "" && ok {
		field("icon")
		dst = jsonenc.AppendString(dst, e.Icon, false)
	}
	if e.Team != nil && ok {
		field("team")
		dst, ok = jsonenc.AppendValue(dst, e.Team, false, appendFallback)
	}
	if len(e.Properties) > 0 && ok {
		field("properties")
		if ko != nil {
			dst, ok = appendObject(dst, e.Properties, &ko.properties)
		} else {
			dst, ok = jsonenc.AppendValue(dst, e.Properties, false, appendFallback)
		}
	}
	if len(e.Relations) > 0 && ok {
		field("relations")
		if ko != nil {
			dst, ok = appendObject(dst, e.Relations, &ko.relations)
		} else {
			dst, ok = jsonenc.AppendValue(dst, e.Relations, false, appendFallback)
		}
	}
	return append(dst, '}'), ok
}

// appendObject appends m as jsonenc.AppendValue does, its keys sorted:
// in the order of o when m has exactly its keys, else sorted anew into o
// for the next map. Its values are appended by AppendValue, a level less
// deep than inside m (the depth at which AppendValue hands a value to
// encoding/json, which writes the same bytes).
func appendObject(dst []byte, m map[string]any, o *keyOrder) ([]byte, bool) {
	if len(o.members) == len(m) {
		start := len(dst)
		out, ok, same := o.appendInOrder(dst, m)
		if same {
			return out, ok
		}
		dst = out[:start]
	}
	if cap(o.members) < len(m) {
		o.members = make([]member, 0, len(m))
	}
	o.members = o.members[:0]
	size := 0
	for k := range m {
		o.members = append(o.members, member{key: k})
		size += len(k) + len(`,"":`)
	}
	slices.SortFunc(o.members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	if cap(o.heads) < size {
		o.heads = make([]byte, 0, size)
	}
	o.heads = o.heads[:0]
	for i := range o.members {
		if i > 0 {
			o.heads = append(o.heads, ',')
		}
		o.heads = append(jsonenc.AppendString(o.heads, o.members[i].key, false), ':')
		o.members[i].end = len(o.heads)
	}
	out, ok, _ := o.appendInOrder(dst, m)
	return out, ok
}

// appendInOrder appends m with its keys in the order of o. same is false
// when one of o's keys is not in m; as o has as many (distinct) keys as
// m, they are m's keys otherwise. Encoding stops at the first value that
// fails (ok false), which fails the entity whatever the rest.
func (o *keyOrder) appendInOrder(dst []byte, m map[string]any) (out []byte, ok, same bool) {
	dst = append(dst, '{')
	start := 0
	for _, mb := range o.members {
		v, found := m[mb.key]
		if !found {
			return dst, false, false
		}
		dst = append(dst, o.heads[start:mb.end]...)
		start = mb.end
		if dst, ok = jsonenc.AppendValue(dst, v, false, appendFallback); !ok {
			return dst, false, true
		}
	}
	return append(dst, '}'), true, true
}

// appendFallback appends v with encoding/json.
func appendFallback(dst []byte, v any) ([]byte, bool) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, false
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), true
}

// errEncode wraps an entity's encoding error.
func errEncode(i int, err error) error {
	return fmt.Errorf("port: encode entity %d: %w", i, err)
}
