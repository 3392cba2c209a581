package mapping

import (
	"math"
	"time"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// Number shapes of the fast path: +, -, * and / on numbers, the rounding
// functions and fromdateiso8601, as in gitlab-v2's lead time
// `((.merged_at | sub(…) | fromdateiso8601) - (.created_at | …)) / 3600
// | . * 100 | floor / 100`, which would otherwise run gojq's interpreter
// for every merged merge request. Each mirrors gojq's operator on int and
// float64 operands (operator.go, func.go); big integers, json.Number,
// overflow, division by zero and invalid dates decline, so that gojq
// gives its own result or error.

// arith is gojq's funcOpAdd, funcOpSub, funcOpMul or funcOpDiv on int and
// float64 operands: ok is false for any other operand or for a result gojq
// would make a big integer or an error.
func arith(op byte, x, y any) (any, bool) {
	switch l := x.(type) {
	case int:
		switch r := y.(type) {
		case int:
			return intArith(op, l, r)
		case float64:
			return floatArith(op, float64(l), r)
		}
	case float64:
		switch r := y.(type) {
		case int:
			return floatArith(op, l, float64(r))
		case float64:
			return floatArith(op, l, r)
		}
	}
	return nil, false
}

func intArith(op byte, l, r int) (any, bool) {
	switch op {
	case '+':
		if v := l + r; (v >= l) == (r >= 0) {
			return v, true
		}
	case '-':
		if v := l - r; (v <= l) == (r >= 0) {
			return v, true
		}
	case '*':
		if r == -1 {
			return intNegate(l)
		}
		if v := l * r; r == 0 || v/r == l {
			return v, true
		}
	case '/':
		switch r {
		case 0:
			// gojq: cannot divide number (…) by: number (0).
		case -1:
			return intNegate(l)
		default:
			if l%r == 0 {
				return l / r, true
			}
			return float64(l) / float64(r), true
		}
	}
	return nil, false // a big integer or an error: gojq's
}

// intNegate is gojq's negate, which makes -MinInt a big integer.
func intNegate(v int) (any, bool) {
	if v == math.MinInt {
		return nil, false
	}
	return -v, true
}

func floatArith(op byte, l, r float64) (any, bool) {
	switch op {
	case '+':
		return l + r, true
	case '-':
		return l - r, true
	case '*':
		return l * r, true
	case '/':
		if r == 0 {
			return nil, false // gojq's division-by-zero error
		}
		return l / r, true
	}
	return nil, false
}

// fArith is `l op r` for -, * and / (+ is fAdd, which also joins strings).
type fArith struct {
	l, r fastExpr
	op   byte
}

func (a fArith) eval(v any) (any, bool) {
	// gojq evaluates the right operand first; both are pure here.
	x, ok := a.l.eval(v)
	if !ok {
		return nil, false
	}
	y, ok := a.r.eval(v)
	if !ok {
		return nil, false
	}
	return arith(a.op, x, y)
}

// mathFuncs are gojq's one-argument math functions the fast path runs:
// gojq applies them to ToFloat64 of the input and returns a float64.
var mathFuncs = map[string]func(float64) float64{
	"floor": math.Floor,
	"ceil":  math.Ceil,
	"round": math.Round,
	"trunc": math.Trunc,
	"fabs":  math.Abs,
	"sqrt":  math.Sqrt,
}

type fMath struct{ f func(float64) float64 }

func (m fMath) eval(v any) (any, bool) {
	x, ok := gojq.ToFloat64(v)
	if !ok {
		return nil, false // gojq's "cannot be applied to" error
	}
	return m.f(x), true
}

// fFromDate is fromdateiso8601 (and fromdate) on the strict form
// "YYYY-MM-DDTHH:MM:SSZ", the form GitLab's timestamps take once their
// fraction is cut. gojq runs strptime("%Y-%m-%dT%H:%M:%S%z") | mktime:
// timefmt reads those fields in the ranges checked below and normalises
// the date with time.Date (February 30th is March 1st), and mktime of the
// broken-down time is the float64 of its Unix seconds. Any other form
// (an offset, a fraction, a sign, fewer digits) declines: gojq parses it
// or reports its own error.
type fFromDate struct{}

func (d fFromDate) eval(v any) (any, bool) { return boxFloat(d.evalFloat(v)) }

func (fFromDate) evalFloat(v any) (float64, bool) {
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	return isoSeconds(s)
}

// isoSeconds is fFromDate on the text s.
func isoSeconds[T string | []byte](s T) (float64, bool) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return 0, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	return float64(t.Unix()), true
}

// digits parses s, made of ASCII digits only.
func digits[T string | []byte](s T) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int(c)
	}
	return n, true
}

// fSubDate is `sub(LITERAL-ISH; "…") | fromdateiso8601`, as in
// `.merged_at | sub("\\.[0-9]+"; "") | fromdateiso8601`: the replaced
// text is built on the stack and parsed there, not allocated.
type fSubDate struct{ sub fSub }

func (f fSubDate) eval(v any) (any, bool) { return boxFloat(f.evalFloat(v)) }

func (f fSubDate) evalFloat(v any) (float64, bool) {
	s, ok := v.(string)
	if !ok || !utf8.ValidString(s) {
		return 0, false
	}
	var buf [32]byte
	return isoSeconds(f.sub.re.lit.appendReplace(buf[:0], s, f.sub.rep, f.sub.global))
}

