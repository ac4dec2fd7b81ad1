package quota

import (
	"slices"
	"sync"
)

// line lets waiting calls through one at a time, in the order they joined.
// The order is fixed when a call joins, under a lock, so it does not depend on
// which goroutine the scheduler runs first. The zero line is empty.
type line struct {
	mu     sync.Mutex
	places []chan struct{} // places[0] holds the turn; its channel is closed
}

// join puts a call at the end of the line. Its place is closed when its turn
// comes: at once when the line was empty.
func (l *line) join() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	place := make(chan struct{})
	if len(l.places) == 0 {
		close(place)
	}
	l.places = append(l.places, place)
	return place
}

// leave takes place out of the line, whether or not its turn came, and hands
// the turn on when it held it.
func (l *line) leave(place chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.Index(l.places, place)
	if i < 0 {
		return
	}
	l.places = slices.Delete(l.places, i, i+1)
	if i == 0 && len(l.places) > 0 {
		close(l.places[0])
	}
}

// len says how many calls are in the line, the one whose turn it is included.
func (l *line) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.places)
}
