package ocean

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/oceankit/oceankit/mapping"
)

// Item is one raw item of a third-party system, as decoded JSON. It is what
// jq mappings see, so a kind should hand over the API's full object rather
// than a typed struct that drops fields.
type Item = map[string]any

// Sender receives the pages a kind produces. Send blocks while the pipeline
// behind it is full (back-pressure), returns the context's error once the
// resync is cancelled, and is safe for concurrent use, so a kind that fans
// out (one goroutine per project, say) can call it from every goroutine.
// The framework takes ownership of the slice and the items in it: a kind
// must not modify them after sending.
type Sender interface {
	Send(ctx context.Context, items []Item) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, items []Item) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, items []Item) error { return f(ctx, items) }

// Kind is one resource kind a provider can list: "project", "merge-request",
// or a kind of a system oceankit never heard of.
//
// Most kinds are built with NewKind, which decodes the resource's selector
// into a typed struct of the provider's own.
type Kind interface {
	// Name is the kind as users write it in the port app config.
	Name() string
	// Fetch streams every raw item of the kind that the selector selects.
	// selector is the resource's whole `selector` object as JSON (it
	// includes `query`, which the framework applies after Fetch).
	// Returning an error marks the kind failed for this resync: whatever
	// was sent is still upserted, but none of the kind's entities are
	// deleted.
	Fetch(ctx context.Context, selector json.RawMessage, send Sender) error
}

// Defaulter is implemented by a selector type (on its pointer) that has
// defaults other than Go's zero values. NewKind calls Default before it
// decodes the user's selector over the struct.
type Defaulter interface{ Default() }

// Validator is implemented by a selector type (on its pointer) that checks
// itself after decoding; the error is reported as a misconfigured resource.
type Validator interface{ Validate() error }

// ItemMatcher is implemented by a selector type (on its value or pointer)
// whose list call filters in the API (a status, a date, a label): MatchItem
// says whether one item is one the call would return. The framework
// applies it to live events' items and RegisterRaw's, so that a webhook
// never writes what no resync lists; an item that does not match is
// deleted if this integration owns its entity, as one the selector query
// rejects.
type ItemMatcher interface{ MatchItem(Item) bool }

// BaseSelector is the selector every kind understands. Providers embed it
// in their own selector types when they want the query at hand; the
// framework applies it either way.
type BaseSelector struct {
	// Query is a jq expression; items for which it is not true are dropped.
	Query string `json:"query,omitempty"`
}

// ListFunc lists the items of a kind for a decoded selector.
type ListFunc[S any] func(ctx context.Context, sel S, send Sender) error

// NewKind returns a Kind whose selector decodes into S. Decoding is lenient
// about unknown keys (a selector carries framework keys such as `query` and
// fields of newer versions) but strict about types: a string where S has a
// bool is a clear error naming the kind.
func NewKind[S any](name string, list ListFunc[S]) Kind {
	return &typedKind[S]{name: name, list: list}
}

type typedKind[S any] struct {
	name string
	list ListFunc[S]
}

func (k *typedKind[S]) Name() string { return k.name }

// checkSelector decodes and validates a selector without listing anything,
// so that a bad selector is reported with the mapping's errors, before
// any write.
func (k *typedKind[S]) checkSelector(raw json.RawMessage) error {
	_, err := DecodeSelector[S](raw)
	return err
}

func (k *typedKind[S]) Fetch(ctx context.Context, raw json.RawMessage, send Sender) error {
	sel, err := DecodeSelector[S](raw)
	if err != nil {
		return fmt.Errorf("kind %q: %w", k.name, err)
	}
	return k.list(ctx, sel, send)
}

// itemMatcher decodes a resource's selector and returns its MatchItem, if
// the selector type has one.
func (k *typedKind[S]) itemMatcher(raw json.RawMessage) (func(Item) bool, error) {
	sel, err := DecodeSelector[S](raw)
	if err != nil {
		return nil, err
	}
	if m, ok := any(sel).(ItemMatcher); ok {
		return m.MatchItem, nil
	}
	if m, ok := any(&sel).(ItemMatcher); ok {
		return m.MatchItem, nil
	}
	return nil, nil
}

// SelectorError reports a selector that does not decode or validate.
type SelectorError struct {
	Err error
}

func (e *SelectorError) Error() string {
	// Say it in the terms of the YAML the user wrote, not Go's.
	var te *json.UnmarshalTypeError
	if errors.As(e.Err, &te) && te.Field != "" {
		return fmt.Sprintf("invalid selector: %s must be %s, not %s", te.Field, yamlType(te.Type), yamlValue(te.Value))
	}
	var se *json.SyntaxError
	if errors.As(e.Err, &se) {
		return "invalid selector: not valid YAML/JSON: " + se.Error()
	}
	return "invalid selector: " + e.Err.Error()
}

// yamlType names a Go type as a YAML value.
func yamlType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(yamlType(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return "a mapping (key: value lines)"
	case reflect.Pointer:
		return yamlType(t.Elem())
	}
	return "a " + t.String()
}

// yamlValue names a JSON value kind as a YAML one.
func yamlValue(v string) string {
	switch v {
	case "array":
		return "a list"
	case "object":
		return "a mapping"
	case "bool":
		return "true or false"
	case "number", "string":
		return "a " + v
	}
	return v
}
func (e *SelectorError) Unwrap() error { return e.Err }

// DecodeSelector decodes a resource's selector JSON into S, applying S's
// defaults first and its validation after. It is what NewKind uses, and what
// webhook processors use to read the selector of the resource an event is
// mapped with.
func DecodeSelector[S any](raw json.RawMessage) (S, error) {
	var sel S
	if d, ok := any(&sel).(Defaulter); ok {
		d.Default()
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if err := json.Unmarshal(raw, &sel); err != nil {
			return sel, &SelectorError{Err: err}
		}
	}
	if v, ok := any(&sel).(Validator); ok {
		if err := v.Validate(); err != nil {
			return sel, &SelectorError{Err: err}
		}
	}
	return sel, nil
}

// selectorChecker is implemented by kinds that can check a selector up
// front (every kind built with NewKind).
type selectorChecker interface {
	checkSelector(raw json.RawMessage) error
}

type itemMatching interface {
	itemMatcher(raw json.RawMessage) (func(Item) bool, error)
}

// itemMatcher returns the MatchItem of a resource's selector, or nil.
func (a *App) itemMatcher(rm *mapping.ResourceMapper) func(Item) bool {
	k := a.provider.kind(rm.Kind())
	if w, ok := k.(incrementalKind); ok {
		k = w.Kind
	}
	m, ok := k.(itemMatching)
	if !ok {
		return nil
	}
	f, err := m.itemMatcher(rm.Resource().Selector.Raw)
	if err != nil {
		return nil // reported with the mapping's errors
	}
	return f
}

func checkSelector(k Kind, raw json.RawMessage) error {
	if w, ok := k.(incrementalKind); ok {
		k = w.Kind
	}
	if c, ok := k.(selectorChecker); ok {
		return c.checkSelector(raw)
	}
	return nil
}
