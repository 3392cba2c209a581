package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/oceankit/oceankit/internal/logtest"
)

const (
	testOrg   = "org_porttest"
	testType  = "gitlab-v2"
	testIdent = "my-gitlab"
	// waitFor bounds every wait; tests finish long before unless broken.
	waitFor = 30 * time.Second
)

var changeLog = Topic(testOrg, false)

// fakeTrigger records resync requests.
type fakeTrigger struct {
	mu    sync.Mutex
	calls []call
	ch    chan call
}

type call struct {
	reason string
	cancel bool
}

func newTrigger() *fakeTrigger { return &fakeTrigger{ch: make(chan call, 100)} }

func (f *fakeTrigger) TriggerResync(reason string, cancelRunning bool) {
	c := call{reason, cancelRunning}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	f.ch <- c
}

func (f *fakeTrigger) reasons() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.reason
	}
	return out
}

// next waits for the next resync request.
func (f *fakeTrigger) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-f.ch:
		return c
	case <-time.After(waitFor):
		t.Fatal("no resync was requested")
		return call{}
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer = logtest.Buffer

func bufferLogger(level slog.Level) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level})), buf
}

// newCluster starts a one-broker fake Kafka holding the change log with one
// partition, as Port's is.
func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(1, changeLog, Topic(testOrg, true)),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond)}, opts...)
	c, err := kfake.NewCluster(opts...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// testConfig is a plaintext listener config for c, quick to join and
// rebalance, that reads the topic from its start (a new group otherwise
// starts at the end, racing the test's produce).
func testConfig(c *kfake.Cluster, log *slog.Logger) Config {
	return Config{
		IntegrationType:       testType,
		IntegrationIdentifier: testIdent,
		Brokers:               c.ListenAddrs(),
		DisableSecurity:       true,
		OrgID:                 testOrg,
		PollTimeout:           100 * time.Millisecond,
		MinBackoff:            10 * time.Millisecond,
		MaxBackoff:            50 * time.Millisecond,
		Logger:                log,
		extra: []kgo.Opt{
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.SessionTimeout(2 * time.Second),
			kgo.HeartbeatInterval(50 * time.Millisecond),
			kgo.RebalanceTimeout(2 * time.Second),
			kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
		},
	}
}

// running is a started listener.
type running struct {
	trig  *fakeTrigger
	owned chan int
	stop  func()
	done  chan error
}

func start(t *testing.T, cfg Config) *running {
	t.Helper()
	l, err := New(cfg)
	require.NoError(t, err)
	r := &running{trig: newTrigger(), owned: make(chan int, 100), done: make(chan error, 1)}
	l.onOwned = func(n int) { r.owned <- n }
	ctx, cancel := context.WithCancel(t.Context())
	go func() { r.done <- l.Start(ctx, r.trig) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-r.done:
				require.NoError(t, err)
			case <-time.After(waitFor):
				t.Fatal("the listener did not stop")
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// waitOwned waits until the listener's member owns n partitions.
func (r *running) waitOwned(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case got := <-r.owned:
			if got == n {
				return
			}
		case <-timeout:
			t.Fatalf("the member never owned %d partitions", n)
		}
	}
}

// produce writes values to topic and returns their offsets.
func produce(t *testing.T, c *kfake.Cluster, topic string, values ...string) []int64 {
	t.Helper()
	return produceWith(t, c, nil, topic, values...)
}

// produceAs produces one value over SASL (and TLS when tc is set).
func produceAs(t *testing.T, c *kfake.Cluster, user, pass string, tc *tls.Config, topic, value string) int64 {
	t.Helper()
	opts := []kgo.Opt{kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism())}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	return produceWith(t, c, opts, topic, value)[0]
}

func produceWith(t *testing.T, c *kfake.Cluster, opts []kgo.Opt, topic string, values ...string) []int64 {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond })}, opts...)
	cl, err := kgo.NewClient(opts...)
	require.NoError(t, err)
	defer cl.Close()
	var offsets []int64
	for _, v := range values {
		ctx, cancel := context.WithTimeout(t.Context(), waitFor)
		r, err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).First()
		cancel()
		require.NoError(t, err)
		offsets = append(offsets, r.Offset)
	}
	return offsets
}

// configChange is the change-log message Port sends when the integration's
// config changes.
func configChange(identifier, updatedAt string) string {
	b, _ := json.Marshal(map[string]any{
		"action":               "UPDATE",
		"resourceType":         "integration",
		"changelogDestination": map[string]any{"type": "KAFKA"},
		"diff": map[string]any{
			"before": map[string]any{"identifier": identifier, "updatedAt": "2026-01-01T00:00:00.000Z"},
			"after": map[string]any{"identifier": identifier, "updatedAt": updatedAt,
				"resyncState": map[string]any{"status": "completed", "updatedAt": "2026-01-01T00:00:00.000Z"}},
		},
	})
	return string(b)
}

// reasonFor is the reason the listener gives for a config change at offset.
func reasonFor(topic string, offset int64) string {
	return fmt.Sprintf("kafka: integration changed in Port (%s/0@%d)", topic, offset)
}

// selfSignedTLS returns a server config for 127.0.0.1 and a client config
// trusting it.
func selfSignedTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kfake"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}

func itoa(n int64) string { return fmt.Sprint(n) }
