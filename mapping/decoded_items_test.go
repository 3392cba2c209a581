package mapping

import (
	"fmt"
	"strings"
	"testing"

	"github.com/oceankit/oceankit/internal/jsonproj"
)

// TestDeletingMappingOverDecodedPage maps a page decoded as a resync
// decodes it (internal/jsonproj, projected), whose items name the same
// author, with a program that deletes and several workers. gojq's
// delpaths writes back into the nested maps of its input: were decoded
// items to share an author, two workers would write one map at once,
// which Go stops the process for (run with -race to see it).
func TestDeletingMappingOverDecodedPage(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("[")
	for i := range 400 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":%d,"x":1,"author":{"name":"ann","username":"a","more":{"a":1,"b":2}}}`, i)
	}
	b.WriteString("]")
	keys := jsonproj.NewTree(map[string]*jsonproj.Keys{"id": nil, "x": nil, "author": jsonproj.NewKeys("name", "username", "more")})
	raw, err := jsonproj.Unmarshal([]byte(b.String()), keys)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]map[string]any, len(raw))
	for i, v := range raw {
		in[i] = v.(map[string]any)
	}
	r := resource(t, "", "", `
- identifier: .id | tostring
  blueprint: '"b"'
  properties:
    n: del(.x) | .author.name
`, WithWorkers(2))
	for range 20 {
		res := mapOK(t, r, in)
		if len(res.Entities) != len(in) {
			t.Fatalf("%d entities from %d items", len(res.Entities), len(in))
		}
	}
}
