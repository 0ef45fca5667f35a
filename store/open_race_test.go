package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sitrep-io/sitrep/store"
)

// TestOpenNewFileConcurrently opens one brand-new file from several handles
// at once, as a server and a CLI command starting together do: SQLite does
// not wait out busy_timeout while a new file switches to WAL, so Open must
// retry rather than fail with SQLITE_BUSY.
func TestOpenNewFileConcurrently(t *testing.T) {
	dir := t.TempDir()
	for round := range 15 {
		path := filepath.Join(dir, fmt.Sprintf("round-%d.db", round))
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for range 6 {
			wg.Go(func() {
				db, err := store.Open(context.Background(), path)
				if err != nil {
					errs <- err
					return
				}
				errs <- db.Close()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}
