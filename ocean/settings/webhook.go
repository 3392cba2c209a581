package settings

import "time"

// WebhookLimits (OCEAN__WEBHOOK__…, not in Ocean) bounds what the live-event
// route may cost: per delivery, for all deliveries being read at once, and
// for the events waiting in the in-process queue. A zero field takes its
// default. Deliveries are authenticated from their headers before any of
// this is spent (ocean.HeaderAuthenticator), so the limits matter for
// senders that hold the secret, and for processors that can only
// authenticate the body.
type WebhookLimits struct {
	// MaxBodyBytes is the largest body read; a larger one is answered 413
	// (from its Content-Length, unread). Default 10 MiB: GitLab's largest
	// deliveries among the events the processors take are merge request and
	// issue hooks, whose description (at most 1 MiB of characters) appears
	// up to three times (the object and the changes' previous and current);
	// push hooks list at most 20 commits. GitLab itself sends nothing above
	// 25 MB.
	MaxBodyBytes int64 `ocean:"max_body_bytes,default=10485760"`
	// InflightBodyBytes bounds the bytes of bodies being read and decoded
	// at once, across deliveries: a delivery waits for room (BodyWait),
	// then is answered 503 with Retry-After. Each delivery counts for its
	// Content-Length, or MaxBodyBytes when it has none. Default 16 MiB:
	// thousands of ordinary (few-KB) deliveries at once, or one of the
	// largest beside many small ones. It is raised to MaxBodyBytes if
	// smaller.
	InflightBodyBytes int64 `ocean:"inflight_body_bytes,default=16777216"`
	// BodyWait is how long a delivery waits for InflightBodyBytes to have
	// room before it is answered 503. Default 2 s; negative: no wait.
	BodyWait time.Duration `ocean:"body_wait,default=2s"`
	// QueueBytes bounds the bytes (bodies and headers) of the events in the
	// in-process queue, beside OCEAN__EVENT_QUEUE_SIZE; past it deliveries
	// are answered 503. An empty queue takes any delivery. Default 64 MiB:
	// the default 10,000 events at a typical push's 6.6 KB.
	QueueBytes int64 `ocean:"queue_bytes,default=67108864"`
	// ReadHeaderTimeout bounds reading a request's headers (default 10 s).
	ReadHeaderTimeout time.Duration `ocean:"read_header_timeout,default=10s"`
	// ReadTimeout bounds reading a whole request, headers and body, from
	// the connection's first byte; a connection that trickles its body is
	// closed when it runs out (default 30 s).
	ReadTimeout time.Duration `ocean:"read_timeout,default=30s"`
	// IdleTimeout closes keep-alive connections idle that long (default
	// 120 s).
	IdleTimeout time.Duration `ocean:"idle_timeout,default=120s"`
	// RejectLogInterval is how often each kind of rejection may log a
	// line: the first is logged, later ones at most once an interval with
	// the count of those not logged, so that unauthenticated clients do not
	// choose the log volume (the metric counts every rejection). Default
	// 1 minute.
	RejectLogInterval time.Duration `ocean:"reject_log_interval,default=1m"`
}

// Defaults of WebhookLimits.
const (
	defaultMaxBodyBytes      = 10 << 20
	defaultInflightBodyBytes = 16 << 20
	defaultBodyWait          = 2 * time.Second
	defaultQueueBytes        = 64 << 20
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 30 * time.Second
	defaultIdleTimeout       = 120 * time.Second
	defaultRejectLogInterval = time.Minute
)

// WithDefaults returns l with every zero field set to its default, as the
// webhook route applies them.
func (l WebhookLimits) WithDefaults() WebhookLimits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxBodyBytes, defaultMaxBodyBytes)
	def(&l.InflightBodyBytes, defaultInflightBodyBytes)
	l.InflightBodyBytes = max(l.InflightBodyBytes, l.MaxBodyBytes)
	def(&l.QueueBytes, defaultQueueBytes)
	if l.BodyWait == 0 {
		l.BodyWait = defaultBodyWait
	}
	dur(&l.ReadHeaderTimeout, defaultReadHeaderTimeout)
	dur(&l.ReadTimeout, defaultReadTimeout)
	dur(&l.IdleTimeout, defaultIdleTimeout)
	dur(&l.RejectLogInterval, defaultRejectLogInterval)
	return l
}
