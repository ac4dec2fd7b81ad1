package quota

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestLineHandsTheTurnOnInJoiningOrder(t *testing.T) {
	var l line
	a, b, c := l.join(), l.join(), l.join()
	assert.True(t, isClosed(a), "the first to join has the turn at once")
	assert.False(t, isClosed(b))
	l.leave(b) // gives up before its turn: nobody else moves
	assert.False(t, isClosed(c))
	assert.Equal(t, 2, l.len())
	l.leave(a)
	assert.True(t, isClosed(c), "the turn skips the one that left")
	l.leave(c)
	l.leave(c) // twice is harmless
	assert.Zero(t, l.len())
	assert.True(t, isClosed(l.join()), "an empty line lets the next in at once")
}
