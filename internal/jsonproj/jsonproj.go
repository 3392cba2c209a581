// Package jsonproj decodes a JSON array of objects keeping only some keys
// of each object, and of their values.
//
// A sync decodes every page an API returns, and most of what a page holds
// (a merge request's author, assignees, reviewers, time stats, …) is read
// by no mapping. Building those values is most of the cost of decoding:
// Unmarshal steps over them with a byte scanner instead, which still
// validates them, and builds only the kept values.
//
// Unmarshal behaves as encoding/json's Unmarshal into a []any, except that
// objects directly inside the top-level array lack the keys not kept, and
// kept values the Keys project lack theirs (see Keys): what is kept is the
// same (float64 numbers, strings unescaped the same way, duplicate keys
// resolved last-wins), and input that json.Unmarshal refuses — a syntax
// error anywhere, skipped values included, a number out of float64's
// range, nesting deeper than this decoder takes on — gets json.Unmarshal's
// own error, because such input is handed to it. Input this package does
// not project (anything but an array at the top) is decoded by
// json.Unmarshal too.

package jsonproj

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// Keys says what to keep of a value: of an object, the keys in the set,
// each value projected by its own Keys when it has one (whole otherwise);
// of an array, when it is an Elements projection, each element projected
// (whole otherwise). Strings, numbers, booleans and null are kept as they
// are. A nil *Keys keeps the value whole.
//
// What is not a projection of its kind is kept whole, so that a reader
// that fails on the value's type (indexing an array with a key, an object
// with a number, which jq's messages quote) sees it as it was: an object
// under an Elements projection, an array under a projection with keys.
type Keys struct {
	// m maps each key to itself, so that a kept key found in the input
	// is given the set's string instead of a new one.
	m map[string]string
	// sub holds the projections of kept keys' values that are not whole.
	sub map[string]*Keys
	// elems projects an array's elements (nil: the array is kept whole).
	elems *Keys
	// short holds the keys under 32 bytes by length: most keys of an
	// object are not kept, and comparing one with the few kept keys of
	// its length is cheaper than hashing it for a map lookup.
	short [32][]string
}

// add keeps key s.
func (k *Keys) add(s string) {
	if _, ok := k.m[s]; ok {
		return
	}
	k.m[s] = s
	if len(s) < len(k.short) {
		k.short[len(s)] = append(k.short[len(s)], s)
	}
}

// NewKeys returns the set of keys, their values kept whole.
func NewKeys(keys ...string) *Keys {
	k := &Keys{m: make(map[string]string, len(keys))}
	for _, s := range keys {
		k.add(s)
	}
	return k
}

// NewTree returns the set of keys of tree, each value projected by the
// key's Keys (nil: whole).
func NewTree(tree map[string]*Keys) *Keys {
	k := &Keys{m: make(map[string]string, len(tree))}
	for s, sub := range tree {
		k.add(s)
		if sub != nil {
			if k.sub == nil {
				k.sub = map[string]*Keys{}
			}
			k.sub[s] = sub
		}
	}
	return k
}

// Elements returns the projection of an array whose elements are each
// projected by elem; nil (every element whole) is nil.
func Elements(elem *Keys) *Keys {
	if elem == nil {
		return nil
	}
	return &Keys{elems: elem}
}

// With returns the set with keys added, their values kept whole; nil
// (every key) stays nil.
func (k *Keys) With(keys ...string) *Keys {
	if k == nil {
		return nil
	}
	out := &Keys{m: make(map[string]string, len(k.m)+len(keys)), elems: k.elems}
	for s := range k.m {
		out.add(s)
	}
	for s, sub := range k.sub {
		if out.sub == nil {
			out.sub = make(map[string]*Keys, len(k.sub))
		}
		out.sub[s] = sub
	}
	for _, s := range keys {
		out.add(s)
		delete(out.sub, s)
	}
	return out
}

// Len is the number of keys (0 for nil, which keeps every key).
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.m)
}

// Has reports whether key is kept.
func (k *Keys) Has(key string) bool {
	if k == nil {
		return true
	}
	_, ok := k.m[key]
	return ok
}

