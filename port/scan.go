package port

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// Every bulk upsert's answer is decoded, and encoding/json's reflection
// made that a fair part of a sync's writing. decodeBulkAnswer reads the
// usual answer directly; whatever it is not sure to read exactly as
// json.Unmarshal would (escaped or non-ASCII strings, keys differing
// only in case, a repeated key, null, numbers that are not plain
// integers, invalid JSON anywhere) it hands to json.Unmarshal, which
// then decides, with its own error.

// decodeBulkAnswer decodes a bulk upsert answer as json.Unmarshal does.
func decodeBulkAnswer(data []byte, ans *bulkAnswer) error {
	return decodeBulkAnswerKnown(data, ans, nil)
}

// decodeBulkAnswerKnown is decodeBulkAnswer for an answer to a request
// whose identifiers the caller holds: known (if not nil) returns a
// string equal to raw when the caller has one, which the answer's
// entities then share instead of a copy each. The capacity of
// ans.Entities, if any, is room for the entities; otherwise ans is
// decoded as json.Unmarshal decodes into a zero bulkAnswer (never into
// the room: it would keep what earlier answers left in it).
func decodeBulkAnswerKnown(data []byte, ans *bulkAnswer, known func(raw []byte) (string, bool)) error {
	room := ans.Entities[:0]
	*ans = bulkAnswer{}
	s := scanner{data: data}
	if s.bulkAnswer(ans, room, known) {
		return nil
	}
	// A fresh answer: decoding into a copy keeps ans from escaping
	// through json.Unmarshal's any.
	var fresh bulkAnswer
	err := json.Unmarshal(data, &fresh)
	*ans = fresh
	return err
}

// scanner reads JSON for the fast paths; each method reports false as
// soon as the input is anything it does not take on.
type scanner struct {
	data  []byte
	i     int
	depth int
	// names holds the object keys decoded so far: the entities of a page
	// repeat the same few dozen property names, which then cost one
	// string each per page instead of one per entity.
	names map[string]string
}

// maxNames bounds the keys a scanner remembers: objects keyed by data
// must not grow it without end.
const maxNames = 512

// name reads an object key as json.Unmarshal decodes it, reusing the
// string of an earlier equal one.
func (s *scanner) name() (string, bool) {
	s.ws()
	start := s.i
	if raw, ok := s.plainRaw(); ok {
		if k, ok := s.names[string(raw)]; ok {
			return k, true
		}
		k := string(raw)
		if len(s.names) < maxNames {
			if s.names == nil {
				s.names = map[string]string{}
			}
			s.names[k] = k
		}
		return k, true
	}
	s.i = start
	return s.text()
}

// maxScanDepth bounds the nesting the scanner skips over.
const maxScanDepth = 64

func (s *scanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.data) {
		return s.data[s.i]
	}
	return 0
}

