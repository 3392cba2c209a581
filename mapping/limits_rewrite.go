package mapping

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/itchyny/gojq"
)

// How a program is bounded: gojq checks the context between instructions,
// so the per-item time budget stops a long evaluation, but not before it
// has built whatever it built so far, and one instruction can allocate
// gigabytes ("x" * 1e9). guardQuery rewrites a parsed program so that
// every operation that builds a value first charges an evaluation budget
// (a hidden variable, see evalBudget) and fails once the budget is spent:
//
//   - array and object construction charge each element (as a tree, so
//     a value referenced many times counts many times, as it will when
//     encoded), assignments their value, string interpolation its parts;
//     an element that is a path of the input or a variable is only a
//     reference and is not charged there;
//   - +, * and / run as guard functions that charge what they add, unless
//     an operand is a literal that rules growth out;
//   - native functions whose output outgrows their input (tojson,
//     tostring, join, split, flatten, explode, transpose, the @formats,
//     global regex matches, ...) charge it before they run, and runJQ
//     measures the result: what is built of references is charged where
//     it is encoded;
//   - setting a large array index (a path to index 5e8 allocates 5e8
//     slots) fails;
//   - every call of a function defined in jq charges a stack frame, which
//     bounds recursion and the loops built on it (repeat, while, until,
//     recurse).
//
// gojq's builtins that are themselves written in jq and build values
// (map, to_entries, with_entries, walk, sub, INDEX, ...) are inlined from
// gojq's builtin.jq into the program when it uses them, so that their
// constructions are guarded too.

const (
	budgetVar      = "$__oceankit_budget"
	hiddenVar      = "$__oceankit_v"
	reservedPrefix = "_oceankit_"
	guardArray     = "_oceankit_array"
	guardObject    = "_oceankit_object"
	guardAssign    = "_oceankit_assign"
	guardInterp    = "_oceankit_interp"
	guardCall      = "_oceankit_call"
	guardCost      = "_oceankit_cost"
	guardIndex     = "_oceankit_index"
	guardPath      = "_oceankit_path"
	guardJoin      = "_oceankit_join"
	guardTranspose = "_oceankit_transpose"
	guardMatch     = "_oceankit_match"
	guardAdd       = "_oceankit_add"
	guardMul       = "_oceankit_mul"
	guardDiv       = "_oceankit_div"
)

// smallIndex is the largest literal array index left unguarded.
const smallIndex = 1 << 16

// checkReserved refuses a program that names oceankit's internal
// functions or variables: the budget must not be reachable from jq.
func checkReserved(q *gojq.Query) error {
	var bad string
	reserved := func(name string) {
		if bad == "" && (strings.Contains(name, reservedPrefix)) {
			bad = name
		}
	}
	var patterns func(ps []*gojq.Pattern)
	patterns = func(ps []*gojq.Pattern) {
		for _, p := range ps {
			reserved(p.Name)
			patterns(p.Array)
			for _, o := range p.Object {
				reserved(o.Key)
				if o.Val != nil {
					patterns([]*gojq.Pattern{o.Val})
				}
			}
		}
	}
	visitQueries(q, func(q *gojq.Query) {
		patterns(q.Patterns)
		for _, fd := range q.FuncDefs {
			reserved(fd.Name)
			for _, a := range fd.Args {
				reserved(a)
			}
		}
		if t := q.Term; t != nil {
			if t.Func != nil {
				reserved(t.Func.Name)
			}
			if t.Object != nil {
				for _, kv := range t.Object.KeyVals {
					reserved(kv.Key)
				}
			}
			if t.Reduce != nil {
				patterns(t.Reduce.Patterns)
			}
			if t.Foreach != nil {
				patterns(t.Foreach.Patterns)
			}
		}
	})
	if bad != "" {
		return fmt.Errorf("%s is reserved for oceankit", bad)
	}
	return nil
}

