package redisqueue_test

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/redisqueue"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// startRedis runs a private redis-server on a free loopback port for the
// test and returns its address.
func startRedis(t testing.TB) string {
	t.Helper()
	return startRedisServer(t).addr
}

// redisServer is a private redis-server without persistence, as a Redis
// pod often runs, which a test can kill and start again, empty, on the
// same port.
type redisServer struct {
	t      testing.TB
	bin    string
	dir    string
	port   int
	addr   string
	cmd    *exec.Cmd
	exited chan struct{}
}

func startRedisServer(t testing.TB) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (Debian/Ubuntu: apt-get install redis-server); skipping the Redis tests")
	}
	for attempt := 0; attempt < 3; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		portNum := l.Addr().(*net.TCPAddr).Port
		require.NoError(t, l.Close())
		r := &redisServer{t: t, bin: bin, dir: t.TempDir(), port: portNum, addr: fmt.Sprintf("127.0.0.1:%d", portNum)}
		if r.launch() {
			t.Cleanup(r.kill)
			return r
		}
	}
	t.Fatal("redis-server did not start")
	return nil
}

// launch starts redis-server on r.port and waits until it answers; false
// when it exited (the port was taken) or did not answer.
func (r *redisServer) launch() bool {
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	require.NoError(r.t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	r.cmd, r.exited = cmd, exited
	rc := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer rc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			r.cmd = nil
			return false
		default:
		}
		if rc.Ping(context.Background()).Err() == nil {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.kill()
	return false
}

// kill stops the server at once (SIGKILL): everything it held is lost.
func (r *redisServer) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
	r.cmd = nil
}

// freeze stops the server's process (SIGSTOP) until thaw: connections
// stay open and nothing is answered, as with a stalled node.
func (r *redisServer) freeze() { require.NoError(r.t, r.cmd.Process.Signal(syscall.SIGSTOP)) }

// thaw resumes a frozen server (SIGCONT), with all its data.
func (r *redisServer) thaw() { require.NoError(r.t, r.cmd.Process.Signal(syscall.SIGCONT)) }

// restart starts a new, empty server on the same port.
func (r *redisServer) restart() {
	r.t.Helper()
	r.kill()
	for attempt := 0; attempt < 50; attempt++ {
		if r.launch() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatal("redis-server did not start again on port " + strconv.Itoa(r.port))
}

func rawClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}

// testLogger discards logs unless REDISQUEUE_TEST_LOGS is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("REDISQUEUE_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

// testConfig is a queue with short timings, so that takeovers and retries
// happen in milliseconds.
func testConfig(t testing.TB, addr string, shards int) redisqueue.Config {
	return redisqueue.Config{
		URL:                 "redis://" + addr,
		Group:               "widgets.test-widgets",
		Shards:              shards,
		LeaseTTL:            time.Second,
		Block:               50 * time.Millisecond,
		RetryDelay:          5 * time.Millisecond,
		ErrorBackoff:        50 * time.Millisecond,
		ShutdownWait:        200 * time.Millisecond,
		MaintenanceInterval: 50 * time.Millisecond,
		ProbeInterval:       20 * time.Millisecond,
		Logger:              testLogger(t),
	}
}

func newQueue(t testing.TB, cfg redisqueue.Config) *redisqueue.Queue {
	t.Helper()
	q, err := redisqueue.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// runQueue runs q until the returned stop is called (or the test ends).
func runQueue(t *testing.T, q *redisqueue.Queue, apply ocean.ApplyFunc) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- q.Run(ctx, apply) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(20 * time.Second):
				err = errors.New("Run did not return after cancellation")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// eventually waits for a condition that the consumers bring about.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not met: " + msg)
}

func queued(key, id string, body map[string]any) *ocean.QueuedEvent {
	b, _ := json.Marshal(body)
	return &ocean.QueuedEvent{Key: key, Processor: "widget-hook", Event: &ocean.Event{
		ID: id, Path: "/webhook", Headers: http.Header{"X-Widget-Event": {"widget"}},
		Body: b, ReceivedAt: time.Now(),
	}}
}

