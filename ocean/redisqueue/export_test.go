package redisqueue

// OutboxLen is the number of entries this replica would queue again if
// Redis lost its data now.
func (q *Queue) OutboxLen() int { return q.outbox.len() }
