package ocean

import (
	"encoding/json"
	"log/slog"
)

// Secret is a string that must never be printed: client secrets, tokens,
// webhook secrets. Its String, LogValue and MarshalJSON all give
// "[REDACTED]"; Value returns the real thing for the one place that needs it.
type Secret string

const redacted = "[REDACTED]"

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String redacts the secret, so %s and %v never leak it.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts the secret for %#v.
func (s Secret) GoString() string { return `ocean.Secret("` + s.String() + `")` }

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON redacts the secret, so a config printed as JSON is safe.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a plain string.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Secret(v)
	return nil
}
