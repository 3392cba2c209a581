package conncount_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/oceankit/oceankit/internal/conncount"
)

func TestCounterCountsOpenedAndClosed(t *testing.T) {
	t.Parallel()
	var c conncount.Counter
	for _, st := range []http.ConnState{http.StateNew, http.StateActive, http.StateIdle, http.StateNew, http.StateClosed, http.StateHijacked} {
		c.ConnState(nil, st)
	}
	opened, closed := c.Counts()
	assert.Equal(t, int64(2), opened)
	assert.Equal(t, int64(2), closed)
}
