package main

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/oceankit/oceankit/ocean"
)

// defaultsFS holds the default blueprints and mappings this example adds:
// defaults/environment for the GitLab kind, defaults/statuspage for the
// Statuspage provider, in Ocean's .port/resources layout.
//
//go:embed defaults
var defaultsFS embed.FS

// statuspageConfig is the provider's own settings, decoded by
// ocean.DecodeIntegrationConfig from OCEAN__INTEGRATION__CONFIG__….
type statuspageConfig struct {
	// URL is the status page's root, such as https://www.githubstatus.com
	// (OCEAN__INTEGRATION__CONFIG__STATUSPAGE_URL).
	URL string `ocean:"statuspageUrl,required"`
}

// componentStatuses are the states Statuspage gives a component.
var componentStatuses = []string{"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}

// componentSelector is the selector of the `component` kind.
type componentSelector struct {
	ocean.BaseSelector
	// Statuses keeps components in these states; empty keeps all.
	Statuses []string `json:"statuses"`
	// IncludeGroups also syncs group components (the headings that hold
	// other components).
	IncludeGroups bool `json:"includeGroups"`
}

// Default exists because a bool that defaults to true cannot be a zero
// value: groups are synced unless a resource says otherwise.
func (s *componentSelector) Default() { s.IncludeGroups = true }

// Validate reports an unknown status at start-up rather than letting the
// resource match nothing.
func (s *componentSelector) Validate() error {
	for _, st := range s.Statuses {
		if !slices.Contains(componentStatuses, st) {
			return fmt.Errorf("statuses: unknown status %q (want one of %s)", st, strings.Join(componentStatuses, ", "))
		}
	}
	return nil
}

// keeps reports whether the selector selects component c. Statuspage's
// API has no filters, so the kind applies them itself.
func (s *componentSelector) keeps(c ocean.Item) bool {
	if isGroup, _ := c["group"].(bool); isGroup && !s.IncludeGroups {
		return false
	}
	status, _ := c["status"].(string)
	return len(s.Statuses) == 0 || slices.Contains(s.Statuses, status)
}

// newStatuspageProvider is a whole provider: a type (part of the
// datasource Port uses to know which entities this integration owns), its
// kinds and its defaults.
func newStatuspageProvider(cfg statuspageConfig, hc *http.Client) (*ocean.Provider, error) {
	defaults, err := fs.Sub(defaultsFS, "defaults/statuspage")
	if err != nil {
		return nil, err
	}
	sp := &statuspage{base: strings.TrimRight(cfg.URL, "/"), http: hc}
	return &ocean.Provider{
		Type:     "statuspage",
		Version:  "0.1.0",
		Kinds:    []ocean.Kind{ocean.NewKind("component", sp.listComponents)},
		Defaults: defaults,
	}, nil
}

// statuspage reads a Statuspage page's public API (no token needed).
type statuspage struct {
	base string
	http *http.Client
}

// listComponents is the `component` kind. The API returns every component
// in one answer, so there is a single page to send.
func (sp *statuspage) listComponents(ctx context.Context, sel componentSelector, send ocean.Sender) error {
	var body struct {
		Page       map[string]any `json:"page"`
		Components []ocean.Item   `json:"components"`
	}
	if err := sp.get(ctx, "/api/v2/components.json", &body); err != nil {
		return err
	}
	page := make([]ocean.Item, 0, len(body.Components))
	for _, c := range body.Components {
		if !sel.keeps(c) {
			continue
		}
		// The page the component belongs to, under the `__` naming the
		// GitLab provider uses for what it adds to an API object. A copy
		// each: the framework owns the items once they are sent.
		c["__page"] = maps.Clone(body.Page)
		page = append(page, c)
	}
	return send.Send(ctx, page)
}

func (sp *statuspage) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sp.base+path, nil)
	if err != nil {
		return fmt.Errorf("statuspage: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := sp.http.Do(req)
	if err != nil {
		return fmt.Errorf("statuspage: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("statuspage: GET %s: %s", path, resp.Status)
	}
	// A status page is small; the cap only guards against a wrong URL.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return fmt.Errorf("statuspage: GET %s: %w", path, err)
	}
	return nil
}
