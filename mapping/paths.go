package mapping

import (
	"slices"
	"strconv"
	"strings"

	"github.com/itchyny/gojq"
)

// Fields is the set of top-level keys of a raw item that some program may
// read. A provider may decode only these keys of each item (and the ones
// its own code reads) and map the result: every program then computes
// exactly what it would have computed from the whole item. All is true
// when the analysis cannot bound what is read (a program that outputs the
// whole item, iterates it, takes its keys or length, calls a function it
// does not know, …): the item must then be decoded whole.
type Fields struct {
	All bool
	// Keys are sorted and unique; empty when All is set.
	Keys []string
}

// AllFields is the Fields of a program that may read anything.
var AllFields = Fields{All: true}

// Union returns the keys either f or g may read.
func (f Fields) Union(g Fields) Fields {
	if f.All || g.All {
		return AllFields
	}
	keys := append(slices.Clip(f.Keys), g.Keys...)
	slices.Sort(keys)
	return Fields{Keys: slices.Compact(keys)}
}

// Fields returns the top-level keys of a raw item that the resource's
// programs may read: selector query, itemsToParse and every mapping field.
// A field computed by a Resolver counts as reading everything (a resolver
// is given the whole item). A resource that did not compile reads
// everything: it maps nothing, but its kind may still be listed.
func (r *ResourceMapper) Fields() Fields { return r.paths }

// resourceFields computes ResourceMapper.Fields once, at Compile.
func resourceFields(res *Resource, resolvers []resolver) Fields {
	var f Fields
	add := func(src string) {
		if f.All {
			return
		}
		for _, r := range resolvers {
			if strings.HasPrefix(src, r.prefix) {
				f = AllFields
				return
			}
		}
		f = f.Union(ProgramFields(src))
	}
	q := res.Selector.Query
	if q == "" {
		q = DefaultSelectorQuery
	}
	add(q)
	if res.Port.ItemsToParse != "" {
		// The mappings see the parent item with the element bound to
		// itemsToParseName: keys they read under that name come from the
		// element, but keeping a parent key of that name costs nothing.
		add(res.Port.ItemsToParse)
	}
	var node func(Field)
	var query func(*SearchQuery)
	node = func(fd Field) {
		if fd.Query != nil {
			query(fd.Query)
			return
		}
		add(fd.JQ)
	}
	query = func(sq *SearchQuery) {
		add(sq.Combinator)
		for _, r := range sq.Rules {
			if r.Query != nil {
				query(r.Query)
				continue
			}
			add(r.Property)
			add(r.Operator)
			add(r.Value)
		}
	}
	for _, em := range res.Port.Entity.Mappings {
		node(em.Identifier)
		add(em.Blueprint)
		if em.Title != "" {
			add(em.Title)
		}
		if em.Icon != "" {
			add(em.Icon)
		}
		if em.Team != nil {
			node(*em.Team)
		}
		for _, p := range em.Properties {
			add(p)
		}
		for _, rel := range em.Relations {
			node(rel)
		}
	}
	return f
}

// ProgramFields returns the top-level keys of its input that the jq program
// src (as written in a mapping: Ocean's quote rewriting applies) may read.
// A program that does not parse reads everything: it never runs, and
// guessing less would gain nothing.
//
// The analysis follows the input through the program. Only terms whose
// input may be the item itself can read its keys: after `.a | …` the right
// side sees a value inside `a`, which is kept whole. A term that would
// observe the item as a whole — output it, iterate it, compare it, pass
// it to a function other than the few whose result does not depend on its
// keys, bind it to a variable, index it with a computed key — makes the
// answer All.
func ProgramFields(src string) Fields {
	q, err := gojq.Parse(formatFilter(src))
	if err != nil {
		return AllFields
	}
	a := &pathAnalysis{keys: map[string]struct{}{}}
	if a.query(q, true) {
		// The program's output may be the item itself.
		a.all = true
	}
	if a.all {
		return AllFields
	}
	f := Fields{Keys: make([]string, 0, len(a.keys))}
	for k := range a.keys {
		f.Keys = append(f.Keys, k)
	}
	slices.Sort(f.Keys)
	return f
}

type pathAnalysis struct {
	keys map[string]struct{}
	all  bool
}

