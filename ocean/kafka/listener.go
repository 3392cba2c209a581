package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/port"
)

// commitTimeout bounds a synchronous offset commit, so that shutting down
// with an unreachable broker does not hang.
const commitTimeout = 10 * time.Second

// Listener is the KAFKA event listener. Register it with
// ocean.WithListener(ocean.ListenerKafka, l). One Listener may be started
// several times, one after the other or at once; each Start has its own
// Kafka client.
type Listener struct {
	cfg Config
	// onOwned, set by tests, is told how many partitions this member owns
	// after every assignment change.
	onOwned func(n int)
}

// New checks cfg, applies its defaults and returns a Listener.
func New(cfg Config) (*Listener, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Listener{cfg: c}, nil
}

// Start consumes until ctx is done, asking t for a resync for every message
// that concerns the integration. It returns nil when ctx ends, and an error
// only for a problem retrying cannot fix (no way to reach Port, Port
// refusing the organisation or the credentials).
func (l *Listener) Start(ctx context.Context, t ocean.Trigger) error {
	if t == nil {
		return errors.New("kafka: Start needs a Trigger")
	}
	log := l.logger(t)
	api := l.portAPI(t)
	if l.cfg.ResyncOnStart {
		t.TriggerResync("kafka listener started", false)
	}
	wait := l.cfg.MinBackoff
	for {
		healthy, err := l.session(ctx, t, api, log)
		if ctx.Err() != nil {
			return nil
		}
		if isPermanent(err) {
			return err
		}
		if healthy {
			wait = l.cfg.MinBackoff
		}
		// Full jitter around the current step keeps replicas that failed
		// together from reconnecting together.
		d := wait/2 + rand.N(wait/2+1)
		log.Warn("kafka listener: restarting the consumer", "error", err, "retry_in", d)
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		wait = min(wait*2, l.cfg.MaxBackoff)
	}
}

func (l *Listener) logger(t ocean.Trigger) *slog.Logger {
	if l.cfg.Logger != nil {
		return l.cfg.Logger
	}
	if lt, ok := t.(interface{ Logger() *slog.Logger }); ok {
		if lg := lt.Logger(); lg != nil {
			return lg
		}
	}
	return slog.Default()
}

func (l *Listener) portAPI(t ocean.Trigger) PortAPI {
	if l.cfg.Port != nil {
		return l.cfg.Port
	}
	if pt, ok := t.(interface{ Port() *port.Client }); ok {
		if c := pt.Port(); c != nil {
			return c
		}
	}
	return nil
}

// permanentError marks a failure retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p) || port.IsUnauthorized(err) || port.IsForbidden(err) || port.IsNotFound(err)
}

// target is where one session connects.
type target struct {
	topic, group string
	user, pass   string
}

// resolve reads what the session needs from the config or from Port.
func (l *Listener) resolve(ctx context.Context, api PortAPI) (target, error) {
	orgID, resyncRequests := l.cfg.OrgID, l.cfg.ResyncRequestsTopic
	if orgID == "" {
		if api == nil {
			return target{}, &permanentError{errors.New("kafka: no Port client to read the organisation from (set Config.Port or Config.OrgID)")}
		}
		org, err := api.GetOrganization(ctx)
		if err != nil {
			return target{}, fmt.Errorf("kafka: read the organisation from Port: %w", err)
		}
		if org.ID == "" {
			return target{}, errors.New("kafka: Port's organisation has no id")
		}
		orgID = org.ID
		resyncRequests = slices.Contains(org.FeatureFlags, FlagResyncRequestsTopic)
	}
	tg := target{
		topic: Topic(orgID, resyncRequests),
		group: Group(orgID, l.cfg.IntegrationType, l.cfg.IntegrationIdentifier),
	}
	if l.cfg.sasl() {
		tg.user, tg.pass = l.cfg.Username, l.cfg.Password.Value()
		if tg.user == "" {
			if api == nil {
				return target{}, &permanentError{errors.New("kafka: no credentials and no Port client to fetch them from (set Config.Port or Config.Username)")}
			}
			creds, err := api.GetKafkaCredentials(ctx)
			if err != nil {
				return target{}, fmt.Errorf("kafka: fetch Kafka credentials from Port: %w", err)
			}
			tg.user, tg.pass = creds.Username, creds.Password
		}
	}
	return tg, nil
}

