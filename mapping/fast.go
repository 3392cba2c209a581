package mapping

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// The fast path evaluates the expression shapes that dominate real mappings
// (field paths, literals, {}, //, tostring, ascii_downcase/upcase, string
// interpolation, +, -, *, / on numbers, floor and other rounding,
// fromdateiso8601 on plain UTC timestamps, ==, !=, and, or, not,
// to_entries, min_by/max_by, sub/gsub with literal arguments,
// [.list[]?.field], and if/elif/else,
// whose branches that are not fast run in gojq) without gojq's
// interpreter.
//
// Contract: eval returns ok=true only on the "happy path", where gojq would
// produce exactly the same first output. In every other case (type errors,
// iteration, numbers it does not format, ...) it returns ok=false and the
// caller runs the gojq program, so errors and corner cases are gojq's own.
// TestFastPathEquivalence checks this on generated programs and inputs.
type fastExpr interface {
	eval(v any) (any, bool)
}

// buildFast returns a fast evaluator for q, or nil when q has a shape the
// fast path does not handle. It must run before gojq.Compile (which may
// rewrite parts of the AST) and keeps no reference to q.
func buildFast(q *gojq.Query) fastExpr {
	if q == nil || q.Meta != nil || len(q.Imports) > 0 || len(q.FuncDefs) > 0 || len(q.Patterns) > 0 {
		return nil
	}
	if q.Term != nil {
		return buildFastTerm(q.Term)
	}
	if q.Left == nil || q.Right == nil {
		return nil
	}
	l, r := buildFast(q.Left), buildFast(q.Right)
	if l == nil || r == nil {
		return nil
	}
	switch q.Op {
	case gojq.OpPipe:
		if _, ok := l.(fIdentity); ok {
			return r
		}
		return floatWrap(fusePipe(l, r))
	case gojq.OpAlt:
		return fAlt{l, r}
	case gojq.OpAdd:
		return fAdd{l, r}
	case gojq.OpSub:
		return floatWrap(fArith{l, r, '-'})
	case gojq.OpMul:
		return floatWrap(fArith{l, r, '*'})
	case gojq.OpDiv:
		return floatWrap(fArith{l, r, '/'})
	case gojq.OpEq:
		return fEq{l, r, false}
	case gojq.OpNe:
		return fEq{l, r, true}
	case gojq.OpAnd:
		return fAnd{l, r}
	case gojq.OpOr:
		return fOr{l, r}
	}
	return nil
}

func buildFastTerm(t *gojq.Term) fastExpr {
	var base fastExpr
	var steps []step
	switch t.Type {
	case gojq.TermTypeIdentity:
		base = fIdentity{}
	case gojq.TermTypeNull:
		base = fConst{nil}
	case gojq.TermTypeTrue:
		base = fConst{true}
	case gojq.TermTypeFalse:
		base = fConst{false}
	case gojq.TermTypeNumber:
		v, ok := constNumber(t.Number, false)
		if !ok {
			return nil
		}
		base = fConst{v}
	case gojq.TermTypeUnary:
		if t.Unary == nil || t.Unary.Op != gojq.OpSub || t.Unary.Term == nil ||
			t.Unary.Term.Type != gojq.TermTypeNumber || len(t.Unary.Term.SuffixList) > 0 {
			return nil
		}
		v, ok := constNumber(t.Unary.Term.Number, true)
		if !ok {
			return nil
		}
		base = fConst{v}
	case gojq.TermTypeString:
		base = buildFastString(t.Str)
	case gojq.TermTypeIndex:
		s, ok := indexStep(t.Index)
		if !ok {
			return nil
		}
		base, steps = fIdentity{}, []step{s}
	case gojq.TermTypeFunc:
		if t.Func == nil {
			return nil
		}
		if len(t.Func.Args) == 1 && (t.Func.Name == "max_by" || t.Func.Name == "min_by") {
			if f := buildFast(t.Func.Args[0]); f != nil {
				base = fMinMaxBy{f, t.Func.Name == "min_by"}
			}
			break
		}
		if t.Func.Name == "sub" || t.Func.Name == "gsub" {
			base = buildFastSub(t.Func)
			break
		}
		if len(t.Func.Args) > 0 {
			return nil
		}
		switch t.Func.Name {
		case "to_entries":
			base = fToEntries{}
		case "tostring":
			base = fToString{fIdentity{}}
		case "ascii_downcase":
			base = fASCIICase{fIdentity{}, false}
		case "ascii_upcase":
			base = fASCIICase{fIdentity{}, true}
		case "not":
			base = fNot{fIdentity{}}
		case "fromdateiso8601", "fromdate":
			base = fFromDate{}
		default:
			if f, ok := mathFuncs[t.Func.Name]; ok {
				base = fMath{f}
			}
		}
	case gojq.TermTypeQuery:
		base = buildFast(t.Query)
	case gojq.TermTypeIf:
		base = buildFastIf(t.If)
	case gojq.TermTypeObject:
		if t.Object != nil && len(t.Object.KeyVals) == 0 {
			base = fEmptyObject{}
		}
	case gojq.TermTypeArray:
		if t.Array != nil {
			base = buildFastCollect(t.Array.Query)
		}
	}
	if base == nil {
		return nil
	}
	for _, s := range t.SuffixList {
		switch {
		case s.Index != nil:
			st, ok := indexStep(s.Index)
			if !ok {
				return nil
			}
			steps = append(steps, st)
		case s.Optional:
			// On the happy path `x?` yields what x yields.
		default:
			return nil
		}
	}
	if len(steps) == 0 {
		return base
	}
	if _, ok := base.(fIdentity); ok {
		return fPath{steps: steps}
	}
	return fPipe{base, fPath{steps: steps}}
}

