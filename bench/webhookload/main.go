// Command webhookload measures what hostile traffic on the live-event route
// costs the sync: it runs the GitLab sync's webhook server (WEBHOOKS_ONLY,
// a webhook secret set, a dry run) in a child process, sends it traffic on
// 127.0.0.1 only, and reports the child's resident memory, how connections
// end and how many log lines it wrote.
//
//	go run ./bench/webhookload                    # every scenario, default limits
//	go run ./bench/webhookload -big 8 -slow 300   # the figures (the default)
//	go run ./bench/webhookload -read-timeout 5s   # a shorter read timeout in the server
//
// Scenarios:
//
//   - big: -big deliveries in parallel, each announcing -big-size bytes of
//     JSON, streamed as the server reads: without the secret, with the
//     secret (over the body limit), and without X-Gitlab-Event. The peak
//     resident memory of the server during each is compared with before.
//   - slow: -slow connections that send the headers and 6 bytes of a 1 MB
//     body, then nothing, with and without the secret; each is timed until
//     the server closes it.
//   - reject: -rejects deliveries with a wrong secret, one after another;
//     the server's log lines are counted.
//
// The child's peak RSS is read from /proc (VmHWM, reset through clear_refs
// before each scenario), so this runs on Linux only. The traffic is bounded
// by the flags, and every connection by -timeout.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// serveEnv, set to 1, makes this binary run the server under test.
const serveEnv = "OCEANKIT_WEBHOOKLOAD_SERVE"

// readTimeoutEnv passes -read-timeout to the server.
const readTimeoutEnv = "OCEANKIT_WEBHOOKLOAD_READ_TIMEOUT"

const secret = "webhookload-secret"

