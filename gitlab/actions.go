package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	glapi "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/actions"
)

// ActionTriggerPipeline is gitlab-v2's self-service action: it triggers a
// CI/CD pipeline. Its inputs are `project` (path or numeric ID, required),
// `ref` (branch, tag or commit, required), `reportPipelineStatus` (bool,
// default true) and `pipelineVariables` (an object of CI/CD variables).
const ActionTriggerPipeline = "trigger_pipeline"

// Defaults of TriggerPipeline's status polling.
const (
	DefaultPipelinePollInterval     = 5 * time.Second
	DefaultPipelineMaxPollInterval  = time.Minute
	DefaultPipelineLivePollInterval = 2 * time.Minute
	DefaultPipelinePollTimeout      = time.Hour
)

// terminalPipelineStatuses end a pipeline, as gitlab-v2 counts them.
var terminalPipelineStatuses = []string{"success", "failed", "canceled", "skipped"}

// TriggerPipeline is the executor of trigger_pipeline. It triggers the
// pipeline (POST /projects/:id/pipeline), links the run to it (external
// run ID gl_<project id>_<pipeline id>) and then:
//
//   - with reportPipelineStatus false, marks the run SUCCESS at once (the
//     action's work, triggering, is done; gitlab-v2 leaves such runs in
//     progress for ever);
//   - otherwise follows the pipeline to its end: the Pipeline Hook completes
//     the run when live events are on, and a poll of the pipeline with a
//     growing interval, bounded by PollTimeout, completes it when they are
//     off, and catches deliveries that never came when they are on.
//
// Set the fields before the App runs.
type TriggerPipeline struct {
	g *Integration
	// PollInterval is the first wait between polls when live events are
	// off; each wait is half again as long as the one before, up to
	// MaxPollInterval.
	PollInterval, MaxPollInterval time.Duration
	// LivePollInterval is the first wait when live events are on, where
	// polling only backs up the webhook.
	LivePollInterval time.Duration
	// PollTimeout bounds the wait for the pipeline's end; past it the run
	// fails with the last status seen.
	PollTimeout time.Duration
}

var (
	_ actions.Executor    = (*TriggerPipeline)(nil)
	_ actions.RateLimiter = (*TriggerPipeline)(nil)
)

func newTriggerPipeline(g *Integration) *TriggerPipeline {
	return &TriggerPipeline{g: g, PollInterval: DefaultPipelinePollInterval, MaxPollInterval: DefaultPipelineMaxPollInterval,
		LivePollInterval: DefaultPipelineLivePollInterval, PollTimeout: DefaultPipelinePollTimeout}
}

// TriggerPipeline returns the provider's trigger_pipeline executor.
func (g *Integration) TriggerPipeline() *TriggerPipeline { return g.trigger }

// Action implements actions.Executor.
func (t *TriggerPipeline) Action() string { return ActionTriggerPipeline }

// RateLimitWait defers a run while the client is paused until GitLab's
// rate-limit reset (few requests remain), so that the trigger is not the
// request that hits the limit.
func (t *TriggerPipeline) RateLimitWait(*actions.Run) time.Duration {
	return t.g.client.lim.pauseLeft(classDefault)
}

// triggerInputs are trigger_pipeline's validated inputs.
type triggerInputs struct {
	project string
	ref     string
	report  bool
	vars    []pipelineVariable
}

