package mapping

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/dlclark/regexp2/v2"
	"github.com/itchyny/gojq"
)

// libjq matches regular expressions with Oniguruma; gojq with Go's regexp
// (RE2), which refuses look-around and back-references. Mappings copied
// from Port's docs use them (GitHub's default pull-request mapping has
// gsub("\\](?=[^$])"; "-")), so a program whose regex calls could meet
// such a pattern gets jq's regex builtins redefined over a native
// function: a pattern RE2 compiles runs through gojq's own _match (same
// results, same errors), any other through a backtracking engine with
// Oniguruma's features, bounded in time.

const compatMatchName = "_oceankit_rx"

// regexBuiltins are jq's regex functions, by name and arity, with where
// their pattern argument is.
var regexBuiltins = map[string]bool{
	"test/1": true, "test/2": true, "match/1": true, "match/2": true,
	"capture/1": true, "capture/2": true, "scan/1": true, "scan/2": true,
	"splits/1": true, "splits/2": true, "split/2": true,
	"sub/2": true, "sub/3": true, "gsub/2": true, "gsub/3": true,
}

// regexPrelude is gojq's builtin.jq definitions of the regex functions
// with _match replaced. A function may only call those defined before it,
// hence the order.
const regexPrelude = `
def match($re; $flags): ` + compatMatchName + `($re; $flags; false)[];
def match($re): if $re | type == "array" then match($re[0]; $re[1]) else match($re; null) end;
def test($re; $flags): ` + compatMatchName + `($re; $flags; true);
def test($re): if $re | type == "array" then test($re[0]; $re[1]) else test($re; null) end;
def capture($re; $flags): match($re; $flags) | .captures | _captures;
def capture($re): if $re | type == "array" then capture($re[0]; $re[1]) else capture($re; null) end;
def scan($re; $flags): match($re; $flags + "g") | if .captures == [] then .string else [.captures[].string] end;
def scan($re): scan($re; null);
def splits($re; $flags): .[foreach (match($re; $flags + "g"), null) as {$offset, $length} (null; {start: .next, end: $offset, next: $offset + $length})];
def splits($re): splits($re; null);
def split($re; $flags): [splits($re; $flags)];
def sub($re; str; $flags): reduce match($re; $flags) as {$offset, $length, $captures} ({s: ., r: []}; reduce ($captures | _captures | str) as $s (.i = 0; .r[.i] += .s[.next:$offset] + $s | .i += 1) | .next = $offset + $length) | .r[] + .s[.next:] // .s;
def sub($re; str): sub($re; str; null);
def gsub($re; str; $flags): sub($re; str; $flags + "g");
def gsub($re; str): sub($re; str; "g");
.`

// DefaultRegexTimeout bounds one match of a pattern that only the
// backtracking engine runs (see WithRegexTimeout).
const DefaultRegexTimeout = time.Second

// regexCompat is created per Compile: it owns its caches.
type regexCompat struct {
	timeout  time.Duration
	re2      sync.Map // [2]string{re, flags} → bool: Go's regexp compiles it
	compiled sync.Map // [2]string{re, flags} → *regexp2.Regexp or error
	gojq     *gojq.Code
}

func newRegexCompat(timeout time.Duration) (*regexCompat, error) {
	q, err := gojq.Parse("_match($re; $flags; $test)")
	if err != nil {
		return nil, err
	}
	code, err := gojq.Compile(q, gojq.WithVariables([]string{"$re", "$flags", "$test"}))
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = regexp2.DefaultMatchTimeout
	}
	return &regexCompat{timeout: timeout, gojq: code}, nil
}

func (c *regexCompat) option() gojq.CompilerOption {
	return gojq.WithFunction(compatMatchName, 3, 3, c.call)
}

// needed reports whether q calls a regex function whose pattern is not a
// literal RE2 compiles. Only those programs pay for the redefinitions.
func (c *regexCompat) needed(q *gojq.Query) bool {
	need := false
	walkQuery(q, func(t *gojq.Term) {
		if need || t.Type != gojq.TermTypeFunc || t.Func == nil || len(t.Func.Args) == 0 {
			return
		}
		f := t.Func
		if !regexBuiltins[fmt.Sprintf("%s/%d", f.Name, len(f.Args))] {
			return
		}
		pat, ok := stringLiteral(f.Args[0])
		if !ok {
			need = true // computed at run time: decided per call
			return
		}
		flags := ""
		if len(f.Args) == 3 || (len(f.Args) == 2 && (f.Name == "test" || f.Name == "match" || f.Name == "capture" || f.Name == "scan" || f.Name == "splits" || f.Name == "split")) {
			flags, _ = stringLiteral(f.Args[len(f.Args)-1])
		}
		if !c.re2OK(pat, flags) {
			need = true
		}
	}, func(*gojq.FuncDef) {})
	return need
}