// buildFastCollect handles `[PATH[]PATH]`, optionally with `?` after the
// iteration (`[.reviewers[]?.username]`, `[.__members[]?.username]`):
// gitlab-v2's way of listing one field of every element, which otherwise
// runs gojq's interpreter for every item.
func buildFastCollect(q *gojq.Query) fastExpr {
	if q == nil || q.Meta != nil || len(q.Imports) > 0 || len(q.FuncDefs) > 0 || len(q.Patterns) > 0 ||
		q.Left != nil || q.Right != nil || q.Term == nil {
		return nil
	}
	t := q.Term
	var c fCollect
	switch t.Type {
	case gojq.TermTypeIdentity:
	case gojq.TermTypeIndex:
		st, ok := indexStep(t.Index)
		if !ok {
			return nil
		}
		c.pre = []step{st}
	default:
		return nil
	}
	iterated := false
	for _, s := range t.SuffixList {
		switch {
		case s.Iter && !iterated:
			iterated = true
		case s.Index != nil:
			st, ok := indexStep(s.Index)
			if !ok {
				return nil
			}
			if iterated {
				c.post = append(c.post, st)
			} else {
				c.pre = append(c.pre, st)
			}
		case s.Optional:
			// A `?` right after the iteration makes iterating null (a
			// missing list) yield nothing; elsewhere it changes nothing
			// on the happy path (gojq's `.a[].b?` fails on a null .a).
			c.optional = c.optional || (iterated && len(c.post) == 0)
		default:
			return nil
		}
	}
	if !iterated {
		return nil
	}
	return c
}

// fCollect is `[PATH[]PATH]` over an array whose elements the second path
// reads as fPath does; anything else (an object to iterate, an element the
// path cannot index) is left to gojq.
type fCollect struct {
	pre, post []step
	// optional: a `?` follows the iteration, so a null list yields [].
	optional bool
}

func (c fCollect) eval(v any) (any, bool) {
	x, ok := fPath{steps: c.pre}.eval(v)
	if !ok {
		return nil, false
	}
	switch a := x.(type) {
	case nil:
		if c.optional {
			return []any{}, true
		}
		return nil, false
	case []any:
		out := make([]any, len(a))
		for i, el := range a {
			r, ok := fPath{steps: c.post}.eval(el)
			if !ok {
				return nil, false
			}
			out[i] = r
		}
		return out, true
	}
	return nil, false
}

