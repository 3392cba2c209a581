package kafka

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// Two replicas in one consumer group: each message triggers exactly one
// resync, also when the partition moves from one replica to the other.
func TestReplicasResyncOncePerMessage(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	log, _ := bufferLogger(0)
	a := start(t, testConfig(c, log))
	a.waitOwned(t, 1)
	b := start(t, testConfig(c, log))
	b.waitOwned(t, 0) // stands by: the only partition stays with a

	off1 := produce(t, c, changeLog, configChange(testIdent, "2026-02-01T00:00:00.000Z"))[0]
	got := a.trig.next(t)
	assert.Equal(t, call{reason: reasonFor(changeLog, off1), cancel: true}, got)

	// a leaves: the partition moves to b, which must start after the
	// message a handled.
	a.stop()
	b.waitOwned(t, 1)
	off2 := produce(t, c, changeLog, configChange(testIdent, "2026-02-02T00:00:00.000Z"))[0]
	got = b.trig.next(t)
	// Had off1 been redelivered to b, it would have come first.
	assert.Equal(t, reasonFor(changeLog, off2), got.reason)
	assert.Equal(t, []string{reasonFor(changeLog, off1)}, a.trig.reasons())
	assert.Equal(t, []string{reasonFor(changeLog, off2)}, b.trig.reasons())
}

func TestMalformedAndUnrelatedMessagesAreSkippedAndCommitted(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	log, buf := bufferLogger(0)
	r := start(t, testConfig(c, log))
	offs := produce(t, c, changeLog,
		`{not json`,
		configChange("someone-else", "2026-02-01T00:00:00.000Z"),
		configChange(testIdent, "2026-02-01T00:00:00.000Z"),
	)
	got := r.trig.next(t)
	assert.Equal(t, reasonFor(changeLog, offs[2]), got.reason)
	assert.Contains(t, buf.String(), "skipping a malformed message")
	assert.NotContains(t, buf.String(), "not json", "message content is not logged")
	r.stop()

	// A new member of the group starts after everything handled: nothing
	// is delivered again.
	r2 := start(t, testConfig(c, log))
	off := produce(t, c, changeLog, `{"action":"RESYNC","context":{"integrationId":"`+testIdent+`"}}`)[0]
	got = r2.trig.next(t)
	assert.Equal(t, "kafka: resync requested in Port ("+changeLog+"/0@"+itoa(off)+")", got.reason)
	require.Len(t, r2.trig.reasons(), 1)
}

// The broker goes away and comes back on the same address with its data:
// the listener carries on from its committed offset.
func TestBrokerRestartIsSurvived(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c1, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, changeLog),
		kfake.GroupMinSessionTimeout(100*time.Millisecond), kfake.DataDir(dir))
	require.NoError(t, err)
	t.Cleanup(c1.Close)
	addr := c1.ListenAddrs()[0]
	_, portStr, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	brokerPort, err := strconv.Atoi(portStr)
	require.NoError(t, err)

	log, _ := bufferLogger(0)
	r := start(t, testConfig(c1, log))
	off1 := produce(t, c1, changeLog, configChange(testIdent, "2026-02-01T00:00:00.000Z"))[0]
	assert.Equal(t, reasonFor(changeLog, off1), r.trig.next(t).reason)

	c1.Close()
	c2 := newCluster(t, kfake.Ports(brokerPort), kfake.DataDir(dir))
	off2 := produce(t, c2, changeLog, configChange(testIdent, "2026-02-02T00:00:00.000Z"))[0]
	require.Greater(t, off2, off1, "the restarted broker kept the log")
	assert.Equal(t, reasonFor(changeLog, off2), r.trig.next(t).reason)
	assert.Equal(t, []string{reasonFor(changeLog, off1), reasonFor(changeLog, off2)}, r.trig.reasons())
}

