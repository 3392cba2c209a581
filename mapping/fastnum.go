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

func (fFromDate) eval(v any) (any, bool) {
	s, ok := v.(string)
	if !ok {
		return nil, false
	}
	return isoSeconds(s)
}

// isoSeconds is fFromDate on the text s.
func isoSeconds[T string | []byte](s T) (any, bool) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return nil, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return nil, false
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

func (f fSubDate) eval(v any) (any, bool) {
	s, ok := v.(string)
	if !ok || !utf8.ValidString(s) {
		return nil, false
	}
	var buf [32]byte
	return isoSeconds(f.sub.re.lit.appendReplace(buf[:0], s, f.sub.rep, f.sub.global))
}
