package ocean

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
)

// Two values have the same canonical form exactly when they are the same
// JSON value: a digest never takes a change for no change.
func TestCanonicalFormTellsValuesApart(t *testing.T) {
	t.Parallel()
	same := []struct {
		name string
		a, b any
	}{
		{"int and float", 1, 1.0},
		{"int64 and float", int64(-3), -3.0},
		{"big int", big.NewInt(1 << 40), float64(1 << 40)},
		{"json.Number", json.Number("2.50"), 2.5},
		{"negative zero", math.Copysign(0, -1), 0.0},
		{"map order", map[string]any{"a": 1.0, "b": "x"}, map[string]any{"b": "x", "a": 1}},
		{"[]string and []any", []string{"a", "b"}, []any{"a", "b"}},
		{"nil map and empty map", map[string]any(nil), map[string]any{}},
		{"struct through JSON", struct {
			A string `json:"a"`
		}{"x"}, map[string]any{"a": "x"}},
	}
	for _, tt := range same {
		assert.Equal(t, appendCanonical(nil, tt.a, 0), appendCanonical(nil, tt.b, 0), tt.name)
	}
	// Pairs that a careless encoding would confuse.
	distinct := []any{
		nil, true, false, "", "1", 1.0, 2.0, 0.1, 1e21, "a", "ab", "a\x00", []any{}, []any{"a", "b"}, []any{"ab"},
		[]any{"a", ""}, []any{[]any{}}, []any{nil}, map[string]any{}, map[string]any{"a": "b"}, map[string]any{"ab": ""},
		map[string]any{"a": "", "b": ""}, map[string]any{"a": map[string]any{}}, map[string]any{"a": nil},
		[]any{map[string]any{"a": 1.0}, 2.0}, []any{map[string]any{"a": 1.0, "": 2.0}}, "s1:a", "z", "n",
		json.Number("not a number"), "not a number", math.MaxFloat64, math.SmallestNonzeroFloat64, float64(1<<53 + 2),
	}
	seen := map[string]int{}
	for i, v := range distinct {
		form := string(appendCanonical(nil, v, 0))
		if j, ok := seen[form]; ok {
			t.Errorf("%#v and %#v have the same canonical form", distinct[j], v)
		}
		seen[form] = i
	}
}

// roundTrip is what Port gives back of an entity written to it: the body
// sent, decoded by encoding/json as the datasource listing is.
func roundTrip(t *testing.T, e *port.Entity) *port.Entity {
	t.Helper()
	body, err := json.Marshal(e)
	require.NoError(t, err)
	var back port.Entity
	require.NoError(t, json.Unmarshal(body, &back))
	return &back
}

// The digest of what Port returns equals the digest of the entity mapped,
// whatever the values: an unchanged entity is found unchanged, and one
// changed in any value is not. (A string of invalid UTF-8 reaches Port
// with U+FFFD in its place, and so is written every time: the safe side.)
func TestDigestOfPortsReadEqualsTheMappedEntity(t *testing.T) {
	t.Parallel()
	values := []any{
		"plain", "odd \x00\u2028 \"quoted\" <html> 日本", "", 0, 1, -1.5, 1e-7, 1e21, 3.0000000000000004,
		float64(1 << 53), big.NewInt(12345), int64(math.MaxInt32), true, false,
		[]any{"a", 1.0, nil, map[string]any{"k": []any{}}}, map[string]any{"z": 1, "a": map[string]any{"b": "c"}},
		[]any{}, map[string]any{},
	}
	for i, v := range values {
		for _, merge := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d/merge=%v", i, merge), func(t *testing.T) {
				t.Parallel()
				s := newSigner()
				ours := &port.Entity{Identifier: "id", Blueprint: "bp", Title: "T", Icon: "I", Team: []any{"b", "a"},
					Properties: map[string]any{"v": v, "gone": nil, "other": "x"}, Relations: map[string]any{"r": "t", "rs": []any{"t1", "t2"}}}
				stored := roundTrip(t, ours)
				delete(stored.Properties, "gone") // Port drops null properties
				stored.Team = []any{"a", "b"}     // and may list a team in any order
				c := newCatalogIndex(s, merge, nil)
				require.NoError(t, c.add(stored))
				c.seal()
				assert.True(t, c.unchanged(ours), "Port's read digests as the mapped entity")
				assert.Equal(t, s.entityHash(ours), s.entityHash(roundTrip(t, ours)), "entityHash survives JSON")

				changed := roundTrip(t, ours)
				changed.Properties["v"] = []any{v}
				assert.False(t, c.unchanged(changed), "a changed value is written")
			})
		}
	}
}

func BenchmarkDigests(b *testing.B) {
	e := &port.Entity{Identifier: "group/subgroup/project-0001234", Blueprint: "service", Title: "Project 1234", Team: []any{"team-a"},
		Properties: map[string]any{"url": "https://gitlab.example.com/group/subgroup/project-0001234", "stars": 12.0,
			"archived": false, "language": "Go", "readme": "# Project\n\nA project with a README of a realistic length.",
			"created": "2024-01-02T03:04:05Z", "labels": []any{"backend", "critical"}, "score": 0.75},
		Relations: map[string]any{"group": "group/subgroup", "members": []any{"alice", "bob"}}}
	s := newSigner()
	b.Run("entityHash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.entityHash(e)
		}
	})
	b.Run("sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.sign(e, true)
		}
	})
}

// BenchmarkWrittenSetSend records 100,000 entities as sent, as a first
// resync does (an empty index: every entity takes a map slot) and as an
// unchanged second one does (every entity at its index position).
func BenchmarkWrittenSetSend(b *testing.B) {
	const n = 100_000
	s := newSigner()
	d := digests{seed: s.seed}
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = d.key("service", fmt.Sprintf("group/project-%07d", i))
	}
	for _, second := range []bool{false, true} {
		c := newCatalogIndex(s, true, nil)
		if second {
			for i := range n {
				require.NoError(b, c.add(&port.Entity{Identifier: fmt.Sprintf("group/project-%07d", i), Blueprint: "service"}))
			}
		}
		c.seal()
		b.Run(fmt.Sprintf("second=%v", second), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var w writtenSet
				w.attach(c)
				for i, k := range keys {
					w.send(k, uint64(i)+1)
				}
			}
		})
	}
}
