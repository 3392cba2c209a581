package gitlabtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// appendMR writes every merge request as json.Marshal does: all the
// generated ones (every state, draft or not, with and without assignees,
// reviewers, merge and close data), and ones with what generation never
// sets (strings JSON escapes, nil lists, pointers set, zero times).
func TestAppendMRAsMarshal(t *testing.T) {
	t.Parallel()
	var mrs []MergeRequest
	ds := Generate(3, SizeMedium)
	for _, p := range ds.Projects() {
		mrs = append(mrs, ds.MergeRequests(p.ID)...)
	}
	require.Greater(t, len(mrs), 1000)
	odd := mrs[0]
	odd.Title, odd.Description = "<script>&amp; \"quoted\" \\ \u2028 \x01 \xff é 🚀", "line\nbreak\ttab\r\f\b"
	odd.Labels, odd.Assignees, odd.Reviewers = nil, nil, []UserBasic{{ID: 9, Username: "a<b", AvatarURL: ptr("https://x/a.png?x=1&y=2")}}
	odd.CreatedAt, odd.MergedAt = Time{}, T(time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600)))
	odd.SquashCommitSHA, odd.DiscussionLocked, odd.ShouldRemoveSourceBranch = ptr("abc"), ptr(false), nil
	odd.TimeStats = TimeStats{TimeEstimate: 60, TotalTimeSpent: -1, HumanTimeEstimate: ptr("1m")}
	odd.TaskCompletionStatus = TaskCompletionStatus{Count: 3, CompletedCount: 2}
	odd.Imported, odd.Squash, odd.SquashOnMerge, odd.HasConflicts, odd.ForceRemoveSourceBranch = true, true, true, true, true
	mrs = append(mrs, odd, MergeRequest{})
	for i := range mrs {
		want, err := json.Marshal(&mrs[i])
		require.NoError(t, err)
		got, ok := appendMR(nil, &mrs[i])
		require.True(t, ok)
		assert.Equal(t, string(want), string(got), "merge request %d", mrs[i].ID)
	}
	withMilestone := mrs[0]
	withMilestone.Milestone = &Milestone{}
	_, ok := appendMR(nil, &withMilestone)
	assert.False(t, ok, "a milestone is json.Marshal's to encode")
}

func ptr[T any](v T) *T { return &v }

// appendProject writes every project as json.Marshal does: all generated
// ones (group and personal, archived, marked for deletion, the empty
// repository) and ones with what generation never sets.
func TestAppendProjectAsMarshal(t *testing.T) {
	t.Parallel()
	ps := Generate(3, SizeMedium).Projects()
	require.Greater(t, len(ps), 100)
	odd := ps[0]
	odd.Name, odd.Description, odd.DefaultBranch = "<a&b> \u2029 \x7f \xfe", nil, nil
	odd.TagList, odd.Topics, odd.AvatarURL = nil, []string{}, ptr("https://x/\"a\".png")
	odd.Namespace.ParentID, odd.Namespace.AvatarURL = ptr(-3), ptr("")
	odd.Owner = &UserBasic{ID: 1, Name: "é"}
	ps = append(ps, odd, Project{SharedWithGroups: []SharedGroup{}})
	for i := range ps {
		want, err := json.Marshal(&ps[i])
		require.NoError(t, err)
		got, ok := appendProject(nil, &ps[i])
		require.True(t, ok)
		assert.Equal(t, string(want), string(got), "project %d", ps[i].ID)
	}
	for _, p := range []Project{{}, {SharedWithGroups: []SharedGroup{{GroupID: 1}}}, {SharedWithGroups: []SharedGroup{}, Statistics: &ProjectStatistics{}}} {
		_, ok := appendProject(nil, &p)
		assert.False(t, ok, "json.Marshal encodes shared groups and statistics")
	}
}

// appendMember writes every member as json.Marshal does: group and
// project members, inherited or not, bots, expiring memberships, and odd
// strings.
func TestAppendMemberAsMarshal(t *testing.T) {
	t.Parallel()
	ds := Generate(3, SizeMedium)
	var ms []Member
	for _, g := range ds.Groups() {
		gg := ds.groupByID[g.ID]
		ms = append(ms, ds.groupMemberList(gg, true)...)
		ms = append(ms, ds.groupMemberList(gg, false)...)
	}
	for _, ps := range ds.projects {
		ms = append(ms, ds.projectMemberList(ps, true)...)
	}
	require.Greater(t, len(ms), 100)
	ms = append(ms, Member{}, Member{Name: "<é>\u2028\x00", Email: "a&b@x", AvatarURL: ptr("u"), Bot: ptr(false), ExpiresAt: ptr("2026-01-01")})
	bots := 0
	for i := range ms {
		want, err := json.Marshal(ms[i])
		require.NoError(t, err)
		assert.Equal(t, string(want), string(appendMember(nil, &ms[i])), "member %d", ms[i].ID)
		if ms[i].Bot != nil && *ms[i].Bot {
			bots++
		}
	}
	assert.Positive(t, bots, "bots are among the members checked")
}