func (l *Listener) mechanism(tg target) sasl.Mechanism {
	switch l.cfg.Mechanism {
	case MechanismPlain:
		return plain.Auth{User: tg.user, Pass: tg.pass}.AsMechanism()
	case MechanismScramSHA256:
		return scram.Auth{User: tg.user, Pass: tg.pass}.AsSha256Mechanism()
	default:
		return scram.Auth{User: tg.user, Pass: tg.pass}.AsSha512Mechanism()
	}
}

// session runs one Kafka client until ctx ends (nil) or an error the client
// cannot recover from. healthy reports whether it got as far as joining
// the group, which resets the reconnection backoff.
func (l *Listener) session(ctx context.Context, t ocean.Trigger, api PortAPI, log *slog.Logger) (healthy bool, err error) {
	tg, err := l.resolve(ctx, api)
	if err != nil {
		return false, err
	}
	s := &session{l: l, t: t, log: log, topic: tg.topic, owned: map[int32]bool{}, outSince: time.Now(),
		handled: map[int32]*kgo.Record{}, pending: map[int32]*pendingTrigger{}, committed: map[int32]int64{},
		resolved: make(chan struct{}, 1)}
	opts := []kgo.Opt{
		kgo.SeedBrokers(l.cfg.Brokers...),
		kgo.ClientID("oceankit-" + l.cfg.IntegrationType),
		kgo.ConsumerGroup(tg.group),
		kgo.ConsumeTopics(tg.topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		// A new group starts at the end, as Ocean's consumer does: the
		// change log's history is not a list of pending requests.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.FetchMaxWait(l.cfg.PollTimeout),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.lost),
		kgo.WithLogger(kgoLogger{log: log}),
	}
	if l.cfg.tls() {
		tc := l.cfg.TLS
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if l.cfg.sasl() {
		opts = append(opts, kgo.SASL(l.mechanism(tg)))
	}
	opts = append(opts, l.cfg.extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return false, &permanentError{fmt.Errorf("kafka: client: %w", err)}
	}
	log.Info("kafka listener: consuming", "topic", tg.topic, "group", tg.group, "brokers", l.cfg.Brokers,
		"security_protocol", l.cfg.SecurityProtocol)
	err = s.consume(ctx, cl)
	// Leaving the group revokes this member's partitions (committing
	// first), so another replica takes over at once.
	cl.CloseAllowingRebalance()
	return s.healthy.Load(), err
}

// session is one Kafka client's life.
type session struct {
	l     *Listener
	t     ocean.Trigger
	log   *slog.Logger
	topic string

	healthy atomic.Bool

	mu      sync.Mutex
	owned   map[int32]bool
	standby bool
	lastErr string
	// outSince is when the member left (or had not yet joined) its group;
	// zero while it is in it.
	outSince time.Time

	// handled is the last record handled per partition and not yet
	// committed; pending the resync requests not yet acted on per
	// partition. Both are used from the poll loop and the rebalance
	// callbacks, which BlockRebalanceOnPoll keeps apart.
	handled   map[int32]*kgo.Record
	pending   map[int32]*pendingTrigger
	committed map[int32]int64
	// resolved wakes the poll loop when a requested resync ended.
	resolved chan struct{}
}

// pendingTrigger is a message that asked for a resync which has not ended
// yet: its offset is not committed, so a crash or a shutdown in the middle
// of the resync delivers it again.
type pendingTrigger struct {
	first *kgo.Record     // the oldest such message of the partition
	done  <-chan struct{} // closed when the newest request's resync ended
}

// errOutOfGroup ends a session whose consumer stayed out of its group for
// Config.JoinTimeout.
var errOutOfGroup = errors.New("kafka: the consumer could not join its group (unreachable brokers, or refused credentials)")

// watch cancels the poll when the member stays out of its group too long.
func (s *session) watch(ctx context.Context, cancel context.CancelCauseFunc) {
	limit := s.l.cfg.JoinTimeout
	tick := time.NewTicker(max(limit/8, 5*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			s.mu.Lock()
			out := s.outSince
			s.mu.Unlock()
			if !out.IsZero() && now.Sub(out) >= limit {
				cancel(errOutOfGroup)
				return
			}
		}
	}
}

func (s *session) consume(ctx context.Context, cl *kgo.Client) error {
	pollCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go s.watch(pollCtx, cancel)
	for {
		fetches := s.poll(pollCtx, cl)
		if fetches.IsClientClosed() {
			return nil
		}
		var fatal error
		fetches.EachError(func(topic string, partition int32, err error) {
			switch {
			case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			case unrecoverable(err):
				fatal = err
			default:
				s.warn(topic, partition, err)
			}
		})
		n := 0
		fetches.EachRecord(func(r *kgo.Record) {
			s.handled[r.Partition] = r
			if done := s.handle(r); done != nil {
				s.await(ctx, r, done)
			}
			n++
		})
		if n > 0 {
			s.healthy.Store(true)
		}
		// Commit before allowing a rebalance: the partition cannot move to
		// another replica between the trigger and the commit.
		s.commit(ctx, cl, nil)
		cl.AllowRebalance()
		if ctx.Err() != nil {
			return nil
		}
		if err := context.Cause(pollCtx); err != nil {
			return err
		}
		if fatal != nil {
			return fmt.Errorf("kafka: %w", fatal)
		}
	}
}

// unrecoverable reports errors that the same client retrying cannot fix:
// credentials Kafka refuses (rotated, or wrong) and missing rights.
func unrecoverable(err error) bool {
	for _, e := range []error{kerr.SaslAuthenticationFailed, kerr.IllegalSaslState, kerr.UnsupportedSaslMechanism,
		kerr.TopicAuthorizationFailed, kerr.GroupAuthorizationFailed, kerr.ClusterAuthorizationFailed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// warn logs a consumer error the client retries by itself; the same error
// again is only debug, so an outage does not flood the log.
func (s *session) warn(topic string, partition int32, err error) {
	msg := err.Error()
	s.mu.Lock()
	repeated := msg == s.lastErr
	s.lastErr = msg
	s.mu.Unlock()
	lvl := slog.LevelWarn
	if repeated {
		lvl = slog.LevelDebug
	}
	s.log.Log(context.Background(), lvl, "kafka listener: consumer error (retrying)", "topic", topic, "partition", partition, "error", err)
}

// poll waits for records, or until a requested resync ended (so that its
// message is committed without waiting for the next one).
func (s *session) poll(ctx context.Context, cl *kgo.Client) kgo.Fetches {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-s.resolved:
			cancel()
		case <-stop:
		}
	}()
	return cl.PollFetches(pctx)
}

// await holds back the commit of r's partition until the resync r asked
// for ended.
func (s *session) await(ctx context.Context, r *kgo.Record, done <-chan struct{}) {
	if p := s.pending[r.Partition]; p != nil {
		p.done = done // a resync that answers this request answers the older ones
	} else {
		s.pending[r.Partition] = &pendingTrigger{first: r, done: done}
	}
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
			return
		}
		select {
		case s.resolved <- struct{}{}:
		default:
		}
	}()
}

