package ocean_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
)

// projectingKind lists n widgets two at a time, each with a large key no
// mapping reads, and decodes them as a provider using ocean.Fields would:
// only the keys Fields names, when it names some. It records each page's
// answer.
type projectingKind struct {
	n       int
	mu      sync.Mutex
	answers []fieldsAnswer
}

type fieldsAnswer struct {
	keys []string
	ok   bool
}

func (k *projectingKind) kind() ocean.Kind {
	return ocean.NewKind("widget", func(ctx context.Context, _ widgetSelector, send ocean.Sender) error {
		for start := 0; start < k.n; start += 2 {
			f, ok := ocean.Fields(ctx)
			keys := f.Keys
			k.mu.Lock()
			k.answers = append(k.answers, fieldsAnswer{slices.Clone(keys), ok})
			k.mu.Unlock()
			var page []ocean.Item
			for i := start; i < min(start+2, k.n); i++ {
				it := widget(i)
				it["blob"] = fmt.Sprintf("a large value nobody maps %d", i)
				if ok {
					for key := range it {
						if !slices.Contains(keys, key) {
							delete(it, key)
						}
					}
				}
				page = append(page, it)
			}
			if err := send.Send(ctx, page); err != nil {
				return err
			}
		}
		return nil
	})
}

func (k *projectingKind) got() []fieldsAnswer {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.answers)
}

// widgetReads are the keys widgetMapping reads (.hidden in the selector)
// and the framework's own (the keys that name an item in error reports).
var widgetReads = []string{"color", "full_path", "hidden", "id", "iid", "key", "name", "path_with_namespace", "size", "team", "title", "username", "web_url"}

func TestFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		examples   bool
		decodeAll  bool
		mapping    string
		wantWhole  int // pages asked for before Fields names keys (-1: every page)
		wantKeys   []string
		wantColors int
	}{
		{name: "examples off: every page projected", wantWhole: 0, wantKeys: widgetReads},
		// 5 examples: the first three pages (2+2+1) are whole.
		{name: "whole until the examples are in", examples: true, wantWhole: 3, wantKeys: widgetReads},
		{name: "kill switch", decodeAll: true, wantWhole: -1},
		{name: "a mapping that reads the whole item", wantWhole: -1, mapping: `
resources:
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"widget"'
          properties:
            color: '. | tojson | length | tostring'
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts []harnessOpt
			if tc.mapping != "" {
				opts = append(opts, withMapping(tc.mapping))
			}
			h := newHarness(t, 0, opts...)
			pk := &projectingKind{n: 12}
			h.prov.Kinds = []ocean.Kind{pk.kind()}
			h.cfg.SendRawDataExamples = tc.examples
			h.cfg.Resync.DecodeAllFields = tc.decodeAll
			rep, err := h.resync(h.app())
			require.NoError(t, err)
			require.Len(t, rep.Kinds, 1)
			assert.EqualValues(t, 12, rep.Kinds[0].Upserted+rep.Kinds[0].Skipped)

			answers := pk.got()
			require.Len(t, answers, 6)
			for i, a := range answers {
				whole := tc.wantWhole < 0 || i < tc.wantWhole
				assert.Equal(t, !whole, a.ok, "page %d", i)
				if a.ok {
					assert.Equal(t, tc.wantKeys, a.keys, "page %d", i)
				}
			}
			// The catalog is the one whole items make.
			for i := range 12 {
				w := widget(i)
				e, ok := h.srv.Entity("widget", w["id"].(string))
				require.True(t, ok, w["id"])
				if tc.mapping == "" {
					assert.Equal(t, w["name"], e.Title)
					assert.Equal(t, w["color"], e.Properties["color"])
				}
			}
			if tc.examples {
				ex := h.srv.KindExamples(integrationID, "widget")
				require.Len(t, ex, 5)
				for _, e := range ex {
					assert.Contains(t, e, "blob", "raw data examples are whole items")
				}
			}
		})
	}
}

func TestFieldsOutsideAResync(t *testing.T) {
	t.Parallel()
	f, ok := ocean.Fields(context.Background())
	assert.False(t, ok)
	assert.Nil(t, f.Keys)
}
