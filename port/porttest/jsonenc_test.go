package porttest

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// appendJSON writes what json.Marshal writes, for every value a decoded
// body or a normalised relation holds, and declines the rest.
func TestAppendJSONAsMarshal(t *testing.T) {
	t.Parallel()
	values := []any{
		nil, true, false, 0.0, math.Copysign(0, -1), 1.0, -1.5, 3.14159, 1e20, 1e21, 1e-6, 1e-7, 123456789e-15, -2.5e-10, 1e300, math.MaxFloat64, math.SmallestNonzeroFloat64,
		"", "plain", `quote " backslash \ slash /`, "<b>&amp;</b>", "\x00\x01\b\f\n\r\t\x1f\x7f", "é ü 日本 🚀", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", "\xed\xa0\x80",
		[]any{}, []any(nil), []any{1.0, "a", nil, []any{true}}, []string{}, []string(nil), []string{"a", "<", "b"},
		map[string]any{}, map[string]any(nil),
		map[string]any{"b": 1.0, "a": "x", "<k>": map[string]any{"z": []any{}, "y": nil}, "": false, "é": "\u2028", "A": 2.0, "a\x00": 3.0},
		map[string]any{"rel": []string{"x", "y"}, "one": "z", "none": nil},
	}
	for _, v := range values {
		want, err := json.Marshal(v)
		require.NoError(t, err)
		got, ok := appendJSON([]byte("prefix"), v)
		require.True(t, ok, "%#v", v)
		assert.Equal(t, "prefix"+string(want), string(got), "%#v", v)
	}
	for _, v := range []any{math.NaN(), math.Inf(1), 1, int64(2), float32(1.5), map[string]string{}, []int{1}, map[string]any{"k": struct{}{}}, []any{json.Number("1")}} {
		_, ok := appendJSON(nil, v)
		assert.False(t, ok, "%#v is json.Marshal's to encode", v)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "<>&", "\u2028", "\xff", "\x00", "日本"} {
		f.Add(s, 1.5)
	}
	f.Fuzz(func(t *testing.T, s string, x float64) {
		v := map[string]any{s: []any{s, x}, "k": s}
		want, err := json.Marshal(v)
		got, ok := appendJSON(nil, v)
		if err != nil {
			require.False(t, ok, "json.Marshal refuses %v", x)
			return
		}
		require.True(t, ok)
		require.Equal(t, string(want), string(got))
	})
}

func TestFNV64aAsHashFNV(t *testing.T) {
	t.Parallel()
	for _, parts := range [][]string{{}, {""}, {"a"}, {"hello", " world"}, {`{"p":{},"r":{}}`, `["t","",null]`}} {
		h := fnv.New64a()
		got := uint64(fnvOffset64)
		for _, p := range parts {
			_, _ = h.Write([]byte(p))
			got = fnv64a(got, []byte(p))
		}
		assert.Equal(t, h.Sum64(), got, "%q", parts)
	}
}

// A merge request's properties and relations as the GitLab integration
// writes them: appendJSON against json.Marshal, in the same run.
func BenchmarkPackEncoding(b *testing.B) {
	props := map[string]any{"status": "opened", "title": "Fix comet in brisk-falcon", "creator": "Ada Lovelace", "assignees": []any{"Grace Hopper"},
		"reviewers": []any{}, "createdAt": "2026-10-01T10:00:00.000Z", "updatedAt": "2026-11-01T10:00:00.000Z", "mergedAt": nil,
		"link": "https://gitlab.example.com/amber-falcon/brisk-falcon/-/merge_requests/3", "leadTimeHours": 12.5, "labels": []any{"bug", "backend"}}
	rels := map[string]any{"service": "amber-falcon/brisk-falcon"}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pb, _ := json.Marshal(props)
			rb, _ := json.Marshal(rels)
			_ = append(pb, rb...)
		}
	})
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = appendJSON(buf[:0], props)
			buf, _ = appendJSON(buf, rels)
		}
	})
}
