package ocean

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
)

// changelogDestination is where Port sends this integration's resync
// triggers, set from the listener as Ocean sets it: Port only sends a
// trigger to a destination it knows.
func (a *App) changelogDestination() map[string]any {
	switch a.cfg.EventListener.Type {
	case settings.ListenerKafka:
		return map[string]any{"type": "KAFKA"}
	case settings.ListenerWebhook:
		if host := strings.TrimRight(a.cfg.EventListener.AppHost, "/"); host != "" {
			return map[string]any{"type": "WEBHOOK", "url": host + "/resync"}
		}
	}
	return map[string]any{}
}

// actionsProcessing reports whether this program runs self-service actions.
func (a *App) actionsProcessing() bool {
	typ := a.cfg.EventListener.Type
	return typ == settings.ListenerActionsOnly ||
		(a.cfg.ActionsProcessor.Enabled && typ != settings.ListenerWebhooksOnly && typ != settings.ListenerOnce)
}

// register makes the integration known to Port as Ocean does on start:
// it creates the integration when it is missing (with the default mapping
// when initializePortResources is on and the origin is Default, an empty
// one for Empty, none for Port, which provisions it), and otherwise patches
// the fields that describe this installation when they differ: its
// changelog destination, type, version, and whether it processes actions
// and incremental resyncs. It returns the integration as Port now holds it.
func (a *App) register(ctx context.Context, defs *Defaults, origin string) (*port.Integration, error) {
	id := a.cfg.Integration.Identifier
	cl := a.changelogDestination()
	if a.cfg.EventListener.Type == settings.ListenerWebhook && len(cl) == 0 {
		a.log.Warn("WEBHOOK listener without OCEAN__EVENT_LISTENER__APP_HOST: Port does not know where to send resync triggers")
	}
	integ, err := a.port.GetIntegration(ctx, id)
	if port.IsNotFound(err) {
		req := port.CreateIntegrationRequest{
			InstallationID:           id,
			InstallationAppType:      a.cfg.Integration.Type,
			Version:                  a.provider.Version,
			ChangelogDestination:     cl,
			ActionsProcessingEnabled: a.actionsProcessing(),
			IncrementalSyncEnabled:   a.cfg.Integration.IncrementalSyncEnabled,
		}
		switch {
		case origin == settings.OriginEmpty:
			req.Config = json.RawMessage(`{"resources":[]}`)
			req.CreatePortResourcesOrigin = settings.OriginEmpty
		case origin == settings.OriginPort:
			req.CreatePortResourcesOrigin = settings.OriginPort
		case a.cfg.InitializePortResources && defs != nil:
			req.Config = defs.PortAppConfig
			req.CreatePortResourcesOrigin = settings.OriginDefault
		}
		created, err := a.port.CreateIntegration(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("ocean: create integration %q: %w", id, err)
		}
		a.log.Info("created the integration in Port", "identifier", id)
		return created, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ocean: get integration %q: %w", id, err)
	}
	patch := map[string]any{}
	if !sameJSON(integ.ChangelogDestination, cl) {
		patch["changelogDestination"] = cl
	}
	if integ.InstallationAppType != a.cfg.Integration.Type {
		patch["installationAppType"] = a.cfg.Integration.Type
	}
	if integ.Version != a.provider.Version {
		patch["version"] = a.provider.Version
	}
	if want := a.actionsProcessing(); integ.ActionsProcessingEnabled != want {
		patch["actionsProcessingEnabled"] = want
	}
	if want := a.cfg.Integration.IncrementalSyncEnabled; integ.IncrementalSyncEnabled != want {
		patch["incrementalSyncEnabled"] = want
	}
	if len(patch) == 0 {
		return integ, nil
	}
	patch["version"] = a.provider.Version // Ocean always sends it with the patch
	updated, err := a.port.PatchIntegration(ctx, id, patch)
	if err != nil {
		return nil, fmt.Errorf("ocean: update integration %q: %w", id, err)
	}
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	a.log.Info("updated the integration in Port", "identifier", id, "fields", keys)
	return updated, nil
}

// sameJSON compares two JSON objects, a missing one being empty.
func sameJSON(a, b map[string]any) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// start registers the integration and, with initializePortResources,
// creates its default resources, as Ocean does before it listens.
func (a *App) start(ctx context.Context) error {
	return a.initialize(ctx, a.cfg.InitializePortResources)
}

