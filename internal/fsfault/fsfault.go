// Package fsfault gives tests real storage failures: a small tmpfs that a
// test fills up (ENOSPC), a file made read-only even for root (a read-only
// bind mount), and bytes of a file overwritten in place (a corrupt page;
// TablePage finds a table's). Mounting needs root with CAP_SYS_ADMIN (a
// container may forbid it); without it the test is skipped with a message,
// unless SITREP_TEST_MOUNT=require makes it fail.
package fsfault

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	_ "modernc.org/sqlite" // the "sqlite" driver, for TablePage
)

// Tmpfs mounts a tmpfs of the given size ("2m") on a fresh directory and
// returns it; it is unmounted when the test ends.
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		msg := fmt.Sprintf("cannot mount a tmpfs (%v): this test needs root with CAP_SYS_ADMIN to make a real full or read-only filesystem", err)
		if os.Getenv("SITREP_TEST_MOUNT") == "require" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			_ = syscall.Unmount(dir, syscall.MNT_DETACH) // a file still open: detach, freed when closed
		}
	})
	return dir
}

// Fill writes a file on the filesystem of dir until it is full, and
// returns a function that deletes it (frees the space).
func Fill(t testing.TB, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("fill %s: %v", dir, err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				f.Close()
				t.Fatalf("fill %s: %v", dir, err)
			}
			break
		}
	}
	_ = f.Close()
	return func() {
		if err := os.Remove(path); err != nil {
			t.Errorf("free %s: %v", dir, err)
		}
	}
}

// Overwrite writes garbage over n bytes of the file at path from offset,
// and returns a function that puts the original bytes back.
func Overwrite(t testing.TB, path string, offset int64, n int) (restore func()) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("corrupt %s: %v", path, err)
	}
	defer f.Close()
	orig := make([]byte, n)
	if _, err := f.ReadAt(orig, offset); err != nil {
		t.Fatalf("corrupt %s: read %d bytes at %d: %v", path, n, offset, err)
	}
	garbage := make([]byte, n)
	for i := range garbage {
		garbage[i] = byte(0xA5 ^ i)
	}
	if _, err := f.WriteAt(garbage, offset); err != nil {
		t.Fatalf("corrupt %s: %v", path, err)
	}
	return func() {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatalf("restore %s: %v", path, err)
		}
		defer f.Close()
		if _, err := f.WriteAt(orig, offset); err != nil {
			t.Fatalf("restore %s: %v", path, err)
		}
	}
}

// ReadOnlyFile makes the file at path read-only for every process, root
// included (a read-only bind mount of the file on itself), while its
// directory stays writable, and returns a function that makes it writable
// again. A process that already has the file open for writing keeps
// writing: make it read-only before the process opens it.
func ReadOnlyFile(t testing.TB, path string) (writable func()) {
	t.Helper()
	if err := syscall.Mount(path, path, "", syscall.MS_BIND, ""); err != nil {
		msg := fmt.Sprintf("cannot bind-mount %s (%v): this test needs root with CAP_SYS_ADMIN to make a file read-only for root", path, err)
		if os.Getenv("SITREP_TEST_MOUNT") == "require" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	mounted := true
	unmount := func() {
		if !mounted {
			return
		}
		mounted = false
		if err := syscall.Unmount(path, 0); err != nil {
			_ = syscall.Unmount(path, syscall.MNT_DETACH)
		}
	}
	t.Cleanup(unmount)
	if err := syscall.Mount("", path, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("make %s read-only: %v", path, err)
	}
	return unmount
}

// TablePage returns the byte offset of the root page of table in the
// SQLite database file at path (closed, checkpointed), for Overwrite.
func TablePage(t testing.TB, path, table string) int64 {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var root, size int64
	if err := raw.QueryRow(`SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&root); err != nil {
		t.Fatalf("root page of %s in %s: %v", table, path, err)
	}
	if err := raw.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	return (root - 1) * size
}