// commit commits, for each partition (or only those in only), what has
// been handled: everything when no requested resync is pending, else up to
// the oldest message whose resync has not ended, so that it is delivered
// again if this member goes away first.
func (s *session) commit(ctx context.Context, cl *kgo.Client, only map[int32]bool) {
	offsets := map[int32]kgo.EpochOffset{}
	for p, r := range s.handled {
		if only != nil && !only[p] {
			continue
		}
		if pend := s.pending[p]; pend != nil {
			select {
			case <-pend.done:
				delete(s.pending, p)
			default:
				// Up to the message, once: a new group starts at the end
				// of the topic, so even offset 0 must be committed.
				if c, ok := s.committed[p]; !ok || c < pend.first.Offset {
					offsets[p] = kgo.EpochOffset{Epoch: pend.first.LeaderEpoch, Offset: pend.first.Offset}
				}
				continue
			}
		}
		offsets[p] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
		delete(s.handled, p)
	}
	if len(offsets) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	var cerr error
	cl.CommitOffsetsSync(cctx, map[string]map[int32]kgo.EpochOffset{s.topic: offsets},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				cerr = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if e := kerr.ErrorForCode(p.ErrorCode); e != nil && cerr == nil {
						cerr = e
					}
				}
			}
		})
	if cerr != nil {
		s.log.Warn("kafka listener: could not commit offsets; the messages may be delivered again", "error", cerr)
		return
	}
	for p, o := range offsets {
		s.committed[p] = o.Offset
	}
}

