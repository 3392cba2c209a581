package mapping

import (
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLitReMatchesRegexp compares litRe with Go's regexp, which the native
// sub otherwise runs (and which gojq's own sub runs), on random strings:
// the replacements must be identical for sub and gsub.
func TestLitReMatchesRegexp(t *testing.T) {
	t.Parallel()
	patterns := map[string]bool{ // pattern → whether litRe takes it
		` `: true, `!.+$`: true, `\.[0-9]+`: true, `!.+`: true, `ab`: true, `a+`: true, `[0-9]+$`: true,
		`x$`: true, `é+`: true, `[à-ÿ]+`: true, `(?s)!.+$`: true, `\s+`: true, `[^/]+$`: true, `/[^/]+$`: true,
		`a[ab]+`: true, `aa+`: true, `.+`: true, `!$`: true, `[[:space:]]+`: true, `\d+$`: true, `\z`: false,
		`!\z`: true, `(?i)[a-c]+`: true, `(?i)ab`: false, `(?m)!.+$`: false, `a+?`: false, `^ab`: false,
		`\.\d+Z`: false, `(ab)+`: false, `a|b`: false, `ab*`: false, `\bab`: false, `(?U)a+`: false, `.`: false,
	}
	alphabet := []string{"a", "b", "A", "x", ".", "!", "/", "1", "9", " ", "\t", "\n", "é", "ÿ", "日"}
	rng := rand.New(rand.NewPCG(5, 6))
	inputs := []string{"", "2024-06-01T08:00:00.123Z", "2024-06-01T08:00:00Z", "acme/platform/svc!12", "a!b!c", "!", "x\n!y", "!\n"}
	for range 400 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		inputs = append(inputs, b.String())
	}
	for pat, want := range patterns {
		parsed, err := syntax.Parse(pat, syntax.Perl)
		require.NoError(t, err, pat)
		l := newLitRe(parsed.Simplify())
		require.Equal(t, want, l != nil, "%s: litRe %v", pat, l)
		if l == nil {
			continue
		}
		re := regexp.MustCompile(pat)
		for _, s := range inputs {
			for _, global := range []bool{false, true} {
				for _, rep := range []string{"", "-", "é"} {
					assert.Equal(t, replaceRegexp(re, s, rep, global), l.replace(s, rep, global), "%s on %q (global %v, rep %q)", pat, s, global, rep)
				}
			}
		}
	}
}

// TestNativeRegexpUsesLitRe: the default mapping's regexes take litRe.
func TestNativeRegexpUsesLitRe(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{{" ", "g"}, {`\.[0-9]+`, ""}, {"!.+$", ""}, {"!.+", "g"}} {
		r := nativeRegexp(c[0], c[1])
		require.NotNil(t, r, c[0])
		assert.NotNil(t, r.lit, c[0])
	}
}

// FuzzLitRe compares litRe with Go's regexp on arbitrary patterns and
// subjects, wherever the native sub would use it.
func FuzzLitRe(f *testing.F) {
	for _, seed := range [][2]string{
		{`!.+$`, "g/p!3"}, {`\.[0-9]+`, "2024-06-01T08:00:00.123Z"}, {` `, " a b "}, {`a+`, "baaab"},
		{`[^/]+$`, "a/b/c"}, {`(?s)!.+$`, "x!\ny"}, {`é[à-ÿ]+`, "éàé"}, {`aa+`, "aaaa"},
	} {
		f.Add(seed[0], seed[1], "")
		f.Add(seed[0], seed[1], "g")
	}
	f.Fuzz(func(t *testing.T, pat, s, flags string) {
		if !utf8.ValidString(s) || len(pat) > 64 || len(s) > 256 {
			return
		}
		r := nativeRegexp(pat, flags)
		if r == nil || r.lit == nil {
			return
		}
		global := strings.ContainsRune(flags, 'g')
		for _, rep := range []string{"", "-", "é"} {
			want := replaceRegexp(r.re, s, rep, global)
			if got := r.lit.replace(s, rep, global); got != want {
				t.Fatalf("%q (flags %q) on %q, rep %q: litRe %q, regexp %q", pat, flags, s, rep, got, want)
			}
			var buf [8]byte
			if got := string(r.lit.appendReplace(buf[:0], s, rep, global)); got != want {
				t.Fatalf("%q (flags %q) on %q, rep %q: appendReplace %q, regexp %q", pat, flags, s, rep, got, want)
			}
		}
	})
}