func main() {
	if os.Getenv(serveEnv) == "1" {
		if err := serve(); err != nil {
			fmt.Fprintln(os.Stderr, "webhookload server:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "webhookload:", err)
		os.Exit(1)
	}
}

type options struct {
	big         int
	bigSize     int64
	slow        int
	rejects     int
	readTimeout time.Duration
	timeout     time.Duration
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fl := flag.NewFlagSet("webhookload", flag.ContinueOnError)
	var o options
	fl.IntVar(&o.big, "big", 8, "parallel deliveries with a large body")
	fl.Int64Var(&o.bigSize, "big-size", 24<<20, "bytes each large delivery announces and streams")
	fl.IntVar(&o.slow, "slow", 300, "slow connections")
	fl.IntVar(&o.rejects, "rejects", 5000, "deliveries with a wrong secret, for the log count")
	fl.DurationVar(&o.readTimeout, "read-timeout", 0, "the server's read timeout (0: its default)")
	fl.DurationVar(&o.timeout, "timeout", 60*time.Second, "longest any connection is kept open by this program")
	if err := fl.Parse(args); err != nil {
		return err
	}
	srv, err := startServer(ctx, o.readTimeout)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Fprintf(out, "# webhook route under load (server pid %d, %s)\n\n", srv.pid, srv.addr)
	startLines := srv.logLines.Load()
	defer func() {
		fmt.Fprintf(out, "\nlog lines the server wrote during all scenarios: %d\n", srv.logLines.Load()-startLines)
	}()

	if o.big > 0 {
		fmt.Fprintf(out, "## %d parallel deliveries of %d MiB\n\n", o.big, o.bigSize>>20)
		fmt.Fprintln(out, "| deliveries | answers | body bytes sent (max) | RSS before | peak RSS | peak − before |")
		fmt.Fprintln(out, "|---|---|---|---|---|---|")
		for _, sc := range []struct {
			name          string
			event, token  string
			contentLength bool
		}{
			{"wrong secret", "Push Hook", "not-the-secret", true},
			{"no secret, chunked", "Push Hook", "", false},
			{"right secret, over the body limit", "Push Hook", secret, true},
			{"no X-Gitlab-Event", "", "not-the-secret", true},
		} {
			r, err := bigScenario(ctx, srv, o, sc.event, sc.token, sc.contentLength)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s |\n", sc.name, r.answers, mib(r.maxSent), mib(r.before), mib(r.peak), mib(r.peak-r.before))
		}
		fmt.Fprintln(out)
	}
	if o.slow > 0 {
		fmt.Fprintf(out, "## %d slow connections (headers and 6 bytes of a 1 MB body, then nothing)\n\n", o.slow)
		fmt.Fprintln(out, "| connections | closed by the server | answers | median time to close | slowest | peak − before RSS |")
		fmt.Fprintln(out, "|---|---|---|---|---|---|")
		for _, sc := range []struct{ name, token string }{
			{"wrong secret", "not-the-secret"},
			{"right secret", secret},
		} {
			r, err := slowScenario(ctx, srv, o, sc.token)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			fmt.Fprintf(out, "| %s | %d of %d | %s | %s | %s | %s |\n", sc.name, r.closed, o.slow, r.answers,
				r.median.Round(time.Millisecond), r.slowest.Round(time.Millisecond), mib(r.peak-r.before))
		}
		fmt.Fprintln(out)
	}
	if o.rejects > 0 {
		before := srv.logLines.Load()
		answers, err := rejectScenario(ctx, srv, o.rejects)
		if err != nil {
			return fmt.Errorf("rejects: %w", err)
		}
		fmt.Fprintf(out, "## %d deliveries with a wrong secret\n\nanswers: %s; log lines the server wrote: %d\n",
			o.rejects, answers, srv.logLines.Load()-before)
	}
	return nil
}

// --- the server under test ---

// serve runs the GitLab sync's webhook route until stdin closes.
func serve() error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := settings.Default(gitlab.ProviderType)
	cfg.Integration.Identifier = "webhookload"
	cfg.EventListener.Type = settings.ListenerWebhooksOnly
	cfg.InitializePortResources = false
	cfg.Application.Port = 0
	integ, err := gitlab.New(gitlab.Config{Host: "http://127.0.0.1:9", Token: "unused", WebhookSecret: secret}, gitlab.WithLogger(log))
	if err != nil {
		return err
	}
	pac, err := mapping.Parse([]byte(`
resources:
  - kind: project
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          blueprint: '"gitlabRepository"'
`))
	if err != nil {
		return err
	}
	opts := []ocean.Option{ocean.WithLogger(log), ocean.WithDryRun(io.Discard), ocean.WithPortAppConfig(pac)}
	if s := os.Getenv(readTimeoutEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		cfg.Webhook.ReadTimeout = d
	}
	app, err := ocean.New(cfg, integ.Provider(), opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	go func() {
		for ctx.Err() == nil {
			if addr := app.Addr(); addr != "" {
				_, port, _ := net.SplitHostPort(addr)
				fmt.Printf("ADDR 127.0.0.1:%s\n", port)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return app.Run(ctx)
}

type server struct {
	cmd      *exec.Cmd
	pid      int
	addr     string
	stdin    io.WriteCloser
	logLines atomic.Int64
	done     chan struct{}
}

func startServer(ctx context.Context, readTimeout time.Duration) (*server, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	if readTimeout > 0 {
		cmd.Env = append(cmd.Env, readTimeoutEnv+"="+readTimeout.String())
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, pid: cmd.Process.Pid, stdin: stdin, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.logLines.Add(1)
		}
		close(s.done)
	}()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			s.addr = addr
			break
		}
	}
	if s.addr == "" {
		s.stop()
		return nil, errors.New("the server did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if err := waitReady(ctx, s.addr); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func waitReady(ctx context.Context, addr string) error {
	for range 500 {
		resp, err := http.Get("http://" + addr + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return errors.New("the server never became ready")
}

func (s *server) stop() {
	_ = s.stdin.Close()
	_ = s.cmd.Wait()
	<-s.done
}

// memory returns the child's resident set and its peak since the last
// resetPeak, in bytes.
func (s *server) memory() (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm, nil
}

// resetPeak resets the child's VmHWM to its current RSS.
func (s *server) resetPeak() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.pid), []byte("5"), 0)
}

// --- scenarios ---

type bigResult struct {
	answers      string
	maxSent      int64
	before, peak int64
}

// jsonStream is a valid push payload of n bytes generated as it is read,
// so that this program does not hold what it sends: the head, as many
// commits as fit, an empty object, spaces, and the closing brackets.
type jsonStream struct {
	n, off int64
	sent   *atomic.Int64
}

const (
	streamHead = `{"object_kind":"push","event_name":"push","ref":"refs/heads/main","project_id":1,"commits":[`
	streamItem = `{"id":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","message":"fix","added":["a.txt"],"modified":[],"removed":[]},`
	streamTail = `{}`
	streamEnd  = `]}`
)

func (j *jsonStream) byteAt(off int64) byte {
	head, item := int64(len(streamHead)), int64(len(streamItem))
	items := max(0, (j.n-head-int64(len(streamTail)+len(streamEnd)))/item)
	switch {
	case off < head:
		return streamHead[off]
	case off < head+items*item:
		return streamItem[(off-head)%item]
	case off < head+items*item+int64(len(streamTail)):
		return streamTail[off-head-items*item]
	case off >= j.n-int64(len(streamEnd)):
		return streamEnd[off-(j.n-int64(len(streamEnd)))]
	}
	return ' '
}

func (j *jsonStream) Read(p []byte) (int, error) {
	if j.off >= j.n {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && j.off < j.n {
		p[n] = j.byteAt(j.off)
		n++
		j.off++
	}
	j.sent.Add(int64(n))
	return n, nil
}

func bigScenario(ctx context.Context, s *server, o options, event, token string, withLength bool) (bigResult, error) {
	var r bigResult
	if err := s.resetPeak(); err != nil {
		return r, err
	}
	rss, _, err := s.memory()
	if err != nil {
		return r, err
	}
	r.before = rss
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers = map[string]int{}
	)
	client := &http.Client{Timeout: o.timeout}
	for range o.big {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sent atomic.Int64
			body := &jsonStream{n: o.bigSize, sent: &sent}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.addr+"/integration/webhook", io.NopCloser(body))
			if err != nil {
				return
			}
			if withLength {
				req.ContentLength = o.bigSize
			}
			req.Header.Set("Content-Type", "application/json")
			if event != "" {
				req.Header.Set("X-Gitlab-Event", event)
			}
			if token != "" {
				req.Header.Set("X-Gitlab-Token", token)
			}
			answer := "error"
			resp, err := client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				answer = strconv.Itoa(resp.StatusCode)
			}
			mu.Lock()
			answers[answer]++
			r.maxSent = max(r.maxSent, sent.Load())
			mu.Unlock()
		}()
	}
	wg.Wait()
	_, hwm, err := s.memory()
	if err != nil {
		return r, err
	}
	r.peak = hwm
	r.answers = tally(answers)
	return r, nil
}

