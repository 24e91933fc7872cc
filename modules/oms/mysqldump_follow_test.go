package oms

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFollowHash: a file hashed while another writer appends to it, then renamed into place
// as the dump shell does, gives the hash and size of the whole file.
func TestFollowHash(t *testing.T) {
	dir := t.TempDir()
	partial := filepath.Join(dir, "db.sql.partial")
	fh := startFollowHash(context.Background(), partial, nil)
	time.Sleep(20 * time.Millisecond) // the follower waits for the file to appear
	f, err := os.Create(partial)
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for i := 0; i < 50; i++ {
		chunk := bytes.Repeat([]byte{byte('a' + i%26)}, 64<<10+i)
		all.Write(chunk)
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	f.Close()
	if err := os.Rename(partial, filepath.Join(dir, "db.sql")); err != nil {
		t.Fatal(err)
	}
	st := fh.finish()
	want := sha256.Sum256(all.Bytes())
	if !st.exists || st.size != int64(all.Len()) || st.sha256 != hex.EncodeToString(want[:]) {
		t.Fatalf("followed %+v, want size %d sha256 %x", st, all.Len(), want)
	}
}

// TestFollowHashNeverCreated: a writer that fails before creating the file leaves nothing
// followed, and the caller measures the file itself.
func TestFollowHashNeverCreated(t *testing.T) {
	fh := startFollowHash(context.Background(), filepath.Join(t.TempDir(), "never.partial"), nil)
	time.Sleep(15 * time.Millisecond)
	if st := fh.finish(); st.exists {
		t.Fatalf("followed a file that never existed: %+v", st)
	}
}
