package main

import (
	"log/slog"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/kafka"
)

// kafkaOption registers the KAFKA event listener, configured from the
// OCEAN__EVENT_LISTENER__* settings. Port supplies the organisation and the
// Kafka credentials through the App's own client when the listener starts,
// so building the option talks to nobody. With another listener type the
// option does nothing, so the Kafka settings are not checked.
func kafkaOption(cfg *ocean.Config, logger *slog.Logger) (ocean.Option, error) {
	if cfg.EventListener.Type != ocean.ListenerKafka {
		return func(*ocean.App) error { return nil }, nil
	}
	kc, err := kafka.ConfigFromOcean(cfg)
	if err != nil {
		return nil, err
	}
	kc.Logger = logger
	l, err := kafka.New(kc)
	if err != nil {
		return nil, err
	}
	return ocean.WithListener(ocean.ListenerKafka, l), nil
}
