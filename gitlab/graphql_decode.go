package gitlab

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/oceankit/oceankit/internal/jsonproj"
)

// contentAnswer is a content batch's decoded answer.
type contentAnswer = graphQLAnswer[map[string]*gqlContent]

// decodeContentAnswer decodes a content batch's answer exactly as
// decodeAnswer[map[string]*gqlContent] does (the same data, errors, data
// error and error) about six times faster (BenchmarkGraphQLContent):
// encoding/json's reflection over the typed answer was the largest part
// of the GraphQL enrichment's CPU. The answers GitLab sends
// ({"data":{"p0":{"languages":[…],"repository":{"blobs":{"nodes":[…]}}},
// …},"errors":[…]}) are read by hand; anything the hand-written decoder
// is not sure to read as encoding/json would (a key differing only in
// case, a repeated key, a value of the wrong type, bad JSON) goes to
// decodeAnswer from the start. No decoded string shares memory with b,
// which the client reuses.
func decodeContentAnswer(b []byte) (contentAnswer, error) {
	if out, ok := readContentAnswer(b); ok {
		return out, nil
	}
	return decodeAnswer[map[string]*gqlContent](b)
}

// readContentAnswer decodes b as json.Unmarshal would into a
// contentAnswer, or reports false when it cannot be sure to, among others
// whenever json.Unmarshal would fail.
func readContentAnswer(b []byte) (contentAnswer, bool) {
	var out contentAnswer
	r := jsonReader{b: b}
	var seenData, seenErrors bool
	ok := r.object(func(key []byte) bool {
		switch string(key) {
		case "data":
			if seenData {
				return false // encoding/json merges repeated keys
			}
			seenData = true
			return r.contentData(&out.Data)
		case "errors":
			if seenErrors {
				return false
			}
			seenErrors = true
			return r.graphQLErrors(&out.Errors)
		}
		return r.skipUnknown(key, "data", "errors")
	})
	if !ok || !r.end() {
		return contentAnswer{}, false
	}
	return out, true
}

// jsonReader reads JSON as encoding/json does, for the shapes it is
// written for. Each method reports false where encoding/json would fail,
// and also where it cannot tell it would not: the caller then hands the
// whole document to encoding/json.
type jsonReader struct {
	b       []byte
	i       int
	scratch []byte   // unescaped strings, before they are copied out
	interns []string // short strings seen before (paths, language names)
}

// maxSkipDepth bounds the nesting of skipped values; deeper ones go to
// encoding/json (which allows 10000).
const maxSkipDepth = 256

