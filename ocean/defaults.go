package ocean

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/oceankit/oceankit/port"
)

// Defaults are a provider's default resources, read from its Defaults
// filesystem (or OCEAN__RESOURCES_PATH when that folder exists), in Ocean's
// layout.
type Defaults struct {
	Blueprints    []port.Blueprint
	PortAppConfig json.RawMessage
	Actions       []map[string]any
	Scorecards    []ScorecardSet
	Pages         []map[string]any
}

// ScorecardSet is one entry of scorecards.json: a blueprint's scorecards.
type ScorecardSet struct {
	Blueprint string           `json:"blueprint"`
	Data      []map[string]any `json:"data"`
}

// LoadDefaults reads default resources from fsys: blueprints, actions,
// scorecards and pages as .json/.yaml/.yml, and port-app-config. Missing
// files are fine; a file that does not parse is an error naming it.
func LoadDefaults(fsys fs.FS) (*Defaults, error) {
	d := &Defaults{}
	if fsys == nil {
		return d, nil
	}
	var errs []error
	read := func(stem string, dst any) (bool, error) {
		for _, ext := range []string{".json", ".yaml", ".yml"} {
			b, err := fs.ReadFile(fsys, stem+ext)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return false, fmt.Errorf("defaults %s%s: %w", stem, ext, err)
			}
			var v any
			if err := yaml.Unmarshal(b, &v); err != nil {
				return false, fmt.Errorf("defaults %s%s: %w", stem, ext, err)
			}
			j, err := json.Marshal(v)
			if err != nil {
				return false, fmt.Errorf("defaults %s%s: %w", stem, ext, err)
			}
			if raw, ok := dst.(*json.RawMessage); ok {
				*raw = j
				return true, nil
			}
			if err := json.Unmarshal(j, dst); err != nil {
				return false, fmt.Errorf("defaults %s%s: %w", stem, ext, err)
			}
			return true, nil
		}
		return false, nil
	}
	for _, f := range []struct {
		stem string
		dst  any
	}{
		{"blueprints", &d.Blueprints},
		{"port-app-config", &d.PortAppConfig},
		{"actions", &d.Actions},
		{"scorecards", &d.Scorecards},
		{"pages", &d.Pages},
	} {
		if _, err := read(f.stem, f.dst); err != nil {
			errs = append(errs, err)
		}
	}
	return d, errors.Join(errs...)
}

func (a *App) defaultsFS() fs.FS {
	if p := a.cfg.ResourcesPath; p != "" {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return os.DirFS(p)
		}
	}
	return a.provider.Defaults
}

// InitializePortResources registers the integration with Port and, unless
// Port says it was done before (arePortResourcesInitialized), creates the
// Provider's defaults it does not have yet: mapping, blueprints (in Ocean's
// three steps, so that blueprints relating in a cycle can be created),
// actions, scorecards, pages. Nothing that exists is changed.
// OCEAN__CREATE_PORT_RESOURCES_ORIGIN=Empty creates only an empty mapping;
// Port waits for Port to provision them.
func (a *App) InitializePortResources(ctx context.Context) error {
	if a.port == nil {
		return errors.New("ocean: initializePortResources needs a Port client")
	}
	return a.initialize(ctx, true)
}

func (a *App) initializeResources(ctx context.Context, integ *port.Integration, defs *Defaults) error {
	id := a.cfg.Integration.Identifier
	if integ.ArePortResourcesInitialized {
		a.log.Debug("Port resources were initialised before (arePortResourcesInitialized); not creating them again")
		return nil
	}
	if emptyConfig(integ.Config) && len(defs.PortAppConfig) > 0 {
		if _, err := a.port.PatchIntegration(ctx, id, map[string]any{"config": defs.PortAppConfig}); err != nil {
			return fmt.Errorf("ocean: set the default mapping on %q: %w", id, err)
		}
		a.log.Info("set the default port app config", "identifier", id)
	}
	if err := a.createBlueprints(ctx, defs.Blueprints); err != nil {
		return err
	}
	a.createOthers(ctx, defs)
	if _, err := a.port.PatchIntegration(ctx, id, map[string]any{"arePortResourcesInitialized": true}); err != nil {
		return fmt.Errorf("ocean: mark the resources of %q initialised: %w", id, err)
	}
	return nil
}

func emptyConfig(raw json.RawMessage) bool {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		return true
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	res, ok := m["resources"].([]any)
	return !ok || len(res) == 0
}

