package ocean

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// FlagLiveEventsRedisStream is the organisation feature flag without which
// Ocean keeps live events in process even when
// OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED is true.
const FlagLiveEventsRedisStream = "LIVE_EVENTS_REDIS_STREAM_ENABLED"

// flaggedQueue is a live-event queue that applies only when the
// organisation has a feature flag (WithFlaggedEventQueue).
type flaggedQueue struct {
	flag, name, setting string
	q                   EventQueue
}

// WithFlaggedEventQueue uses q for live events only if the organisation in
// Port has the feature flag, as Ocean does for its Redis stream consumer
// (LIVE_EVENTS_REDIS_STREAM_ENABLED); otherwise they stay in process. Run
// logs which queue it uses, naming it (name) and the variable that asked
// for it (setting).
func WithFlaggedEventQueue(flag, name, setting string, q EventQueue) Option {
	return func(a *App) error {
		if q == nil || flag == "" {
			return errors.New("ocean: WithFlaggedEventQueue needs a flag and a queue")
		}
		a.flagged = &flaggedQueue{flag: flag, name: name, setting: setting, q: q}
		return nil
	}
}

// chooseQueue settles WithFlaggedEventQueue before the server starts: it
// uses the flagged queue if the organisation has the flag, and keeps the
// in-process one otherwise. A failure to read the flags fails the start,
// as it does in Ocean: guessing either way could split one installation's
// replicas between two queues.
func (a *App) chooseQueue(ctx context.Context) error {
	f := a.flagged
	if f == nil {
		return nil
	}
	if a.port == nil {
		a.log.Info("live events are queued in process", "requested", f.name, "reason", "no Port client to read the organisation's feature flags")
		return nil
	}
	org, err := a.port.GetOrganization(ctx)
	if err != nil {
		return fmt.Errorf("ocean: read the organisation's feature flags (for %s): %w", f.setting, err)
	}
	if slices.Contains(org.FeatureFlags, f.flag) {
		a.queue = f.q
		a.log.Info("live events are queued in "+f.name, "reason", f.setting+" is true and the organisation has the feature flag "+f.flag)
		return nil
	}
	a.log.Info("live events are queued in process", "requested", f.name,
		"reason", f.setting+" is true but the organisation does not have the feature flag "+f.flag+" (Ocean needs both)")
	return nil
}

// logSettingNotices logs, once per Run, what the configuration asked for
// that this program does differently: deprecated variables it still
// honoured, and Ocean's DSP/lakehouse processing, which it never does.
func (a *App) logSettingNotices() {
	for _, n := range a.cfg.Notices() {
		a.log.Warn(n)
	}
	if a.cfg.ProcessingMode == "dsp" || a.cfg.LakehouseEnabled {
		a.log.Info("raw data is mapped here, not by Port: this program always maps items and writes entities itself (Ocean's ocean-core mode) and sends no raw data to Port's lakehouse",
			"OCEAN__PROCESSING_MODE", a.cfg.ProcessingMode, "OCEAN__LAKEHOUSE_ENABLED", a.cfg.LakehouseEnabled)
	}
}
