package redisqueue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Recovering from a Redis that lost its data.
//
// The key {Prefix}:epoch holds a random token, set by the first replica
// that finds it missing. Every script that adds entries or reports on the
// streams checks it against the token the replica last saw: a different or
// missing token means that Redis lost its data (a restart without
// persistence, a failover to an empty replica, FLUSHALL), and every entry
// and lease with it.
//
// Each replica keeps, in its outbox, the entries it added and has not yet
// seen finished. Entries leave a stream in order once applied (or parked),
// so an entry older than the first one left is finished; every report on
// the streams lets a replica forget such entries and raise, per shard, its
// watermark: the id below which everything is known finished.
//
// When the token changes, each replica stages in {Prefix}:replay (a sorted
// set, ordered by shard and original entry id) the entries of its outbox,
// and in {Prefix}:replay-finished its watermarks. A replica that had seen
// the old token also sets {Prefix}:recovering for LeaseTTL: until it
// expires, Enqueue refuses new events (ErrUnavailable, answered 503) so
// that the other replicas have time to stage theirs. Then the first script
// to run moves the staged entries into their streams, in order, with their
// original ids, before any new entry, leaving out those below the highest
// watermark of their shard (another replica saw them finished): the
// events of one object keep their order across the loss, whichever
// replica accepted them, and an event already applied is applied again
// only when its object's later events are too.

// Script return codes (beside a count of entries, >= 0).
const (
	codeFull          = -1 // MaxQueued reached
	codeShardsChanged = -2 // the queued data uses another shard count
	codeNoEpoch       = -3 // Redis has no epoch: it lost its data, or it is the first start
	codeEpochChanged  = -4 // another replica already recreated the epoch
	codeRecovering    = -5 // within the recovery window, or staged entries wait for it to end
)

// shardDigits is the width of the shard number that starts a staged
// member; the original id follows, padded for sorting (see
// streamID.padded): flushLua reads them at these offsets.
const shardDigits = 6

// flushLua holds Lua functions shared by the scripts below, whose KEYS are
// laid out as scriptKeys says (n streams, then meta, epoch, recovering,
// staging and watermarks). flush moves the staged entries into their
// streams in order, with their original ids where the stream allows it,
// creating the streams and the consumer group (ARGV[1]) from the start,
// and leaving out those below their shard's watermark. A staged member is
// the shard and padded id, then the original id and the field/value
// pairs, each as <length>:<bytes>; it does nothing when nothing is
// staged. firsts appends, for each stream of list (positions in KEYS),
// the id of its first entry, or for an empty stream '+' and the last id
// it generated (everything up to it is finished), or '-' when it does not
// exist.
const flushLua = `
local function flush(n, group)
  if redis.call('EXISTS', KEYS[n + 4], KEYS[n + 5]) == 0 then
    return
  end
  local members = redis.call('ZRANGE', KEYS[n + 4], 0, -1)
  local marks = redis.call('HGETALL', KEYS[n + 5])
  local below = {}
  for i = 1, #marks, 2 do
    below[marks[i]] = marks[i + 1]
  end
  for _, m in ipairs(members) do
    local shard = string.sub(m, 1, 6)
    local mark = below[shard]
    if not (mark and string.sub(m, 7, 47) < mark) then
      local f = {}
      local pos = 48
      while pos <= #m do
        local c = string.find(m, ':', pos, true)
        local len = tonumber(string.sub(m, pos, c - 1))
        f[#f + 1] = string.sub(m, c + 1, c + len)
        pos = c + len + 1
      end
      local key = KEYS[1 + (tonumber(shard) % n)]
      redis.pcall('XGROUP', 'CREATE', key, group, '0', 'MKSTREAM')
      local r = redis.pcall('XADD', key, f[1], unpack(f, 2))
      if type(r) == 'table' and r.err then
        redis.call('XADD', key, '*', unpack(f, 2))
      end
    end
  end
  redis.call('DEL', KEYS[n + 4], KEYS[n + 5])
end

local function firsts(list, out)
  for _, i in ipairs(list) do
    local r = redis.call('XRANGE', KEYS[i], '-', '+', 'COUNT', 1)
    local v = '-'
    if r[1] then
      v = r[1][1]
    else
      local info = redis.pcall('XINFO', 'STREAM', KEYS[i])
      if type(info) == 'table' and not info.err then
        for j = 1, #info - 1, 2 do
          if info[j] == 'last-generated-id' then
            v = '+' .. info[j + 1]
          end
        end
      end
    end
    out[#out + 1] = v
  end
  return out
end
`

// scriptKeys is the KEYS layout of enqueueScript and stateScript: every
// shard's stream, then the meta, epoch, recovering, staging and watermark
// keys.
func (q *Queue) scriptKeys() []string {
	keys := make([]string, q.cfg.Shards, q.cfg.Shards+5)
	for i := range keys {
		keys[i] = q.Stream(i)
	}
	return append(keys, q.metaKey(), q.epochKey(), q.recoveringKey(), q.stagingKey(), q.watermarkKey())
}