// Sub returns the projection of key's value: nil when it is kept whole (or
// k keeps everything).
func (k *Keys) Sub(key string) *Keys {
	if k == nil {
		return nil
	}
	return k.sub[key]
}

// Project applies k to a value decoded whole, as Unmarshal would have
// decoded it with k; objects and arrays k projects are copied, not
// changed.
func (k *Keys) Project(v any) any {
	if k == nil {
		return v
	}
	switch v := v.(type) {
	case map[string]any:
		if k.elems != nil {
			return v
		}
		out := make(map[string]any, min(len(v), len(k.m)))
		for key, x := range v {
			if k.Has(key) {
				out[key] = k.Sub(key).Project(x)
			}
		}
		return out
	case []any:
		if len(k.m) > 0 || k.elems == nil {
			return v
		}
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = k.elems.Project(x)
		}
		return out
	}
	return v
}

// lookup is Has for a raw key without escapes, returning the set's own
// string for it; the conversion does not allocate.
func (k *Keys) lookup(key []byte) (string, bool) {
	if len(key) < len(k.short) {
		for _, s := range k.short[len(key)] {
			if string(key) == s {
				return s, true
			}
		}
		return "", false
	}
	s, ok := k.m[string(key)]
	return s, ok
}

// Unmarshal decodes data, a JSON array, as json.Unmarshal would into a
// []any, keeping of each object element only the top-level keys in keys
// (every key when keys is nil), projected as keys says. See the package doc for what is exactly
// the same as json.Unmarshal.
func Unmarshal(data []byte, keys *Keys) ([]any, error) {
	d := decoder{data: data, keys: keys}
	if out, ok := d.top(); ok {
		return out, nil
	}
	// Not an array, or input json.Unmarshal may refuse: let it decide,
	// with its own error.
	var raw []any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if keys != nil {
		for i, v := range raw {
			raw[i] = keys.Project(v)
		}
	}
	return raw, nil
}

// maxDepth bounds the nesting this decoder takes on, well under
// encoding/json's own limit (10000): deeper input is left to json.Unmarshal,
// which then decides, with its own error.
const maxDepth = 1000

type decoder struct {
	data  []byte
	i     int
	keys  *Keys
	depth int
	// names holds the keys of the objects decoded whole so far: the
	// items of a page repeat the same few dozen keys (an author's id,
	// username, name, …), which then cost one string each per page
	// instead of one per object.
	names map[string]string
	// kept is how many keys the last projected object kept.
	kept int
	// sizes holds, by depth, how many keys the last object decoded
	// whole there had.
	sizes [8]int
}

// maxNames bounds the keys a decoder remembers: a page whose objects are
// keyed by data (a language → share map) must not grow it without end.
const maxNames = 512

// name returns the key of a raw key without escapes, reusing the string of
// an earlier one.
func (d *decoder) name(raw []byte) string {
	if s, ok := d.names[string(raw)]; ok {
		return s
	}
	s := string(raw)
	if d.names == nil {
		d.names = make(map[string]string, 64)
	}
	if len(d.names) < maxNames {
		d.names[s] = s
	}
	return s
}

func (d *decoder) ws() {
	// Pages are mostly compact: one test, inlined, for the usual case.
	if d.i < len(d.data) && d.data[d.i] > ' ' {
		return
	}
	d.wsSlow()
}

func (d *decoder) wsSlow() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// top decodes the top-level array; false means "not handled here".
func (d *decoder) top() ([]any, bool) {
	d.ws()
	if d.i >= len(d.data) || d.data[d.i] != '[' {
		return nil, false
	}
	d.i++
	d.depth = 1
	out := []any{}
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
	} else {
		for {
			d.ws()
			v, ok := d.valueOf(d.keys)
			if !ok {
				return nil, false
			}
			out = append(out, v)
			d.ws()
			if d.i >= len(d.data) {
				return nil, false
			}
			c := d.data[d.i]
			d.i++
			if c == ']' {
				break
			}
			if c != ',' {
				return nil, false
			}
		}
	}
	d.ws()
	return out, d.i == len(d.data)
}