// apply prepends the redefinitions to q (after checkReserved: they use a
// reserved name).
func (c *regexCompat) apply(q *gojq.Query) error {
	p, err := gojq.Parse(regexPrelude)
	if err != nil {
		return err
	}
	q.FuncDefs = append(p.FuncDefs, q.FuncDefs...)
	return nil
}

// re2OK reports whether gojq's own _match compiles the pattern.
func (c *regexCompat) re2OK(re, flags string) bool {
	key := [2]string{re, flags}
	if v, ok := c.re2.Load(key); ok {
		return v.(bool)
	}
	src := re
	if strings.ContainsRune(flags, 'i') {
		src = "(?i)" + src
	}
	_, err := regexp.Compile(src)
	c.re2.Store(key, err == nil)
	return err == nil
}

func (c *regexCompat) call(v any, args []any) any {
	re, ok := args[0].(string)
	flags, fok := args[1].(string)
	if args[1] == nil {
		fok = true
	}
	s, sok := v.(string)
	if !ok || !fok || !sok || c.re2OK(re, flags) {
		// gojq's result, or its error for a bad input or flags.
		out, _ := c.gojq.Run(v, args...).Next()
		return out
	}
	rx, err := c.compile(re, flags)
	if err != nil {
		return err
	}
	if args[2] == true {
		m, err := rx.MatchString(s)
		if err != nil {
			return c.matchErr(re, err)
		}
		return m
	}
	global := strings.ContainsRune(flags, 'g')
	skipEmpty := strings.ContainsRune(flags, 'n')
	var out []any
	m, err := rx.FindStringMatch(s)
	for m != nil && err == nil {
		if !(skipEmpty && m.RuneLength == 0) {
			out = append(out, matchObject(m))
			if !global {
				break
			}
		}
		m, err = rx.FindNextMatch(m)
	}
	if err != nil {
		return c.matchErr(re, err)
	}
	if out == nil {
		out = []any{}
	}
	return out
}

func (c *regexCompat) matchErr(re string, err error) error {
	return fmt.Errorf("regular expression %q: %w (budget %s)", re, err, c.timeout)
}

// compile compiles a pattern for the backtracking engine. Flags are
// Oniguruma's as jq documents them; those it cannot honour are refused.
func (c *regexCompat) compile(re, flags string) (*regexp2.Regexp, error) {
	key := [2]string{re, flags}
	if v, ok := c.compiled.Load(key); ok {
		if err, bad := v.(error); bad {
			return nil, err
		}
		return v.(*regexp2.Regexp), nil
	}
	opts := regexp2.None
	for _, f := range flags {
		switch f {
		case 'g', 'n':
		case 'i':
			opts |= regexp2.IgnoreCase
		case 'x':
			opts |= regexp2.IgnorePatternWhitespace
		default:
			err := fmt.Errorf("%s is not a valid modifier string for a regular expression that needs look-around or back-references (supported: g, i, n, x)", flags)
			c.compiled.Store(key, err)
			return nil, err
		}
	}
	// Oniguruma's Perl syntax captures only the named groups when a
	// pattern has any.
	if hasNamedGroup(re) {
		opts |= regexp2.ExplicitCapture
	}
	rx, err := regexp2.Compile(re, opts, regexp2.OptionMaintainCaptureOrder())
	if err != nil {
		err = fmt.Errorf("invalid regular expression %q: %w", re, err)
		c.compiled.Store(key, err)
		return nil, err
	}
	rx.MatchTimeout = c.timeout
	c.compiled.Store(key, rx)
	return rx, nil
}

func hasNamedGroup(re string) bool {
	for i := 0; i+3 < len(re); i++ {
		if re[i] == '\\' {
			i++
			continue
		}
		if re[i] == '(' && re[i+1] == '?' && (re[i+2] == '<' || re[i+2] == '\'' || re[i+2] == 'P') &&
			re[i+3] != '=' && re[i+3] != '!' {
			return true
		}
	}
	return false
}

// matchObject renders a match as jq's match does; offsets and lengths
// count code points, as regexp2's do.
func matchObject(m *regexp2.Match) map[string]any {
	groups := m.Groups()
	captures := make([]any, 0, len(groups)-1)
	for _, g := range groups[1:] {
		var name any
		if !isNumber(g.Name) {
			name = g.Name
		}
		if len(g.Captures) == 0 {
			captures = append(captures, map[string]any{"offset": -1, "length": 0, "string": nil, "name": name})
			continue
		}
		captures = append(captures, map[string]any{"offset": g.RuneIndex, "length": g.RuneLength, "string": g.String(), "name": name})
	}
	return map[string]any{"offset": m.RuneIndex, "length": m.RuneLength, "string": m.String(), "captures": captures}
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
