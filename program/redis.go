package program

import (
	"log/slog"
	"time"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/redisqueue"
	"github.com/oceankit/oceankit/ocean/settings"
)

// redisQueueOption shares live events between replicas through Redis
// Streams when OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED is true
// and, as in Ocean, the organisation also has the feature flag
// LIVE_EVENTS_REDIS_STREAM_ENABLED (the App reads it from Port at start
// and logs which queue it uses and why); it is configured from the other
// OCEAN__LIVE_EVENTS__… settings. Otherwise live events stay in process:
// Port's chart 0.21.0 renders the switch without any Redis URL, and an
// organisation without the flag must not dial localhost:6379 and
// crash-loop. Building the queue talks to nobody: the App connects when it
// starts consuming, and stops with an error if Redis cannot be reached then.
func redisQueueOption(cfg *settings.Config, environ []string, logger *slog.Logger) (ocean.Option, error) {
	rc, enabled, err := redisqueue.ConfigFromEnv(environ)
	if err != nil {
		return nil, err
	}
	if !enabled {
		return func(*ocean.App) error { return nil }, nil
	}
	// One consumer group per installation, named as Ocean names it.
	rc.Group = cfg.Integration.Type + "." + cfg.Integration.Identifier
	rc.MaxQueued = cfg.EventQueueSize
	rc.Workers = cfg.EventWorkersCount
	rc.ShutdownWait = time.Duration(cfg.MaxWaitSecondsBeforeShutdown * float64(time.Second))
	rc.Logger = logger
	q, err := redisqueue.New(rc)
	if err != nil {
		return nil, err
	}
	return ocean.WithFlaggedEventQueue(ocean.FlagLiveEventsRedisStream, "Redis stream",
		redisqueue.EnvPrefix+"IS_REDIS_STREAM_CONSUMER_ENABLED", q), nil
}