// valueOf decodes one value projected by k.
func (d *decoder) valueOf(k *Keys) (any, bool) {
	if k != nil && d.i < len(d.data) {
		switch d.data[d.i] {
		case '{':
			if k.elems == nil {
				return d.projected(k)
			}
		case '[':
			if len(k.m) == 0 && k.elems != nil {
				return d.projectedArray(k.elems)
			}
		}
	}
	return d.value()
}

// projected decodes an object keeping the kept keys' values (projected in
// turn) and skipping (validating) the others.
func (d *decoder) projected(k *Keys) (any, bool) {
	d.i++ // '{'
	if d.depth++; d.depth > maxDepth {
		return nil, false
	}
	// The page's objects have much the same keys: size an item's map for
	// as many as the previous item kept, rather than for every key of the
	// set (a mapping's keys, the framework's and the provider's, of which
	// an object has some), which allocated twice the table it filled.
	item := d.depth == 2
	hint := k.Len()
	if item && d.kept > 0 {
		hint = d.kept
	}
	m := make(map[string]any, hint)
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		d.depth--
		return m, true
	}
	for {
		d.ws()
		raw, escaped, ok := d.stringToken()
		if !ok {
			return nil, false
		}
		var keep bool
		var key string
		if escaped {
			if key, ok = unquote(raw); !ok {
				return nil, false
			}
			keep = k.Has(key)
		} else {
			key, keep = k.lookup(raw[1 : len(raw)-1])
		}
		d.ws()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return nil, false
		}
		d.i++
		d.ws()
		if keep {
			v, ok := d.valueOf(k.sub[key])
			if !ok {
				return nil, false
			}
			m[key] = v
		} else if !d.skipValue() {
			return nil, false
		}
		d.ws()
		if d.i >= len(d.data) {
			return nil, false
		}
		c := d.data[d.i]
		d.i++
		if c == '}' {
			d.depth--
			if item {
				d.kept = len(m)
			}
			return m, true
		}
		if c != ',' {
			return nil, false
		}
	}
}

// projectedArray decodes an array projecting each element by elem.
func (d *decoder) projectedArray(elem *Keys) (any, bool) {
	d.i++ // '['
	if d.depth++; d.depth > maxDepth {
		return nil, false
	}
	a := []any{}
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		d.depth--
		return a, true
	}
	for {
		d.ws()
		v, ok := d.valueOf(elem)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		d.ws()
		if d.i >= len(d.data) {
			return nil, false
		}
		c := d.data[d.i]
		d.i++
		if c == ']' {
			d.depth--
			return a, true
		}
		if c != ',' {
			return nil, false
		}
	}
}

// value decodes one value as json.Unmarshal into an any would.
func (d *decoder) value() (any, bool) {
	if d.i >= len(d.data) {
		return nil, false
	}
	switch c := d.data[d.i]; c {
	case '{':
		return d.object()
	case '[':
		return d.array()
	case '"':
		raw, escaped, ok := d.stringToken()
		if !ok {
			return nil, false
		}
		if escaped {
			s, ok := unquote(raw)
			return s, ok
		}
		return string(raw[1 : len(raw)-1]), true
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		start := d.i
		if !d.number() {
			return nil, false
		}
		f, err := strconv.ParseFloat(string(d.data[start:d.i]), 64)
		if err != nil {
			return nil, false // out of range: json.Unmarshal's error
		}
		return f, true
	}
}

func (d *decoder) object() (any, bool) {
	d.i++
	if d.depth++; d.depth > maxDepth {
		return nil, false
	}
	// Size the map as the last object at this depth was: the objects of
	// a page repeat their shapes, and a map that grows past eight keys
	// is allocated twice.
	hint := 0
	if d.depth < len(d.sizes) {
		hint = d.sizes[d.depth]
	}
	m := make(map[string]any, hint)
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		d.depth--
		return m, true
	}
	for {
		d.ws()
		raw, escaped, ok := d.stringToken()
		if !ok {
			return nil, false
		}
		var key string
		if escaped {
			if key, ok = unquote(raw); !ok {
				return nil, false
			}
		} else {
			key = d.name(raw[1 : len(raw)-1])
		}
		d.ws()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return nil, false
		}
		d.i++
		d.ws()
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		m[key] = v
		d.ws()
		if d.i >= len(d.data) {
			return nil, false
		}
		c := d.data[d.i]
		d.i++
		if c == '}' {
			if d.depth < len(d.sizes) {
				d.sizes[d.depth] = len(m)
			}
			d.depth--
			return m, true
		}
		if c != ',' {
			return nil, false
		}
	}
}

