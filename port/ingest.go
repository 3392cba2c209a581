package port

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Port's telemetry ingest: the integration's logs and its sync metrics go to
// URLs Port hands out in the integration object (logAttributes.ingestUrl and
// metricAttributes.ingestUrl), usually on another host than the API. Ocean
// sends them with the API's bearer token; so do we.

// LogRecord is one log line as Port's log ingest takes it.
type LogRecord struct {
	Message   string         `json:"message"`
	Level     string         `json:"level"`
	Timestamp time.Time      `json:"timestamp"`
	Extra     map[string]any `json:"extra"`
}

// SyncMetricsEvent is one kind's sync metrics as Port's metrics ingest takes
// them (Ocean's event: identity of the integration, the kind, its state and
// the metrics nested by label as Ocean's Prometheus registry flattens them).
type SyncMetricsEvent struct {
	IntegrationType       string         `json:"integrationType"`
	InstallationType      string         `json:"installationType"`
	ExecutionMode         string         `json:"executionMode"`
	IntegrationIdentifier string         `json:"integrationIdentifier"`
	IntegrationVersion    string         `json:"integrationVersion"`
	OceanVersion          string         `json:"oceanVersion"`
	KindIdentifier        string         `json:"kindIdentifier"`
	Kind                  string         `json:"kind"`
	KindIndex             int            `json:"kindIndex"`
	EventID               string         `json:"eventId"`
	SyncState             string         `json:"syncState"`
	Blueprint             string         `json:"blueprint"`
	Metrics               map[string]any `json:"metrics"`
}

// LogIngestURL returns logAttributes.ingestUrl, or "" when Port gave none.
func (i *Integration) LogIngestURL() string { return i.attributeURL("logAttributes") }

// MetricIngestURL returns metricAttributes.ingestUrl, or "" when Port gave none.
func (i *Integration) MetricIngestURL() string { return i.attributeURL("metricAttributes") }

func (i *Integration) attributeURL(field string) string {
	raw, ok := i.Extra[field]
	if !ok {
		return ""
	}
	var attrs struct {
		IngestURL string `json:"ingestUrl"`
	}
	if json.Unmarshal(raw, &attrs) != nil {
		return ""
	}
	return attrs.IngestURL
}

// IngestLogs posts log records to the integration's log ingest URL.
func (c *Client) IngestLogs(ctx context.Context, ingestURL string, logs []LogRecord) error {
	if logs == nil {
		logs = []LogRecord{}
	}
	return c.ingest(ctx, http.MethodPost, ingestURL, map[string]any{"logs": logs})
}

// PostSyncMetrics announces a resync's kinds (Ocean sends it when a resync
// starts).
func (c *Client) PostSyncMetrics(ctx context.Context, ingestURL string, events []SyncMetricsEvent) error {
	if events == nil {
		events = []SyncMetricsEvent{}
	}
	return c.ingest(ctx, http.MethodPost, joinURL(ingestURL, "syncMetrics"), map[string]any{"syncKindsMetrics": events})
}

// PutKindSyncMetrics replaces one kind's metrics of a resync (kind start and
// end, reconciliation, the resync's own __runtime__ kind).
func (c *Client) PutKindSyncMetrics(ctx context.Context, ingestURL string, ev SyncMetricsEvent) error {
	u := joinURL(ingestURL, "syncMetrics", "resync", ev.EventID, "kind", ev.KindIdentifier)
	return c.ingest(ctx, http.MethodPut, u, map[string]any{"syncKindMetrics": ev})
}

// PostHeartbeat tells Port a resync is still running.
func (c *Client) PostHeartbeat(ctx context.Context, ingestURL, eventID string) error {
	return c.ingest(ctx, http.MethodPost, joinURL(ingestURL, "heartbeat"), map[string]any{"eventId": eventID})
}

func joinURL(base string, parts ...string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(base, "/"))
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(p))
	}
	return b.String()
}

// ingest sends one telemetry request. It does not retry: telemetry is best
// effort, and the caller's next batch follows soon. A 401 refreshes the token
// once, as for the API. The token goes only to an https URL or to the API's
// own origin, so that a plain-http ingest URL cannot expose it.
func (c *Client) ingest(ctx context.Context, method, rawURL string, body any) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: ingest URL is not an absolute http(s) URL", ErrInvalidRequest)
	}
	api, _ := url.Parse(c.apiURL)
	if u.Scheme != "https" && (api == nil || api.Scheme != u.Scheme || api.Host != u.Host) {
		return fmt.Errorf("%w: ingest URL on %s is neither https nor the API's host; the token is not sent there", ErrInvalidRequest, u.Host)
	}
	data, err := encodeBody(body)
	if err != nil {
		return err
	}
	if len(data) > MaxRequestBytes {
		return fmt.Errorf("%w: ingest body of %d bytes is over Port's limit", ErrInvalidRequest, len(data))
	}
	stale := ""
	for attempt := 0; attempt < 2; attempt++ {
		tok, err := c.auth.token(ctx, stale)
		if err != nil {
			return err
		}
		status, msg, err := c.ingestOnce(ctx, method, u, data, tok)
		if err != nil {
			return fmt.Errorf("port: %s %s: %w", method, u.Path, scrubURLError(err))
		}
		if status >= 200 && status < 300 {
			return nil
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			stale = tok
			continue
		}
		return &Error{StatusCode: status, Method: method, Path: u.Path, Message: c.redact(msg)}
	}
	return errors.New("port: ingest: unreachable")
}

func (c *Client) ingestOnce(ctx context.Context, method string, u *url.URL, data []byte, auth string) (int, string, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(data))
	if err != nil {
		return 0, "", fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", auth)
	c.stats.requests.Add(1)
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // lets the connection be reused
	if res.StatusCode < 300 {
		return res.StatusCode, "", nil
	}
	var eb errorBody
	if json.Unmarshal(msg, &eb) == nil && eb.Message != "" {
		return res.StatusCode, eb.Message, nil
	}
	return res.StatusCode, strings.TrimSpace(string(msg)), nil
}
