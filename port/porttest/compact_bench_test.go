package porttest

import (
	"encoding/json"
	"hash/fnv"
	"testing"

	"github.com/oceankit/oceankit/internal/jsonenc"
	"github.com/stretchr/testify/assert"
)

func TestFNV64aAsHashFNV(t *testing.T) {
	t.Parallel()
	for _, parts := range [][]string{{}, {""}, {"a"}, {"hello", " world"}, {`{"p":{},"r":{}}`, `["t","",null]`}} {
		h := fnv.New64a()
		got := uint64(fnvOffset64)
		for _, p := range parts {
			_, _ = h.Write([]byte(p))
			got = fnv64a(got, []byte(p))
		}
		assert.Equal(t, h.Sum64(), got, "%q", parts)
	}
}

// A merge request's properties and relations as the GitLab integration
// writes them: jsonenc against json.Marshal, in the same run.
func BenchmarkPackEncoding(b *testing.B) {
	props := map[string]any{"status": "opened", "title": "Fix comet in brisk-falcon", "creator": "Ada Lovelace", "assignees": []any{"Grace Hopper"},
		"reviewers": []any{}, "createdAt": "2026-10-01T10:00:00.000Z", "updatedAt": "2026-11-01T10:00:00.000Z", "mergedAt": nil,
		"link": "https://gitlab.example.com/amber-falcon/brisk-falcon/-/merge_requests/3", "leadTimeHours": 12.5, "labels": []any{"bug", "backend"}}
	rels := map[string]any{"service": "amber-falcon/brisk-falcon"}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pb, _ := json.Marshal(props)
			rb, _ := json.Marshal(rels)
			_ = append(pb, rb...)
		}
	})
	b.Run("jsonenc", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = jsonenc.AppendValue(buf[:0], props, true, nil)
			buf, _ = jsonenc.AppendValue(buf, rels, true, nil)
		}
	})
}
