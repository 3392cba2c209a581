package redisqueue

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"

	"github.com/oceankit/oceankit/ocean"
)

// Entry field names. eventId, queuedAt and webhookPath are Ocean's names
// for the same things in its live-events stream.
const (
	fieldKey       = "key"
	fieldProcessor = "processor"
	fieldEventID   = "eventId"
	fieldQueuedAt  = "queuedAt"
	fieldPath      = "webhookPath"
	fieldEvent     = "event"
)

// entryFields is the number of field/value arguments of one entry.
const entryFields = 12

// shardOf spreads keys over the shards; events with one key always land in
// the same stream, which is what keeps them in order.
func shardOf(key string, shards int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(shards))
}

// encode returns an entry's field/value pairs. Headers that carry
// credentials are left out: they were checked when the event was accepted,
// and the stream (and its dead letters) should not hold them.
func encode(qe *ocean.QueuedEvent) ([]string, error) {
	if qe == nil || qe.Event == nil {
		return nil, errors.New("redisqueue: queued event without an event")
	}
	ev := *qe.Event
	ev.Headers = withoutSecrets(ev.Headers)
	b, err := json.Marshal(&ev)
	if err != nil {
		return nil, fmt.Errorf("redisqueue: encode event %s: %w", ev.ID, err)
	}
	return []string{
		fieldKey, qe.Key,
		fieldProcessor, qe.Processor,
		fieldEventID, ev.ID,
		fieldQueuedAt, strconv.FormatInt(ev.ReceivedAt.UnixNano(), 10),
		fieldPath, ev.Path,
		fieldEvent, string(b),
	}, nil
}

// decode rebuilds a queued event from an entry; the payload is decoded
// again from the body by the App.
func decode(values map[string]any) (*ocean.QueuedEvent, error) {
	str := func(k string) (string, bool) {
		s, ok := values[k].(string)
		return s, ok
	}
	raw, ok := str(fieldEvent)
	if !ok {
		return nil, errors.New("entry has no event field")
	}
	key, ok1 := str(fieldKey)
	proc, ok2 := str(fieldProcessor)
	if !ok1 || !ok2 {
		return nil, errors.New("entry has no key or processor field")
	}
	var ev ocean.Event
	if err := json.Unmarshal([]byte(raw), &ev); err != nil {
		return nil, fmt.Errorf("event field is not an event: %w", err)
	}
	return &ocean.QueuedEvent{Key: key, Processor: proc, Event: &ev}, nil
}

// withoutSecrets copies h without the headers that carry credentials.
func withoutSecrets(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		if secretHeader(k) {
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	return out
}

func secretHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie":
		return true
	}
	for _, w := range []string{"token", "secret", "password", "api-key", "apikey"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