// visitQueries calls fn for q and every query inside it.
func visitQueries(q *gojq.Query, fn func(*gojq.Query)) {
	if q == nil {
		return
	}
	fn(q)
	w := func(q *gojq.Query) { visitQueries(q, fn) }
	for _, fd := range q.FuncDefs {
		w(fd.Body)
	}
	var pats func(ps []*gojq.Pattern)
	pats = func(ps []*gojq.Pattern) {
		for _, p := range ps {
			pats(p.Array)
			for _, o := range p.Object {
				if o.KeyString != nil {
					for _, s := range o.KeyString.Queries {
						w(s)
					}
				}
				w(o.KeyQuery)
				if o.Val != nil {
					pats([]*gojq.Pattern{o.Val})
				}
			}
		}
	}
	pats(q.Patterns)
	w(q.Left)
	w(q.Right)
	var term func(t *gojq.Term)
	term = func(t *gojq.Term) {
		if t == nil {
			return
		}
		if t.Func != nil {
			for _, a := range t.Func.Args {
				w(a)
			}
		}
		idx := func(x *gojq.Index) {
			if x == nil {
				return
			}
			w(x.Start)
			w(x.End)
			if x.Str != nil {
				for _, s := range x.Str.Queries {
					w(s)
				}
			}
		}
		idx(t.Index)
		for _, s := range t.SuffixList {
			idx(s.Index)
		}
		if t.Object != nil {
			for _, kv := range t.Object.KeyVals {
				w(kv.KeyQuery)
				w(kv.Val)
				if kv.KeyString != nil {
					for _, s := range kv.KeyString.Queries {
						w(s)
					}
				}
			}
		}
		if t.Array != nil {
			w(t.Array.Query)
		}
		if t.Unary != nil {
			term(t.Unary.Term)
		}
		if t.Str != nil {
			for _, s := range t.Str.Queries {
				w(s)
			}
		}
		if t.If != nil {
			w(t.If.Cond)
			w(t.If.Then)
			for _, e := range t.If.Elif {
				w(e.Cond)
				w(e.Then)
			}
			w(t.If.Else)
		}
		if t.Try != nil {
			w(t.Try.Body)
			w(t.Try.Catch)
		}
		if t.Reduce != nil {
			w(t.Reduce.Query)
			pats(t.Reduce.Patterns)
			w(t.Reduce.Start)
			w(t.Reduce.Update)
		}
		if t.Foreach != nil {
			w(t.Foreach.Query)
			pats(t.Foreach.Patterns)
			w(t.Foreach.Start)
			w(t.Foreach.Update)
			w(t.Foreach.Extract)
		}
		if t.Label != nil {
			w(t.Label.Body)
		}
		w(t.Query)
	}
	term(q.Term)
}

// inlineDef is one of gojq's builtins written in jq (gojq v0.12.20
// builtin.jq, MIT licence), with the inlined builtins it calls. The table
// is in an order where each definition follows those it needs.
type inlineDef struct {
	name string // name/arity
	deps []string
	src  string
}

