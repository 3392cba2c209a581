package gitlab

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// X-Gitlab-Event values of the events the processors handle.
const (
	hookProject           = "Project Hook"
	hookSubgroup          = "Subgroup Hook"
	hookMember            = "Member Hook"
	hookMergeRequest      = "Merge Request Hook"
	hookIssue             = "Issue Hook"
	hookConfidentialIssue = "Confidential Issue Hook"
	hookPush              = "Push Hook"
	hookTagPush           = "Tag Push Hook"
	hookRelease           = "Release Hook"
	hookPipeline          = "Pipeline Hook"
	hookJob               = "Job Hook"
	hookDeployment        = "Deployment Hook"
)

// Event names (event_name, or object_kind for the events that have one).
var (
	projectEvents      = []string{"project_create", "project_destroy", "project_rename", "project_transfer", "project_update"}
	groupEvents        = []string{"subgroup_create", "subgroup_destroy", "group_create", "group_destroy", "group_rename"}
	groupMemberEvents  = []string{"user_add_to_group", "user_remove_from_group", "user_update_for_group"}
	projectMemberEvent = []string{"user_add_to_team", "user_remove_from_team", "user_update_for_team"}
)

// zeroSHA is the before/after of a push that creates or deletes a ref.
const zeroSHA = "0000000000000000000000000000000000000000"

// processors returns the live-event processors, one per event family and
// kind it writes, so that each one's key names the catalog object it
// changes (events for one object are then applied in order and bursts for
// it collapse).
//
// Push events feed `project` (default-branch pushes change included files,
// search results and languages) and `branch`. The content kinds (file,
// folder, skill, plugin) plug in here: a processor built with
// pushProcessor (see webhook_push.go), naming its kind and handling the
// parsed push, is appended to this list.
func (g *Integration) processors() []ocean.Processor {
	a := &hookAuth{secret: g.cfg.WebhookSecret, allowUnsigned: g.cfg.AllowUnauthenticatedWebhooks}
	hooks := []*hookProcessor{
		g.projectProcessor(a),
		g.projectMembersProcessor(a),
		g.groupProcessor(a, false),
		g.groupProcessor(a, true),
		g.memberProcessor(a),
		g.mergeRequestProcessor(a),
		g.issueProcessor(a),
		g.branchProcessor(a),
		g.tagProcessor(a),
		g.releaseProcessor(a),
		g.pipelineProcessor(a),
		g.jobProcessor(a),
		g.deploymentProcessor(a),
		g.fileProcessor(a), g.folderProcessor(a), g.skillProcessor(a), g.pluginProcessor(a),
	}
	out := make([]ocean.Processor, 0, len(hooks)+1)
	for _, h := range hooks {
		out = append(out, h.funcs())
	}
	return append(out, pipelineRunHook{g.pipelineRunProcessor(a)})
}

// pipelineRunHook gives the run processor (actions.go) header routing and
// authentication, so that the framework refuses a delivery for it before
// reading the body, as it does for every other processor.
type pipelineRunHook struct{ *pipelineRunProcessor }

var (
	_ ocean.RunEventProcessor   = pipelineRunHook{}
	_ ocean.HeaderMatcher       = pipelineRunHook{}
	_ ocean.HeaderAuthenticator = pipelineRunHook{}
)

// MatchHeaders takes Pipeline Hooks only.
func (p pipelineRunHook) MatchHeaders(h http.Header) bool {
	return h.Get("X-Gitlab-Event") == hookPipeline
}

// AuthenticateHeaders checks X-Gitlab-Token.
func (p pipelineRunHook) AuthenticateHeaders(_ context.Context, h http.Header) error {
	return p.auth.checkHeaders(h)
}

