package gitlab

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIDSet(t *testing.T) {
	t.Parallel()
	var s idSet
	for _, id := range []string{"42", "7", "42", "9223372036854775807", "-3", "007", "abc", ""} {
		s.add(id)
	}
	s = s.sealed()
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"42", true}, {"7", true}, {"9223372036854775807", true}, {"-3", true},
		{"007", true}, {"abc", true}, {"", true},
		{"43", false}, {"07", false}, {"+7", false}, {"9223372036854775808", false}, {"ab", false},
	} {
		assert.Equal(t, tc.want, s.has(tc.id), "has(%q)", tc.id)
	}
	assert.Equal(t, []int64{-3, 7, 42, 9223372036854775807}, s.nums, "numeric ids sorted, once each")

	var empty idSet
	empty = empty.sealed()
	assert.False(t, empty.has("1"))
	assert.Nil(t, empty.nums)
}
