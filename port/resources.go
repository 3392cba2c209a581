package port

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Actions, scorecards and pages are created by initializePortResources from JSON files,
// so they are plain JSON objects here.

func (c *Client) createResource(ctx context.Context, path, key string, body map[string]any) (map[string]any, error) {
	var env map[string]json.RawMessage
	if err := c.write(ctx, http.MethodPost, path, nil, body, &env, false); err != nil {
		return nil, err
	}
	return unwrap(env, key, "create "+key)
}

func (c *Client) getResource(ctx context.Context, path, key string) (map[string]any, error) {
	var env map[string]json.RawMessage
	if err := c.get(ctx, path, nil, &env); err != nil {
		return nil, err
	}
	return unwrap(env, key, "get "+key)
}

func unwrap(env map[string]json.RawMessage, key, op string) (map[string]any, error) {
	raw, ok := env[key]
	if !ok {
		return nil, fmt.Errorf("port: %s: answer has no %s", op, key)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("port: %s: %w", op, err)
	}
	return m, nil
}

// CreateAction creates a self-service action (POST /v1/actions).
func (c *Client) CreateAction(ctx context.Context, action map[string]any) (map[string]any, error) {
	return c.createResource(ctx, "/actions", "action", action)
}

// GetAction returns an action.
func (c *Client) GetAction(ctx context.Context, id string) (map[string]any, error) {
	return c.getResource(ctx, "/actions/"+url.PathEscape(id), "action")
}

// CreateScorecard creates a scorecard on a blueprint.
func (c *Client) CreateScorecard(ctx context.Context, blueprint string, scorecard map[string]any) (map[string]any, error) {
	return c.createResource(ctx, blueprintPath(blueprint)+"/scorecards", "scorecard", scorecard)
}

// GetScorecard returns a scorecard of a blueprint.
func (c *Client) GetScorecard(ctx context.Context, blueprint, id string) (map[string]any, error) {
	return c.getResource(ctx, blueprintPath(blueprint)+"/scorecards/"+url.PathEscape(id), "scorecard")
}

// CreatePage creates a catalog page (POST /v1/pages).
func (c *Client) CreatePage(ctx context.Context, page map[string]any) (map[string]any, error) {
	return c.createResource(ctx, "/pages", "page", page)
}

// GetPage returns a page.
func (c *Client) GetPage(ctx context.Context, id string) (map[string]any, error) {
	return c.getResource(ctx, "/pages/"+url.PathEscape(id), "page")
}

// DeletePage deletes a page.
func (c *Client) DeletePage(ctx context.Context, id string) error {
	return c.write(ctx, http.MethodDelete, "/pages/"+url.PathEscape(id), nil, nil, nil, true)
}

// Organization is the caller's Port organisation.
type Organization struct {
	ID           string   `json:"id"`
	Name         string   `json:"name,omitempty"`
	FeatureFlags []string `json:"featureFlags,omitempty"`
}

// GetOrganization returns the organisation with its feature flags.
func (c *Client) GetOrganization(ctx context.Context) (*Organization, error) {
	var env struct {
		Organization *Organization `json:"organization"`
	}
	if err := c.get(ctx, "/organization", nil, &env); err != nil {
		return nil, err
	}
	if env.Organization == nil {
		return nil, fmt.Errorf("port: get organization: answer has no organization")
	}
	return env.Organization, nil
}

// ProvisionEnabled returns the integration types whose default resources
// Port can provision itself (GET /v1/integration/provision-enabled), which
// Ocean checks before it lets Port create an integration's defaults.
func (c *Client) ProvisionEnabled(ctx context.Context) ([]string, error) {
	var env struct {
		Integrations []string `json:"integrations"`
	}
	if err := c.get(ctx, "/integration/provision-enabled", nil, &env); err != nil {
		return nil, err
	}
	return env.Integrations, nil
}
