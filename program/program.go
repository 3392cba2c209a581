package program

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/ocean/settings"
)

// Exit codes of Run.
const (
	// ExitOK: the run succeeded (or --help was asked for).
	ExitOK = 0
	// ExitFailed: a resync did not complete, a server stopped on an
	// error, or a probe check failed.
	ExitFailed = 1
	// ExitUsage: bad flags or settings.
	ExitUsage = 2
)

// Spec describes a sync program: its name, its provider and the
// documentation of the provider's settings. Provider (or NewApp) is
// required; the rest is optional.
type Spec struct {
	// Name is the command's name in --help and in error messages
	// ("tracker-sync").
	Name string
	// Summary is the first line of --help: what the program does.
	Summary string
	// Type is the integration type, the default of
	// OCEAN__INTEGRATION__TYPE (and part of the datasource Port records
	// on every entity).
	Type string
	// Provider builds the provider from the loaded settings; it decodes
	// its own (OCEAN__INTEGRATION__CONFIG__…) with
	// ocean.DecodeIntegrationConfig. logger is the program's, at the
	// configured level and redacted. The program then runs the provider
	// with ocean.New.
	Provider func(cfg *settings.Config, logger *slog.Logger) (*ocean.Provider, error)
	// NewApp, when set, builds the App instead of Provider and ocean.New
	// (gitlab.NewApp has this shape). It must pass opts, the program's
	// options (dry run, listeners, queue, environment), to ocean.New.
	NewApp func(cfg *settings.Config, logger *slog.Logger, opts ...ocean.Option) (*ocean.App, error)
	// Settings is the provider's settings struct, a pointer to its zero
	// value (&trackerConfig{}): --help lists its fields as
	// OCEAN__INTEGRATION__CONFIG__… variables, with their defaults.
	Settings any
	// Help describes settings by variable name. It adds to, and
	// overrides, the program's descriptions of the framework's settings
	// and the `help` tags of Settings' fields
	// (`ocean:"trackerUrl,required" help:"the tracker's API"`).
	Help map[string]string
	// Defaults are defaults computed at run time, by variable name, shown
	// in --help instead of the struct tag's.
	Defaults map[string]string
	// Examples are example invocations, shown in --help after the usage
	// lines ("tracker-sync --once", …); nil shows the program's own.
	Examples []string
	// ProbeSteps returns the provider's own checks for the probe command
	// (its credentials, say), run after Port's.
	ProbeSteps func(cfg *settings.Config, logger *slog.Logger) ([]ocean.ProbeStep, error)
}

// Main runs the program for the process: os.Args and os.Environ, stdout
// and stderr, stopped by SIGINT or SIGTERM. It exits with Run's code.
func Main(spec Spec) {
	mem := applyContainerMemoryLimit(os.DirFS("/sys/fs/cgroup"), os.LookupEnv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, spec, os.Args, os.Environ(), os.Stdout, os.Stderr, mem)
	stop()
	os.Exit(code)
}

// Run is the program: argv is the whole command line, the program's name
// first, environ the environment (KEY=VALUE). It returns the exit code
// (ExitOK, ExitFailed, ExitUsage). ctx stops it.
//
// Everything it prints, on stdout and stderr, passes through an
// ocean.RedactingWriter: log lines, settings errors printed before any
// logger exists, and errors that quote what a server echoed all lose the
// secrets the environment holds, and those of the loaded settings once
// there are some.
//
// Installed as `ocean` (as an image does for Port's chart) it takes
// Ocean's CLI form: `ocean probe …` and `ocean sail`.
func Run(ctx context.Context, spec Spec, argv, environ []string, stdout, stderr io.Writer) int {
	return run(ctx, spec, argv, environ, stdout, stderr, memLimit{})
}

