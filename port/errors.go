package port

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error is an error answer from Port, or one entity's failure inside a bulk answer.
type Error struct {
	// StatusCode is the HTTP status (for a bulk per-entity error, the entity's statusCode).
	StatusCode int
	// Code is Port's machine-readable error code, such as "not_found".
	Code string
	// Message is Port's human-readable message.
	Message string
	// Details is Port's optional details object, kept raw.
	Details json.RawMessage
	// Method and Path identify the request (Path is relative to the host, without query).
	Method, Path string
	// TraceID is Port's x-trace-id response header; quote it to Port support.
	TraceID string
	// Identifier is set for per-entity errors of a bulk upsert.
	Identifier string
	// RetryAfter is the wait Port asked for with Retry-After or x-ratelimit-reset, if any.
	RetryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("port: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Identifier != "" {
		fmt.Fprintf(&b, "entity %q: ", e.Identifier)
	}
	fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		b.WriteString(" (")
		b.WriteString(e.Code)
		b.WriteByte(')')
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.TraceID != "" {
		b.WriteString(" [trace ")
		b.WriteString(e.TraceID)
		b.WriteByte(']')
	}
	return b.String()
}

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether err is a Port 404 (a missing blueprint, entity, related
// entity or integration).
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsUnauthorized reports whether err is a Port 401: bad credentials, or a token Port
// rejected even after a refresh.
func IsUnauthorized(err error) bool { return statusOf(err) == http.StatusUnauthorized }

// IsForbidden reports whether err is a Port 403.
func IsForbidden(err error) bool { return statusOf(err) == http.StatusForbidden }

// IsRateLimited reports whether err is a Port 429 that outlasted the retry policy.
func IsRateLimited(err error) bool { return statusOf(err) == http.StatusTooManyRequests }

// IsValidation reports whether err is a Port 422: the request or an entity failed Port's
// validation.
func IsValidation(err error) bool { return statusOf(err) == http.StatusUnprocessableEntity }

// IsConflict reports whether err is a Port 409.
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// IsTooLarge reports whether err is a Port 413 or [ErrEntityTooLarge].
func IsTooLarge(err error) bool {
	return statusOf(err) == http.StatusRequestEntityTooLarge || errors.Is(err, ErrEntityTooLarge)
}

// ErrEntityTooLarge is returned (wrapped) for an entity whose JSON alone exceeds Port's
// 1 MiB request body limit; it is never sent.
var ErrEntityTooLarge = errors.New("entity exceeds Port's 1 MiB request body limit")

// errorBody is Port's error envelope: {"ok":false,"error":"...","message":"...","details":{}}.
type errorBody struct {
	Error   string          `json:"error"`
	Message string          `json:"message"`
	Details json.RawMessage `json:"details"`
}
