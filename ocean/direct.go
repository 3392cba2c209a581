package ocean

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/oceankit/oceankit/ocean/report"
)

// HandleEvent takes one webhook delivery through the webhook route's checks
// and applies it at once, without the queue or Run: the synchronous path
// for a processor's tests. A refused delivery is a Status, not an error.
func (a *App) HandleEvent(ctx context.Context, r *http.Request) (*report.Event, error) {
	jobs, _, status, msg := a.admitEvent(nil, r.WithContext(ctx))
	res := &report.Event{Status: status}
	switch {
	case status == http.StatusOK:
		return res, nil
	case status != 0:
		a.log.Debug("live event refused", "status", status, "reason", msg)
		return res, nil
	}
	res.Status = http.StatusAccepted
	var errs []error
	for _, job := range jobs {
		p := a.processor(job.Processor)
		ev := *job.Event
		if err := json.Unmarshal(ev.Body, &ev.Payload); err != nil {
			return res, fmt.Errorf("ocean: event body: %w", err)
		}
		retries, base := a.eventRetryPolicy()
		if err := a.applyEvent(ctx, p, &ev, retries, base, res); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", job.Processor, err))
		}
	}
	return res, errors.Join(errs...)
}

// RegisterRaw maps and writes raw items of a kind as a live event would
// (Ocean's register_raw): for items from a queue or a poll of the
// provider's own, without a resync or a webhook.
func (a *App) RegisterRaw(ctx context.Context, kind string, items []Item) (*report.Event, error) {
	return a.applyRaw(ctx, kind, Changes{Upsert: items})
}

// UnregisterRaw deletes the entities of raw items of a kind, mapped with
// the current port app config, among those this integration owns (Ocean's
// unregister_raw).
func (a *App) UnregisterRaw(ctx context.Context, kind string, items []Item) (*report.Event, error) {
	return a.applyRaw(ctx, kind, Changes{Delete: items})
}

func (a *App) applyRaw(ctx context.Context, kind string, ch Changes) (*report.Event, error) {
	res := &report.Event{Status: http.StatusAccepted}
	matched, err := a.applyToKinds(ctx, []string{kind}, res, func(context.Context, Resource) (Changes, error) {
		return ch, nil
	})
	if err == nil && !matched {
		err = fmt.Errorf("ocean: the port app config has no resource of kind %q", kind)
	}
	return res, err
}

// eventRetryPolicy is how failing live events are retried (WithEventRetry).
func (a *App) eventRetryPolicy() (retries int, base time.Duration) {
	if a.eventRetryBase > 0 {
		return a.eventRetries, a.eventRetryBase
	}
	return 3, time.Second
}