// initialize registers the integration and, when resources is true, has
// the default resources created as OCEAN__CREATE_PORT_RESOURCES_ORIGIN
// says: this program's defaults (Default), none (Empty), or Port's own
// (Port).
func (a *App) initialize(ctx context.Context, resources bool) error {
	if !resources {
		_, err := a.register(ctx, nil, "")
		return err
	}
	origin := a.resourcesOrigin(ctx)
	var defs *Defaults
	if origin == settings.OriginDefault {
		d, err := LoadDefaults(a.defaultsFS())
		if err != nil {
			return err
		}
		defs = d
	}
	integ, err := a.register(ctx, defs, origin)
	if err != nil {
		return err
	}
	switch origin {
	case settings.OriginEmpty:
		return a.initializeEmpty(ctx, integ)
	case settings.OriginPort:
		return a.awaitProvisioned(ctx, integ)
	}
	return a.initializeResources(ctx, integ, defs)
}

// USE_PROVISIONED_DEFAULTS is the organisation flag without which Port
// does not provision an integration's defaults.
const flagUseProvisionedDefaults = "USE_PROVISIONED_DEFAULTS"

// resourcesOrigin settles OCEAN__CREATE_PORT_RESOURCES_ORIGIN: Empty stays
// Empty; Port stays Port only when Port can provision this type and the
// organisation has USE_PROVISIONED_DEFAULTS (as Ocean decides), else it
// falls back to Default with a warning; unset and Ocean are Default.
func (a *App) resourcesOrigin(ctx context.Context) string {
	switch a.cfg.CreatePortResourcesOrigin {
	case settings.OriginEmpty:
		a.log.Info("creating no default resources: OCEAN__CREATE_PORT_RESOURCES_ORIGIN is Empty (the integration gets an empty mapping)")
		return settings.OriginEmpty
	case settings.OriginPort:
	default:
		return settings.OriginDefault
	}
	typ := a.cfg.Integration.Type
	types, err := a.port.ProvisionEnabled(ctx)
	if err != nil {
		a.log.Warn("could not ask Port whether it provisions defaults; creating this program's defaults", "error", err)
		return settings.OriginDefault
	}
	if !slices.Contains(types, typ) {
		a.log.Warn("Port does not provision defaults for this integration type; creating this program's defaults (as Ocean falls back)", "type", typ)
		return settings.OriginDefault
	}
	org, err := a.port.GetOrganization(ctx)
	if err != nil {
		a.log.Warn("could not read the organisation's feature flags; creating this program's defaults", "error", err)
		return settings.OriginDefault
	}
	if !slices.Contains(org.FeatureFlags, flagUseProvisionedDefaults) {
		a.log.Warn("the organisation does not have the feature flag "+flagUseProvisionedDefaults+"; creating this program's defaults (as Ocean falls back)", "type", typ)
		return settings.OriginDefault
	}
	a.log.Info("Port provisions the default resources (OCEAN__CREATE_PORT_RESOURCES_ORIGIN=Port)", "type", typ)
	return settings.OriginPort
}

// initializeEmpty is Ocean's Empty origin: no blueprints, actions,
// scorecards or pages, and an empty mapping when the integration has
// none; the integration is then marked initialised. A mapping the
// integration already has is kept.
func (a *App) initializeEmpty(ctx context.Context, integ *port.Integration) error {
	if integ.ArePortResourcesInitialized {
		return nil
	}
	patch := map[string]any{"arePortResourcesInitialized": true}
	if len(integ.Config) == 0 || string(integ.Config) == "null" || string(integ.Config) == "{}" {
		patch["config"] = json.RawMessage(`{"resources":[]}`)
	}
	if _, err := a.port.PatchIntegration(ctx, a.cfg.Integration.Identifier, patch); err != nil {
		return fmt.Errorf("ocean: mark the resources of %q initialised: %w", a.cfg.Integration.Identifier, err)
	}
	return nil
}

// Waiting for Port to provision defaults, as Ocean polls: 3 s, growing
// by 1.55 each time (capped here at 30 s), at most provisionTries reads.
const (
	provisionFirstWait = 3 * time.Second
	provisionMaxWait   = 30 * time.Second
	provisionTries     = 12
)

// awaitProvisioned waits until Port has provisioned the integration's
// defaults (its mapping is no longer empty), as Ocean's Port origin does.
func (a *App) awaitProvisioned(ctx context.Context, integ *port.Integration) error {
	id := a.cfg.Integration.Identifier
	wait := provisionFirstWait
	for try := 1; ; try++ {
		if integ.ArePortResourcesInitialized || !emptyConfig(integ.Config) {
			a.log.Info("Port provisioned the default resources", "identifier", id)
			return nil
		}
		if try >= provisionTries {
			return fmt.Errorf("ocean: Port did not provision the default resources of %q after %d checks (OCEAN__CREATE_PORT_RESOURCES_ORIGIN=Port)", id, try)
		}
		if err := a.clock.Sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(time.Duration(float64(wait)*1.55), provisionMaxWait)
		next, err := a.port.GetIntegration(ctx, id)
		if err != nil {
			return fmt.Errorf("ocean: get integration %q: %w", id, err)
		}
		integ = next
	}
}
