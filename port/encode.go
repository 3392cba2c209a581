package port

import (
	"bytes"
	"encoding/json"
	"fmt"

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
	start := len(dst)
	out, ok := appendWrite(dst, e)
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
func appendWrite(dst []byte, e *Entity) ([]byte, bool) {
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
		dst, ok = jsonenc.AppendValue(dst, e.Properties, false, appendFallback)
	}
	if len(e.Relations) > 0 && ok {
		field("relations")
		dst, ok = jsonenc.AppendValue(dst, e.Relations, false, appendFallback)
	}
	return append(dst, '}'), ok
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
