package port

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Bulk limits of Port's entity routes.
const (
	MaxBulkUpsert = 20  // entities per bulk upsert request
	MaxBulkDelete = 100 // identifiers per bulk delete request
)

// Entity is a Port catalog entity.
type Entity struct {
	// Identifier is a string, or a search query object (a Query or map[string]any) that
	// makes Port upsert into the entity it finds. Nil lets Port generate one.
	Identifier any    `json:"identifier"`
	Blueprint  string `json:"blueprint,omitempty"`
	Title      string `json:"title,omitempty"`
	Icon       string `json:"icon,omitempty"`
	// Team is a string, a []string or a search query.
	Team       any            `json:"team,omitempty"`
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`

	// Read-only fields Port returns.
	CreatedAt  time.Time `json:"createdAt,omitzero"`
	UpdatedAt  time.Time `json:"updatedAt,omitzero"`
	CreatedBy  string    `json:"createdBy,omitempty"`
	UpdatedBy  string    `json:"updatedBy,omitempty"`
	Datasource string    `json:"$datasource,omitempty"`
}

// ID returns the identifier when it is a string, else "".
func (e Entity) ID() string {
	s, _ := e.Identifier.(string)
	return s
}

// entityWrite is the body of an upsert: no blueprint (it is in the path) and no
// read-only fields.
type entityWrite struct {
	Identifier any            `json:"identifier,omitempty"`
	Title      string         `json:"title,omitempty"`
	Icon       string         `json:"icon,omitempty"`
	Team       any            `json:"team,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
	Relations  map[string]any `json:"relations,omitempty"`
}

func writeBody(e Entity) entityWrite {
	return entityWrite{Identifier: e.Identifier, Title: e.Title, Icon: e.Icon, Team: e.Team, Properties: e.Properties, Relations: e.Relations}
}

// UpsertOptions are the query parameters of entity writes.
type UpsertOptions struct {
	// Merge keeps properties and relations that are not sent (Port's merge=true).
	Merge bool
	// CreateMissingRelatedEntities makes Port create placeholder entities for relation
	// targets that do not exist, instead of failing with 404.
	CreateMissingRelatedEntities bool
	// ValidationOnly validates without writing.
	ValidationOnly bool
	// RunID ties the write to an action run.
	RunID string
	// EventType and ResyncID are Ocean's ocean_info_event_type (start, resync,
	// http_request, ...) and ocean_info_resync_id.
	EventType string
	ResyncID  string
}

func (o UpsertOptions) query() url.Values {
	q := url.Values{
		"upsert":                          {"true"},
		"merge":                           {strconv.FormatBool(o.Merge)},
		"create_missing_related_entities": {strconv.FormatBool(o.CreateMissingRelatedEntities)},
		"validation_only":                 {strconv.FormatBool(o.ValidationOnly)},
	}
	if o.RunID != "" {
		q.Set("run_id", o.RunID)
	}
	if o.EventType != "" {
		q.Set("ocean_info_event_type", o.EventType)
	}
	if o.ResyncID != "" {
		q.Set("ocean_info_resync_id", o.ResyncID)
	}
	return q
}

func entitiesPath(blueprint string) string {
	return "/blueprints/" + url.PathEscape(blueprint) + "/entities"
}

// UpsertEntity creates or updates one entity of e.Blueprint and returns Port's copy.
// A 404 usually means a related entity is missing (see CreateMissingRelatedEntities).
func (c *Client) UpsertEntity(ctx context.Context, e Entity, opts UpsertOptions) (Entity, error) {
	if e.Blueprint == "" {
		return Entity{}, errors.New("port: UpsertEntity: entity has no blueprint")
	}
	body, err := encodeWrite(nil, &e)
	if err != nil {
		return Entity{}, fmt.Errorf("port: encode request body: %w", err)
	}
	return c.upsertOne(ctx, e, body, opts)
}

