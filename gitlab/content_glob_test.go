package gitlab

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGlobMatchesLikeWcmatchGlobstarDotglob(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern string
		opts    globOptions
		path    string
		want    bool
	}{
		{"port.yml", globOptions{anyDepth: true}, "port.yml", true},
		{"/port.yml", globOptions{anyDepth: true}, "port.yml", true},
		{"/port.yml", globOptions{anyDepth: true}, "services/api/port.yml", false},
		{"port.yml", globOptions{anyDepth: true}, "services/api/port.yml", true},
		{"port.yml", globOptions{anyDepth: true}, "port.yaml", false},
		{"services/*/port.yml", globOptions{}, "services/api/port.yml", true},
		{"services/*/port.yml", globOptions{}, "services/api/v1/port.yml", false},
		{"services/*/port.yml", globOptions{}, "port.yml", false},
		{"**/*.json", globOptions{}, "package.json", true},
		{"**/*.json", globOptions{}, "a/b/c/x.json", true},
		{"docs/**/*.md", globOptions{}, "docs/index.md", true},
		{"docs/**/*.md", globOptions{}, "docs/guides/setup.md", true},
		{"docs/**/*.md", globOptions{}, "other/docs/index.md", false},
		{"*.yml", globOptions{anyDepth: true}, ".gitlab-ci.yml", true}, // DOTGLOB
		{".claude/skills/**/SKILL.md", globOptions{fold: true}, ".claude/skills/a/skill.md", true},
		{".claude/skills/**/SKILL.md", globOptions{}, ".claude/skills/a/skill.md", false},
		{"src/config/app.json", globOptions{}, "src/config/app.json", true},
		{"src/config/app.json", globOptions{}, "src/config/sub/app.json", false},
		{"file?.txt", globOptions{}, "file1.txt", true},
		{"[ab].txt", globOptions{}, "b.txt", true},
	}
	for _, c := range cases {
		g, err := compileGlob(c.pattern, c.opts)
		require.NoError(t, err, c.pattern)
		assert.Equal(t, c.want, g.match(c.path), "%s ~ %s", c.pattern, c.path)
	}
	for _, bad := range []string{"", "/", "a/../b", "[unclosed"} {
		_, err := compileGlob(bad, globOptions{})
		assert.Error(t, err, "%q", bad)
	}
}

func TestWalksArePlannedFromTheLiteralPrefix(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern string
		want    walk
		listed  bool
	}{
		{"port.yml", walk{dir: "", recursive: true}, true}, // any depth
		{"services/*/port.yml", walk{dir: "services", recursive: true}, true},
		{"docs/*.md", walk{dir: "docs"}, true},
		{"docs/guides/setup.md", walk{}, false}, // read directly
	}
	for _, c := range cases {
		g, err := compileGlob(c.pattern, globOptions{anyDepth: true})
		require.NoError(t, err)
		w, ok := g.blobWalk()
		assert.Equal(t, c.listed, ok, c.pattern)
		assert.Equal(t, c.want, w, c.pattern)
	}
	got := minimizeWalks([]walk{{dir: "a/b"}, {dir: "a", recursive: true}, {dir: "c"}, {dir: "c", recursive: true}, {dir: "d"}, {dir: "d"}})
	assert.Equal(t, []walk{{dir: "a", recursive: true}, {dir: "c", recursive: true}, {dir: "d"}}, got)
}

func TestSearchQueryFollowsGitlabV2(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"readme.md":           "readme.md filename:readme.md",
		"src/config/app.json": "app.json path:src/config filename:app.json",
		"home/*/*.txt":        ".txt path:home/* filename:*.txt",
		".opencode/plugins/*": "plugins path:.opencode/plugins filename:*",
		"**/port.yml":         "port.yml filename:port.yml",
	} {
		assert.Equal(t, want, searchQuery(in), in)
	}
}