// start registers the webhooks when live events are on.
func (g *Integration) start(ctx context.Context, env ocean.StartEnv) error {
	log := env.Logger
	if log == nil {
		log = g.log
	}
	if env.ListenerType == settings.ListenerOnce || env.ListenerType == settings.ListenerActionsOnly {
		return nil // no live events are processed
	}
	if env.WebhookURL == "" {
		log.InfoContext(ctx, "gitlab: live events are off (OCEAN__BASE_URL is not set); no webhooks are registered and the catalog follows GitLab by resyncs only")
		return nil
	}
	switch {
	case g.cfg.WebhookSecretDerived:
		log.InfoContext(ctx, "gitlab: no webhookSecret is set: live events are authenticated with a secret derived from the Port client secret and the integration identifier; "+
			"every webhook of this integration is given it as its token (set OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET to choose one)")
	case g.cfg.WebhookSecret == "" && !g.cfg.AllowUnauthenticatedWebhooks:
		log.WarnContext(ctx, "gitlab: no webhookSecret is set and none can be derived (no Port client secret), so every live event would be refused; no webhooks are registered. "+
			"Set OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET, or OCEAN__INTEGRATION__CONFIG__ALLOW_UNAUTHENTICATED_WEBHOOKS=true to accept unsigned deliveries")
		return nil
	case g.cfg.WebhookSecret == "":
		log.WarnContext(ctx, "gitlab: no webhookSecret is set and allowUnauthenticatedWebhooks is on: anyone who can reach the webhook URL can post events")
	}
	rep, err := g.RegisterWebhooks(ctx, env.WebhookURL)
	if err != nil {
		var se *ScopeError
		if errors.As(err, &se) {
			msg := "gitlab: the GitLab token has no api scope, which creating and updating webhooks needs: no webhook is registered, and live events are off; " +
				"the catalog follows GitLab by resyncs only. Give the token the api scope to turn live events on"
			if g.cfg.WebhookSecret != "" {
				msg += "; until then, deliveries of existing hooks that do not carry this integration's secret (such as those the Python gitlab-v2 image created) are refused"
			}
			log.WarnContext(ctx, msg, "scopes", strings.Join(se.Scopes, ", "))
			return nil
		}
		return err
	}
	if rep.Owners == 0 {
		log.WarnContext(ctx, "gitlab: the token owns no group and maintains no personal project, so no webhook could be registered; live events are off")
		return nil
	}
	g.liveEvents.Store(true)
	log.InfoContext(ctx, "gitlab: webhooks registered", "url", env.WebhookURL, "owners", rep.Owners, "created", rep.Created, "updated", rep.Updated,
		"duplicates_deleted", rep.Deleted, "forbidden", len(rep.Forbidden), "failed", len(rep.Failed))
	if len(rep.Forbidden) > 0 {
		log.WarnContext(ctx, "gitlab: no permission to manage webhooks here (group webhooks need Owner and GitLab Premium; project hooks need Maintainer); these get no live events",
			"owners", strings.Join(rep.Forbidden, ", "))
	}
	for owner, e := range rep.Failed {
		log.WarnContext(ctx, "gitlab: webhook registration failed", "owner", owner, "error", e)
	}
	return nil
}

// hookAuth checks X-Gitlab-Token against the configured secret. GitLab
// sends the secret in that header, so a delivery is authenticated from its
// headers alone, before the framework reads its body.
type hookAuth struct {
	secret        settings.Secret
	allowUnsigned bool
}

func (a *hookAuth) check(ev *ocean.Event) error { return a.checkHeaders(ev.Headers) }

func (a *hookAuth) checkHeaders(h http.Header) error {
	if a.secret == "" {
		if a.allowUnsigned {
			return nil
		}
		return ocean.ErrUnauthorized
	}
	got := h.Get("X-Gitlab-Token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(a.secret.Value())) != 1 {
		return ocean.ErrUnauthorized
	}
	return nil
}

// hookProcessor is the one processor type: the families differ in what
// they match, the key naming their object, and how they handle an event.
type hookProcessor struct {
	name     string
	kind     string
	auth     *hookAuth
	headers  []string
	events   []string // event_name / object_kind values; empty: any
	when     func(payload map[string]any) bool
	validate func(ev *ocean.Event) error
	key      func(ev *ocean.Event) string
	version  func(ev *ocean.Event) (time.Time, bool)
	handle   func(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error)
	// ordered applies every event of a key in turn instead of collapsing
	// a burst into its newest (see contentPushProcessor).
	ordered bool
}

// funcs is the processor as the framework takes it. Every processor but
// the content kinds' coalesces: each either refetches the object's
// current state or deletes it, so the newest queued event for an object
// says all the older ones would.
func (p *hookProcessor) funcs() *ocean.ProcessorFuncs {
	return &ocean.ProcessorFuncs{
		ID: p.name, HeadersMatch: p.MatchHeaders, HeadersAuth: p.AuthenticateHeaders,
		Matches: p.Match, Auth: p.Authenticate, Check: p.Validate, KindNames: []string{p.kind},
		Apply: p.Handle, Key: p.key, Version: p.version, Coalesce: !p.ordered,
	}
}

func (p *hookProcessor) Name() string { return p.name }

// MatchHeaders routes on X-Gitlab-Event alone, so that deliveries of
// events no processor takes are answered without reading their body.
func (p *hookProcessor) MatchHeaders(h http.Header) bool {
	return slices.Contains(p.headers, h.Get("X-Gitlab-Event"))
}

// AuthenticateHeaders checks X-Gitlab-Token before the body is read.
func (p *hookProcessor) AuthenticateHeaders(_ context.Context, h http.Header) error {
	return p.auth.checkHeaders(h)
}

// Match looks at X-Gitlab-Event and the payload's event name, as gitlab-v2
// does (deliveries without the header are not GitLab's).
func (p *hookProcessor) Match(ev *ocean.Event) bool {
	if !p.MatchHeaders(ev.Headers) {
		return false
	}
	if len(p.events) == 0 {
		return p.when == nil || p.when(ev.Payload)
	}
	name := eventName(ev.Payload)
	for _, e := range p.events {
		if name == e {
			return p.when == nil || p.when(ev.Payload)
		}
	}
	return false
}

func (p *hookProcessor) Authenticate(_ context.Context, ev *ocean.Event) error {
	return p.auth.check(ev)
}

