package ocean

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/ocean/settings"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/port"
)

// App is a running integration: one provider, one Port installation.
type App struct {
	cfg      *settings.Config
	provider *Provider
	port     *port.Client
	writer   entityWriter
	log      *slog.Logger
	clock    clock.Clock
	metrics  *metrics
	environ  []string

	staticConfig *mapping.Config

	pacMu     sync.Mutex
	pacCache  *mapping.Config
	pacAt     time.Time
	mapper    *compiled
	mapperKey string

	stateUpdatedAt atomic.Int64

	dryRun         bool
	files          *fileStore
	eventRetries   int
	eventRetryBase time.Duration

	sched      *scheduler
	hooks      webhookIntake // the live-event route's limits and state (server.go)
	queue      EventQueue
	flagged    *flaggedQueue // a queue used only if the organisation has a flag
	versionsMu sync.Mutex
	versions   map[string]time.Time
	listeners  map[string]Listener
	actions    *actionRunner
	actionPoll time.Duration
	ready      atomic.Bool
	// queueRunning is set while Run's live-event workers run.
	queueRunning atomic.Bool
	listenMu     sync.Mutex
	listenURL    string

	// telemetry: logs and sync metrics shipped to Port (logship.go, syncmetrics.go)
	telemetry  *ingestURLs
	logShipper *logShipper
}

// Option configures an App. Options check what they are given: New
// returns the first error, as port's options do.
type Option func(*App) error

// WithLogger sets the logger (slog.Default() when the option is not
// given).
func WithLogger(l *slog.Logger) Option {
	return func(a *App) error {
		if l == nil {
			return errors.New("ocean: WithLogger(nil): leave the option out for slog.Default()")
		}
		a.log = l
		return nil
	}
}

// WithClock sets the time source (package clock has the real one and a
// fake that tests advance by hand).
func WithClock(c clock.Clock) Option {
	return func(a *App) error {
		if c == nil {
			return errors.New("ocean: WithClock(nil)")
		}
		a.clock = c
		return nil
	}
}

// WithPortClient uses a Port client built by the caller instead of one built
// from the config.
func WithPortClient(c *port.Client) Option {
	return func(a *App) error {
		if c == nil {
			return errors.New("ocean: WithPortClient(nil)")
		}
		a.port = c
		return nil
	}
}

// WithPortAppConfig uses this port app config (the mapping) instead of the
// one stored in Port.
func WithPortAppConfig(pac *mapping.Config) Option {
	return func(a *App) error { a.staticConfig = pac; return nil }
}

// WithEnviron sets the environment jq's env sees (os.Environ() otherwise).
func WithEnviron(env []string) Option {
	return func(a *App) error { a.environ = env; return nil }
}

// WithDryRun sends every write to w as JSON lines (DryRunRecord) instead of
// to Port. Port is still read (the mapping, the entities it holds) when a
// client is configured; nothing in it changes.
func WithDryRun(w io.Writer) Option {
	return func(a *App) error {
		if w == nil {
			return errors.New("ocean: WithDryRun(nil): pass io.Discard to drop the records")
		}
		a.writer = newDryRunWriter(w)
		a.dryRun = true
		return nil
	}
}

// Listener is an event listener the framework does not build in (KAFKA
// lives in its own package to keep this one free of a Kafka client). Start
// runs until ctx is done, asking for resyncs through t.
type Listener interface {
	Start(ctx context.Context, t Trigger) error
}

// Trigger asks the App for a resync. cancelRunning aborts a resync in
// progress (the config it runs with is stale); otherwise the request waits
// for it and requests made meanwhile collapse into one.
type Trigger interface {
	TriggerResync(reason string, cancelRunning bool)
}

// WithListener registers a listener for a listener type.
func WithListener(typ string, l Listener) Option {
	return func(a *App) error {
		if typ == "" || l == nil {
			return errors.New("ocean: WithListener needs a listener type and a listener")
		}
		if a.listeners == nil {
			a.listeners = map[string]Listener{}
		}
		a.listeners[strings.ToUpper(typ)] = l
		return nil
	}
}