func (c *Client) upsertOne(ctx context.Context, e Entity, body []byte, opts UpsertOptions) (Entity, error) {
	resp, err := c.send(ctx, &call{method: http.MethodPost, path: entitiesPath(e.Blueprint), query: opts.query(), body: body, idempotent: true})
	if err != nil {
		return Entity{}, err
	}
	var env struct {
		Entity *Entity `json:"entity"`
	}
	if err := resp.decode(&env); err != nil {
		return Entity{}, err
	}
	if env.Entity == nil {
		return e, nil
	}
	return *env.Entity, nil
}

// EntityResult is the outcome of one entity of a bulk upsert.
type EntityResult struct {
	Index      int    // position in the input
	Identifier string // the identifier Port reports (resolves search identifiers)
	Created    bool   // Port created the entity rather than updating it
	Err        error  // nil on success; a *Error when Port rejected the entity
}

// BulkUpsert upserts entities of one blueprint with Port's bulk route. It packs them into
// requests of at most 20 entities and 1 MiB, sends the requests one after the other (run
// several calls concurrently for throughput) and returns one result per input entity, in
// input order.
//
// Entities fail alone: per-entity errors of a 207 answer land in their results. When Port
// rejects a whole request with 413 or 422 the request is split in halves until the bad
// entity is isolated (a single entity that is too large for a bulk body goes through the
// single-entity route); other whole-request failures mark that request's entities failed.
//
// The error is non-nil only when the caller should stop: ctx ended, or Port refused the
// credentials (401 after a token refresh, or 403). Results not reached then carry it too.
func (c *Client) BulkUpsert(ctx context.Context, blueprint string, entities []Entity, opts UpsertOptions) ([]EntityResult, error) {
	results := make([]EntityResult, len(entities))
	if blueprint == "" {
		return results, errors.New("port: BulkUpsert: empty blueprint")
	}
	b := bulk{c: c, blueprint: blueprint, opts: opts, route: c.bulkRouteFor(blueprint, opts),
		results: results, entities: entities, encoded: make([][]byte, len(entities))}
	// Every entity is encoded into one scratch buffer, which goes back to
	// the client's pool when the call returns: each request's body is a
	// copy (the transport may read a body after the response is in), so
	// nothing outside this call ever holds it.
	scratch := c.scratch()
	defer c.release(scratch)
	arena := (*scratch)[:0]
	var ko keyOrders
	for i := range entities {
		e := &entities[i]
		results[i] = EntityResult{Index: i, Identifier: e.ID()}
		if e.Blueprint != "" && e.Blueprint != blueprint {
			results[i].Err = fmt.Errorf("port: BulkUpsert %q: entity %d belongs to blueprint %q", blueprint, i, e.Blueprint)
			continue
		}
		start := len(arena)
		var err error
		if arena, err = encodeWriteOrdered(arena, e, &ko); err != nil {
			results[i].Err = errEncode(i, err)
			continue
		}
		if n := len(arena) - start; n+len(bulkOpen)+len(bulkClose) > MaxRequestBytes {
			arena = arena[:start]
			results[i].Err = fmt.Errorf("port: entity %d (%q) is %d bytes: %w", i, e.ID(), n, ErrEntityTooLarge)
			continue
		}
		// When arena grows later, this slice stays in the array it was
		// written in, whose bytes nothing changes any more: only the
		// last array goes back to the pool.
		b.encoded[i] = arena[start:len(arena):len(arena)]
	}
	*scratch = arena

	chunk := make([]int, 0, MaxBulkUpsert)
	size := len(bulkOpen) + len(bulkClose)
	for i := range entities {
		if b.encoded[i] == nil {
			continue
		}
		add := len(b.encoded[i])
		if len(chunk) > 0 {
			add++ // comma
		}
		if len(chunk) == MaxBulkUpsert || size+add > MaxRequestBytes {
			if err := b.send(ctx, chunk); err != nil {
				return results, b.fail(err)
			}
			chunk = chunk[:0]
			size = len(bulkOpen) + len(bulkClose)
			add = len(b.encoded[i])
		}
		chunk = append(chunk, i)
		size += add
	}
	if len(chunk) > 0 {
		if err := b.send(ctx, chunk); err != nil {
			return results, b.fail(err)
		}
	}
	return results, nil
}

