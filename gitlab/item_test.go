package gitlab

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTimeGitLabFormats(t *testing.T) {
	t.Parallel()
	want := time.Date(2021, 4, 28, 19, 50, 0, 0, time.UTC)
	for _, s := range []string{"2021-04-28T19:50:00Z", "2021-04-28 19:50:00 UTC", "2021-04-28 21:50:00 +0200", "2021-04-28T21:50:00+02:00", "2021-04-28T19:50:00.000Z"} {
		got, ok := parseTime(s)
		require.True(t, ok, s)
		assert.True(t, want.Equal(got), s)
	}
	_, ok := parseTime("yesterday")
	assert.False(t, ok)
}

// The payload helpers read GitLab's JSON as encoding/json decodes it into
// map[string]any: numbers are float64, and a missing or mistyped value
// reads as empty rather than failing.
func TestPayloadHelpers(t *testing.T) {
	t.Parallel()
	p := map[string]any{
		"project_id":                  float64(42),
		"user":                        map[string]any{"username": "ada", "id": float64(7)},
		"bad_id":                      float64(1.5),
		"neg_id":                      float64(-3),
		"name":                        "x",
		"project_path_with_namespace": "group/sub project",
	}
	assert.Equal(t, "42", idField(p, "project_id"))
	assert.Equal(t, "7", idField(p, "user", "id"))
	assert.Empty(t, idField(p, "bad_id"), "a fractional id is no id")
	assert.Empty(t, idField(p, "neg_id"))
	assert.Empty(t, idField(p, "name"), "a string is not a numeric id")
	assert.Equal(t, "ada", strField(p, "user", "username"))
	assert.Empty(t, strField(p, "user", "username", "deeper"))
	assert.Nil(t, object(p, "name"))
	assert.Equal(t, "ada", object(p, "user")["username"])

	assert.Equal(t, "42", projectOf(p))
	assert.Equal(t, "42", projectRefOf(p))
	delete(p, "project_id")
	assert.Equal(t, "group%2Fsub%20project", projectRefOf(p), "without an id the path names the project, escaped")

	assert.Equal(t, float64(1234567), jsonNumber("1234567"))
	for v, want := range map[any]string{float64(12): "12", 12: "12", int64(12): "12", "12": "12", nil: "", true: ""} {
		assert.Equal(t, want, idString(v), "%T %v", v, v)
	}
	assert.Equal(t, "12", projectRef(map[string]any{"id": float64(12), "path_with_namespace": "a/b"}))
	assert.Equal(t, "a%2Fb", projectRef(map[string]any{"path_with_namespace": "a/b"}))
	assert.Equal(t, "main", refOf(map[string]any{}))
	assert.Equal(t, "dev", refOf(map[string]any{"default_branch": "dev"}))
}

func TestEventName(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "push", eventName(map[string]any{"event_name": "push", "object_kind": "x"}))
	assert.Equal(t, "merge_request", eventName(map[string]any{"event_name": "", "object_kind": "merge_request", "event_type": "y"}))
	assert.Equal(t, "y", eventName(map[string]any{"event_type": "y"}))
	assert.Empty(t, eventName(map[string]any{}))
}
