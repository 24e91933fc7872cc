package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	root := t.TempDir()
	t.Setenv("OMSBOOK_LAB_DIR", root)
	tests := []struct {
		name      string
		args      []string
		wantUsage bool
		wantErr   string // substring of a non-usage error
		wantOut   string // substring of stdout
	}{
		{name: "no command", args: nil, wantUsage: true},
		{name: "unknown command", args: []string{"frobnicate"}, wantUsage: true},
		{name: "bad flag", args: []string{"up", "--no-such-flag"}, wantUsage: true},
		{name: "bad regions", args: []string{"up", "--regions", "hangzhou=zero"}, wantUsage: true},
		{name: "stray argument", args: []string{"down", "extra"}, wantUsage: true},
		{name: "help", args: []string{"help"}, wantOut: "omslab up"},
		{name: "status of no lab", args: []string{"status", "--name", "nothere"}, wantErr: "no lab in"},
		{name: "down of no lab", args: []string{"down", "--name", "nothere"}, wantOut: "lab nothere is not up"},
		{name: "bad version", args: []string{"inventory", "--name", "inv", "--version", "4.2.3"}, wantErr: "start version"},
		{name: "bad profile", args: []string{"inventory", "--name", "inv", "--profile", "lenient"}, wantUsage: true},
		{name: "startup without strict", args: []string{"inventory", "--name", "inv", "--strict-startup", "5s"}, wantUsage: true},
		{name: "strict inventory", args: []string{"inventory", "--name", "invstrict", "--profile", "strict", "--strict-startup", "20s"},
			wantOut: filepath.Join(root, "invstrict", "inventory.yml")},
		{name: "inventory", args: []string{"inventory", "--name", "inv", "--first-ip", "127.0.0.41", "--regions", "beijing=2"},
			wantOut: filepath.Join(root, "inv", "inventory.yml")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			switch {
			case tc.wantUsage:
				if !errors.Is(err, errUsage) {
					t.Fatalf("run(%q) = %v, want a usage error", tc.args, err)
				}
			case tc.wantErr != "":
				if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("run(%q) = %v, want an error containing %q", tc.args, err, tc.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("run(%q): %v", tc.args, err)
				}
			}
			if !strings.Contains(stdout.String(), tc.wantOut) {
				t.Errorf("run(%q) printed %q, want it to contain %q", tc.args, stdout.String(), tc.wantOut)
			}
		})
	}
	strict, err := os.ReadFile(filepath.Join(root, "invstrict", "inventory.yml"))
	if err != nil || !strings.Contains(string(strict), `lab_profile: "strict"`) || !strings.Contains(string(strict), "lab_startup_seconds: 20") {
		t.Errorf("strict inventory (%v):\n%s", err, strict)
	}
	inv, err := os.ReadFile(filepath.Join(root, "inv", "inventory.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"oms-bj-1:", "oms-bj-2:", `address: "127.0.0.42"`, `rm_db: "inv_rm_422"`} {
		if !strings.Contains(string(inv), want) {
			t.Errorf("written inventory lacks %q:\n%s", want, inv)
		}
	}
}