// run is Run, told what Main did about the memory limit.
func run(ctx context.Context, spec Spec, argv, environ []string, stdout, stderr io.Writer, mem memLimit) int {
	spec = spec.withDefaults()
	envSecrets := settings.EnvSecrets(environ)
	errOut := settings.NewRedactingWriter(stderr, envSecrets...)
	stdOut := settings.NewRedactingWriter(stdout, envSecrets...)
	defer func() {
		_ = stdOut.Flush()
		_ = errOut.Flush()
	}()
	p := &prog{spec: spec, environ: environ, stdout: stdOut, stderr: errOut, mem: mem}
	if spec.Provider == nil && spec.NewApp == nil {
		return p.fail(ExitUsage, errors.New("program.Spec needs Provider or NewApp"))
	}
	argv0, args := spec.Name, []string(nil)
	if len(argv) > 0 {
		argv0, args = argv[0], argv[1:]
	}
	sub, args, err := command(argv0, args)
	if err != nil {
		return p.fail(ExitUsage, err)
	}
	if sub == "probe" {
		return p.probe(ctx, args)
	}
	return p.run(ctx, args)
}

func (s Spec) withDefaults() Spec {
	if s.Name == "" {
		s.Name = "sync"
	}
	if s.Summary == "" {
		s.Summary = s.Name + " keeps Port's catalog equal to a " + s.Type + " system."
	}
	if s.Examples == nil {
		s.Examples = []string{
			s.Name + " --dry-run --config mapping.yml  # fetch and map, print the entities, change nothing",
			s.Name + " --plan                          # what a resync would create, change and delete",
			s.Name + " --once                          # one resync, then exit (0 when it completed)",
			s.Name + "                                 # resync, then poll Port for resync requests",
		}
	}
	return s
}

// prog is one run of the program.
type prog struct {
	spec           Spec
	environ        []string
	stdout, stderr *settings.RedactingWriter
	mem            memLimit
}

// fail prints err on stderr, prefixed with the program's name, and
// returns code.
func (p *prog) fail(code int, err error) int {
	fmt.Fprintf(p.stderr, "%s: %v\n", p.spec.Name, err)
	return code
}

// options are the main command's flags.
type options struct {
	portAppConfig string
	oceanConfig   string
	dryRun        bool
	plan          bool
	planFormat    string
	output        string
	once          bool
	logFormat     string
	logLevel      string
	port          int
}

