package gitlab

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	glapi "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/oceankit/oceankit/ocean"
)

// Items and webhook payloads are GitLab's JSON decoded into map[string]any
// (numbers are float64). The helpers below read them without failing: a
// missing or mistyped value reads as empty, and callers decide what that
// means.

// eventName is the payload's event_name, event_type or object_kind, in
// gitlab-v2's order.
func eventName(p map[string]any) string {
	for _, k := range []string{"event_name", "object_kind", "event_type"} {
		if s, ok := p[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// field walks nested objects: field(p, "project", "id").
func field(p map[string]any, path ...string) any {
	var cur any = p
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// idField returns an id at path as a decimal string, or "".
func idField(p map[string]any, path ...string) string {
	v := field(p, path...)
	if f, ok := v.(float64); ok && f > 0 && f == float64(int64(f)) {
		return strconv.FormatInt(int64(f), 10)
	}
	return ""
}

func strField(p map[string]any, path ...string) string {
	s, _ := field(p, path...).(string)
	return s
}

func object(p map[string]any, path ...string) map[string]any {
	m, _ := field(p, path...).(map[string]any)
	return m
}

// require reports the first of the paths whose value is missing.
func requireFields(p map[string]any, kind string, ids [][]string, strs [][]string) error {
	for _, path := range ids {
		if idField(p, path...) == "" {
			return fmt.Errorf("%s event without a numeric %s", kind, strings.Join(path, "."))
		}
	}
	for _, path := range strs {
		if strField(p, path...) == "" {
			return fmt.Errorf("%s event without %s", kind, strings.Join(path, "."))
		}
	}
	return nil
}

// gitlabTimeLayouts are the timestamp formats of GitLab payloads: ISO 8601,
// "2016-08-12 15:23:28 UTC" and "2021-04-28 21:50:00 +0200".
var gitlabTimeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700", "2006-01-02T15:04:05Z0700"}

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, l := range gitlabTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// projectRefReads are the project keys projectRef and refOf read.
var projectRefReads = []string{"id", "path_with_namespace", "default_branch"}

// projectRef is the URL path segment naming a project: its id, else its
// escaped full path.
func projectRef(p ocean.Item) string {
	if id := idString(p["id"]); id != "" {
		return id
	}
	return glapi.PathEscape(str(p["path_with_namespace"]))
}

// refOf is the ref gitlab-v2 reads included files at.
func refOf(p ocean.Item) string {
	if b := str(p["default_branch"]); b != "" {
		return b
	}
	return "main"
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// idString formats a JSON number id without a decimal point.
func idString(v any) string {
	switch t := v.(type) {
	case float64:
		return strconv.FormatInt(int64(t), 10)
	case json.Number:
		return t.String()
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case string:
		return t
	}
	return ""
}

// projectOf is the id of the project an event is about.
func projectOf(p map[string]any) string {
	for _, path := range [][]string{{"project_id"}, {"project", "id"}, {"object_attributes", "target_project_id"}, {"object_attributes", "project_id"}} {
		if id := idField(p, path...); id != "" {
			return id
		}
	}
	return ""
}

// jsonNumber renders a decimal id as the float64 JSON numbers decode to.
func jsonNumber(id string) float64 {
	var n float64
	for _, c := range id {
		n = n*10 + float64(c-'0')
	}
	return n
}

// projectRefOf names the project of an event in a URL: its id, else its
// escaped path (project member events may carry only the path).
func projectRefOf(p map[string]any) string {
	if id := projectOf(p); id != "" {
		return id
	}
	if pwn := strField(p, "project_path_with_namespace"); pwn != "" {
		return glapi.PathEscape(pwn)
	}
	return ""
}

// cloneItem copies the top level of an item, so that items sent apart do
// not share a mutable map.
func cloneItem(p ocean.Item) ocean.Item {
	cp := make(ocean.Item, len(p))
	for k, v := range p {
		cp[k] = v
	}
	return cp
}

// projectStub is gitlab-v2's __project for tags, releases, branches and
// pipelines.
func projectStub(p ocean.Item) map[string]any {
	return map[string]any{"path_with_namespace": p["path_with_namespace"]}
}

func withProject(p ocean.Item) func(ocean.Item) {
	stub := projectStub(p)
	return func(it ocean.Item) {
		// Each item gets its own copy: the framework owns what is sent.
		cp := make(map[string]any, len(stub))
		for k, v := range stub {
			cp[k] = v
		}
		it["__project"] = cp
	}
}
