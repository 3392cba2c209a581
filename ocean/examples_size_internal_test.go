package ocean

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONSizeMatchesTheEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
	}{
		{"null", nil},
		{"scalars", []any{true, false, 1.5, -2e21, 3.0, 42, int64(-7), json.Number("12.50")}},
		{"escapes", "quote \" backslash \\ newline \n tab \t bell \a html <a>&amp; line sep \u2028"},
		{"unicode", "日本語 and emoji 🚀"},
		{"invalid utf-8", string([]byte{'a', 0xff, 'b'})},
		{"nested", map[string]any{"a": []any{map[string]any{"b": "c", "d": nil}}, "e": map[string]any{}, "f": []any{}}},
		{"item", Item{"id": 1.0, "name": "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tc.v)
			require.NoError(t, err)
			got := jsonSize(tc.v, 1<<20)
			// Separators are counted for every element, the last one too.
			assert.GreaterOrEqual(t, got, len(b))
			assert.LessOrEqual(t, got, len(b)+8)
		})
	}
}

func TestJSONSizeStopsPastTheLimit(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 10<<20)
	v := map[string]any{"files": []any{big, big, big}}
	assert.Greater(t, jsonSize(v, 1<<20), 1<<20)
	assert.LessOrEqual(t, jsonSize(v, 1<<20), 11<<20, "stops at the first value that passes the limit")
}