// bulkRoute is the path and URL of a blueprint's bulk upserts with one
// set of options. A sync sends thousands of them with the same few
// (its resync's event type and ID), so they are built once, not for
// every call: url.Values and its encoding cost a dozen allocations.
type bulkRoute struct {
	path     string // relative to /v1
	apiPath  string // "/v1" + path
	rawQuery string
	url      string
}

type bulkRouteKey struct {
	blueprint string
	opts      UpsertOptions
}

// maxBulkRoutes bounds the routes a client remembers: every resync has
// an ID of its own, so old ones must go.
const maxBulkRoutes = 64

// bulkRouteFor returns the route of bulk upserts into blueprint with opts.
func (c *Client) bulkRouteFor(blueprint string, opts UpsertOptions) *bulkRoute {
	key := bulkRouteKey{blueprint: blueprint, opts: opts}
	rs := &c.bulkRoutes
	rs.Lock()
	defer rs.Unlock()
	if r, ok := rs.m[key]; ok {
		return r
	}
	path := entitiesPath(blueprint) + "/bulk"
	q := opts.query().Encode()
	r := &bulkRoute{path: path, apiPath: "/v1" + path, rawQuery: q, url: c.apiURL + path + "?" + q}
	if rs.m == nil || len(rs.m) >= maxBulkRoutes {
		rs.m = make(map[bulkRouteKey]*bulkRoute)
	}
	rs.m[key] = r
	return r
}

const (
	bulkOpen  = `{"entities":[`
	bulkClose = `]}`
)

type bulk struct {
	c         *Client
	blueprint string
	opts      UpsertOptions
	// route is every request's path and URL.
	route    *bulkRoute
	entities []Entity
	encoded  [][]byte
	results  []EntityResult
	// answered is room for the entities of an answer, reused by the
	// requests of the call.
	answered []bulkEntity
}

// fail marks every entity without an outcome with the fatal error.
func (b *bulk) fail(err error) error {
	for i := range b.results {
		// encoded is cleared once an entity has an outcome.
		if b.encoded[i] != nil {
			b.results[i].Err = err
		}
	}
	return err
}

type bulkAnswer struct {
	Entities []bulkEntity `json:"entities"`
	Errors   []bulkError  `json:"errors"`
}

// bulkEntity is an entity a bulk upsert wrote.
type bulkEntity struct {
	Identifier string `json:"identifier"`
	Index      int    `json:"index"`
	Created    bool   `json:"created"`
}

// bulkError is an entity a bulk upsert refused.
type bulkError struct {
	Identifier string `json:"identifier"`
	Index      int    `json:"index"`
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}

