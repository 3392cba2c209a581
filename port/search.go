package port

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Query is a Port search query: a combinator and rules. A rule is a Rule, a nested Query,
// or any JSON object Port accepts.
type Query struct {
	Combinator string `json:"combinator"`
	Rules      []any  `json:"rules"`
}

// Rule is one condition of a Query, such as {"$identifier", "in", []string{...}}.
type Rule struct {
	Property string `json:"property"`
	Operator string `json:"operator"`
	Value    any    `json:"value,omitempty"`
}

// And returns a query matching entities that satisfy every rule.
func And(rules ...any) Query { return Query{Combinator: "and", Rules: rules} }

// Or returns a query matching entities that satisfy any rule.
func Or(rules ...any) Query { return Query{Combinator: "or", Rules: rules} }

// MarshalJSON fills in Port's required keys: combinator defaults to "and" and rules to [].
func (q Query) MarshalJSON() ([]byte, error) {
	type plain Query
	if q.Combinator == "" {
		q.Combinator = "and"
	}
	if q.Rules == nil {
		q.Rules = []any{}
	}
	return json.Marshal(plain(q))
}

// SearchOptions shape search answers.
type SearchOptions struct {
	// Include and Exclude select fields ("identifier", "properties.url", ...).
	Include, Exclude []string
	// ExcludeCalculatedProperties leaves calculated properties out of the answer.
	ExcludeCalculatedProperties bool
	// Limit is the page size of SearchBlueprintEntities (1..1000; default 1000).
	Limit int
}

func (o SearchOptions) query() url.Values {
	q := url.Values{}
	if len(o.Include) > 0 {
		q["include"] = o.Include
	}
	if len(o.Exclude) > 0 {
		q["exclude"] = o.Exclude
	}
	if o.ExcludeCalculatedProperties {
		q.Set("exclude_calculated_properties", "true")
	}
	return q
}

// SearchEntities runs a query over every blueprint (POST /v1/entities/search). Port does
// not paginate this route; keep queries narrow (for example $identifier in a list of 50).
func (c *Client) SearchEntities(ctx context.Context, q Query, opts SearchOptions) ([]Entity, error) {
	var ans struct {
		Entities []Entity `json:"entities"`
	}
	if err := c.write(ctx, http.MethodPost, "/entities/search", opts.query(), q, &ans, true); err != nil {
		return nil, err
	}
	return ans.Entities, nil
}

// SearchBlueprintEntities streams every entity of blueprint matching q, fetching pages of
// opts.Limit lazily (POST /v1/blueprints/{bp}/entities/search). An error is yielded once,
// and ends the sequence.
func (c *Client) SearchBlueprintEntities(ctx context.Context, blueprint string, q Query, opts SearchOptions) iter.Seq2[Entity, error] {
	return func(yield func(Entity, error) bool) {
		limit := opts.Limit
		if limit <= 0 || limit > 1000 {
			limit = 1000
		}
		type request struct {
			Query   Query    `json:"query"`
			Include []string `json:"include,omitempty"`
			Exclude []string `json:"exclude,omitempty"`
			Limit   int      `json:"limit"`
			From    string   `json:"from,omitempty"`
		}
		req := request{Query: q, Include: opts.Include, Exclude: opts.Exclude, Limit: limit}
		var qp url.Values
		if opts.ExcludeCalculatedProperties {
			qp = url.Values{"exclude_calculated_properties": {"true"}}
		}
		path := "/blueprints/" + url.PathEscape(blueprint) + "/entities/search"
		for {
			var ans struct {
				Entities []Entity `json:"entities"`
				Next     *string  `json:"next"`
			}
			if err := c.write(ctx, http.MethodPost, path, qp, req, &ans, true); err != nil {
				yield(Entity{}, err)
				return
			}
			for _, e := range ans.Entities {
				if !yield(e, nil) {
					return
				}
			}
			if ans.Next == nil || *ans.Next == "" || len(ans.Entities) == 0 {
				return
			}
			req.From = *ans.Next
		}
	}
}

// DatasourceQuery selects entities by the $datasource that wrote them.
type DatasourceQuery struct {
	// Prefix and Suffix match $datasource. Both empty means the client's datasource
	// (WithDatasource): Prefix() and Suffix().
	Prefix, Suffix string
	// Before keeps only entities last updated before this time (the resync start), so
	// entities written by the current resync are left out.
	Before time.Time
	// Limit is the page size (default 5,000, as Ocean uses).
	Limit int
	// Include selects fields (for example "blueprint", "identifier").
	Include []string
}

// DefaultDatasourcePageSize is Ocean's page size for the datasource listing.
const DefaultDatasourcePageSize = 5000