// buildFastIf handles if/elif/else whose conditions are fast. A branch
// that is not fast is kept as nil: when the condition picks it, the
// expression declines and gojq runs it, so `if .merged_at == null then
// null else <date maths> end` is fast for every open merge request.
func buildFastIf(x *gojq.If) fastExpr {
	if x == nil || x.Cond == nil || x.Then == nil {
		return nil
	}
	cond := buildFast(x.Cond)
	if cond == nil {
		return nil
	}
	out := &fIf{cond: cond, then: buildFast(x.Then)}
	switch {
	case len(x.Elif) > 0:
		// elif is a nested if in the else branch.
		rest := &gojq.If{Cond: x.Elif[0].Cond, Then: x.Elif[0].Then, Elif: x.Elif[1:], Else: x.Else}
		if e := buildFastIf(rest); e != nil {
			out.els = e
		}
	case x.Else == nil:
		out.els = fIdentity{} // jq: a missing else is `.`
	default:
		out.els = buildFast(x.Else)
	}
	return out
}

// buildFastSub handles sub and gsub with literal regex, replacement and
// flags, for the regexes the native sub handles.
func buildFastSub(f *gojq.Func) fastExpr {
	if len(f.Args) < 2 || len(f.Args) > 3 {
		return nil
	}
	re, ok := stringLiteral(f.Args[0])
	if !ok {
		return nil
	}
	rep, ok := stringLiteral(f.Args[1])
	if !ok {
		return nil
	}
	flags := ""
	if len(f.Args) == 3 {
		if flags, ok = stringLiteral(f.Args[2]); !ok {
			return nil
		}
	}
	if f.Name == "gsub" {
		flags += "g"
	}
	r := nativeRegexp(re, flags)
	if r == nil {
		return nil
	}
	return fSub{re: r, rep: rep, global: strings.ContainsRune(flags, 'g')}
}

func buildFastString(s *gojq.String) fastExpr {
	if s == nil {
		return nil
	}
	if s.Queries == nil {
		return fConst{s.Str}
	}
	parts := make([]fastExpr, 0, len(s.Queries))
	for _, q := range s.Queries {
		if q.Term != nil && q.Term.Type == gojq.TermTypeString && q.Term.Str != nil &&
			q.Term.Str.Queries == nil && len(q.Term.SuffixList) == 0 {
			parts = append(parts, fConst{q.Term.Str.Str})
			continue
		}
		f := buildFast(q)
		if f == nil {
			return nil
		}
		parts = append(parts, fToString{f})
	}
	return fInterp{parts}
}

// constNumber evaluates a number literal exactly as gojq does, once.
func constNumber(lit string, negate bool) (any, bool) {
	src := lit
	if negate {
		src = "-" + lit
	}
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, false
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, false
	}
	v, ok := code.Run(nil).Next()
	if !ok {
		return nil, false
	}
	switch v.(type) {
	case int, float64:
		return v, true
	}
	return nil, false // big integers and anything unusual: leave to gojq
}

type step struct {
	key   string
	index int
	isIdx bool
}

func indexStep(x *gojq.Index) (step, bool) {
	if x == nil || x.IsSlice || x.End != nil {
		return step{}, false
	}
	switch {
	case x.Name != "":
		return step{key: x.Name}, true
	case x.Str != nil:
		if x.Str.Queries != nil {
			return step{}, false
		}
		return step{key: x.Str.Str}, true
	case x.Start != nil:
		f := buildFast(x.Start)
		c, ok := f.(fConst)
		if !ok {
			return step{}, false
		}
		switch v := c.v.(type) {
		case string:
			return step{key: v}, true
		case int:
			return step{index: v, isIdx: true}, true
		}
	}
	return step{}, false
}

type fIdentity struct{}

func (fIdentity) eval(v any) (any, bool) { return v, true }

type fConst struct{ v any }

func (c fConst) eval(any) (any, bool) { return c.v, true }

type fPath struct{ steps []step }

func (p fPath) eval(v any) (any, bool) {
	for _, s := range p.steps {
		if s.isIdx {
			switch a := v.(type) {
			case nil:
			case []any:
				i := s.index
				if i < 0 {
					i += len(a)
				}
				if i < 0 || i >= len(a) {
					v = nil
				} else {
					v = a[i]
				}
			default:
				return nil, false
			}
			continue
		}
		switch m := v.(type) {
		case nil:
		case map[string]any:
			v = m[s.key]
		default:
			return nil, false
		}
	}
	return v, true
}

