package gitlab

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/oceankit/oceankit/ocean"
)

// FuzzGitLabWebhookPayload feeds authenticated deliveries with arbitrary
// JSON to every processor's intake methods (what runs while GitLab waits,
// and Key/Version on the queue side): none may panic, whatever the payload.
func FuzzGitLabWebhookPayload(f *testing.F) {
	names := []string{"project", "project_member", "subgroup", "member", "merge_request", "issue", "push", "tag_push", "release", "pipeline", "job", "deployment"}
	for i, name := range names {
		b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Add(uint8(6), []byte(`{"object_kind":"push","ref":7,"commits":[{"added":[1,null,{}]},3],"project":[]}`))
	f.Add(uint8(4), []byte(`{"object_kind":"merge_request","object_attributes":{"iid":1e300,"target_project_id":-1}}`))
	g := &Integration{cfg: Config{WebhookSecret: "s"}}
	procs := g.processors()
	f.Fuzz(func(t *testing.T, header uint8, body []byte) {
		var payload map[string]any
		if json.Unmarshal(body, &payload) != nil || payload == nil {
			return
		}
		h := http.Header{}
		h.Set("X-Gitlab-Event", whHeaders[names[int(header)%len(names)]])
		h.Set("X-Gitlab-Token", "s")
		ev := &ocean.Event{Headers: h, Body: body, Payload: payload}
		for _, p := range procs {
			if !p.(ocean.HeaderMatcher).MatchHeaders(h) || !p.Match(ev) {
				continue
			}
			if p.Validate(ev) != nil {
				continue
			}
			_ = p.Kinds(ev)
			if f, ok := p.(*ocean.ProcessorFuncs); ok {
				if f.Key != nil {
					_ = f.Key(ev)
				}
				if f.Version != nil {
					_, _ = f.Version(ev)
				}
			}
		}
		_ = parsePush(payload)
		_ = deletedProjectStub(payload)
	})
}
