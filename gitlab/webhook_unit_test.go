package gitlab

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

func whPtr[T any](v T) *T { return &v }

func TestBranchSelected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sel  BranchSelector
		br   string
		want bool
	}{
		{"default only, default", BranchSelector{DefaultBranchOnly: true}, "main", true},
		{"default only, other", BranchSelector{DefaultBranchOnly: true}, "develop", false},
		{"default only wins over regex", BranchSelector{DefaultBranchOnly: true, Regex: whPtr("dev")}, "develop", false},
		{"all", BranchSelector{}, "anything", true},
		{"regex is unanchored RE2", BranchSelector{Regex: whPtr("release/[0-9]+")}, "hotfix-release/12", true},
		{"regex anchored", BranchSelector{Regex: whPtr("^release/")}, "hotfix-release/12", false},
		{"regex wins over search", BranchSelector{Regex: whPtr("^main$"), Search: whPtr("dev")}, "develop", false},
		{"search substring, any case", BranchSelector{Search: whPtr("FEAT")}, "my-feature", true},
		{"search ^prefix", BranchSelector{Search: whPtr("^feat")}, "my-feature", false},
		{"search suffix$", BranchSelector{Search: whPtr("ure$")}, "my-feature", true},
		{"search ^exact$", BranchSelector{Search: whPtr("^main$")}, "main", true},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, branchSelected(tc.sel, tc.br, "main"), tc.name)
	}
}

func TestDeletedProjectStub(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload map[string]any
		want    string
	}{
		{"delayed deletion suffix", map[string]any{"project_id": 7.0, "path_with_namespace": "g/api-deleted-7"}, "g/api"},
		{"scheduled suffix", map[string]any{"project_id": 7.0, "path_with_namespace": "g/api-deletion_scheduled-7"}, "g/api"},
		{"id suffix", map[string]any{"project_id": 7.0, "path_with_namespace": "g/api-7"}, "g/api"},
		{"digits that are not the id stay", map[string]any{"project_id": 7.0, "path_with_namespace": "g/service-2"}, "g/service-2"},
		{"push payload", map[string]any{"project_id": 7.0, "project": map[string]any{"path_with_namespace": "g/web", "name": "web"}}, "g/web"},
		{"member payload", map[string]any{"project_id": 7.0, "project_path_with_namespace": "g/db"}, "g/db"},
	}
	for _, tc := range tests {
		stub := deletedProjectStub(tc.payload)
		assert.Equal(t, tc.want, stub["path_with_namespace"], tc.name)
		assert.Equal(t, 7.0, stub["id"], tc.name)
	}
}

func TestPipelineSelected(t *testing.T) {
	t.Parallel()
	pl := ocean.Item{"status": "success", "ref": "main", "sha": "abc", "source": "push", "tag": false,
		"created_at": "2025-01-10T00:00:00Z", "updated_at": "2025-01-11T00:00:00.000Z"}
	tests := []struct {
		name string
		q    *PipelineQueryParams
		want bool
	}{
		{"no filters", nil, true},
		{"status", &PipelineQueryParams{Status: "success"}, true},
		{"other status", &PipelineQueryParams{Status: "failed"}, false},
		{"ref", &PipelineQueryParams{Ref: "develop"}, false},
		{"scope finished", &PipelineQueryParams{Scope: "finished"}, true},
		{"scope running", &PipelineQueryParams{Scope: "running"}, false},
		{"scope tags", &PipelineQueryParams{Scope: "tags"}, false},
		{"username", &PipelineQueryParams{Username: "someone"}, false},
		{"updated after, other zone", &PipelineQueryParams{UpdatedAfter: "2025-01-11T01:00:00+02:00"}, true},
		{"updated before", &PipelineQueryParams{UpdatedBefore: "2025-01-10T12:00:00Z"}, false},
		{"created window", &PipelineQueryParams{CreatedAfter: "2025-01-09T00:00:00Z", CreatedBefore: "2025-01-10T00:00:00Z"}, true},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, pipelineSelected(tc.q, pl, "me"), tc.name)
	}
}

func TestIssueSelected(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	is := ocean.Item{"state": "opened", "issue_type": "incident", "labels": []any{"Bug", "backend"}, "updated_at": now.Add(-23 * time.Hour).Format(time.RFC3339)}
	tests := []struct {
		name string
		sel  IssueSelector
		want bool
	}{
		{"none", IssueSelector{}, true},
		{"state", IssueSelector{State: whPtr("closed")}, false},
		{"type, any case", IssueSelector{IssueType: whPtr("INCIDENT")}, true},
		{"all labels", IssueSelector{Labels: whPtr("bug, backend")}, true},
		{"a missing label", IssueSelector{Labels: whPtr("bug,frontend")}, false},
		{"recent", IssueSelector{UpdatedAfter: whPtr(1.0)}, true},
		{"not recent enough", IssueSelector{UpdatedAfter: whPtr(0.5)}, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, issueSelected(tc.sel, is, now), tc.name)
	}
	old := ocean.Item{"state": "opened", "updated_at": "2020-01-01T00:00:00Z"}
	assert.False(t, issueSelected(IssueSelector{UpdatedAfter: whPtr(30.0)}, old, now))
}

