package gitlab

import (
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
)

func TestWebhookIntakeRejections(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	mr := whFixture(t, "merge_request")
	tests := []struct {
		name   string
		header string
		token  string
		body   any
		want   int
	}{
		{"wrong secret", hookMergeRequest, "not-the-secret", mr, http.StatusUnauthorized},
		{"missing secret", hookMergeRequest, "", mr, http.StatusUnauthorized},
		{"secret of another length", hookMergeRequest, whSecret + "x", mr, http.StatusUnauthorized},
		{"malformed JSON", hookMergeRequest, whSecret, []byte(`{"object_kind": "merge_request",`), http.StatusBadRequest},
		{"not an object", hookMergeRequest, whSecret, []byte(`["merge_request"]`), http.StatusBadRequest},
		{"payload without the merge request's iid", hookMergeRequest, whSecret,
			whFixture(t, "merge_request", func(m map[string]any) { delete(m["object_attributes"].(map[string]any), "iid") }), http.StatusBadRequest},
		{"unknown event", "Note Hook", whSecret, map[string]any{"object_kind": "note", "project": map[string]any{"id": 1}}, http.StatusOK},
		{"no X-Gitlab-Event header", "", whSecret, mr, http.StatusOK},
		{"header and payload disagree", hookIssue, whSecret, mr, http.StatusOK},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, e.post(t, tc.header, tc.token, tc.body), tc.name)
	}
	// A valid event after the rejected ones is the only change.
	e.send(t, "merge_request")
	e.settle(t)
	require.NoError(t, e.stop())
	assert.Equal(t, 1, e.pt.TotalEntities(), "rejected and ignored deliveries change nothing")
	assert.NotNil(t, e.entity("whMR", "3"))
}

// TestWebhookRefusedBeforeTheBodyIsRead sends deliveries whose 24 MiB body
// never arrives (6 bytes, then nothing): the answer must come from the
// headers alone. Before, the route read the whole body first.
func TestWebhookRefusedBeforeTheBodyIsRead(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	tests := []struct {
		name   string
		header string
		token  string
		want   int
	}{
		{"wrong secret", hookPush, "not-the-secret", http.StatusUnauthorized},
		{"no secret", hookMergeRequest, "", http.StatusUnauthorized},
		{"an event no processor takes", "Wiki Page Hook", whSecret, http.StatusOK},
		{"no X-Gitlab-Event", "", "not-the-secret", http.StatusOK},
		{"the secret, but over the body limit", hookPush, whSecret, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pr, pw := io.Pipe()
			defer pw.Close()
			req, err := http.NewRequest(http.MethodPost, e.url+"/integration/webhook", pr)
			require.NoError(t, err)
			req.ContentLength = 24 << 20
			if tc.header != "" {
				req.Header.Set("X-Gitlab-Event", tc.header)
			}
			if tc.token != "" {
				req.Header.Set("X-Gitlab-Token", tc.token)
			}
			go func() { _, _ = pw.Write([]byte(`{"obj`)) }()
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tc.want, resp.StatusCode)
		})
	}
}

func TestWebhookSecretPolicy(t *testing.T) {
	t.Parallel()
	t.Run("no secret refuses everything", func(t *testing.T) {
		t.Parallel()
		e := newWHEnv(t, whOpts{mutate: func(c *Config) { c.WebhookSecret = "" }})
		assert.Equal(t, http.StatusUnauthorized, e.post(t, hookMergeRequest, "", whFixture(t, "merge_request")))
		assert.Equal(t, http.StatusUnauthorized, e.post(t, hookMergeRequest, "anything", whFixture(t, "merge_request")))
	})
	t.Run("no secret with the explicit opt-in accepts unsigned deliveries", func(t *testing.T) {
		t.Parallel()
		e := newWHEnv(t, whOpts{mutate: func(c *Config) { c.WebhookSecret = ""; c.AllowUnauthenticatedWebhooks = true }})
		require.Equal(t, http.StatusAccepted, e.post(t, hookMergeRequest, "", whFixture(t, "merge_request")))
		e.settle(t)
		assert.NotNil(t, e.entity("whMR", "3"))
	})
	t.Run("a configured secret is checked even with the opt-in", func(t *testing.T) {
		t.Parallel()
		e := newWHEnv(t, whOpts{mutate: func(c *Config) { c.AllowUnauthenticatedWebhooks = true }})
		assert.Equal(t, http.StatusUnauthorized, e.post(t, hookMergeRequest, "", whFixture(t, "merge_request")))
	})
}

