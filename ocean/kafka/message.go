package kafka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// message is the part of a change-log or resync-request message the
// decision reads.
type message struct {
	Action  string `json:"action"`
	Context *struct {
		IntegrationID *string `json:"integrationId"`
	} `json:"context"`
	Diff *struct {
		After json.RawMessage `json:"after"`
	} `json:"diff"`
	ChangelogDestination *struct {
		Type string `json:"type"`
	} `json:"changelogDestination"`
}

// integrationAfter is diff.after of an integration change.
type integrationAfter struct {
	Identifier  *string `json:"identifier"`
	UpdatedAt   any     `json:"updatedAt"`
	ResyncState *struct {
		UpdatedAt any `json:"updatedAt"`
	} `json:"resyncState"`
}

// decision is what a message asks for.
type decision struct {
	resync bool
	// why says, for a resync, what the message was.
	why string
}

// decide applies Ocean's _should_be_processed rules to one message for a
// non-empty identifier. An error means the value is not a JSON object.
func decide(topic string, value []byte, identifier string) (decision, error) {
	var m message
	if err := json.Unmarshal(value, &m); err != nil {
		return decision{}, fmt.Errorf("not a JSON object: %w", err)
	}
	contextID := ""
	if m.Context != nil && m.Context.IntegrationID != nil {
		contextID = *m.Context.IntegrationID
	}
	if strings.HasSuffix(topic, resyncRequestsSuffix) {
		if contextID == identifier {
			return decision{resync: true, why: "resync requested in Port"}, nil
		}
		return decision{}, nil
	}
	if m.Action == "RESYNC" && contextID == identifier {
		return decision{resync: true, why: "resync requested in Port"}, nil
	}
	if m.Diff == nil || len(m.Diff.After) == 0 || bytes.Equal(bytes.TrimSpace(m.Diff.After), []byte("null")) {
		// No integration state after the change: a delete, or not an
		// integration diff at all.
		return decision{}, nil
	}
	var after integrationAfter
	if err := json.Unmarshal(m.Diff.After, &after); err != nil {
		// diff.after of another entity type may have any shape; it is
		// not about this integration.
		return decision{}, nil
	}
	if after.Identifier == nil || *after.Identifier != identifier {
		return decision{}, nil
	}
	var stateUpdatedAt any
	if after.ResyncState != nil {
		stateUpdatedAt = after.ResyncState.UpdatedAt
	}
	if reflect.DeepEqual(after.UpdatedAt, stateUpdatedAt) {
		// The change is the integration's own resync-state write.
		return decision{}, nil
	}
	if m.ChangelogDestination == nil || m.ChangelogDestination.Type != "KAFKA" {
		return decision{}, nil
	}
	return decision{resync: true, why: "integration changed in Port"}, nil
}