func TestDeploymentSelected(t *testing.T) {
	t.Parallel()
	dep := ocean.Item{"status": "success", "environment": map[string]any{"name": "production"},
		"updated_at": "2025-03-01T10:00:00Z", "deployable": map[string]any{"finished_at": "2025-03-01T09:59:00Z"}}
	assert.True(t, deploymentSelected(&DeploymentQueryParams{Environment: "production", Status: "success"}, dep))
	assert.False(t, deploymentSelected(&DeploymentQueryParams{Environment: "staging"}, dep))
	// gitlab-v2 compared these as strings; a different zone broke it.
	assert.True(t, deploymentSelected(&DeploymentQueryParams{FinishedAfter: "2025-03-01T11:00:00+02:00"}, dep))
	assert.False(t, deploymentSelected(&DeploymentQueryParams{FinishedBefore: "2025-03-01T10:00:00+02:00"}, dep))
}

func TestProcessorsMatchTheirEvents(t *testing.T) {
	t.Parallel()
	g := &Integration{cfg: Config{WebhookSecret: "s"}}
	byName := map[string][]string{}
	for _, name := range []string{"project", "project_member", "subgroup", "member", "merge_request", "issue", "push", "tag_push", "release", "pipeline", "job", "deployment"} {
		ev := &ocean.Event{Headers: map[string][]string{"X-Gitlab-Event": {whHeaders[name]}}, Payload: whFixture(t, name)}
		for _, p := range g.processors() {
			hm, ok := p.(ocean.HeaderMatcher)
			require.True(t, ok, "%s routes on headers, so deliveries it does not take are not read", p.Name())
			if p.Match(ev) {
				assert.True(t, hm.MatchHeaders(ev.Headers), "%s: MatchHeaders never rules out what Match takes (%s)", p.Name(), name)
				require.NoError(t, p.Validate(ev), "%s validates %s", p.Name(), name)
				byName[name] = append(byName[name], p.Kinds(ev)...)
			}
		}
	}
	assert.Equal(t, map[string][]string{
		"project":        {KindProject, KindProjectWithMembers},
		"project_member": {KindProjectWithMembers},
		"subgroup":       {KindGroup, KindGroupWithMembers},
		"member":         {KindGroupWithMembers, KindMember},
		"merge_request":  {KindMergeRequest},
		"issue":          {KindIssue},
		"push":           {KindBranch, KindFile, KindFolder, KindSkill, KindPlugin}, // develop: not the default branch
		"tag_push":       {KindTag},
		"release":        {KindRelease},
		"pipeline":       {KindPipeline},
		"job":            {KindJob},
		"deployment":     {KindDeployment},
	}, byName)
}

func TestProcessorsAuthenticateFromHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		secret        settings.Secret
		allowUnsigned bool
		token         string
		wantErr       bool
	}{
		{"right token", "s3cret", false, "s3cret", false},
		{"wrong token", "s3cret", false, "nope", true},
		{"no token", "s3cret", false, "", true},
		{"token of another length", "s3cret", false, "s3cretx", true},
		{"no secret configured", "", false, "anything", true},
		{"no secret, unsigned allowed", "", true, "", false},
		{"a configured secret is checked even when unsigned is allowed", "s3cret", true, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := &Integration{cfg: Config{WebhookSecret: tc.secret, AllowUnauthenticatedWebhooks: tc.allowUnsigned}}
			h := http.Header{}
			if tc.token != "" {
				h.Set("X-Gitlab-Token", tc.token)
			}
			for _, p := range g.processors() {
				ha, ok := p.(ocean.HeaderAuthenticator)
				require.True(t, ok, "%s authenticates from headers, before the body is read", p.Name())
				err := ha.AuthenticateHeaders(context.Background(), h)
				assert.Equal(t, tc.wantErr, err != nil, p.Name())
				// The body-time check agrees with the header-time one.
				err = p.Authenticate(context.Background(), &ocean.Event{Headers: h})
				assert.Equal(t, tc.wantErr, err != nil, p.Name())
			}
		})
	}
}

// A resource whose selector does not decode fails every processor's event
// for good, before any request: retrying cannot fix the config.
func TestProcessorsRefuseABrokenSelectorForGood(t *testing.T) {
	t.Parallel()
	g := &Integration{cfg: Config{WebhookSecret: "s"}} // no client: a request would panic
	n := 0
	for _, p := range g.processors() {
		pf, ok := p.(*ocean.ProcessorFuncs)
		if !ok {
			continue // the pipeline-run processor completes action runs; it has no selector
		}
		n++
		kind := pf.KindNames[0]
		res := ocean.Resource{Kind: kind, Index: 2, Selector: json.RawMessage(`[1]`)}
		_, err := pf.Handle(t.Context(), &ocean.Event{Payload: map[string]any{}}, res)
		require.Error(t, err, pf.ID)
		assert.True(t, ocean.IsPermanent(err), "%s: %v", pf.ID, err)
		assert.Contains(t, err.Error(), kind+"[2]", pf.ID)
	}
	assert.Equal(t, 17, n, "every selector-taking processor is checked")
}

// Live events judge "updated within N days" by the provider's clock (the
// client's, which tests replace), as the resync's updated_after does.
func TestUpdatedWithinUsesTheProvidersClock(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2030, 1, 10, 0, 0, 0, 0, time.UTC)
	g, err := New(Config{Host: "https://gitlab.example.com", Token: "t"}, WithClock(clock.NewFake(fixed)))
	require.NoError(t, err)
	require.Equal(t, fixed, g.now())
	assert.Equal(t, "2030-01-09T00:00:00Z", daysAgo(g.now(), 1))
	it := ocean.Item{"updated_at": "2030-01-08T12:00:00Z"}
	assert.True(t, updatedWithin(it, 2, g.now()))
	assert.False(t, updatedWithin(it, 1, g.now()))
	assert.True(t, updatedWithin(ocean.Item{}, 1, g.now()), "an item without updated_at is kept")
}