func TestWebhookProject(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	e.send(t, "project")
	e.settle(t)
	p := e.entity("whProject", whProject)
	require.NotNil(t, p, "project_create creates the project")
	assert.Equal(t, "zesty-river", p["name"])
	assert.Equal(t, true, p["hasReadme"], "included files are fetched as the selector asks")
	assert.Positive(t, p["languages"], "languages are fetched as the selector asks (gitlab-v2 drops them on push)")

	// A push to the default branch refetches the project.
	_, err := e.ds.UpdateProject(strconv.Itoa(whProjectID), func(p *gitlabtest.Project) { p.Name = "Zesty River" })
	require.NoError(t, err)
	e.send(t, "push", whSet("refs/heads/main", "ref"))
	e.settle(t)
	assert.Equal(t, "Zesty River", e.entity("whProject", whProject)["name"])

	// A push to another branch does not concern the project.
	_, err = e.ds.UpdateProject(strconv.Itoa(whProjectID), func(p *gitlabtest.Project) { p.Name = "Renamed Again" })
	require.NoError(t, err)
	e.send(t, "push") // develop
	e.settle(t)
	assert.Equal(t, "Zesty River", e.entity("whProject", whProject)["name"])

	// Archiving under includeOnlyActiveProjects is covered by the gate;
	// here the project is destroyed. GitLab renames it on delayed deletion.
	require.NoError(t, e.ds.DeleteProject(strconv.Itoa(whProjectID)))
	e.send(t, "project", whSet("project_destroy", "event_name"), whSet(whProject+"-deleted-1", "path_with_namespace"))
	e.settle(t)
	assert.Nil(t, e.entity("whProject", whProject), "project_destroy deletes the project")
}

func TestWebhookProjectWithMembers(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	require.NoError(t, e.ds.AddProjectMember(whProjectID, whUserID, gitlabtest.MaintainerAccess))
	e.send(t, "project_member")
	e.settle(t)
	p := e.entity("whProjectMembers", whProject)
	require.NotNil(t, p)
	assert.Contains(t, p["members"], whUser)

	require.NoError(t, e.ds.RemoveProjectMember(whProjectID, whUserID))
	e.send(t, "project_member", whSet("user_remove_from_team", "event_name"))
	e.settle(t)
	assert.NotContains(t, e.entity("whProjectMembers", whProject)["members"], whUser)

	require.NoError(t, e.ds.DeleteProject(strconv.Itoa(whProjectID)))
	e.send(t, "project", whSet("project_destroy", "event_name"))
	e.settle(t)
	assert.Nil(t, e.entity("whProjectMembers", whProject))
}

func TestWebhookGroup(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	e.send(t, "subgroup")
	e.settle(t)
	require.NotNil(t, e.entity("whGroup", "amber-falcon/harbor-team"), "subgroup_create creates the group")
	require.NotNil(t, e.entity("whGroupMembers", "amber-falcon/harbor-team"), "and the group with its members")

	_, err := e.ds.UpdateGroup(strconv.Itoa(whSubgroupID), func(g *gitlabtest.Group) { g.Name = "Harbor Team" })
	require.NoError(t, err)
	e.send(t, "subgroup")
	e.settle(t)
	assert.Equal(t, "Harbor Team", e.entity("whGroup", "amber-falcon/harbor-team")["name"])

	require.NoError(t, e.ds.DeleteGroup(strconv.Itoa(whSubgroupID)))
	e.send(t, "subgroup", whSet("subgroup_destroy", "event_name"))
	e.settle(t)
	assert.Nil(t, e.entity("whGroup", "amber-falcon/harbor-team"), "subgroup_destroy deletes the group")
	assert.Nil(t, e.entity("whGroupMembers", "amber-falcon/harbor-team"))
}

