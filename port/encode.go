package port

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The upsert body of every entity a sync writes goes through appendWrite.
// encoding/json spends most of its time there on reflection and on
// boxing; the values a mapping produces are few types (jq's: nil, bool,
// float64, int, string, []any, map[string]any), which are written here
// directly, byte for byte as encoding/json writes them with HTML escaping
// off. Any other value is handed to encoding/json, and an entity that
// fails to encode is encoded by encoding/json again so that its error is
// encoding/json's own.

// maxAppendDepth is how deep appendValue nests before it hands a value to
// encoding/json, which detects cycles (a map holding itself) that would
// otherwise recurse without end.
const maxAppendDepth = 200

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
		dst, ok = appendValue(dst, e.Identifier, 0)
	}
	if e.Title != "" && ok {
		field("title")
		dst = appendString(dst, e.Title)
	}
	if e.Icon != "" && ok {
		field("icon")
		dst = appendString(dst, e.Icon)
	}
	if e.Team != nil && ok {
		field("team")
		dst, ok = appendValue(dst, e.Team, 0)
	}
	if len(e.Properties) > 0 && ok {
		field("properties")
		dst, ok = appendMap(dst, e.Properties, 0)
	}
	if len(e.Relations) > 0 && ok {
		field("relations")
		dst, ok = appendMap(dst, e.Relations, 0)
	}
	return append(dst, '}'), ok
}

// appendValue appends v as encoding/json encodes it.
func appendValue(dst []byte, v any, depth int) ([]byte, bool) {
	if depth > maxAppendDepth {
		return appendFallback(dst, v)
	}
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...), true
	case string:
		return appendString(dst, t), true
	case bool:
		return strconv.AppendBool(dst, t), true
	case float64:
		return appendFloat(dst, t, 64)
	case float32:
		return appendFloat(dst, float64(t), 32)
	case int:
		return strconv.AppendInt(dst, int64(t), 10), true
	case int64:
		return strconv.AppendInt(dst, t, 10), true
	case int32:
		return strconv.AppendInt(dst, int64(t), 10), true
	case uint64:
		return strconv.AppendUint(dst, t, 10), true
	case map[string]any:
		if t == nil {
			return append(dst, "null"...), true
		}
		return appendMap(dst, t, depth)
	case []any:
		if t == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		ok := true
		for i, e := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, ok = appendValue(dst, e, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case []string:
		if t == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		for i, e := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, e)
		}
		return append(dst, ']'), true
	}
	return appendFallback(dst, v)
}

// appendMap appends a map with its keys sorted, as encoding/json does.
func appendMap(dst []byte, m map[string]any, depth int) ([]byte, bool) {
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	ok := true
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		if dst, ok = appendValue(dst, m[k], depth+1); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
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

// appendFloat appends f as encoding/json does (ES6 number formatting);
// NaN and infinities are not JSON.
func appendFloat(dst []byte, f float64, bits int) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// e-09 is written e-9.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

const hexDigits = "0123456789abcdef"

// appendString appends s quoted as encoding/json does with HTML escaping
// off: control characters, quote and backslash escaped, invalid UTF-8 as
// U+FFFD, and U+2028 and U+2029 escaped (for JSONP).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// errEncode wraps an entity's encoding error.
func errEncode(i int, err error) error {
	return fmt.Errorf("port: encode entity %d: %w", i, err)
}
