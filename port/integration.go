package port

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Integration is Port's integration object. Fields the struct does not name are kept in
// Extra.
type Integration struct {
	Identifier          string `json:"identifier,omitempty"`
	InstallationID      string `json:"installationId,omitempty"`
	InstallationAppType string `json:"installationAppType,omitempty"`
	IntegrationType     string `json:"integrationType,omitempty"`
	InstallationType    string `json:"installationType,omitempty"`
	Version             string `json:"version,omitempty"`
	Title               string `json:"title,omitempty"`
	// Config is the port app config; it may be null, absent or {} (see HasConfig).
	Config                      json.RawMessage `json:"config,omitempty"`
	ChangelogDestination        map[string]any  `json:"changelogDestination,omitempty"`
	ResyncState                 *ResyncState    `json:"resyncState,omitempty"`
	CreatePortResourcesOrigin   string          `json:"createPortResourcesOrigin,omitempty"`
	ArePortResourcesInitialized bool            `json:"arePortResourcesInitialized,omitempty"`
	ActionsProcessingEnabled    bool            `json:"actionsProcessingEnabled,omitempty"`
	IncrementalSyncEnabled      bool            `json:"incrementalSyncEnabled,omitempty"`
	ProcessingMode              string          `json:"processingMode,omitempty"`
	CreatedAt                   time.Time       `json:"createdAt,omitzero"`
	UpdatedAt                   time.Time       `json:"updatedAt,omitzero"`

	// Extra holds every other field (logAttributes, metricAttributes, spec, ...) verbatim.
	Extra map[string]json.RawMessage `json:"-"`
}

var integrationKeys = []string{"identifier", "installationId", "installationAppType", "integrationType",
	"installationType", "version", "title", "config", "changelogDestination", "resyncState",
	"createPortResourcesOrigin", "arePortResourcesInitialized", "actionsProcessingEnabled",
	"incrementalSyncEnabled", "processingMode", "createdAt", "updatedAt"}

type plainIntegration Integration

// MarshalJSON writes the named fields and Extra.
func (i Integration) MarshalJSON() ([]byte, error) {
	return marshalWithExtra(plainIntegration(i), i.Extra)
}

// UnmarshalJSON reads the named fields and keeps the others in Extra.
func (i *Integration) UnmarshalJSON(data []byte) error {
	var p plainIntegration
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	extra, err := extraFields(data, integrationKeys)
	if err != nil {
		return err
	}
	p.Extra = extra
	*i = Integration(p)
	return nil
}

// HasConfig reports whether the integration has a non-empty port app config.
func (i *Integration) HasConfig() bool {
	c := bytes.TrimSpace(i.Config)
	return len(c) > 0 && !bytes.Equal(c, []byte("null")) && !bytes.Equal(c, []byte("{}"))
}

// ResyncState is the resync status Port shows for an integration.
type ResyncState struct {
	Status            string     `json:"status"` // running, completed, failed or aborted
	LastResyncStart   *time.Time `json:"lastResyncStart,omitempty"`
	LastResyncEnd     *time.Time `json:"lastResyncEnd"`
	NextResync        *time.Time `json:"nextResync"`
	IntervalInMinutes *int       `json:"intervalInMinuets"` // Port's spelling
	UpdatedAt         *time.Time `json:"updatedAt,omitempty"`
}