// consume reads c after white space.
func (s *scanner) consume(c byte) bool {
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// plainString reads a string of printable ASCII without escapes: the
// bytes encoding/json would decode to themselves.
func (s *scanner) plainString() (string, bool) {
	raw, ok := s.plainRaw()
	return string(raw), ok
}

// knownString is plainString, but the string known (if not nil) returns
// when it has an equal one.
func (s *scanner) knownString(known func(raw []byte) (string, bool)) (string, bool) {
	raw, ok := s.plainRaw()
	if ok && known != nil {
		if v, found := known(raw); found {
			return v, true
		}
	}
	return string(raw), ok
}

// plainRaw is plainString's bytes, in the input.
func (s *scanner) plainRaw() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	start := s.i
	s.stepPlain(true)
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '"':
			s.i++
			return s.data[start : s.i-1], true
		case c < 0x20 || c == '\\' || c >= 0x80:
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// Strings are stepped over eight bytes at a time: identifiers, keys and
// the long texts of entity pages are mostly plain ASCII.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// stepPlain steps over the bytes of a string that need no closer look,
// eight at a time, and stops at the first that does (or fewer than
// eight bytes before the end): a control character, '"' or '\\', and
// with nonASCII a byte of 0x80 or more.
func (s *scanner) stepPlain(nonASCII bool) {
	for s.i+8 <= len(s.data) {
		if m := specialBytes(binary.LittleEndian.Uint64(s.data[s.i:]), nonASCII); m != 0 {
			s.i += bits.TrailingZeros64(m) / 8
			return
		}
		s.i += 8
	}
}

// specialBytes has the high bit of a byte of w set at the first byte
// (lowest address) that is special in stepPlain's sense, if one is, and
// maybe at later ones: each test flags every byte that matches, and a
// borrow only starts at a byte that matches, so it can flag a later
// byte that does not, never an earlier one.
func specialBytes(w uint64, nonASCII bool) uint64 {
	quote := w ^ ('"' * lsb)
	bslash := w ^ ('\\' * lsb)
	m := (w - 0x20*lsb) & ^w // a byte below 0x20
	m |= (quote - lsb) & ^quote
	m |= (bslash - lsb) & ^bslash
	if nonASCII {
		m |= w
	}
	return m & msb
}

// skipString steps over a valid string, escapes included.
func (s *scanner) skipString() bool {
	if !s.consume('"') {
		return false
	}
	for s.i < len(s.data) {
		s.stepPlain(false)
		if s.i >= len(s.data) {
			return false
		}
		c := s.data[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			s.i++
			if s.i >= len(s.data) {
				return false
			}
			switch s.data[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if s.i+4 >= len(s.data) {
					return false
				}
				for _, h := range s.data[s.i+1 : s.i+5] {
					if !isHex(h) {
						return false
					}
				}
				s.i += 4
			default:
				return false
			}
		}
		s.i++
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number steps over a number of JSON's grammar and returns its text.
func (s *scanner) number() ([]byte, bool) {
	s.ws()
	start := s.i
	if s.i < len(s.data) && s.data[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.data) && '0' <= s.data[s.i] && s.data[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.data) && s.data[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return nil, false
	}
	if s.i < len(s.data) && s.data[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, false
		}
	}
	if s.i < len(s.data) && (s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		s.i++
		if s.i < len(s.data) && (s.data[s.i] == '+' || s.data[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	return s.data[start:s.i], true
}

// integer reads a plain integer (no fraction, no exponent) that fits an int.
func (s *scanner) integer() (int, bool) {
	num, ok := s.number()
	if !ok || len(num) == 0 {
		return 0, false
	}
	for _, c := range num {
		if c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(string(num))
	return n, err == nil
}

// boolean reads true or false.
func (s *scanner) boolean() (bool, bool) {
	switch s.peek() {
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	}
	return false, false
}

func (s *scanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.data[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

// skip steps over any valid value.
func (s *scanner) skip() bool {
	switch c := s.peek(); {
	case c == '"':
		return s.skipString()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		_, ok := s.number()
		return ok
	case c == '{' || c == '[':
		if s.depth >= maxScanDepth {
			return false
		}
		s.depth++
		defer func() { s.depth-- }()
		obj := c == '{'
		closing := byte(']')
		if obj {
			closing = '}'
		}
		s.i++
		if s.consume(closing) {
			return true
		}
		for {
			if obj && (!s.skipString() || !s.consume(':')) {
				return false
			}
			if !s.skip() {
				return false
			}
			if !s.consume(',') {
				return s.consume(closing)
			}
		}
	}
	return false
}

// open reads the opening of an object or array (c) and reports whether
// it is empty, its closing read too.
func (s *scanner) open(c byte) (empty, ok bool) {
	if !s.consume(c) {
		return false, false
	}
	closing := byte(']')
	if c == '{' {
		closing = '}'
	}
	return s.consume(closing), true
}

// next reads what follows a member of an object or array: a comma (more
// is true) or its closing.
func (s *scanner) next(closing byte) (more, ok bool) {
	if s.consume(',') {
		return true, true
	}
	return false, s.consume(closing)
}

// key reads an object's plain key and its colon.
func (s *scanner) key() ([]byte, bool) {
	k, ok := s.plainRaw()
	return k, ok && s.consume(':')
}

// end reports whether only white space is left.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.data)
}

// fields reads an object whose keys of interest are names: each is read,
// once, by field with its index in names, and other keys are skipped. It
// gives up (false) on a repeated key and on a key that only case tells
// from one of names: json.Unmarshal takes the last of repeated keys and
// matches keys case-insensitively, which is left to it.
func (s *scanner) fields(names []string, field func(i int) bool) bool {
	var seen uint32
	empty, ok := s.open('{')
	for more := !empty; ok && more; more, ok = s.next('}') {
		key, ok := s.key()
		if !ok {
			return false
		}
		i := -1
		for j, n := range names {
			if string(key) == n {
				i = j
				break
			}
			if bytes.EqualFold(key, []byte(n)) {
				return false
			}
		}
		switch {
		case i < 0:
			if !s.skip() {
				return false
			}
		case seen&(1<<i) != 0:
			return false
		default:
			seen |= 1 << i
			if !field(i) {
				return false
			}
		}
	}
	return ok
}

// bulkAnswer reads Port's bulk upsert answer into a zero ans; room and
// known are decodeBulkAnswerKnown's.
func (s *scanner) bulkAnswer(ans *bulkAnswer, room []bulkEntity, known func(raw []byte) (string, bool)) bool {
	names := [...]string{"entities", "errors"}
	return s.fields(names[:], func(i int) bool {
		if i == 0 {
			ans.Entities = room
			if room == nil {
				ans.Entities = []bulkEntity{} // what json.Unmarshal makes of []
			}
			return s.array(func() bool {
				ans.Entities = append(ans.Entities, bulkEntity{})
				return s.bulkEntity(&ans.Entities[len(ans.Entities)-1], known)
			})
		}
		ans.Errors = []bulkError{}
		return s.array(func() bool {
			ans.Errors = append(ans.Errors, bulkError{})
			return s.bulkError(&ans.Errors[len(ans.Errors)-1])
		})
	}) && s.end()
}

// array reads an array, each element by elem.
func (s *scanner) array(elem func() bool) bool {
	empty, ok := s.open('[')
	for more := !empty; ok && more; more, ok = s.next(']') {
		if !elem() {
			return false
		}
	}
	return ok
}

func (s *scanner) bulkEntity(e *bulkEntity, known func(raw []byte) (string, bool)) bool {
	names := [...]string{"identifier", "index", "created"}
	return s.fields(names[:], func(i int) (ok bool) {
		switch i {
		case 0:
			e.Identifier, ok = s.knownString(known)
		case 1:
			e.Index, ok = s.integer()
		default:
			e.Created, ok = s.boolean()
		}
		return ok
	})
}

func (s *scanner) bulkError(e *bulkError) bool {
	names := [...]string{"identifier", "index", "statusCode", "error", "message"}
	return s.fields(names[:], func(i int) (ok bool) {
		switch i {
		case 0:
			e.Identifier, ok = s.plainString()
		case 1:
			e.Index, ok = s.integer()
		case 2:
			e.StatusCode, ok = s.integer()
		case 3:
			e.Error, ok = s.plainString()
		default:
			e.Message, ok = s.plainString()
		}
		return ok
	})
}

// maxValueDepth bounds the nesting entity values are decoded to here;
// deeper ones go to json.Unmarshal.
const maxValueDepth = 32

// text reads a string as json.Unmarshal decodes it.
func (s *scanner) text() (string, bool) {
	s.ws()
	start := s.i
	if !s.skipString() {
		return "", false
	}
	raw := s.data[start+1 : s.i-1]
	plain := true
	ascii := true
	for _, c := range raw {
		if c == '\\' {
			plain = false
			break
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	if plain && (ascii || utf8.Valid(raw)) {
		return string(raw), true
	}
	// Escapes or invalid UTF-8: encoding/json's own unquoting.
	var str string
	if json.Unmarshal(s.data[start:s.i], &str) != nil {
		return "", false
	}
	return str, true
}

// value reads any value as json.Unmarshal decodes it into an any.
func (s *scanner) value(depth int) (any, bool) {
	switch c := s.peek(); {
	case c == '"':
		return s.text()
	case c == 't':
		return true, s.literal("true")
	case c == 'f':
		return false, s.literal("false")
	case c == 'n':
		return nil, s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		num, ok := s.number()
		if !ok {
			return nil, false
		}
		f, err := strconv.ParseFloat(string(num), 64)
		return f, err == nil
	case c == '{':
		if depth >= maxValueDepth {
			return nil, false
		}
		return s.objectValue(depth)
	case c == '[':
		if depth >= maxValueDepth {
			return nil, false
		}
		list := []any{}
		empty, ok := s.open('[')
		for more := !empty; ok && more; more, ok = s.next(']') {
			v, ok := s.value(depth + 1)
			if !ok {
				return nil, false
			}
			list = append(list, v)
		}
		return list, ok
	}
	return nil, false
}

// objectValue reads an object into a map (duplicate keys: the last wins).
func (s *scanner) objectValue(depth int) (map[string]any, bool) {
	m := map[string]any{}
	empty, ok := s.open('{')
	for more := !empty; ok && more; more, ok = s.next('}') {
		k, ok := s.name()
		if !ok || !s.consume(':') {
			return nil, false
		}
		v, ok := s.value(depth + 1)
		if !ok {
			return nil, false
		}
		m[k] = v
	}
	return m, ok
}

// entity reads one entity as json.Unmarshal decodes it into a zero Entity.
func (s *scanner) entity(e *Entity) bool {
	// The JSON names of Entity's fields.
	entityKeys := [...]string{"identifier", "blueprint", "title", "icon", "team", "properties", "relations",
		"createdAt", "updatedAt", "createdBy", "updatedBy", "$datasource"}
	return s.fields(entityKeys[:], func(field int) (ok bool) {
		switch name := entityKeys[field]; name {
		case "identifier":
			e.Identifier, ok = s.value(0)
		case "team":
			e.Team, ok = s.value(0)
		case "properties", "relations":
			var m map[string]any
			if s.peek() == 'n' {
				ok = s.literal("null")
			} else if s.peek() == '{' {
				m, ok = s.objectValue(0)
			} else {
				ok = false
			}
			if name == "properties" {
				e.Properties = m
			} else {
				e.Relations = m
			}
		case "createdAt", "updatedAt":
			s.ws()
			start := s.i
			if ok = s.skip(); ok {
				t := &e.CreatedAt
				if name == "updatedAt" {
					t = &e.UpdatedAt
				}
				ok = t.UnmarshalJSON(s.data[start:s.i]) == nil
			}
		default:
			var str string
			if s.peek() == 'n' {
				ok = s.literal("null")
			} else if s.peek() == '"' {
				str, ok = s.text()
			} else {
				ok = false
			}
			switch name {
			case "blueprint":
				e.Blueprint = str
			case "title":
				e.Title = str
			case "icon":
				e.Icon = str
			case "createdBy":
				e.CreatedBy = str
			case "updatedBy":
				e.UpdatedBy = str
			default:
				e.Datasource = str
			}
		}
		return ok
	})
}
