package redisqueue

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func outboxIDs(o *outbox, shard int) []string {
	var out []string
	for _, e := range o.shards[shard].entries {
		out = append(out, e.raw)
	}
	return out
}

func TestOutboxKeepsWhatIsNotFinished(t *testing.T) {
	t.Parallel()
	o := newOutbox(2)
	// Replies of concurrent Enqueues arrive in any order.
	o.add(0, "100-1", []string{"k", "a"})
	o.add(0, "100-0", []string{"k", "b"})
	o.add(0, "105-0", []string{"k", "c"})
	o.add(1, "101-0", []string{"k", "d"})
	assert.Equal(t, []string{"100-0", "100-1", "105-0"}, outboxIDs(o, 0))

	o.prune([]int{0, 1}, []any{"100-1", "-"})
	assert.Equal(t, []string{"100-1", "105-0"}, outboxIDs(o, 0), "entries before the stream's first are finished")
	assert.Equal(t, []string{"101-0"}, outboxIDs(o, 1), "a stream that does not exist says nothing")

	// A report taken before 105-0 was added, processed after: the stream
	// was empty up to 100-1 then.
	o.prune([]int{0, 1}, []any{"+100-1", "+101-0"})
	assert.Equal(t, []string{"105-0"}, outboxIDs(o, 0), "an entry added after the report stays")
	assert.Empty(t, outboxIDs(o, 1))
	o.prune([]int{0, 1}, []any{"100-0", "-"})
	assert.Equal(t, []string{"105-0"}, outboxIDs(o, 0), "an older report does not lower the watermark")
	assert.Equal(t, 1, o.len())

	members, marks := o.staged()
	require.Len(t, members, 1)
	assert.Equal(t, []string{
		"000000", "00000000000000000100-00000000000000000002",
		"000001", "00000000000000000101-00000000000000000001",
	}, marks)
	m := members[0]
	assert.True(t, strings.HasPrefix(m, "000000"+"00000000000000000105-00000000000000000000"))
	assert.Equal(t, "5:105-01:k1:c", m[shardDigits+41:], "the original id and the fields, each with its length")
}

func TestStageChunksAreBounded(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 5<<20)
	assert.Equal(t, 1, stageChunk([]string{big, big, "a"}), "8 MiB at most")
	assert.Equal(t, 2, stageChunk([]string{"a", big, big}))
	assert.Equal(t, 1, stageChunk([]string{strings.Repeat("x", 9<<20), "a"}), "a larger member goes alone")
	many := make([]string, 300)
	assert.Equal(t, 256, stageChunk(many))
	assert.Equal(t, 0, stageChunk(nil))
}

func TestOutboxReportsOnTheShardsItHolds(t *testing.T) {
	t.Parallel()
	o := newOutbox(4)
	o.add(2, "7-0", nil)
	assert.Equal(t, []int{2}, o.interest())
	o.prune([]int{2}, []any{"+7-0"})
	assert.Empty(t, o.interest())
	assert.Zero(t, o.len())
}
