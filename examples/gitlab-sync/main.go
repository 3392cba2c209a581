// Command gitlab-sync keeps Port's software catalog equal to a GitLab
// instance. It is a drop-in for Port's port-ocean-gitlab-v2 image: the same
// OCEAN__… and APPLICATION__… environment variables, the same listeners,
// routes and port app config. Run with --help for every setting.
package main

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

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/ocean"
)

// Exit codes: 0 success, 1 a failed run (a resync that did not complete,
// a server that stopped on an error), 2 bad configuration or usage.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

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

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("gitlab-sync", flag.ContinueOnError)
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
	fs.Usage = func() { usage(fs, stderr) }
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
	switch o.logFormat {
	case "", "text", "json":
	default:
		return nil, fmt.Errorf("--log-format must be text or json, not %q", o.logFormat)
	}
	return o, nil
}

func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, `gitlab-sync keeps Port's catalog equal to GitLab, configured like Port's gitlab-v2 image.

Usage: gitlab-sync [flags]
       gitlab-sync probe [PATH] [--mode shallow] [--kinds a,b]   (also as: ocean probe …)

Flags:
`)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nSettings (environment variables, as Ocean names them):\n\n")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
	for _, s := range settings() {
		def := s.Default
		if s.Required {
			def = "(required)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Env, def, s.Help)
	}
	_ = tw.Flush()
}

// run is the program. Everything it prints, on stdout and stderr, goes
// through a RedactingWriter: log lines, config errors printed before any
// logger exists, and errors that quote what a server echoed (a Port 401
// that repeats the request's client ID) all lose the secrets the
// environment holds, and those of the loaded config once there is one.
//
// argv is the whole command line, the program's name first: installed as
// `ocean` (as the image does for Port's chart) it takes Ocean's CLI form
// (see command).
func run(ctx context.Context, argv, environ []string, stdout, stderr io.Writer) int {
	envSecrets := ocean.EnvSecrets(environ)
	errOut := ocean.NewRedactingWriter(stderr, envSecrets...)
	stdOut := ocean.NewRedactingWriter(stdout, envSecrets...)
	defer func() {
		_ = stdOut.Flush()
		_ = errOut.Flush()
	}()
	argv0, args := "gitlab-sync", []string(nil)
	if len(argv) > 0 {
		argv0, args = argv[0], argv[1:]
	}
	sub, args, err := command(argv0, args)
	if err != nil {
		fmt.Fprintln(errOut, "gitlab-sync:", err)
		return exitUsage
	}
	if sub == "probe" {
		return runProbe(ctx, args, environ, stdOut, errOut)
	}
	return runRedacted(ctx, args, environ, stdOut, errOut)
}

