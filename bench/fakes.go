package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/port/porttest"
)

// fakesEnv, set to 1, makes this binary serve the fakes instead of running
// the benchmark (see the package doc).
const fakesEnv = "OCEANKIT_BENCH_FAKES"

// fakesProfileEnv names the file the fakes' process writes its CPU profile
// to (bench -fakes-cpuprofile).
const fakesProfileEnv = "OCEANKIT_BENCH_FAKES_CPUPROFILE"

// fakesMemProfileEnv names the file the fakes' process writes its heap
// profile to (bench -fakes-memprofile): what the fakes hold live at the end
// of each size, before they are dropped (the last size's is kept).
const fakesMemProfileEnv = "OCEANKIT_BENCH_FAKES_MEMPROFILE"

// portRoutes are every route porttest counts.
var portRoutes = []string{
	porttest.RouteToken, porttest.RouteUpsertEntity, porttest.RouteBulkUpsert, porttest.RouteGetEntity,
	porttest.RouteDeleteEntity, porttest.RouteBulkDelete, porttest.RouteSearch, porttest.RouteBlueprintSearch,
	porttest.RouteDatasourceEntities, porttest.RouteCreateBlueprint, porttest.RouteGetBlueprint,
	porttest.RoutePatchBlueprint, porttest.RouteDeleteBlueprint, porttest.RouteCreateIntegration,
	porttest.RouteGetIntegration, porttest.RoutePatchIntegration, porttest.RouteDeleteIntegration,
	porttest.RoutePatchConfig, porttest.RoutePatchResyncState, porttest.RouteGetResyncRequest,
	porttest.RoutePostKindExamples, porttest.RouteGetKinds, porttest.RouteProvisionEnabled,
	porttest.RouteOrganization, porttest.RouteCreateAction, porttest.RouteGetAction,
	porttest.RouteCreateScorecard, porttest.RouteGetScorecard, porttest.RouteCreatePage,
	porttest.RouteGetPage, porttest.RouteDeletePage, porttest.RouteUnknown,
}

// gitlabSetup starts a fake GitLab.
type gitlabSetup struct {
	Seed           int64           `json:"seed"`
	Size           gitlabtest.Size `json:"size"`
	Latency        time.Duration   `json:"latency"`
	PerMinute      int             `json:"perMinute"`
	EndpointLimits map[string]int  `json:"endpointLimits"`
	// Window is the rate-limit window (0: a minute).
	Window time.Duration `json:"window"`
}

type gitlabStarted struct {
	URL    string            `json:"url"`
	Token  string            `json:"token"`
	Counts gitlabtest.Counts `json:"counts"`
	// Generated is how long generating the dataset took, and RSS the
	// fakes' process RSS right after (the dataset is lazy: projects'
	// collections are regenerated per request, see gitlabtest.GenerateLazy).
	Generated time.Duration `json:"generated"`
	RSS       uint64        `json:"rss"`
}

// portSetup starts a fake Port.
type portSetup struct {
	Latency   time.Duration `json:"latency"`
	RateLimit int           `json:"rateLimit"`
	Period    time.Duration `json:"period"`
}

