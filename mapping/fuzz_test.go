package mapping

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/itchyny/gojq"
)

// FuzzParse feeds arbitrary bytes to Parse and, when they parse, compiles
// and maps one item: nothing may panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(fullYAML))
	f.Add([]byte(`{"resources":[{"kind":"k","port":{"entity":{"mappings":{"identifier":".id","blueprint":"'b'"}}}}]}`))
	f.Add([]byte("resources:\n  - kind: a\n    port:\n      entity:\n        mappings: [{identifier: {combinator: x, rules: [{combinator: y, rules: []}]}}]\n"))
	if b, err := os.ReadFile(filepath.Join("testdata", "gitlab", "port-app-config.yml")); err == nil {
		f.Add(b)
	}
	item := map[string]any{"id": "x", "a": []any{1.0, "s"}, "file": map[string]any{"content": map[string]any{"dependencies": map[string]any{"a": "1"}}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, AllowTopLevelKeys("visibility"))
		if err != nil {
			return
		}
		m, err := Compile(cfg, WithItemTimeout(20*time.Millisecond), WithWorkers(2))
		if err != nil {
			return
		}
		for _, r := range m.Resources() {
			if _, err := r.MapAll(context.Background(), []map[string]any{item, {}}); err != nil {
				t.Fatalf("Map failed without cancellation: %v", err)
			}
		}
	})
}

// FuzzMap maps arbitrary JSON with an arbitrary jq program as a property,
// and checks the fast path against gojq whenever it answers.
func FuzzMap(f *testing.F) {
	f.Add(".a.b", []byte(`{"id":"x","a":{"b":1}}`))
	f.Add(`.name | ascii_downcase`, []byte(`{"id":"x","name":"ÄB"}`))
	f.Add(`"\(.a)-\(.b)"`, []byte(`{"id":"x","a":1.5,"b":null}`))
	f.Add(`.x // "d" | tostring`, []byte(`{"id":"x","x":false}`))
	f.Add(`.created_at | sub("\\..*Z$";"Z") | strptime("%Y-%m-%dT%H:%M:%SZ") | mktime`, []byte(`{"id":"x","created_at":"2024-01-01T00:00:00.5Z"}`))
	f.Add(`.languages | to_entries | max_by(.value) | .key`, []byte(`{"id":"x","languages":{"Go":1}}`))
	f.Add(`.arr[-1] == 'x'`, []byte(`{"id":"x","arr":["x"]}`))
	f.Add(`def f: f; f`, []byte(`{"id":"x"}`))
	f.Add(`if .merged_at == null then null else ((.merged_at | sub("\\.[0-9]+"; "") | fromdateiso8601) - (.created_at | sub("\\.[0-9]+"; "") | fromdateiso8601)) / 3600 | . * 100 | floor / 100 end`,
		[]byte(`{"id":"x","created_at":"2024-06-01T08:00:00.123Z","merged_at":"2024-06-02T09:30:00Z"}`))
	f.Add(`.a | fromdate`, []byte(`{"id":"x","a":"2024-02-30T23:59:60Z"}`))
	f.Add(`.a * .b / 3 - 1 | ceil`, []byte(`{"id":"x","a":9007199254740993,"b":-1e308}`))
	f.Add(`(.l // {}) | to_entries | max_by(.value) | .key`, []byte(`{"id":"x","l":{"Go":50,"C":50.0,"é":null}}`))
	f.Add(`.r.full | sub("!.+$"; "")`, []byte(`{"id":"x","r":{"full":"g/p!3\n!4"}}`))
	f.Add(`.p | gsub(" "; "")`, []byte(`{"id":"x","p":" a b "}`))
	f.Fuzz(func(t *testing.T, program string, itemJSON []byte) {
		if len(program) > 512 || len(itemJSON) > 1<<14 {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(itemJSON))
		if len(itemJSON)%2 == 0 {
			dec.UseNumber()
		}
		var item map[string]any
		if dec.Decode(&item) != nil {
			return
		}
		cfg := &Config{Resources: []Resource{{Kind: "k", Selector: Selector{Query: "true"}, Port: PortResource{
			ItemsToParseName: "item",
			Entity: EntityConfig{Mappings: []EntityMapping{{
				Identifier: Field{JQ: ".id"}, Blueprint: `"b"`,
				Properties: map[string]string{"p": program},
				Relations:  map[string]Field{"r": {JQ: program}},
			}}},
		}}}}
		m, err := Compile(cfg, WithItemTimeout(20*time.Millisecond), WithWorkers(1))
		if err != nil {
			return
		}
		if _, err := m.Resources()[0].Map(context.Background(), []map[string]any{item, item}); err != nil {
			t.Fatalf("Map failed without cancellation: %v", err)
		}
		// Fast path and gojq must agree whenever the fast path answers.
		q, err := gojq.Parse(formatFilter(program))
		if err != nil {
			return
		}
		fast := buildFast(q)
		if fast == nil {
			return
		}
		code, err := gojq.Compile(q)
		if err != nil {
			return
		}
		got, ok := fast.eval(item)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		want, wok := code.RunWithContext(ctx, item).Next()
		if !wok {
			want = nil
		}
		if err, isErr := want.(error); isErr {
			t.Fatalf("fast path answered %#v, gojq failed: %v", got, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast path %#v, gojq %#v", got, want)
		}
	})
}
