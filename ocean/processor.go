package ocean

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Event is one live event (a webhook delivery) as the framework received it.
type Event struct {
	// ID is unique per delivery (a header such as X-Gitlab-Event-UUID when
	// the sender has one, else generated).
	ID string `json:"id"`
	// Path is the route path the event arrived on, relative to
	// /integration (for the default route: "/webhook").
	Path string `json:"path"`
	// Headers are the request's headers.
	Headers http.Header `json:"headers"`
	// Body is the raw request body, for signature checks, and the one form
	// a queued event keeps (a decoded copy takes five times the memory).
	Body []byte `json:"body"`
	// Payload is Body decoded as a JSON object, set whenever a processor
	// method is called; nil while the event waits in a queue.
	Payload map[string]any `json:"-"`
	// ReceivedAt is when the framework accepted the event.
	ReceivedAt time.Time `json:"receivedAt"`
}

// Resource names the resource of the port app config an event is being
// handled for: its kind, its position, and its selector as JSON, which a
// processor decodes with DecodeSelector when it needs the provider's
// selector fields.
type Resource struct {
	Kind     string
	Index    int
	Selector json.RawMessage
}

// Changes is what a processor returns: raw items (the same shape its kind
// lists in a resync) to map and upsert, and raw items to map and delete.
type Changes struct {
	Upsert []Item
	Delete []Item
}

// Processor handles one family of live events; most are written as
// [ProcessorFuncs]. Match, Authenticate and Validate run while the sender
// waits (a bad secret is answered 401, a malformed payload 400); Handle runs
// from a bounded queue after the 202, once per resource of each kind Kinds
// names, and its result is mapped with that resource's mapping. A processor
// that can judge a delivery from its headers also implements HeaderMatcher
// and HeaderAuthenticator, so that unauthenticated requests are answered
// before their body is read.
type Processor interface {
	// Name identifies the processor in logs and metrics.
	Name() string
	// Match cheaply says whether this processor handles the event.
	Match(ev *Event) bool
	// Authenticate checks the event's credentials (compare secrets with
	// crypto/subtle). An error answers 401.
	Authenticate(ctx context.Context, ev *Event) error
	// Validate checks the payload. An error answers 400.
	Validate(ev *Event) error
	// Kinds names the kinds the event affects.
	Kinds(ev *Event) []string
	// Handle returns the raw items to upsert and to delete for one
	// resource. Errors are retried with backoff unless wrapped with
	// Permanent.
	Handle(ctx context.Context, ev *Event, res Resource) (Changes, error)
}

// HeaderMatcher is implemented by processors that can rule a delivery out
// from its headers (GitLab's X-Gitlab-Event). False means Match would say
// false too; true means Match decides once the body is read.
type HeaderMatcher interface {
	MatchHeaders(h http.Header) bool
}

// HeaderAuthenticator is implemented by processors whose credentials travel
// in a header (GitLab's X-Gitlab-Token). An error answers 401 before the
// body is read.
type HeaderAuthenticator interface {
	AuthenticateHeaders(ctx context.Context, h http.Header) error
}

// ProcessorFuncs is a Processor made of functions. ID, Matches, KindNames
// and Apply are required; a nil optional field turns its feature off. Only
// a ProcessorFuncs says how its events relate (Key, Version, Coalesce);
// another Processor's events are applied one at a time in arrival order.
type ProcessorFuncs struct {
	// ID names the processor in logs and metrics.
	ID string
	// HeadersMatch and HeadersAuth judge a delivery from its headers
	// (see HeaderMatcher and HeaderAuthenticator).
	HeadersMatch func(h http.Header) bool
	HeadersAuth  func(ctx context.Context, h http.Header) error
	// Matches says whether the processor handles the event.
	Matches func(ev *Event) bool
	// Auth checks credentials once the body is read (an HMAC over it); an
	// error answers 401. Without Auth or HeadersAuth every delivery is
	// refused: knowing the route's URL must not be enough to write.
	Auth func(ctx context.Context, ev *Event) error
	// Check validates the payload; an error answers 400.
	Check func(ev *Event) error
	// KindNames are the kinds the processor's events affect.
	KindNames []string
	// Apply returns the raw items to upsert and to delete for one resource
	// (see Processor.Handle).
	Apply func(ctx context.Context, ev *Event, res Resource) (Changes, error)
	// Key names the object an event is about: events with one key are
	// applied in arrival order, others concurrently (nil: one key).
	Key func(ev *Event) string
	// Version is the object's update time: an event older than one applied
	// for its key is skipped.
	Version func(ev *Event) (time.Time, bool)
	// Coalesce applies only the newest queued event of a key (for an Apply
	// that fetches the object's current state).
	Coalesce bool
}

var (
	_ Processor           = (*ProcessorFuncs)(nil)
	_ HeaderMatcher       = (*ProcessorFuncs)(nil)
	_ HeaderAuthenticator = (*ProcessorFuncs)(nil)
)

// Name returns ID.
func (p *ProcessorFuncs) Name() string { return p.ID }

// MatchHeaders calls HeadersMatch; without it every delivery may match.
func (p *ProcessorFuncs) MatchHeaders(h http.Header) bool {
	return p.HeadersMatch == nil || p.HeadersMatch(h)
}

// AuthenticateHeaders calls HeadersAuth, if set.
func (p *ProcessorFuncs) AuthenticateHeaders(ctx context.Context, h http.Header) error {
	if p.HeadersAuth == nil {
		return nil
	}
	return p.HeadersAuth(ctx, h)
}

// Match calls Matches.
func (p *ProcessorFuncs) Match(ev *Event) bool { return p.Matches != nil && p.Matches(ev) }

// Authenticate calls Auth; with neither Auth nor HeadersAuth it refuses.
func (p *ProcessorFuncs) Authenticate(ctx context.Context, ev *Event) error {
	switch {
	case p.Auth != nil:
		return p.Auth(ctx, ev)
	case p.HeadersAuth != nil:
		return nil // checked before the body was read
	}
	return ErrUnauthorized
}

// Validate calls Check, if set.
func (p *ProcessorFuncs) Validate(ev *Event) error {
	if p.Check == nil {
		return nil
	}
	return p.Check(ev)
}

// Kinds returns KindNames.
func (p *ProcessorFuncs) Kinds(*Event) []string { return p.KindNames }

// Handle calls Apply.
func (p *ProcessorFuncs) Handle(ctx context.Context, ev *Event, res Resource) (Changes, error) {
	if p.Apply == nil {
		return Changes{}, Permanent(fmt.Errorf("processor %s has no Apply", p.ID))
	}
	return p.Apply(ctx, ev, res)
}

// eventKey is the queue key of an event for processor p.
func eventKey(p Processor, ev *Event) string {
	if f, ok := p.(*ProcessorFuncs); ok && f.Key != nil {
		return p.Name() + "/" + f.Key(ev)
	}
	return p.Name()
}

// eventVersion is the object's version an event carries, if p says.
func eventVersion(p Processor, ev *Event) (time.Time, bool) {
	if f, ok := p.(*ProcessorFuncs); ok && f.Version != nil {
		return f.Version(ev)
	}
	return time.Time{}, false
}

// ErrUnauthorized is returned by Authenticate implementations for a missing
// or wrong secret.
var ErrUnauthorized = errors.New("unauthorized")

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the framework does not retry it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was wrapped with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
