package gitlab

import (
	"embed"
	"io/fs"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/actions"
)

// ProviderType is gitlab-v2's integration type. Port records it in every
// entity's datasource, so it must not change.
const ProviderType = "gitlab-v2"

//go:embed defaults
var defaultsFS embed.FS

// Defaults returns the default resources (blueprints.json,
// port-app-config.yml) in Ocean's .port/resources layout.
func Defaults() fs.FS {
	sub, err := fs.Sub(defaultsFS, "defaults")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// Integration is the GitLab provider: its client, its kinds and the
// state they share (the visibility block of the port app config).
type Integration struct {
	client *Client
	cfg    Config
	log    *slog.Logger
	fanout int
	enrich *enricher
	vis    atomic.Pointer[Visibility]
	// trigger is the trigger_pipeline action executor.
	trigger *TriggerPipeline
	// liveEvents is set once webhooks are registered: Pipeline Hooks then
	// complete action runs and polling only backs them up.
	liveEvents atomic.Bool
	// resolve is the deprecated mapping values' state (resolvers.go).
	resolve resolverState
	// projectedPages counts the pages decoded with less than every key
	// (fields.go): tests check that projection happens.
	projectedPages atomic.Int64
}

// New builds the GitLab provider for cfg.
func New(cfg Config, opts ...Option) (*Integration, error) {
	c, err := NewClient(cfg, opts...)
	if err != nil {
		return nil, err
	}
	g := &Integration{client: c, cfg: c.cfg, log: c.log, fanout: c.cfg.MaxConcurrency}
	g.enrich = newEnricher(c, g.fanout)
	v := DefaultVisibility()
	if cfg.Visibility != nil {
		v = *cfg.Visibility
	}
	g.vis.Store(&v)
	g.trigger = newTriggerPipeline(g)
	g.resolve.searches = make(chan struct{}, searchValueInFlight)
	return g, nil
}

// now is the provider's clock: the client's, which tests replace
// (WithClock), so that time windows computed by the resync and by live
// events agree with it.
func (g *Integration) now() time.Time { return g.client.lim.now() }

// Client returns the GitLab client the kinds use.
func (g *Integration) Client() *Client { return g.client }

// SetVisibility sets the port app config's visibility block for the
// listings that follow (the framework calls it when it loads the config).
func (g *Integration) SetVisibility(v Visibility) { g.vis.Store(&v) }

// Visibility returns the visibility block in effect.
func (g *Integration) Visibility() Visibility { return *g.vis.Load() }

// Provider returns the framework's view of the integration.
func (g *Integration) Provider() *ocean.Provider {
	return &ocean.Provider{
		Type:         ProviderType,
		Version:      Version,
		Kinds:        append(g.Kinds(), g.contentKinds()...),
		Processors:   g.processors(),
		Actions:      []actions.Executor{g.trigger},
		Start:        g.start,
		Defaults:     Defaults(),
		TopLevelKeys: []string{"visibility"},
		Resolvers:    g.Resolvers(),
	}
}

// Kind names, as gitlab-v2 spells them.
const (
	KindProject            = "project"
	KindGroup              = "group"
	KindGroupWithMembers   = "group-with-members"
	KindMember             = "member"
	KindProjectWithMembers = "project-with-members"
	KindMergeRequest       = "merge-request"
	KindIssue              = "issue"
	KindPipeline           = "pipeline"
	KindJob                = "job"
	KindDeployment         = "deployment"
	KindRelease            = "release"
	KindTag                = "tag"
	KindBranch             = "branch"
)

// Kinds returns the API-backed kinds.
func (g *Integration) Kinds() []ocean.Kind {
	return []ocean.Kind{
		ocean.Incremental(ocean.NewKind(KindProject, g.listProjects)),
		ocean.NewKind(KindGroup, g.listGroups),
		ocean.NewKind(KindGroupWithMembers, g.listGroupsWithMembers),
		ocean.NewKind(KindMember, g.listMembers),
		ocean.NewKind(KindProjectWithMembers, g.listProjectsWithMembers),
		ocean.Incremental(ocean.NewKind(KindMergeRequest, g.listMergeRequests)),
		ocean.Incremental(ocean.NewKind(KindIssue, g.listIssues)),
		ocean.Incremental(ocean.NewKind(KindPipeline, g.listPipelines)),
		ocean.NewKind(KindJob, g.listJobs),
		ocean.NewKind(KindDeployment, g.listDeployments),
		ocean.NewKind(KindRelease, g.listReleases),
		ocean.NewKind(KindTag, g.listTags),
		ocean.NewKind(KindBranch, g.listBranches),
	}
}
