package gitlab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// The file kind reads a repository file into every item, parsed: here the
// multi-document port.yml of one project, found by a repository tree walk.
func ExampleFileSelector() {
	gl := gitlabtest.New()
	defer gl.Close()
	g, _ := gitlab.New(gitlab.Config{Host: gl.URL, Token: settings.Secret(gl.Token), UseGraphQL: true},
		gitlab.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	var kind ocean.Kind
	for _, k := range g.Provider().Kinds {
		if k.Name() == gitlab.KindFile {
			kind = k
		}
	}
	sel := `{"files":{"path":"/port.yml","repos":["amber-falcon/daring-delta"],"searchStrategy":"repositoryTree"}}`
	_ = kind.Fetch(context.Background(), json.RawMessage(sel), ocean.SenderFunc(func(_ context.Context, items []ocean.Item) error {
		for _, it := range items {
			f := it["file"].(map[string]any)
			docs := f["content"].([]any)
			fmt.Println(it["repo"].(ocean.Item)["path_with_namespace"], f["path"], f["ref"], len(docs), "documents")
			for _, d := range docs {
				fmt.Println(" -", d.(map[string]any)["identifier"])
			}
		}
		return nil
	}))
	// Output:
	// amber-falcon/daring-delta port.yml master 2 documents
	//  - daring-delta
	//  - daring-delta-worker
}