func (p *hookProcessor) Validate(ev *ocean.Event) error {
	if p.validate == nil {
		return nil
	}
	return p.validate(ev)
}

func (p *hookProcessor) Kinds(*ocean.Event) []string { return []string{p.kind} }

func (p *hookProcessor) Handle(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
	return p.handle(ctx, ev, res)
}

// withSelector adapts a handler that takes its resource's selector decoded
// as S, as ocean.NewKind[S] does for a kind's list function: the decoding
// is said once here rather than in every handler. A selector that does not
// decode fails the event for good (ocean.Permanent): retrying cannot fix
// it.
func withSelector[S any](h func(ctx context.Context, ev *ocean.Event, sel S) (ocean.Changes, error)) func(context.Context, *ocean.Event, ocean.Resource) (ocean.Changes, error) {
	return func(ctx context.Context, ev *ocean.Event, res ocean.Resource) (ocean.Changes, error) {
		sel, err := ocean.DecodeSelector[S](res.Selector)
		if err != nil {
			return ocean.Changes{}, ocean.Permanent(fmt.Errorf("%s[%d]: %w", res.Kind, res.Index, err))
		}
		return h(ctx, ev, sel)
	}
}

// timeField returns a versioning function reading the time at path.
func timeField(path ...string) func(ev *ocean.Event) (time.Time, bool) {
	return func(ev *ocean.Event) (time.Time, bool) {
		return parseTime(strField(ev.Payload, path...))
	}
}

// The handlers (webhook_project.go, webhook_work.go, webhook_ci.go,
// webhook_push.go, webhook_content.go) share what follows. Every processor
// refetches the object it is about, so that live items have the shape the
// resync produces (same endpoints or the same entity, same enrichments),
// and decides from the current state, not the payload: 403/404 deletes the
// entity, and an object the resource's selector no longer selects is
// returned in Delete so that the framework removes it.

// getItem fetches one object; gone reports a 403 or 404 (deleted, or the
// token may not see it: a resync would not list it either).
func (g *Integration) getItem(ctx context.Context, path string, q url.Values) (ocean.Item, bool, error) {
	var it ocean.Item
	if err := g.client.Get(ctx, path, q, &it); err != nil {
		if isInaccessible(err) && ctx.Err() == nil {
			return nil, true, nil
		}
		return nil, false, err
	}
	if len(it) == 0 {
		return nil, true, nil
	}
	return it, false, nil
}

// getProject fetches a project as the /projects listing renders it (the
// single-project answer adds `permissions`, which listings do not have).
func (g *Integration) getProject(ctx context.Context, ref string) (ocean.Item, bool, error) {
	p, gone, err := g.getItem(ctx, "projects/"+ref, nil)
	if p != nil {
		delete(p, "permissions")
	}
	return p, gone, err
}

// projectActive is GitLab's `active` filter: not archived and not pending
// deletion.
func projectActive(p ocean.Item) bool {
	if b, _ := p["archived"].(bool); b {
		return false
	}
	return p["marked_for_deletion_at"] == nil || p["marked_for_deletion_at"] == ""
}

func groupActive(grp ocean.Item) bool {
	if b, _ := grp["archived"].(bool); b {
		return false
	}
	return grp["marked_for_deletion_on"] == nil || grp["marked_for_deletion_on"] == ""
}

func activeOK(want *bool, active bool) bool { return want == nil || *want == active }

func pendingDeletion(it ocean.Item, field string) bool {
	v, ok := it[field]
	return ok && v != nil && v != ""
}

func upsert(it ocean.Item) ocean.Changes { return ocean.Changes{Upsert: []ocean.Item{it}} }

func remove(it ocean.Item) ocean.Changes { return ocean.Changes{Delete: []ocean.Item{it}} }

// validateProjectID requires the numeric project id that push, tag and
// job payloads always carry.
func validateProjectID(kind string) func(ev *ocean.Event) error {
	return func(ev *ocean.Event) error {
		if projectOf(ev.Payload) == "" {
			return requireFields(ev.Payload, kind, [][]string{{"project_id"}}, nil)
		}
		return nil
	}
}

func validateProjectRef(kind string) func(ev *ocean.Event) error {
	return func(ev *ocean.Event) error {
		if projectRefOf(ev.Payload) == "" {
			return requireFields(ev.Payload, kind, [][]string{{"project_id"}}, nil)
		}
		return nil
	}
}

// projectGate applies includeOnlyActiveProjects, fetching the project only
// when the selector sets it. ok is false when the project's items are not
// selected (or the project is gone).
func (g *Integration) projectGate(ctx context.Context, pid string, active *bool) (ok bool, err error) {
	if active == nil {
		return true, nil
	}
	p, gone, err := g.getProject(ctx, pid)
	if err != nil {
		return false, err
	}
	return !gone && activeOK(active, projectActive(p)), nil
}

// eventProject is the payload's project object, carrying the
// path_with_namespace __project is built from.
func eventProject(p map[string]any) ocean.Item {
	if m := object(p, "project"); m != nil {
		return m
	}
	return ocean.Item{}
}