var inlineSources = []inlineDef{
	{name: "map/1", src: `def map(f): [.[] | f];`},
	{name: "add/1", src: `def add(f): [f] | add;`},
	{name: "map_values/1", src: `def map_values(f): .[] |= f;`},
	{name: "recurse/1", src: `def recurse(f): def r: ., (f | r); r;`},
	{name: "recurse/2", src: `def recurse(f; cond): def r: ., (f | select(cond) | r); r;`},
	{name: "recurse/0", deps: []string{"recurse/1"}, src: `def recurse: recurse(.[]?);`},
	{name: "to_entries/0", src: `def to_entries: [keys[] as $k | {key: $k, value: .[$k]}];`},
	{name: "from_entries/0", deps: []string{"map/1"}, src: `def from_entries: map({ (.key // .Key // .name // .Name): if has("value") then .value else .Value end }) | add // {};`},
	{name: "with_entries/1", deps: []string{"to_entries/0", "map/1", "from_entries/0"}, src: `def with_entries(f): to_entries | map(f) | from_entries;`},
	{name: "while/2", src: `def while(cond; update): def _while: if cond then ., (update | _while) else empty end; _while;`},
	{name: "until/2", src: `def until(cond; next): def _until: if cond then . else next | _until end; _until;`},
	{name: "repeat/1", src: `def repeat(f): def _repeat: f, _repeat; _repeat;`},
	{name: "min_by/1", deps: []string{"map/1"}, src: `def min_by(f): _min_by(map([f]));`},
	{name: "max_by/1", deps: []string{"map/1"}, src: `def max_by(f): _max_by(map([f]));`},
	{name: "sort_by/1", deps: []string{"map/1"}, src: `def sort_by(f): _sort_by(map([f]));`},
	{name: "group_by/1", deps: []string{"map/1"}, src: `def group_by(f): _group_by(map([f]));`},
	{name: "unique_by/1", deps: []string{"map/1"}, src: `def unique_by(f): _unique_by(map([f]));`},
	{name: "combinations/0", src: `def combinations: if length == 0 then [] else .[0][] as $x | [$x] + (.[1:] | combinations) end;`},
	{name: "combinations/1", deps: []string{"repeat/1", "combinations/0"}, src: `def combinations(n): [limit(n; repeat(.))] | combinations;`},
	{name: "walk/1", deps: []string{"map/1", "map_values/1"}, src: `def walk(f): def _walk: if type == "array" then map(_walk) elif type == "object" then map_values(_walk) end | f; _walk;`},
	{name: "truncate_stream/1", src: `def truncate_stream(f): . as $n | null | f | if .[0] | length > $n then .[0] |= .[$n:] else empty end;`},
	{name: "fromstream/1", src: `def fromstream(f): foreach f as $pv (null; if .e then null end | $pv as [$p, $v] | if $pv | length == 2 then setpath(["v"] + $p; $v) | setpath(["e"]; $p | length == 0) else setpath(["e"]; $p | length == 1) end; if .e then .v else empty end);`},
	{name: "tostream/0", src: `def tostream: path(def r: (.[]? | r), .; r) as $p | getpath($p) | reduce path(.[]?) as $q ([$p, .]; [$p + $q]);`},
	{name: "pick/1", src: `def pick(f): . as $v | reduce path(f) as $p (null; setpath($p; $v | getpath($p)));`},
	{name: "match/2", src: `def match($re; $flags): _match($re; $flags; false)[];`},
	{name: "match/1", deps: []string{"match/2"}, src: `def match($re): if $re | type == "array" then match($re[0]; $re[1]) else match($re; null) end;`},
	{name: "capture/2", deps: []string{"match/2"}, src: `def capture($re; $flags): match($re; $flags) | .captures | _captures;`},
	{name: "capture/1", deps: []string{"capture/2"}, src: `def capture($re): if $re | type == "array" then capture($re[0]; $re[1]) else capture($re; null) end;`},
	{name: "scan/2", deps: []string{"match/2"}, src: `def scan($re; $flags): match($re; $flags + "g") | if .captures == [] then .string else [.captures[].string] end;`},
	{name: "scan/1", deps: []string{"scan/2"}, src: `def scan($re): scan($re; null);`},
	{name: "splits/2", deps: []string{"match/2"}, src: `def splits($re; $flags): .[foreach (match($re; $flags + "g"), null) as {$offset, $length} (null; {start: .next, end: $offset, next: $offset + $length})];`},
	{name: "splits/1", deps: []string{"splits/2"}, src: `def splits($re): splits($re; null);`},
	{name: "split/2", deps: []string{"splits/2"}, src: `def split($re; $flags): [splits($re; $flags)];`},
	{name: "sub/3", deps: []string{"match/2"}, src: `def sub($re; str; $flags): reduce match($re; $flags) as {$offset, $length, $captures} ({s: ., r: []}; reduce ($captures | _captures | str) as $s (.i = 0; .r[.i] += .s[.next:$offset] + $s | .i += 1) | .next = $offset + $length) | .r[] + .s[.next:] // .s;`},
	{name: "sub/2", deps: []string{"sub/3"}, src: `def sub($re; str): sub($re; str; null);`},
	{name: "gsub/3", deps: []string{"sub/3"}, src: `def gsub($re; str; $flags): sub($re; str; $flags + "g");`},
	{name: "gsub/2", deps: []string{"sub/3"}, src: `def gsub($re; str): sub($re; str; "g");`},
	{name: "INDEX/2", src: `def INDEX(stream; idx_expr): reduce stream as $row ({}; .[$row | idx_expr | tostring] = $row);`},
	{name: "INDEX/1", deps: []string{"INDEX/2"}, src: `def INDEX(idx_expr): INDEX(.[]; idx_expr);`},
	{name: "JOIN/2", src: `def JOIN($idx; idx_expr): [.[] | [., $idx[idx_expr]]];`},
	{name: "JOIN/3", src: `def JOIN($idx; stream; idx_expr): stream | [., $idx[idx_expr]];`},
	{name: "JOIN/4", src: `def JOIN($idx; stream; idx_expr; join_expr): stream | [., $idx[idx_expr]] | join_expr;`},
}

