package ocean

import (
	"context"
	"io/fs"
	"log/slog"

	"github.com/oceankit/oceankit/mapping"
)

// Provider bundles what an integration brings to the framework: its kinds,
// its webhook processors and its defaults. The GitLab provider is one; a Go
// developer writes another in a few dozen lines (see examples/custom-kind).
type Provider struct {
	// Type is the integration type (`gitlab-v2`). It is part of the
	// datasource Port records on every entity, so it must stay the same
	// as the Python integration's for ownership to carry over.
	Type string
	// Version is the integration's version, sent in the User-Agent.
	Version string
	// Kinds are the resource kinds, by name.
	Kinds []Kind
	// Processors handle live events posted to the webhook route.
	Processors []Processor
	// Actions execute self-service action runs (see ActionExecutor), one
	// per integration action type.
	Actions []ActionExecutor
	// Defaults holds the default resources created by
	// initializePortResources, Ocean's layout: `blueprints.json`,
	// `port-app-config.yml` (or .yaml/.json), and optionally
	// `actions.json`, `scorecards.json`, `pages.json`. Nil means none.
	Defaults fs.FS
	// Start, when set, runs once after the framework is initialised and
	// before the listener starts (gitlab uses it to register webhooks).
	// An error is logged and does not stop the integration.
	Start func(ctx context.Context, env StartEnv) error
	// TopLevelKeys lists provider-specific top-level keys of the port app
	// config (gitlab-v2's `visibility`), accepted instead of reported as
	// unknown.
	TopLevelKeys []string
	// Resolvers compute mapping fields written in a provider-specific
	// form instead of jq, by prefix (gitlab-v2's deprecated "file://" and
	// "search://" values); see mapping.WithResolver. They run in resyncs
	// and live events alike.
	Resolvers map[string]mapping.Resolver
}

// StartEnv is what a provider's Start hook gets to know about the running
// integration.
type StartEnv struct {
	// BaseURL is the public URL of this program (OCEAN__BASE_URL), empty
	// when live events are off.
	BaseURL string
	// WebhookURL is BaseURL plus the webhook route, or empty.
	WebhookURL string
	// ListenerType is the event listener type (ONCE, POLLING, …).
	ListenerType string
	// Logger is the integration's logger.
	Logger *slog.Logger
}

func (p *Provider) kind(name string) Kind {
	for _, k := range p.Kinds {
		if k.Name() == name {
			return k
		}
	}
	return nil
}
