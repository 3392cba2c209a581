package gitlab

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
)

// Live events of pipelines, jobs and deployments (webhook_ci.go).

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