type pipelineVariable struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func parseTriggerInputs(in map[string]any) (triggerInputs, error) {
	var ti triggerInputs
	switch p := in["project"].(type) {
	case string:
		ti.project = strings.TrimSpace(p)
	case float64:
		if p > 0 && p == float64(int64(p)) {
			ti.project = strconv.FormatInt(int64(p), 10)
		}
	}
	if ti.project == "" {
		return ti, errors.New("project is required (a project path such as my-group/my-project, or its numeric ID)")
	}
	ref, _ := in["ref"].(string)
	ti.ref = strings.TrimSpace(ref)
	if ti.ref == "" {
		return ti, errors.New("ref is required (a branch, tag or commit SHA)")
	}
	ti.report = true
	switch v := in["reportPipelineStatus"].(type) {
	case nil:
	case bool:
		ti.report = v
	default:
		return ti, fmt.Errorf("reportPipelineStatus must be a boolean, got %s", jsonType(v))
	}
	switch vars := in["pipelineVariables"].(type) {
	case nil:
	case map[string]any:
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			var val string
			if s, ok := vars[k].(string); ok {
				val = s
			} else {
				b, err := json.Marshal(vars[k])
				if err != nil {
					return ti, fmt.Errorf("pipelineVariables.%s: %w", k, err)
				}
				val = string(b)
			}
			ti.vars = append(ti.vars, pipelineVariable{Key: k, Value: val})
		}
	default:
		return ti, fmt.Errorf("pipelineVariables must be a key-value object, got %s", jsonType(vars))
	}
	return ti, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// externalRunID ties a run to its pipeline, as gitlab-v2 spells it.
func externalRunID(projectID, pipelineID int64) string {
	return "gl_" + strconv.FormatInt(projectID, 10) + "_" + strconv.FormatInt(pipelineID, 10)
}

// Execute implements actions.Executor.
func (t *TriggerPipeline) Execute(ctx context.Context, run *actions.Run, rep actions.Reporter) error {
	in, err := parseTriggerInputs(run.Inputs)
	if err != nil {
		return err
	}
	log := t.g.log.With("run", run.ID, "project", in.project, "ref", in.ref)
	if err := rep.Log(ctx, fmt.Sprintf("Triggering GitLab pipeline for %s on ref %s", in.project, in.ref)); err != nil {
		log.DebugContext(ctx, "gitlab: could not log to the run", "error", err)
	}
	pl, err := t.g.client.triggerPipeline(ctx, in.project, in.ref, in.vars)
	if err != nil {
		return fmt.Errorf("could not trigger a pipeline for project '%s' on ref '%s': %w", in.project, in.ref, err)
	}
	if pl.ID == 0 || pl.ProjectID == 0 || pl.WebURL == "" {
		return errors.New("failed to trigger pipeline: GitLab returned an empty or incomplete response")
	}
	ext := externalRunID(pl.ProjectID, pl.ID)
	if err := rep.SetLink(ctx, pl.WebURL, ext); err != nil {
		// The pipeline runs whatever Port says; without the external ID a
		// Pipeline Hook cannot find the run, so polling completes it.
		log.WarnContext(ctx, "gitlab: could not link the run to its pipeline", "pipeline", pl.WebURL, "error", err)
	}
	if err := rep.Log(ctx, "Pipeline triggered: "+pl.WebURL); err != nil {
		log.DebugContext(ctx, "gitlab: could not log to the run", "error", err)
	}
	log.InfoContext(ctx, "gitlab: pipeline triggered", "pipeline", pl.ID, "external_id", ext)
	if !in.report {
		return rep.Succeed(ctx, "Pipeline triggered: "+pl.WebURL)
	}
	if slices.Contains(terminalPipelineStatuses, pl.Status) {
		return completeRun(ctx, rep, pl.Status)
	}
	rep.Continue(func(ctx context.Context, rep actions.Reporter) error {
		return t.follow(ctx, rep, pl)
	})
	return nil
}

