package ocean

import (
	"context"
	"log/slog"
	"strings"
)

// redactingHandler replaces every configured secret value in log messages
// and string attributes with [REDACTED]: a token that slips into an error
// string (a URL, a provider's message) still never reaches the log.
type redactingHandler struct {
	next    slog.Handler
	secrets []string
}

func newRedactingHandler(next slog.Handler, secrets []string) slog.Handler {
	var s []string
	for _, v := range secrets {
		// Very short values would redact ordinary words; secrets are long.
		if len(v) >= 6 {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return next
	}
	if r, ok := next.(*redactingHandler); ok {
		return &redactingHandler{next: r.next, secrets: append(append([]string(nil), r.secrets...), s...)}
	}
	return &redactingHandler{next: next, secrets: s}
}

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactingHandler) scrub(s string) string {
	for _, sec := range h.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

func (h *redactingHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.scrub(v.String()))
	case slog.KindGroup:
		as := v.Group()
		out := make([]any, len(as))
		for i, x := range as {
			out[i] = h.attr(x)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.scrub(err.Error()))
		}
		return slog.String(a.Key, h.scrub(v.String()))
	default:
		return a
	}
}

func (h *redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, h.scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, nr)
}

func (h *redactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = h.attr(a)
	}
	return &redactingHandler{next: h.next.WithAttrs(out), secrets: h.secrets}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{next: h.next.WithGroup(name), secrets: h.secrets}
}

// RedactLogger wraps a logger so that every secret of cfg (the Port
// credentials, and provider settings whose names say they are secret) is
// replaced by [REDACTED] wherever it appears in a message or attribute.
// New does this for the App's own logger; providers built before the App
// use it for theirs.
func RedactLogger(l *slog.Logger, cfg *Config) *slog.Logger {
	return slog.New(newRedactingHandler(l.Handler(), configSecrets(cfg)))
}
