package mapping

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// gojq defines sub and gsub in jq itself (a reduce over match objects),
// which dominates the cost of common mappings such as
// `.created_at | sub("\\..*Z$"; "Z")` or `.references.full | gsub("!.+"; "")`.
// When the regex, the replacement and the flags are all string literals,
// Compile rewrites the call to a native function with the same result.
// The native path only handles valid UTF-8 strings and regexes that cannot
// match the empty string (where Go's and jq's match sequences coincide); in
// every other case it runs gojq's own sub, so results and errors are gojq's.

const nativeSubName = "_oceankit_sub"

// nativeSub is created per Compile: it owns its regex cache (no package
// state) and the gojq fallback program.
type nativeSub struct {
	cache    sync.Map // [2]string{re, flags} → *nativeRe (nil: not native)
	fallback *gojq.Code
}

func newNativeSub() (*nativeSub, error) {
	q, err := gojq.Parse("sub($re; $str; $flags)")
	if err != nil {
		return nil, err
	}
	code, err := gojq.Compile(q, gojq.WithVariables([]string{"$re", "$str", "$flags"}))
	if err != nil {
		return nil, err
	}
	return &nativeSub{fallback: code}, nil
}

func (n *nativeSub) option() gojq.CompilerOption {
	return gojq.WithFunction(nativeSubName, 3, 3, n.call)
}

func (n *nativeSub) call(v any, args []any) any {
	s, ok := v.(string)
	re, ok1 := args[0].(string)
	rep, ok2 := args[1].(string)
	flags, ok3 := args[2].(string)
	if args[2] == nil { // sub/2 passes null flags to match
		ok3 = true
	}
	if ok && ok1 && ok2 && ok3 && utf8.ValidString(s) {
		if r := n.regexp(re, flags); r != nil {
			return r.replace(s, rep, strings.ContainsRune(flags, 'g'))
		}
	}
	out, ok := n.fallback.Run(v, args...).Next()
	if !ok {
		return nil
	}
	return out
}

// regexp returns the compiled regex when the native path applies.
func (n *nativeSub) regexp(re, flags string) *nativeRe {
	key := [2]string{re, flags}
	if r, ok := n.cache.Load(key); ok {
		return r.(*nativeRe)
	}
	out := nativeRegexp(re, flags)
	n.cache.Store(key, out)
	return out
}

// nativeRegexp compiles re with gojq's flag handling, or returns nil when
// the native path does not apply (other flags, an invalid regex, or one
// that may match the empty string).
func nativeRegexp(re, flags string) *nativeRe {
	if strings.ContainsFunc(flags, func(r rune) bool { return r != 'g' && r != 'i' && r != 'm' }) {
		return nil
	}
	src := re
	// Same prefixes as gojq's compileRegexp.
	if strings.ContainsRune(flags, 'i') {
		src = "(?i)" + src
	}
	if strings.ContainsRune(flags, 'm') {
		src = "(?s)" + src
	}
	parsed, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil
	}
	simple := parsed.Simplify()
	if canMatchEmpty(simple) {
		return nil
	}
	out, err := regexp.Compile(src)
	if err != nil {
		return nil
	}
	return &nativeRe{re: out, lit: newLitRe(simple)}
}

// replace is sub (the first match) or gsub (every match) with a literal
// replacement, for regexes that cannot match the empty string.
func (r *nativeRe) replace(s, rep string, global bool) string {
	if r.lit != nil {
		return r.lit.replace(s, rep, global)
	}
	return replaceRegexp(r.re, s, rep, global)
}

func replaceRegexp(r *regexp.Regexp, s, rep string, global bool) string {
	if global {
		return r.ReplaceAllLiteralString(s, rep)
	}
	loc := r.FindStringIndex(s)
	if loc == nil {
		return s
	}
	return s[:loc[0]] + rep + s[loc[1]:]
}

// canMatchEmpty reports whether re may match an empty string anywhere.
func canMatchEmpty(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpNoMatch, syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return false
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCapture, syntax.OpPlus:
		return canMatchEmpty(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || canMatchEmpty(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !canMatchEmpty(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if canMatchEmpty(s) {
				return true
			}
		}
		return false
	}
	// Empty-width assertions, star, quest, empty match.
	return true
}

// rewriteSubCalls replaces sub/gsub calls whose arguments are all string
// literals by the native function. It changes nothing when the program
// defines its own sub or gsub.
func rewriteSubCalls(q *gojq.Query) {
	shadowed := false
	walkQuery(q, func(t *gojq.Term) {}, func(fd *gojq.FuncDef) {
		if fd.Name == "sub" || fd.Name == "gsub" {
			shadowed = true
		}
	})
	if shadowed {
		return
	}
	walkQuery(q, func(t *gojq.Term) {
		if t.Type != gojq.TermTypeFunc || t.Func == nil {
			return
		}
		f := t.Func
		if (f.Name != "sub" && f.Name != "gsub") || len(f.Args) < 2 || len(f.Args) > 3 {
			return
		}
		lits := make([]string, len(f.Args))
		for i, a := range f.Args {
			s, ok := stringLiteral(a)
			if !ok {
				return
			}
			lits[i] = s
		}
		// As builtin.jq: sub/2 passes null flags, gsub appends "g".
		flags := &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeNull}}
		switch {
		case len(lits) == 3 && f.Name == "gsub":
			flags = literalQuery(lits[2] + "g")
		case len(lits) == 3:
			flags = literalQuery(lits[2])
		case f.Name == "gsub":
			flags = literalQuery("g")
		}
		t.Func = &gojq.Func{Name: nativeSubName, Args: []*gojq.Query{
			literalQuery(lits[0]), literalQuery(lits[1]), flags,
		}}
	}, func(*gojq.FuncDef) {})
}

func stringLiteral(q *gojq.Query) (string, bool) {
	if q == nil || q.Term == nil || q.Left != nil || len(q.FuncDefs) > 0 || len(q.Patterns) > 0 {
		return "", false
	}
	t := q.Term
	if t.Type != gojq.TermTypeString || t.Str == nil || t.Str.Queries != nil || len(t.SuffixList) > 0 {
		return "", false
	}
	return t.Str.Str, true
}

func literalQuery(s string) *gojq.Query {
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeString, Str: &gojq.String{Str: s}}}
}

// walkQuery calls ft for every term and fd for every function definition
// of q, at any depth (visitQueries finds every query; a query's terms are
// its term and the unary chain below it).
func walkQuery(q *gojq.Query, ft func(*gojq.Term), fd func(*gojq.FuncDef)) {
	visitQueries(q, func(q *gojq.Query) {
		for _, d := range q.FuncDefs {
			fd(d)
		}
		for t := q.Term; t != nil; {
			ft(t)
			if t.Unary == nil {
				break
			}
			t = t.Unary.Term
		}
	})
}
