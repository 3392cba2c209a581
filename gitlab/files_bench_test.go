package gitlab

import (
	"encoding/json"
	"testing"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
)

// sizeFiles is a 1,000-project instance (20 trees of three groups, 16
// projects each, plus personal projects) with little besides repositories.
var sizeFiles = gitlabtest.Size{
	Groups: 21, SubgroupDepth: 1, SubgroupsPerGroup: 2, ProjectsPerGroup: 16, PersonalProjects: 3,
	MembersPerGroup: 2, MembersPerProject: 1, BranchesPerProject: 2, FilesPerProject: 2,
}

// BenchmarkFileKind syncs port.yml (multi-document YAML, file://
// references) from a 1,000-project instance with each discovery strategy
// and reports GitLab requests per matched file, the figure that decides
// how long a file resync takes under GitLab.com's rate limits (gitlab-v2
// spends about two REST requests per file plus a search per project).
func BenchmarkFileKind(b *testing.B) {
	srv := gitlabtest.NewServer(b, gitlabtest.WithDataset(gitlabtest.Generate(1, sizeFiles)))
	for _, c := range []struct{ name, sel string }{
		{"groupSearch", `{"files":{"path":"port.yml"}}`},
		{"projectSearch", `{"files":{"path":"port.yml","searchStrategy":"projectSearch"}}`},
		{"repositoryTree", `{"files":{"path":"port.yml","searchStrategy":"repositoryTree"}}`},
		{"repositoryTree-concrete", `{"files":{"path":"/catalog-info.yaml","searchStrategy":"repositoryTree"}}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			g, _ := newIntegration(b, srv, func(cfg *Config) { cfg.MaxConcurrency = 10 })
			kind := contentKind(b, g, KindFile)
			b.ReportAllocs()
			srv.ResetStats()
			files := 0
			for b.Loop() {
				s := &countingSender{}
				if err := kind.Fetch(b.Context(), json.RawMessage(c.sel), s); err != nil {
					b.Fatal(err)
				}
				files += s.n
			}
			runs := float64(b.N)
			b.ReportMetric(float64(files)/runs, "files/op")
			b.ReportMetric(float64(srv.Requests())/runs, "requests/op")
			b.ReportMetric(float64(srv.RouteRequests("POST /graphql"))/runs, "graphql/op")
			if files > 0 {
				b.ReportMetric(float64(srv.Requests())/float64(files), "requests/file")
			}
		})
	}
}
