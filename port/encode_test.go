package port

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/oceankit/oceankit/internal/jsonenc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stdWrite is what the upsert body of e was before encodeWrite: encoding/json
// with HTML escaping off.
func stdWrite(e *Entity) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(writeBody(*e)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

type marshalsItself struct{ V string }

func (m marshalsItself) MarshalJSON() ([]byte, error) {
	return []byte(`{ "custom" : "` + m.V + `" , "html": "<&>" }`), nil
}

type encodeCase struct {
	name string
	e    Entity
}

// encodeCases are entities of every shape, and some encoding/json refuses.
func encodeCases() []encodeCase {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	return []encodeCase{
		{"empty", Entity{}},
		{"identifier only", Entity{Identifier: "svc"}},
		{"blueprint and read-only fields are not sent", Entity{Identifier: "svc", Blueprint: "service", CreatedBy: "x", Datasource: "d",
			CreatedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"every field", Entity{Identifier: "svc", Title: "Svc", Icon: "GitLab", Team: []any{"b", "a"},
			Properties: map[string]any{"url": "https://x/y?a=1&b=<2>", "stars": 3.0, "archived": false, "none": nil},
			Relations:  map[string]any{"group": "g", "members": []any{"u1", "u2"}, "empty": []any{}}}},
		{"empty maps are omitted", Entity{Identifier: "svc", Properties: map[string]any{}, Relations: map[string]any{}}},
		{"nil values inside", Entity{Identifier: "svc", Properties: map[string]any{
			"m": map[string]any(nil), "a": []any(nil), "s": []string(nil), "n": nil}}},
		{"search-query identifier and team", Entity{Identifier: Query{Combinator: "and", Rules: []any{Rule{Property: "$identifier", Operator: "=", Value: "x"}}},
			Team: And(Rule{Property: "name", Operator: "=", Value: "t"})}},
		{"map identifier", Entity{Identifier: map[string]any{"combinator": "or", "rules": []any{}}}},
		{"team of strings", Entity{Identifier: "svc", Team: []string{"z", "a"}}},
		{"numbers", Entity{Identifier: "n", Properties: map[string]any{
			"zero": 0.0, "negzero": math.Copysign(0, -1), "int": 42, "int64": int64(-7), "int32": int32(5), "uint64": uint64(math.MaxUint64),
			"big": 1e21, "under": 1e20, "tiny": 1e-7, "small": 1e-6, "frac": 0.1, "third": 1.0 / 3, "neg": -123.456e-30,
			"max": math.MaxFloat64, "smallest": math.SmallestNonzeroFloat64, "f32": float32(0.1), "f32big": float32(1e21),
			"f32tiny": float32(1e-7), "exp": 1.5e300, "2^53": float64(1 << 53), "json.Number": json.Number("12.50"),
			"bigint": big.NewInt(1 << 62)}}},
		{"strings", Entity{Identifier: "s\"q\\", Title: "<b>&amp;</b>", Icon: "\u2028\u2029", Properties: map[string]any{
			"ctl": "\x00\x01\b\f\n\r\t\x1f\x7f", "utf8": "héllo wörld 日本 🎉", "bad": "a\xffb\xc3", "trunc": "\xe2\x80",
			"key \"quoted\" <&>\n": "v", "": "empty key"}}},
		{"nested", Entity{Identifier: "n", Properties: map[string]any{"obj": map[string]any{"b": []any{1.0, "x", nil, true,
			map[string]any{"z": 1, "a": []any{[]any{}}}}, "a": map[string]any{}}}}},
		{"other types through encoding/json", Entity{Identifier: "o", Properties: map[string]any{
			"time": time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC), "bytes": []byte("hi"), "strmap": map[string]string{"b": "1", "a": "<2>"},
			"raw": json.RawMessage(` { "a" : [1, 2] } `), "custom": marshalsItself{V: "x"}, "ptr": (*Query)(nil),
			"maps": []map[string]any{{"k": 1.5}}}}},
		{"many keys", Entity{Identifier: "k", Properties: func() map[string]any {
			m := map[string]any{}
			for i := range 40 {
				m[strings.Repeat("k", i%7)+string(rune('a'+i%26))+string(rune('0'+i/26))] = float64(i) / 7
			}
			return m
		}()}},
		{"deep", Entity{Identifier: "d", Properties: map[string]any{"deep": func() any {
			var v any = "leaf"
			for range jsonenc.MaxDepth + 50 {
				v = []any{map[string]any{"x": v}}
			}
			return v
		}()}}},
		{"NaN", Entity{Identifier: "x", Properties: map[string]any{"n": math.NaN()}}},
		{"infinity", Entity{Identifier: "x", Relations: map[string]any{"n": []any{math.Inf(-1)}}}},
		{"unsupported type", Entity{Identifier: "x", Properties: map[string]any{"c": make(chan int)}}},
		{"cycle", Entity{Identifier: "x", Properties: map[string]any{"c": cyclic}}},
	}
}

// Port receives byte for byte what encoding/json sent: the same keys in the
// same order, the same omissions, number formats and string escapes.
func TestEncodeWriteEqualsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range encodeCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, wantErr := stdWrite(&tt.e)
			prefix := []byte("prefix")
			got, err := encodeWrite(prefix, &tt.e)
			if wantErr != nil {
				require.Error(t, err)
				assert.Equal(t, wantErr.Error(), err.Error())
				assert.Equal(t, "prefix", string(got), "a failed entity leaves nothing behind")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "prefix"+string(want), string(got))
		})
	}
}