// ---- an App with a widget processor, as ocean's own live-event tests use

const (
	integrationID = "test-widgets"
	hookSecret    = "s3cr3t-webhook-token"
	widgetMapping = `{"resources":[{"kind":"widget","selector":{"query":"true"},"port":{"entity":{"mappings":{
  "identifier":".id","title":".name","blueprint":"\"widget\"","properties":{"size":".size"}}}}}]}`
)

// recorder keeps the order in which the replicas handled events.
type recorder struct {
	mu      sync.Mutex
	handled []handled
}

type handled struct {
	replica, id string
	size        int
}

func (r *recorder) all() []handled {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]handled(nil), r.handled...)
}

// widgetHook is one replica's processor: events carry a whole widget.
type widgetHook struct {
	replica string
	rec     *recorder
	// gate, when set, holds every Handle until it is closed or the
	// event's context ends; entered is told the widget id first.
	gate    chan struct{}
	entered chan string
	// panicOn makes Handle panic for this widget id (a handler bug).
	panicOn string
}

func (p *widgetHook) Name() string                { return "widget-hook" }
func (p *widgetHook) Match(ev *ocean.Event) bool  { return ev.Headers.Get("X-Widget-Event") != "" }
func (p *widgetHook) Kinds(*ocean.Event) []string { return []string{"widget"} }

func (p *widgetHook) Authenticate(_ context.Context, ev *ocean.Event) error {
	if subtle.ConstantTimeCompare([]byte(ev.Headers.Get("X-Widget-Token")), []byte(hookSecret)) != 1 {
		return ocean.ErrUnauthorized
	}
	return nil
}

func (p *widgetHook) Validate(ev *ocean.Event) error {
	w, ok := ev.Payload["widget"].(map[string]any)
	if !ok {
		return errors.New("no widget object")
	}
	if _, ok := w["id"].(string); !ok {
		return errors.New("widget without id")
	}
	return nil
}

// funcs is the hook as a ProcessorFuncs, keyed and versioned.
func (p *widgetHook) funcs() *ocean.ProcessorFuncs {
	return &ocean.ProcessorFuncs{ID: p.Name(), Matches: p.Match, Auth: p.Authenticate, Check: p.Validate,
		KindNames: p.Kinds(nil), Apply: p.Handle, Key: p.Key, Version: p.Version}
}

func (p *widgetHook) Key(ev *ocean.Event) string {
	return ev.Payload["widget"].(map[string]any)["id"].(string)
}