type fPipe struct{ l, r fastExpr }

func (p fPipe) eval(v any) (any, bool) {
	x, ok := p.l.eval(v)
	if !ok {
		return nil, false
	}
	return p.r.eval(x)
}

type fAlt struct{ l, r fastExpr }

func (a fAlt) eval(v any) (any, bool) {
	x, ok := a.l.eval(v)
	if !ok {
		return nil, false
	}
	if truthy(x) {
		return x, true
	}
	return a.r.eval(v)
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	}
	return true
}

type fToString struct{ x fastExpr }

func (t fToString) eval(v any) (any, bool) {
	x, ok := t.x.eval(v)
	if !ok {
		return nil, false
	}
	return scalarString(x)
}

// scalarString is gojq's tostring for scalars.
func scalarString(x any) (any, bool) {
	switch x := x.(type) {
	case string:
		return x, true
	case nil:
		return "null", true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return formatFloat(x), true
	case json.Number:
		return x.String(), true
	}
	return nil, false
}

// formatFloat mirrors gojq's encoder for float64.
func formatFloat(f float64) string {
	if math.IsNaN(f) {
		return "null"
	}
	if f != 0 && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		// An integer (an ID): the shortest 'f' form is its digits, and
		// AppendInt finds them several times faster. -0 is left below.
		var buf [24]byte
		return string(strconv.AppendInt(buf[:0], int64(f), 10))
	}
	f = min(max(f, -math.MaxFloat64), math.MaxFloat64)
	format := byte('f')
	if x := math.Abs(f); x != 0 && x < 1e-6 || x >= 1e21 {
		format = 'e'
	}
	var buf [64]byte
	b := strconv.AppendFloat(buf[:0], f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return string(b)
}

type fASCIICase struct {
	x     fastExpr
	upper bool
}

func (c fASCIICase) eval(v any) (any, bool) {
	x, ok := c.x.eval(v)
	if !ok {
		return nil, false
	}
	s, ok := x.(string)
	if !ok || !utf8.ValidString(s) {
		// gojq's strings.Map rewrites invalid UTF-8; leave that to gojq.
		return nil, false
	}
	lo, hi := byte('A'), byte('Z')
	if c.upper {
		lo, hi = 'a', 'z'
	}
	i := strings.IndexFunc(s, func(r rune) bool { return r >= rune(lo) && r <= rune(hi) })
	if i < 0 {
		return s, true
	}
	b := []byte(s)
	for j := i; j < len(b); j++ {
		if b[j] >= lo && b[j] <= hi {
			b[j] ^= 0x20
		}
	}
	return string(b), true
}

type fNot struct{ x fastExpr }

func (n fNot) eval(v any) (any, bool) {
	x, ok := n.x.eval(v)
	if !ok {
		return nil, false
	}
	return !truthy(x), true
}

type fInterp struct{ parts []fastExpr }

func (s fInterp) eval(v any) (any, bool) {
	var b strings.Builder
	for _, p := range s.parts {
		x, ok := p.eval(v)
		if !ok {
			return nil, false
		}
		b.WriteString(x.(string))
	}
	return b.String(), true
}

type fAdd struct{ l, r fastExpr }

func (a fAdd) eval(v any) (any, bool) {
	// gojq evaluates the right operand first; both are pure here, so only
	// the result matters.
	x, ok := a.l.eval(v)
	if !ok {
		return nil, false
	}
	y, ok := a.r.eval(v)
	if !ok {
		return nil, false
	}
	switch {
	case x == nil:
		return y, scalarOrString(y)
	case y == nil:
		return x, scalarOrString(x)
	}
	xs, ok1 := x.(string)
	ys, ok2 := y.(string)
	if ok1 && ok2 {
		return xs + ys, true
	}
	return arith('+', x, y)
}

// scalarOrString keeps the fast + to values whose identity gojq would return
// unchanged (null + x = x).
func scalarOrString(v any) bool {
	switch v.(type) {
	case nil, bool, string, float64, int:
		return true
	}
	return false
}

type fEq struct {
	l, r fastExpr
	neg  bool
}

