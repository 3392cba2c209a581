package jsonproj_test

import (
	"encoding/json"
	"fmt"
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

// groupPage is a page of GitLab groups as the fake lists them.
func groupPage(b *testing.B) []byte {
	b.Helper()
	gs := gitlabtest.Generate(1, gitlabtest.SizeMedium).Groups()
	page, err := json.Marshal(gs[:min(len(gs), 100)])
	if err != nil {
		b.Fatal(err)
	}
	return page
}

// memberPage is a page of 100 members of a group, shaped as GitLab's
// members/all.
func memberPage(b *testing.B) []byte {
	b.Helper()
	avatar := "https://gitlab.example.com/uploads/-/system/user/avatar/1/avatar.png"
	ms := make([]gitlabtest.Member, 100)
	for i := range ms {
		ms[i] = gitlabtest.Member{
			ID: 1000 + i, Username: fmt.Sprintf("user-%d", i), Name: fmt.Sprintf("User Number %d", i), State: "active",
			AvatarURL: &avatar, WebURL: fmt.Sprintf("https://gitlab.example.com/user-%d", i), AccessLevel: 30,
			CreatedBy: gitlabtest.UserBasic{ID: 1, Username: "root", Name: "Administrator", State: "active",
				AvatarURL: &avatar, WebURL: "https://gitlab.example.com/root"},
			Email: fmt.Sprintf("user-%d@example.com", i), MembershipState: "active",
		}
	}
	page, err := json.Marshal(ms)
	if err != nil {
		b.Fatal(err)
	}
	return page
}

// BenchmarkSharedPages decodes a page of groups and one of members whole
// (what a resync did with the shared listings) and projected to what a
// resync with gitlab's default mapping reads of them: the group and
// group-with-members kinds' keys, the member kind's, the framework's, and
// the provider's own (ids, parents, deletion; a member row's keys, bot).
func BenchmarkSharedPages(b *testing.B) {
	const framework = "full_path,id,iid,key,name,path_with_namespace,title,username,web_url"
	pages := []struct {
		name string
		page []byte
		spec string
	}{
		{"groups", groupPage(b), framework + ",__members{[]{username}},description,visibility,parent_id,marked_for_deletion_on"},
		{"members", memberPage(b), framework + ",email,locked,state,access_level,bot"},
	}
	for _, p := range pages {
		for _, c := range []struct {
			name string
			keys *jsonproj.Keys
		}{{"whole", nil}, {"projected", keysOf(parseSpec(p.spec))}} {
			b.Run(p.name+"/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(p.page)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := jsonproj.Unmarshal(p.page, c.keys); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
