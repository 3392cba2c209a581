// Package kafka is the KAFKA event listener: it consumes Port's change
// stream, as Ocean's KAFKA listener does, and asks the App for a resync
// when a message concerns this integration.
//
// # Where it connects
//
// The organisation id and its feature flags come from Port
// (GET /v1/organization) unless Config.OrgID is set. The topic is
// {orgId}.change.log, or {orgId}.integration.resync.requests when the
// organisation has the flag OCEAN_KAFKA_INTEGRATION_RESYNC_REQUESTS_TOPIC_ENABLED.
// The consumer group is {orgId}.{integrationType}.{integrationIdentifier},
// balanced cooperative-sticky. With security on (the default) the listener
// speaks SASL_SSL with SCRAM-SHA-512, using Config.Username and Password or,
// when they are empty, the credentials Port hands out
// (GET /v1/kafka-credentials). Credentials never appear in logs or errors.
//
// # Which messages trigger a resync
//
// Exactly the messages Ocean's _should_be_processed accepts:
//   - on the resync-requests topic, a message whose context.integrationId is
//     this integration's identifier;
//   - on the change log, {"action":"RESYNC","context":{"integrationId": id}};
//   - on the change log, an integration diff whose diff.after.identifier is
//     this integration, whose diff.after.updatedAt differs from
//     diff.after.resyncState.updatedAt (so the integration's own resync-state
//     writes do not loop), and whose changelogDestination.type is "KAFKA".
//     Deletes (diff.after null) are ignored.
//
// Each of them says the catalog is stale (a changed mapping, a resync asked
// for in Port), so the resync is requested with cancelRunning=true, as
// POLLING does for a config change. A message that is not JSON is logged
// (without its content, which may hold configuration) and skipped.
//
// # Delivery
//
// Ocean commits a message's offset as soon as it has dispatched it, before
// the resync ran: at-most-once. This listener commits a message only once
// it is handled: decided on, and, when it asks for a resync and the Trigger
// can tell (ocean.ResyncRequester, which an App is), once that resync has
// ended — completed or failed, not aborted. Until then the partition is
// committed up to the message, so a process killed or stopped in the middle
// of the resync gets the message again when it (or another replica) starts,
// and resyncs. Offsets are committed synchronously after each polled batch,
// when a requested resync ends, and on every partition revocation, and
// rebalances are held off while a batch is being handled (franz-go's
// BlockRebalanceOnPoll), so a partition never changes hands between the
// trigger and the commit. Several replicas in one consumer group therefore
// do not resync twice for one message, and a replica that holds no
// partition stands by (Ocean instead stops such a replica) and takes over
// when the holder leaves. A commit that fails is logged and the message may
// be delivered again (at-least-once).
//
// # Failures
//
// Broker outages are ridden out by the Kafka client, which reconnects with
// backoff. Errors that a reconnect of the same client cannot fix (SASL
// authentication, authorisation), a consumer that stays out of its group
// for Config.JoinTimeout (some brokers answer refused credentials by
// closing the connection), and failures to reach Port for the organisation
// or the credentials close the client and start over after a jittered
// exponential backoff, fetching fresh credentials. Port answering 401, 403
// or 404 for them is permanent: Start returns the error. Stopping (ctx
// done) commits what was handled and leaves the group, so another replica
// takes over at once.
package kafka
