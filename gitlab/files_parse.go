package gitlab

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// parsable reports the files whose content is parsed: JSON and YAML.
func parsable(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

// parseContent reads a JSON or YAML file as gitlab-v2 does: empty content
// stays the (empty) text; JSON is its value (object or array, not
// wrapped); anything else is YAML, always a list of its documents, a
// document that is itself a list being flattened into it (so
// `itemsToParse: .file.content` explodes a multi-document file). Documents
// are read by a YAML decoder, so `--- # comment` separators and CRLF line
// ends split where gitlab-v2's text split would not.
func parseContent(text string) (any, error) {
	if strings.TrimSpace(text) == "" {
		return text, nil
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err == nil {
		return v, nil
	}
	dec := yaml.NewDecoder(strings.NewReader(text))
	docs := []any{}
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		keepTimestamps(&node)
		var doc any
		if err := node.Decode(&doc); err != nil {
			return nil, err
		}
		doc, err = jsonValue(doc)
		if err != nil {
			return nil, err
		}
		switch d := doc.(type) {
		case nil:
		case []any:
			docs = append(docs, d...)
		default:
			docs = append(docs, d)
		}
	}
	return docs, nil
}

// keepTimestamps makes unquoted dates and times decode as the text they
// are written as, not as a time value re-formatted.
func keepTimestamps(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!timestamp" {
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		keepTimestamps(c)
	}
}

// jsonValue turns a decoded YAML value into what JSON decoding would give,
// which the jq engine and Port's API accept: string keys, float64 or int
// numbers, strings for timestamps and binary, and the strings gitlab-v2
// writes for the floats JSON has no literal for.
func jsonValue(v any) (any, error) {
	switch t := v.(type) {
	case nil, bool, string, int:
		return t, nil
	case int64:
		return float64(t), nil
	case uint64:
		return float64(t), nil
	case float64:
		switch {
		case math.IsNaN(t):
			return "NaN", nil
		case math.IsInf(t, 1):
			return "Infinity", nil
		case math.IsInf(t, -1):
			return "-Infinity", nil
		}
		return t, nil
	case time.Time:
		return t.Format(time.RFC3339Nano), nil
	case []byte:
		return base64.StdEncoding.EncodeToString(t), nil
	case []any:
		for i, e := range t {
			n, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			t[i] = n
		}
		return t, nil
	case map[string]any:
		for k, e := range t {
			n, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			t[k] = n
		}
		return t, nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			n, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = n
		}
		return m, nil
	}
	return nil, fmt.Errorf("unsupported YAML value of type %T", v)
}

// fileRefPath returns the repository path a `file://` value points at.
// `file:///…` (an absolute URI) is not a reference, as in gitlab-v2.
func fileRefPath(s string) (string, bool) {
	rest, ok := strings.CutPrefix(s, "file://")
	if !ok || strings.HasPrefix(rest, "/") {
		return "", false
	}
	p := path.Clean(rest)
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// walkFileRefs visits every object value of v that is a `file://`
// reference, with a setter to replace it. As in gitlab-v2, lists are
// walked item by item but a bare string inside a list is not a reference.
// Object keys are visited in sorted order, so that which references fit a
// budget does not change from one run to the next.
func walkFileRefs(v any, fn func(ref string, set func(any))) {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(t)) {
			e := t[k]
			if s, ok := e.(string); ok {
				if p, ok := fileRefPath(s); ok {
					fn(p, func(nv any) { t[k] = nv })
				}
				continue
			}
			walkFileRefs(e, fn)
		}
	case []any:
		for _, e := range t {
			if _, isStr := e.(string); !isStr {
				walkFileRefs(e, fn)
			}
		}
	}
}
