package oceankit_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstartIsTheExample keeps the package doc's quickstart compiled:
// its provider function is Example's, line for line.
func TestQuickstartIsTheExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	example, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	var quick []string
	in := false
	for _, l := range strings.Split(string(doc), "\n") {
		code, ok := strings.CutPrefix(l, "//\t")
		switch {
		case ok && strings.HasPrefix(code, "func widgets("):
			in = true
		case !ok:
			in = false
		}
		if in {
			quick = append(quick, code)
			if code == "}" {
				break
			}
		}
	}
	require.NotEmpty(t, quick, "doc.go has the quickstart")
	assert.Contains(t, string(example), strings.Join(quick, "\n"))
}
