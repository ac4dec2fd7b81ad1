// Package redisquota counts IIMMPACT requests in Redis, so that every process
// behind one egress IP shares one quota (IIMMPACT allows 30,000 requests per 5
// minutes per IP, then blocks the IP for 240 minutes):
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	client, err := iimmpact.NewClientFromEnv(
//		iimmpact.WithQuotaStore(redisquota.New(rdb), "iimmpact:quota:egress-a"))
//
// Use one key per egress IP. When Redis is down or slow, the client counts
// in-process at a fallback share of the quota and keeps serving.
package redisquota

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iimmpact-go/iimmpact"
)

// Store is an iimmpact.QuotaStore on Redis. Each Reserve is one round trip: a
// Lua script that counts and books the request atomically, by the Redis
// server's clock (so the pods' clocks do not matter). For a key K it keeps two
// sorted sets that expire on their own: {K}:live, the requests booked and not
// yet answered, scored by when each is sent; and {K}:done, the answered ones,
// scored by when each was answered and kept a window, since the API counts a
// request when it arrives, which may be well after its booking.
//
// A request that must wait (iimmpact.WithQuotaWait) is booked at the moment a
// slot frees and its caller sleeps until then, so Redis sees one reservation
// a request (and one release when it is answered), not waiters polling it.
type Store struct {
	rdb redis.UniversalClient
}

var _ iimmpact.QuotaStore = (*Store)(nil)

// New returns a Store that keeps its counts in rdb.
func New(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// keys are the two sorted sets of key, with one hash tag so that a Redis
// Cluster keeps them together.
func keys(key string) []string { return []string{"{" + key + "}:live", "{" + key + "}:done"} }

// holdMs bounds how long a booking may stay unanswered (the client's attempt
// timeout is 35 s by default): a caller that died with its request in flight
// frees the slot after it.
const holdMs = 60_000

// reserve is KEYS the live and done sets; ARGV the limit, the window and the
// longest wait in microseconds, the request's unique member, and holdMs.
// Every request in flight holds a slot until at least a window from now; an
// answered one until a window after its answer. So the earliest a request
// fits is now, or a window after the answer that holds the slot it needs;
// when requests in flight hold it, no time can be named yet. It answers
// {1, wait} when booked, or {0, wait} when not: the slot is further than the
// longest wait, or (for requests in flight) wait is when to ask again.
var reserve = redis.NewScript(`
local live, done = KEYS[1], KEYS[2]
local limit, window, maxwait, member, holdMs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', done, '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', live, '-inf', now - holdMs * 1000)
local nd, nl = redis.call('ZCARD', done), redis.call('ZCARD', live)
local excess = nd + nl - limit
local at = now
if excess >= nd then
  return {0, window}
elseif excess >= 0 then
  local frees = redis.call('ZRANGE', done, excess, excess, 'WITHSCORES')
  at = math.max(now, tonumber(frees[2]) + window)
  if at - now > maxwait then
    return {0, at - now}
  end
end
redis.call('ZADD', live, at, member)
local ttl = math.ceil((at - now + window) / 1000) + holdMs
redis.call('PEXPIRE', live, ttl)
redis.call('PEXPIRE', done, ttl)
return {1, at - now}
`)

// release is KEYS the live and done sets; ARGV the member, whether its
// request was sent ("1"), and the window in microseconds. A sent request
// moves to done, scored by now; one never sent is dropped.
var release = redis.NewScript(`
local live, done = KEYS[1], KEYS[2]
if redis.call('ZREM', live, ARGV[1]) == 1 and ARGV[2] == '1' then
  local t = redis.call('TIME')
  redis.call('ZADD', done, tonumber(t[1]) * 1000000 + tonumber(t[2]), ARGV[1])
  if redis.call('PTTL', done) < math.ceil(tonumber(ARGV[3]) / 1000) then
    redis.call('PEXPIRE', done, math.ceil(tonumber(ARGV[3]) / 1000))
  end
end
return 1
`)

// Reserve implements iimmpact.QuotaStore.
func (s *Store) Reserve(ctx context.Context, key string, limit int, window, maxWait time.Duration, member string) (bool, time.Duration, error) {
	res, err := reserve.Run(ctx, s.rdb, keys(key), limit, window.Microseconds(), maxWait.Microseconds(), member, holdMs).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("redisquota: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("redisquota: the script answered %d values, want 2", len(res))
	}
	wait := time.Duration(res[1]) * time.Microsecond
	if res[0] == 1 {
		return true, wait, nil
	}
	return false, max(wait, time.Millisecond), nil
}

// Release implements iimmpact.QuotaStore: a sent request stays in the done
// set, and the set alive, for window.
func (s *Store) Release(ctx context.Context, key, member string, sent bool, window time.Duration) error {
	flag := "0"
	if sent {
		flag = "1"
	}
	if err := release.Run(ctx, s.rdb, keys(key), member, flag, window.Microseconds()).Err(); err != nil {
		return fmt.Errorf("redisquota: %w", err)
	}
	return nil
}
