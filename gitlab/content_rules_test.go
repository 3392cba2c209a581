package gitlab

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
)

const includedRuleMapping = `
resources:
  - kind: file
    selector:
      query: "true"
      includedFiles: [README.md]
      files:
        path: apps/*/port.yml
        searchStrategy: repositoryTree
        repos: [amber-falcon/zesty-river]
    port:
      entity:
        mappings:
          identifier: .file.path
          blueprint: '"irFile"'
          properties:
            readme: .__includedFiles["README.md"]
`

// includedFiles of the file kind are read at the repository root, in a
// resync and in a push alike (gitlab-v2's push processor read them next
// to the file, its resync at the root).
func TestFileIncludedFilesOneRuleForResyncAndPush(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{mapping: includedRuleMapping, blueprints: map[string]map[string]string{"irFile": {"readme": "string"}}})
	p, ok := e.ds.Project(whProject)
	require.True(t, ok)
	branch := *p.DefaultBranch
	require.NoError(t, e.ds.PutFile(p.ID, branch, "README.md", []byte("root readme\n")))
	require.NoError(t, e.ds.PutFile(p.ID, branch, "apps/a/README.md", []byte("directory readme\n")))
	require.NoError(t, e.ds.PutFile(p.ID, branch, "apps/a/port.yml", []byte("name: a\n")))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := e.app.Resync(ctx, ocean.ResyncOptions{Trigger: "test"})
	require.NoError(t, err)
	require.NotNil(t, e.entity("irFile", "apps/a/port.yml"))
	assert.Equal(t, "root readme\n", e.entity("irFile", "apps/a/port.yml")["readme"], "resync: the repository root")

	require.NoError(t, e.ds.PutFile(p.ID, branch, "README.md", []byte("root readme, edited\n")))
	require.NoError(t, e.ds.PutFile(p.ID, branch, "apps/a/port.yml", []byte("name: a2\n")))
	head := e.head(t, branch)
	e.push(t, branch, head, head, changes{modified: []string{"apps/a/port.yml"}})
	assert.Equal(t, "root readme, edited\n", e.entity("irFile", "apps/a/port.yml")["readme"], "push: the repository root too")
	require.NoError(t, e.stop())
}

// folders[].repos without a branch read the project's default branch
// (gitlab-v2 reads main), so a master repository works.
func TestFolderReposWithoutBranchReadTheDefaultBranch(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall)))
	ds := srv.Dataset()
	p, ok := ds.Project(whProject)
	require.True(t, ok)
	require.NoError(t, ds.CreateBranch(p.ID, "master", *p.DefaultBranch))
	require.NoError(t, ds.PutFile(p.ID, "master", "services/only-on-master/port.yml", []byte("a: 1\n")))
	_, err := ds.UpdateProject(whProject, func(p *gitlabtest.Project) { m := "master"; p.DefaultBranch = &m })
	require.NoError(t, err)
	g, _ := newContentIntegration(t, srv)
	items := fetchContent(t, g, KindFolder, `{"folders":[{"path":"services/*","repos":[{"name":"`+whProject+`"}]}]}`)
	require.NotEmpty(t, items)
	var paths []string
	for _, it := range items {
		assert.Equal(t, "master", it["__branch"])
		paths = append(paths, strField(it, "folder", "path"))
	}
	assert.Contains(t, strings.Join(paths, " "), "services/only-on-master")
}

// A file over the cap is skipped with a warning that names the setting
// lifting it; the default cap reads files of several MiB.
func TestOversizedFileWarningNamesTheSetting(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall)))
	p, _ := srv.Dataset().Project(whProject)
	big := "items:\n" + strings.Repeat("  - name: x\n", 300_000) // 3.6 MB
	require.NoError(t, srv.Dataset().PutFile(p.ID, *p.DefaultBranch, "big/port.yml", []byte(big)))
	sel := `{"files":{"path":"big/port.yml","searchStrategy":"repositoryTree","repos":["` + whProject + `"],"skipParsing":true}}`

	g, _ := newContentIntegration(t, srv)
	assert.Len(t, fetchContent(t, g, KindFile, sel), 1, "the default cap (%d bytes) reads it", DefaultMaxFileSize)

	g, logs := newContentIntegration(t, srv, func(c *Config) { c.MaxFileSize = 1 << 20 })
	assert.Empty(t, fetchContent(t, g, KindFile, sel))
	assert.Contains(t, logs.String(), envMaxFileSize)
	assert.Contains(t, logs.String(), "files.maxFileSize")
}