// follow polls a pipeline until it ends, the run is completed elsewhere
// (by the Pipeline Hook, perhaps on another replica), or PollTimeout.
func (t *TriggerPipeline) follow(ctx context.Context, rep actions.Reporter, pl *triggeredPipeline) error {
	wait := t.PollInterval
	if t.g.liveEvents.Load() {
		wait = t.LivePollInterval
	}
	wait = max(wait, time.Millisecond)
	// The integration's clock (WithClock) times the polls, as every other
	// wait of the provider.
	deadline := t.g.now().Add(t.PollTimeout)
	path := "projects/" + strconv.FormatInt(pl.ProjectID, 10) + "/pipelines/" + strconv.FormatInt(pl.ID, 10)
	last := pl.Status
	for {
		if left := deadline.Sub(t.g.now()); left < wait {
			wait = max(left, 0)
		}
		if err := t.g.client.sleep(ctx, wait); err != nil {
			return err
		}
		if st, err := rep.Status(ctx); err == nil && st.Terminal() {
			return nil
		}
		var cur triggeredPipeline
		switch err := t.g.client.Get(ctx, path, nil, &cur); {
		case IsNotFound(err):
			return fmt.Errorf("pipeline %s was deleted before it finished", pl.WebURL)
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			t.g.log.WarnContext(ctx, "gitlab: could not poll the pipeline; trying again", "pipeline", pl.WebURL, "error", err)
		default:
			last = cur.Status
			if slices.Contains(terminalPipelineStatuses, cur.Status) {
				return completeRun(ctx, rep, cur.Status)
			}
		}
		if !t.g.now().Before(deadline) {
			return fmt.Errorf("timed out after %s waiting for GitLab pipeline %s to finish (last status: %s)", t.PollTimeout, pl.WebURL, last)
		}
		wait = min(wait*3/2, max(t.MaxPollInterval, t.PollInterval))
	}
}

// completeRun reports a finished pipeline: SUCCESS only for "success".
func completeRun(ctx context.Context, rep actions.Reporter, status string) error {
	msg := "Pipeline completed: " + status
	_ = rep.Log(ctx, msg)
	if status == "success" {
		return rep.Succeed(ctx, msg)
	}
	return rep.Fail(ctx, msg)
}

// triggeredPipeline is what the run needs of GitLab's pipeline object.
type triggeredPipeline struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Status    string `json:"status"`
	WebURL    string `json:"web_url"`
}

