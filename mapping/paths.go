package mapping

import (
	"slices"
	"strconv"
	"strings"

	"github.com/itchyny/gojq"
)

// Fields is what of a raw value some program may read. A provider may
// decode only that of each item (and what its own code reads) and map the
// result: every program then computes exactly what it would have computed
// from the whole item.
//
// Of an object, only the keys in Keys are read; a key with an entry in Sub
// is read only through further indexing, and of its value only what the
// entry says (a merge request's `author` of which only `username` is read).
// Of an array, each element is read as Elems says (`.reviewers[].username`);
// the array itself keeps its length. Anything else (strings, numbers, …)
// is read whole. All is true when the analysis cannot bound what is read (a
// program that outputs the value, iterates an object, takes its keys or
// length, calls a function it does not know, …): the value must then be
// decoded whole.
//
// The rules that keep jq's error messages the same (they quote the value
// they fail on) are part of the meaning: an object whose elements are read
// (`.[]`, `.[0]`) is whole, and so is an array whose keys are read
// (`.a.b` where a is an array); a Fields with both Keys and Elems is All.
// An object of which nothing is read decodes as {}, an array as itself.
type Fields struct {
	All bool
	// Keys are sorted and unique; empty when All is set.
	Keys []string
	// Sub holds, for keys of Keys whose value is read only in part, what
	// of it is read; a key without an entry is read whole.
	Sub map[string]Fields
	// Elems, when not nil, is what is read of each element of an array.
	Elems *Fields
}

// AllFields is the Fields of a program that may read anything.
var AllFields = Fields{All: true}

// KeyFields is the Fields of code that reads the given top-level keys
// whole.
func KeyFields(keys ...string) Fields {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	return Fields{Keys: slices.Compact(keys)}
}

// Union returns what either f or g may read.
func (f Fields) Union(g Fields) Fields {
	if f.All || g.All {
		return AllFields
	}
	out := Fields{}
	if len(f.Keys)+len(g.Keys) > 0 {
		keys := append(slices.Clip(f.Keys), g.Keys...)
		slices.Sort(keys)
		out.Keys = slices.Compact(keys)
	}
	for _, k := range out.Keys {
		fs, fok := f.Key(k)
		gs, gok := g.Key(k)
		var u Fields
		switch {
		case fok && gok:
			u = fs.Union(gs)
		case fok:
			u = fs
		default:
			u = gs
		}
		if !u.All {
			if out.Sub == nil {
				out.Sub = map[string]Fields{}
			}
			out.Sub[k] = u
		}
	}
	switch {
	case f.Elems != nil && g.Elems != nil:
		e := f.Elems.Union(*g.Elems)
		out.Elems = &e
	case f.Elems != nil:
		e := *f.Elems
		out.Elems = &e
	case g.Elems != nil:
		e := *g.Elems
		out.Elems = &e
	}
	return out.norm()
}

// has reports whether f reads key k (whole or in part).
func (f Fields) has(k string) bool {
	_, ok := slices.BinarySearch(f.Keys, k)
	return ok
}

// norm applies the rules that make a Fields All.
func (f Fields) norm() Fields {
	if f.All || f.Elems != nil && (f.Elems.All || len(f.Keys) > 0) {
		return AllFields
	}
	return f
}

// Key returns what f reads of key k's value (All when k is read whole or f
// is All; ok is false when f does not read k).
func (f Fields) Key(k string) (sub Fields, ok bool) {
	if f.All {
		return AllFields, true
	}
	if !f.has(k) {
		return Fields{}, false
	}
	if s, ok := f.Sub[k]; ok {
		return s, true
	}
	return AllFields, true
}

// String renders f compactly for tests and logs: keys read whole by name,
// a key read in part as name{…}, the elements of an array as []{…} (or []
// when read whole), everything as *.
func (f Fields) String() string {
	var b strings.Builder
	f.write(&b)
	return b.String()
}

func (f Fields) write(b *strings.Builder) {
	if f.All {
		b.WriteString("*")
		return
	}
	for i, k := range f.Keys {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(k)
		if s, ok := f.Sub[k]; ok {
			b.WriteString("{")
			s.write(b)
			b.WriteString("}")
		}
	}
	if f.Elems != nil {
		if len(f.Keys) > 0 {
			b.WriteString(",")
		}
		b.WriteString("[]{")
		f.Elems.write(b)
		b.WriteString("}")
	}
}

