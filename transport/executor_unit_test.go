package transport

import (
	"strings"
	"testing"
)

func TestUnameArch(t *testing.T) {
	for in, want := range map[string]string{"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "riscv64": "riscv64", "sparc64": "sparc64"} {
		if got := unameArch(in); got != want {
			t.Errorf("unameArch(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExecutorSettingValues(t *testing.T) {
	t.Setenv(ExecutorEnv, "")
	tests := []struct{ spec, env, want string }{
		{"", "", DefaultExecutor},
		{"on", "", ExecutorOn},
		{"false", "on", ExecutorOff},
		{"", "yes", ExecutorOn},
		{"", "off", ExecutorOff},
		{"maybe", "", DefaultExecutor},
	}
	for _, tt := range tests {
		t.Setenv(ExecutorEnv, tt.env)
		if got := ExecutorSetting(Spec{Executor: tt.spec}); got != tt.want {
			t.Errorf("spec %q env %q: %q, want %q", tt.spec, tt.env, got, tt.want)
		}
	}
}

func TestLaunchLineQuotesTheCacheDir(t *testing.T) {
	line := launchLine("~/my cache", "abc")
	if !strings.HasPrefix(line, `f="$HOME"/'my cache'/executor-abc;`) {
		t.Errorf("launch line %q", line)
	}
	if line := launchLine("/srv/x;rm -rf /", "abc"); !strings.HasPrefix(line, `f='/srv/x;rm -rf /'/executor-abc;`) {
		t.Errorf("launch line %q", line)
	}
	if sftpPath("~/.cache/omsbook") != ".cache/omsbook" || sftpPath("/abs") != "/abs" {
		t.Error("sftp paths")
	}
}
