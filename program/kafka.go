package program

import (
	"encoding/json"
	"strings"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/kafka"
	"github.com/oceankit/oceankit/ocean/settings"
)

// kafkaOption registers the KAFKA event listener, configured from the
// OCEAN__EVENT_LISTENER__* settings. Port supplies the organisation and the
// Kafka credentials through the App's own client when the listener starts,
// so building the option talks to nobody. With another listener type the
// option does nothing, so the Kafka settings are not checked.
func kafkaOption(cfg *settings.Config) (ocean.Option, error) {
	if cfg.EventListener.Type != settings.ListenerKafka {
		return func(*ocean.App) error { return nil }, nil
	}
	kc, err := kafka.ConfigFromOcean(cfg)
	if err != nil {
		return nil, err
	}
	// No kc.Logger: the listener then logs through the App's logger, which
	// redacts and ships its lines to Port with the rest.
	// Ocean's KAFKA listener has no resyncOnStart, so the setting's default
	// (true, POLLING's) does not apply here; set explicitly, it does.
	if resyncOnStartSet(cfg.Environ()) {
		kc.ResyncOnStart = cfg.EventListener.ResyncOnStart
	}
	l, err := kafka.New(kc)
	if err != nil {
		return nil, err
	}
	return ocean.WithListener(settings.ListenerKafka, l), nil
}

// resyncOnStartSet reports whether the environment sets the listener's
// resyncOnStart, as its own variable or inside OCEAN__EVENT_LISTENER.
func resyncOnStartSet(environ []string) bool {
	for _, kv := range environ {
		name, v, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "OCEAN__EVENT_LISTENER__RESYNC_ON_START":
			return true
		case "OCEAN__EVENT_LISTENER":
			var m map[string]json.RawMessage
			if json.Unmarshal([]byte(v), &m) == nil {
				for k := range m {
					if k := strings.ToLower(strings.ReplaceAll(k, "_", "")); k == "resynconstart" {
						return true
					}
				}
			}
		}
	}
	return false
}
