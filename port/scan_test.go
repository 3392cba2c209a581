package port

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bulkAnswerCases are answers Port gives and answers it should not, for
// which the fast path either decodes as json.Unmarshal or leaves the
// answer to it.
var bulkAnswerCases = []string{
	`{"ok":true,"maxBulkSize":20,"entities":[{"identifier":"a","index":0,"created":true,"additionalData":{}},{"identifier":"b","index":1,"created":false,"additionalData":{"x":[1,2.5e3,"s\"",null,{"y":true}]}}],"errors":[]}`,
	`{"ok":true,"entities":[],"errors":[{"identifier":"c","index":2,"statusCode":422,"error":"invalid_request","message":"bad \"value\""}]}`,
	` { "entities" : [ { "identifier" : "a" , "index" : 0 } ] , "errors" : [ ] } `,
	`{"entities":[{"identifier":"é","index":0}]}`,
	`{"entities":[{"identifier":"a\u0062","index":0}]}`,
	`{"entities":[{"Identifier":"a","index":0}]}`,
	`{"entities":[{"identifier":"a","INDEX":3}]}`,
	`{"entities":[{"identifier":"a","index":1.0}]}`,
	`{"entities":[{"identifier":"a","index":99999999999999999999}]}`,
	`{"entities":[{"identifier":"a","index":-0}]}`,
	`{"entities":[{"identifier":"a","index":01}]}`,
	`{"entities":[{"identifier":null,"index":0}]}`,
	`{"entities":null}`,
	`{"entities":[null]}`,
	`{"entities":[{"identifier":"a","index":0}],"entities":[{"identifier":"b","index":1}]}`,
	`{"entities":[{"identifier":"a","identifier":"b"}]}`,
	`{"entities":[{"identifier":"a","index":"0"}]}`,
	`{"entities":[{"identifier":"a","created":"yes"}]}`,
	`{"entities":[{"identifier":"a"}]} trailing`,
	`{"entities":[{"identifier":"a"}],}`,
	`{"entities":[{"identifier":"a",}]}`,
	`{"entities":[,]}`,
	`{"errors":[{"index":0},]}`,
	`{"entities":[{"identifier":"a"}` + "\x01" + `]}`,
	`{"x":"` + "\x01" + `"}`,
	`{"x":tru}`,
	`{"x":"\x01"}`,
	`{"x":"\q"}`,
	`{"x":"\u12"}`,
	`{"x":1.}`,
	`{"x":-}`,
	`{"x":1e}`,
	`{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"ok":true,"\u00e9":1,"entities":[]}`,
	`[]`,
	`null`,
	`"entities"`,
	`{`,
	``,
}

// A bulk answer decodes as json.Unmarshal decodes it, errors included.
func TestDecodeBulkAnswerEqualsUnmarshal(t *testing.T) {
	t.Parallel()
	for _, in := range bulkAnswerCases {
		var want, got bulkAnswer
		wantErr := json.Unmarshal([]byte(in), &want)
		err := decodeBulkAnswer([]byte(in), &got)
		if wantErr != nil {
			require.Error(t, err, in)
			assert.Equal(t, wantErr.Error(), err.Error(), in)
			continue
		}
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	// The usual answer takes the fast path.
	s := scanner{data: []byte(bulkAnswerCases[0])}
	assert.True(t, s.bulkAnswer(&bulkAnswer{}, nil, nil))
}

func FuzzDecodeBulkAnswer(f *testing.F) {
	for _, in := range bulkAnswerCases {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var want, got bulkAnswer
		wantErr := json.Unmarshal([]byte(in), &want)
		s := scanner{data: []byte(in)}
		if s.bulkAnswer(&got, nil, nil) {
			if wantErr != nil {
				t.Fatalf("fast path took %q, which json.Unmarshal refuses: %v", in, wantErr)
			}
			if !assert.ObjectsAreEqual(want, got) {
				t.Fatalf("%q: got %+v, want %+v", in, got, want)
			}
		}
		// With room that holds an earlier answer's entity, and the
		// identifiers "a" and "" known.
		known := func(raw []byte) (string, bool) {
			for _, id := range [...]string{"a", ""} {
				if id == string(raw) {
					return id, true
				}
			}
			return "", false
		}
		got = bulkAnswer{Entities: append(make([]bulkEntity, 0, 2), bulkEntity{Identifier: "stale", Created: true})[:0]}
		err := decodeBulkAnswerKnown([]byte(in), &got, known)
		if (err != nil) != (wantErr != nil) || (err == nil && !assert.ObjectsAreEqual(want, got)) {
			t.Fatalf("%q with room and known identifiers: got %+v, %v; want %+v, %v", in, got, err, want, wantErr)
		}
	})
}