// handle decides on one record and, if it asks for a resync, requests it.
// It returns a channel closed when that resync ended when the trigger can
// tell (ocean.ResyncRequester), and nil when the record may be committed at
// once.
func (s *session) handle(r *kgo.Record) <-chan struct{} {
	if r.Value == nil {
		return nil
	}
	d, err := decide(r.Topic, r.Value, s.l.cfg.IntegrationIdentifier)
	if err != nil {
		// The content is not logged: integration diffs carry configuration.
		s.log.Warn("kafka listener: skipping a malformed message", "topic", r.Topic, "partition", r.Partition,
			"offset", r.Offset, "bytes", len(r.Value), "error", err)
		return nil
	}
	if !d.resync {
		s.log.Debug("kafka listener: message is not for this integration", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset)
		return nil
	}
	s.log.Info("kafka listener: "+d.why+", requesting a resync", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset)
	reason := fmt.Sprintf("kafka: %s (%s/%d@%d)", d.why, r.Topic, r.Partition, r.Offset)
	if rr, ok := s.t.(ocean.ResyncRequester); ok {
		return rr.RequestResync(reason, true)
	}
	s.t.TriggerResync(reason, true)
	return nil
}

func (s *session) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	s.healthy.Store(true)
	s.mu.Lock()
	for _, p := range m[s.topic] {
		s.owned[p] = true
	}
	n := len(s.owned)
	logStandby := n == 0 && !s.standby
	s.standby = n == 0
	s.lastErr = ""
	s.outSince = time.Time{}
	s.mu.Unlock()
	if logStandby {
		s.log.Info("kafka listener: no partition assigned: another instance of this integration holds the topic; this one stands by and takes over if it leaves",
			"topic", s.topic)
	} else if len(m[s.topic]) > 0 {
		s.log.Info("kafka listener: partitions assigned", "topic", s.topic, "partitions", m[s.topic])
	}
	s.notify(n)
}

// revoked commits what was handled before the partitions go to another
// member, so that it does not handle it again, except a message whose
// resync has not ended: the new owner delivers it again.
func (s *session) revoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	only := map[int32]bool{}
	for _, p := range m[s.topic] {
		only[p] = true
	}
	s.commit(ctx, cl, only)
	s.forget(m)
	s.drop(m)
}

// forget drops what the session tracked for partitions it no longer owns.
func (s *session) forget(m map[string][]int32) {
	for _, p := range m[s.topic] {
		delete(s.handled, p)
		delete(s.pending, p)
		delete(s.committed, p)
	}
}

// lost partitions cannot be committed to any more; only failed commits
// are affected, since every batch is committed before the next poll.
func (s *session) lost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	if len(m[s.topic]) > 0 {
		s.log.Warn("kafka listener: partitions lost", "topic", s.topic, "partitions", m[s.topic])
	}
	s.mu.Lock()
	if s.outSince.IsZero() {
		s.outSince = time.Now()
	}
	s.mu.Unlock()
	s.forget(m)
	s.drop(m)
}

func (s *session) drop(m map[string][]int32) {
	s.mu.Lock()
	for _, p := range m[s.topic] {
		delete(s.owned, p)
	}
	n := len(s.owned)
	s.mu.Unlock()
	s.notify(n)
}

func (s *session) notify(n int) {
	if s.l.onOwned != nil {
		s.l.onOwned(n)
	}
}
