package gitlab

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The "Where things are" table of the package doc is a map newcomers
// follow: every kind is in it, and every function, type and file it names
// exists where it says.
func TestPackageDocMapIsTrue(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	where := map[string]string{} // declared name → file
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				where[d.Name.Name] = name
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok {
						where[ts.Name.Name] = name
					}
				}
			}
		}
	}
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	row := regexp.MustCompile(`(?m)^//\t([a-z-]+) +(list\w+)(?: \((\S+)\))? +(\w+Selector) +(\w+Processor) \((\S+)\)$`)
	g := &Integration{}
	var kinds []string
	for _, k := range append(g.Kinds(), g.contentKinds()...) {
		kinds = append(kinds, k.Name())
	}
	var listed []string
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		kind, list, listFile, sel, proc, procFile := m[1], m[2], m[3], m[4], m[5], m[6]
		listed = append(listed, kind)
		if listFile == "" {
			listFile = "kinds.go"
		}
		assert.Equal(t, listFile, where[list], "%s: %s", kind, list)
		assert.Contains(t, []string{"selectors.go", "content_selectors.go"}, where[sel], "%s: %s", kind, sel)
		assert.Equal(t, procFile, where[proc], "%s: %s", kind, proc)
	}
	assert.ElementsMatch(t, kinds, listed, "every kind has a row")
	for _, f := range regexp.MustCompile(`[a-z_*]+\.go`).FindAllString(string(doc), -1) {
		m, _ := filepath.Glob(f)
		assert.NotEmpty(t, m, "doc.go names %s", f)
	}
}
