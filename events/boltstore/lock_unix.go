//go:build unix

package boltstore

import (
	"errors"
	"os"
	"syscall"
)

// lockShared takes the shared lock a read-only bbolt open takes, without
// waiting: a file a writer holds (exclusively) is ErrInUse, so CheckFile
// never reads pages a writer is changing under it.
func lockShared(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrInUse
	}
	return err
}
