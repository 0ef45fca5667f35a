package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrInUse reports that another process serves from the same database file.
var ErrInUse = errors.New("database file in use by another sitrep serve")

// ServerLock is the lock `sitrep serve` holds on its SQLite file for as long
// as it runs. At start a server takes over what a dead predecessor left
// (runs marked interrupted, in-flight deliveries retried); a second live
// server on the same file would take over what the first is still doing, so
// it must not start. The CLI's read and one-off commands do not take it.
//
// It is an flock(2) on the database file itself, so it follows the file
// through links and other spellings of its path, is released by the kernel
// when the process dies (kill -9 included), and does not interfere with
// SQLite's own POSIX record locks.
type ServerLock struct{ f *os.File }

// LockServer takes the server lock on the database file at path, creating
// the file if it does not exist. It fails at once with ErrInUse when
// another process holds it.
func LockServer(path string) (*ServerLock, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("lock database %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission) {
		// A read-only file is locked all the same (flock needs no write
		// access): the server serves reads from it, answers writes 503,
		// and recovers once the file is writable (README, "When storage
		// fails").
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("lock database %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is served by another running process; stop it first (with SQLite only one `sitrep serve` may run; several replicas need PostgreSQL)", ErrInUse, path)
		}
		return nil, fmt.Errorf("lock database %s: %w", path, err)
	}
	return &ServerLock{f: f}, nil
}

// Release gives the lock up.
func (l *ServerLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}
