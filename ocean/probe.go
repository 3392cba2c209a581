package ocean

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/oceankit/oceankit/port"
)

// ProbeCheck is the outcome of one check of a connection probe.
type ProbeCheck struct {
	// Name says what was checked ("port credentials", "kind project").
	Name string `json:"name"`
	// OK is true when the check passed.
	OK bool `json:"ok"`
	// Detail explains the outcome (an error's text, or what was found).
	Detail string `json:"detail,omitempty"`
}

// ProbeStep is a provider's own check (credentials, token scopes): it
// returns what it found, or an error when the check failed.
type ProbeStep struct {
	Name string
	Run  func(ctx context.Context) (detail string, err error)
}

// ProbeOptions says what Probe checks beside Port.
type ProbeOptions struct {
	// Kinds limits the kinds whose first page is read; empty means every
	// kind of the mapping.
	Kinds []string
	// Steps are the provider's checks, run after Port's and before the
	// kinds; a failed step skips the kinds (they would fail the same way).
	Steps []ProbeStep
}

// ProbeReport is what a probe found.
type ProbeReport struct {
	Checks []ProbeCheck `json:"checks"`
}

// OK reports whether every check passed.
func (r *ProbeReport) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return len(r.Checks) > 0
}

func (r *ProbeReport) add(name string, err error, detail string) bool {
	c := ProbeCheck{Name: name, OK: err == nil, Detail: detail}
	if err != nil {
		c.Detail = err.Error()
	}
	r.Checks = append(r.Checks, c)
	return err == nil
}

// errFirstPage stops a kind's fetch after its first page.
var errFirstPage = errors.New("ocean: probe: first page read")

// Probe checks, without changing anything, Port's credentials, the
// integration and its mapping, the provider's own steps and the first page
// of each selected kind: what Port's chart runs as `ocean probe`.
func (a *App) Probe(ctx context.Context, opts ProbeOptions) *ProbeReport {
	rep := &ProbeReport{}
	id := a.cfg.Integration.Identifier
	if a.port == nil {
		rep.add("port credentials", errors.New("OCEAN__PORT__CLIENT_ID and OCEAN__PORT__CLIENT_SECRET are not set"), "")
		return rep
	}
	if _, err := a.port.GetOrganization(ctx); !rep.add("port credentials", err, "accepted") {
		return rep
	}
	var selectors map[string]json.RawMessage
	var mappingKinds []string
	integ, err := a.port.GetIntegration(ctx, id)
	switch {
	case port.IsNotFound(err):
		integ = nil
		rep.add("integration", fmt.Errorf("integration %q not found in Port (it is created when the integration first starts)", id), "")
	case err != nil:
		integ = nil
		rep.add("integration", err, "")
	default:
		rep.add("integration", nil, fmt.Sprintf("%q (%s)", integ.Identifier, integ.InstallationAppType))
	}
	pac, err := a.portAppConfig(ctx, true)
	switch {
	case err == nil:
		selectors = map[string]json.RawMessage{}
		for _, r := range pac.Resources {
			if _, ok := selectors[r.Kind]; !ok {
				selectors[r.Kind] = r.Selector.Raw
				mappingKinds = append(mappingKinds, r.Kind)
			}
		}
		rep.add("mapping", nil, fmt.Sprintf("%d resources", len(pac.Resources)))
	case integ == nil && a.staticConfig == nil:
		// No integration, so no mapping: reported above.
	default:
		rep.add("mapping", err, "")
	}
	for _, s := range opts.Steps {
		detail, err := s.Run(ctx)
		if !rep.add(s.Name, err, detail) {
			return rep
		}
	}
	kinds := opts.Kinds
	if len(kinds) == 0 {
		kinds = mappingKinds
	}
	if len(kinds) == 0 {
		rep.add("kinds", errors.New("no kind to read: the mapping names none; pass --kinds"), "")
		return rep
	}
	for _, name := range kinds {
		detail, err := a.probeKind(ctx, name, selectors[name])
		rep.add("kind "+name, err, detail)
	}
	return rep
}

// probeKind reads the first page of one kind.
func (a *App) probeKind(ctx context.Context, name string, selector json.RawMessage) (string, error) {
	k := a.provider.kind(name)
	if k == nil {
		var known []string
		for _, k := range a.provider.Kinds {
			known = append(known, k.Name())
		}
		slices.Sort(known)
		return "", fmt.Errorf("unknown kind (this integration has %v)", known)
	}
	if len(selector) == 0 {
		selector = json.RawMessage(`{}`)
	}
	n := 0
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := k.Fetch(ctx, selector, SenderFunc(func(_ context.Context, items []Item) error {
		n = len(items)
		return errFirstPage
	}))
	if err != nil && !errors.Is(err, errFirstPage) {
		return "", err
	}
	return fmt.Sprintf("first page: %d items", n), nil
}