func BenchmarkDecodeBulkAnswer(b *testing.B) {
	ans := `{"ok":true,"maxBulkSize":20,"entities":[`
	for i := range 20 {
		if i > 0 {
			ans += ","
		}
		ans += `{"identifier":"group/subgroup/project-000123` + string(rune('0'+i%10)) + `","index":` + string(rune('0'+i%10)) + `,"created":true,"additionalData":{}}`
	}
	data := []byte(ans + `],"errors":[]}`)
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var a bulkAnswer
			if err := json.Unmarshal(data, &a); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeBulkAnswer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var a bulkAnswer
			if err := decodeBulkAnswer(data, &a); err != nil {
				b.Fatal(err)
			}
		}
	})
	// As BulkUpsert decodes: with room for the entities and the
	// identifiers sent at hand.
	sent := make([]string, 10)
	for i := range sent {
		sent[i] = "group/subgroup/project-000123" + string(rune('0'+i))
	}
	b.Run("decodeBulkAnswerKnown", func(b *testing.B) {
		b.ReportAllocs()
		room := make([]bulkEntity, 0, 20)
		known := func(raw []byte) (string, bool) {
			for _, id := range sent {
				if id == string(raw) {
					return id, true
				}
			}
			return "", false
		}
		for b.Loop() {
			a := bulkAnswer{Entities: room}
			if err := decodeBulkAnswerKnown(data, &a, known); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// An answer decoded with the request's identifiers at hand and room for
// its entities decodes as json.Unmarshal decodes it into a zero answer,
// and an identifier the request sent is that string, not a copy.
func TestDecodeBulkAnswerKnown(t *testing.T) {
	t.Parallel()
	sent := []string{"b", "a", "c"}
	known := func(raw []byte) (string, bool) {
		for _, id := range sent {
			if id == string(raw) {
				return id, true
			}
		}
		return "", false
	}
	tests := []struct {
		name  string
		known func([]byte) (string, bool)
		room  int
	}{
		{"no room, nothing known", nil, 0},
		{"room", nil, 4},
		{"known", known, 0},
		{"known and room", known, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, in := range bulkAnswerCases {
				// Room that an earlier answer left entities in.
				var want, got bulkAnswer
				if tt.room > 0 {
					got.Entities = append(make([]bulkEntity, 0, tt.room), bulkEntity{Identifier: "stale", Created: true})[:0]
				}
				wantErr := json.Unmarshal([]byte(in), &want)
				err := decodeBulkAnswerKnown([]byte(in), &got, tt.known)
				if wantErr != nil {
					require.Error(t, err, in)
					assert.Equal(t, wantErr.Error(), err.Error(), in)
					continue
				}
				require.NoError(t, err, in)
				assert.Equal(t, want, got, in)
			}
		})
	}
	var ans bulkAnswer
	require.NoError(t, decodeBulkAnswerKnown([]byte(bulkAnswerCases[0]), &ans, known))
	require.Len(t, ans.Entities, 2)
	assert.Same(t, unsafe.StringData(sent[1]), unsafe.StringData(ans.Entities[0].Identifier), "a is the string sent")
	assert.Same(t, unsafe.StringData(sent[0]), unsafe.StringData(ans.Entities[1].Identifier), "b is the string sent")
}

// specialBytes finds the first special byte as a byte-by-byte look
// would, for every byte value at every position among other bytes of
// every kind.
func TestSpecialBytes(t *testing.T) {
	t.Parallel()
	special := func(c byte, nonASCII bool) bool {
		return c < 0x20 || c == '"' || c == '\\' || (nonASCII && c >= 0x80)
	}
	fillers := []byte{'a', ' ', '~', 0x7f, 0x80, 0xa0, 0xff, 0x1f, '"', '\\', 0}
	for _, nonASCII := range []bool{false, true} {
		for _, fill := range fillers {
			for pos := range 8 {
				for v := range 256 {
					var word [8]byte
					for i := range word {
						word[i] = fill
					}
					word[pos] = byte(v)
					want := 8
					for i, c := range word {
						if special(c, nonASCII) {
							want = i
							break
						}
					}
					got := 8
					if m := specialBytes(binary.LittleEndian.Uint64(word[:]), nonASCII); m != 0 {
						got = bits.TrailingZeros64(m) / 8
					}
					if got != want {
						t.Fatalf("specialBytes(%q, %v): first special byte %d, want %d", word, nonASCII, got, want)
					}
				}
			}
		}
	}
}
