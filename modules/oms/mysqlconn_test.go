package oms

import (
	"strings"
	"testing"
)

func TestResolveMySQL(t *testing.T) {
	m := MySQLExec{}
	tests := []struct {
		name     string
		raw      map[string]any
		want     string // user@addr/db
		password string
		err      string
	}{
		{"metadb map", map[string]any{"metadb": map[string]any{"host": "10.0.0.5", "port": "3307", "user": "root", "password": "pw-one"}}, "root@10.0.0.5:3307/rm", "pw-one", ""},
		{"single args override the map", map[string]any{"metadb": map[string]any{"host": "10.0.0.5", "user": "root", "password": "pw-one"}, "host": "127.0.0.1", "password": "pw-two"}, "root@127.0.0.1:3306/rm", "pw-two", ""},
		{"dsn", map[string]any{"dsn": "oms:pw-three@tcp(db.local:3310)/cm"}, "oms@db.local:3310/rm", "pw-three", ""},
		{"no host", map[string]any{"user": "root"}, "", "", "no MetaDB host"},
		{"no user", map[string]any{"host": "h"}, "", "", "no MetaDB user"},
		{"bad port", map[string]any{"metadb": map[string]any{"host": "h", "user": "u", "port": "x"}}, "", "", "metadb.port"},
		{"bad dsn", map[string]any{"dsn": "::not a dsn"}, "", "", "dsn: cannot parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oh := newTestHost(t)
			got, err := resolveMySQL(oh.Host, coerceArgs(t, m, tt.raw), "rm")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if err != nil && strings.Contains(err.Error(), "pw-") {
					t.Fatalf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := got.User + "@" + got.addr() + "/" + got.cfg.DBName; s != tt.want || got.Password != tt.password {
				t.Fatalf("got %s (password %q), want %s (%q)", s, got.Password, tt.want, tt.password)
			}
			if oh.Mask(tt.password) != "********" {
				t.Fatalf("password not registered as a secret")
			}
		})
	}
}
