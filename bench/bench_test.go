package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean/report"
)

// TestTinyRun runs the whole harness at about 100 entities without latency,
// as `go run ./bench -sizes 100 -latency off` would, and checks that the
// report is produced and that the counts agree: Port holds what the resync
// report says, and what the stages fetched, mapped and wrote apart. No
// figure about time is asserted.
func TestTinyRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "report.md")
	var stdout, stderr bytes.Buffer
	require.NoError(t, cli(ctx, []string{"-sizes", "100", "-latency", "off", "-q", "-out", out}, &stdout, &stderr), stderr.String())

	report := stdout.String()
	file, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, report, string(file), "-out holds the printed report")
	for _, want := range []string{
		"## Full resync, no added latency", "### Growth, per entity", "### Stage floors", "### Second resync, nothing changed",
		"## Sequential baseline", "## Consistency", "## Targets", "| 100 |",
		"## Where the command's wall time went", "| 100 | generate the fake GitLab |", "| 100 | pipelined resync |",
		"| 100 | no change resync |", "| 100 | sequential resync |", "| 100 | stop the fakes |",
	} {
		assert.Contains(t, report, want)
	}
	assert.NotContains(t, report, "MISMATCH")
	assert.Regexp(t, `\*\*(PASS|MISS)\*\*`, report, "every target gets a verdict")
}

// TestTinyLatencyRun runs the latency family at about 100 entities under
// limits scaled 60 times (one-second windows): the fakes get the scaled
// windows, the sync its settings, and the report says it scaled.
func TestTinyLatencyRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	require.NoError(t, cli(ctx, []string{"-sizes", "100", "-latency", "on", "-latency-scale", "60", "-no-stages", "-q"}, &stdout, &stderr), stderr.String())
	report := stdout.String()
	for _, want := range []string{"## Full resync with realistic latency and rate limits", "**Time-scaled ×60**", "at ×60)"} {
		assert.Contains(t, report, want)
	}
	assert.NotContains(t, report, "MISMATCH")
}

// TestRunCounts checks the measured figures behind the report at the tiny
// size.
func TestRunCounts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := run(ctx, config{Sizes: []int{100}, NoLatency: true, Stages: true, Seed: 3})
	require.NoError(t, err)
	require.Len(t, res.Runs, 1)
	r := res.Runs[0]

	for _, rr := range []*resyncRun{r.Pipelined, r.NoChange, r.Sequential} {
		require.NotNil(t, rr)
		require.NoError(t, rr.Err, rr.Label)
		assert.Equal(t, report.StateCompleted, rr.Report.Status, rr.Label)
		assert.Positive(t, rr.GitLab.Total, rr.Label)
		assert.Positive(t, rr.Usage.Wall, rr.Label)
	}
	pr := r.Pipelined
	assert.Positive(t, pr.entities())
	assert.Positive(t, pr.Summary.Owned)
	assert.LessOrEqual(t, int64(pr.Summary.Owned), pr.entities(), "Port holds at most one entity per upsert")
	require.NotEmpty(t, r.Checks)
	for _, c := range r.Checks {
		assert.Equal(t, c.A, c.B, c.What)
	}
	require.Len(t, r.Stages, 3)
	for _, s := range r.Stages {
		assert.Positive(t, s.Items, s.Name)
	}

	// Floors are lower bounds of what was sent.
	assert.Positive(t, r.GitLabFloor.Total)
	assert.LessOrEqual(t, r.GitLabFloor.Total, pr.GitLab.Total)
	assert.Positive(t, r.PortFloor.Total)
	assert.LessOrEqual(t, r.PortFloor.Total, int64(pr.portRequests()))
	bulks := int64(pr.Port.ByRoute["POST /v1/blueprints/{blueprint}/entities/bulk"])
	assert.GreaterOrEqual(t, bulks*20, pr.entities(), "no bulk carries more than 20 entities")
}

func TestParseSizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []int
		bad  bool
	}{
		{in: "1k,10k,100k", want: []int{1000, 10000, 100000}},
		{in: " 250 , 1.5k,1m", want: []int{250, 1500, 1000000}},
		{in: "", bad: true},
		{in: "ten", bad: true},
		{in: "-5", bad: true},
	}
	for _, tt := range tests {
		got, err := parseSizes(tt.in)
		if tt.bad {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestFlagsAreChecked(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-latency", "sometimes"},
		{"-sizes", "x"},
		{"-set", "PATH=/bin"},
		{"-latency-scale", "0"},
		{"-cpu-rounds", "0"},
	} {
		var stderr bytes.Buffer
		err := cli(context.Background(), args, &bytes.Buffer{}, &stderr)
		assert.Error(t, err, strings.Join(args, " "))
	}
}

// BenchmarkMemoryPerEntity guards issue 22's per-entity memory: it runs the
// benchmark's resyncs (sync process apart from the fakes) at two sizes and
// reports how much the sync's peak RSS and peak heap grow per added
// entity, for the first resync and for the unchanged second one. Run it
// with -benchtime=1x:
//
//	go test ./bench -run '^$' -bench MemoryPerEntity -benchtime=1x
//
// The target at scale is under 150 bytes per entity from 100k to 1M
// (go run ./bench -sizes 100k,1m -latency off -no-stages).
func BenchmarkMemoryPerEntity(b *testing.B) {
	small, large := 5000, 40000
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		res, err := run(ctx, config{Sizes: []int{small, large}, NoLatency: true, Seed: 1})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		a, z := res.Runs[0], res.Runs[1]
		added := float64(z.Pipelined.entities() - a.Pipelined.entities())
		if added <= 0 {
			b.Fatalf("sizes %d and %d upserted %d and %d entities", small, large, a.Pipelined.entities(), z.Pipelined.entities())
		}
		per := func(pick func(*sizeRun) uint64) float64 { return (float64(pick(z)) - float64(pick(a))) / added }
		b.ReportMetric(per(func(r *sizeRun) uint64 { return r.Pipelined.Usage.PeakRSS }), "rss-B/entity")
		b.ReportMetric(per(func(r *sizeRun) uint64 { return r.Pipelined.Usage.PeakHeap }), "heap-B/entity")
		b.ReportMetric(per(func(r *sizeRun) uint64 { return r.NoChange.Usage.PeakRSS }), "second-rss-B/entity")
		b.ReportMetric(per(func(r *sizeRun) uint64 { return r.NoChange.Usage.PeakHeap }), "second-heap-B/entity")
		b.ReportMetric(float64(z.Pipelined.Usage.CPU.Microseconds())/float64(z.Pipelined.entities()), "cpu-µs/entity")
	}
}

// Scaled limits divide every duration by the scale and keep the counts;
// real turns a scaled duration back.
func TestLimitsScaled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		k          int
		wantWindow time.Duration
		wantScale  int
	}{
		{1, time.Minute, 1},
		{0, time.Minute, 1},
		{10, 6 * time.Second, 10},
	}
	for _, tt := range tests {
		l := realistic().scaled(tt.k)
		assert.Equal(t, tt.wantWindow, l.GitLabWindow, tt.k)
		assert.Equal(t, tt.wantScale, l.Scale, tt.k)
		assert.Equal(t, realistic().GitLabPerMinute, l.GitLabPerMinute, "counts per window are kept")
		assert.Equal(t, realistic().GitLabLatency, l.GitLabLatency*time.Duration(l.Scale))
		assert.Equal(t, 5*time.Minute, l.real(l.PortPeriod))
	}
}

// A floor computed under scaled limits is the real floor divided by the
// scale.
func TestTimeFloorScales(t *testing.T) {
	t.Parallel()
	r := &resyncRun{GitLab: gitlabStats{Total: 3000, ByRoute: map[string]int64{"GET /groups/:id/search": 250}},
		Port: portCounts{ByRoute: map[string]int{"POST /v1/blueprints/{blueprint}/entities/bulk": 100}}}
	real, what := timeFloor(r, realistic())
	assert.Equal(t, 150*time.Second, real, "250 searches at 100 a minute")
	assert.Contains(t, what, "search")
	scaled, _ := timeFloor(r, realistic().scaled(10))
	assert.Equal(t, real/10, scaled)
}

// The CPU target compares each side's least CPU per entity over the
// alternating rounds, so that one run meeting more load than the other
// does not decide it; a failed run is left out.
func TestCPUTargetTakesEachSidesLeast(t *testing.T) {
	t.Parallel()
	run := func(cpu time.Duration, entities int64, err error) *resyncRun {
		return &resyncRun{Usage: usage{CPU: cpu}, Err: err,
			Report: &report.Resync{Kinds: []*report.Kind{{Upserted: entities}}}}
	}
	sr := &sizeRun{
		Pipelined:      run(7*time.Second, 100000, nil), // 70 µs
		ProjectedAgain: []*resyncRun{run(6*time.Second, 100000, nil), run(time.Second, 100000, errors.New("x"))},
		DecodeAll:      run(11*time.Second, 100000, nil), // 110 µs
		DecodeAllAgain: []*resyncRun{run(13*time.Second, 100000, nil)},
		DecodeAllEnv:   "OCEAN__RESYNC__DECODE_ALL_FIELDS=true",
	}
	got := cpuTarget(sr)
	assert.Contains(t, got.measured, "0.55× (60.0 µs vs 110.0 µs")
	assert.Contains(t, got.measured, "the least of 2 and 2 alternating runs")
	assert.False(t, got.ok)

	sr.ProjectedAgain = []*resyncRun{run(5*time.Second, 100000, nil)}
	assert.True(t, cpuTarget(sr).ok, "50 µs against 110 µs")

	once := &sizeRun{Pipelined: run(5*time.Second, 100000, nil), DecodeAll: run(11*time.Second, 100000, nil), DecodeAllEnv: "X=true"}
	assert.NotContains(t, cpuTarget(once).measured, "alternating")
}
