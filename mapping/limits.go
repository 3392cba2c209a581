package mapping

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// DefaultEvalMemoryLimit is the default bound on what one jq evaluation may
// build (see WithEvalMemoryLimit). It is far above what a mapping needs
// (Port refuses an entity over 1 MiB) and low enough that a worker per core
// at the limit does not threaten a small pod.
const DefaultEvalMemoryLimit = 64 << 20

// ErrEvalLimit is wrapped by the error of a jq evaluation that would have
// built more than the per-evaluation limit (a *LimitError says what).
var ErrEvalLimit = errors.New("mapping: jq evaluation exceeded its memory limit")

// LimitError is a jq operation stopped before it allocated: a mapping
// edited in Port's UI must not be able to exhaust the sync's memory
// (`[range(1e8)]`, `"x" * 1e9`, a string doubled in a loop). The item is
// reported as a Misconfiguration naming the field and the expression.
type LimitError struct {
	// Op names the jq operation, for example "array construction [...]" or
	// "string repetition".
	Op string
	// Need estimates the bytes the operation would have added, in total.
	Need int64
	// Limit is the per-evaluation limit in bytes.
	Limit int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("jq %s would build about %s, over the limit of %s per evaluation", e.Op, byteSize(e.Need), byteSize(e.Limit))
}

func (e *LimitError) Unwrap() error { return ErrEvalLimit }

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// evalBudget is the memory one evaluation may still build. gojq has no
// memory limit; the guarded programs (see guardQuery) charge it before
// each operation that builds a value, and the charge fails once the limit
// is reached. One budget serves one evaluation on one goroutine.
type evalBudget struct {
	used, limit int64
}

// Per-value costs, close to what Go allocates for them.
const (
	costScalar = 16 // an interface word pair
	costArray  = 24
	costObject = 48
	costEntry  = 32 // per object key, besides the key's bytes and the value
	// costCall is charged per call of a function written in jq (which
	// includes the loops: repeat, while, until, recurse): a stack frame
	// and more, so that recursion that builds nothing still ends, after
	// some 250,000 calls at the default limit.
	costCall = 256
)

// charge records n more bytes, or fails (recording nothing) when that
// would pass the limit.
func (b *evalBudget) charge(op string, n int64) error {
	if n > b.limit-b.used || n < 0 {
		return &LimitError{Op: op, Need: b.used + max(n, 0), Limit: b.limit}
	}
	b.used += n
	return nil
}

// left is what may still be built.
func (b *evalBudget) left() int64 { return b.limit - b.used }

// sizeOf estimates the bytes of v as a tree (a value referenced twice
// counts twice, as it will when encoded), stopping once the total passes
// limit: the walk itself is bounded by what it measures.
func sizeOf(v any, limit int64) int64 {
	var n int64
	addSize(v, limit, &n)
	return n
}

func addSize(v any, limit int64, n *int64) {
	switch t := v.(type) {
	case string:
		*n += costScalar + int64(len(t))
	case []any:
		*n += costArray
		for _, e := range t {
			if *n > limit {
				return
			}
			addSize(e, limit, n)
		}
	case map[string]any:
		*n += costObject
		for k, e := range t {
			if *n > limit {
				return
			}
			*n += costEntry + int64(len(k))
			addSize(e, limit, n)
		}
	case *big.Int:
		*n += costScalar + int64(len(t.Bits())*8)
	default:
		*n += costScalar
	}
}

// budgetOf returns the budget passed to a guard function, or an error: the
// guard functions are not for mappings to call.
func budgetOf(name string, arg any) (*evalBudget, error) {
	b, ok := arg.(*evalBudget)
	if !ok {
		return nil, fmt.Errorf("%s is internal to oceankit", name)
	}
	return b, nil
}

// guardFuncs are the gojq functions the guarded programs call. Those that
// compute (add, multiply, divide) do it natively for the common types and
// otherwise run gojq's own operator, so results and errors stay gojq's.
type guardFuncs struct {
	add, mul, div *gojq.Code // $l op $r
	match         *gojq.Code
}