func (d *decoder) array() (any, bool) {
	d.i++
	if d.depth++; d.depth > maxDepth {
		return nil, false
	}
	a := []any{}
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		d.depth--
		return a, true
	}
	for {
		d.ws()
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		a = append(a, v)
		d.ws()
		if d.i >= len(d.data) {
			return nil, false
		}
		c := d.data[d.i]
		d.i++
		if c == ']' {
			d.depth--
			return a, true
		}
		if c != ',' {
			return nil, false
		}
	}
}

func (d *decoder) literal(lit string) bool {
	if len(d.data)-d.i < len(lit) || string(d.data[d.i:d.i+len(lit)]) != lit {
		return false
	}
	d.i += len(lit)
	return true
}

// number steps over a number with JSON's grammar.
func (d *decoder) number() bool {
	end, ok := NumberEnd(d.data, d.i)
	if ok {
		d.i = end
	}
	return ok
}

// NumberEnd returns where the number that starts at b[i] ends, by JSON's
// grammar (an optional minus, an integer without leading zeros, an
// optional fraction and exponent); ok is false when b[i:] does not start
// with one.
func NumberEnd(b []byte, i int) (end int, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i, true
}

// stringChar classifies string bytes: 0 is an ordinary byte, 1 ends or
// escapes (a quote or a backslash), 2 is invalid (a control character),
// 3 starts a multi-byte UTF-8 sequence.
var stringChar = func() (t [256]byte) {
	for c := range 0x20 {
		t[c] = 2
	}
	t['"'], t['\\'] = 1, 1
	for c := 0x80; c < 0x100; c++ {
		t[c] = 3
	}
	return t
}()

// stringToken steps over a string and returns it with its quotes;
// escaped reports that it has escapes or bytes that are not valid UTF-8,
// which unquote must handle.
func (d *decoder) stringToken() (raw []byte, escaped, ok bool) {
	b := d.data
	start := d.i
	if start >= len(b) || b[start] != '"' {
		return nil, false, false
	}
	i := start + 1
	for i < len(b) {
		// Most of a page's bytes are in strings, most of them plain
		// ASCII: step over eight such bytes at a time.
		for len(b)-i >= 8 {
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		switch stringChar[b[i]] {
		case 0:
			i++
		case 3:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				escaped = true // json.Unmarshal replaces it with U+FFFD
			}
			i += size
		case 2:
			return nil, false, false
		default:
			if b[i] == '"' {
				d.i = i + 1
				return b[start:d.i], escaped, true
			}
			escaped = true
			i++
			if i >= len(b) {
				return nil, false, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(b)-i < 5 || !hex(b[i+1]) || !hex(b[i+2]) || !hex(b[i+3]) || !hex(b[i+4]) {
					return nil, false, false
				}
				i += 5
			default:
				return nil, false, false
			}
		}
	}
	return nil, false, false
}

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// special marks, with its high bit, each byte of w (eight bytes of a
// string, little-endian) that a string's scan must look at: a quote, a
// backslash, a control character or a byte that is not ASCII. The lowest
// mark is exact; marks above it may be false (a borrow carried from a
// marked byte), which is all stringToken needs.
func special(w uint64) uint64 {
	q := w ^ (ones * '"')
	bs := w ^ (ones * '\\')
	return ((q-ones)&^q | (bs-ones)&^bs | (w - ones*0x20) | w) & high
}