// costFactors are the native functions whose output can outgrow their
// input, with how much more it may take (an estimate: JSON escaping can
// take more in the worst case).
var costFactors = map[string]float64{
	"tojson/0": 1, "tostring/0": 1, "add/0": 1, "flatten/0": 1, "flatten/1": 1,
	"implode/0": 1, "explode/0": 16, "fromjson/0": 4, "indices/1": 16, "keys/0": 1,
	"_tohtml/0": 5, "_touri/0": 3, "_tocsv/0": 2, "_totsv/0": 2, "_tosh/0": 4,
	"_tobase64/0": 2, "format/1": 5,
}

// formatCost is the factor of an @format applied to its input.
var formatCost = map[string]float64{
	"@text": 1, "@json": 1, "@html": 5, "@uri": 3, "@csv": 2, "@tsv": 2, "@sh": 4, "@base64": 2, "@base32": 2,
}

// guardQuery inlines the jq-defined builtins q uses and rewrites q so that
// it charges the evaluation budget (see the comment at the top of this
// file). It reports whether q now refers to the budget variable.
func guardQuery(q *gojq.Query) (bool, error) {
	if err := inlineBuiltins(q); err != nil {
		return false, err
	}
	g := &guarder{}
	g.query(q, nil)
	return g.used, nil
}

// inlineBuiltins prepends the definitions of the inlined builtins that q
// calls (and those they call) to q.
func inlineBuiltins(q *gojq.Query) error {
	byName := make(map[string]int, len(inlineSources))
	for i, d := range inlineSources {
		byName[d.name] = i
	}
	need := map[int]bool{}
	var add func(name string)
	add = func(name string) {
		i, ok := byName[name]
		if !ok || need[i] {
			return
		}
		need[i] = true
		for _, d := range inlineSources[i].deps {
			add(d)
		}
	}
	walkQuery(q, func(t *gojq.Term) {
		switch {
		case t.Type == gojq.TermTypeRecurse:
			add("recurse/0")
		case t.Func != nil:
			add(t.Func.Name + "/" + strconv.Itoa(len(t.Func.Args)))
		}
	}, func(*gojq.FuncDef) {})
	if len(need) == 0 {
		return nil
	}
	var src strings.Builder
	for i, d := range inlineSources {
		if need[i] {
			src.WriteString(d.src)
			src.WriteByte('\n')
		}
	}
	src.WriteString(".")
	defs, err := gojq.Parse(src.String())
	if err != nil {
		return fmt.Errorf("mapping: inlined builtins: %w", err)
	}
	q.FuncDefs = append(defs.FuncDefs, q.FuncDefs...)
	return nil
}