// DatasourceEntities lists every entity written by a datasource, in slices of at most
// DatasourceChunk entities (POST /v1/blueprints/entities/datasource-entities). This is how
// an integration finds the entities it owns, to delete stale ones. A page of Port's answer
// is decoded a slice at a time, so that a caller indexing the catalog holds the page's
// JSON and one slice of entities, not the page's thousands of decoded entities.
func (c *Client) DatasourceEntities(ctx context.Context, q DatasourceQuery) iter.Seq2[[]Entity, error] {
	return func(yield func([]Entity, error) bool) {
		if q.Prefix == "" && q.Suffix == "" && c.datasource != nil {
			q.Prefix, q.Suffix = c.datasource.Prefix(), c.datasource.Suffix()
		}
		type request struct {
			Prefix string `json:"datasource_prefix"`
			Suffix string `json:"datasource_suffix"`
			Limit  int    `json:"limit"`
			From   string `json:"from,omitempty"`
			Before string `json:"before,omitempty"`
		}
		req := request{Prefix: q.Prefix, Suffix: q.Suffix, Limit: q.Limit}
		if req.Limit <= 0 {
			req.Limit = DefaultDatasourcePageSize
		}
		if !q.Before.IsZero() {
			req.Before = q.Before.UTC().Format(time.RFC3339Nano)
		}
		var qp url.Values
		if len(q.Include) > 0 {
			qp = url.Values{"include": q.Include}
		}
		const path = "/blueprints/entities/datasource-entities"
		for {
			body, err := encodeBody(req)
			if err != nil {
				yield(nil, err)
				return
			}
			resp, err := c.send(ctx, &call{method: http.MethodPost, path: path, query: qp, body: body, idempotent: true})
			if err != nil {
				yield(nil, err)
				return
			}
			next, n, stopped, err := decodeEntityPage(resp.body, yield)
			resp.release()
			if stopped {
				return
			}
			if err != nil {
				yield(nil, fmt.Errorf("port: %s %s: decode answer: %w", resp.method, resp.path, err))
				return
			}
			if next == "" || n == 0 {
				return
			}
			req.From = next
		}
	}
}

// DatasourceChunk is the most entities DatasourceEntities yields at once.
const DatasourceChunk = 256

// decodeEntityPage decodes {"entities": [...], "next": ...} a DatasourceChunk of
// entities at a time, yielding each chunk. It returns the next cursor ("" for none), how
// many entities the page held, and whether yield asked to stop.
//
// Port's usual page is read by the scanner, without encoding/json's reflection. At
// anything it does not take on, the page goes to decodeEntityPageJSON, which yields what
// it would have yielded past the chunks already given: since both decode the same
// entities in the same chunks, the caller sees exactly decodeEntityPageJSON's sequence.
func decodeEntityPage(body []byte, yield func([]Entity, error) bool) (next string, n int, stopped bool, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", 0, false, nil
	}
	given := 0 // chunks yielded
	next, n, ok, stopped := scanEntityPage(body, func(chunk []Entity) bool {
		given++
		return yield(chunk, nil)
	})
	if ok || stopped {
		return next, n, stopped, nil
	}
	skip := given
	return decodeEntityPageJSON(body, func(chunk []Entity, err error) bool {
		if skip > 0 {
			skip--
			return true
		}
		return yield(chunk, err)
	})
}

// scanEntityPage is decodeEntityPage's fast path; ok is false when it
// gave up, having yielded only whole chunks that decodeEntityPageJSON
// yields too.
func scanEntityPage(body []byte, yield func([]Entity) bool) (next string, n int, ok, stopped bool) {
	s := scanner{data: body}
	names := [...]string{"entities", "next"}
	ok = s.fields(names[:], func(i int) bool {
		if s.peek() == 'n' {
			return s.literal("null") // no entities, no next page
		}
		if i == 1 {
			cursor, ok := s.plainString()
			next = cursor
			return ok
		}
		chunk := make([]Entity, 0, DatasourceChunk)
		ok := s.array(func() bool {
			chunk = append(chunk, Entity{})
			if !s.entity(&chunk[len(chunk)-1]) {
				return false
			}
			n++
			if len(chunk) == DatasourceChunk {
				if !yield(chunk) {
					stopped = true
					return false
				}
				// A new array: the caller may keep the one it was given.
				chunk = make([]Entity, 0, DatasourceChunk)
			}
			return true
		})
		if ok && len(chunk) > 0 && !yield(chunk) {
			stopped = true
			return false
		}
		return ok
	})
	switch {
	case stopped:
		return "", n, false, true
	case !ok:
		return "", n, false, false
	}
	return next, n, s.end(), false
}

// decodeEntityPageJSON is decodeEntityPage with encoding/json.
func decodeEntityPageJSON(body []byte, yield func([]Entity, error) bool) (next string, n int, stopped bool, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", 0, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := expectDelim(dec, '{'); err != nil {
		return "", 0, false, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", n, false, err
		}
		switch tok {
		case "entities":
			tok, err := dec.Token()
			if err != nil {
				return "", n, false, err
			}
			if tok == nil {
				continue // null: no entities
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return "", n, false, fmt.Errorf("entities: want an array, got %v", tok)
			}
			chunk := make([]Entity, 0, DatasourceChunk)
			for dec.More() {
				chunk = append(chunk, Entity{})
				if err := dec.Decode(&chunk[len(chunk)-1]); err != nil {
					return "", n, false, err
				}
				n++
				if len(chunk) == DatasourceChunk {
					if !yield(chunk, nil) {
						return "", n, true, nil
					}
					// A new array: the caller may keep the one it was given.
					chunk = make([]Entity, 0, DatasourceChunk)
				}
			}
			if _, err := dec.Token(); err != nil { // ]
				return "", n, false, err
			}
			if len(chunk) > 0 && !yield(chunk, nil) {
				return "", n, true, nil
			}
		case "next":
			var cursor *string
			if err := dec.Decode(&cursor); err != nil {
				return "", n, false, err
			}
			if cursor != nil {
				next = *cursor
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", n, false, err
			}
		}
	}
	return next, n, false, nil
}

// expectDelim reads the next token and checks that it is d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("want %v, got %v", d, tok)
	}
	return nil
}
