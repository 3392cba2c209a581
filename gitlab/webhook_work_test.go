package gitlab

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
)

// Live events of merge requests, issues, branches, tags and releases
// (webhook_work.go).

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