func boxFloat(f float64, ok bool) (any, bool) {
	if !ok {
		return nil, false
	}
	return f, true
}

// A chain of number shapes whose result is a float64 (the lead time:
// dates, a difference, divisions, floor) would box every intermediate
// number into an any, one allocation each. floatEval and floatApply
// compile such a chain into functions on float64, and fFloat boxes only
// its result. They follow binopTypeSwitch: an operation with one float64
// operand converts an int other operand and gives a float64; one whose
// operands may both be ints is not compiled here.

// floatEval returns a function giving f's result from any input when that
// result is always a float64.
func floatEval(f fastExpr) (func(any) (float64, bool), bool) {
	switch f := f.(type) {
	case fFloat:
		return f.fn, true
	case fFromDate:
		return f.evalFloat, true
	case fSubDate:
		return f.evalFloat, true
	case fMath:
		return func(v any) (float64, bool) {
			x, ok := gojq.ToFloat64(v)
			if !ok {
				return 0, false
			}
			return f.f(x), true
		}, true
	case fArith:
		lf, lok := floatEval(f.l)
		rf, rok := floatEval(f.r)
		if !lok && !rok {
			return nil, false
		}
		if !lok {
			lf = numberOperand(f.l)
		}
		if !rok {
			rf = numberOperand(f.r)
		}
		op := f.op
		return func(v any) (float64, bool) {
			x, ok := lf(v)
			if !ok {
				return 0, false
			}
			y, ok := rf(v)
			if !ok {
				return 0, false
			}
			return floatOp(op, x, y)
		}, true
	case fPipe:
		if lf, ok := floatEval(f.l); ok {
			if ra, ok := floatApply(f.r); ok {
				return func(v any) (float64, bool) {
					x, ok := lf(v)
					if !ok {
						return 0, false
					}
					return ra(x)
				}, true
			}
		}
		if rf, ok := floatEval(f.r); ok {
			l := f.l
			return func(v any) (float64, bool) {
				x, ok := l.eval(v)
				if !ok {
					return 0, false
				}
				return rf(x)
			}, true
		}
	}
	return nil, false
}

// numberOperand evaluates f as the int or float64 operand of an operation
// whose other operand is a float64.
func numberOperand(f fastExpr) func(any) (float64, bool) {
	return func(v any) (float64, bool) {
		x, ok := f.eval(v)
		if !ok {
			return 0, false
		}
		switch x := x.(type) {
		case int:
			return float64(x), true
		case float64:
			return x, true
		}
		return 0, false
	}
}

// floatApply returns f as a function of a float64 input when its result
// is then always a float64.
func floatApply(f fastExpr) (func(float64) (float64, bool), bool) {
	switch f := f.(type) {
	case fFloat:
		return floatApply(f.x)
	case fIdentity:
		return func(x float64) (float64, bool) { return x, true }, true
	case fMath:
		return func(x float64) (float64, bool) { return f.f(x), true }, true
	case fArith:
		la, lok := floatApply(f.l)
		ra, rok := floatApply(f.r)
		if !lok && !rok {
			return nil, false
		}
		if !lok {
			if la, lok = constOperand(f.l); !lok {
				return nil, false
			}
		}
		if !rok {
			if ra, rok = constOperand(f.r); !rok {
				return nil, false
			}
		}
		op := f.op
		return func(x float64) (float64, bool) {
			a, ok := la(x)
			if !ok {
				return 0, false
			}
			b, ok := ra(x)
			if !ok {
				return 0, false
			}
			return floatOp(op, a, b)
		}, true
	case fPipe:
		la, ok := floatApply(f.l)
		if !ok {
			return nil, false
		}
		ra, ok := floatApply(f.r)
		if !ok {
			return nil, false
		}
		return func(x float64) (float64, bool) {
			y, ok := la(x)
			if !ok {
				return 0, false
			}
			return ra(y)
		}, true
	}
	return nil, false
}

// constOperand is a number literal as a float64 operand.
func constOperand(f fastExpr) (func(float64) (float64, bool), bool) {
	c, ok := f.(fConst)
	if !ok {
		return nil, false
	}
	var y float64
	switch v := c.v.(type) {
	case int:
		y = float64(v)
	case float64:
		y = v
	default:
		return nil, false
	}
	return func(float64) (float64, bool) { return y, true }, true
}

func floatOp(op byte, l, r float64) (float64, bool) {
	switch op {
	case '-':
		return l - r, true
	case '*':
		return l * r, true
	case '/':
		if r == 0 {
			return 0, false // gojq's division-by-zero error
		}
		return l / r, true
	}
	return 0, false
}

// fFloat is x compiled by floatEval: it boxes only the result.
type fFloat struct {
	x  fastExpr
	fn func(any) (float64, bool)
}

func (f fFloat) eval(v any) (any, bool) { return boxFloat(f.fn(v)) }

// floatWrap returns f as an fFloat when floatEval compiles it.
func floatWrap(f fastExpr) fastExpr {
	switch f.(type) {
	case fArith, fPipe:
		if fn, ok := floatEval(f); ok {
			return fFloat{f, fn}
		}
	}
	return f
}