// With security on (the default: SASL_SSL, SCRAM-SHA-512) and no
// credentials configured, the listener reads the organisation and the
// credentials from Port, and never logs the password.
func TestCredentialsFromPortOverSASLSSL(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	user, pass := srv.KafkaCredentials()
	serverTLS, clientTLS := selfSignedTLS(t)
	c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(MechanismScramSHA512, user, pass), kfake.TLS(serverTLS))
	client, err := port.New(srv.URL, srv.ClientID, srv.ClientSecret)
	require.NoError(t, err)

	log, buf := bufferLogger(slog.LevelDebug)
	cfg := testConfig(c, log)
	cfg.DisableSecurity = false
	cfg.OrgID = ""
	cfg.TLS = clientTLS
	cfg.Port = client
	r := start(t, cfg)

	off := produceAs(t, c, user, pass, clientTLS, changeLog, configChange(testIdent, "2026-02-01T00:00:00.000Z"))
	assert.Equal(t, reasonFor(changeLog, off), r.trig.next(t).reason)
	r.stop()

	assert.Equal(t, 1, srv.Count(porttest.RouteKafkaCredentials))
	assert.Equal(t, 1, srv.Count(porttest.RouteOrganization))
	assert.Contains(t, buf.String(), "group="+Group(testOrg, testType, testIdent))
	assert.NotContains(t, buf.String(), pass)
}

// credsPort is a PortAPI whose credentials can be changed (rotated).
type credsPort struct {
	pass  atomic.Value
	calls atomic.Int32
}

func (p *credsPort) GetOrganization(context.Context) (*port.Organization, error) {
	return &port.Organization{ID: testOrg}, nil
}

func (p *credsPort) GetKafkaCredentials(context.Context) (*port.KafkaCredentials, error) {
	p.calls.Add(1)
	return &port.KafkaCredentials{Username: "integration", Password: p.pass.Load().(string)}, nil
}

// Kafka refusing the credentials (rotated in Port) makes the listener
// reconnect with fresh ones.
func TestRefusedCredentialsAreFetchedAgain(t *testing.T) {
	t.Parallel()
	c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(MechanismScramSHA512, "integration", "new-password"))
	api := &credsPort{}
	api.pass.Store("old-password")
	log, buf := bufferLogger(slog.LevelDebug)
	cfg := testConfig(c, log)
	cfg.DisableSecurity = false
	cfg.SecurityProtocol = ProtocolSASLPlaintext
	cfg.OrgID = ""
	cfg.Port = api
	cfg.JoinTimeout = 300 * time.Millisecond
	r := start(t, cfg)

	require.Eventually(t, func() bool { return api.calls.Load() >= 2 }, waitFor, 10*time.Millisecond,
		"the listener did not fetch the credentials again")
	api.pass.Store("new-password")
	off := produceAs(t, c, "integration", "new-password", nil, changeLog, configChange(testIdent, "2026-02-01T00:00:00.000Z"))
	assert.Equal(t, reasonFor(changeLog, off), r.trig.next(t).reason)
	r.stop()
	assert.Contains(t, buf.String(), "restarting the consumer")
	assert.NotContains(t, buf.String(), "old-password")
	assert.NotContains(t, buf.String(), "new-password")
}

// errPort fails like Port without the route.
type errPort struct{ err error }

func (p errPort) GetOrganization(context.Context) (*port.Organization, error) {
	return &port.Organization{ID: testOrg}, nil
}

func (p errPort) GetKafkaCredentials(context.Context) (*port.KafkaCredentials, error) {
	return nil, p.err
}

func TestPortRefusingCredentialsStopsTheListener(t *testing.T) {
	t.Parallel()
	notFound := &port.Error{StatusCode: 404, Code: "not_found"}
	l, err := New(Config{IntegrationType: testType, IntegrationIdentifier: testIdent, Brokers: []string{"127.0.0.1:1"},
		Port: errPort{notFound}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	err = l.Start(t.Context(), newTrigger())
	require.ErrorIs(t, err, notFound)
}

func TestNoPortClientIsAnError(t *testing.T) {
	t.Parallel()
	l, err := New(Config{IntegrationType: testType, IntegrationIdentifier: testIdent, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	err = l.Start(t.Context(), newTrigger())
	var pe *permanentError
	require.True(t, errors.As(err, &pe), "got %v", err)
}

// Stopping while the broker is gone still returns: the final commit and
// the leave are bounded.
func TestShutdownWithoutBroker(t *testing.T) {
	t.Parallel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, changeLog), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	log, _ := bufferLogger(0)
	r := start(t, testConfig(c, log))
	r.waitOwned(t, 1)
	c.Close()
	r.stop()
}

func TestResyncOnStart(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	log, _ := bufferLogger(0)
	cfg := testConfig(c, log)
	cfg.ResyncOnStart = true
	r := start(t, cfg)
	// A start-up resync waits for a running one rather than aborting it.
	assert.Equal(t, call{reason: "kafka listener started", cancel: false}, r.trig.next(t))
}
