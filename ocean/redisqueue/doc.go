// Package redisqueue is an ocean.EventQueue on Redis Streams, so that
// several replicas of one integration behind one load balancer share the
// live events: whichever replica receives a webhook queues it in Redis, and
// the replicas together apply every queued event once, in order per
// object. The framework's in-process queue stays the default; install this
// one with ocean.WithEventQueue, or, as Ocean decides and
// examples/gitlab-sync does, with ocean.WithFlaggedEventQueue so that it
// is used only when the organisation also has Port's feature flag
// LIVE_EVENTS_REDIS_STREAM_ENABLED.
//
//	cfg, enabled, err := redisqueue.ConfigFromEnv(os.Environ())
//	// enabled: OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED
//	cfg.Group = oc.Integration.Type + "." + oc.Integration.Identifier
//	q, err := redisqueue.New(cfg)
//	app, err := ocean.New(oc, provider, ocean.WithFlaggedEventQueue(
//		ocean.FlagLiveEventsRedisStream, "Redis stream",
//		"OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED", q))
//
// # How events flow
//
// Events are spread by their key (ocean.QueuedEvent.Key: the processor and
// the object, e.g. a merge request) over Shards streams {Prefix}:{n}, n =
// FNV-1a(key) mod Shards. Enqueue adds all of a delivery's events in one
// Lua script, or none: when the streams together hold MaxQueued entries
// (OCEAN__EVENT_QUEUE_SIZE) it returns ocean.ErrQueueFull and the webhook
// route answers 503, so the sender retries; a Redis outage is answered 503
// too (ErrUnavailable, see "When Redis fails"). Entries carry Ocean's field names (eventId, queuedAt, webhookPath)
// plus key, processor and the event as JSON. Headers that carry
// credentials (Authorization, Cookie, and any name containing token,
// secret, password or api-key, such as X-Gitlab-Token) are checked at
// intake and not stored.
//
// Each shard is consumed by at most one replica at a time, which is what
// keeps the events of one object in order across replicas. A replica holds
// a shard through a lease, the key {Prefix}:{n}:owner set with SET NX PX
// LeaseTTL and renewed every LeaseTTL/3. Replicas announce themselves in
// {Prefix}:replicas and each takes free shards up to its fair share
// (ceil(Shards / replicas)); a replica holding more gives the surplus up
// when another has fewer, after finishing the event in hand, so the work
// spreads out as replicas join. A shard left free for a whole renewal
// period is taken by anyone, so no shard waits on a replica that is gone.
// A replica whose lease was taken, or that cannot confirm it for most of
// LeaseTTL, stops that shard at once, cancelling the event in hand.
//
// The holder reads its shard with XREADGROUP in one consumer group per
// integration (Group, {type}.{identifier} as Ocean names it) and applies
// the entries one at a time through the App (which checks versions,
// retries and counts), then acknowledges and deletes each (XACK + XDEL in
// one transaction). A replica taking over a shard first XAUTOCLAIMs, in
// entry order, whatever the previous holder had read and not
// acknowledged: those entries are older than anything undelivered, so the
// order per object holds across the takeover.
//
// # Delivery guarantees and the dead-letter stream
//
// Delivery is at least once. The App's ApplyFunc retries a failing handler
// itself and then gives up (the event is counted as failed and logged); to
// the queue that is a finished event, and it is acknowledged. An entry is
// not finished when its replica died, was stopped past ShutdownWait, lost
// its lease in the middle, or its handler panicked (the queue recovers the
// panic). Such an entry is delivered again, after RetryDelay for a panic;
// once it has been delivered 1+MaxRequeue times
// (OCEAN__LIVE_EVENTS__REDIS__PEL_MAX_REQUEUE_COUNT, default 3) it is
// moved to the dead-letter stream {Prefix}:dead with the reason and its
// delivery count, and the shard moves on. An entry that cannot be decoded
// is parked at once. Consumers of gone replicas that hold nothing are
// removed from the group after ConsumerCleanupIdle.
//
// # When Redis fails
//
// Enqueue returns nil, and the route answers 202, only once every event of
// the delivery is in its shard's stream, in the same Redis "epoch" as the
// replica last saw (see below), and the stream has the consumer group or
// will have it from its start: the script creates a missing stream with
// the group, and a consumer that meets NOGROUP recreates the group, both
// from the start of the stream (never at $), so that entries added
// meanwhile are read. Otherwise the route answers 503 and the sender
// delivers again.
//
//   - Redis unreachable: a delivery waits at most EnqueueTimeout (default
//     2 s, on connections of its own, without retries); once one failed,
//     deliveries are refused at once while Redis is probed every
//     ProbeInterval (default 1 s), and accepted again as soon as it
//     answers. Meanwhile Healthy (ocean.EventQueueHealth) returns
//     ErrUnavailable, so /health/ready answers 503 and the gauge
//     ocean_live_events_backend_up is 0, and the replicas give their
//     shards up once they cannot renew the leases. One line is logged
//     when Redis goes down and one when it is back. (A delivery that timed
//     out against a frozen Redis may have been queued all the same; the
//     sender's retry then queues it again.)
//   - Redis back with its data (persistence, a frozen or partitioned
//     server): consumption resumes where it stopped, and the events that
//     were in hand are delivered again.
//   - Redis back without its data (restarted without persistence, failed
//     over to an empty replica, FLUSHALL): the replicas notice it (the key
//     {Prefix}:epoch changed), recreate the streams, consumer groups and
//     leases, and queue again the events they accepted and had not seen
//     applied: each replica keeps those in memory until its next report
//     on the streams shows them applied (at most what the streams hold).
//     For LeaseTTL after the loss is noticed deliveries are answered 503,
//     so that every replica requeues its events before any new one is
//     accepted; the requeued events go back in their original order, so
//     the events of one object stay in order whichever replica accepted
//     them.
//
// Delivery stays at least once: an event applied shortly before the loss
// may be applied again, in order. What a loss of Redis's data can still
// cost: the events accepted by a replica that stopped before the loss and
// not yet applied (no one else has them; run Redis with appendonly yes if
// that matters), the dead-letter stream, and the order of one object's
// events when a replica could not reach Redis for the whole window (its
// events are requeued after newer ones) or when the replica that accepted
// the later of two events stopped before the loss (the earlier one may be
// applied again after it). A stream or group deleted by hand is recreated
// the same way, from the start of the stream.
//
// # Running several replicas
//
// Run every replica with the same OCEAN__INTEGRATION__IDENTIFIER and the
// same OCEAN__LIVE_EVENTS__… settings (in particular REDIS__URL and
// REDIS__SHARDS), behind one load balancer that spreads the webhook route.
// Webhook processing then spreads over the replicas, a replica that dies
// has its shards and its unfinished events taken over after LeaseTTL, and a
// replica that is stopped (SIGTERM) hands them over at once.
//
// Resyncs are not coordinated by this package. Run the resync listener
// (POLLING, KAFKA or a scheduled resync) on exactly one replica and
// OCEAN__EVENT_LISTENER__TYPE=WEBHOOKS_ONLY on the others; the
// WEBHOOKS_ONLY replicas serve and apply live events only. For example,
// two Deployments: one replica with POLLING (it also applies live events),
// and N replicas with WEBHOOKS_ONLY, all behind the same Service. Two
// replicas resyncing at once would write the same entities twice and could
// delete what the other just wrote.
//
// # Settings
//
// ConfigFromEnv reads Ocean's live_events settings (Ocean's names and
// defaults), which may also be given as JSON in OCEAN__LIVE_EVENTS or
// OCEAN__LIVE_EVENTS__REDIS:
//
//	OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED  false   use this queue
//	OCEAN__LIVE_EVENTS__TYPE                              REDIS   the only type
//	OCEAN__LIVE_EVENTS__REDIS__URL                        redis://localhost:6379
//	OCEAN__LIVE_EVENTS__REDIS__USERNAME, __PASSWORD (secret)
//	OCEAN__LIVE_EVENTS__REDIS__ENABLE_TLS                 false   must match rediss://
//	OCEAN__LIVE_EVENTS__REDIS__CA, __CERT, __PRIVATE_KEY (secret)  base64 PEM; mTLS needs both
//	OCEAN__LIVE_EVENTS__REDIS__BLOCK_MS                   1000
//	OCEAN__LIVE_EVENTS__REDIS__READ_COUNT                 10
//	OCEAN__LIVE_EVENTS__REDIS__PEL_MAX_REQUEUE_COUNT      3
//	OCEAN__LIVE_EVENTS__REDIS__STREAM_MAINTENANCE_CONSUMER_CLEANUP_ENABLED       true
//	OCEAN__LIVE_EVENTS__REDIS__STREAM_MAINTENANCE_CONSUMER_CLEANUP_IDLE_SECONDS  86400
//	OCEAN__LIVE_EVENTS__REDIS__STREAM_MAINTENANCE_SCAN_INTERVAL_SECONDS          30
//	OCEAN__LIVE_EVENTS__REDIS__CONNECTION_ERROR_BACKOFF_SECONDS                  5
//	OCEAN__LIVE_EVENTS__REDIS__CONNECTION_STARTUP_MAX_RETRIES                    5
//	OCEAN__LIVE_EVENTS__REDIS__CONNECTION_STARTUP_INITIAL_BACKOFF_SECONDS        1
//	OCEAN__LIVE_EVENTS__REDIS__CONNECTION_STARTUP_EXPONENTIAL_BASE               2
//
// and oceankit's own (not in Ocean):
//
//	OCEAN__LIVE_EVENTS__REDIS__STREAM_PREFIX          oceankit:live-events:{<type>.<identifier>}
//	OCEAN__LIVE_EVENTS__REDIS__SHARDS                 16
//	OCEAN__LIVE_EVENTS__REDIS__LEASE_TTL_SECONDS      10
//	OCEAN__LIVE_EVENTS__REDIS__DEAD_LETTER_MAX_LENGTH 10000
//
// Settings lists them for --help; Config.EnqueueTimeout and
// Config.ProbeInterval are set in code only. Ocean's STREAM_TTL_SECONDS,
// PEL_STUCK_TIMEOUT_SECONDS, PEL_XAUTOCLAIM_COUNT and
// STREAM_MAINTENANCE_WORKER_ENABLED have no counterpart here and are
// ignored: the streams are bounded by MaxQueued instead of expiring, and
// stuck entries are reclaimed when their shard's lease changes hands
// instead of after an idle time. Redis Cluster is not supported (one
// server, or a primary with replicas behind one address).
//
// Unlike Ocean, where Port's ingress writes webhooks into a stream of its
// own, here the replicas' webhook routes write the stream themselves; the
// program does not read Port's live-events stream.
package redisqueue