func parseFlags(spec Spec, args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet(spec.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.portAppConfig, "config", "", "read the port app config (the mapping) from this YAML or JSON `file` instead of from Port (OCEAN__PORT_APP_CONFIG_FILE)")
	fs.StringVar(&o.oceanConfig, "ocean-config", "", "read settings from this Ocean config.yaml `file` instead of ./config.yaml (the environment and ./.env win)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "fetch and map once, write the entities that would be upserted as JSON lines, and change nothing in Port (needs --config or Port credentials)")
	fs.BoolVar(&o.plan, "plan", false, "show what a resync would create, change (field by field) and delete in Port, and change nothing (needs Port credentials)")
	fs.StringVar(&o.planFormat, "plan-format", "text", "--plan output: text or json")
	fs.StringVar(&o.output, "output", "-", "where --dry-run writes its JSON lines (`file`, - for stdout)")
	fs.BoolVar(&o.once, "once", false, "run one resync and exit (OCEAN__EVENT_LISTENER__TYPE=ONCE)")
	fs.StringVar(&o.logFormat, "log-format", "", "log format: text or json (default APPLICATION__LOG_FORMAT, text)")
	fs.StringVar(&o.logLevel, "log-level", "", "log level: DEBUG, INFO, WARNING, ERROR (default APPLICATION__LOG_LEVEL, INFO)")
	fs.IntVar(&o.port, "port", 0, "HTTP port for live events, health and metrics (default APPLICATION__PORT, 8000)")
	fs.Usage = func() { usage(spec, fs, stderr) }
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.plan && o.dryRun {
		return nil, errors.New("--plan and --dry-run are alternatives")
	}
	switch o.planFormat {
	case "text", "json":
	default:
		return nil, fmt.Errorf("--plan-format must be text or json, not %q", o.planFormat)
	}
	if err := checkLogFormat(o.logFormat); err != nil {
		return nil, err
	}
	return o, nil
}

func checkLogFormat(f string) error {
	switch f {
	case "", "text", "json":
		return nil
	}
	return fmt.Errorf("--log-format must be text or json, not %q", f)
}

// load reads the settings as Ocean does: the environment, then ./.env and
// ./config.yaml (or file) below it. The writers learn the secrets the
// files hold.
func (p *prog) load(file string) (*settings.Config, error) {
	cfg, err := settings.Load(settings.LoadOptions{Environ: p.environ, File: file, WorkingDirFiles: true, ProviderType: p.spec.Type})
	if err != nil {
		return nil, err
	}
	p.stdout.AddSecrets(cfg.Secrets()...)
	p.stderr.AddSecrets(cfg.Secrets()...)
	return cfg, nil
}

// logger builds the program's logger from the settings, redacted.
func (p *prog) logger(cfg *settings.Config) (*slog.Logger, error) {
	logger, err := NewLogger(p.stderr, cfg.Application.LogFormat, cfg.Application.LogLevel)
	if err != nil {
		return nil, err
	}
	// Redacting the attributes too catches a secret before the JSON
	// handler escapes it.
	return settings.RedactLogger(logger, cfg), nil
}

// newApp builds the App the spec describes, with the program's options.
func (p *prog) newApp(cfg *settings.Config, logger *slog.Logger, opts ...ocean.Option) (*ocean.App, error) {
	if p.spec.NewApp != nil {
		return p.spec.NewApp(cfg, logger, opts...)
	}
	prov, err := p.spec.Provider(cfg, logger)
	if err != nil {
		return nil, err
	}
	return ocean.New(cfg, prov, append([]ocean.Option{ocean.WithLogger(logger)}, opts...)...)
}

// run is the main command: a long-running integration, or one resync,
// dry run or plan.
func (p *prog) run(ctx context.Context, args []string) int {
	o, err := parseFlags(p.spec, args, p.stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		return p.fail(ExitUsage, err)
	}
	cfg, err := p.load(o.oceanConfig)
	if err != nil {
		return p.fail(ExitUsage, err)
	}
	if o.portAppConfig != "" {
		cfg.PortAppConfigFile = o.portAppConfig
	}
	if o.port != 0 {
		cfg.Application.Port = o.port
	}
	if o.logLevel != "" {
		cfg.Application.LogLevel = o.logLevel
	}
	if o.logFormat != "" {
		cfg.Application.LogFormat = o.logFormat
	}
	if o.once || o.dryRun || o.plan {
		cfg.EventListener.Type = settings.ListenerOnce
	}
	logger, err := p.logger(cfg)
	if err != nil {
		return p.fail(ExitUsage, err)
	}
	switch {
	case p.mem.err != nil:
		logger.Warn("could not read the container's memory limit; GOMEMLIMIT sets Go's soft limit", "error", p.mem.err)
	case p.mem.soft > 0:
		logger.Info("Go's soft memory limit is 90% of the container's (GOMEMLIMIT overrides it)",
			"limit_bytes", p.mem.soft, "container_bytes", p.mem.container)
	}

	var opts []ocean.Option
	if o.dryRun {
		if cfg.PortAppConfigFile == "" && cfg.Port.ClientID == "" {
			return p.fail(ExitUsage, errors.New("--dry-run needs a mapping: --config FILE, or Port credentials to read it from Port"))
		}
		out, err := p.output(o.output, cfg)
		if err != nil {
			return p.fail(ExitUsage, err)
		}
		defer out.Close()
		opts = append(opts, ocean.WithDryRun(out))
	}
	kafkaOpt, err := kafkaOption(cfg)
	if err != nil {
		return p.fail(ExitUsage, err)
	}
	// The Redis queue reads its settings from the environment, .env's
	// included; jq's env below sees the real environment only, as in Ocean.
	redisOpt, err := redisQueueOption(cfg, cfg.Environ(), logger)
	if err != nil {
		return p.fail(ExitUsage, err)
	}
	// jq's env sees this environment, less the program's settings and
	// secrets.
	opts = append(opts, kafkaOpt, redisOpt, ocean.WithEnviron(p.environ))
	app, err := p.newApp(cfg, logger, opts...)
	if err != nil {
		return p.fail(ExitUsage, err)
	}
	switch {
	case o.plan:
		return p.plan(ctx, app, o.planFormat)
	case o.dryRun:
		rep, err := app.Resync(ctx, ocean.ResyncOptions{Trigger: "dry-run"})
		printSummary(p.stderr, rep)
		if err != nil {
			return p.fail(ExitFailed, fmt.Errorf("dry run: %w", err))
		}
		return ExitOK
	}
	if err := app.Run(ctx); err != nil {
		if ce := (*settings.ConfigError)(nil); errors.As(err, &ce) {
			return p.fail(ExitUsage, err)
		}
		logger.Error(p.spec.Name+" stopped", "error", err)
		return ExitFailed
	}
	return ExitOK
}

// output opens where --dry-run writes.
func (p *prog) output(name string, cfg *settings.Config) (io.WriteCloser, error) {
	if name == "-" || name == "" {
		return nopCloser{p.stdout}, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	return redactedFile{settings.NewRedactingWriter(f, cfg.Secrets()...), f}, nil
}

// plan prints what a resync would do.
func (p *prog) plan(ctx context.Context, app *ocean.App, format string) int {
	if app.Port() == nil {
		return p.fail(ExitUsage, errors.New("--plan reads the catalog: set OCEAN__PORT__CLIENT_ID and OCEAN__PORT__CLIENT_SECRET"))
	}
	plan, err := app.Plan(ctx)
	if plan != nil {
		var werr error
		if format == "json" {
			enc := json.NewEncoder(p.stdout)
			enc.SetIndent("", "  ")
			werr = enc.Encode(plan)
		} else {
			werr = plan.WriteText(p.stdout)
		}
		if werr != nil {
			return p.fail(ExitFailed, werr)
		}
	}
	if err != nil {
		return p.fail(ExitFailed, fmt.Errorf("plan: %w", err))
	}
	return ExitOK
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// redactedFile is the --output file behind a RedactingWriter: Close flushes
// the last line before closing the file.
type redactedFile struct {
	*settings.RedactingWriter
	f *os.File
}

func (r redactedFile) Close() error {
	return errors.Join(r.Flush(), r.f.Close())
}

// printSummary writes a dry run's per-kind counts.
func printSummary(w io.Writer, rep *report.Resync) {
	if rep == nil {
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tfetched\tfiltered\tmisconfigured\tentities\twould delete\t")
	for _, k := range rep.Kinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", k.Kind, k.Fetched, k.Filtered, k.Misconfigured, k.Mapped, k.Deleted)
	}
	_ = tw.Flush()
	if rep.DeletionSkipped != "" {
		fmt.Fprintln(w, "deletion skipped:", rep.DeletionSkipped)
	}
}

// NewLogger builds a program's logger writing to w: format is text (or
// empty) or json, level one of Ocean's names (DEBUG, INFO, WARNING or
// WARN, ERROR, CRITICAL; empty is INFO). An unknown level is an
// *ocean.ConfigError naming APPLICATION__LOG_LEVEL.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	switch strings.ToUpper(strings.TrimSpace(level)) {
	case "DEBUG":
		lvl = slog.LevelDebug
	case "", "INFO":
		lvl = slog.LevelInfo
	case "WARNING", "WARN":
		lvl = slog.LevelWarn
	case "ERROR", "CRITICAL":
		lvl = slog.LevelError
	default:
		return nil, &settings.ConfigError{Name: "APPLICATION__LOG_LEVEL", Reason: fmt.Sprintf("unknown level %q (want DEBUG, INFO, WARNING, ERROR or CRITICAL)", level)}
	}
	ho := &slog.HandlerOptions{Level: lvl}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return slog.New(slog.NewTextHandler(w, ho)), nil
}