// query analyses q run on the item (root) or on a value that is not the
// item (!root), and reports whether its output may be the item itself.
// A program whose input is not the item cannot read the item's keys:
// variables are the only way back to it, and binding the item to one
// makes the answer All.
func (a *pathAnalysis) query(q *gojq.Query, root bool) bool {
	if q == nil || a.all || !root {
		return false
	}
	if len(q.FuncDefs) > 0 || len(q.Imports) > 0 {
		// User-defined functions are not analysed.
		a.all = true
		return false
	}
	if q.Term != nil {
		return a.term(q.Term)
	}
	switch q.Op {
	case gojq.OpPipe:
		left := a.query(q.Left, true)
		if len(q.Patterns) > 0 {
			// `E as $x | body`: body runs on the same input.
			if left {
				a.all = true // the item bound to a variable
				return false
			}
			for _, p := range q.Patterns {
				a.pattern(p)
			}
			return a.query(q.Right, true)
		}
		return a.query(q.Right, left)
	case gojq.OpComma, gojq.OpAlt:
		l := a.query(q.Left, true)
		r := a.query(q.Right, true)
		return l || r
	case gojq.OpAnd, gojq.OpOr:
		// Only the truthiness of each side is used, and the item (an
		// object) is true whatever keys it has.
		a.query(q.Left, true)
		a.query(q.Right, true)
		return false
	case gojq.OpAdd, gojq.OpSub, gojq.OpMul, gojq.OpDiv, gojq.OpMod,
		gojq.OpEq, gojq.OpNe, gojq.OpGt, gojq.OpLt, gojq.OpGe, gojq.OpLe:
		a.operand(q.Left)
		a.operand(q.Right)
		return false
	default:
		// Assignments output the item, changed.
		a.all = true
		return false
	}
}

// operand analyses a query whose output is used as a value: the item
// itself there is observed whole.
func (a *pathAnalysis) operand(q *gojq.Query) {
	if a.query(q, true) {
		a.all = true
	}
}

// pattern analyses the keys a destructuring pattern computes (its
// values are destructured from a value that is not the item).
func (a *pathAnalysis) pattern(p *gojq.Pattern) {
	for _, e := range p.Array {
		a.pattern(e)
	}
	for _, o := range p.Object {
		if o.KeyString != nil {
			a.str(o.KeyString)
		}
		if o.KeyQuery != nil {
			a.operand(o.KeyQuery)
		}
		if o.Val != nil {
			a.pattern(o.Val)
		}
	}
}

// str analyses a string literal's interpolations.
func (a *pathAnalysis) str(s *gojq.String) {
	for _, q := range s.Queries {
		a.operand(q)
	}
}

// key records the read of a literal key of the item.
func (a *pathAnalysis) key(k string) { a.keys[k] = struct{}{} }

// index analyses x applied to the item (root) or to another value, with
// the item as the input of its key expressions, and reports whether it
// selected a literal key of the item.
func (a *pathAnalysis) index(x *gojq.Index, root bool) {
	switch {
	case x.Name != "":
		if root {
			a.key(x.Name)
		}
		return
	case x.Str != nil:
		a.str(x.Str)
		if root {
			if len(x.Str.Queries) > 0 {
				a.all = true
				return
			}
			a.key(x.Str.Str)
		}
		return
	}
	// .[expr], .[lo:hi]: the expressions run on the term's input.
	if !x.IsSlice && x.Start != nil && x.End == nil {
		if k, ok := literalString(x.Start); ok {
			if root {
				a.key(k)
			}
			return
		}
	}
	a.operand(x.Start)
	a.operand(x.End)
	if root {
		a.all = true
	}
}

// literalString reports the value of a query that is a plain string
// literal.
func literalString(q *gojq.Query) (string, bool) {
	if q.Term == nil || len(q.FuncDefs) > 0 || q.Term.Type != gojq.TermTypeString || len(q.Term.SuffixList) > 0 {
		return "", false
	}
	if s := q.Term.Str; s != nil && len(s.Queries) == 0 {
		return s.Str, true
	}
	return "", false
}

// term analyses a term run on the item and reports whether its output may
// be the item.
func (a *pathAnalysis) term(t *gojq.Term) bool {
	out := a.termBase(t)
	for _, s := range t.SuffixList {
		if a.all {
			return false
		}
		switch {
		case s.Index != nil:
			a.index(s.Index, out)
			out = false
		case s.Iter:
			if out {
				a.all = true
			}
			out = false
		}
		// Optional (`?`) keeps what it suppresses the errors of.
	}
	return out
}

func (a *pathAnalysis) termBase(t *gojq.Term) bool {
	switch t.Type {
	case gojq.TermTypeIdentity:
		return true
	case gojq.TermTypeNull, gojq.TermTypeTrue, gojq.TermTypeFalse, gojq.TermTypeNumber, gojq.TermTypeBreak:
		return false
	case gojq.TermTypeIndex:
		a.index(t.Index, true)
		return false
	case gojq.TermTypeString:
		a.str(t.Str)
		return false
	case gojq.TermTypeFormat:
		if t.Str == nil {
			// @json, @base64, …: the input formatted.
			a.all = true
			return false
		}
		a.str(t.Str)
		return false
	case gojq.TermTypeQuery:
		return a.query(t.Query, true)
	case gojq.TermTypeArray:
		if t.Array.Query != nil {
			a.operand(t.Array.Query)
		}
		return false
	case gojq.TermTypeObject:
		a.object(t.Object)
		return false
	case gojq.TermTypeUnary:
		if a.term(t.Unary.Term) {
			a.all = true
		}
		return false
	case gojq.TermTypeIf:
		return a.ifTerm(t.If)
	case gojq.TermTypeTry:
		out := a.query(t.Try.Body, true)
		// The catch body runs on the error message, not the item; an
		// error that quotes the item comes from a term that observed
		// it whole, which is All already.
		return out
	case gojq.TermTypeLabel:
		return a.query(t.Label.Body, true)
	case gojq.TermTypeFunc:
		return a.call(t.Func)
	case gojq.TermTypeReduce:
		return a.fold(t.Reduce.Query, t.Reduce.Patterns, t.Reduce.Start)
	case gojq.TermTypeForeach:
		return a.fold(t.Foreach.Query, t.Foreach.Patterns, t.Foreach.Start)
	}
	// `..` and anything newer than this analysis.
	a.all = true
	return false
}

