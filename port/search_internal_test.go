package port

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// entityPage renders an answer of the datasource listing with n entities.
func entityPage(n int, tail string) string {
	var b strings.Builder
	b.WriteString(`{"ok":true,"entities":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"identifier":"e-%d","blueprint":"bp","properties":{"n":%d,"tags":["a"]},"relations":{}}`, i, i)
	}
	b.WriteString("]" + tail + "}")
	return b.String()
}

// A page is decoded a chunk at a time, whatever the order of its keys; what
// it yields is what json.Unmarshal of the page would have given.
func TestDecodeEntityPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		wantNext   string
		wantChunks []int
		wantErr    bool
	}{
		{"empty body", "", "", nil, false},
		{"no entities", `{"entities":[],"next":null}`, "", nil, false},
		{"null entities", `{"entities":null,"next":"c"}`, "c", nil, false},
		{"one chunk, next after", entityPage(3, `,"next":"c1"`), "c1", []int{3}, false},
		{"next before", `{"next":"c2",` + entityPage(2, "")[1:], "c2", []int{2}, false},
		{"several chunks", entityPage(2*DatasourceChunk+5, `,"next":null`), "", []int{DatasourceChunk, DatasourceChunk, 5}, false},
		{"exactly one chunk", entityPage(DatasourceChunk, ""), "", []int{DatasourceChunk}, false},
		{"unknown keys are skipped", `{"meta":{"a":[1,2]},"entities":[{"identifier":"x","blueprint":"bp"}],"n":3}`, "", []int{1}, false},
		{"not an object", `[1]`, "", nil, true},
		{"entities not an array", `{"entities":{}}`, "", nil, true},
		{"truncated", entityPage(3, "")[:40], "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var chunks []int
			var got []Entity
			next, n, stopped, err := decodeEntityPage([]byte(tt.body), func(es []Entity, err error) bool {
				require.NoError(t, err)
				chunks = append(chunks, len(es))
				got = append(got, es...)
				return true
			})
			assert.False(t, stopped)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantNext, next)
			assert.Equal(t, tt.wantChunks, chunks)
			assert.Equal(t, len(got), n)
			if len(strings.TrimSpace(tt.body)) > 0 {
				var whole struct{ Entities []Entity }
				require.NoError(t, json.Unmarshal([]byte(tt.body), &whole))
				assert.Equal(t, len(whole.Entities), len(got))
				for i := range got {
					assert.Equal(t, whole.Entities[i], got[i])
				}
			}
		})
	}
}

// A caller that stops is not called again.
func TestDecodeEntityPageStops(t *testing.T) {
	t.Parallel()
	calls := 0
	_, _, stopped, err := decodeEntityPage([]byte(entityPage(3*DatasourceChunk, "")), func([]Entity, error) bool {
		calls++
		return false
	})
	require.NoError(t, err)
	assert.True(t, stopped)
	assert.Equal(t, 1, calls)
}