func TestWebhookMembers(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	u, err := e.ds.CreateUser("hedy.lamarr", "Hedy Lamarr", false)
	require.NoError(t, err)
	event := func(name string) []func(map[string]any) {
		return []func(map[string]any){whSet(name, "event_name"), whSet(float64(u.ID), "user_id"), whSet(u.Username, "user_username")}
	}

	require.NoError(t, e.ds.AddGroupMember(whGroupID, u.ID, gitlabtest.DeveloperAccess))
	e.send(t, "member", event("user_add_to_group")...)
	e.settle(t)
	m := e.entity("whMember", u.Username)
	require.NotNil(t, m, "user_add_to_group creates the member")
	assert.EqualValues(t, gitlabtest.DeveloperAccess, m["access"])
	assert.Contains(t, e.entity("whGroupMembers", "amber-falcon")["members"], u.Username, "and lists it in its group")

	require.NoError(t, e.ds.AddGroupMember(whGroupID, u.ID, gitlabtest.MaintainerAccess))
	e.send(t, "member", event("user_update_for_group")...)
	e.settle(t)
	assert.EqualValues(t, gitlabtest.MaintainerAccess, e.entity("whMember", u.Username)["access"])

	// Leaving one group keeps a user who is a member of another.
	require.NoError(t, e.ds.AddGroupMember(whSubgroupID, u.ID, gitlabtest.ReporterAccess))
	require.NoError(t, e.ds.RemoveGroupMember(whGroupID, u.ID))
	e.send(t, "member", event("user_remove_from_group")...)
	e.settle(t)
	m = e.entity("whMember", u.Username)
	require.NotNil(t, m, "still a member of amber-falcon/harbor-team")
	assert.EqualValues(t, gitlabtest.ReporterAccess, m["access"])
	assert.NotContains(t, e.entity("whGroupMembers", "amber-falcon")["members"], u.Username)

	// Leaving the last group deletes the member (the payload has
	// user_username, not username: the stub is in the member's shape).
	require.NoError(t, e.ds.RemoveGroupMember(whSubgroupID, u.ID))
	e.send(t, "member", append(event("user_remove_from_group"), whSet(float64(whSubgroupID), "group_id"))...)
	e.settle(t)
	assert.Nil(t, e.entity("whMember", u.Username), "a user in no group any more is deleted")

	// Bots are members the default selector leaves out.
	bot, err := e.ds.CreateUser("project_9_bot_0123abcd", "Bot", true)
	require.NoError(t, err)
	require.NoError(t, e.ds.AddGroupMember(whGroupID, bot.ID, gitlabtest.MaintainerAccess))
	e.send(t, "member", whSet("user_add_to_group", "event_name"), whSet(float64(bot.ID), "user_id"), whSet(bot.Username, "user_username"))
	e.settle(t)
	assert.Nil(t, e.entity("whMember", bot.Username), "bots are not created")
	assert.NotContains(t, e.entity("whGroupMembers", "amber-falcon")["members"], bot.Username)
}

func TestWebhookMergeRequest(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	e.send(t, "merge_request")
	e.settle(t)
	mr := e.entity("whMR", "3")
	require.NotNil(t, mr, "an opened merge request is created")
	assert.Equal(t, "opened", mr["state"])

	_, err := e.ds.UpdateMergeRequest(whProjectID, 3, func(m *gitlabtest.MergeRequest) { m.Title = "Retitled" })
	require.NoError(t, err)
	e.send(t, "merge_request", whSet("update", "object_attributes", "action"), whSet(whNow(), "object_attributes", "updated_at"))
	e.settle(t)
	assert.Equal(t, "Retitled", e.entity("whMR", "3")["title"], "the refetch sees the change")

	// Closed is not in the selector's states: the entity goes.
	_, err = e.ds.UpdateMergeRequest(whProjectID, 3, func(m *gitlabtest.MergeRequest) { m.State = "closed" })
	require.NoError(t, err)
	e.send(t, "merge_request", whSet("close", "object_attributes", "action"), whSet("closed", "object_attributes", "state"),
		whSet(whNow(), "object_attributes", "updated_at"))
	e.settle(t)
	assert.Nil(t, e.entity("whMR", "3"), "a merge request the selector no longer selects is deleted")

	_, err = e.ds.UpdateMergeRequest(whProjectID, 3, func(m *gitlabtest.MergeRequest) { m.State = "opened" })
	require.NoError(t, err)
	e.send(t, "merge_request", whSet("reopen", "object_attributes", "action"), whSet(whNow(), "object_attributes", "updated_at"))
	e.settle(t)
	require.NotNil(t, e.entity("whMR", "3"), "reopened")

	require.NoError(t, e.ds.DeleteMergeRequest(whProjectID, 3))
	e.send(t, "merge_request", whSet(whNow(), "object_attributes", "updated_at"))
	e.settle(t)
	assert.Nil(t, e.entity("whMR", "3"), "a merge request that no longer exists is deleted")

	// A merged one is never created with states: [opened].
	e.send(t, "merge_request", whSet(float64(1), "object_attributes", "iid"), whSet(float64(1), "object_attributes", "id"))
	e.settle(t)
	assert.Nil(t, e.entity("whMR", "1"))
}