func (r *jsonReader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (r *jsonReader) peek() byte {
	r.space()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// eat consumes c if it is the next byte after white space.
func (r *jsonReader) eat(c byte) bool {
	if r.peek() == c {
		r.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (r *jsonReader) end() bool {
	r.space()
	return r.i == len(r.b)
}

// null consumes a null if it is next.
func (r *jsonReader) null() bool {
	if r.peek() == 'n' && bytes.HasPrefix(r.b[r.i:], []byte("null")) {
		r.i += 4
		return true
	}
	return false
}

// object reads an object, calling field for each member with its key
// once past the colon; field reads the value. Keys holding escapes or
// non-ASCII bytes are refused: encoding/json matches struct fields
// ignoring case under Unicode folding, which only it should judge.
func (r *jsonReader) object(field func(key []byte) bool) bool {
	if !r.eat('{') {
		return false
	}
	if r.eat('}') {
		return true
	}
	for {
		key, ok := r.plainKey()
		if !ok || !r.eat(':') || !field(key) {
			return false
		}
		if r.eat(',') {
			continue
		}
		return r.eat('}')
	}
}

// plainKey reads a string of printable ASCII without escapes.
func (r *jsonReader) plainKey() ([]byte, bool) {
	if !r.eat('"') {
		return nil, false
	}
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return r.b[start : r.i-1], true
		case c < 0x20 || c >= 0x80 || c == '\\':
			return nil, false
		}
		r.i++
	}
	return nil, false
}

// skipUnknown skips the value of a key that names none of a struct's
// fields (which encoding/json ignores), refusing a key that matches one of
// them but for case.
func (r *jsonReader) skipUnknown(key []byte, fields ...string) bool {
	for _, f := range fields {
		if bytes.EqualFold(key, []byte(f)) {
			return false
		}
	}
	return r.skip(0)
}

// skip reads any value, checking it is valid JSON.
func (r *jsonReader) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	switch r.peek() {
	case '{':
		r.i++
		if r.eat('}') {
			return true
		}
		for {
			if r.peek() != '"' {
				return false
			}
			if _, ok := r.str(strCheck); !ok || !r.eat(':') || !r.skip(depth+1) {
				return false
			}
			if r.eat(',') {
				continue
			}
			return r.eat('}')
		}
	case '[':
		r.i++
		if r.eat(']') {
			return true
		}
		for {
			if !r.skip(depth + 1) {
				return false
			}
			if r.eat(',') {
				continue
			}
			return r.eat(']')
		}
	case '"':
		_, ok := r.str(strCheck)
		return ok
	case 't':
		return r.word("true")
	case 'f':
		return r.word("false")
	case 'n':
		return r.null()
	default:
		_, ok := r.number()
		return ok
	}
}

func (r *jsonReader) word(w string) bool {
	if bytes.HasPrefix(r.b[r.i:], []byte(w)) {
		r.i += len(w)
		return true
	}
	return false
}

// number reads a number as JSON's grammar has it and returns its text.
func (r *jsonReader) number() ([]byte, bool) {
	r.space()
	end, ok := jsonproj.NumberEnd(r.b, r.i)
	if !ok {
		return nil, false
	}
	start := r.i
	r.i = end
	return r.b[start:end], true
}

// float reads a number into a float64 as encoding/json does
// (strconv.ParseFloat, refusing what is out of range).
func (r *jsonReader) float() (float64, bool) {
	num, ok := r.number()
	if !ok {
		return 0, false
	}
	if f, ok := exactFloat(num); ok {
		return f, true
	}
	f, err := strconv.ParseFloat(string(num), 64)
	return f, err == nil
}

// float64pow10 are the powers of ten a float64 holds exactly.
var float64pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// exactFloat converts a number without exponent of at most 15 digits (a
// language share such as 93.41), which is exact and so what
// strconv.ParseFloat returns: the digits as an integer are exact in a
// float64, so is the power of ten, and IEEE division rounds correctly.
func exactFloat(num []byte) (float64, bool) {
	neg := num[0] == '-'
	if neg {
		num = num[1:]
	}
	var mant uint64
	digits, frac := 0, -1
	for i, c := range num {
		switch {
		case c == '.':
			frac = len(num) - i - 1
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
		default:
			return 0, false // an exponent
		}
	}
	if digits > 15 {
		return 0, false
	}
	f := float64(mant)
	if frac > 0 {
		f /= float64pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

// What str does with the string it reads.
const (
	strCheck  = iota // only check it
	strCopy          // return it
	strIntern        // return it, shared with an equal short one met before
	strAlias         // return it, shared with aliasNames when it is one
)

// aliasNames are the aliases of a content query's blocks (p0, p1, …),
// made once rather than for every answer.
var aliasNames = func() (a [gqlMaxBatch]string) {
	for k := range a {
		a[k] = "p" + strconv.Itoa(k)
	}
	return a
}()

// aliasName returns s from aliasNames, or "" when it is not there.
func aliasName(s []byte) string {
	if len(s) < 2 || len(s) > 3 || s[0] != 'p' {
		return ""
	}
	k := 0
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return ""
		}
		k = k*10 + int(c-'0')
	}
	if k >= len(aliasNames) || aliasNames[k] != string(s) {
		return "" // p01 is not p1
	}
	return aliasNames[k]
}

// str reads a string and returns its value as encoding/json decodes it
// (invalid UTF-8 and lone surrogates become U+FFFD), as mode says.
func (r *jsonReader) str(mode int) (string, bool) {
	if !r.eat('"') {
		return "", false
	}
	b := r.b
	start := r.i
	i := plainRun(b, start)
	if i < len(b) && b[i] == '"' {
		r.i = i + 1
		return r.value(b[start:i], mode), true
	}
	buf := append(r.scratch[:0], b[start:i]...)
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			r.i = i + 1
			r.scratch = buf
			return r.value(buf, mode), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if i+1 >= len(b) {
				return "", false
			}
			switch e := b[i+1]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				rr := hex4(b[i+2:])
				if rr < 0 {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(rr) {
					// As encoding/json: a pair decodes to its rune;
					// anything else to U+FFFD, the next escape read on
					// its own.
					rr1 := rune(-1)
					if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
						rr1 = hex4(b[i+2:])
					}
					if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
						i += 6
						buf = utf8.AppendRune(buf, dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				buf = utf8.AppendRune(buf, rr)
				continue
			default:
				return "", false
			}
			i += 2
		case c < utf8.RuneSelf:
			j := plainRun(b, i+1)
			buf = append(buf, b[i:j]...)
			i = j
		default:
			rr, size := utf8.DecodeRune(b[i:])
			if rr == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, rr)
				i++
				continue
			}
			buf = append(buf, b[i:i+size]...)
			i += size
		}
	}
	return "", false
}

