package kafka_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/kafka"
	"github.com/oceankit/oceankit/ocean/settings"
)

// Register the KAFKA listener on an App: OCEAN__EVENT_LISTENER__TYPE=KAFKA
// and the other OCEAN__EVENT_LISTENER__* settings configure it, and the
// App's Port client supplies the organisation and the Kafka credentials.
func Example() {
	cfg, err := settings.Load(settings.LoadOptions{ProviderType: "gitlab-v2"})
	if err != nil {
		log.Fatal(err)
	}
	kc, err := kafka.ConfigFromOcean(cfg)
	if err != nil {
		log.Fatal(err)
	}
	listener, err := kafka.New(kc)
	if err != nil {
		log.Fatal(err)
	}
	provider := &ocean.Provider{Type: "gitlab-v2" /* Kinds: ... */}
	app, err := ocean.New(cfg, provider, ocean.WithListener(settings.ListenerKafka, listener))
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := app.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// The topic and consumer group an integration uses, as Ocean names them.
func ExampleGroup() {
	fmt.Println(kafka.Topic("org_123", false))
	fmt.Println(kafka.Topic("org_123", true))
	fmt.Println(kafka.Group("org_123", "gitlab-v2", "my-gitlab"))
	// Output:
	// org_123.change.log
	// org_123.integration.resync.requests
	// org_123.gitlab-v2.my-gitlab
}
