package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeQuotesThisProgram keeps the README's walkthrough ("Build your
// own sync") true: each of its Go blocks is a piece of this program or its
// test, line for line.
func TestReadmeQuotesThisProgram(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	section := string(readme)
	start := strings.Index(section, "## Build your own sync")
	require.GreaterOrEqual(t, start, 0, "the README has a Build your own sync section")
	section = section[start+len("## "):]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var source []string
	for _, f := range []string{"main.go", "main_test.go"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		source = append(source, lines(string(b))...)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(section, -1)
	require.NotEmpty(t, blocks)
	for _, b := range blocks {
		assert.True(t, contains(source, lines(b[1])), "this README block is not in examples/minimal:\n%s", b[1])
	}
}

// lines returns s's lines, trimmed, without the empty ones.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// contains reports whether part appears in whole as consecutive lines.
func contains(whole, part []string) bool {
	for i := 0; i+len(part) <= len(whole); i++ {
		if slices.Equal(whole[i:i+len(part)], part) {
			return true
		}
	}
	return false
}
