package builtin

import (
	"context"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/modules"
)

func TestCronEdit(t *testing.T) {
	tab := "MAILTO=ops\n# keep me\n#Ansible: a\n1 * * * * old\n"
	for _, tc := range []struct {
		name, line, want string
	}{
		{"a", "2 * * * * new", "MAILTO=ops\n# keep me\n#Ansible: a\n2 * * * * new\n"},
		{"b", "@daily b", tab + "#Ansible: b\n@daily b\n"},
		{"a", "", "MAILTO=ops\n# keep me\n"},
	} {
		if got := cronEdit(tab, tc.name, tc.line); got != tc.want {
			t.Errorf("cronEdit(%q, %q):\n%q\nwant\n%q", tc.name, tc.line, got, tc.want)
		}
	}
	if got := cronEdit("#Ansible: a\n1 * * * * x\n", "a", ""); got != "" {
		t.Errorf("removing the only entry left %q", got)
	}
	args := coerceArgs(t, Cron{}, map[string]any{"name": "n", "job": "j", "special_time": "weekly", "disabled": true})
	if got := cronJobLine(args); got != "#@weekly j" {
		t.Errorf("job line %q", got)
	}
	d := cronData("A=1\n#Ansible: x\n* * * * * y\n")
	if len(d["jobs"].([]any)) != 1 || len(d["envs"].([]any)) != 1 {
		t.Errorf("cronData %v", d)
	}
}

func TestAuthorizedKeysEdit(t *testing.T) {
	k1, _ := parseKeyLine(testKey1)
	opt := k1
	opt.options = `from="10.0.0.1 x",no-pty`
	if got, ok := parseKeyLine(opt.line()); !ok || got != opt {
		t.Fatalf("parse %q = %+v, %v", opt.line(), got, ok)
	}
	file := "# comment\n" + testKey2 + "\n" + testKey1 + "\n"
	if got := editAuthorizedKeys(file, []authKey{k1}, true, false); got != file {
		t.Errorf("present key rewrote the file:\n%s", got)
	}
	if got := editAuthorizedKeys(file, []authKey{opt}, true, false); got != "# comment\n"+testKey2+"\n"+opt.line()+"\n" {
		t.Errorf("new options:\n%s", got)
	}
	if got := editAuthorizedKeys(file, []authKey{k1}, true, true); got != "# comment\n"+testKey1+"\n" {
		t.Errorf("exclusive:\n%s", got)
	}
	if got := editAuthorizedKeys(file, []authKey{k1}, false, false); got != "# comment\n"+testKey2+"\n" {
		t.Errorf("absent:\n%s", got)
	}
	if _, err := parseKeyLines("not a key"); err == nil {
		t.Error("a line without a key was accepted")
	}
}

func TestSysctlEdit(t *testing.T) {
	file := "# tuning\nvm.swappiness = 10\nkernel.msgmax=1\n"
	if got := editSysctl(file, "vm.swappiness", "5", true); got != "# tuning\nvm.swappiness=5\nkernel.msgmax=1\n" {
		t.Errorf("replace: %q", got)
	}
	if got := editSysctl(file, "net.core.somaxconn", "1024", true); got != file+"net.core.somaxconn=1024\n" {
		t.Errorf("append: %q", got)
	}
	if got := editSysctl(file, "kernel.msgmax", "", false); got != "# tuning\nvm.swappiness = 10\n" {
		t.Errorf("remove: %q", got)
	}
	if v, ok := fileSysctlValue("a.b =  4096\t87380 \n", "a.b"); !ok || v != "4096 87380" {
		t.Errorf("value %q %v", v, ok)
	}
}

// TestSystemModuleArguments holds the argument rules that validate checks before any
// connection, and the messages of the RPM modules where no RPM system is (the controller:
// omsbook's test machines are Debian).
func TestSystemModuleArguments(t *testing.T) {
	for _, tc := range []struct {
		m    modules.Module
		args map[string]any
		want string
	}{
		{Service{}, map[string]any{"state": "started"}, "missing required argument \"name\""},
		{Systemd{}, map[string]any{"state": "started"}, "name is required"},
		{Systemd{}, map[string]any{"state": "bogus", "name": "x"}, "must be one of"},
		{Apt{}, map[string]any{"state": "present"}, "give name, deb"},
		{Apt{}, map[string]any{"deb": "/x.deb", "state": "absent"}, "deb installs"},
		{Dnf{}, map[string]any{"name": []any{}}, "name is empty"},
		{Yum{}, map[string]any{"name": "x", "state": "latestt"}, "must be one of"},
		{Package{}, map[string]any{"name": "x", "use": "zypper"}, "must be one of"},
		{User{}, map[string]any{"name": "u", "password": "hunter2"}, "crypt(3) hash"},
		{Cron{}, map[string]any{"name": "c"}, "job is required"},
		{Cron{}, map[string]any{"name": "c", "job": "j", "special_time": "daily", "hour": "2"}, "not both"},
		{AuthorizedKey{}, map[string]any{"user": "u", "key": "nonsense"}, "invalid key"},
		{Sysctl{}, map[string]any{"name": "vm.swappiness"}, "value is required"},
		{Hostname{}, map[string]any{"name": "a b"}, "host name"},
	} {
		args, err := tc.m.Spec().Coerce(tc.args, nil)
		if err == nil {
			if v, ok := tc.m.(modules.Validator); ok {
				err = v.Validate(args)
			}
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: error %v, want one containing %q", tc.m.Name(), tc.args, err, tc.want)
		}
	}
	// Secret: the user's password is declared secret, so the runner masks it everywhere.
	if a, _ := (User{}).Spec().Arg("password"); !a.Secret {
		t.Error("user's password is not declared secret")
	}
	h := newGenHost(t, nil)
	for _, m := range []modules.Module{Dnf{}, Yum{}} {
		args := coerceArgs(t, m, map[string]any{"name": "bash"})
		res, err := m.Check(context.Background(), h.Host, args)
		if err != nil {
			t.Fatal(err)
		}
		if hasRPM(h) {
			t.Skip("this machine has an RPM package manager")
		}
		if !res.Failed || !strings.Contains(res.Msg, "not installed on this host") {
			t.Errorf("%s on a host without it: %+v", m.Name(), res)
		}
	}
}

func hasRPM(h *genHost) bool {
	r, err := sysSh(context.Background(), h.Host, "command -v dnf || command -v yum", "")
	return err == nil && r.RC == 0
}