// value returns s as str's mode asks.
func (r *jsonReader) value(s []byte, mode int) string {
	switch {
	case mode == strCheck:
		return ""
	case mode == strAlias:
		if a := aliasName(s); a != "" {
			return a
		}
		return string(s)
	case mode == strCopy || len(s) > 32:
		return string(s)
	}
	// Paths and language names repeat in every project's answer.
	for _, v := range r.interns {
		if v == string(s) {
			return v
		}
	}
	v := string(s)
	if len(r.interns) < 16 {
		r.interns = append(r.interns, v)
	}
	return v
}

// hex4 reads four hex digits, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// plainRun returns the index of the first byte from i on that is a quote,
// a backslash, a control character or not ASCII (or len(b)): strings are
// stepped over eight bytes at a time, as multi-line file contents are
// most of an answer.
func plainRun(b []byte, i int) int {
	const (
		lo = 0x0101010101010101
		hi = 0x8080808080808080
	)
	for len(b)-i >= 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (lo * '"')
		s := x ^ (lo * '\\')
		// A byte's high bit ends up set when the byte is below 0x20, a
		// quote or a backslash (its subtraction wraps), or not ASCII, and
		// in no other byte below the first such one: a subtraction
		// borrows only from a byte that wrapped, and sets the high bit
		// of a byte that did not wrap only if it was set already.
		m := ((x - lo*0x20) | (q - lo) | (s - lo) | x) & hi
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) {
		c := b[i]
		if c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return i
		}
		i++
	}
	return i
}

// graphQLErrors reads the errors of an answer: rare, and of a shape
// (path holds any JSON) left to encoding/json.
func (r *jsonReader) graphQLErrors(out *[]GraphQLError) bool {
	r.space()
	start := r.i
	if !r.skip(1) {
		return false
	}
	return json.Unmarshal(r.b[start:r.i], out) == nil
}

// contentData reads an answer's data: null, or the project blocks by
// alias.
func (r *jsonReader) contentData(out *map[string]*gqlContent) bool {
	if r.null() {
		*out = nil
		return true
	}
	if r.peek() != '{' {
		return false
	}
	r.i++
	// The blocks are gathered first so that the map is made at its size;
	// one allocation holds them all.
	type entry struct {
		key string
		pc  *gqlContent
	}
	var (
		small   [64]entry
		entries = small[:0]
		blocks  []gqlContent
	)
	if !r.eat('}') {
		for {
			if r.peek() != '"' {
				return false
			}
			key, ok := r.str(strAlias)
			if !ok || !r.eat(':') {
				return false
			}
			var pc *gqlContent
			if !r.null() {
				if len(blocks) == cap(blocks) {
					// A new array for the next blocks: those read so far
					// stay where their pointers point.
					blocks = make([]gqlContent, 0, max(8, 2*cap(blocks)))
				}
				blocks = append(blocks, gqlContent{})
				pc = &blocks[len(blocks)-1]
				if !r.content(pc) {
					return false
				}
			}
			entries = append(entries, entry{key, pc})
			if r.eat(',') {
				continue
			}
			if !r.eat('}') {
				return false
			}
			break
		}
	}
	// A repeated key is replaced, as encoding/json does for a map.
	m := make(map[string]*gqlContent, len(entries))
	for _, e := range entries {
		m[e.key] = e.pc
	}
	*out = m
	return true
}

