package mapping

import (
	"context"
	"errors"
	"math"
	"strings"
	"unicode"

	"github.com/itchyny/gojq"
)

// formatFilter reproduces Ocean's _format_filter: single-quote string
// delimiters become double quotes. Ocean does it with the Python regex
// (^|\s)'(?!\s|")|(?<!\s|")'(\s|$) replaced by \1"\2; Go's regexp has no
// look-around, so this scanner applies the same rule left to right.
func formatFilter(s string) string {
	if !strings.Contains(s, "'") {
		return s
	}
	r := []rune(s)
	n := len(r)
	var b strings.Builder
	b.Grow(len(s))
	lookaheadOK := func(i int) bool { // (?!\s|") at position i
		return i >= n || !(pySpace(r[i]) || r[i] == '"')
	}
	for p := 0; p < n; {
		// Alternative 1: (^|\s)'(?!\s|")
		if p == 0 && r[p] == '\'' && lookaheadOK(p+1) {
			b.WriteByte('"')
			p++
			continue
		}
		if pySpace(r[p]) && p+1 < n && r[p+1] == '\'' && lookaheadOK(p+2) {
			b.WriteRune(r[p])
			b.WriteByte('"')
			p += 2
			continue
		}
		// Alternative 2: (?<!\s|")'(\s|$)
		if r[p] == '\'' && (p == 0 || !(pySpace(r[p-1]) || r[p-1] == '"')) && (p+1 == n || pySpace(r[p+1])) {
			b.WriteByte('"')
			if p+1 < n {
				b.WriteRune(r[p+1])
			}
			p += 2
			continue
		}
		b.WriteRune(r[p])
		p++
	}
	return b.String()
}

// pySpace is Python's \s for str patterns.
func pySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// compatModule defines libjq built-ins that gojq lacks, so that mappings
// written for Ocean compile. See JQ_DIFFERENCES.md.
const compatModule = `
def keys_unsorted: keys;
def leaf_paths: paths(scalars);
def date: todate;
def dateadd(u; n): . + n;
def datesub(u; n): . - n;
def pow10: pow(10; .);
def debug: .;
def debug(msg): .;
def stderr: .;
def input_filename: null;
def toarray: if type == "array" then . else [.] end;
def recurse_down: recurse;
def scalars_or_empty: select(. == null or . == true or . == false or type == "number" or type == "string" or ((type == "array" or type == "object") and length == 0));
`

// compatNames are the functions compatModule defines; programs that use
// none of them skip compiling the module.
var compatNames = []string{
	"keys_unsorted", "leaf_paths", "date", "pow10", "debug", "stderr",
	"input_filename", "toarray", "recurse_down", "scalars_or_empty",
}

func needsCompat(src string) bool {
	for _, n := range compatNames {
		if strings.Contains(src, n) {
			return true
		}
	}
	return false
}

type compatLoader struct{ qs []*gojq.Query }

func (l compatLoader) LoadInitModules() ([]*gojq.Query, error) { return l.qs, nil }

func newCompatLoader() (compatLoader, error) {
	q, err := gojq.Parse(compatModule)
	if err != nil {
		return compatLoader{}, err
	}
	return compatLoader{qs: []*gojq.Query{q}}, nil
}

func lgammaR(v any, _ []any) any {
	f, ok := gojq.ToFloat64(v)
	if !ok {
		return errors.New("lgamma_r: number required")
	}
	lg, sign := math.Lgamma(f)
	return []any{lg, float64(sign)}
}

// expr is one compiled jq program with an optional interpreter-free fast path.
type expr struct {
	src  string // as written in the config
	code *gojq.Code
	fast fastExpr
	// constant is set when the program is a literal; value holds it.
	constant bool
	value    any
	// bounded is set when the program always ends quickly whichever path
	// runs: it has a full fast path, whose gojq fallback (the unhappy
	// path) runs the same simple shapes. A fast path with an if branch
	// left to gojq can run anything, so it is not bounded.
	bounded bool
	// limit is what one gojq run may build, in bytes, when the program
	// was guarded (see guardQuery); 0 otherwise. budgetVar is set when
	// the program charges a budget passed as a variable.
	limit     int64
	budgetVar bool
}

// run evaluates e against v and returns its first output (nil when empty).
func (e *expr) run(ctx context.Context, v any) (any, error) {
	if e.constant {
		return e.value, nil
	}
	if e.fast != nil {
		if r, ok := e.fast.eval(v); ok {
			return r, nil
		}
	}
	return e.runJQ(ctx, v)
}

func (e *expr) runJQ(ctx context.Context, v any) (any, error) {
	var (
		iter gojq.Iter
		b    *evalBudget
	)
	switch {
	case e.budgetVar:
		b = &evalBudget{limit: e.limit}
		iter = e.code.RunWithContext(ctx, v, b)
	case e.limit > 0:
		b = &evalBudget{limit: e.limit}
		iter = e.code.RunWithContext(ctx, v)
	default:
		iter = e.code.RunWithContext(ctx, v)
	}
	r, ok := iter.Next()
	if !ok {
		return nil, nil
	}
	if err, ok := r.(error); ok {
		var halt *gojq.HaltError
		if errors.As(err, &halt) && halt.Value() == nil {
			return nil, nil
		}
		return nil, boundedError(err)
	}
	if b != nil {
		// The result is encoded for Port: one built of many references to
		// the same value is as large as it will be there.
		if n := sizeOf(r, b.left()); n > b.left() {
			return nil, &LimitError{Op: "result", Need: b.used + n, Limit: b.limit}
		}
	}
	return r, nil
}

// maxErrorText bounds the text of an error raised with error(v): gojq
// renders v whole, and the text is logged.
const maxErrorText = 512

// boundedError keeps the error of error(v) or halt_error(v) short
// whatever v is: a string is cut, another value previewed, so that no
// message is ever as large as what a program built.
func boundedError(err error) error {
	var ve gojq.ValueError
	if !errors.As(err, &ve) {
		return err
	}
	var msg string
	switch v := ve.Value().(type) {
	case string:
		if len(v) <= maxErrorText {
			return err
		}
		msg = "error: " + strings.ToValidUTF8(v[:maxErrorText], "") + "…"
	default:
		msg = "error: " + gojq.Preview(v)
	}
	return &valueError{msg: msg, err: err}
}

// valueError is a jq error(v) with a bounded message.
type valueError struct {
	msg string
	err error
}

func (e *valueError) Error() string { return e.msg }
func (e *valueError) Unwrap() error { return e.err }