// New builds an App. The Port client is built from cfg.Port unless one is
// given; a config without Port credentials builds an App that needs a local
// port app config and a dry run.
func New(cfg *settings.Config, p *Provider, opts ...Option) (*App, error) {
	if cfg == nil || p == nil {
		return nil, errors.New("ocean: New needs a config and a provider")
	}
	if p.Type == "" {
		return nil, errors.New("ocean: provider has no Type")
	}
	if p.Version == "" {
		// The version is only informative in the datasource: ownership
		// matches on type and identifier.
		cp := *p
		cp.Version = "0.0.0"
		p = &cp
	}
	// The App keeps its own copy: defaults filled in here must not show up
	// in the caller's Config.
	own := *cfg
	cfg = &own
	if t := cfg.Integration.Type; t != "" && t != p.Type {
		// The type is part of the datasource that marks entities as this
		// integration's: a mismatch would orphan them.
		return nil, &settings.ConfigError{Name: "OCEAN__INTEGRATION__TYPE", Reason: fmt.Sprintf("%q does not match the provider's type %q", t, p.Type)}
	}
	a := &App{cfg: cfg, provider: p, clock: clock.Real{}}
	for _, o := range opts {
		if err := o(a); err != nil {
			return nil, err
		}
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if cfg.Integration.Type == "" {
		cfg.ApplyDefaults(p.Type)
	}
	// The prefix becomes part of route patterns, which panic on a bad one.
	if err := settings.CheckPathPrefix(cfg.PathPrefix); err != nil {
		return nil, &settings.ConfigError{Name: "OCEAN__PATH_PREFIX", Reason: err.Error()}
	}
	a.log = slog.New(settings.NewRedactingHandler(a.log.Handler(), cfg.Secrets()))
	a.metrics = newMetrics()
	if a.port == nil && cfg.Port.ClientID != "" {
		if err := cfg.CheckPortClient(); err != nil {
			return nil, err
		}
		tc, err := cfg.SSL.PortTLS()
		if err != nil {
			return nil, err
		}
		if tc.InsecureSkipVerify {
			a.log.Warn("TLS certificate verification is off for Port (OCEAN__SSL__PORT__VERIFY=false): not for production")
		}
		c, err := port.New(cfg.Port.BaseURL, cfg.Port.ClientID.Value(), cfg.Port.ClientSecret.Value(),
			port.WithDatasource(a.datasource()),
			port.WithLogger(a.log),
			port.WithTimeout(cfg.ClientTimeout),
			port.WithTLSConfig(tc))
		if err != nil {
			return nil, fmt.Errorf("ocean: port client: %w", err)
		}
		a.port = c
	}
	if a.writer == nil {
		if a.port == nil {
			return nil, errors.New("ocean: no Port client: set OCEAN__PORT__CLIENT_ID and OCEAN__PORT__CLIENT_SECRET, or use a dry run")
		}
		a.writer = portWriter{c: a.port}
	}
	a.shipLogs()
	if cfg.PortAppConfigFile != "" && a.staticConfig == nil {
		b, err := os.ReadFile(cfg.PortAppConfigFile)
		if err != nil {
			return nil, &settings.ConfigError{Name: "OCEAN__PORT_APP_CONFIG_FILE", Reason: "cannot read", Err: err}
		}
		pac, err := a.parseConfig(b)
		if err != nil {
			return nil, fmt.Errorf("ocean: %s: %w", cfg.PortAppConfigFile, err)
		}
		a.staticConfig = pac
	}
	if a.staticConfig != nil {
		// A resource that does not compile is logged here and fails alone
		// in each resync; a config of which nothing can run is refused.
		c, err := a.compile(a.staticConfig)
		if err == nil && len(c.Resources()) > 0 && len(c.broken) == len(c.Resources()) {
			var errs []error
			for _, rm := range c.Resources() {
				errs = append(errs, c.resourceErr(rm.Index()))
			}
			err = errors.Join(errs...)
		}
		if err != nil {
			return nil, fmt.Errorf("ocean: port app config: %w", err)
		}
	}
	if p := cfg.Integration.IncrementalStateFile; p != "" {
		a.files = &fileStore{path: p}
	}
	a.sched = newScheduler(a)
	if a.queue == nil {
		a.queue = newMemoryQueue(a)
	}
	a.versions = map[string]time.Time{}
	actions, err := newActionRunner(a)
	if err != nil {
		return nil, err
	}
	a.actions = actions
	return a, nil
}

// Config returns the App's configuration.
func (a *App) Config() *settings.Config { return a.cfg }

// Port returns the Port client, or nil in a dry run without credentials.
func (a *App) Port() *port.Client { return a.port }

// Logger returns the App's logger (secrets redacted).
func (a *App) Logger() *slog.Logger { return a.log }

func (a *App) datasource() port.Datasource {
	return port.Datasource{Type: a.cfg.Integration.Type, Version: a.provider.Version, Identifier: a.cfg.Integration.Identifier}
}

// jqEnviron is the environment jq's env and $ENV see (Config.JQEnviron).
func (a *App) jqEnviron() []string {
	env := a.environ
	if env == nil {
		env = os.Environ()
	}
	return a.cfg.JQEnviron(env)
}

// Run runs the integration as its listener type says until ctx is done (or,
// for ONCE, until the resync ends): initialise Port resources, serve live
// events and health, and resync when the listener asks. For ONCE the error
// is the resync's, so that the exit code tells a scheduler whether it
// worked.
func (a *App) Run(ctx context.Context) error {
	typ := a.cfg.EventListener.Type
	if err := a.cfg.Validate(a.port != nil && a.writer != nil); err != nil {
		return err
	}
	a.logSettingNotices()
	defer a.startLogShipping(ctx)()
	if a.port != nil && !a.dryRun {
		if _, ok := a.writer.(portWriter); ok {
			if err := a.start(ctx); err != nil {
				return err
			}
		}
	}
	switch typ {
	case settings.ListenerOnce, settings.ListenerPolling, settings.ListenerWebhooksOnly, settings.ListenerWebhook, settings.ListenerActionsOnly:
	default:
		if _, ok := a.listeners[typ]; !ok {
			return &settings.ConfigError{Name: "OCEAN__EVENT_LISTENER__TYPE", Reason: fmt.Sprintf("listener %s is not available in this program", typ)}
		}
	}
	if typ == settings.ListenerOnce {
		_, err := a.Resync(ctx, ResyncOptions{Trigger: "once", Incremental: a.onceIncremental()})
		return err
	}

	if typ != settings.ListenerActionsOnly {
		if err := a.chooseQueue(ctx); err != nil {
			return err
		}
	}

	srv, err := a.listen()
	if err != nil {
		return err
	}
	// Every part runs in one group: the first to fail stops the others,
	// and the server is shut down when the context ends either way.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(srv.serve)
	g.Go(func() error {
		<-ctx.Done()
		a.ready.Store(false)
		shutdownCtx, stop := context.WithTimeout(context.Background(), time.Duration(a.cfg.MaxWaitSecondsBeforeShutdown*float64(time.Second)))
		defer stop()
		srv.shutdown(shutdownCtx)
		return nil
	})
	// untilDone runs a part that ends with the context; an error it
	// returns before then stops the integration.
	untilDone := func(name string, f func(context.Context) error) {
		g.Go(func() error {
			if err := f(ctx); err != nil && ctx.Err() == nil {
				return fmt.Errorf("ocean: %s: %w", name, err)
			}
			return nil
		})
	}
	shouldResync := typ != settings.ListenerWebhooksOnly && typ != settings.ListenerActionsOnly
	if typ != settings.ListenerActionsOnly {
		a.queueRunning.Store(true)
		untilDone("live-event queue", func(ctx context.Context) error {
			defer a.queueRunning.Store(false)
			return a.queue.Run(ctx, a.applyQueued)
		})
	}
	if a.provider.Start != nil {
		env := StartEnv{BaseURL: a.cfg.BaseURL, ListenerType: typ, Logger: a.log}
		if a.cfg.BaseURL != "" {
			env.WebhookURL = a.cfg.BaseURL + a.routePrefix() + "/integration/webhook"
		}
		if err := a.provider.Start(ctx, env); err != nil {
			a.log.Warn("provider start hook failed", "error", err)
		}
	}
	actions, err := a.startActions(ctx, typ)
	if err != nil {
		cancel()
		_ = g.Wait()
		return err
	}
	untilDone("actions processor", actions)
	if shouldResync {
		untilDone("scheduler", func(ctx context.Context) error { a.sched.run(ctx); return nil })
	}
	switch typ {
	case settings.ListenerPolling:
		untilDone("poller", func(ctx context.Context) error { a.poll(ctx); return nil })
	case settings.ListenerWebhooksOnly, settings.ListenerWebhook, settings.ListenerActionsOnly:
	default:
		l := a.listeners[typ]
		untilDone(typ+" listener", func(ctx context.Context) error { return l.Start(ctx, a) })
	}
	if shouldResync && a.cfg.ScheduledResyncInterval > 0 {
		untilDone("scheduled resyncs", func(ctx context.Context) error { a.scheduled(ctx); return nil })
	}
	if shouldResync && a.cfg.Integration.IncrementalSyncEnabled {
		untilDone("incremental resyncs", func(ctx context.Context) error { a.incrementalTimer(ctx); return nil })
	}
	a.ready.Store(true)
	a.log.Info("integration running", "listener", typ, "identifier", a.cfg.Integration.Identifier,
		"type", a.cfg.Integration.Type, "address", srv.addr())
	err = g.Wait()
	a.log.Info("integration stopped")
	return err
}

// TriggerResync asks for a resync (see Trigger).
func (a *App) TriggerResync(reason string, cancelRunning bool) {
	a.sched.trigger(reason, cancelRunning)
}

// Addr returns the address the HTTP server listens on once Run started it.
func (a *App) Addr() string {
	a.listenMu.Lock()
	defer a.listenMu.Unlock()
	return a.listenURL
}

func (a *App) routePrefix() string {
	p := strings.Trim(a.cfg.PathPrefix, "/")
	if p == "" {
		return ""
	}
	return "/" + p
}

type httpServer struct {
	srv *http.Server
	ln  net.Listener
}

func (a *App) listen() (*httpServer, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", a.cfg.Application.Port))
	if err != nil {
		return nil, fmt.Errorf("ocean: listen on APPLICATION__PORT %d: %w", a.cfg.Application.Port, err)
	}
	a.listenMu.Lock()
	a.listenURL = ln.Addr().String()
	a.listenMu.Unlock()
	// The read timeout closes connections that trickle a request (the
	// body is read only for authenticated deliveries, but a slow sender
	// must not hold a connection and its goroutine for ever).
	lim := a.intake().resolved
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		IdleTimeout:       lim.IdleTimeout,
	}
	srv.RegisterOnShutdown(a.intake().rejects.flush)
	return &httpServer{srv: srv, ln: ln}, nil
}

func (s *httpServer) serve() error {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("ocean: http server: %w", err)
	}
	return nil
}

func (s *httpServer) addr() string { return s.ln.Addr().String() }

func (s *httpServer) shutdown(ctx context.Context) { _ = s.srv.Shutdown(ctx) }

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