func (q *Queue) epochKey() string      { return q.cfg.Prefix + ":epoch" }
func (q *Queue) recoveringKey() string { return q.cfg.Prefix + ":recovering" }
func (q *Queue) stagingKey() string    { return q.cfg.Prefix + ":replay" }
func (q *Queue) watermarkKey() string  { return q.cfg.Prefix + ":replay-finished" }

// stateScript checks the epoch (ARGV[2]), moves staged entries into the
// streams once the recovery window is over, and returns 0 and the first
// ids (see firsts) of the streams at the positions ARGV[3...], or a code.
var stateScript = redis.NewScript(flushLua + `
local n = #KEYS - 5
local epoch = redis.call('GET', KEYS[n + 2])
if not epoch then
  return {-3}
end
if epoch ~= ARGV[2] then
  return {-4}
end
if redis.call('EXISTS', KEYS[n + 3]) == 1 then
  if redis.call('EXISTS', KEYS[n + 4]) == 1 then
    return {-5}
  end
else
  flush(n, ARGV[1])
end
local list = {}
for i = 3, #ARGV do
  list[#list + 1] = tonumber(ARGV[i])
end
return firsts(list, {0})
`)

// epochScript returns the epoch, creating it (ARGV[1]) when it is missing;
// when the caller knew an older one (ARGV[2] = 1), it also opens the
// recovery window of ARGV[3] ms.
var epochScript = redis.NewScript(`
local e = redis.call('GET', KEYS[1])
if e then
  return e
end
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
end
return ARGV[1]
`)

// stageScript stages entries and watermarks if the epoch is still ARGV[1]
// (-1 otherwise). ARGV[2] is the number of watermarks, given as shard and
// padded id pairs; the staged members follow. A shard keeps its highest
// watermark.
var stageScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
local w = tonumber(ARGV[2])
for i = 3, 2 + 2 * w, 2 do
  local cur = redis.call('HGET', KEYS[3], ARGV[i])
  if not cur or ARGV[i + 1] > cur then
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  end
end
for i = 3 + 2 * w, #ARGV do
  redis.call('ZADD', KEYS[2], 0, ARGV[i])
