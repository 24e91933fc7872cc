// Package omssim is the OMS Community Edition simulator the lab runs in its Docker images. It
// behaves as section "Facts" of shared/reference/oms-upgrade-procedure.md describes the real
// product: it reads /home/admin/conf/config.yaml, keeps its state in the MetaDB (rm, cm and one
// heartbeat database per region) and in its mounts, serves GET /oms/health on OMS_HOST_IP:8089,
// marks itself ONLINE and writes heartbeats, and implements the guide's docker_init.sh and the
// V4.1.0 path's upgrade and rollback scripts, with the guide's messages. Faults can be switched
// on per node (see faults.go). lab/README.md documents the schema and the behaviour.
package omssim

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"go.yaml.in/yaml/v3"
)

// Config is the OMS config.yaml (the keys the simulator uses; others are ignored).
type Config struct {
	MetaHost     string   `yaml:"oms_meta_host"`
	MetaPort     int      `yaml:"oms_meta_port"`
	MetaUser     string   `yaml:"oms_meta_user"`
	MetaPassword string   `yaml:"oms_meta_password"`
	RMDB         string   `yaml:"drc_rm_db"`
	CMDB         string   `yaml:"drc_cm_db"`
	HeartbeatDB  string   `yaml:"drc_cm_heartbeat_db"`
	CMURL        string   `yaml:"cm_url"`
	CMLocation   int      `yaml:"cm_location"`
	CMRegion     string   `yaml:"cm_region"`
	CMIsDefault  bool     `yaml:"cm_is_default"`
	CMNodes      []string `yaml:"cm_nodes"`
}

// LoadConfig reads and checks a config.yaml.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config %s (mount it with -v <config.yaml>:/home/admin/conf/config.yaml): %w", path, err)
	}
	return ParseConfig(b)
}

// ParseConfig decodes and checks config.yaml content.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse config.yaml: %w", err)
	}
	var missing []string
	for _, k := range []struct {
		name string
		ok   bool
	}{
		{"oms_meta_host", c.MetaHost != ""}, {"oms_meta_port", c.MetaPort != 0},
		{"oms_meta_user", c.MetaUser != ""}, {"drc_rm_db", c.RMDB != ""},
		{"drc_cm_db", c.CMDB != ""}, {"drc_cm_heartbeat_db", c.HeartbeatDB != ""},
		{"cm_region", c.CMRegion != ""},
	} {
		if !k.ok {
			missing = append(missing, k.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("config.yaml lacks %s", strings.Join(missing, ", "))
	}
	for _, db := range []string{c.RMDB, c.CMDB, c.HeartbeatDB} {
		if !validName(db) {
			return nil, fmt.Errorf("config.yaml: database name %q: use letters, digits and _ only", db)
		}
	}
	if c.CMLocation < 0 || c.CMLocation > 127 {
		return nil, fmt.Errorf("config.yaml: cm_location %d is out of range 0-127", c.CMLocation)
	}
	return &c, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// configID identifies the config file a node mounts: its content hash plus the identity of the
// host file (device and inode survive a bind mount). Nodes sharing one file get the same ID;
// a node with its own file gets its own, even when the content is a copy.
func configID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read config %s: %w", path, err)
	}
	sum := sha256.Sum256(b)
	id := hex.EncodeToString(sum[:8])
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("stat config %s: %w", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", errors.New("config identity: no inode information on this system")
	}
	return fmt.Sprintf("%s@%x:%x", id, st.Dev, st.Ino), nil
}
