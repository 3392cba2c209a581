package gitlab

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFailedAliases(t *testing.T) {
	t.Parallel()
	errs := []GraphQLError{
		{Message: "not found", Path: []any{"p1", "repository"}},
		{Message: "boom", Path: []any{"p3"}},
	}
	failed, whole := failedAliases(errs, "p", 4)
	assert.Equal(t, map[int]bool{1: true, 3: true}, failed, "an error on one block fails that block")
	assert.False(t, whole)

	for name, ge := range map[string]GraphQLError{
		"no path":            {Message: "Query has complexity of 300, which exceeds max complexity of 250"},
		"another prefix":     {Message: "x", Path: []any{"b0"}},
		"out of the batch":   {Message: "x", Path: []any{"p4"}},
		"not a block number": {Message: "x", Path: []any{"project"}},
		"numeric path":       {Message: "x", Path: []any{float64(0)}},
	} {
		_, whole := failedAliases([]GraphQLError{ge}, "p", 4)
		assert.True(t, whole, "%s fails the whole query", name)
	}
}

func TestLearnComplexity(t *testing.T) {
	t.Parallel()
	e := &enricher{}
	e.batch.Store(gqlMaxBatch)
	tooBig := []GraphQLError{{Message: "Query has complexity of 500, which exceeds max complexity of 250"}}
	e.learnComplexity(tooBig, 1)
	assert.Equal(t, int32(gqlMaxBatch), e.batch.Load(), "a single block teaches nothing")
	e.learnComplexity(tooBig, 20)
	assert.Equal(t, int32(learnBatch(tooBig[0].Message, 20)), e.batch.Load())
	assert.Less(t, e.batch.Load(), int32(20))
}