// content reads one project block.
func (r *jsonReader) content(pc *gqlContent) bool {
	var seenLang, seenRepo bool
	return r.object(func(key []byte) bool {
		switch string(key) {
		case "languages":
			if seenLang {
				return false
			}
			seenLang = true
			return r.languages(&pc.Languages)
		case "repository":
			if seenRepo {
				return false
			}
			seenRepo = true
			if r.null() {
				return true
			}
			// One allocation for the repository and its blobs.
			rb := new(struct {
				repo  gqlContentRepository
				blobs gqlContentBlobs
			})
			pc.Repository = &rb.repo
			return r.repository(pc.Repository, &rb.blobs)
		}
		return r.skipUnknown(key, "languages", "repository")
	})
}

func (r *jsonReader) languages(out *[]gqlContentLanguage) bool {
	if r.null() {
		return true
	}
	if !r.eat('[') {
		return false
	}
	var small [16]gqlContentLanguage
	langs := small[:0]
	if !r.eat(']') {
		for {
			var l gqlContentLanguage
			if !r.null() && !r.language(&l) {
				return false
			}
			langs = append(langs, l)
			if r.eat(',') {
				continue
			}
			if !r.eat(']') {
				return false
			}
			break
		}
	}
	// [] decodes to an empty slice, not nil.
	*out = make([]gqlContentLanguage, len(langs))
	copy(*out, langs)
	return true
}

func (r *jsonReader) language(l *gqlContentLanguage) bool {
	var seenName, seenShare bool
	return r.object(func(key []byte) bool {
		switch string(key) {
		case "name":
			if seenName {
				return false
			}
			seenName = true
			return r.stringField(&l.Name)
		case "share":
			if seenShare {
				return false
			}
			seenShare = true
			if r.null() {
				return true
			}
			if c := r.peek(); c != '-' && (c < '0' || c > '9') {
				return false
			}
			f, ok := r.float()
			l.Share = f
			return ok
		}
		return r.skipUnknown(key, "name", "share")
	})
}

// stringField reads a string into a string field, which null leaves as
// it is.
func (r *jsonReader) stringField(out *string) bool {
	if r.null() {
		return true
	}
	if r.peek() != '"' {
		return false
	}
	s, ok := r.str(strIntern)
	*out = s
	return ok
}

// repository reads a repository into repo, its blobs into blobs.
func (r *jsonReader) repository(repo *gqlContentRepository, blobs *gqlContentBlobs) bool {
	var seen bool
	return r.object(func(key []byte) bool {
		if string(key) != "blobs" {
			return r.skipUnknown(key, "blobs")
		}
		if seen {
			return false
		}
		seen = true
		if r.null() {
			return true
		}
		repo.Blobs = blobs
		return r.blobs(repo.Blobs)
	})
}

// blobNode is a blob as read, before its text is given an address.
type blobNode struct {
	path, text string
	hasText    bool
}

func (r *jsonReader) blobs(bl *gqlContentBlobs) bool {
	var seen bool
	return r.object(func(key []byte) bool {
		if string(key) != "nodes" {
			return r.skipUnknown(key, "nodes")
		}
		if seen {
			return false
		}
		seen = true
		if r.null() {
			return true
		}
		if !r.eat('[') {
			return false
		}
		var small [8]blobNode
		nodes, texts := small[:0], 0
		if !r.eat(']') {
			for {
				var n blobNode
				if !r.null() && !r.blob(&n) {
					return false
				}
				nodes = append(nodes, n)
				if n.hasText {
					texts++
				}
				if r.eat(',') {
					continue
				}
				if !r.eat(']') {
					return false
				}
				break
			}
		}
		// The texts share one allocation, as the nodes do.
		bl.Nodes = make([]gqlContentBlob, len(nodes))
		textOf := make([]string, texts)
		for i, n := range nodes {
			bl.Nodes[i].Path = n.path
			if n.hasText {
				textOf[0] = n.text
				bl.Nodes[i].RawTextBlob = &textOf[0]
				textOf = textOf[1:]
			}
		}
		return true
	})
}

func (r *jsonReader) blob(n *blobNode) bool {
	var seenPath, seenText bool
	return r.object(func(key []byte) bool {
		switch string(key) {
		case "path":
			if seenPath {
				return false
			}
			seenPath = true
			return r.stringField(&n.path)
		case "rawTextBlob":
			if seenText {
				return false
			}
			seenText = true
			if r.null() {
				return true
			}
			if r.peek() != '"' {
				return false
			}
			s, ok := r.str(strIntern)
			n.text, n.hasText = s, true
			return ok
		}
		return r.skipUnknown(key, "path", "rawTextBlob")
	})
}