func hex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// unquote decodes a string token with escapes exactly as encoding/json
// does (surrogates, invalid UTF-8), by asking it: such strings are rare.
func unquote(raw []byte) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// skip steps over one value, validating it as json.Unmarshal would,
// without building it.
func (d *decoder) skip() bool {
	// Containers are tracked with a small stack of what closes them, so
	// that skipping is iterative however deep the value is.
	var stackBuf [32]byte
	stack := stackBuf[:0]
	for {
		d.ws()
		if d.i >= len(d.data) {
			return false
		}
		switch c := d.data[d.i]; c {
		case '{':
			d.i++
			if d.depth+len(stack)+1 > maxDepth {
				return false
			}
			stack = append(stack, '}')
			d.ws()
			if d.i < len(d.data) && d.data[d.i] == '}' {
				d.i++
				stack = stack[:len(stack)-1]
				break
			}
			if !d.skipKey() {
				return false
			}
			continue
		case '[':
			d.i++
			if d.depth+len(stack)+1 > maxDepth {
				return false
			}
			stack = append(stack, ']')
			d.ws()
			if d.i < len(d.data) && d.data[d.i] == ']' {
				d.i++
				stack = stack[:len(stack)-1]
				break
			}
			continue
		case '"':
			if !d.skipString() {
				return false
			}
		case 't':
			if !d.literal("true") {
				return false
			}
		case 'f':
			if !d.literal("false") {
				return false
			}
		case 'n':
			if !d.literal("null") {
				return false
			}
		default:
			start := d.i
			if !d.number() {
				return false
			}
			if !inRange(d.data[start:d.i]) {
				return false
			}
		}
		// A value ended: close containers or go to the next element.
		for {
			if len(stack) == 0 {
				return true
			}
			d.ws()
			if d.i >= len(d.data) {
				return false
			}
			c := d.data[d.i]
			d.i++
			top := stack[len(stack)-1]
			if c == top {
				stack = stack[:len(stack)-1]
				continue
			}
			if c != ',' {
				return false
			}
			if top == '}' {
				d.ws()
				if !d.skipKey() {
					return false
				}
			}
			break
		}
	}
}

// skipValue is skip, with the values most keys hold (a string, a number,
// a literal) stepped over without skip's container stack.
func (d *decoder) skipValue() bool {
	if d.i >= len(d.data) {
		return false
	}
	switch c := d.data[d.i]; {
	case c == '"':
		return d.skipString()
	case c == 'n':
		return d.literal("null")
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == '-' || c >= '0' && c <= '9':
		start := d.i
		return d.number() && inRange(d.data[start:d.i])
	}
	return d.skip()
}

// skipString steps over a string, validating it as json.Unmarshal does:
// its escapes and no control characters. Bytes that are not valid UTF-8
// are no error (json.Unmarshal replaces them), so unlike stringToken it
// need not look at bytes past ASCII.
func (d *decoder) skipString() bool {
	b := d.data
	i := d.i + 1
	for {
		for len(b)-i >= 8 {
			if m := quoteOrControl(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return false
		}
		switch c := b[i]; {
		case c == '"':
			d.i = i + 1
			return true
		case c == '\\':
			i++
			if i >= len(b) {
				return false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(b)-i < 5 || !hex(b[i+1]) || !hex(b[i+2]) || !hex(b[i+3]) || !hex(b[i+4]) {
					return false
				}
				i += 5
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			i++
		}
	}
}

// quoteOrControl is special without the bytes past ASCII: a quote, a
// backslash or a control character, exact for the lowest mark.
func quoteOrControl(w uint64) uint64 {
	q := w ^ (ones * '"')
	bs := w ^ (ones * '\\')
	return ((q-ones)&^q | (bs-ones)&^bs | (w-ones*0x20)&^w) & high
}

// skipKey steps over an object key and its colon.
func (d *decoder) skipKey() bool {
	if _, _, ok := d.stringToken(); !ok {
		return false
	}
	d.ws()
	if d.i >= len(d.data) || d.data[d.i] != ':' {
		return false
	}
	d.i++
	return true
}

// inRange reports whether json.Unmarshal would decode the number into a
// float64 without error. Only a number with an exponent or hundreds of
// digits can be out of range, so the others are not parsed.
func inRange(num []byte) bool {
	if len(num) < 300 {
		exp := false
		for _, c := range num {
			if c == 'e' || c == 'E' {
				exp = true
				break
			}
		}
		if !exp {
			return true
		}
	}
	_, err := strconv.ParseFloat(string(num), 64)
	return err == nil
}