// fold analyses reduce and foreach: the source runs on the item and its
// values are bound to variables; the start runs on the item and becomes
// the state the update (and extract) run on.
func (a *pathAnalysis) fold(src *gojq.Query, ps []*gojq.Pattern, start *gojq.Query) bool {
	if a.query(src, true) {
		a.all = true
		return false
	}
	for _, p := range ps {
		a.pattern(p)
	}
	if a.query(start, true) {
		a.all = true
	}
	return false
}

func (a *pathAnalysis) ifTerm(x *gojq.If) bool {
	a.query(x.Cond, true) // truthiness only
	out := a.query(x.Then, true)
	for _, e := range x.Elif {
		a.query(e.Cond, true)
		if a.query(e.Then, true) {
			out = true
		}
	}
	if x.Else == nil {
		// `if c then t end` outputs the input when c is false.
		return true
	}
	return a.query(x.Else, true) || out
}

func (a *pathAnalysis) object(o *gojq.Object) {
	for _, kv := range o.KeyVals {
		switch {
		case kv.KeyQuery != nil:
			a.operand(kv.KeyQuery)
		case kv.KeyString != nil:
			a.str(kv.KeyString)
			if kv.Val == nil {
				// {"a"} is {"a": .a}; {"\(.x)"} a computed key.
				if len(kv.KeyString.Queries) > 0 {
					a.all = true
				} else {
					a.key(kv.KeyString.Str)
				}
			}
		case kv.Val == nil && strings.HasPrefix(kv.Key, "$"):
			// {$x}: a variable, never the item.
		case kv.Val == nil && strings.HasPrefix(kv.Key, "@"):
			a.all = true // {@base64}: the input formatted
		case kv.Val == nil:
			a.key(kv.Key) // {a} is {a: .a}
		}
		if kv.Val != nil {
			a.operand(kv.Val)
		}
	}
}

// rootSafe are built-ins whose result on an object does not depend on its
// keys (or that do not read their input), with how their output relates
// to the input: passes returns the input itself (select), other returns
// something else. Their arguments run on the same input and are analysed
// as such.
var rootSafe = map[string]struct{ passes bool }{
	"select/1": {passes: true}, "objects/0": {passes: true}, "iterables/0": {passes: true},
	"values/0": {passes: true}, "debug/0": {passes: true}, "debug/1": {passes: true},
	"stderr/0": {passes: true},
	"not/0":    {}, "type/0": {}, "empty/0": {}, "error/1": {}, "range/1": {}, "range/2": {},
	"range/3": {}, "scalars/0": {}, "arrays/0": {}, "strings/0": {}, "numbers/0": {},
	"booleans/0": {}, "nulls/0": {}, "env/0": {}, "now/0": {}, "builtins/0": {},
	"input_filename/0": {}, "input_line_number/0": {}, "null/0": {}, "true/0": {},
	"false/0": {}, "isempty/1": {}, "halt/0": {}, "infinite/0": {}, "nan/0": {},
	"path/1": {},
}

// rootObserved are the arguments of rootSafe built-ins whose output is
// used only for its truthiness, emptiness or path, never as a value.
var rootObserved = map[string]struct{}{"select/1": {}, "isempty/1": {}, "path/1": {}, "debug/1": {}}

// rootGenerators are built-ins that output what one of their arguments
// outputs (first(f), limit(n; f), …): the item if that argument can.
var rootGenerators = map[string]int{ // name/arity → the argument whose output is the output
	"first/1": 0, "last/1": 0, "limit/2": 1, "nth/2": 1,
}

// call analyses a function call run on the item.
func (a *pathAnalysis) call(f *gojq.Func) bool {
	if strings.HasPrefix(f.Name, "$") {
		// Variables are never the item: binding it makes the answer
		// All ($__loc__, $ENV and the program's own are values).
		return false
	}
	name := f.Name + "/" + strconv.Itoa(len(f.Args))
	if s, ok := rootSafe[name]; ok {
		for _, arg := range f.Args {
			if _, ok := rootObserved[name]; ok {
				a.query(arg, true)
				continue
			}
			// error(.), range(.): the item as a value.
			a.operand(arg)
		}
		return s.passes
	}
	if i, ok := rootGenerators[name]; ok {
		out := false
		for j, arg := range f.Args {
			o := a.query(arg, true)
			if j == i {
				out = o
			} else if o {
				a.all = true
			}
		}
		return out
	}
	// Any other function sees the item whole (keys, length, to_entries,
	// tojson, has, getpath, paths, del, with_entries, map, …), or is one
	// this analysis does not know.
	a.all = true
	return false
}