type guarder struct {
	used bool
	lhs  int // > 0 within the path of an update (L in L = R)
}

func (g *guarder) budget() *gojq.Query {
	g.used = true
	return funcQuery(budgetVar)
}

func funcQuery(name string, args ...*gojq.Query) *gojq.Query {
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: name, Args: args}}}
}

func pipeQuery(l, r *gojq.Query) *gojq.Query {
	return &gojq.Query{Left: l, Op: gojq.OpPipe, Right: r}
}

func stringQuery(s string) *gojq.Query {
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeString, Str: &gojq.String{Str: s}}}
}

func numberQuery(f float64) *gojq.Query {
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeNumber, Number: strconv.FormatFloat(f, 'g', -1, 64)}}
}

// charged is q piped into the charging guard name.
func (g *guarder) charged(q *gojq.Query, name string) *gojq.Query {
	return pipeQuery(q, funcQuery(name, g.budget()))
}

// literal reports a constant scalar.
func literal(q *gojq.Query) bool {
	if q == nil || q.Term == nil || len(q.Term.SuffixList) > 0 || len(q.FuncDefs) > 0 {
		return false
	}
	switch q.Term.Type {
	case gojq.TermTypeNull, gojq.TermTypeTrue, gojq.TermTypeFalse, gojq.TermTypeNumber:
		return true
	case gojq.TermTypeString:
		return q.Term.Str.Queries == nil
	}
	return false
}

// reference reports a query whose outputs are values that already exist
// (a path of the input, a variable): putting them in an array or object
// builds a reference each. A structure that references the same value
// many times is charged in full where it is encoded or flattened, and when
// it is the program's result.
func reference(q *gojq.Query) bool {
	if q == nil || q.Term == nil || len(q.FuncDefs) > 0 || len(q.Patterns) > 0 {
		return false
	}
	t := q.Term
	switch t.Type {
	case gojq.TermTypeIdentity:
	case gojq.TermTypeIndex:
		if !refIndex(t.Index) {
			return false
		}
	case gojq.TermTypeFunc:
		if len(t.Func.Args) > 0 || !strings.HasPrefix(t.Func.Name, "$") {
			return false
		}
	default:
		return false
	}
	for _, s := range t.SuffixList {
		if s.Index != nil && !refIndex(s.Index) {
			return false
		}
	}
	return true
}

func refIndex(ix *gojq.Index) bool {
	switch {
	case ix.IsSlice:
		return false
	case ix.Str != nil:
		return ix.Str.Queries == nil
	case ix.Start != nil:
		return simple(ix.Start)
	}
	return true
}

// constant reports a comma list of literals, which gojq folds.
func constant(q *gojq.Query) bool {
	if q == nil {
		return true
	}
	if q.Term != nil {
		return literal(q)
	}
	return q.Op == gojq.OpComma && len(q.Patterns) == 0 && constant(q.Left) && constant(q.Right)
}

// fscope is a lexical scope of jq function names: each name/arity maps
// to what calls of it become, "" for a parameter (a closure of the
// caller, called as it is).
type fscope struct {
	outer *fscope
	names map[string]string
}

func (sc *fscope) resolve(key string) (string, bool) {
	for ; sc != nil; sc = sc.outer {
		if n, ok := sc.names[key]; ok {
			return n, true
		}
	}
	return "", false
}

func funcKey(name string, arity int) string { return name + "/" + strconv.Itoa(arity) }