// Fields returns the paths of a raw item that the resource's programs may
// read: selector query, itemsToParse and every mapping field.
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

// ProgramFields returns what of its input (an item: an object) the jq
// program src (as written in a mapping: Ocean's quote rewriting applies)
// may read. A program that does not parse reads everything: it never runs,
// and guessing less would gain nothing.
//
// The analysis follows values of the item through the program: after
// `.a | …` the right side sees the value at a, and reads of it (`.b`,
// `.[]`) refine what is read of a. A term that would observe such a value
// as a whole — output it, compare it, pass it to a function other than the
// few whose result does not depend on its content, bind it to a variable,
// index it with a computed key — reads it whole; the item read whole is
// All.
func ProgramFields(src string) Fields {
	q, err := gojq.Parse(formatFilter(src))
	if err != nil {
		return AllFields
	}
	root := &node{}
	var a pathAnalysis
	observe(a.query(q, []*node{root}))
	f := root.fields()
	if f.Elems != nil {
		// The item is an object, and an object whose elements are read
		// is read whole.
		return AllFields
	}
	return f
}

// node is what the analysis knows is read of one value of the item.
type node struct {
	whole bool
	keys  map[string]*node
	elems *node
}

func (n *node) key(k string) *node {
	if n.keys == nil {
		n.keys = map[string]*node{}
	}
	c := n.keys[k]
	if c == nil {
		c = &node{}
		n.keys[k] = c
	}
	return c
}

func (n *node) elem() *node {
	if n.elems == nil {
		n.elems = &node{}
	}
	return n.elems
}

func (n *node) fields() Fields {
	if n.whole {
		return AllFields
	}
	f := Fields{}
	if len(n.keys) > 0 {
		f.Keys = make([]string, 0, len(n.keys))
		for k, c := range n.keys {
			f.Keys = append(f.Keys, k)
			if s := c.fields(); !s.All {
				if f.Sub == nil {
					f.Sub = map[string]Fields{}
				}
				f.Sub[k] = s
			}
		}
		slices.Sort(f.Keys)
	}
	if n.elems != nil {
		e := n.elems.fields()
		f.Elems = &e
	}
	return f.norm()
}

// observe marks values as read whole.
func observe(ns []*node) {
	for _, n := range ns {
		n.whole = true
	}
}

// pathAnalysis walks a program. Each method takes the values of the item
// its input may be (none: the input is not a value of the item) and
// returns the values of the item its output may be, unchanged; a value
// the output is built from, or that is used in any other way than the
// analysis understands, is observed (read whole).
type pathAnalysis struct{}

// query analyses q run on in.
func (a *pathAnalysis) query(q *gojq.Query, in []*node) []*node {
	if q == nil || len(in) == 0 {
		// A program whose input is not a value of the item cannot read
		// the item: variables are the only way back to it, and binding a
		// value to one reads it whole.
		return nil
	}
	if len(q.FuncDefs) > 0 || len(q.Imports) > 0 {
		// User-defined functions are not analysed.
		observe(in)
		return nil
	}
	if q.Term != nil {
		return a.term(q.Term, in)
	}
	switch q.Op {
	case gojq.OpPipe:
		left := a.query(q.Left, in)
		if len(q.Patterns) > 0 {
			// `E as $x | body`: E's values bound to variables, body run
			// on the same input.
			observe(left)
			for _, p := range q.Patterns {
				a.pattern(p, in)
			}
			return a.query(q.Right, in)
		}
		return a.query(q.Right, left)
	case gojq.OpComma, gojq.OpAlt:
		return append(a.query(q.Left, in), a.query(q.Right, in)...)
	case gojq.OpAnd, gojq.OpOr:
		// Only the truthiness of each side is used, which projection
		// does not change (objects and arrays are true whatever they
		// hold).
		a.query(q.Left, in)
		a.query(q.Right, in)
		return nil
	case gojq.OpAdd, gojq.OpSub, gojq.OpMul, gojq.OpDiv, gojq.OpMod,
		gojq.OpEq, gojq.OpNe, gojq.OpGt, gojq.OpLt, gojq.OpGe, gojq.OpLe:
		a.operand(q.Left, in)
		a.operand(q.Right, in)
		return nil
	default:
		// Assignments output their input, changed.
		observe(in)
		return nil
	}
}

