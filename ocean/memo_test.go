package ocean_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
)

func TestMemoSharesAcrossKindsOfOneResync(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	shared := func(ctx context.Context) ([]ocean.Item, error) {
		return ocean.Memo(ctx, "lookup", func(context.Context) ([]ocean.Item, error) {
			calls.Add(1)
			return []ocean.Item{widget(1), widget(2)}, nil
		})
	}
	kind := func(name string) ocean.Kind {
		return ocean.NewKind(name, func(ctx context.Context, _ ocean.BaseSelector, send ocean.Sender) error {
			items, err := shared(ctx)
			if err != nil {
				return err
			}
			return send.Send(ctx, items)
		})
	}
	h := newHarness(t, 0, withMapping(widgetMapping+`
  - kind: gadget
    port:
      entity:
        mappings:
          identifier: '"g-" + .id'
          blueprint: '"widget"'
`))
	h.prov.Kinds = []ocean.Kind{kind("widget"), kind("gadget")}
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)
	assert.EqualValues(t, 1, calls.Load(), "both kinds of the resync share one fetch")
	assert.Equal(t, 4, h.srv.EntityCount("widget"))

	_, err = h.resync(a)
	require.NoError(t, err)
	assert.EqualValues(t, 2, calls.Load(), "a new resync fetches again")

	_, err = shared(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 3, calls.Load(), "outside a resync nothing is kept")
}