// query rewrites q. Calls of functions defined in jq (the program's and
// the inlined builtins) are left as they are; the function bodies charge
// the budget.
//
// The budget stays one global variable: passing it to each function as a
// parameter would make every recursion quadratic (gojq resolves a
// function's parameters through its callers' scopes), while a global is
// found at once except from deep inside nested closures.
func (g *guarder) query(q *gojq.Query, sc *fscope) {
	if q == nil {
		return
	}
	if len(q.FuncDefs) > 0 {
		sc = &fscope{outer: sc, names: map[string]string{}}
		for _, fd := range q.FuncDefs {
			sc.names[funcKey(fd.Name, len(fd.Args))] = fd.Name
			body := &fscope{outer: sc, names: map[string]string{}}
			for _, a := range fd.Args {
				body.names[funcKey(strings.TrimPrefix(a, "$"), 0)] = ""
			}
			g.query(fd.Body, body)
			fd.Body = pipeQuery(funcQuery(guardCall, g.budget()), fd.Body)
		}
	}
	g.patterns(q.Patterns, sc)
	g.term(q.Term, sc)
	update := q.Op >= gojq.OpAssign && q.Op <= gojq.OpUpdateAlt
	if update {
		g.lhs++
	}
	g.query(q.Left, sc)
	if update {
		g.lhs--
	}
	g.query(q.Right, sc)
	switch q.Op {
	case gojq.OpAdd, gojq.OpMul, gojq.OpDiv:
		if !growsBy(q.Op, q.Left, q.Right) {
			break
		}
		name := map[gojq.Operator]string{gojq.OpAdd: guardAdd, gojq.OpMul: guardMul, gojq.OpDiv: guardDiv}[q.Op]
		q.Term = funcQuery(name, q.Left, q.Right, g.budget()).Term
		q.Left, q.Right, q.Op = nil, nil, 0
	case gojq.OpAssign, gojq.OpModify, gojq.OpUpdateAlt, gojq.OpUpdateSub, gojq.OpUpdateMod:
		q.Right = g.charged(q.Right, guardAssign)
	case gojq.OpUpdateAdd, gojq.OpUpdateMul, gojq.OpUpdateDiv:
		op := map[gojq.Operator]gojq.Operator{gojq.OpUpdateAdd: gojq.OpAdd, gojq.OpUpdateMul: gojq.OpMul, gojq.OpUpdateDiv: gojq.OpDiv}[q.Op]
		if !growsBy(op, nil, q.Right) {
			break
		}
		// L op= R is (R) as $v | L |= (. op $v), as gojq compiles it.
		name := map[gojq.Operator]string{gojq.OpUpdateAdd: guardAdd, gojq.OpUpdateMul: guardMul, gojq.OpUpdateDiv: guardDiv}[q.Op]
		l, r := q.Left, q.Right
		upd := funcQuery(name, &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeIdentity}}, funcQuery(hiddenVar), g.budget())
		q.Left, q.Op, q.Patterns = r, gojq.OpPipe, []*gojq.Pattern{{Name: hiddenVar}}
		q.Right = &gojq.Query{Left: l, Op: gojq.OpModify, Right: upd}
	}
}

// growsBy reports whether l op r may build more than a constant: with a
// literal operand, + adds at most the literal (a number or null adds
// nothing), / by a number cannot split a string, and * by a number of at
// most 1 repeats a string at most once. l nil is the updated value of an
// update operator.
func growsBy(op gojq.Operator, l, r *gojq.Query) bool {
	number := func(q *gojq.Query) (float64, bool) {
		if !literal(q) || q.Term.Type != gojq.TermTypeNumber {
			return 0, false
		}
		f, err := strconv.ParseFloat(q.Term.Number, 64)
		return f, err == nil
	}
	switch op {
	case gojq.OpAdd:
		return !literal(l) && !literal(r)
	case gojq.OpDiv:
		_, ln := number(l)
		_, rn := number(r)
		return !ln && !rn
	case gojq.OpMul:
		lf, ln := number(l)
		rf, rn := number(r)
		return !(ln && lf <= 1) && !(rn && rf <= 1)
	}
	return true
}

