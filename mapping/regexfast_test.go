package mapping

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/itchyny/gojq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNativeSubEquivalence compares rewritten sub/gsub calls with gojq's own
// definitions on many inputs: values and error messages must be identical.
func TestNativeSubEquivalence(t *testing.T) {
	t.Parallel()
	ns, err := newNativeSub()
	require.NoError(t, err)
	regexes := []string{`\\..*Z$`, `!.+`, `!.+$`, `\\.[0-9]+`, ` `, `[0-9]+$`, `a`, `[0-9]+`, `(ab|a)`, `a*`, `^`, `$`, `\\b`, `x?`, `é`, `(?<n>b)`, `[`, `A`}
	reps := []string{`Z`, ``, `-`, `é`}
	flagsList := []string{"", "g", "i", "gi", "m", "x", "n"}
	var inputs []any
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", "A", "Z", ".", "!", "1", "2", "é", " ", "\xff"}
	for range 40 {
		s := ""
		for range rng.IntN(8) {
			s += alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, s)
	}
	inputs = append(inputs, "2024-01-02T03:04:05.123Z", "group/project!12", nil, 1.0, []any{"a"}, map[string]any{})
	var native int
	for _, re := range regexes {
		for _, rep := range reps {
			for _, fl := range flagsList {
				for _, fn := range []string{"sub", "gsub"} {
					src := fmt.Sprintf(`%s("%s"; "%s")`, fn, re, rep)
					if fl != "" {
						src = fmt.Sprintf(`%s("%s"; "%s"; "%s")`, fn, re, rep, fl)
					}
					plainQ, err := gojq.Parse(src)
					require.NoError(t, err, src)
					plain, err := gojq.Compile(plainQ)
					require.NoError(t, err, src)
					q, err := gojq.Parse(src)
					require.NoError(t, err)
					rewriteSubCalls(q)
					require.Contains(t, q.String(), nativeSubName)
					code, err := gojq.Compile(q, ns.option())
					require.NoError(t, err, src)
					for _, in := range inputs {
						want, wok := plain.Run(in).Next()
						got, gok := code.Run(in).Next()
						require.Equal(t, wok, gok, "%s on %q", src, in)
						if we, ok := want.(error); ok {
							ge, ok := got.(error)
							require.True(t, ok, "%s on %q: want error %v, got %#v", src, in, we, got)
							assert.Equal(t, we.Error(), ge.Error())
							continue
						}
						require.True(t, reflect.DeepEqual(want, got), "%s on %q: want %#v, got %#v", src, in, want, got)
					}
					if r := ns.regexp(re, fl+map[bool]string{true: "g"}[fn == "gsub"]); r != nil {
						native++
					}
				}
			}
		}
	}
	assert.Positive(t, native, "some cases must take the native path")
}

func TestRewriteSubCallsRespectsShadowing(t *testing.T) {
	t.Parallel()
	for src, rewritten := range map[string]bool{
		`.a | sub("x"; "y")`:                         true,
		`.a | gsub("x"; "y"; "i")`:                   true,
		`.a | sub("x"; .b)`:                          false,
		`.a | sub("(?<c>x)"; "\(.c)")`:               false,
		`def sub($a; $b): 1; .a | sub("x"; "y")`:     false,
		`[.[] | if . then gsub("x"; "") else . end]`: true,
	} {
		q, err := gojq.Parse(src)
		require.NoError(t, err)
		rewriteSubCalls(q)
		assert.Equal(t, rewritten, strings.Contains(q.String(), nativeSubName), src)
	}
}
