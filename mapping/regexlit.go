package mapping

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Most regexes of real mappings are a literal, optionally followed by a
// repeated character class and anchored at the end: `" "`, `"!.+$"`,
// `"\\.[0-9]+"`. Go's regexp runs its general machinery on them for
// every item; litRe finds the same leftmost-first match with
// strings.Index and a scan, and no allocation.

// nativeRe is a regex the native sub runs: lit when the pattern has the
// simple shape, re otherwise.
type nativeRe struct {
	re  *regexp.Regexp
	lit *litRe
}

// litRe is the pattern lit, lit C+, lit C+$ or lit$ (lit may be empty
// when C+ is there), where C+ is a greedy repetition of one character
// class. The subject must be valid UTF-8.
type litRe struct {
	lit string
	// class: the repeated class, or nil. A rune is in it when it falls in
	// one of the ranges (pairs of lo, hi) or, for ., when it is not \n
	// (anyNotNL) or always (any).
	class         []rune
	hasClass      bool
	anyNotNL, any bool
	end           bool // anchored at the end of the text ($ without (?m))
}

// newLitRe returns the matcher of re (parsed and simplified), or nil when
// re does not have one of litRe's shapes.
func newLitRe(re *syntax.Regexp) *litRe {
	var subs []*syntax.Regexp
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	} else {
		subs = []*syntax.Regexp{re}
	}
	l := &litRe{}
	i := 0
	if i < len(subs) && subs[i].Op == syntax.OpLiteral {
		if subs[i].Flags&syntax.FoldCase != 0 {
			return nil
		}
		l.lit = string(subs[i].Rune)
		i++
	}
	if i < len(subs) && subs[i].Op == syntax.OpPlus {
		if subs[i].Flags&syntax.NonGreedy != 0 || !l.setClass(subs[i].Sub[0]) {
			return nil
		}
		i++
	}
	if i < len(subs) && subs[i].Op == syntax.OpEndText {
		l.end = true
		i++
	}
	if i != len(subs) || l.lit == "" && !l.hasClass {
		return nil
	}
	return l
}

func (l *litRe) setClass(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpCharClass:
		l.class = re.Rune
	case syntax.OpAnyCharNotNL:
		l.anyNotNL = true
	case syntax.OpAnyChar:
		l.any = true
	case syntax.OpLiteral:
		if len(re.Rune) != 1 || re.Flags&syntax.FoldCase != 0 {
			return false
		}
		l.class = []rune{re.Rune[0], re.Rune[0]}
	default:
		return false
	}
	l.hasClass = true
	return true
}

func (l *litRe) in(r rune) bool {
	switch {
	case l.any:
		return true
	case l.anyNotNL:
		return r != '\n'
	}
	for i := 0; i+1 < len(l.class); i += 2 {
		if r < l.class[i] {
			return false // the ranges are sorted
		}
		if r <= l.class[i+1] {
			return true
		}
	}
	return false
}

// suffixStart returns where the class's run that ends s starts.
func (l *litRe) suffixStart(s string) int {
	switch {
	case l.any:
		return 0
	case l.anyNotNL:
		// In valid UTF-8 the byte '\n' is only ever the rune '\n'.
		return strings.LastIndexByte(s, '\n') + 1
	}
	k := len(s)
	for k > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:k])
		if !l.in(r) {
			break
		}
		k -= n
	}
	return k
}

// run returns the end of the class's run starting at j.
func (l *litRe) run(s string, j int) int {
	switch {
	case l.any:
		return len(s)
	case l.anyNotNL:
		if i := strings.IndexByte(s[j:], '\n'); i >= 0 {
			return j + i
		}
		return len(s)
	}
	for j < len(s) {
		r, n := utf8.DecodeRuneInString(s[j:])
		if !l.in(r) {
			break
		}
		j += n
	}
	return j
}

// find returns the leftmost-first match in s starting at or after from
// (a rune boundary), as Go's regexp would.
func (l *litRe) find(s string, from int) (int, int, bool) {
	if !l.hasClass {
		if l.end {
			i := len(s) - len(l.lit)
			if i >= from && s[i:] == l.lit {
				return i, len(s), true
			}
			return 0, 0, false
		}
		i := strings.Index(s[from:], l.lit)
		if i < 0 {
			return 0, 0, false
		}
		return from + i, from + i + len(l.lit), true
	}
	if l.end {
		// The class must run from the literal's end to the end of s: the
		// leftmost match is the first literal ending at or after k, where
		// that run starts, and before the end.
		k := l.suffixStart(s)
		p := max(from, k-len(l.lit))
		i := strings.Index(s[p:], l.lit)
		if i < 0 || p+i+len(l.lit) >= len(s) {
			return 0, 0, false
		}
		return p + i, len(s), true
	}
	for p := from; p <= len(s); {
		i := strings.Index(s[p:], l.lit)
		if i < 0 {
			return 0, 0, false
		}
		i += p
		j := i + len(l.lit)
		if e := l.run(s, j); e > j {
			return i, e, true
		}
		if l.lit != "" {
			p = i + 1 // a valid UTF-8 literal only matches at rune starts
			continue
		}
		if j >= len(s) {
			return 0, 0, false
		}
		_, n := utf8.DecodeRuneInString(s[j:])
		p = j + n
	}
	return 0, 0, false
}

// replace is sub (the first match) or gsub (every match) of s by rep.
func (l *litRe) replace(s, rep string, global bool) string {
	if !l.hasClass && !l.end && global {
		return strings.ReplaceAll(s, l.lit, rep)
	}
	a, b, ok := l.find(s, 0)
	if !ok {
		return s
	}
	if !global {
		return s[:a] + rep + s[b:]
	}
	var sb strings.Builder
	last := 0
	for ok {
		sb.WriteString(s[last:a])
		sb.WriteString(rep)
		last = b
		a, b, ok = l.find(s, b)
	}
	sb.WriteString(s[last:])
	return sb.String()
}

// appendReplace appends replace(s, rep, global) to dst.
func (l *litRe) appendReplace(dst []byte, s, rep string, global bool) []byte {
	last := 0
	for a, b, ok := l.find(s, 0); ok; a, b, ok = l.find(s, b) {
		dst = append(append(dst, s[last:a]...), rep...)
		last = b
		if !global {
			break
		}
	}
	return append(dst, s[last:]...)
}
