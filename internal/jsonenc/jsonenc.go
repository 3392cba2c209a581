// Package jsonenc appends JSON exactly as encoding/json writes it, without
// reflection, for the values a sync and its fakes encode by the million:
// decoded JSON (nil, bool, float64, string, []any, map[string]any), the
// numbers and string lists a mapping produces, and plain strings.
//
// encoding/json's reflection and its sorting of map keys were most of the
// cost of encoding a bulk upsert (the sync) and of storing one (the fake
// Port). These functions write the same bytes: map keys sorted, floats in
// encoding/json's ES6 format, strings escaped the same way, HTML escaping
// on (json.Marshal) or off (an Encoder with SetEscapeHTML(false)).
// AppendValue hands what it does not take to the caller's fallback
// (encoding/json), so that the bytes stay encoding/json's whatever the
// input.
package jsonenc

import (
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxDepth is how deep AppendValue nests before it hands a value to the
// fallback: a cyclic value (a map holding itself) would otherwise recurse
// without end, where encoding/json reports an error.
const MaxDepth = 200

// Fallback appends a value AppendValue does not take itself, as
// encoding/json would (an Encoder with the same HTML escaping), or
// reports false when encoding/json cannot encode it.
type Fallback func(dst []byte, v any) ([]byte, bool)

// AppendValue appends v as encoding/json encodes it, with HTML escaping
// when escapeHTML. It takes nil, bool, string, float64, float32, int,
// int32, int64, uint64, []any, []string and map[string]any (nil slices
// and maps as null, map keys sorted) itself, and hands any other value,
// and values nested deeper than MaxDepth, to fallback. ok is false for
// NaN and infinities (which encoding/json refuses), when fallback reports
// false, or for a value it hands to a nil fallback: what was appended is
// then to be dropped.
func AppendValue(dst []byte, v any, escapeHTML bool, fallback Fallback) ([]byte, bool) {
	e := encoder{html: escapeHTML, fallback: fallback}
	return e.value(dst, v, 0)
}

type encoder struct {
	html     bool
	fallback Fallback
}

func (e encoder) other(dst []byte, v any) ([]byte, bool) {
	if e.fallback == nil {
		return dst, false
	}
	return e.fallback(dst, v)
}

func (e encoder) value(dst []byte, v any, depth int) ([]byte, bool) {
	if depth > MaxDepth {
		return e.other(dst, v)
	}
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...), true
	case string:
		return AppendString(dst, t, e.html), true
	case bool:
		return strconv.AppendBool(dst, t), true
	case float64:
		return AppendFloat(dst, t, 64)
	case float32:
		return AppendFloat(dst, float64(t), 32)
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
		return e.object(dst, t, depth)
	case []any:
		if t == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		ok := true
		for i, x := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, ok = e.value(dst, x, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case []string:
		return AppendStrings(dst, t, e.html), true
	}
	return e.other(dst, v)
}

// object appends a map with its keys sorted, as encoding/json does.
func (e encoder) object(dst []byte, m map[string]any, depth int) ([]byte, bool) {
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
		dst = append(AppendString(dst, k, e.html), ':')
		if dst, ok = e.value(dst, m[k], depth+1); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// AppendStrings appends ss as a JSON array of strings (null when nil).
func AppendStrings(dst []byte, ss []string, escapeHTML bool) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, s, escapeHTML)
	}
	return append(dst, ']')
}

// AppendFloat appends f as encoding/json encodes a float of bits (32 or
// 64) bits: like %g with ES6's exponent cutoffs (1e-6, 1e21) and exponents
// not padded to two digits. ok is false for NaN and infinities, which are
// not JSON.
func AppendFloat(dst []byte, f float64, bits int) ([]byte, bool) {
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
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

const hexDigits = "0123456789abcdef"

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// load64 reads s[i:i+8] as a little-endian word.
func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// zero marks, with its high bit, each byte of w equal to c; the lowest
// mark is exact, marks above it may be false (a carried borrow).
func zero(w uint64, c byte) uint64 {
	x := w ^ ones*uint64(c)
	return (x - ones) &^ x
}

// toEscape marks, with its high bit, each byte of w (eight bytes of a
// string) that AppendString must look at rather than copy: a quote, a
// backslash, a control character, a byte that is not ASCII, and with
// escapeHTML <, > and &. Only the lowest mark is exact, which is all the
// scan needs.
func toEscape(w uint64, escapeHTML bool) uint64 {
	m := zero(w, '"') | zero(w, '\\') | (w - ones*0x20) | w
	if escapeHTML {
		m |= zero(w, '<') | zero(w, '>') | zero(w, '&')
	}
	return m & high
}

// AppendString appends s quoted as encoding/json does: quote, backslash
// and control characters escaped, invalid UTF-8 as \ufffd, U+2028 and
// U+2029 escaped, and with escapeHTML <, > and & as \u003c, \u003e and
// \u0026.
func AppendString(dst []byte, s string, escapeHTML bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Most strings are plain ASCII: step over eight bytes at a time
		// to the next one to look at.
		for len(s)-i >= 8 {
			if m := toEscape(load64(s, i), escapeHTML); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && (!escapeHTML || b != '<' && b != '>' && b != '&') {
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
