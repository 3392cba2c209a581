package program

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/oceankit/oceankit/ocean"
)

// Port's port-ocean chart runs the image's `ocean` command in its probe
// Job:
//
//	command: ["ocean", "probe"]
//	args:    [".", "--mode", "shallow", "--kinds", "project,merge-request"]
//
// Invoked as ocean, the program takes Ocean's CLI form: `ocean probe …`
// probes, and `ocean sail [path]` runs the integration as the image does
// without arguments. Invoked under its own name, a first argument `probe`
// probes too.

// oceanCommand is the name an image installs the binary under for Port's
// chart.
const oceanCommand = "ocean"

// command splits the command line into a subcommand ("" for the
// integration itself, "probe") and its arguments.
func command(argv0 string, args []string) (string, []string, error) {
	asOcean := strings.TrimSuffix(filepath.Base(argv0), ".exe") == oceanCommand
	if len(args) > 0 {
		switch args[0] {
		case "probe":
			return "probe", args[1:], nil
		case "sail":
			if asOcean {
				rest := args[1:]
				// Ocean's `sail [PATH]`: the integration's folder. Ours is
				// built in; the working directory's .env and config.yaml
				// are read either way.
				if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
					rest = rest[1:]
				}
				return "", rest, nil
			}
		}
	}
	if asOcean && (len(args) == 0 || !strings.HasPrefix(args[0], "-")) {
		return "", nil, fmt.Errorf("as %q this program runs `ocean probe [PATH] [--mode shallow] [--kinds a,b]` or `ocean sail`, not %q", oceanCommand, strings.Join(args, " "))
	}
	return "", args, nil
}

// probeOptions are the probe's arguments.
type probeOptions struct {
	mode      string
	kinds     []string
	logFormat string
}

// Probe modes. Ocean's chart passes shallow; deep is accepted as the same
// checks (each kind's first page is read in both).
const (
	probeShallow = "shallow"
	probeDeep    = "deep"
)

func parseProbeFlags(args []string, stderr io.Writer) (*probeOptions, error) {
	o := &probeOptions{}
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.mode, "mode", probeShallow, "shallow or deep: check Port's and the provider's credentials, the integration and the first page of each kind")
	kinds := fs.String("kinds", "", "comma-separated kinds to read a first page of (default: every kind of the mapping)")
	fs.StringVar(&o.logFormat, "log-format", "", "log format: text or json (default APPLICATION__LOG_FORMAT, text)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ocean probe [PATH] [--mode shallow] [--kinds a,b]\n\nChecks the connections without changing anything; exit 0 when every check passed, 1 when one failed, 2 on bad usage or settings.\n\n")
		printFlags(stderr, fs)
	}
	// Ocean's form puts the integration's folder first (the chart passes
	// "."); the integration is built in here, so it is only accepted.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("probe: unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch o.mode {
	case probeShallow, probeDeep:
	default:
		return nil, fmt.Errorf("probe: --mode must be shallow or deep, not %q", o.mode)
	}
	if err := checkLogFormat(o.logFormat); err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	for _, k := range strings.Split(*kinds, ",") {
		if k = strings.TrimSpace(k); k != "" && !slices.Contains(o.kinds, k) {
			o.kinds = append(o.kinds, k)
		}
	}
	return o, nil
}

// probe is `ocean probe`: it loads the settings as a run would, checks
// Port (credentials, the integration, its mapping), the provider's own
// steps and the first page of each selected kind, prints one line per
// check on stderr and the report as JSON on stdout, and exits 0 when every
// check passed, 1 otherwise (2 for bad usage or settings).
func (p *prog) probe(ctx context.Context, args []string) int {
	o, err := parseProbeFlags(args, p.stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		return p.fail(ExitUsage, err)
	}
	cfg, err := p.load("")
	if err != nil {
		return p.fail(ExitUsage, err)
	}
	if o.logFormat != "" {
		cfg.Application.LogFormat = o.logFormat
	}
	logger, err := p.logger(cfg)
	if err != nil {
		return p.fail(ExitUsage, err)
	}
	// OCEAN__PROBE_REPORTING_MODE (the chart's probe.reportingMode, "port")
	// is accepted: the outcome is the exit code and the report printed here.
	reporting := envValue(p.environ, "OCEAN__PROBE_REPORTING_MODE")
	app, err := p.newApp(cfg, logger, ocean.WithEnviron(p.environ))
	if err != nil {
		return p.fail(ExitUsage, err)
	}
	var steps []ocean.ProbeStep
	if p.spec.ProbeSteps != nil {
		if steps, err = p.spec.ProbeSteps(cfg, app.Logger()); err != nil {
			return p.fail(ExitUsage, err)
		}
	}
	logger.Info("probe started", "mode", o.mode, "kinds", o.kinds, "reportingMode", reporting)
	rep := app.Probe(ctx, ocean.ProbeOptions{Kinds: o.kinds, Steps: steps})
	for _, c := range rep.Checks {
		if c.OK {
			logger.Info("probe check passed", "check", c.Name, "detail", c.Detail)
		} else {
			logger.Error("probe check failed", "check", c.Name, "detail", c.Detail)
		}
	}
	out := struct {
		OK   bool   `json:"ok"`
		Mode string `json:"mode"`
		*ocean.ProbeReport
	}{rep.OK(), o.mode, rep}
	if err := json.NewEncoder(p.stdout).Encode(out); err != nil {
		return p.fail(ExitFailed, err)
	}
	if !rep.OK() {
		return ExitFailed
	}
	return ExitOK
}

// envValue returns the last value of name in environ.
func envValue(environ []string, name string) string {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}
