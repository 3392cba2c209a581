package ocean

import (
	"context"
	"io/fs"
	"log/slog"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean/actions"
)

// Provider bundles what an integration brings to the framework: its kinds,
// webhook processors, actions and defaults.
type Provider struct {
	// Type is the integration type (`gitlab-v2`), part of the datasource
	// Port records on every entity.
	Type string
	// Version is the integration's version, sent in the User-Agent.
	Version string
	// Kinds are the resource kinds, by name.
	Kinds []Kind
	// Processors handle live events posted to the webhook route.
	Processors []Processor
	// Actions execute self-service action runs (see actions.Executor), one
	// per integration action type.
	Actions []actions.Executor
	// Defaults holds the resources initializePortResources creates, in
	// Ocean's layout (`blueprints.json`, `port-app-config.yml`, …).
	Defaults fs.FS
	// Start runs once before the listener starts (gitlab registers its
	// webhooks); an error is logged, not fatal.
	Start func(ctx context.Context, env StartEnv) error
	// TopLevelKeys are the provider's own top-level keys of the port app
	// config (gitlab-v2's `visibility`).
	TopLevelKeys []string
	// Resolvers compute mapping values written in a provider's own form
	// instead of jq, by prefix ("file://"); see mapping.WithResolver.
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