type portStarted struct {
	URL          string `json:"url"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

type gitlabStats struct {
	Total   int64            `json:"total"`
	ByRoute map[string]int64 `json:"byRoute"`
}

type portCounts struct {
	ByRoute map[string]int `json:"byRoute"`
}

// portSummary is what the fake Port holds.
type portSummary struct {
	// ByBlueprint counts the entities the integration wrote (they carry
	// its $datasource), per blueprint.
	ByBlueprint map[string]int `json:"byBlueprint"`
	// Owned sums ByBlueprint.
	Owned int `json:"owned"`
	// Placeholders counts entities Port created for missing relation
	// targets (create_missing_related_entities); they have no datasource.
	Placeholders int `json:"placeholders"`
	// TopLevelGroups counts the gitlabGroup entities whose parent group is
	// not in Port: the roots a per-top-level-group listing must visit.
	TopLevelGroups int `json:"topLevelGroups"`
	// PersonalProjects counts the service entities of projects in a
	// user's namespace: no group search covers them.
	PersonalProjects int `json:"personalProjects"`
	// Digest sums the content digests of the integration's entities: equal
	// before and after a resync that changed nothing.
	Digest uint64 `json:"digest"`
}

// connCounts are the TCP connections clients opened to each fake and
// closed, since it started: the fakes count them as they accept and close
// them (http.Server.ConnState), which costs the sync process nothing.
type connCounts struct {
	GitLabOpened, GitLabClosed int64
	PortOpened, PortClosed     int64
}

type procUsage struct {
	CPU     time.Duration `json:"cpu"`
	RSS     uint64        `json:"rss"`
	PeakRSS uint64        `json:"peakRSS"`
}

// fakesServer is the child process's state.
type fakesServer struct {
	mu sync.Mutex
	gl *gitlabtest.Server
	pt *porttest.Server
}

// serveFakes runs the child: it prints its control URL on stdout, serves
// until its stdin closes (the parent is gone), and exits.
func serveFakes() error {
	tuneFakesGC()
	if path := os.Getenv(fakesProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s := &fakesServer{}
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("fakes-listening http://%s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	s.stopAll()
	return srv.Close()
}

// Fakes' garbage collection: the fakes hold a large live heap (a million
// entities in Port, the generated GitLab) and allocate per request, so at
// Go's default GOGC their collector took a fifth of their CPU at 100k, on
// the cores the measured sync runs on. They collect less often (GOGC 400),
// under a soft memory limit. At 1M their live heap is about 1.5 GiB: with
// the limit at 5 GiB it, not GOGC, set the pace (a cycle every 3.5 GiB
// allocated, each tracing the whole live heap), and collection was a third
// to half of their CPU; at 8 GiB a cycle comes every ~6 GiB (a tighter
// limit makes it worse: assists). The fakes are not what is measured, and
// the development machine has 24 GiB. GOGC or GOMEMLIMIT in the
// environment win.
const (
	fakesGCPercent   = 400
	fakesMemoryLimit = 8 << 30
)

func tuneFakesGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(fakesGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(fakesMemoryLimit)
	}
}

func (s *fakesServer) handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(path string, fn func(body []byte) (any, error)) {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			var out any
			if err == nil {
				out, err = fn(body)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(out)
		})
	}
	handle("/gitlab/start", func(b []byte) (any, error) {
		var in gitlabSetup
		if err := json.Unmarshal(b, &in); err != nil {
			return nil, err
		}
		t0 := time.Now()
		ds := gitlabtest.GenerateLazy(in.Seed, in.Size)
		generated := time.Since(t0)
		opts := []gitlabtest.Option{gitlabtest.WithDataset(ds)}
		if in.Latency > 0 {
			opts = append(opts, gitlabtest.WithLatency(in.Latency))
		}
		if in.PerMinute > 0 {
			opts = append(opts, gitlabtest.WithRateLimit(in.PerMinute))
		}
		if len(in.EndpointLimits) > 0 {
			opts = append(opts, gitlabtest.WithEndpointRateLimits(in.EndpointLimits))
		}
		if in.Window > 0 {
			opts = append(opts, gitlabtest.WithRateLimitWindow(in.Window))
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.gl != nil {
			s.gl.Close()
		}
		s.gl = gitlabtest.New(opts...)
		cur, _ := rss()
		return gitlabStarted{URL: s.gl.URL, Token: s.gl.Token, Counts: s.gl.Dataset().Counts(), Generated: generated, RSS: cur}, nil
	})
	handle("/gitlab/stats", func([]byte) (any, error) {
		gl, err := s.gitlab()
		if err != nil {
			return nil, err
		}
		return gitlabStats{Total: gl.Requests(), ByRoute: gl.RequestsByRoute()}, nil
	})
	handle("/gitlab/reset", func([]byte) (any, error) {
		gl, err := s.gitlab()
		if err != nil {
			return nil, err
		}
		gl.ResetStats()
		return struct{}{}, nil
	})
	handle("/port/start", func(b []byte) (any, error) {
		var in portSetup
		if err := json.Unmarshal(b, &in); err != nil {
			return nil, err
		}
		opts := []porttest.Option{porttest.WithoutRequestLog(), porttest.WithCompactEntities()}
		if in.Latency > 0 {
			opts = append(opts, porttest.WithLatency(in.Latency))
		}
		if in.RateLimit > 0 {
			opts = append(opts, porttest.WithRateLimit(porttest.RateLimit{Limit: in.RateLimit, Period: in.Period}))
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.pt != nil {
			s.pt.Close()
		}
		s.pt = porttest.New(opts...)
		return portStarted{URL: s.pt.URL, ClientID: s.pt.ClientID, ClientSecret: s.pt.ClientSecret}, nil
	})
	handle("/port/counts", func([]byte) (any, error) {
		pt, err := s.port()
		if err != nil {
			return nil, err
		}
		out := portCounts{ByRoute: map[string]int{}}
		for _, r := range portRoutes {
			if n := pt.Count(r); n > 0 {
				out.ByRoute[r] = n
			}
		}
		return out, nil
	})
	handle("/port/reset", func([]byte) (any, error) {
		pt, err := s.port()
		if err != nil {
			return nil, err
		}
		pt.ResetRequests()
		return struct{}{}, nil
	})
	handle("/port/summary", func([]byte) (any, error) {
		pt, err := s.port()
		if err != nil {
			return nil, err
		}
		out := portSummary{ByBlueprint: map[string]int{}}
		groups := map[string]bool{}
		services := map[string]bool{}
		personal := map[string]bool{}
		if gl, err := s.gitlab(); err == nil {
			for _, p := range gl.Dataset().PersonalProjectPaths() {
				personal[p] = true
			}
		}
		// Each reads identifiers, datasources and digests without decoding
		// a million entities' properties.
		pt.Each(func(e porttest.EntitySummary) {
			if e.Datasource == "" {
				out.Placeholders++
				return
			}
			out.ByBlueprint[e.Blueprint]++
			out.Owned++
			out.Digest += e.Digest
			switch e.Blueprint {
			case "gitlabGroup":
				groups[e.Identifier] = true
			case "service":
				if personal[e.Identifier] {
					services[e.Identifier] = true
				}
			}
		})
		for id := range groups {
			if i := strings.LastIndex(id, "/"); i < 0 || !groups[id[:i]] {
				out.TopLevelGroups++
			}
		}
		out.PersonalProjects = len(services)
		return out, nil
	})
	handle("/conns", func([]byte) (any, error) {
		var out connCounts
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.gl != nil {
			out.GitLabOpened, out.GitLabClosed = s.gl.Connections()
		}
		if s.pt != nil {
			out.PortOpened, out.PortClosed = s.pt.Connections()
		}
		return out, nil
	})
	handle("/usage", func([]byte) (any, error) {
		cur, peak := rss()
		return procUsage{CPU: cpuTime(), RSS: cur, PeakRSS: peak}, nil
	})
	handle("/usage/reset", func([]byte) (any, error) {
		resetPeakRSS()
		return struct{}{}, nil
	})
	handle("/stop", func([]byte) (any, error) {
		if path := os.Getenv(fakesMemProfileEnv); path != "" {
			if err := writeHeapProfile(path); err != nil {
				return nil, err
			}
		}
		s.stopAll()
		return struct{}{}, nil
	})
	return mux
}

// writeHeapProfile writes the live heap (after a collection) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	err = pprof.Lookup("heap").WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *fakesServer) gitlab() (*gitlabtest.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gl == nil {
		return nil, errors.New("no fake GitLab running")
	}
	return s.gl, nil
}

func (s *fakesServer) port() (*porttest.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pt == nil {
		return nil, errors.New("no fake Port running")
	}
	return s.pt, nil
}

func (s *fakesServer) stopAll() {
	s.mu.Lock()
	if s.gl != nil {
		s.gl.Close()
		s.gl = nil
	}
	if s.pt != nil {
		s.pt.Close()
		s.pt = nil
	}
	s.mu.Unlock()
	runtime.GC()
	debug.FreeOSMemory()
}

// fakes is the parent's handle on the child process.
type fakes struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	base  string
	hc    *http.Client
}

// startFakes re-executes this binary as the fakes' process.
func startFakes(ctx context.Context, cpuProfile, memProfile string) (*fakes, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: find own executable: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fakesEnv+"=1")
	if cpuProfile != "" {
		cmd.Env = append(cmd.Env, fakesProfileEnv+"="+cpuProfile)
	}
	if memProfile != "" {
		cmd.Env = append(cmd.Env, fakesMemProfileEnv+"="+memProfile)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start the fakes' process: %w", err)
	}
	f := &fakes{cmd: cmd, stdin: stdin, hc: &http.Client{}}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "fakes-listening "); ok {
				line <- u
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case f.base = <-line:
		return f, nil
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
	}
	_ = f.close()
	return nil, errors.New("bench: the fakes' process did not start")
}

func (f *fakes) call(ctx context.Context, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		return fmt.Errorf("bench: fakes %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: fakes %s: %s", path, strings.TrimSpace(string(body)))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}

func (f *fakes) usage(ctx context.Context) (procUsage, error) {
	var u procUsage
	err := f.call(ctx, "/usage", nil, &u)
	return u, err
}

func (f *fakes) close() error {
	_ = f.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- f.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		_ = f.cmd.Process.Kill()
		return <-done
	}
}