func (e fEq) eval(v any) (any, bool) {
	x, ok := e.l.eval(v)
	if !ok {
		return nil, false
	}
	y, ok := e.r.eval(v)
	if !ok {
		return nil, false
	}
	eq, ok := scalarEqual(x, y)
	if !ok {
		return nil, false
	}
	return eq != e.neg, true
}

func scalarEqual(x, y any) (bool, bool) {
	switch x := x.(type) {
	case nil:
		switch y.(type) {
		case nil:
			return true, true
		case bool, string, float64, int:
			return false, true
		}
	case bool:
		switch y := y.(type) {
		case bool:
			return x == y, true
		case nil, string, float64, int:
			return false, true
		}
	case string:
		switch y := y.(type) {
		case string:
			return x == y, true
		case nil, bool, float64, int:
			return false, true
		}
	case float64:
		switch y := y.(type) {
		case float64:
			return x == y, !math.IsNaN(x) && !math.IsNaN(y)
		case int:
			return x == float64(y), !math.IsNaN(x) && math.Abs(float64(y)) < 1<<53
		case nil, bool, string:
			return false, true
		}
	case int:
		switch y := y.(type) {
		case int:
			return x == y, true
		case float64:
			return float64(x) == y, !math.IsNaN(y) && math.Abs(float64(x)) < 1<<53
		case nil, bool, string:
			return false, true
		}
	}
	return false, false
}

type fAnd struct{ l, r fastExpr }

func (a fAnd) eval(v any) (any, bool) {
	x, ok := a.l.eval(v)
	if !ok {
		return nil, false
	}
	if !truthy(x) {
		return false, true
	}
	y, ok := a.r.eval(v)
	if !ok {
		return nil, false
	}
	return truthy(y), true
}

type fOr struct{ l, r fastExpr }

func (o fOr) eval(v any) (any, bool) {
	x, ok := o.l.eval(v)
	if !ok {
		return nil, false
	}
	if truthy(x) {
		return true, true
	}
	y, ok := o.r.eval(v)
	if !ok {
		return nil, false
	}
	return truthy(y), true
}

// fToEntries is to_entries on an object: entries sorted by key, as gojq's
// keys orders them.
type fToEntries struct{}

func (fToEntries) eval(v any) (any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = map[string]any{"key": k, "value": m[k]}
	}
	return out, true
}

// fMinMaxBy is max_by(f) / min_by(f) on an array, with gojq's tie rules
// (max_by keeps the last maximum, min_by the first minimum).
type fMinMaxBy struct {
	f     fastExpr
	isMin bool
}

func (m fMinMaxBy) eval(v any) (any, bool) {
	vs, ok := v.([]any)
	if !ok {
		return nil, false
	}
	if len(vs) == 0 {
		return nil, true
	}
	best, ok := m.f.eval(vs[0])
	if !ok {
		return nil, false
	}
	j := 0
	for i := 1; i < len(vs); i++ {
		x, ok := m.f.eval(vs[i])
		if !ok {
			return nil, false
		}
		if gojq.Compare(best, x) > 0 == m.isMin {
			j, best = i, x
		}
	}
	return vs[j], true
}

type fIf struct {
	cond      fastExpr
	then, els fastExpr // nil: the branch is not fast
}

func (x *fIf) eval(v any) (any, bool) {
	c, ok := x.cond.eval(v)
	if !ok {
		return nil, false
	}
	branch := x.els
	if truthy(c) {
		branch = x.then
	}
	if branch == nil {
		return nil, false
	}
	return branch.eval(v)
}

type fSub struct {
	re     *nativeRe
	rep    string
	global bool
}

func (x fSub) eval(v any) (any, bool) {
	s, ok := v.(string)
	if !ok || !utf8.ValidString(s) {
		return nil, false
	}
	out := x.re.replace(s, x.rep, x.global)
	if out == s {
		return v, true // nothing replaced: v is already boxed
	}
	return out, true
}

// fEmptyObject is `{}`; each evaluation gets its own map, since the result
// may end up in an entity.
type fEmptyObject struct{}

func (fEmptyObject) eval(any) (any, bool) { return map[string]any{}, true }