func TestWebhookIssue(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	e.send(t, "issue")
	e.settle(t)
	require.NotNil(t, e.entity("whIssue", "2"))

	_, err := e.ds.UpdateIssue(whProjectID, 2, func(i *gitlabtest.Issue) { i.Title = "New title" })
	require.NoError(t, err)
	e.send(t, "issue", whSet(whNow(), "object_attributes", "updated_at"))
	e.settle(t)
	assert.Equal(t, "New title", e.entity("whIssue", "2")["title"])

	// The selector has state: opened.
	_, err = e.ds.UpdateIssue(whProjectID, 2, func(i *gitlabtest.Issue) { i.State = "closed" })
	require.NoError(t, err)
	e.send(t, "issue", whSet(whNow(), "object_attributes", "updated_at"))
	e.settle(t)
	assert.Nil(t, e.entity("whIssue", "2"), "closing deletes it under state: opened")

	// Confidential issues arrive under their own header.
	is, err := e.ds.CreateIssue(whProjectID, gitlabtest.Issue{Title: "Secret", Confidential: true})
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, e.post(t, hookConfidentialIssue, whSecret, whFixture(t, "issue",
		whSet(float64(is.IID), "object_attributes", "iid"), whSet(float64(is.ID), "object_attributes", "id"))))
	e.settle(t)
	require.NotNil(t, e.entity("whIssue", strconv.Itoa(is.ID)), "confidential issues are handled (gitlab-v2 drops them)")

	// nonArchived (default true): an issue of an archived project goes.
	_, err = e.ds.UpdateProject(strconv.Itoa(whProjectID), func(p *gitlabtest.Project) { p.Archived = true })
	require.NoError(t, err)
	e.send(t, "issue", whSet(float64(is.IID), "object_attributes", "iid"), whSet(whNow(), "object_attributes", "updated_at"))
	e.settle(t)
	assert.Nil(t, e.entity("whIssue", strconv.Itoa(is.ID)))

	require.NoError(t, e.ds.DeleteIssue(whProjectID, is.IID))
	e.send(t, "issue", whSet(float64(is.IID), "object_attributes", "iid"), whSet(whNow(), "object_attributes", "updated_at"))
	e.settle(t)
	assert.Nil(t, e.entity("whIssue", strconv.Itoa(is.ID)))
}

func TestWebhookBranch(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	id := whProject + "@develop"
	e.send(t, "push")
	e.settle(t)
	b := e.entity("whBranch", id)
	require.NotNil(t, b, "a push creates the branch")
	first := b["sha"]

	require.NoError(t, e.ds.PutFile(whProjectID, "develop", "notes.txt", []byte("hello")))
	e.send(t, "push")
	e.settle(t)
	assert.NotEqual(t, first, e.entity("whBranch", id)["sha"], "the branch head follows the push")

	require.NoError(t, e.ds.CreateBranch(whProjectID, "feature/x", "main"))
	e.send(t, "push", whSet("refs/heads/feature/x", "ref"), whSet(whZeroSHA, "before"))
	e.settle(t)
	require.NotNil(t, e.entity("whBranch", whProject+"@feature/x"), "branch names with / are escaped")

	require.NoError(t, e.ds.DeleteBranch(whProjectID, "develop"))
	e.send(t, "push", whSet(whZeroSHA, "after"))
	e.settle(t)
	assert.Nil(t, e.entity("whBranch", id), "a push deleting the branch deletes it")
}

