//go:build unix

package jobfile

import (
	"errors"
	"os"
	"syscall"
)

// lock takes f's exclusive advisory lock without waiting: held until the file
// is closed or the process ends.
func lock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrInUse
	}
	return err
}