func (a *App) createBlueprints(ctx context.Context, bps []port.Blueprint) error {
	var missing []port.Blueprint
	for _, bp := range bps {
		_, err := a.port.GetBlueprint(ctx, bp.Identifier)
		if err == nil {
			continue
		}
		if !port.IsNotFound(err) {
			return fmt.Errorf("ocean: get blueprint %q: %w", bp.Identifier, err)
		}
		missing = append(missing, bp)
	}
	if len(missing) == 0 {
		return nil
	}
	var created []string
	for _, bp := range missing {
		if _, err := a.port.CreateBlueprint(ctx, bareBlueprint(bp)); err != nil {
			for _, c := range created {
				if derr := a.port.DeleteBlueprint(context.WithoutCancel(ctx), c); derr != nil {
					a.log.Warn("could not roll back blueprint", "blueprint", c, "error", derr)
				}
			}
			return fmt.Errorf("ocean: create blueprint %q: %w", bp.Identifier, err)
		}
		created = append(created, bp.Identifier)
	}
	for _, bp := range missing {
		if len(bp.Relations) == 0 {
			continue
		}
		if _, err := a.port.PatchBlueprint(ctx, bp.Identifier, map[string]any{"relations": bp.Relations}); err != nil {
			return fmt.Errorf("ocean: add relations to blueprint %q: %w", bp.Identifier, err)
		}
	}
	for _, bp := range missing {
		full, err := blueprintPatch(bp)
		if err != nil {
			return err
		}
		if _, err := a.port.PatchBlueprint(ctx, bp.Identifier, full); err != nil {
			return fmt.Errorf("ocean: complete blueprint %q: %w", bp.Identifier, err)
		}
	}
	a.log.Info("created default blueprints", "blueprints", created)
	return nil
}

// bareBlueprint strips what may refer to other blueprints.
func bareBlueprint(bp port.Blueprint) port.Blueprint {
	b, _ := json.Marshal(bp)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"relations", "mirrorProperties", "calculationProperties", "aggregationProperties", "ownership", "teamInheritance"} {
		delete(m, k)
	}
	var out port.Blueprint
	b, _ = json.Marshal(m)
	_ = json.Unmarshal(b, &out)
	return out
}

func blueprintPatch(bp port.Blueprint) (map[string]any, error) {
	b, err := json.Marshal(bp)
	if err != nil {
		return nil, fmt.Errorf("ocean: encode blueprint %q: %w", bp.Identifier, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("ocean: encode blueprint %q: %w", bp.Identifier, err)
	}
	delete(m, "identifier")
	return m, nil
}

// createOthers creates actions, scorecards and pages that do not exist.
// Failures are logged, as in Ocean: they are conveniences, not the sync.
func (a *App) createOthers(ctx context.Context, d *Defaults) {
	for _, act := range d.Actions {
		id, _ := act["identifier"].(string)
		if id == "" {
			continue
		}
		if err := a.createIfMissing(ctx, "/actions/"+pathEscape(id), "/actions", act); err != nil {
			a.log.Warn("could not create default action", "action", id, "error", err)
		}
	}
	for _, set := range d.Scorecards {
		for _, sc := range set.Data {
			id, _ := sc["identifier"].(string)
			if id == "" {
				continue
			}
			base := "/blueprints/" + pathEscape(set.Blueprint) + "/scorecards"
			if err := a.createIfMissing(ctx, base+"/"+pathEscape(id), base, sc); err != nil {
				a.log.Warn("could not create default scorecard", "scorecard", id, "error", err)
			}
		}
	}
	for _, pg := range d.Pages {
		id, _ := pg["identifier"].(string)
		if id == "" {
			continue
		}
		if err := a.createIfMissing(ctx, "/pages/"+pathEscape(id), "/pages", pg); err != nil {
			a.log.Warn("could not create default page", "page", id, "error", err)
		}
	}
}

func (a *App) createIfMissing(ctx context.Context, getPath, postPath string, body map[string]any) error {
	err := a.port.Do(ctx, port.Request{Method: "GET", Path: getPath}, nil)
	if err == nil {
		return nil
	}
	if !port.IsNotFound(err) {
		return err
	}
	return a.port.Do(ctx, port.Request{Method: "POST", Path: postPath, Body: body}, nil)
}

func pathEscape(s string) string { return url.PathEscape(s) }