func TestWebhookTag(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	e.send(t, "tag_push")
	e.settle(t)
	require.NotNil(t, e.entity("whTag", whProject+"@v1.1.0"))

	tag, err := e.ds.CreateTag(whProjectID, "release/2.0", "develop")
	require.NoError(t, err)
	e.send(t, "tag_push", whSet("refs/tags/release/2.0", "ref"))
	e.settle(t)
	got := e.entity("whTag", whProject+"@release/2.0")
	require.NotNil(t, got, "tags with / are found (gitlab-v2 kept the last segment)")
	assert.Equal(t, tag.Target, got["sha"])

	require.NoError(t, e.ds.DeleteTag(whProjectID, "release/2.0"))
	e.send(t, "tag_push", whSet("refs/tags/release/2.0", "ref"), whSet(whZeroSHA, "after"))
	e.settle(t)
	assert.Nil(t, e.entity("whTag", whProject+"@release/2.0"), "tag deletions delete (gitlab-v2 ignored them)")

	// A late replay of the creation does not bring it back: the refetch
	// finds no tag.
	e.send(t, "tag_push", whSet("refs/tags/release/2.0", "ref"))
	e.settle(t)
	assert.Nil(t, e.entity("whTag", whProject+"@release/2.0"))
}

func TestWebhookRelease(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	id := whProject + "@v1.1.0"
	e.send(t, "release")
	e.settle(t)
	require.NotNil(t, e.entity("whRelease", id))

	_, err := e.ds.UpdateRelease(whProjectID, "v1.1.0", func(r *gitlabtest.Release) { r.Description = "Better notes" })
	require.NoError(t, err)
	e.send(t, "release", whSet("update", "action"))
	e.settle(t)
	assert.Equal(t, "Better notes", e.entity("whRelease", id)["description"])

	require.NoError(t, e.ds.DeleteRelease(whProjectID, "v1.1.0"))
	e.send(t, "release", whSet("delete", "action"))
	e.settle(t)
	assert.Nil(t, e.entity("whRelease", id), "action delete deletes, from the payload")

	e.send(t, "release", whSet("create", "action")) // a replayed, older delivery
	e.settle(t)
	assert.Nil(t, e.entity("whRelease", id), "an out-of-order creation does not resurrect it")
}

func TestWebhookPipeline(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	e.send(t, "pipeline")
	e.settle(t)
	p := e.entity("whPipeline", "1")
	require.NotNil(t, p)
	assert.Equal(t, whProject, p["project"], "__project is set (gitlab-v2 leaves it out live)")
	require.NotNil(t, e.entity("whPipelineOK", "1"), "status: success selects it")

	_, err := e.ds.UpdatePipeline(whProjectID, 1, func(p *gitlabtest.Pipeline) { p.Status = "failed" })
	require.NoError(t, err)
	e.send(t, "pipeline", whSet("failed", "object_attributes", "status"))
	e.settle(t)
	assert.Equal(t, "failed", e.entity("whPipeline", "1")["status"])
	assert.Nil(t, e.entity("whPipelineOK", "1"), "no longer selected by status: success: deleted")

	// A pipeline that never passed the filter is never created there.
	e.send(t, "pipeline", whSet(float64(2), "object_attributes", "id")) // canceled
	e.settle(t)
	assert.NotNil(t, e.entity("whPipeline", "2"))
	assert.Nil(t, e.entity("whPipelineOK", "2"))
}

func TestWebhookJob(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	e.send(t, "job")
	e.settle(t)
	require.NotNil(t, e.entity("whJob", "1"))
	require.NotNil(t, e.entity("whJobOK", "1"))

	_, err := e.ds.UpdateJob(whProjectID, 1, func(j *gitlabtest.Job) { j.Status = "failed"; j.Pipeline.Status = "failed" })
	require.NoError(t, err)
	e.send(t, "job", whSet("failed", "build_status"))
	e.settle(t)
	assert.Equal(t, "failed", e.entity("whJob", "1")["status"])
	assert.Nil(t, e.entity("whJobOK", "1"), "its pipeline no longer passes pipelineQueryParams: deleted")

	e.send(t, "job", whSet(float64(999999), "build_id"))
	e.settle(t)
	assert.Nil(t, e.entity("whJob", "999999"), "a job GitLab does not know is not created")
}

