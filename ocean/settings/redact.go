package settings

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// minRedactLen is the shortest value redacted from text: shorter values
// would redact ordinary words, and real secrets are longer.
const minRedactLen = 6

// redactor replaces known secret values in text. Each secret is matched as
// written and as JSON and Go quoting escape it, so a secret holding a quote
// or a backslash is found inside a JSON log line too.
type redactor struct {
	secrets []string // longest first, so a secret containing another goes whole
}

func newRedactor(secrets ...string) redactor {
	var r redactor
	r.add(secrets...)
	return r
}

// add returns nothing and changes r: callers that share a redactor between
// goroutines guard it.
func (r *redactor) add(secrets ...string) {
	seen := make(map[string]bool, len(r.secrets))
	for _, s := range r.secrets {
		seen[s] = true
	}
	for _, v := range secrets {
		for _, form := range secretForms(v) {
			if len(form) >= minRedactLen && !seen[form] {
				seen[form] = true
				r.secrets = append(r.secrets, form)
			}
		}
	}
	sort.SliceStable(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// secretForms are the ways v can appear in printed text.
func secretForms(v string) []string {
	forms := []string{v}
	if b, err := json.Marshal(v); err == nil {
		if j := string(b[1 : len(b)-1]); j != v {
			forms = append(forms, j)
		}
	}
	if q := strconv.Quote(v); q[1:len(q)-1] != v {
		forms = append(forms, q[1:len(q)-1])
	}
	return forms
}

func (r redactor) empty() bool { return len(r.secrets) == 0 }

func (r redactor) scrub(s string) string {
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return s
}

// redactingHandler replaces every configured secret value in log messages
// and string attributes with [REDACTED]: a token that slips into an error
// string (a URL, a provider's message) still never reaches the log.
type redactingHandler struct {
	next slog.Handler
	r    redactor
}

// NewRedactingHandler wraps next so that every value of secrets is replaced
// by Mask in messages and string attributes. Wrapping a handler it made
// merges the secrets instead of nesting.
func NewRedactingHandler(next slog.Handler, secrets []string) slog.Handler {
	if prev, ok := next.(*redactingHandler); ok {
		merged := redactor{secrets: append([]string(nil), prev.r.secrets...)}
		merged.add(secrets...)
		return &redactingHandler{next: prev.next, r: merged}
	}
	r := newRedactor(secrets...)
	if r.empty() {
		return next
	}
	return &redactingHandler{next: next, r: r}
}

// UnwrapRedacting returns the handler and the secrets a handler made by
// NewRedactingHandler wraps, so that a caller can insert a handler below
// the redaction (ok is false for any other handler).
func UnwrapRedacting(h slog.Handler) (next slog.Handler, secrets []string, ok bool) {
	rh, ok := h.(*redactingHandler)
	if !ok {
		return h, nil, false
	}
	return rh.next, append([]string(nil), rh.r.secrets...), true
}

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactingHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.scrub(v.String()))
	case slog.KindGroup:
		as := v.Group()
		out := make([]any, len(as))
		for i, x := range as {
			out[i] = h.attr(x)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.r.scrub(err.Error()))
		}
		return slog.String(a.Key, h.r.scrub(v.String()))
	default:
		return a
	}
}

func (h *redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, h.r.scrub(r.Message), r.PC)
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
	return &redactingHandler{next: h.next.WithAttrs(out), r: h.r}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{next: h.next.WithGroup(name), r: h.r}
}

// RedactLogger wraps a logger so that every secret of cfg (see
// Config.Secrets) is replaced by [REDACTED] wherever it appears in a
// message or attribute. New does this for the App's own logger; providers
// built before the App use it for theirs.
func RedactLogger(l *slog.Logger, cfg *Config) *slog.Logger {
	return slog.New(NewRedactingHandler(l.Handler(), configSecrets(cfg)))
}

// RedactingWriter passes what is written to it on, line by line, with every
// known secret replaced by [REDACTED]. A program wraps its stdout and stderr
// in one so that nothing it prints — a log line, a config error printed
// before any logger exists, an error a server echoed with the request in
// it — can carry a secret, whoever formatted the line. Writing is safe from
// several goroutines; Flush writes a last line that has no newline.
type RedactingWriter struct {
	mu      sync.Mutex
	w       io.Writer
	r       redactor
	pending []byte // the start of a line not yet ended
}

// NewRedactingWriter returns a RedactingWriter to w that redacts secrets
// (values shorter than six bytes are not redacted: they would hide
// ordinary words).
func NewRedactingWriter(w io.Writer, secrets ...string) *RedactingWriter {
	return &RedactingWriter{w: w, r: newRedactor(secrets...)}
}

// AddSecrets redacts more values from now on (those of a config loaded
// after the writer was made).
func (rw *RedactingWriter) AddSecrets(secrets ...string) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.r.add(secrets...)
}

// Write redacts and writes every complete line of p, and keeps the rest of
// the line until its end arrives: a secret split across two writes is still
// found. It reports len(p) unless the underlying writer fails.
func (rw *RedactingWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.pending = append(rw.pending, p...)
	i := bytes.LastIndexByte(rw.pending, '\n')
	if i < 0 {
		return len(p), nil
	}
	lines := rw.pending[:i+1]
	if err := rw.emit(lines); err != nil {
		return 0, err
	}
	rw.pending = append(rw.pending[:0], rw.pending[i+1:]...)
	return len(p), nil
}

// Flush writes, redacted, what is left of an unfinished line.
func (rw *RedactingWriter) Flush() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.pending) == 0 {
		return nil
	}
	err := rw.emit(rw.pending)
	rw.pending = rw.pending[:0]
	return err
}

func (rw *RedactingWriter) emit(b []byte) error {
	if rw.r.empty() {
		_, err := rw.w.Write(b)
		return err
	}
	_, err := io.WriteString(rw.w, rw.r.scrub(string(b)))
	return err
}