// operand analyses a query whose output is used as a value.
func (a *pathAnalysis) operand(q *gojq.Query, in []*node) {
	observe(a.query(q, in))
}

// pattern analyses the keys a destructuring pattern computes (run on in;
// the values it destructures were bound, so read whole).
func (a *pathAnalysis) pattern(p *gojq.Pattern, in []*node) {
	for _, e := range p.Array {
		a.pattern(e, in)
	}
	for _, o := range p.Object {
		if o.KeyString != nil {
			a.str(o.KeyString, in)
		}
		if o.KeyQuery != nil {
			a.operand(o.KeyQuery, in)
		}
		if o.Val != nil {
			a.pattern(o.Val, in)
		}
	}
}

// str analyses a string literal's interpolations.
func (a *pathAnalysis) str(s *gojq.String, in []*node) {
	for _, q := range s.Queries {
		a.operand(q, in)
	}
}

func childrenAt(ns []*node, k string) []*node {
	out := make([]*node, len(ns))
	for i, n := range ns {
		out[i] = n.key(k)
	}
	return out
}

func elemsOf(ns []*node) []*node {
	out := make([]*node, len(ns))
	for i, n := range ns {
		out[i] = n.elem()
	}
	return out
}

// index analyses x applied to the values of, with in the input of its key
// expressions.
func (a *pathAnalysis) index(x *gojq.Index, of, in []*node) []*node {
	switch {
	case x.Name != "":
		return childrenAt(of, x.Name)
	case x.Str != nil:
		a.str(x.Str, in)
		if len(x.Str.Queries) > 0 {
			observe(of)
			return nil
		}
		return childrenAt(of, x.Str.Str)
	}
	if !x.IsSlice && x.Start != nil && x.End == nil {
		if k, ok := literalString(x.Start); ok {
			return childrenAt(of, k)
		}
		if literalNumber(x.Start) {
			// .[0]: an element of an array (of an object: an error
			// quoting it, which reading elements keeps whole).
			return elemsOf(of)
		}
	}
	// .[expr], .[lo:hi]: the expressions run on the term's input.
	a.operand(x.Start, in)
	a.operand(x.End, in)
	observe(of)
	return nil
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

// literalNumber reports whether a query is a plain number literal.
func literalNumber(q *gojq.Query) bool {
	return q.Term != nil && len(q.FuncDefs) == 0 && q.Term.Type == gojq.TermTypeNumber && len(q.Term.SuffixList) == 0
}

// term analyses a term run on in.
func (a *pathAnalysis) term(t *gojq.Term, in []*node) []*node {
	out := a.termBase(t, in)
	for _, s := range t.SuffixList {
		switch {
		case s.Index != nil:
			out = a.index(s.Index, out, in)
		case s.Iter:
			out = elemsOf(out)
		}
		// Optional (`?`) keeps what it suppresses the errors of.
	}
	return out
}

func (a *pathAnalysis) termBase(t *gojq.Term, in []*node) []*node {
	switch t.Type {
	case gojq.TermTypeIdentity:
		return in
	case gojq.TermTypeNull, gojq.TermTypeTrue, gojq.TermTypeFalse, gojq.TermTypeNumber, gojq.TermTypeBreak:
		return nil
	case gojq.TermTypeIndex:
		return a.index(t.Index, in, in)
	case gojq.TermTypeString:
		a.str(t.Str, in)
		return nil
	case gojq.TermTypeFormat:
		if t.Str == nil {
			// @json, @base64, …: the input formatted.
			observe(in)
			return nil
		}
		a.str(t.Str, in)
		return nil
	case gojq.TermTypeQuery:
		return a.query(t.Query, in)
	case gojq.TermTypeArray:
		if t.Array.Query != nil {
			a.operand(t.Array.Query, in)
		}
		return nil
	case gojq.TermTypeObject:
		a.object(t.Object, in)
		return nil
	case gojq.TermTypeUnary:
		observe(a.term(t.Unary.Term, in))
		return nil
	case gojq.TermTypeIf:
		return a.ifTerm(t.If, in)
	case gojq.TermTypeTry:
		// The catch body runs on the error message, not a value of the
		// item; an error that quotes a value comes from a term that
		// read it whole, or from one that failed on its type, which
		// projection keeps (see Fields).
		return a.query(t.Try.Body, in)
	case gojq.TermTypeLabel:
		return a.query(t.Label.Body, in)
	case gojq.TermTypeFunc:
		return a.call(t.Func, in)
	case gojq.TermTypeReduce:
		a.fold(t.Reduce.Query, t.Reduce.Patterns, t.Reduce.Start, in)
		return nil
	case gojq.TermTypeForeach:
		a.fold(t.Foreach.Query, t.Foreach.Patterns, t.Foreach.Start, in)
		return nil
	}
	// `..` and anything newer than this analysis.
	observe(in)
	return nil
}

// fold analyses reduce and foreach: the source runs on the input and its
// values are bound to variables; the start runs on the input and becomes
// the state the update (and extract) run on, so both are read whole and
// the update reads nothing else of the item.
func (a *pathAnalysis) fold(src *gojq.Query, ps []*gojq.Pattern, start *gojq.Query, in []*node) {
	a.operand(src, in)
	for _, p := range ps {
		a.pattern(p, in)
	}
	a.operand(start, in)
}

func (a *pathAnalysis) ifTerm(x *gojq.If, in []*node) []*node {
	a.query(x.Cond, in) // truthiness only
	out := a.query(x.Then, in)
	for _, e := range x.Elif {
		a.query(e.Cond, in)
		out = append(out, a.query(e.Then, in)...)
	}
	if x.Else == nil {
		// `if c then t end` outputs the input when c is false.
		return append(out, in...)
	}
	return append(out, a.query(x.Else, in)...)
}

func (a *pathAnalysis) object(o *gojq.Object, in []*node) {
	for _, kv := range o.KeyVals {
		switch {
		case kv.KeyQuery != nil:
			a.operand(kv.KeyQuery, in)
		case kv.KeyString != nil:
			a.str(kv.KeyString, in)
			if kv.Val == nil {
				// {"a"} is {"a": .a}; {"\(.x)"} a computed key.
				if len(kv.KeyString.Queries) > 0 {
					observe(in)
				} else {
					observe(childrenAt(in, kv.KeyString.Str))
				}
			}
		case kv.Val == nil && strings.HasPrefix(kv.Key, "$"):
			// {$x}: a variable, never a value of the item.
		case kv.Val == nil && strings.HasPrefix(kv.Key, "@"):
			observe(in) // {@base64}: the input formatted
		case kv.Val == nil:
			observe(childrenAt(in, kv.Key)) // {a} is {a: .a}
		}
		if kv.Val != nil {
			a.operand(kv.Val, in)
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

// call analyses a function call run on in.
func (a *pathAnalysis) call(f *gojq.Func, in []*node) []*node {
	if strings.HasPrefix(f.Name, "$") {
		// Variables are never values of the item: binding one reads it
		// whole ($__loc__, $ENV and the program's own are values).
		return nil
	}
	name := f.Name + "/" + strconv.Itoa(len(f.Args))
	if s, ok := rootSafe[name]; ok {
		for _, arg := range f.Args {
			if _, ok := rootObserved[name]; ok {
				a.query(arg, in)
				continue
			}
			// error(.), range(.): the value as a value.
			a.operand(arg, in)
		}
		if s.passes {
			return in
		}
		return nil
	}
	if i, ok := rootGenerators[name]; ok {
		var out []*node
		for j, arg := range f.Args {
			o := a.query(arg, in)
			if j == i {
				out = o
			} else {
				observe(o)
			}
		}
		return out
	}
	if name == "map/1" {
		// map(f) is [.[] | f]: f runs on each element, and what it
		// outputs is built into a new array.
		a.operand(f.Args[0], elemsOf(in))
		return nil
	}
	// Any other function sees its input whole (keys, length, to_entries,
	// tojson, has, getpath, paths, del, with_entries, …), or is one this
	// analysis does not know.
	observe(in)
	return nil
}
