package omssim

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StoreMarkerName is the file the simulator writes in the store mount on a node's first start:
// its presence proves that a container's store mount holds the old deployment's data.
const StoreMarkerName = "omssim-store.json"

// StoreMarker is the content of the store marker.
type StoreMarker struct {
	NodeIP         string    `json:"node_ip"`
	CreatedVersion string    `json:"created_version"`
	CreatedAt      time.Time `json:"created_at"`
}

// readStoreMarker reads the marker; a missing marker gives an error satisfying
// errors.Is(err, fs.ErrNotExist).
func readStoreMarker(storeDir string) (*StoreMarker, error) {
	b, err := os.ReadFile(filepath.Join(storeDir, StoreMarkerName))
	if err != nil {
		return nil, err
	}
	var m StoreMarker
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("store marker %s: %w", StoreMarkerName, err)
	}
	return &m, nil
}

// createStoreData writes the store marker and the data files a first start leaves behind (a
// Store segment and an Incr-Sync checkpoint), so that wrong binds are visible to docker_init.sh
// and to tests. Existing files are kept.
func createStoreData(e *Env) error {
	if err := os.MkdirAll(filepath.Join(e.StoreDir, "data"), 0o755); err != nil {
		return fmt.Errorf("store mount %s: %w", e.StoreDir, err)
	}
	seg := filepath.Join(e.StoreDir, "data", "store-000001.dat")
	if _, err := os.Stat(seg); errors.Is(err, fs.ErrNotExist) {
		// Deterministic content: a chain of hashes of the node IP, 64 KiB.
		buf := make([]byte, 0, 64<<10)
		sum := sha256.Sum256([]byte(e.HostIP))
		for len(buf) < cap(buf) {
			buf = append(buf, sum[:]...)
			sum = sha256.Sum256(sum[:])
		}
		if err := os.WriteFile(seg, buf, 0o644); err != nil {
			return fmt.Errorf("store mount: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(e.RunDir, "incr-sync"), 0o755); err != nil {
		return fmt.Errorf("run mount %s: %w", e.RunDir, err)
	}
	cp := filepath.Join(e.RunDir, "incr-sync", "checkpoint.json")
	if _, err := os.Stat(cp); errors.Is(err, fs.ErrNotExist) {
		b, _ := json.Marshal(map[string]any{"node_ip": e.HostIP, "checkpoint": time.Now().Unix()})
		if err := os.WriteFile(cp, b, 0o644); err != nil {
			return fmt.Errorf("run mount: %w", err)
		}
	}
	marker := filepath.Join(e.StoreDir, StoreMarkerName)
	if _, err := os.Stat(marker); errors.Is(err, fs.ErrNotExist) {
		b, _ := json.MarshalIndent(StoreMarker{NodeIP: e.HostIP, CreatedVersion: e.Version, CreatedAt: time.Now().UTC().Truncate(time.Second)}, "", "  ")
		tmp := marker + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return fmt.Errorf("store mount: %w", err)
		}
		if err := os.Rename(tmp, marker); err != nil {
			return fmt.Errorf("store mount: %w", err)
		}
	}
	return nil
}

// checkStore fails unless the store mount holds the data of this node's earlier deployment.
func checkStore(e *Env) error {
	m, err := readStoreMarker(e.StoreDir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the store mount %s holds no data of the previous deployment (no %s): the new container must use the old container's binds (docker inspect <old container> -> Binds)", e.StoreDir, StoreMarkerName)
	}
	if err != nil {
		return err
	}
	if m.NodeIP != e.HostIP {
		return fmt.Errorf("the store mount %s holds the data of node %s, not of this node %s: the new container must use this node's old binds", e.StoreDir, m.NodeIP, e.HostIP)
	}
	return nil
}