func (g *guarder) patterns(ps []*gojq.Pattern, sc *fscope) {
	for _, p := range ps {
		g.patterns(p.Array, sc)
		for _, o := range p.Object {
			g.str(o.KeyString, sc)
			g.query(o.KeyQuery, sc)
			if o.Val != nil {
				g.patterns([]*gojq.Pattern{o.Val}, sc)
			}
		}
	}
}

func (g *guarder) str(s *gojq.String, sc *fscope) {
	if s == nil {
		return
	}
	for i, p := range s.Queries {
		if p.Term != nil && p.Term.Type == gojq.TermTypeString && p.Term.Str != nil && p.Term.Str.Queries == nil {
			continue // a literal part
		}
		g.query(p, sc)
		s.Queries[i] = &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeQuery, Query: g.charged(p, guardInterp)}}
	}
}

func (g *guarder) index(ix *gojq.Index, sc *fscope) {
	if ix == nil {
		return
	}
	g.str(ix.Str, sc)
	g.query(ix.Start, sc)
	g.query(ix.End, sc)
	// Reading past the end allocates nothing; setting it pads the array.
	if g.lhs == 0 || ix.IsSlice || ix.Start == nil {
		return
	}
	if literal(ix.Start) {
		if ix.Start.Term.Type != gojq.TermTypeNumber {
			return
		}
		if f, err := strconv.ParseFloat(ix.Start.Term.Number, 64); err == nil && f <= smallIndex {
			return
		}
	}
	ix.Start = g.charged(ix.Start, guardIndex)
}

func (g *guarder) term(t *gojq.Term, sc *fscope) {
	if t == nil {
		return
	}
	g.index(t.Index, sc)
	for _, s := range t.SuffixList {
		g.index(s.Index, sc)
	}
	if t.Func != nil {
		for _, a := range t.Func.Args {
			g.query(a, sc)
		}
	}
	if t.Object != nil {
		for _, kv := range t.Object.KeyVals {
			g.str(kv.KeyString, sc)
			g.query(kv.KeyQuery, sc)
			g.query(kv.Val, sc)
		}
	}
	if t.Array != nil {
		g.query(t.Array.Query, sc)
	}
	if t.Unary != nil {
		g.term(t.Unary.Term, sc)
	}
	g.str(t.Str, sc)
	if t.If != nil {
		g.query(t.If.Cond, sc)
		g.query(t.If.Then, sc)
		for _, e := range t.If.Elif {
			g.query(e.Cond, sc)
			g.query(e.Then, sc)
		}
		g.query(t.If.Else, sc)
	}
	if t.Try != nil {
		g.query(t.Try.Body, sc)
		g.query(t.Try.Catch, sc)
	}
	if t.Reduce != nil {
		g.query(t.Reduce.Query, sc)
		g.patterns(t.Reduce.Patterns, sc)
		g.query(t.Reduce.Start, sc)
		g.query(t.Reduce.Update, sc)
	}
	if t.Foreach != nil {
		g.query(t.Foreach.Query, sc)
		g.patterns(t.Foreach.Patterns, sc)
		g.query(t.Foreach.Start, sc)
		g.query(t.Foreach.Update, sc)
		g.query(t.Foreach.Extract, sc)
	}
	if t.Label != nil {
		g.query(t.Label.Body, sc)
	}
	g.query(t.Query, sc)

	switch t.Type {
	case gojq.TermTypeArray:
		if t.Array != nil && !constant(t.Array.Query) && !reference(t.Array.Query) {
			t.Array.Query = g.charged(t.Array.Query, guardArray)
		}
	case gojq.TermTypeObject:
		for _, kv := range t.Object.KeyVals {
			switch {
			case kv.Val != nil:
				if !literal(kv.Val) && !reference(kv.Val) {
					kv.Val = g.charged(kv.Val, guardObject)
				}
			}
		}
	case gojq.TermTypeFormat:
		if t.Str == nil {
			f, ok := formatCost[t.Format]
			if !ok {
				f = 5
			}
			g.prefix(t, funcQuery(guardCost, g.budget(), stringQuery(t.Format), numberQuery(f)))
		}
	case gojq.TermTypeFunc:
		if strings.HasPrefix(t.Func.Name, "$") {
			return // a variable
		}
		// Natives are guarded where they are called; a function defined
		// in jq charges in its body.
		if _, defined := sc.resolve(funcKey(t.Func.Name, len(t.Func.Args))); !defined {
			g.call(t)
		}
	}
}

