package jsonenc

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// std is what encoding/json writes for v: json.Marshal with HTML escaping,
// an Encoder with SetEscapeHTML(false) without.
func std(v any, html bool) ([]byte, error) {
	if html {
		return json.Marshal(v)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// stdFallback is the fallback a caller passes: encoding/json itself.
func stdFallback(html bool) Fallback {
	return func(dst []byte, v any) ([]byte, bool) {
		b, err := std(v, html)
		if err != nil {
			return dst, false
		}
		return append(dst, b...), true
	}
}

type marshalsItself struct{ V string }

func (m marshalsItself) MarshalJSON() ([]byte, error) { return json.Marshal("<" + m.V + ">") }

func TestAppendValueWritesWhatEncodingJSONWrites(t *testing.T) {
	t.Parallel()
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	deep := func() any {
		var v any = "leaf"
		for range MaxDepth + 50 {
			v = []any{map[string]any{"x": v}}
		}
		return v
	}()
	values := []any{
		nil, true, false, 0.0, math.Copysign(0, -1), 1.0, -1.5, 3.14159, 1e20, 1e21, 1e-6, 1e-7, 123456789e-15, -2.5e-10, 1e300, math.MaxFloat64, math.SmallestNonzeroFloat64,
		float32(1.5), float32(1e-7), float32(1e21), float32(0.1), 1, int64(-2), int32(3), uint64(math.MaxUint64),
		"", "plain", `quote " backslash \ slash /`, "<b>&amp;</b>", "\x00\x01\b\f\n\r\t\x1f\x7f", "é ü 日本 🚀", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", "\xed\xa0\x80",
		[]any{}, []any(nil), []any{1.0, "a", nil, []any{true}}, []string{}, []string(nil), []string{"a", "<", "b"},
		map[string]any{}, map[string]any(nil),
		map[string]any{"b": 1.0, "a": "x", "<k>": map[string]any{"z": []any{}, "y": nil}, "": false, "é": "\u2028", "A": 2.0, "a\x00": 3.0},
		map[string]any{"rel": []string{"x", "y"}, "one": "z", "none": nil},
		// Handed to the fallback: other types, and nesting past MaxDepth.
		map[string]any{"custom": marshalsItself{V: "x"}, "num": json.Number("12"), "ints": []int{1}, "strmap": map[string]string{"b": "1", "a": "<2>"}},
		deep,
	}
	for _, html := range []bool{true, false} {
		for _, v := range values {
			want, err := std(v, html)
			require.NoError(t, err)
			got, ok := AppendValue([]byte("prefix"), v, html, stdFallback(html))
			require.True(t, ok, "%#v", v)
			assert.Equal(t, "prefix"+string(want), string(got), "html %v: %#v", html, v)
		}
	}
	// What encoding/json refuses is refused, whatever the fallback.
	for _, v := range []any{math.NaN(), math.Inf(1), []any{math.Inf(-1)}, float32(math.Inf(1)), map[string]any{"c": make(chan int)}, cyclic} {
		_, ok := AppendValue(nil, v, false, stdFallback(false))
		assert.False(t, ok, "%#v", v)
	}
	// Without a fallback, what AppendValue does not take itself is
	// declined, for the caller to encode.
	for _, v := range []any{map[string]any{"k": struct{}{}}, []any{json.Number("1")}, map[string]string{}, deep} {
		_, ok := AppendValue(nil, v, true, nil)
		assert.False(t, ok, "%#v", v)
	}
}

func FuzzAppendValue(f *testing.F) {
	for _, s := range []string{"", "a", "<>&", "\u2028", "\xff", "\x00", "日本", `"\`} {
		f.Add(s, 1.5, true)
	}
	f.Add("x", 1e21, false)
	f.Add("y", -1e-7, false)
	f.Fuzz(func(t *testing.T, s string, x float64, html bool) {
		v := map[string]any{s: []any{s, x, float32(x)}, "k": s, "l": []string{s}}
		want, err := std(v, html)
		got, ok := AppendValue(nil, v, html, nil)
		if err != nil {
			require.False(t, ok, "encoding/json refuses %v", x)
			return
		}
		require.True(t, ok)
		require.Equal(t, string(want), string(got))
	})
}

func BenchmarkAppendValue(b *testing.B) {
	props := map[string]any{"status": "opened", "title": "Fix comet in brisk-falcon", "creator": "Ada Lovelace", "assignees": []any{"Grace Hopper"},
		"reviewers": []any{}, "createdAt": "2026-10-01T10:00:00.000Z", "mergedAt": nil, "leadTimeHours": 12.5, "labels": []any{"bug", "backend"}}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(props)
		}
	})
	b.Run("AppendValue", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = AppendValue(buf[:0], props, true, nil)
		}
	})
}

// TestAppendStringEveryByteEverywhere writes strings with each byte value
// at each position of the eight-byte steps AppendString takes, between
// plain bytes and before any other byte, as encoding/json does.
func TestAppendStringEveryByteEverywhere(t *testing.T) {
	t.Parallel()
	after := []byte{'a', 0, '"', '\\', '<', '&', 0x1f, 0x7f, 0x80, 0xe2, 0xff}
	for _, html := range []bool{true, false} {
		for pos := range 17 {
			for c := range 256 {
				for _, a := range after {
					b := []byte(strings.Repeat("x", pos) + string([]byte{byte(c), a}) + "yyyyyyyyy")
					s := string(b)
					var want bytes.Buffer
					enc := json.NewEncoder(&want)
					enc.SetEscapeHTML(html)
					require.NoError(t, enc.Encode(s))
					got := AppendString(nil, s, html)
					if string(got) != strings.TrimSuffix(want.String(), "\n") {
						t.Fatalf("%q (html %v): %s, encoding/json %s", s, html, got, want.String())
					}
				}
			}
		}
	}
}
