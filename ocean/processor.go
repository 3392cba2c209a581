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
	// Body is the raw request body, for signature checks. It is the one
	// form a queued event keeps: queues hold and count the raw bytes, never
	// a decoded copy (which takes about five times the memory).
	Body []byte `json:"body"`
	// Payload is Body decoded as a JSON object. The framework sets it for
	// Match, Authenticate, Validate and Key at intake and decodes it again
	// for Version and Handle; it is nil while the event waits in a queue.
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

// Processor handles one family of live events.
//
// The framework calls Match, then Authenticate and Validate while the
// sender waits, so that a bad secret is answered 401 and a malformed payload
// 400; everything after that runs from a bounded queue once the event has
// been acknowledged with 202.
//
// Match and Authenticate see the decoded body, so a delivery reaches them
// only after the framework has read it (within the route's size and
// concurrency bounds, see WebhookLimits). A processor that can tell from the
// headers alone whether a delivery is its own and authentic implements
// HeaderMatcher and HeaderAuthenticator as well: a delivery no processor
// claims, or that fails a header check, is then answered before a byte of
// its body is read, so that unauthenticated requests cost next to nothing.
// Authenticate still runs after the body is read (an HMAC signature over the
// body belongs there). Handle is called once per resource of each
// kind that Kinds names, and its result is mapped with that resource's
// mapping: an item the resource's selector query drops is not created (and
// is deleted if this integration owns it).
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
// from its headers (GitLab's X-Gitlab-Event, GitHub's X-GitHub-Event).
// MatchHeaders returning false means Match would too; true means "maybe":
// Match still decides once the body is read. A processor without it may
// match any delivery, which makes the framework read every body.
type HeaderMatcher interface {
	MatchHeaders(h http.Header) bool
}

// HeaderAuthenticator is implemented by processors whose credentials travel
// in a header (GitLab's X-Gitlab-Token; compare with crypto/subtle). The
// framework calls it, for every processor whose MatchHeaders did not rule
// the delivery out, before it reads the body; an error answers 401 and the
// body is never read.
type HeaderAuthenticator interface {
	AuthenticateHeaders(ctx context.Context, h http.Header) error
}

// ProcessorFuncs is a Processor made of functions — the way most
// processors are written. ID, Matches, KindNames and Apply are required;
// every other field is optional, and a nil one turns its feature off.
// Only a ProcessorFuncs can say how its events relate (Key, Version,
// Coalesce); a Processor of another type has its events applied one at a
// time in arrival order.
type ProcessorFuncs struct {
	// ID names the processor in logs and metrics.
	ID string
	// HeadersMatch rules a delivery out from its headers alone, before its
	// body is read (see HeaderMatcher).
	HeadersMatch func(h http.Header) bool
	// HeadersAuth checks credentials carried in headers before the body
	// is read; an error answers 401 (see HeaderAuthenticator).
	HeadersAuth func(ctx context.Context, h http.Header) error
	// Matches says whether the processor handles the event.
	Matches func(ev *Event) bool
	// Auth checks the event's credentials once its body is read (an HMAC
	// over it); an error answers 401. A processor with neither Auth nor
	// HeadersAuth refuses every delivery: a webhook route must not take
	// writes from anyone who knows its URL.
	Auth func(ctx context.Context, ev *Event) error
	// Check validates the payload; an error answers 400.
	Check func(ev *Event) error
	// KindNames are the kinds the processor's events affect.
	KindNames []string
	// Apply returns the raw items to upsert and to delete for one resource
	// (see Processor.Handle).
	Apply func(ctx context.Context, ev *Event, res Resource) (Changes, error)
	// Key names the object an event is about (a project, a merge
	// request): events with the same key are applied in arrival order,
	// others concurrently. Nil puts all the processor's events on one key.
	Key func(ev *Event) string
	// Version returns the object's last-update time the event carries:
	// an event older than one already applied for its key is skipped, so
	// an out-of-order delivery never leaves an older state in the catalog.
	Version func(ev *Event) (time.Time, bool)
	// Coalesce, for a processor whose Apply fetches the object's current
	// state, handles only the newest of the queued events for one key.
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
