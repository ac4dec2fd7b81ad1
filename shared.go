package iimmpact

import (
	"errors"
	"strings"
	"sync"

	"github.com/iimmpact-go/iimmpact/internal/quota"
)

// Shared is what the clients of one process share, as a value to see and
// pass rather than state hidden in the package: the quota count of each API
// origin (IIMMPACT's limit is per egress IP, so two clients in one process
// must not each count it whole) and the vendor-drift alarm's memory (a
// reworded text warns once, not once a client). Connection pools are not
// shared: each Client owns its own.
//
// NewClient uses DefaultShared unless WithShared gives another: a test's own,
// so that tests do not share a count, or one per egress IP when a process
// sends through two. Across processes, use WithQuotaStore.
type Shared struct {
	origins quota.Table
	drift   driftMemory
}

// NewShared returns a Shared no client uses yet.
func NewShared() *Shared {
	return &Shared{drift: driftMemory{seen: map[string]bool{}, blockLike: map[string]bool{}}}
}

// DefaultShared is what the clients of the process share when they are not
// given WithShared.
var DefaultShared = NewShared()

// WithShared makes the client share s's quota counts and drift alarm with the
// other clients given s, instead of DefaultShared's.
func WithShared(s *Shared) Option {
	return func(o *options) error {
		if s == nil {
			return errors.New("iimmpact: WithShared: nil Shared")
		}
		o.shared = s
		return nil
	}
}

// maxUnrecognised bounds the texts the vendor-drift alarm remembers, for
// each of its two sets.
const maxUnrecognised = 256

// driftMemory is the texts the drift alarm has warned about, once each:
// those that could reword a blocking message apart, so that no number of
// other texts (billers that put reference numbers in messages) silences them.
type driftMemory struct {
	sync.Mutex
	seen, blockLike map[string]bool
}

// first reports whether text in field is met for the first time, and so
// warns. A text that could be a rewording of "Invalid account no" warns the
// first time whatever came before, and every time once its own set is full.
func (m *driftMemory) first(field, text string) bool {
	key := field + "\x00" + strings.ToLower(text)
	blockLike := resemblesBlock(text)
	m.Lock()
	defer m.Unlock()
	set := m.seen
	if blockLike {
		set = m.blockLike
	}
	warn := !set[key] && (blockLike || len(set) < maxUnrecognised)
	if warn && len(set) < maxUnrecognised {
		set[key] = true
	}
	return warn
}
