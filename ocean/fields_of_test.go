package ocean_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
)

// sharingMapping maps two kinds that a provider could list once: widgets,
// and gadgets of which only a nested key is read.
const sharingMapping = widgetMapping + `
  - kind: gadget
    port:
      entity:
        mappings:
          identifier: '"g-\(.id)"'
          blueprint: '"widget"'
          properties:
            color: .spec.color
`

// sharedAnswer is what FieldsOf said before one page.
type sharedAnswer struct {
	fields string
	ok     bool
}

// askingKind lists n items of its name, two at a time, and asks FieldsOf
// about the kinds it names before each page, as a provider decoding a
// listing those kinds share would.
type askingKind struct {
	name  string
	n     int
	about []string
	mu    sync.Mutex
	got   []sharedAnswer
}

func (k *askingKind) kind() ocean.Kind {
	return ocean.NewKind(k.name, func(ctx context.Context, _ widgetSelector, send ocean.Sender) error {
		for start := 0; start < k.n; start += 2 {
			f, ok := ocean.FieldsOf(ctx, k.about...)
			k.mu.Lock()
			k.got = append(k.got, sharedAnswer{f.String(), ok})
			k.mu.Unlock()
			var page []ocean.Item
			for i := start; i < min(start+2, k.n); i++ {
				it := widget(i)
				it["spec"] = map[string]any{"color": "red", "size": i}
				page = append(page, it)
			}
			if err := send.Send(ctx, page); err != nil {
				return err
			}
		}
		return nil
	})
}

func (k *askingKind) answers() []sharedAnswer {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]sharedAnswer(nil), k.got...)
}

// bothReads is what widgetMapping and the gadget resource read, and the
// framework's keys.
const bothReads = "color,full_path,hidden,id,iid,key,name,path_with_namespace,size,spec{color},team,title,username,web_url"

func TestFieldsOf(t *testing.T) {
	t.Parallel()
	ok := func(f string) sharedAnswer { return sharedAnswer{f, true} }
	whole := sharedAnswer{"", false}
	repeat := func(a sharedAnswer, n int) []sharedAnswer {
		out := make([]sharedAnswer, n)
		for i := range out {
			out[i] = a
		}
		return out
	}
	tests := []struct {
		name      string
		examples  bool
		decodeAll bool
		about     []string
		mapping   string
		widget    []sharedAnswer
		gadget    []sharedAnswer
	}{
		{name: "the union of the kinds' reads", about: []string{"widget", "gadget"},
			widget: repeat(ok(bothReads), 6), gadget: repeat(ok(bothReads), 6)},
		{name: "kinds not in the resync read nothing", about: []string{"sprocket"},
			widget: repeat(ok(""), 6), gadget: repeat(ok(""), 6)},
		{name: "one kind", about: []string{"gadget", "sprocket"},
			widget: repeat(ok("full_path,id,iid,key,name,path_with_namespace,spec{color},title,username,web_url"), 6),
			gadget: repeat(ok("full_path,id,iid,key,name,path_with_namespace,spec{color},title,username,web_url"), 6)},
		// Kinds run one after the other: while widget runs, gadget has
		// not started and will take examples; gadget's first three pages
		// (2+2+1 items) are its examples.
		{name: "whole while a kind takes examples or has not started", examples: true, about: []string{"widget", "gadget"},
			widget: repeat(whole, 6), gadget: append(repeat(whole, 3), repeat(ok(bothReads), 3)...)},
		{name: "kill switch", decodeAll: true, about: []string{"widget", "gadget"},
			widget: repeat(whole, 6), gadget: repeat(whole, 6)},
		{name: "a resource that reads whole items", about: []string{"widget", "gadget"},
			mapping: sharingMapping + "            size: '. | length'\n",
			widget:  repeat(whole, 6), gadget: repeat(whole, 6)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := sharingMapping
			if tc.mapping != "" {
				m = tc.mapping
			}
			h := newHarness(t, 0, withMapping(m))
			w := &askingKind{name: "widget", n: 12, about: tc.about}
			g := &askingKind{name: "gadget", n: 12, about: tc.about}
			h.prov.Kinds = []ocean.Kind{w.kind(), g.kind()}
			h.cfg.SendRawDataExamples = tc.examples
			h.cfg.Resync.DecodeAllFields = tc.decodeAll
			h.cfg.Resync.Sequential = true // widget's fetch ends before gadget's starts
			rep, err := h.resync(h.app())
			require.NoError(t, err)
			require.Len(t, rep.Kinds, 2)
			for _, k := range rep.Kinds {
				assert.True(t, k.Complete, "%s: %v", k.Kind, k.Err)
			}
			assert.Equal(t, tc.widget, w.answers(), "widget's fetch")
			assert.Equal(t, tc.gadget, g.answers(), "gadget's fetch")
		})
	}
}

func TestFieldsOfOutsideAResync(t *testing.T) {
	t.Parallel()
	f, ok := ocean.FieldsOf(context.Background(), "widget")
	assert.False(t, ok)
	assert.Empty(t, f.Keys)
}
