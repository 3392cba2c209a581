package port_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func TestIncrementalCursors(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	srv.AddIntegration(port.Integration{Identifier: "gl"})
	c := newClient(t, srv)
	ctx := context.Background()

	cur, err := c.GetCursor(ctx, "gl", "merge-request", 3)
	require.NoError(t, err)
	assert.Nil(t, cur, "no cursor yet")

	require.NoError(t, c.SetCursor(ctx, "gl", "merge-request", 3, port.Cursor{Primary: "2026-01-02T03:04:05Z"}))
	assert.Equal(t, 1, srv.Count(porttest.RoutePutCursor))
	assert.Equal(t, 1, srv.Count(porttest.RoutePostCursor), "PUT answers 404 for a new cursor; POST creates it")

	require.NoError(t, c.SetCursor(ctx, "gl", "merge-request", 3, port.Cursor{Primary: "2026-02-02T00:00:00Z"}))
	assert.Equal(t, 1, srv.Count(porttest.RoutePostCursor), "an existing cursor is updated in place")

	cur, err = c.GetCursor(ctx, "gl", "merge-request", 3)
	require.NoError(t, err)
	require.NotNil(t, cur)
	assert.Equal(t, "2026-02-02T00:00:00Z", cur.Primary)

	other, err := c.GetCursor(ctx, "gl", "merge-request", 4)
	require.NoError(t, err)
	assert.Nil(t, other, "cursors are per resource index")

	_, err = c.GetCursor(ctx, "missing", "x", 0)
	assert.NoError(t, err, "an unknown integration has no cursor either")
}
