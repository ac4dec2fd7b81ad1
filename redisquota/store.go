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
// Lua script that counts and records the request atomically, by the Redis
// server's clock (so the pods' clocks do not matter), in a sorted set holding
// only the requests in the window and expiring with it.
type Store struct {
	rdb redis.UniversalClient
}

var _ iimmpact.QuotaStore = (*Store)(nil)

// New returns a Store that keeps its counts in rdb.
func New(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// reserve is KEYS[1] the counter; ARGV the limit, the window in microseconds
// and the request's unique member. It answers {1, 0} when the request fits,
// or {0, microseconds until a slot frees}.
var reserve = redis.NewScript(`
local key, limit, window = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, math.ceil(window / 1000))
  return {1, 0}
end
local frees = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return {0, tonumber(frees[2]) + window - now}
`)

// Reserve implements iimmpact.QuotaStore.
func (s *Store) Reserve(ctx context.Context, key string, limit int, window time.Duration, member string) (bool, time.Duration, error) {
	res, err := reserve.Run(ctx, s.rdb, []string{key}, limit, window.Microseconds(), member).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("redisquota: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("redisquota: the script answered %d values, want 2", len(res))
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, max(time.Duration(res[1])*time.Microsecond, time.Millisecond), nil
}