end
return #ARGV - 2 - 2 * w
`)

// errEpochUnsettled is returned when the epoch changed again while a
// replica was recovering from a change.
var errEpochUnsettled = fmt.Errorf("%w: the Redis epoch keeps changing", ErrUnavailable)

// sync checks the epoch (recovering when it changed), moves staged entries
// into the streams once the recovery window is over, forgets the outbox
// entries that are finished, and returns the current epoch.
func (q *Queue) sync(ctx context.Context, rdb *redis.Client) (string, error) {
	for range 3 {
		q.epochMu.RLock()
		known := q.epoch
		shards := q.outbox.interest()
		args := []any{q.cfg.Group, known}
		for _, s := range shards {
			args = append(args, s+1)
		}
		res, err := stateScript.Run(ctx, rdb, q.scriptKeys(), args...).Slice()
		code := int64(codeNoEpoch)
		if err == nil {
			code, err = resultCode(res)
		}
		if err == nil && code == 0 {
			q.outbox.prune(shards, res[1:])
		}
		q.epochMu.RUnlock()
		q.backend.observe(ctx, err)
		if err != nil {
			return "", err
		}
		if code == codeNoEpoch || code == codeEpochChanged {
			if err := q.recover(ctx, rdb); err != nil {
				return "", err
			}
			continue
		}
		return known, nil
	}
	return "", errEpochUnsettled
}

// recover adopts the epoch Redis has (creating it when missing). When it
// differs from the one this replica knew, Redis lost its data: the outbox
// and its watermarks are staged, to be queued again.
func (q *Queue) recover(ctx context.Context, rdb *redis.Client) error {
	q.epochMu.Lock()
	defer q.epochMu.Unlock()
	known := q.epoch
	lost := "0"
	if known != "" {
		lost = "1"
	}
	cur, err := epochScript.Run(ctx, rdb, []string{q.epochKey(), q.recoveringKey()},
		newToken(), lost, q.cfg.LeaseTTL.Milliseconds()).Text()
	q.backend.observe(ctx, err)
	if err != nil {
		return fmt.Errorf("redisqueue: read the epoch: %w", err)
	}
	if cur == known {
		return nil
	}
	if known != "" {
		members, marks := q.outbox.staged()
		q.log.Warn("Redis lost its data: recreating the consumer groups and shard leases, and queuing again the live events this replica accepted and did not see applied",
			"requeued", len(members))
		keys := []string{q.epochKey(), q.stagingKey(), q.watermarkKey()}
		for first := true; first || len(members) > 0; first = false {
			part := members[:stageChunk(members)]
			members = members[len(part):]
			args := []any{cur, 0}
			if first {
				args[1] = len(marks) / 2
				for _, m := range marks {
					args = append(args, m)
				}
			}
			for _, m := range part {
				args = append(args, m)
			}
			n, err := stageScript.Run(ctx, rdb, keys, args...).Int()
			q.backend.observe(ctx, err)
			if err != nil {
				return fmt.Errorf("redisqueue: queue again the events accepted before Redis lost its data: %w", err)
			}
			if n < 0 {
				return errEpochUnsettled
			}
		}
	}
	q.epoch = cur
	return nil
}

// stageChunk is how many of members one stageScript call takes: at most
// 256, and at most 8 MiB unless the first alone is larger.
func stageChunk(members []string) int {
	const maxMembers, maxBytes = 256, 8 << 20
	n, size := 0, 0
	for n < len(members) && n < maxMembers && (n == 0 || size+len(members[n]) <= maxBytes) {
		size += len(members[n])
		n++
	}
	return n
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// resultCode reads the first element of a script's reply.
func resultCode(res []any) (int64, error) {
	if len(res) == 0 {
		return 0, errors.New("redisqueue: empty script reply")
	}
	code, ok := res[0].(int64)
	if !ok {
		return 0, fmt.Errorf("redisqueue: unexpected script reply %T", res[0])
	}
	return code, nil
}

// streamID is a parsed stream entry id, ms-seq.
type streamID struct{ ms, seq uint64 }

func parseID(s string) (streamID, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return streamID{}, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return streamID{ms, seq}, err1 == nil && err2 == nil
}

func (a streamID) less(b streamID) bool {
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq)
}

// padded is the id in a form that sorts as a string (paddedID bytes).
func (a streamID) padded() string { return fmt.Sprintf("%020d-%020d", a.ms, a.seq) }

// outbox holds the entries this replica added and has not seen finished,
// per shard in id order: what it queues again if Redis loses its data. It
// holds at most what the streams hold (MaxQueued entries) plus what was
// added since the last report on the streams.
type outbox struct {
	mu     sync.Mutex
	shards []shardBox
}

type shardBox struct {
	entries []outboxEntry
	// below is the watermark: every entry below it is finished.
	below streamID
}

type outboxEntry struct {
	id     streamID
	raw    string
	fields []string
}

func newOutbox(shards int) *outbox { return &outbox{shards: make([]shardBox, shards)} }

// add records an entry added to a shard's stream.
func (o *outbox) add(shard int, id string, fields []string) {
	sid, ok := parseID(id)
	if !ok {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	b := &o.shards[shard]
	s := b.entries
	i := len(s)
	for i > 0 && sid.less(s[i-1].id) {
		i--
	}
	s = append(s, outboxEntry{})
	copy(s[i+1:], s[i:])
	s[i] = outboxEntry{id: sid, raw: id, fields: fields}
	b.entries = s
}

// interest lists, in order, the shards that hold entries: those whose
// streams a report should cover.
func (o *outbox) interest() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []int
	for s, b := range o.shards {
		if len(b.entries) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// prune raises the watermarks and forgets the entries below them: per
// shard, the entries older than the stream's first one, or than the next
// id of an empty stream, were applied or parked. firsts holds the scripts'
// value for each of shards. Reports may come in any order: each one holds
// for the moment it was taken, and an entry added later has a higher id
// than any it holds.
func (o *outbox) prune(shards []int, firsts []any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, v := range firsts {
		if i >= len(shards) || shards[i] < 0 || shards[i] >= len(o.shards) {
			break
		}
		b := &o.shards[shards[i]]
		first, _ := v.(string)
		empty := strings.HasPrefix(first, "+")
		mark, ok := parseID(strings.TrimPrefix(first, "+"))
		if !ok {
			continue // no such stream
		}
		if empty {
			mark.seq++
		}
		if b.below.less(mark) {
			b.below = mark
		}
		s := b.entries
		n := sort.Search(len(s), func(i int) bool { return !s[i].id.less(b.below) })
		if n == 0 {
			continue
		}
		b.entries = append([]outboxEntry(nil), s[n:]...)
	}
}

// len is the number of entries held.
func (o *outbox) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, b := range o.shards {
		n += len(b.entries)
	}
	return n
}

// staged returns the entries as staging members (see flushLua), and the
// watermarks as shard and padded id pairs. The entries stay in the outbox:
// they keep their ids in the new streams, and leave it once finished
// there.
func (o *outbox) staged() (members, marks []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for shard, b := range o.shards {
		if b.below != (streamID{}) {
			marks = append(marks, fmt.Sprintf("%0*d", shardDigits, shard), b.below.padded())
		}
		for _, e := range b.entries {
			var sb strings.Builder
			fmt.Fprintf(&sb, "%0*d%s", shardDigits, shard, e.id.padded())
			for _, f := range append([]string{e.raw}, e.fields...) {
				sb.WriteString(strconv.Itoa(len(f)))
				sb.WriteByte(':')
				sb.WriteString(f)
			}
			members = append(members, sb.String())
		}
	}
	return members, marks
}