// send sends one chunk (indexes into the input) and records the outcomes. It returns an
// error only when the whole bulk must stop.
func (b *bulk) send(ctx context.Context, idx []int) error {
	size := len(bulkOpen) + len(bulkClose) + len(idx) - 1
	for _, i := range idx {
		size += len(b.encoded[i])
	}
	body := make([]byte, 0, size)
	body = append(body, bulkOpen...)
	for n, i := range idx {
		if n > 0 {
			body = append(body, ',')
		}
		body = append(body, b.encoded[i]...)
	}
	body = append(body, bulkClose...)

	r := b.route
	resp, err := b.c.send(ctx, &call{method: http.MethodPost, path: r.path, rawQuery: r.rawQuery, url: r.url, apiPath: r.apiPath,
		body: body, idempotent: true})
	if err != nil {
		return b.chunkFailed(ctx, idx, err)
	}
	// The answer's entities go into room kept from the previous request,
	// and their identifiers, as a rule the ones sent, share those strings.
	if cap(b.answered) < len(idx) {
		b.answered = make([]bulkEntity, 0, len(idx))
	}
	ans := bulkAnswer{Entities: b.answered[:0]}
	next := 0
	known := func(raw []byte) (string, bool) {
		// Port answers in request order, so the next entity is tried first.
		for k := range idx {
			j := (next + k) % len(idx)
			if id := b.results[idx[j]].Identifier; id == string(raw) {
				next = j + 1
				return id, true
			}
		}
		return "", false
	}
	if err := resp.decodeWith(func(data []byte) error { return decodeBulkAnswerKnown(data, &ans, known) }); err != nil {
		b.setAll(idx, err)
		return nil
	}
	if cap(ans.Entities) > cap(b.answered) {
		b.answered = ans.Entities
	}
	trace := resp.header.Get(headerTraceID)
	for _, r := range ans.Entities {
		if r.Index < 0 || r.Index >= len(idx) {
			continue
		}
		i := idx[r.Index]
		b.results[i].Created = r.Created
		if r.Identifier != "" {
			b.results[i].Identifier = r.Identifier
		}
		b.results[i].Err = nil
		b.encoded[i] = nil
	}
	for _, r := range ans.Errors {
		if r.Index < 0 || r.Index >= len(idx) {
			continue
		}
		i := idx[r.Index]
		b.results[i].Err = &Error{StatusCode: r.StatusCode, Code: r.Error, Message: b.c.redact(r.Message),
			Method: resp.method, Path: resp.path, TraceID: trace, Identifier: r.Identifier}
		if r.Identifier != "" && r.Identifier != "unknown" {
			b.results[i].Identifier = r.Identifier
		}
		b.encoded[i] = nil
	}
	var missing *Error // one error for all, made only when needed
	for _, i := range idx {
		if b.encoded[i] != nil {
			if missing == nil {
				missing = &Error{StatusCode: resp.status, Method: resp.method, Path: resp.path, TraceID: trace,
					Message: "Port's bulk answer has no result for this entity"}
			}
			b.results[i].Err = missing
			b.encoded[i] = nil
		}
	}
	return nil
}

func (b *bulk) setAll(idx []int, err error) {
	for _, i := range idx {
		b.results[i].Err = err
		b.encoded[i] = nil
	}
}

func (b *bulk) chunkFailed(ctx context.Context, idx []int, err error) error {
	if ctx.Err() != nil {
		return err
	}
	var pe *Error
	if !errors.As(err, &pe) {
		// Transport failure that outlasted the retry policy.
		b.setAll(idx, err)
		return nil
	}
	switch {
	case pe.StatusCode == http.StatusUnauthorized || pe.StatusCode == http.StatusForbidden:
		return err
	case (pe.StatusCode == http.StatusRequestEntityTooLarge || pe.StatusCode == http.StatusUnprocessableEntity ||
		pe.StatusCode == http.StatusBadRequest) && len(idx) > 1:
		// Isolate the entity Port objects to; the others still land.
		half := len(idx) / 2
		left, right := append([]int(nil), idx[:half]...), append([]int(nil), idx[half:]...)
		if err := b.send(ctx, left); err != nil {
			return err
		}
		return b.send(ctx, right)
	case pe.StatusCode == http.StatusRequestEntityTooLarge:
		i := idx[0]
		e := b.entities[i]
		e.Blueprint = b.blueprint
		// A copy: the scratch buffer goes back to the pool while the
		// transport may still read the body.
		got, err := b.c.upsertOne(ctx, e, bytes.Clone(b.encoded[i]), b.opts)
		b.encoded[i] = nil
		if err != nil {
			if ctx.Err() != nil || IsUnauthorized(err) || IsForbidden(err) {
				b.results[i].Err = err
				return err
			}
			b.results[i].Err = err
			return nil
		}
		if id := got.ID(); id != "" {
			b.results[i].Identifier = id
		}
		return nil
	}
	b.setAll(idx, err)
	return nil
}

