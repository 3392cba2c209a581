package port

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Blueprint is a Port blueprint. Fields the struct does not name are kept in Extra, so a
// blueprint read from Port and written back loses nothing.
type Blueprint struct {
	Identifier  string              `json:"identifier"`
	Title       string              `json:"title,omitempty"`
	Icon        string              `json:"icon,omitempty"`
	Description string              `json:"description,omitempty"`
	Schema      BlueprintSchema     `json:"schema"`
	Relations   map[string]Relation `json:"relations,omitempty"`

	MirrorProperties      map[string]any `json:"mirrorProperties,omitempty"`
	CalculationProperties map[string]any `json:"calculationProperties,omitempty"`
	AggregationProperties map[string]any `json:"aggregationProperties,omitempty"`
	Ownership             map[string]any `json:"ownership,omitempty"`
	TeamInheritance       map[string]any `json:"teamInheritance,omitempty"`
	ChangelogDestination  map[string]any `json:"changelogDestination,omitempty"`

	// Read-only fields Port returns.
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`

	// Extra holds every other field (includeInGlobalSearch, createdBy, ...) verbatim.
	Extra map[string]json.RawMessage `json:"-"`
}

// BlueprintSchema is a blueprint's property schema. Each property is kept as a JSON
// object ({"type": "string", "format": "url", "enum": [...], ...}).
type BlueprintSchema struct {
	Properties map[string]map[string]any `json:"properties"`
	Required   []string                  `json:"required,omitempty"`
}

// MarshalJSON writes properties as {} when empty, as Port requires the key.
func (s BlueprintSchema) MarshalJSON() ([]byte, error) {
	type plain BlueprintSchema
	if s.Properties == nil {
		s.Properties = map[string]map[string]any{}
	}
	return json.Marshal(plain(s))
}

// Relation is a blueprint relation.
type Relation struct {
	Target      string `json:"target"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required"`
	Many        bool   `json:"many"`
}

var blueprintKeys = []string{"identifier", "title", "icon", "description", "schema", "relations",
	"mirrorProperties", "calculationProperties", "aggregationProperties", "ownership", "teamInheritance",
	"changelogDestination", "createdAt", "updatedAt"}

type plainBlueprint Blueprint

// MarshalJSON writes the named fields and Extra.
func (b Blueprint) MarshalJSON() ([]byte, error) {
	return marshalWithExtra(plainBlueprint(b), b.Extra)
}

// UnmarshalJSON reads the named fields and keeps the others in Extra.
func (b *Blueprint) UnmarshalJSON(data []byte) error {
	var p plainBlueprint
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	extra, err := extraFields(data, blueprintKeys)
	if err != nil {
		return err
	}
	p.Extra = extra
	*b = Blueprint(p)
	return nil
}

func marshalWithExtra(v any, extra map[string]json.RawMessage) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return data, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	for k, v := range extra {
		if _, named := m[k]; !named {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

func extraFields(data []byte, known []string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	for _, k := range known {
		delete(m, k)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

func blueprintPath(id string) string { return "/blueprints/" + url.PathEscape(id) }

type blueprintEnvelope struct {
	Blueprint *Blueprint `json:"blueprint"`
}

func (e blueprintEnvelope) get(op string) (*Blueprint, error) {
	if e.Blueprint == nil {
		return nil, fmt.Errorf("port: %s: answer has no blueprint", op)
	}
	return e.Blueprint, nil
}

// GetBlueprint returns a blueprint; a missing one is an *Error with IsNotFound.
func (c *Client) GetBlueprint(ctx context.Context, id string) (*Blueprint, error) {
	var env blueprintEnvelope
	if err := c.get(ctx, blueprintPath(id), nil, &env); err != nil {
		return nil, err
	}
	return env.get("get blueprint")
}

// ListBlueprints returns every blueprint of the organisation, in one request.
func (c *Client) ListBlueprints(ctx context.Context) ([]Blueprint, error) {
	var env struct {
		Blueprints []Blueprint `json:"blueprints"`
	}
	if err := c.get(ctx, "/blueprints", nil, &env); err != nil {
		return nil, err
	}
	return env.Blueprints, nil
}

// CreateBlueprint creates a blueprint. Relation targets must already exist, which is why
// Ocean creates blueprints bare first and patches relations in afterwards.
func (c *Client) CreateBlueprint(ctx context.Context, bp Blueprint) (*Blueprint, error) {
	if bp.Identifier == "" {
		return nil, errors.New("port: CreateBlueprint: empty identifier")
	}
	var env blueprintEnvelope
	if err := c.write(ctx, http.MethodPost, "/blueprints", nil, bp, &env, false); err != nil {
		return nil, err
	}
	return env.get("create blueprint")
}

// PatchBlueprint changes the given top-level fields of a blueprint.
func (c *Client) PatchBlueprint(ctx context.Context, id string, patch map[string]any) (*Blueprint, error) {
	var env blueprintEnvelope
	if err := c.write(ctx, http.MethodPatch, blueprintPath(id), nil, patch, &env, false); err != nil {
		return nil, err
	}
	return env.get("patch blueprint")
}

// DeleteBlueprint deletes a blueprint (Port requires its entities to be deleted first).
func (c *Client) DeleteBlueprint(ctx context.Context, id string) error {
	return c.write(ctx, http.MethodDelete, blueprintPath(id), nil, nil, nil, true)
}
