package kafka

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecideFollowsOceansRules(t *testing.T) {
	t.Parallel()
	resyncTopic := Topic(testOrg, true)
	change := func(after string, dest string) string {
		return `{"changelogDestination":` + dest + `,"diff":{"before":null,"after":` + after + `}}`
	}
	const kafkaDest = `{"type":"KAFKA"}`
	tests := []struct {
		name   string
		topic  string
		value  string
		resync bool
		why    string
	}{
		{"resync request for us", resyncTopic, `{"context":{"integrationId":"my-gitlab"}}`, true, "resync requested in Port"},
		{"resync request for another", resyncTopic, `{"context":{"integrationId":"other"}}`, false, ""},
		{"resync request without context", resyncTopic, `{}`, false, ""},
		{"integration diff on resync topic is not read", resyncTopic,
			change(`{"identifier":"my-gitlab","updatedAt":"b","resyncState":{"updatedAt":"a"}}`, kafkaDest), false, ""},
		{"RESYNC action for us", changeLog, `{"action":"RESYNC","context":{"integrationId":"my-gitlab"}}`, true, "resync requested in Port"},
		{"RESYNC action for another", changeLog, `{"action":"RESYNC","context":{"integrationId":"other"}}`, false, ""},
		{"config change", changeLog,
			change(`{"identifier":"my-gitlab","updatedAt":"b","resyncState":{"updatedAt":"a"}}`, kafkaDest), true, "integration changed in Port"},
		{"config change, no resync state yet", changeLog,
			change(`{"identifier":"my-gitlab","updatedAt":"b"}`, kafkaDest), true, "integration changed in Port"},
		{"own resync-state write", changeLog,
			change(`{"identifier":"my-gitlab","updatedAt":"a","resyncState":{"updatedAt":"a"}}`, kafkaDest), false, ""},
		{"no timestamps at all equal each other", changeLog,
			change(`{"identifier":"my-gitlab","resyncState":null}`, kafkaDest), false, ""},
		{"another integration", changeLog,
			change(`{"identifier":"other","updatedAt":"b","resyncState":{"updatedAt":"a"}}`, kafkaDest), false, ""},
		{"webhook destination", changeLog,
			change(`{"identifier":"my-gitlab","updatedAt":"b","resyncState":{"updatedAt":"a"}}`, `{"type":"WEBHOOK","url":"x"}`), false, ""},
		{"no destination", changeLog, `{"diff":{"after":{"identifier":"my-gitlab","updatedAt":"b"}}}`, false, ""},
		{"delete", changeLog, change(`null`, kafkaDest), false, ""},
		{"entity change", changeLog, change(`[1,2]`, kafkaDest), false, ""},
		{"empty object", changeLog, `{}`, false, ""},
		{"JSON null", changeLog, `null`, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := decide(tt.topic, []byte(tt.value), testIdent)
			require.NoError(t, err)
			assert.Equal(t, tt.resync, d.resync)
			assert.Equal(t, tt.why, d.why)
		})
	}
}

func TestDecideRejectsMalformed(t *testing.T) {
	t.Parallel()
	for _, v := range []string{``, `{`, `[]`, `"text"`, `{"context":{"integrationId":7}}`, `{"diff":"x"}`} {
		_, err := decide(changeLog, []byte(v), testIdent)
		assert.Error(t, err, v)
	}
}

func FuzzDecide(f *testing.F) {
	f.Add([]byte(`{"action":"RESYNC","context":{"integrationId":"my-gitlab"}}`))
	f.Add([]byte(`{"changelogDestination":{"type":"KAFKA"},"diff":{"after":{"identifier":"my-gitlab","updatedAt":"b"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decide(changeLog, b, testIdent)
		_, _ = decide(Topic(testOrg, true), b, testIdent)
	})
}
