package redisqueue_test

import (
	"fmt"
	"log"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/redisqueue"
	"github.com/oceankit/oceankit/ocean/settings"
)

// A program reads Ocean's live_events settings and, when the Redis
// consumer is enabled, shares its live events with the other replicas.
func Example() {
	environ := []string{ // os.Environ() in a real program
		"OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED=true",
		"OCEAN__LIVE_EVENTS__REDIS__URL=redis://redis.internal:6379",
	}
	oc := settings.Default("gitlab-v2")
	cfg, enabled, err := redisqueue.ConfigFromEnv(environ)
	if err != nil {
		log.Fatal(err)
	}
	var opts []ocean.Option
	if enabled {
		cfg.Group = oc.Integration.Type + "." + oc.Integration.Identifier
		cfg.MaxQueued = oc.EventQueueSize
		cfg.Workers = oc.EventWorkersCount
		q, err := redisqueue.New(cfg) // connects when the App runs it
		if err != nil {
			log.Fatal(err)
		}
		defer q.Close()
		opts = append(opts, ocean.WithEventQueue(q))
		fmt.Println("group:", cfg.Group)
		fmt.Println("dead letters:", q.DeadLetterStream())
	}
	_ = opts // ocean.New(oc, provider, opts...)
	// Output:
	// group: gitlab-v2.my-gitlab-v2-integration
	// dead letters: oceankit:live-events:{gitlab-v2.my-gitlab-v2-integration}:dead
}

// Settings documents the variables for a program's --help.
func ExampleSettings() {
	for _, s := range redisqueue.Settings()[:3] {
		fmt.Printf("%s (default %q)\n", s.Env, s.Default)
	}
	// Output:
	// OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED (default "false")
	// OCEAN__LIVE_EVENTS__TYPE (default "REDIS")
	// OCEAN__LIVE_EVENTS__REDIS__URL (default "redis://localhost:6379")
}