func TestWebhookDeployment(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	e.send(t, "deployment", whSet(whAgo(time.Hour), "status_changed_at"))
	e.settle(t)
	d := e.entity("whDeployment", "1")
	require.NotNil(t, d)
	assert.Equal(t, whProject, d["project"], "__project is the full project")
	require.NotNil(t, e.entity("whDeploymentOK", "1"))

	_, err := e.ds.UpdateDeployment(whProjectID, 1, func(d *gitlabtest.Deployment) { d.Status = "failed" })
	require.NoError(t, err)
	e.send(t, "deployment", whSet("failed", "status"), whSet(whAgo(time.Minute), "status_changed_at"))
	e.settle(t)
	assert.Equal(t, "failed", e.entity("whDeployment", "1")["status"])
	assert.Nil(t, e.entity("whDeploymentOK", "1"), "status: success no longer selects it")

	// An older delivery after a newer one is skipped (ProcessorFuncs.Version).
	stale := e.metrics(t)[`ocean_events_processed_total{result="stale"}`]
	_, err = e.ds.UpdateDeployment(whProjectID, 1, func(d *gitlabtest.Deployment) { d.Status = "success" })
	require.NoError(t, err)
	e.send(t, "deployment", whSet(whAgo(30*time.Minute), "status_changed_at"))
	e.settle(t)
	assert.Greater(t, e.metrics(t)[`ocean_events_processed_total{result="stale"}`], stale)
}

func TestWebhookReplaysAndBursts(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{workers: 4})
	// Replays: the same delivery three times.
	for range 3 {
		e.send(t, "merge_request")
	}
	e.settle(t)
	assert.Equal(t, 1, e.pt.EntityCount("whMR"))

	// A burst for one merge request collapses to its latest state, and
	// whatever order the deliveries are applied in, the last state wins.
	const n = 40
	for i := range n {
		_, err := e.ds.UpdateMergeRequest(whProjectID, 3, func(m *gitlabtest.MergeRequest) { m.Title = "Title " + strconv.Itoa(i) })
		require.NoError(t, err)
		e.send(t, "merge_request", whSet(whNow(), "object_attributes", "updated_at"))
	}
	e.settle(t)
	assert.Equal(t, "Title "+strconv.Itoa(n-1), e.entity("whMR", "3")["title"])
	m := e.metrics(t)
	t.Logf("burst of %d: processed %v, coalesced %v, stale %v", n, m["ocean_events_processed_total"], m["ocean_events_coalesced_total"],
		m[`ocean_events_processed_total{result="stale"}`])
	assert.Zero(t, m[`ocean_events_processed_total{result="failed"}`])
}

func TestWebhookDeleteOnlyOwnedEntities(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	// A tag deletion for a tag the catalog never had: nothing to delete,
	// no failure.
	e.send(t, "tag_push", whSet("refs/tags/never-synced", "ref"), whSet(whZeroSHA, "after"))
	e.settle(t)
	assert.Zero(t, e.metrics(t)[`ocean_events_processed_total{result="failed"}`])
}

// TestWebhookRegistrationThroughTheFramework runs the App with
// OCEAN__BASE_URL set: the start hook registers the webhooks at
// BASE_URL/integration/webhook before the App reports ready, and a
// delivery signed with the secret set on them is applied.
func TestWebhookRegistrationThroughTheFramework(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{baseURL: "https://ocean.example.com"})
	const want = "https://ocean.example.com/integration/webhook"
	h := ourHooks(e.ds.GroupHooks(whGroupID), want)
	require.Len(t, h, 1, "the top-level group the token owns has the hook")
	require.Equal(t, whSecret, h[0].Token)

	e.send(t, "merge_request")
	e.settle(t)
	assert.NotNil(t, e.entity("whMR", "3"))
	require.NoError(t, e.stop())
}