func runRedacted(ctx context.Context, args, environ []string, stdout, stderr *ocean.RedactingWriter) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "gitlab-sync:", err)
		return exitUsage
	}
	// As Ocean: .env and config.yaml in the working directory, when present,
	// below the environment.
	cfg, err := ocean.Load(ocean.LoadOptions{Environ: environ, File: o.oceanConfig, WorkingDirFiles: true, ProviderType: gitlab.ProviderType})
	if err != nil {
		fmt.Fprintln(stderr, "gitlab-sync:", err)
		return exitUsage
	}
	// .env and config.yaml may hold secrets the environment does not.
	stdout.AddSecrets(cfg.Secrets()...)
	stderr.AddSecrets(cfg.Secrets()...)
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
		cfg.EventListener.Type = ocean.ListenerOnce
	}
	logger, err := newLogger(stderr, cfg.Application.LogFormat, cfg.Application.LogLevel)
	if err != nil {
		fmt.Fprintln(stderr, "gitlab-sync:", err)
		return exitUsage
	}
	// Redacting the attributes too catches a secret before the JSON
	// handler escapes it.
	logger = ocean.RedactLogger(logger, cfg)

	var opts []ocean.Option
	var out io.WriteCloser
	if o.dryRun {
		if cfg.PortAppConfigFile == "" && cfg.Port.ClientID == "" {
			fmt.Fprintln(stderr, "gitlab-sync: --dry-run needs a mapping: --config FILE, or Port credentials to read it from Port")
			return exitUsage
		}
		out = nopCloser{stdout}
		if o.output != "-" && o.output != "" {
			f, err := os.Create(o.output)
			if err != nil {
				fmt.Fprintln(stderr, "gitlab-sync:", err)
				return exitUsage
			}
			out = redactedFile{ocean.NewRedactingWriter(f, cfg.Secrets()...), f}
		}
		defer out.Close()
		opts = append(opts, ocean.WithDryRun(out))
	}
	kafkaOpt, err := kafkaOption(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "gitlab-sync:", err)
		return exitUsage
	}
	// The Redis queue reads its settings from the environment, .env's
	// included; jq's env below sees the real environment only, as in Ocean.
	redisOpt, err := redisQueueOption(cfg, cfg.Environ(), logger)
	if err != nil {
		fmt.Fprintln(stderr, "gitlab-sync:", err)
		return exitUsage
	}
	// jq's env sees this environment, less the program's settings and
	// secrets (os.Environ() in production; a test's own otherwise).
	opts = append(opts, kafkaOpt, redisOpt, ocean.WithEnviron(environ))
	app, _, err := gitlab.NewApp(cfg, logger, opts...)
	if err != nil {
		fmt.Fprintln(stderr, "gitlab-sync:", err)
		return exitUsage
	}
	if o.plan {
		return runPlan(ctx, app, o.planFormat, stdout, stderr)
	}
	if o.dryRun {
		rep, err := app.Resync(ctx, ocean.ResyncOptions{Trigger: "dry-run"})
		printSummary(stderr, rep)
		if err != nil {
			fmt.Fprintln(stderr, "gitlab-sync: dry run:", err)
			return exitFailed
		}
		return exitOK
	}
	if err := app.Run(ctx); err != nil {
		var ce *ocean.ConfigError
		if errors.As(err, &ce) {
			fmt.Fprintln(stderr, "gitlab-sync:", err)
			return exitUsage
		}
		logger.Error("gitlab-sync stopped", "error", err)
		return exitFailed
	}
	return exitOK
}

// runPlan prints what a resync would do.
func runPlan(ctx context.Context, app *ocean.App, format string, stdout, stderr io.Writer) int {
	if app.Port() == nil {
		fmt.Fprintln(stderr, "gitlab-sync: --plan reads the catalog: set OCEAN__PORT__CLIENT_ID and OCEAN__PORT__CLIENT_SECRET")
		return exitUsage
	}
	plan, err := app.Plan(ctx)
	if plan != nil {
		if format == "json" {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if werr := enc.Encode(plan); werr != nil {
				fmt.Fprintln(stderr, "gitlab-sync:", werr)
				return exitFailed
			}
		} else if werr := plan.WriteText(stdout); werr != nil {
			fmt.Fprintln(stderr, "gitlab-sync:", werr)
			return exitFailed
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "gitlab-sync: plan:", err)
		return exitFailed
	}
	return exitOK
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// redactedFile is the --output file behind a RedactingWriter: Close flushes
// the last line before closing the file.
type redactedFile struct {
	*ocean.RedactingWriter
	f *os.File
}

func (r redactedFile) Close() error {
	return errors.Join(r.Flush(), r.f.Close())
}

// printSummary writes a dry run's per-kind counts.
func printSummary(w io.Writer, rep *ocean.ResyncReport) {
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

// newLogger builds the process logger. Ocean's level names are accepted
// (WARNING, CRITICAL).
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
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
		return nil, &ocean.ConfigError{Name: "APPLICATION__LOG_LEVEL", Reason: fmt.Sprintf("unknown level %q (want DEBUG, INFO, WARNING, ERROR or CRITICAL)", level)}
	}
	ho := &slog.HandlerOptions{Level: lvl}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return slog.New(slog.NewTextHandler(w, ho)), nil
}