// DeleteOptions are the query parameters of entity deletes.
type DeleteOptions struct {
	// DeleteDependents also deletes entities that relate to the deleted ones.
	DeleteDependents bool
	RunID            string
	EventType        string // ocean_info_event_type
	ResyncID         string // ocean_info_resync_id
}

func (o DeleteOptions) query() url.Values {
	q := url.Values{"delete_dependents": {strconv.FormatBool(o.DeleteDependents)}}
	if o.RunID != "" {
		q.Set("run_id", o.RunID)
	}
	if o.EventType != "" {
		q.Set("ocean_info_event_type", o.EventType)
	}
	if o.ResyncID != "" {
		q.Set("ocean_info_resync_id", o.ResyncID)
	}
	return q
}

// DeleteEntity deletes one entity. An entity that does not exist counts as deleted.
func (c *Client) DeleteEntity(ctx context.Context, blueprint, identifier string, opts DeleteOptions) error {
	_, err := c.send(ctx, &call{method: http.MethodDelete, path: entitiesPath(blueprint) + "/" + url.PathEscape(identifier),
		query: opts.query(), idempotent: true})
	if err != nil && !IsNotFound(err) {
		return err
	}
	return nil
}

// BulkDelete deletes entities of one blueprint, 100 per request, and returns the
// identifiers Port reports as deleted (only those are certain). It carries on after a
// failed request and returns the failures joined, except that ctx ending or Port refusing
// the credentials stops it at once.
func (c *Client) BulkDelete(ctx context.Context, blueprint string, identifiers []string, opts DeleteOptions) ([]string, error) {
	deleted := make([]string, 0, len(identifiers))
	path := "/blueprints/" + url.PathEscape(blueprint) + "/bulk/entities/delete"
	q := opts.query()
	var errs []error
	for start := 0; start < len(identifiers); start += MaxBulkDelete {
		ids := identifiers[start:min(start+MaxBulkDelete, len(identifiers))]
		body, err := encodeBody(struct {
			Entities []string `json:"entities"`
		}{ids})
		if err != nil {
			return deleted, err
		}
		resp, err := c.send(ctx, &call{method: http.MethodPost, path: path, query: q, body: body, idempotent: true})
		if err == nil {
			var ans struct {
				DeletedEntities []string `json:"deletedEntities"`
			}
			if err = resp.decode(&ans); err == nil {
				deleted = append(deleted, ans.DeletedEntities...)
				continue
			}
		}
		if ctx.Err() != nil || IsUnauthorized(err) || IsForbidden(err) {
			return deleted, err
		}
		errs = append(errs, err)
	}
	return deleted, errors.Join(errs...)
}

// GetEntity returns one entity.
func (c *Client) GetEntity(ctx context.Context, blueprint, identifier string) (*Entity, error) {
	var env struct {
		Entity *Entity `json:"entity"`
	}
	if err := c.get(ctx, entitiesPath(blueprint)+"/"+url.PathEscape(identifier), nil, &env); err != nil {
		return nil, err
	}
	if env.Entity == nil {
		return nil, fmt.Errorf("port: GET entity %q: answer has no entity", identifier)
	}
	return env.Entity, nil
}

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	resp, err := c.send(ctx, &call{method: http.MethodGet, path: path, query: q, idempotent: true})
	if err != nil {
		return err
	}
	return resp.decode(out)
}

func (c *Client) write(ctx context.Context, method, path string, q url.Values, in, out any, idempotent bool) error {
	body, err := encodeBody(in)
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, &call{method: method, path: path, query: q, body: body, idempotent: idempotent})
	if err != nil {
		return err
	}
	return resp.decode(out)
}
