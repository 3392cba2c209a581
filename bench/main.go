package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

func main() {
	if os.Getenv(fakesEnv) == "1" {
		if err := serveFakes(); err != nil {
			fmt.Fprintln(os.Stderr, "bench fakes:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := cli(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// cli parses the flags, runs the benchmark and writes the report.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var memLimit int64
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	sizes := fl.String("sizes", "1k,10k,100k", "target sizes in Port entities, comma-separated (k and m suffixes)")
	latency := fl.String("latency", "both", "runs with realistic latency and rate limits: off, on or both")
	latencySizes := fl.String("latency-sizes", "", "sizes of the latency runs (default: those of -sizes that fit the budget)")
	budget := fl.Duration("budget", 5*time.Minute, "wall time the whole command should stay under; latency sizes are chosen to fit it")
	latencyScale := fl.Int("latency-scale", 10, "run the latency runs' limits this many times faster than real time (latencies, rate-limit windows and periods divided by it; the report scales back); 1 is real time")
	cpuProfile := fl.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	fakesProfile := fl.String("fakes-cpuprofile", "", "write a CPU profile of the fakes' process (GitLab and Port) to this file")
	memProfile := fl.String("memprofile", "", "write a heap profile (allocations) at the end to this file")
	fakesMemProfile := fl.String("fakes-memprofile", "", "write a heap profile of what the fakes' process holds at the end of the last size to this file")
	out := fl.String("out", "", "also write the markdown report to this file")
	seed := fl.Int64("seed", 1, "seed of the generated GitLab data")
	noStages := fl.Bool("no-stages", false, "skip the stage floors (fetch only, map only, write only)")
	quiet := fl.Bool("q", false, "no progress lines on stderr")
	cpuRounds := fl.Int("cpu-rounds", 3, "rounds of the CPU comparison at 100k (a first resync with field projection, one decoding every field, alternating); each side's least CPU is compared")
	syncMemLimit := fl.String("sync-memlimit", "", "a soft memory limit for the sync under test only, as GOMEMLIMIT spells it (230MiB is what the binary sets in a 256 MiB container); the fakes are not limited")
	var env envFlag
	fl.Var(&env, "set", "an OCEAN__… setting for the sync under test, KEY=value (repeatable), e.g. -set OCEAN__RESYNC__UPSERT_CONCURRENCY=16")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *syncMemLimit != "" {
		n, err := parseBytes(*syncMemLimit)
		if err != nil {
			return fmt.Errorf("-sync-memlimit: %w", err)
		}
		// The fakes run in a child process: this limits the sync alone.
		debug.SetMemoryLimit(n)
		defer debug.SetMemoryLimit(math.MaxInt64)
		memLimit = n
	}
	if *cpuRounds < 1 {
		return fmt.Errorf("-cpu-rounds: want 1 or more, got %d", *cpuRounds)
	}
	if *latencyScale < 1 {
		return fmt.Errorf("-latency-scale: want 1 or more, got %d", *latencyScale)
	}
	cfg := config{SyncMemLimit: memLimit, Budget: *budget, Seed: *seed, Stages: !*noStages, Env: env, FakesCPUProfile: *fakesProfile, FakesMemProfile: *fakesMemProfile, LatencyScale: *latencyScale, CPURounds: *cpuRounds}
	var err error
	if cfg.Sizes, err = parseSizes(*sizes); err != nil {
		return fmt.Errorf("-sizes: %w", err)
	}
	switch strings.ToLower(*latency) {
	case "off":
		cfg.NoLatency = true
	case "on":
		cfg.Latency = true
	case "both":
		cfg.NoLatency, cfg.Latency = true, true
	default:
		return fmt.Errorf("-latency: want off, on or both, got %q", *latency)
	}
	if *latencySizes != "" {
		if cfg.LatencySizes, err = parseSizes(*latencySizes); err != nil {
			return fmt.Errorf("-latency-sizes: %w", err)
		}
	}
	if !*quiet {
		cfg.Progress = stderr
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := run(ctx, cfg)
	if err != nil {
		return err
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return err
		}
		runtime.GC()
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	report := render(res)
	if _, err := io.WriteString(stdout, report); err != nil {
		return err
	}
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// parseSizes reads "1k,10k,100k".
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		if part == "" {
			continue
		}
		mult := 1
		switch {
		case strings.HasSuffix(part, "k"):
			mult, part = 1000, strings.TrimSuffix(part, "k")
		case strings.HasSuffix(part, "m"):
			mult, part = 1000000, strings.TrimSuffix(part, "m")
		}
		f, err := strconv.ParseFloat(part, 64)
		if err != nil || f <= 0 {
			return nil, fmt.Errorf("bad size %q", part)
		}
		out = append(out, int(f*float64(mult)))
	}
	if len(out) == 0 {
		return nil, errors.New("no size")
	}
	return out, nil
}

// human renders a size as the flag would write it.
func human(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return strconv.Itoa(n/1000000) + "m"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// envFlag collects repeated -set KEY=value flags.
type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, " ") }

func (e *envFlag) Set(v string) error {
	k, _, ok := strings.Cut(v, "=")
	if !ok || !strings.HasPrefix(strings.ToUpper(k), "OCEAN__") {
		return fmt.Errorf("want OCEAN__KEY=value, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

// parseBytes reads a size as GOMEMLIMIT spells it: a number of bytes with
// an optional B, KiB, MiB, GiB or TiB suffix.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("want a positive size such as 230MiB, got %q", s)
	}
	return n * mult, nil
}