// Entities encoded one after the other with the key orders of the
// previous ones, as BulkUpsert encodes them, are encoded as encoding/json
// encodes each: whether their keys are the last entity's or not.
func TestEncodeWriteOrderedEqualsEncodingJSON(t *testing.T) {
	t.Parallel()
	cases := encodeCases()
	// Each entity twice (the second time with its own keys at hand),
	// then again after every other.
	var seq []encodeCase
	for _, c := range cases {
		seq = append(seq, c, c)
	}
	for _, c := range cases {
		for _, d := range cases {
			seq = append(seq, c, d)
		}
	}
	// Same number of keys, other keys.
	seq = append(seq,
		encodeCase{"a b", Entity{Identifier: "1", Properties: map[string]any{"a": 1.0, "b": 2.0}, Relations: map[string]any{"r": "x"}}},
		encodeCase{"a c", Entity{Identifier: "2", Properties: map[string]any{"a": 1.0, "c": 3.0}, Relations: map[string]any{"s": "y"}}},
		encodeCase{"c a again", Entity{Identifier: "3", Properties: map[string]any{"c": 1.0, "a": "x"}, Relations: map[string]any{"s": "z"}}})
	var ko keyOrders
	for i, tt := range seq {
		want, wantErr := stdWrite(&tt.e)
		got, err := encodeWriteOrdered([]byte("prefix"), &tt.e, &ko)
		if wantErr != nil {
			require.Error(t, err, "%d %s", i, tt.name)
			assert.Equal(t, wantErr.Error(), err.Error(), "%d %s", i, tt.name)
			assert.Equal(t, "prefix", string(got), "%d %s", i, tt.name)
			continue
		}
		require.NoError(t, err, "%d %s", i, tt.name)
		assert.Equal(t, "prefix"+string(want), string(got), "%d %s", i, tt.name)
	}
}

// FuzzEncodeWrite checks encodeWrite against encoding/json over odd
// strings (invalid UTF-8, control characters, HTML, line separators),
// numbers of every magnitude and nested values.
func FuzzEncodeWrite(f *testing.F) {
	f.Add("svc", "<title>", "key", "value\u2028", 1.5, int64(3), true, uint8(0))
	f.Add("", "", "", "\xff\xfe", 1e21, int64(-1), false, uint8(7))
	f.Add("a\"b", "\x00", "k\n", "日本", 1e-7, int64(math.MaxInt64), true, uint8(255))
	f.Add("x", "t", "", "", math.Float64frombits(1), int64(0), false, uint8(42))
	f.Fuzz(func(t *testing.T, id, title, key, s string, num float64, n int64, b bool, shape uint8) {
		var v any
		switch shape % 8 {
		case 0:
			v = s
		case 1:
			v = num
		case 2:
			v = []any{s, num, n, b, nil}
		case 3:
			v = map[string]any{key: s, s: num, "n": int(n)}
		case 4:
			v = map[string]any{key: []any{map[string]any{s: []any{num, float32(num)}}}}
		case 5:
			v = []string{s, key, id}
		case 6:
			v = float32(num)
		case 7:
			v = json.Number(s)
		}
		e := Entity{Identifier: id, Title: title, Icon: s, Properties: map[string]any{key: v, "b": b},
			Relations: map[string]any{s: key}}
		if shape&8 != 0 {
			e.Team = []any{s, key}
		}
		if shape&16 != 0 {
			e.Identifier = nil
		}
		if shape&32 != 0 {
			e.Properties = map[string]any{}
		}
		want, wantErr := stdWrite(&e)
		got, err := encodeWrite(nil, &e)
		// With key orders: after an entity with other keys (as many
		// properties, one the same), then with e's own.
		var ko keyOrders
		other := Entity{Identifier: id, Properties: map[string]any{key + "x": 1.0, "b": b}, Relations: map[string]any{s + "x": key}}
		_, _ = encodeWriteOrdered(nil, &other, &ko)
		gotAfterOther, errAfterOther := encodeWriteOrdered(nil, &e, &ko)
		gotAgain, errAgain := encodeWriteOrdered(nil, &e, &ko)
		if wantErr != nil {
			for _, err := range []error{err, errAfterOther, errAgain} {
				if err == nil || err.Error() != wantErr.Error() {
					t.Fatalf("error %v, want %v", err, wantErr)
				}
			}
			return
		}
		for _, err := range []error{err, errAfterOther, errAgain} {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, got := range [][]byte{got, gotAfterOther, gotAgain} {
			if !bytes.Equal(got, want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		}
	})
}

func BenchmarkEncodeWrite(b *testing.B) {
	e := Entity{Identifier: "group/subgroup/project-0001234", Title: "Project 1234", Team: []any{"team-a"},
		Properties: map[string]any{"url": "https://gitlab.example.com/group/subgroup/project-0001234", "stars": 12.0,
			"archived": false, "language": "Go", "readme": "# Project\n\nA project with a README of a realistic length.",
			"created": "2024-01-02T03:04:05Z", "labels": []any{"backend", "critical"}, "score": 0.75},
		Relations: map[string]any{"group": "group/subgroup", "members": []any{"alice", "bob"}}}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := stdWrite(&e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encodeWrite", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = encodeWrite(buf[:0], &e); err != nil {
				b.Fatal(err)
			}
		}
	})
	// As BulkUpsert encodes: entities with the keys of the one before.
	b.Run("encodeWriteOrdered", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		var ko keyOrders
		for b.Loop() {
			var err error
			if buf, err = encodeWriteOrdered(buf[:0], &e, &ko); err != nil {
				b.Fatal(err)
			}
		}
	})
}