func newGuardFuncs() (*guardFuncs, error) {
	g := &guardFuncs{}
	for _, c := range []struct {
		dst **gojq.Code
		src string
	}{{&g.add, "$l + $r"}, {&g.mul, "$l * $r"}, {&g.div, "$l / $r"}} {
		q, err := gojq.Parse(c.src)
		if err != nil {
			return nil, err
		}
		if *c.dst, err = gojq.Compile(q, gojq.WithVariables([]string{"$l", "$r"})); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func runBinop(code *gojq.Code, l, r any) any {
	v, ok := code.Run(nil, l, r).Next()
	if !ok {
		return nil
	}
	return v
}

// options returns the gojq compiler options that define the guard
// functions.
func (g *guardFuncs) options() []gojq.CompilerOption {
	// charging identity: input passes through once its size is charged.
	charging := func(name, op string) gojq.CompilerOption {
		return gojq.WithFunction(name, 1, 1, func(v any, args []any) any {
			b, err := budgetOf(name, args[0])
			if err != nil {
				return err
			}
			if err := b.charge(op, sizeOf(v, b.left())); err != nil {
				return err
			}
			return v
		})
	}
	return []gojq.CompilerOption{
		charging(guardArray, "array construction [...]"),
		charging(guardObject, "object construction {...}"),
		charging(guardAssign, "assignment"),
		charging(guardInterp, "string interpolation"),
		gojq.WithFunction(guardCall, 1, 1, func(v any, args []any) any {
			b, err := budgetOf(guardCall, args[0])
			if err != nil {
				return err
			}
			if err := b.charge("function call or loop iteration", costCall); err != nil {
				return err
			}
			return v
		}),
		// _oceankit_cost($b; "name"; factor): charges factor times the
		// size of the input of a native function whose output grows with
		// it (tojson, join, split, flatten, ...).
		gojq.WithFunction(guardCost, 3, 3, func(v any, args []any) any {
			b, err := budgetOf(guardCost, args[0])
			if err != nil {
				return err
			}
			name, _ := args[1].(string)
			f, _ := gojq.ToFloat64(args[2])
			f = max(f, 1)
			n := sizeOf(v, int64(float64(b.left())/f)+1)
			if err := b.charge(name, int64(float64(n)*f)); err != nil {
				return err
			}
			return v
		}),
		gojq.WithFunction(guardIndex, 1, 1, func(v any, args []any) any {
			b, err := budgetOf(guardIndex, args[0])
			if err != nil {
				return err
			}
			if f, ok := gojq.ToFloat64(v); ok && f > 0 && f*costScalar > float64(b.left()) {
				return &LimitError{Op: fmt.Sprintf("array index %.0f", f), Need: b.used + int64(min(f*costScalar, math.MaxInt64/2)), Limit: b.limit}
			}
			return v
		}),
		gojq.WithFunction(guardPath, 1, 1, func(v any, args []any) any {
			b, err := budgetOf(guardPath, args[0])
			if err != nil {
				return err
			}
			if p, ok := v.([]any); ok {
				for _, e := range p {
					if f, ok := gojq.ToFloat64(e); ok && f > 0 && f*costScalar > float64(b.left()) {
						return &LimitError{Op: fmt.Sprintf("path with array index %.0f", f), Need: b.used + int64(min(f*costScalar, math.MaxInt64/2)), Limit: b.limit}
					}
				}
			}
			return v
		}),
		gojq.WithFunction(guardJoin, 2, 2, func(v any, args []any) any {
			b, err := budgetOf(guardJoin, args[1])
			if err != nil {
				return err
			}
			if xs, ok := v.([]any); ok {
				sep, _ := args[0].(string)
				n := sizeOf(v, b.left()) + int64(len(xs))*int64(len(sep))
				if err := b.charge("join", n); err != nil {
					return err
				}
			}
			return v
		}),
		gojq.WithFunction(guardTranspose, 1, 1, func(v any, args []any) any {
			b, err := budgetOf(guardTranspose, args[0])
			if err != nil {
				return err
			}
			if rows, ok := v.([]any); ok {
				longest := 0
				for _, r := range rows {
					if r, ok := r.([]any); ok {
						longest = max(longest, len(r))
					}
				}
				if err := b.charge("transpose", int64(longest)*(costArray+int64(len(rows))*costScalar)); err != nil {
					return err
				}
			}
			return v
		}),
		gojq.WithFunction(guardMatch, 3, 3, g.matchCheck),
		gojq.WithFunction(guardAdd, 3, 3, g.addFunc),
		gojq.WithFunction(guardMul, 3, 3, g.mulFunc),
		gojq.WithFunction(guardDiv, 3, 3, g.divFunc),
	}
}

// addFunc is `+` that charges the growth: the smaller operand, which is
// what a loop adds each time (a string doubled with `. + .` is charged
// its whole size at every step, an append only what it appends).
func (g *guardFuncs) addFunc(_ any, args []any) any {
	l, r := args[0], args[1]
	b, err := budgetOf(guardAdd, args[2])
	if err != nil {
		return err
	}
	switch l := l.(type) {
	case nil:
		return r // null + x is x, even when x is null
	case int:
		switch r := r.(type) {
		case int:
			if v := l + r; (v >= l) == (r >= 0) {
				return v
			}
		case float64:
			return float64(l) + r
		}
	case float64:
		switch r := r.(type) {
		case int:
			return l + float64(r)
		case float64:
			return l + r
		}
	case string:
		if r, ok := r.(string); ok {
			if err := b.charge("string concatenation +", int64(min(len(l), len(r)))); err != nil {
				return err
			}
			return l + r
		}
	case []any:
		if r, ok := r.([]any); ok {
			if len(l) == 0 {
				return r
			}
			if len(r) == 0 {
				return l
			}
			if err := b.charge("array concatenation +", growth(l, r, b.left())); err != nil {
				return err
			}
			v := make([]any, len(l)+len(r))
			copy(v, l)
			copy(v[len(l):], r)
			return v
		}
	case map[string]any:
		if r, ok := r.(map[string]any); ok {
			if len(l) == 0 {
				return r
			}
			if len(r) == 0 {
				return l
			}
			if err := b.charge("object addition +", growth(l, r, b.left())); err != nil {
				return err
			}
			m := make(map[string]any, len(l)+len(r))
			for k, v := range l {
				m[k] = v
			}
			for k, v := range r {
				m[k] = v
			}
			return m
		}
	}
	if r == nil {
		if _, isErr := l.(error); !isErr {
			return l
		}
	}
	return runBinop(g.add, l, r)
}

// growth is the size of the smaller of two containers, measuring the one
// with fewer entries first so that an append does not walk the whole
// accumulator.
func growth(l, r any, limit int64) int64 {
	if entries(l) > entries(r) {
		l, r = r, l
	}
	a := sizeOf(l, limit)
	return min(a, sizeOf(r, a))
}

func entries(v any) int {
	switch t := v.(type) {
	case []any:
		return len(t)
	case map[string]any:
		return len(t)
	}
	return 0
}

// mulFunc is `*`, with the repetition of a string charged before it is
// made ("x" * 1e9 would allocate a gigabyte in one step) and a deep merge
// charged like an addition.
func (g *guardFuncs) mulFunc(_ any, args []any) any {
	l, r := args[0], args[1]
	b, err := budgetOf(guardMul, args[2])
	if err != nil {
		return err
	}
	switch l := l.(type) {
	case int:
		switch r := r.(type) {
		case int:
			if r != -1 && r != 0 {
				if v := l * r; v/r == l {
					return v
				}
			}
		case float64:
			return float64(l) * r
		}
	case float64:
		switch r := r.(type) {
		case int:
			return l * float64(r)
		case float64:
			return l * r
		}
	case map[string]any:
		if r, ok := r.(map[string]any); ok {
			if err := b.charge("object multiplication *", growth(l, r, b.left())); err != nil {
				return err
			}
		}
	}
	s, sok := l.(string)
	n, nok := gojq.ToFloat64(r)
	if !sok || !nok {
		s, sok = r.(string)
		n, nok = gojq.ToFloat64(l)
	}
	if sok && nok && n > 0 {
		count := min(n, math.MaxInt32)
		if err := b.charge("string repetition *", int64(float64(len(s))*count)); err != nil {
			return err
		}
	}
	return runBinop(g.mul, l, r)
}

// divFunc is `/`, with the split of a string by a string charged first.
func (g *guardFuncs) divFunc(_ any, args []any) any {
	l, r := args[0], args[1]
	b, err := budgetOf(guardDiv, args[2])
	if err != nil {
		return err
	}
	switch l := l.(type) {
	case float64:
		switch r := r.(type) {
		case float64:
			if r != 0 {
				return l / r
			}
		case int:
			if r != 0 {
				return l / float64(r)
			}
		}
	case int:
		switch r := r.(type) {
		case float64:
			if r != 0 {
				return float64(l) / r
			}
		case int:
			if r != 0 && r != -1 {
				if l%r == 0 {
					return l / r
				}
				return float64(l) / float64(r)
			}
		}
	case string:
		if r, ok := r.(string); ok {
			if err := b.charge("string division /", splitCost(l, r)); err != nil {
				return err
			}
		}
	}
	return runBinop(g.div, l, r)
}

// splitCost bounds what splitting s by sep builds.
func splitCost(s, sep string) int64 {
	parts := int64(1)
	if sep == "" {
		parts = int64(utf8.RuneCountInString(s))
	} else {
		parts += int64(strings.Count(s, sep))
	}
	return costArray + parts*costScalar*2 + int64(len(s))
}

// matchCheck runs before a global _match, which returns every match
// object at once: it counts the matches (up to what the budget allows)
// and charges them. Patterns and flags that Go's regexp or this check do
// not handle are left to gojq.
func (g *guardFuncs) matchCheck(v any, args []any) any {
	b, err := budgetOf(guardMatch, args[2])
	if err != nil {
		return err
	}
	s, ok := v.(string)
	re, ok2 := args[0].(string)
	var flags string
	switch f := args[1].(type) {
	case nil:
	case string:
		flags = f
	default:
		ok2 = false
	}
	if !ok || !ok2 || !strings.Contains(flags, "g") {
		return v
	}
	r := matchRegexp(re, flags)
	if r == nil {
		return v
	}
	const perMatch = costObject + 4*(costEntry+8) + costArray + 2*costScalar
	most := int(b.left()/perMatch) + 1
	n := len(r.FindAllStringIndex(s, most))
	if err := b.charge("regular expression match (g)", int64(n)*perMatch); err != nil {
		return err
	}
	return v
}

// matchRegexp compiles re with gojq's flag handling (g, i, m; x is
// gojq's extended mode, which this check leaves alone).
func matchRegexp(re, flags string) *regexp.Regexp {
	if strings.ContainsFunc(flags, func(r rune) bool { return r != 'g' && r != 'i' && r != 'm' }) {
		return nil
	}
	if strings.ContainsRune(flags, 'i') {
		re = "(?i)" + re
	}
	if strings.ContainsRune(flags, 'm') {
		re = "(?s)" + re
	}
	r, err := regexp.Compile(re)
	if err != nil {
		return nil
	}
	return r
}
