package gitlab

import (
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
)

// The webhook route as GitLab meets it: intake, secrets, bursts, ownership
// and registration (webhook.go, webhook_register.go). Each event family has
// its own file: webhook_project_test.go, webhook_work_test.go,
// webhook_ci_test.go.

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
