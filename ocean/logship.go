package ocean

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
)

// Port shows an integration's logs on its page: Ocean ships every record to
// the integration's logAttributes.ingestUrl from a background thread,
// flushing every 5 seconds or every 100 records. The shipper below does the
// same from a goroutine. It sits under the App's redacting handler, so what
// it ships is exactly what is printed, secrets already replaced; and nothing
// a resync does ever waits for it: records go to a bounded buffer, and when
// Port cannot take them they are dropped and counted.
const (
	logFlushInterval = 5 * time.Second
	logFlushRecords  = 100
	// logBufferMax bounds the records held while Port is slow or away
	// (and, before the App knows whether Port wants logs, since start).
	logBufferMax = 2000
	// logValueMax bounds a message or string attribute: Port takes 1 MiB
	// per request, and one huge line must not cost the batch around it.
	logValueMax = 8 << 10
	// logBatchBytes bounds one request's estimated size.
	logBatchBytes = 512 << 10
	// logRequestTimeout bounds one shipping request.
	logRequestTimeout = 10 * time.Second
)

// Shipper states.
const (
	shipPending = iota // Port's ingest URL not known yet: buffer
	shipOn             // shipping
	shipOff            // no ingest URL, dry run, or stopped: drop silently
)

// logIngester is what the shipper needs of Port.
type logIngester interface {
	IngestLogs(ctx context.Context, ingestURL string, logs []port.LogRecord) error
}

// logShipper buffers log records and sends them to Port in batches.
type logShipper struct {
	level   slog.Level
	clock   clock.Clock
	port    logIngester
	urls    *ingestURLs
	metrics *metrics
	// warn prints the shipper's own warnings, redacted but never shipped:
	// a warning about Port being away must not feed the buffer it is about.
	warn *slog.Logger

	mu      sync.Mutex
	state   int
	buf     []port.LogRecord
	warned  bool // the current outage was reported
	kick    chan struct{}
	stopRun context.CancelFunc
	done    chan struct{}
}

func newLogShipper(level slog.Level, clk clock.Clock, p logIngester, urls *ingestURLs, m *metrics, warn *slog.Logger) *logShipper {
	return &logShipper{level: level, clock: clk, port: p, urls: urls, metrics: m, warn: warn, kick: make(chan struct{}, 1)}
}

// shipLogs puts a log shipper into the App's logger, under its redacting
// handler. It does nothing in a dry run or without a Port client: nothing
// may reach Port then.
func (a *App) shipLogs() {
	if a.port == nil || a.dryRun {
		return
	}
	if a.telemetry == nil {
		a.telemetry = &ingestURLs{port: a.port, id: a.cfg.Integration.Identifier}
	}
	h := a.log.Handler()
	// The flush ticker runs on the wall clock, not the App's: it paces a
	// background upload, and must not add a ticker to the App's clock that
	// tests of its schedules count. Tests of the shipper set its clock.
	s := newLogShipper(parseLogLevel(a.cfg.Application.LogLevel), clock.Real{}, a.port, a.telemetry, a.metrics, slog.New(h))
	if next, secrets, ok := settings.UnwrapRedacting(h); ok {
		a.log = slog.New(settings.NewRedactingHandler(&teeHandler{next: next, s: s}, secrets))
	} else {
		a.log = slog.New(&teeHandler{next: h, s: s})
	}
	a.logShipper = s
}

