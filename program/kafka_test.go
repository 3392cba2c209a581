package program

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKafkaResyncOnStartOnlyWhenSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		environ []string
		want    bool
	}{
		{[]string{"OCEAN__EVENT_LISTENER__TYPE=KAFKA"}, false},
		{[]string{"OCEAN__EVENT_LISTENER__TYPE=KAFKA", "OCEAN__EVENT_LISTENER__RESYNC_ON_START=true"}, true},
		{[]string{`OCEAN__EVENT_LISTENER={"type":"KAFKA","resyncOnStart":true}`}, true},
		{[]string{`OCEAN__EVENT_LISTENER={"type":"KAFKA","resync_on_start":false}`}, true},
		{[]string{`OCEAN__EVENT_LISTENER={"type":"KAFKA"}`}, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, resyncOnStartSet(tc.environ), "%v", tc.environ)
	}
}