// prefix makes t (keeping its suffixes) run check first, on the same
// input.
func (g *guarder) prefix(t *gojq.Term, check *gojq.Query) {
	inner := &gojq.Term{Type: t.Type, Func: t.Func, Format: t.Format, Str: t.Str}
	t.Type, t.Func, t.Format, t.Str = gojq.TermTypeQuery, nil, "", nil
	t.Query = pipeQuery(check, &gojq.Query{Term: inner})
}

// simple reports an argument that can be written twice without being
// evaluated twice to different effect: a literal or a variable.
func simple(q *gojq.Query) bool {
	if literal(q) {
		return true
	}
	return q != nil && q.Term != nil && q.Term.Type == gojq.TermTypeFunc && len(q.Term.SuffixList) == 0 &&
		len(q.Term.Func.Args) == 0 && strings.HasPrefix(q.Term.Func.Name, "$")
}

// copyArg rebuilds a simple argument (a literal or a variable), so that
// no AST node is shared.
func copyArg(q *gojq.Query) *gojq.Query {
	t := *q.Term
	if t.Str != nil {
		s := *t.Str
		t.Str = &s
	}
	if t.Func != nil {
		f := *t.Func
		t.Func = &f
	}
	return &gojq.Query{Term: &t}
}

func (g *guarder) call(t *gojq.Term) {
	f := t.Func
	key := f.Name + "/" + strconv.Itoa(len(f.Args))
	if c, ok := costFactors[key]; ok {
		g.prefix(t, funcQuery(guardCost, g.budget(), stringQuery(f.Name), numberQuery(c)))
		return
	}
	switch key {
	case "setpath/2":
		f.Args[0] = g.charged(f.Args[0], guardPath)
		f.Args[1] = g.charged(f.Args[1], guardAssign)
	case "getpath/1":
		if g.lhs > 0 {
			f.Args[0] = g.charged(f.Args[0], guardPath)
		}
	case "transpose/0":
		g.prefix(t, funcQuery(guardTranspose, g.budget()))
	case "split/1":
		c := 33.0 // splitting by "" makes a string per character
		if literal(f.Args[0]) && f.Args[0].Term.Type == gojq.TermTypeString {
			c = 1 + 32/float64(max(1, len(f.Args[0].Term.Str.Str)))
		}
		g.prefix(t, funcQuery(guardCost, g.budget(), stringQuery("split"), numberQuery(c)))
	case "join/1":
		if simple(f.Args[0]) {
			g.prefix(t, funcQuery(guardJoin, copyArg(f.Args[0]), g.budget()))
			return
		}
		// (sep) as $v | _oceankit_join($v; $b) | join($v)
		sep := f.Args[0]
		f.Args[0] = funcQuery(hiddenVar)
		inner := &gojq.Term{Type: gojq.TermTypeFunc, Func: f}
		t.Type, t.Func = gojq.TermTypeQuery, nil
		t.Query = &gojq.Query{Left: sep, Op: gojq.OpPipe, Patterns: []*gojq.Pattern{{Name: hiddenVar}},
			Right: pipeQuery(funcQuery(guardJoin, funcQuery(hiddenVar), g.budget()), &gojq.Query{Term: inner})}
	case "_match/3":
		if simple(f.Args[0]) && simple(f.Args[1]) {
			g.prefix(t, funcQuery(guardMatch, copyArg(f.Args[0]), copyArg(f.Args[1]), g.budget()))
		}
	}
}