func (p *widgetHook) Version(ev *ocean.Event) (time.Time, bool) {
	s, _ := ev.Payload["updated_at"].(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

func (p *widgetHook) Handle(ctx context.Context, ev *ocean.Event, _ ocean.Resource) (ocean.Changes, error) {
	w := ev.Payload["widget"].(map[string]any)
	if p.panicOn != "" && w["id"] == p.panicOn {
		panic("widget handler bug")
	}
	if p.gate != nil {
		select {
		case p.entered <- w["id"].(string):
		default:
		}
		select {
		case <-p.gate:
		case <-ctx.Done():
			return ocean.Changes{}, ctx.Err()
		}
	}
	size, _ := w["size"].(float64)
	p.rec.mu.Lock()
	p.rec.handled = append(p.rec.handled, handled{replica: p.replica, id: w["id"].(string), size: int(size)})
	p.rec.mu.Unlock()
	return ocean.Changes{Upsert: []ocean.Item{w}}, nil
}

// cluster is one fake Port and one Redis shared by several replicas.
type cluster struct {
	t     *testing.T
	srv   *porttest.Server
	redis string
	rec   *recorder
	seq   int64
	mu    sync.Mutex
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	return newClusterOn(t, startRedis(t))
}

// newClusterOn is a cluster on the Redis at addr.
func newClusterOn(t *testing.T, addr string) *cluster {
	t.Helper()
	srv := porttest.NewServer(t)
	require.NoError(t, srv.AddBlueprint(port.Blueprint{
		Identifier: "widget", Title: "Widget",
		Schema: port.BlueprintSchema{Properties: map[string]map[string]any{"size": {"type": "number"}}},
	}))
	srv.AddIntegration(port.Integration{Identifier: integrationID, InstallationAppType: "widgets", Config: json.RawMessage(widgetMapping)})
	return &cluster{t: t, srv: srv, redis: addr, rec: &recorder{}}
}

// replica is one running App.
type replica struct {
	app   *ocean.App
	queue *redisqueue.Queue
	hook  *widgetHook
	url   string
	stop  func() error
}

func (c *cluster) start(name string, shards int, hook *widgetHook) *replica {
	t := c.t
	t.Helper()
	hook.replica, hook.rec = name, c.rec
	cfg := settings.Default("widgets")
	cfg.Port.ClientID = settings.Secret(c.srv.ClientID)
	cfg.Port.ClientSecret = settings.Secret(c.srv.ClientSecret)
	cfg.Port.BaseURL = c.srv.URL
	cfg.Integration.Identifier = integrationID
	cfg.EventListener.Type = settings.ListenerWebhooksOnly
	cfg.InitializePortResources = false
	cfg.Application.Port = 0
	cfg.MaxWaitSecondsBeforeShutdown = 0.2
	client, err := port.New(c.srv.URL, c.srv.ClientID, c.srv.ClientSecret,
		port.WithDatasource(port.Datasource{Type: "widgets", Version: "1.0.0", Identifier: integrationID}),
		port.WithRetryPolicy(port.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}),
		port.WithLogger(testLogger(t)))
	require.NoError(t, err)
	qc := testConfig(t, c.redis, shards)
	qc.Group = cfg.Integration.Type + "." + cfg.Integration.Identifier
	qc.Consumer = name
	qc.Workers = 2
	q := newQueue(t, qc)
	prov := &ocean.Provider{
		Type: "widgets", Version: "1.0.0",
		Kinds:      []ocean.Kind{ocean.NewKind("widget", func(context.Context, ocean.BaseSelector, ocean.Sender) error { return nil })},
		Processors: []ocean.Processor{hook.funcs()},
	}
	app, err := ocean.New(cfg, prov, ocean.WithPortClient(client), ocean.WithLogger(testLogger(t)),
		ocean.WithEventQueue(q), ocean.WithClock(clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)).AutoAdvance()))
	require.NoError(t, err)
	r := &replica{app: app, queue: q, hook: hook}
	r.stop = runApp(t, app)
	r.url = waitHealthy(t, app)
	return r
}

func runApp(t *testing.T, a *ocean.App) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(20 * time.Second):
				err = errors.New("Run did not return after cancellation")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func waitHealthy(t *testing.T, a *ocean.App) string {
	t.Helper()
	var url string
	eventually(t, func() bool {
		addr := a.Addr()
		if addr == "" {
			return false
		}
		resp, err := http.Get("http://" + addr + "/health/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		url = "http://" + addr
		return resp.StatusCode == http.StatusOK
	}, "app ready")
	return url
}

// post sends a widget update to a replica and returns the HTTP status.
func (c *cluster) post(r *replica, id string, size int) int {
	t := c.t
	t.Helper()
	c.mu.Lock()
	c.seq++
	seq := c.seq
	c.mu.Unlock()
	body, err := json.Marshal(map[string]any{
		"action":     "update",
		"widget":     map[string]any{"id": id, "name": "Widget " + id, "size": size},
		"updated_at": time.Unix(0, seq*int64(time.Millisecond)).UTC().Format(time.RFC3339Nano),
	})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, r.url+"/integration/webhook", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Widget-Event", "widget")
	req.Header.Set("X-Widget-Token", hookSecret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// size is the size Port holds for a widget (-1 when it has none).
func (c *cluster) size(id string) int {
	e, ok := c.srv.Entity("widget", id)
	if !ok {
		return -1
	}
	f, _ := e.Properties["size"].(float64)
	return int(f)
}
