package iimmpact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A dial that times out is reported as the documented deadline_exceeded.
func TestErrorKindOfADialTimeout(t *testing.T) {
	err := &urlErrorTimeout{}
	assert.Equal(t, ErrorKindDeadlineExceeded, errorKind(err))
	assert.Equal(t, ErrorTypeTimeout, errorType(err))
}

type urlErrorTimeout struct{}

func (*urlErrorTimeout) Error() string { return "dial tcp 10.0.0.1:443: i/o timeout" }

func (*urlErrorTimeout) Timeout() bool { return true }