// ResyncRequest is a resync requested from Port's UI or API.
type ResyncRequest struct {
	ID        string    `json:"id"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// CreateIntegrationRequest is the body of CreateIntegration.
type CreateIntegrationRequest struct {
	InstallationID           string          `json:"installationId"`
	InstallationAppType      string          `json:"installationAppType"`
	Version                  string          `json:"version"`
	Config                   json.RawMessage `json:"config,omitempty"`
	ChangelogDestination     map[string]any  `json:"changelogDestination,omitempty"`
	ActionsProcessingEnabled bool            `json:"actionsProcessingEnabled"`
	IncrementalSyncEnabled   bool            `json:"incrementalSyncEnabled"`
	// CreatePortResourcesOrigin is Empty, Default or Port; Port also asks Port to
	// provision the default resources (integration_modes=create_resources).
	CreatePortResourcesOrigin string `json:"createPortResourcesOrigin,omitempty"`
}

func integrationPath(id string) string { return "/integration/" + url.PathEscape(id) }

type integrationEnvelope struct {
	Integration *Integration `json:"integration"`
}

func (e integrationEnvelope) get(op string) (*Integration, error) {
	if e.Integration == nil {
		return nil, fmt.Errorf("port: %s: answer has no integration", op)
	}
	return e.Integration, nil
}

// GetIntegration returns the integration with its port app config; a missing one is an
// *Error with IsNotFound.
func (c *Client) GetIntegration(ctx context.Context, id string) (*Integration, error) {
	var env integrationEnvelope
	if err := c.get(ctx, integrationPath(id), nil, &env); err != nil {
		return nil, err
	}
	return env.get("get integration")
}

// CreateIntegration registers the integration with Port.
func (c *Client) CreateIntegration(ctx context.Context, req CreateIntegrationRequest) (*Integration, error) {
	var q url.Values
	if req.CreatePortResourcesOrigin == "Port" {
		q = url.Values{"integration_modes": {"create_resources"}}
	}
	var env integrationEnvelope
	if err := c.write(ctx, http.MethodPost, "/integration", q, req, &env, false); err != nil {
		return nil, err
	}
	return env.get("create integration")
}

// PatchIntegration changes the given fields of the integration.
func (c *Client) PatchIntegration(ctx context.Context, id string, patch map[string]any) (*Integration, error) {
	var env integrationEnvelope
	if err := c.write(ctx, http.MethodPatch, integrationPath(id), nil, patch, &env, false); err != nil {
		return nil, err
	}
	return env.get("patch integration")
}

// PatchIntegrationConfig replaces the port app config. skipResync sends x-skip-resync so
// Port does not trigger a resync for the change.
func (c *Client) PatchIntegrationConfig(ctx context.Context, id string, config json.RawMessage, skipResync bool) (*Integration, error) {
	body, err := encodeBody(struct {
		Config json.RawMessage `json:"config"`
	}{config})
	if err != nil {
		return nil, err
	}
	cl := &call{method: http.MethodPatch, path: integrationPath(id) + "/config", body: body}
	if skipResync {
		cl.header = http.Header{"X-Skip-Resync": {"true"}}
	}
	resp, err := c.send(ctx, cl)
	if err != nil {
		return nil, err
	}
	var env integrationEnvelope
	if err := resp.decode(&env); err != nil {
		return nil, err
	}
	return env.get("patch integration config")
}

// DeleteIntegration deletes the integration.
func (c *Client) DeleteIntegration(ctx context.Context, id string) error {
	return c.write(ctx, http.MethodDelete, integrationPath(id), nil, nil, nil, true)
}

// PatchResyncState reports the resync state. It sets absolute values, so it is retried
// like an idempotent call.
func (c *Client) PatchResyncState(ctx context.Context, id string, s ResyncState) (*Integration, error) {
	s.UpdatedAt = nil
	var env integrationEnvelope
	if err := c.write(ctx, http.MethodPatch, integrationPath(id)+"/resync-state", nil, s, &env, true); err != nil {
		return nil, err
	}
	return env.get("patch resync state")
}

// GetResyncRequest returns the latest resync request, or nil when there is none.
func (c *Client) GetResyncRequest(ctx context.Context, id string) (*ResyncRequest, error) {
	var env struct {
		Request *ResyncRequest `json:"request"`
	}
	if err := c.get(ctx, integrationPath(id)+"/resync-request", nil, &env); err != nil {
		return nil, err
	}
	return env.Request, nil
}

// PostKindExamples sends raw examples of a kind (Ocean sends at most 5), which Port shows
// when users edit mappings. Mask secrets in the examples before sending.
func (c *Client) PostKindExamples(ctx context.Context, id, kind string, examples []any) error {
	if examples == nil {
		examples = []any{}
	}
	return c.write(ctx, http.MethodPost, integrationPath(id)+"/kinds/"+url.PathEscape(kind)+"/examples", nil,
		map[string]any{"examples": examples}, nil, true)
}

// Cursor is an incremental sync cursor: Ocean keeps one per resource (kind
// and index) with the time the last successful sync of it started.
type Cursor struct {
	Primary string `json:"primary"`
}

func cursorQuery(kind string, index int) url.Values {
	return url.Values{"kind": {kind}, "index": {strconv.Itoa(index)}}
}

// GetCursor returns the incremental sync cursor of a resource, or nil when
// there is none.
func (c *Client) GetCursor(ctx context.Context, id, kind string, index int) (*Cursor, error) {
	var env struct {
		Cursor *Cursor `json:"cursor"`
	}
	err := c.get(ctx, integrationPath(id)+"/cursor", cursorQuery(kind, index), &env)
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return env.Cursor, nil
}

// SetCursor stores a resource's cursor: an update (PUT), or a create (POST)
// when Port answers that there is none yet, as Ocean does.
func (c *Client) SetCursor(ctx context.Context, id, kind string, index int, cur Cursor) error {
	err := c.write(ctx, http.MethodPut, integrationPath(id)+"/cursor", cursorQuery(kind, index), cur, nil, true)
	if !IsNotFound(err) {
		return err
	}
	return c.write(ctx, http.MethodPost, integrationPath(id)+"/cursor", cursorQuery(kind, index), cur, nil, true)
}
