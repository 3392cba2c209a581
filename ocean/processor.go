package ocean

import (
	"context"
	"encoding/json"
	"errors"
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

// Keyer is implemented by processors that can name the object an event is
// about (a project, a merge request). Events with the same key are applied
// in the order they arrived; a processor without it orders all its events
// on one key.
type Keyer interface {
	Key(ev *Event) string
}

// Versioner is implemented by processors whose events carry the object's
// last-update time. The framework keeps the newest version it applied per
// key and skips an event older than it, so an out-of-order delivery never
// leaves an older state in the catalog.
type Versioner interface {
	Version(ev *Event) (time.Time, bool)
}

// Coalescer is implemented by processors whose Handle fetches the object's
// current state instead of trusting the payload. When several events for one
// key are queued, only the newest is handled: the older ones would fetch the
// same state.
type Coalescer interface {
	Coalesce() bool
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