// startLogShipping runs the shipper until the returned stop is called; stop
// sends what is left, within the shutdown budget, and turns shipping off.
func (a *App) startLogShipping(ctx context.Context) (stop func()) {
	s := a.logShipper
	if s == nil {
		return func() {}
	}
	s.start(ctx)
	return func() {
		wait := time.Duration(a.cfg.MaxWaitSecondsBeforeShutdown * float64(time.Second))
		if wait <= 0 {
			wait = 5 * time.Second
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
		defer cancel()
		a.telemetry.waitSenders(fctx)
		s.close(fctx)
	}
}

func parseLogLevel(s string) slog.Level {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG", "TRACE":
		return slog.LevelDebug
	case "WARN", "WARNING":
		return slog.LevelWarn
	case "ERROR", "CRITICAL", "FATAL":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// portLevel names a level as Ocean's records do (loguru's names).
func portLevel(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// add buffers a record; it never blocks on Port.
func (s *logShipper) add(rec port.LogRecord) {
	s.mu.Lock()
	if s.state == shipOff {
		s.mu.Unlock()
		return
	}
	if len(s.buf) >= logBufferMax {
		s.mu.Unlock()
		s.metrics.add("ocean_logs_dropped_total", 1)
		return
	}
	s.buf = append(s.buf, rec)
	full := len(s.buf) >= logFlushRecords && s.state == shipOn
	s.mu.Unlock()
	if full {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

func (s *logShipper) start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.stopRun = cancel
	s.done = make(chan struct{})
	done := s.done
	s.mu.Unlock()
	t := s.clock.NewTicker(logFlushInterval)
	go func() {
		defer close(done)
		defer t.Stop()
		s.flush(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C():
			case <-s.kick:
			}
			s.flush(ctx)
		}
	}()
}

// close stops the background goroutine, sends what is buffered within ctx,
// and drops whatever comes after.
func (s *logShipper) close(ctx context.Context) {
	s.mu.Lock()
	cancel, done := s.stopRun, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	s.flush(ctx)
	s.mu.Lock()
	s.state = shipOff
	n := len(s.buf)
	s.buf = nil
	s.mu.Unlock()
	if n > 0 {
		s.metrics.add("ocean_logs_dropped_total", float64(n))
	}
}

// flush sends the buffer in batches until it is empty or a batch fails.
func (s *logShipper) flush(ctx context.Context) {
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	if state == shipOff {
		return
	}
	url, err := s.urls.logs(ctx)
	if err != nil {
		// The integration may not exist yet (first start); keep
		// buffering, within bounds, and ask again next time.
		return
	}
	if url == "" {
		s.mu.Lock()
		s.state, s.buf = shipOff, nil
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	if s.state == shipPending {
		s.state = shipOn
	}
	s.mu.Unlock()
	for ctx.Err() == nil {
		batch := s.take()
		if len(batch) == 0 {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, logRequestTimeout)
		err := s.port.IngestLogs(rctx, url, batch)
		cancel()
		if err != nil && ctx.Err() != nil {
			// Stopped while sending (shutdown): the batch goes back for
			// close's last flush. Dropping it lost the records a run logs
			// last, "resync finished" among them, whenever a flush was
			// under way as the App stopped.
			s.putBack(batch)
			return
		}
		if err != nil {
			s.failed(len(batch), err)
			return
		}
		s.sent(len(batch))
	}
}

// take removes the next batch from the buffer: at most logFlushRecords
// records and about logBatchBytes.
func (s *logShipper) take() []port.LogRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, size := 0, 0
	for n < len(s.buf) && n < logFlushRecords {
		size += recordSize(&s.buf[n])
		if n > 0 && size > logBatchBytes {
			break
		}
		n++
	}
	batch := append([]port.LogRecord(nil), s.buf[:n]...)
	s.buf = append(s.buf[:0], s.buf[n:]...)
	return batch
}

// putBack returns a batch that was taken but not sent to the front of the
// buffer, within its bound.
func (s *logShipper) putBack(batch []port.LogRecord) {
	s.mu.Lock()
	s.buf = append(batch, s.buf...)
	dropped := 0
	if len(s.buf) > logBufferMax {
		dropped = len(s.buf) - logBufferMax
		s.buf = s.buf[:logBufferMax]
	}
	s.mu.Unlock()
	if dropped > 0 {
		s.metrics.add("ocean_logs_dropped_total", float64(dropped))
	}
}

func (s *logShipper) failed(n int, err error) {
	s.metrics.add("ocean_logs_dropped_total", float64(n))
	s.mu.Lock()
	first := !s.warned
	s.warned = true
	s.mu.Unlock()
	if first {
		s.warn.Warn("could not ship logs to Port; dropping them until it answers (counted in ocean_logs_dropped_total)", "error", err)
	}
}

func (s *logShipper) sent(n int) {
	s.metrics.add("ocean_logs_shipped_total", float64(n))
	s.mu.Lock()
	recovered := s.warned
	s.warned = false
	s.mu.Unlock()
	if recovered {
		s.warn.Info("shipping logs to Port again")
	}
}

// recordSize estimates a record's JSON size.
func recordSize(r *port.LogRecord) int {
	n := 80 + len(r.Message)
	for k, v := range r.Extra {
		n += len(k) + 8
		if s, ok := v.(string); ok {
			n += len(s)
		} else {
			n += 32
		}
	}
	return n
}

// teeHandler passes records on and copies them into the shipper. It keeps
// the attributes and groups added with WithAttrs and WithGroup, because the
// next handler applies them only to its own output.
type teeHandler struct {
	next   slog.Handler
	s      *logShipper
	attrs  map[string]any // flattened "group.key" → value
	prefix string         // the open groups, "a.b."
}

func (t *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.next.Enabled(ctx, l) || l >= t.s.level
}

func (t *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if t.next.Enabled(ctx, r.Level) {
		err = t.next.Handle(ctx, r)
	}
	if r.Level >= t.s.level {
		t.s.add(t.record(r))
	}
	return err
}

func (t *teeHandler) record(r slog.Record) port.LogRecord {
	extra := make(map[string]any, len(t.attrs)+r.NumAttrs())
	for k, v := range t.attrs {
		extra[k] = v
	}
	r.Attrs(func(a slog.Attr) bool {
		flatten(extra, t.prefix, a)
		return true
	})
	ts := r.Time
	if ts.IsZero() {
		ts = t.s.clock.Now()
	}
	return port.LogRecord{Message: truncate(r.Message), Level: portLevel(r.Level), Timestamp: ts.UTC(), Extra: extra}
}

func (t *teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	attrs := make(map[string]any, len(t.attrs)+len(as))
	for k, v := range t.attrs {
		attrs[k] = v
	}
	for _, a := range as {
		flatten(attrs, t.prefix, a)
	}
	return &teeHandler{next: t.next.WithAttrs(as), s: t.s, attrs: attrs, prefix: t.prefix}
}

func (t *teeHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return t
	}
	return &teeHandler{next: t.next.WithGroup(name), s: t.s, attrs: t.attrs, prefix: t.prefix + name + "."}
}

// flatten adds an attribute to extra as JSON-friendly values, groups as
// dotted keys.
func flatten(extra map[string]any, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			flatten(extra, p, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	var out any
	switch v.Kind() {
	case slog.KindString:
		out = truncate(v.String())
	case slog.KindInt64:
		out = v.Int64()
	case slog.KindUint64:
		out = v.Uint64()
	case slog.KindFloat64:
		out = v.Float64()
	case slog.KindBool:
		out = v.Bool()
	case slog.KindTime:
		out = v.Time().UTC().Format(time.RFC3339Nano)
	case slog.KindDuration:
		out = v.Duration().String()
	default:
		// The redacting handler above turned errors and other values into
		// redacted strings; anything else is printed, as the text handler
		// would.
		if err, ok := v.Any().(error); ok {
			out = truncate(err.Error())
		} else {
			out = truncate(fmt.Sprint(v.Any()))
		}
	}
	extra[prefix+a.Key] = out
}

func truncate(s string) string {
	if len(s) <= logValueMax {
		return s
	}
	return strings.ToValidUTF8(s[:logValueMax], "") + "…"
}

// ingestURLs reads the telemetry ingest URLs from the integration object
// once, when first needed: the integration may be created by the App's own
// start, after the shipper began buffering. It also tracks the sync-metrics
// senders of running resyncs, so that shutdown can wait for them.
type ingestURLs struct {
	port *port.Client
	id   string

	reporters sync.Map       // resync ID → *syncReporter
	wg        sync.WaitGroup // sync-metrics senders

	mu       sync.Mutex
	resolved bool
	log, met string
}

func (u *ingestURLs) get(ctx context.Context) (logs, metrics string, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.resolved {
		return u.log, u.met, nil
	}
	if u.port == nil {
		return "", "", errors.New("ocean: no Port client")
	}
	rctx, cancel := context.WithTimeout(ctx, logRequestTimeout)
	defer cancel()
	in, err := u.port.GetIntegration(rctx, u.id)
	if err != nil {
		return "", "", fmt.Errorf("ocean: read the integration's ingest URLs: %w", err)
	}
	u.resolved, u.log, u.met = true, in.LogIngestURL(), in.MetricIngestURL()
	return u.log, u.met, nil
}

func (u *ingestURLs) logs(ctx context.Context) (string, error) {
	l, _, err := u.get(ctx)
	return l, err
}

func (u *ingestURLs) metrics(ctx context.Context) (string, error) {
	_, m, err := u.get(ctx)
	return m, err
}

// waitSenders waits, at most until ctx is done, for the sync metrics still
// on their way to Port.
func (u *ingestURLs) waitSenders(ctx context.Context) {
	done := make(chan struct{})
	go func() { u.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
