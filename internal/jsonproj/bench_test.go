package jsonproj_test

import (
	"encoding/json"
	"testing"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/internal/jsonproj"
)

// mrPage is a realistic page of GitLab merge requests (the fake's
// generator, the shape GitLab's API returns) of up to 100 items.
func mrPage(b *testing.B) []byte {
	b.Helper()
	s := gitlabtest.SizeSmall
	s.MergeRequestsPerProject = 20
	d := gitlabtest.Generate(1, s)
	var mrs []gitlabtest.MergeRequest
	for _, p := range d.Projects() {
		mrs = append(mrs, d.MergeRequests(p.ID)...)
		if len(mrs) >= 100 {
			break
		}
	}
	mrs = mrs[:min(len(mrs), 100)]
	page, err := json.Marshal(mrs)
	if err != nil {
		b.Fatal(err)
	}
	return page
}

// mrKeys are the keys gitlab's default mapping reads from a merge request.
var mrKeys = []string{"author", "created_at", "id", "merged_at", "references", "reviewers", "state", "title", "updated_at", "web_url"}

// BenchmarkMergeRequestPage decodes a page of 100 merge requests whole
// with encoding/json (what the sync did), and projected to the default
// mapping's keys.
func BenchmarkMergeRequestPage(b *testing.B) {
	page := mrPage(b)
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			var raw []any
			if err := json.Unmarshal(page, &raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("all keys", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonproj.Unmarshal(page, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	keys := jsonproj.NewKeys(mrKeys...)
	b.Run("default mapping's keys", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonproj.Unmarshal(page, keys); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What a resync asks for: the mapping's keys and the framework's
	// (ocean's exampleKeys), some of which a merge request lacks.
	syncKeys := keys.With("path_with_namespace", "full_path", "web_url", "username", "id", "iid", "name", "title", "key")
	b.Run("resync's keys", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonproj.Unmarshal(page, syncKeys); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The same with the paths the default mapping reads: of author its
	// name, of references full, of each reviewer the username.
	syncPaths := keysOf(parseSpec("author{name},created_at,full_path,id,iid,key,merged_at,name,path_with_namespace," +
		"references{full},reviewers{[]{username}},state,title,updated_at,username,web_url"))
	b.Run("resync's paths", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonproj.Unmarshal(page, syncPaths); err != nil {
				b.Fatal(err)
			}
		}
	})
}