type slowResult struct {
	closed          int
	answers         string
	median, slowest time.Duration
	before, peak    int64
}

func slowScenario(ctx context.Context, s *server, o options, token string) (slowResult, error) {
	var r slowResult
	if err := s.resetPeak(); err != nil {
		return r, err
	}
	rss, _, err := s.memory()
	if err != nil {
		return r, err
	}
	r.before = rss
	req := "POST /integration/webhook HTTP/1.1\r\nHost: " + s.addr + "\r\nContent-Type: application/json\r\n" +
		"X-Gitlab-Event: Push Hook\r\nX-Gitlab-Token: " + token + "\r\nContent-Length: 1000000\r\n\r\n{\"obje"
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		times   []time.Duration
		answers = map[string]int{}
	)
	var d net.Dialer
	for range o.slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := d.DialContext(ctx, "tcp", s.addr)
			if err != nil {
				mu.Lock()
				answers["dial error"]++
				mu.Unlock()
				return
			}
			defer conn.Close()
			start := time.Now()
			_ = conn.SetDeadline(start.Add(o.timeout))
			if _, err := io.WriteString(conn, req); err != nil {
				return
			}
			got, err := io.ReadAll(conn)
			took := time.Since(start)
			answer := "none"
			if line, _, ok := strings.Cut(string(got), "\r\n"); ok {
				answer = line
			}
			mu.Lock()
			defer mu.Unlock()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				answers["still open at -timeout"]++
				return
			}
			answers[answer]++
			times = append(times, took)
		}()
	}
	wg.Wait()
	_, hwm, err := s.memory()
	if err != nil {
		return r, err
	}
	r.peak = hwm
	r.closed = len(times)
	slices.Sort(times)
	if len(times) > 0 {
		r.median, r.slowest = times[len(times)/2], times[len(times)-1]
	}
	r.answers = tally(answers)
	return r, nil
}

func rejectScenario(ctx context.Context, s *server, n int) (string, error) {
	answers := map[string]int{}
	body := `{"object_kind":"push","project_id":1,"ref":"refs/heads/main"}`
	for range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.addr+"/integration/webhook", strings.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("X-Gitlab-Event", "Push Hook")
		req.Header.Set("X-Gitlab-Token", "wrong")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answers[strconv.Itoa(resp.StatusCode)]++
	}
	// Let the server's log lines reach the counter.
	time.Sleep(200 * time.Millisecond)
	return tally(answers), nil
}

func tally(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