// triggerPipeline creates a pipeline. Unlike other requests it is sent
// once: a timeout or a 5xx may hide a pipeline GitLab created, and a second
// one would run the pipeline twice. Only a 429, which GitLab did not
// process, is retried.
func (c *Client) triggerPipeline(ctx context.Context, project, ref string, vars []pipelineVariable) (*triggeredPipeline, error) {
	path := "projects/" + glapi.PathEscape(project) + "/pipeline"
	body := map[string]any{"ref": ref}
	if len(vars) > 0 {
		body["variables"] = vars
	}
	for attempt := 0; ; attempt++ {
		release, err := c.lim.acquire(ctx, classDefault)
		if err != nil {
			return nil, err
		}
		req, err := c.gl.NewRequest(http.MethodPost, path, body, []glapi.RequestOptionFunc{glapi.WithContext(ctx)})
		if err != nil {
			release()
			return nil, fmt.Errorf("gitlab: build POST %s: %w", path, err)
		}
		var buf bytes.Buffer
		c.requests.Add(1)
		resp, err := c.gl.Do(req, &buf)
		release()
		if resp != nil {
			c.lim.observe(resp.Header)
		}
		if err == nil {
			var pl triggeredPipeline
			if err := json.Unmarshal(buf.Bytes(), &pl); err != nil {
				return nil, fmt.Errorf("GitLab's answer is not a pipeline: %w", err)
			}
			return &pl, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		if status == http.StatusTooManyRequests && attempt < c.cfg.MaxRetries {
			wait := c.retryWait(resp.Header, attempt)
			c.lim.pauseFor(classDefault, wait)
			c.retries.Add(1)
			continue
		}
		return nil, triggerError(status, err)
	}
}

// triggerError turns GitLab's answer into the message a user sees in the
// run: GitLab's own words where it gave some.
func triggerError(status int, err error) error {
	var er *glapi.ErrorResponse
	msg := ""
	if errors.As(err, &er) {
		msg = gitlabMessage(er.Body)
	}
	switch {
	case status == 0:
		return fmt.Errorf("GitLab could not be reached: %w", err)
	case msg != "":
		return errors.New(msg)
	case status == http.StatusNotFound:
		return errors.New("project not found, or the token cannot see it")
	case status == http.StatusForbidden:
		return errors.New("403 Forbidden: the token may not run pipelines in this project (Developer access is needed)")
	case status == http.StatusUnauthorized:
		return errors.New("401 Unauthorized: GitLab rejected the token")
	}
	return fmt.Errorf("GitLab answered %d %s", status, http.StatusText(status))
}

// gitlabMessage reads GitLab's error body: {"message": "…"},
// {"message": {"base": ["…"], "field": ["…"]}}, {"error": "…",
// "error_description": "…"}.
func gitlabMessage(body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	for _, k := range []string{"error_description", "message", "error"} {
		if s := flattenMessage(m[k], ""); s != "" {
			return s
		}
	}
	return ""
}

func flattenMessage(v any, field string) string {
	prefix := ""
	if field != "" && field != "base" {
		prefix = field + ": "
	}
	switch x := v.(type) {
	case string:
		if x == "" {
			return ""
		}
		return prefix + x
	case []any:
		var parts []string
		for _, e := range x {
			if s := flattenMessage(e, ""); s != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) == 0 {
			return ""
		}
		return prefix + strings.Join(parts, ", ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var parts []string
		for _, k := range keys {
			if s := flattenMessage(x[k], k); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "; ")
	}
	return ""
}

// --- the Pipeline Hook that completes runs ---

// pipelineRunProcessor completes trigger_pipeline runs from Pipeline Hooks
// with a terminal status (gitlab-v2's TriggerPipelineWebhookProcessor).
type pipelineRunProcessor struct {
	auth *hookAuth
}

var _ ocean.RunEventProcessor = (*pipelineRunProcessor)(nil)

func (g *Integration) pipelineRunProcessor(a *hookAuth) *pipelineRunProcessor {
	return &pipelineRunProcessor{auth: a}
}

func (p *pipelineRunProcessor) Name() string { return "gitlab-pipeline-run" }

// Match takes finished pipelines that the API created: a triggered
// pipeline's source is "api", so pushes and schedules cost no run lookup.
func (p *pipelineRunProcessor) Match(ev *ocean.Event) bool {
	if ev.Headers.Get("X-Gitlab-Event") != hookPipeline || eventName(ev.Payload) != "pipeline" {
		return false
	}
	if !slices.Contains(terminalPipelineStatuses, strField(ev.Payload, "object_attributes", "status")) {
		return false
	}
	src := strField(ev.Payload, "object_attributes", "source")
	return src == "" || src == "api"
}

func (p *pipelineRunProcessor) Authenticate(_ context.Context, ev *ocean.Event) error {
	return p.auth.check(ev)
}

func (p *pipelineRunProcessor) Validate(ev *ocean.Event) error {
	return requireFields(ev.Payload, "pipeline", [][]string{{"project", "id"}, {"object_attributes", "id"}}, nil)
}

func (p *pipelineRunProcessor) Key(ev *ocean.Event) string {
	return "pipeline-run:" + idField(ev.Payload, "project", "id") + ":" + idField(ev.Payload, "object_attributes", "id")
}

// Kinds is empty: the event changes a run, not the catalog.
func (p *pipelineRunProcessor) Kinds(*ocean.Event) []string { return nil }

// Handle is not called for a RunEventProcessor.
func (p *pipelineRunProcessor) Handle(context.Context, *ocean.Event, ocean.Resource) (ocean.Changes, error) {
	return ocean.Changes{}, nil
}

// HandleRunEvent completes the run whose external ID names the pipeline.
// No run means the pipeline was not triggered by an action (or the hook
// beat the link to Port; the run's poll completes it then).
func (p *pipelineRunProcessor) HandleRunEvent(ctx context.Context, ev *ocean.Event, runs actions.Runs) error {
	pid, _ := strconv.ParseInt(idField(ev.Payload, "project", "id"), 10, 64)
	id, _ := strconv.ParseInt(idField(ev.Payload, "object_attributes", "id"), 10, 64)
	run, rep, err := runs.ByExternalID(ctx, externalRunID(pid, id))
	if err != nil || run == nil || run.Status.Terminal() || run.Type != ActionTriggerPipeline {
		return err
	}
	if report, ok := run.Inputs["reportPipelineStatus"].(bool); ok && !report {
		return nil
	}
	return completeRun(ctx, rep, strField(ev.Payload, "object_attributes", "status"))
}
