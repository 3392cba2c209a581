package ocean

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/oceankit/oceankit/port"
)

// changelogDestination is where Port sends this integration's resync
// triggers, set from the listener as Ocean sets it: Port only sends a
// trigger to a destination it knows.
func (a *App) changelogDestination() map[string]any {
	switch a.cfg.EventListener.Type {
	case ListenerKafka:
		return map[string]any{"type": "KAFKA"}
	case ListenerWebhook:
		if host := strings.TrimRight(a.cfg.EventListener.AppHost, "/"); host != "" {
			return map[string]any{"type": "WEBHOOK", "url": host + "/resync"}
		}
	}
	return map[string]any{}
}

// actionsProcessing reports whether this program runs self-service actions.
func (a *App) actionsProcessing() bool {
	typ := a.cfg.EventListener.Type
	return typ == ListenerActionsOnly ||
		(a.cfg.ActionsProcessor.Enabled && typ != ListenerWebhooksOnly && typ != ListenerOnce)
}

// register makes the integration known to Port as Ocean does on start:
// it creates the integration when it is missing (with the default mapping
// when initializePortResources is on), and otherwise patches the fields
// that describe this installation when they differ: its changelog
// destination, type, version, and whether it processes actions and
// incremental resyncs. It returns the integration as Port now holds it.
func (a *App) register(ctx context.Context, defs *Defaults) (*port.Integration, error) {
	id := a.cfg.Integration.Identifier
	cl := a.changelogDestination()
	if a.cfg.EventListener.Type == ListenerWebhook && len(cl) == 0 {
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
		if a.cfg.InitializePortResources && defs != nil {
			req.Config = defs.PortAppConfig
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
	var defs *Defaults
	if a.cfg.InitializePortResources {
		d, err := LoadDefaults(a.defaultsFS())
		if err != nil {
			return err
		}
		defs = d
	}
	integ, err := a.register(ctx, defs)
	if err != nil {
		return err
	}
	if defs == nil {
		return nil
	}
	return a.initializeResources(ctx, integ, defs)
}
