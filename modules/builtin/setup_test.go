package builtin

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/internal/testutil"
)

func TestParseFacts(t *testing.T) {
	out := strings.Join([]string{
		"hostname\tweb1.example.com", "fqdn\tweb1.example.com", "uname\tweb1\t6.1.0-18-amd64\tx86_64",
		"osr\tID=rocky", `osr	ID_LIKE="rhel centos fedora"`, `osr	VERSION_ID="9.3"`, "osr\tVERSION_CODENAME=",
		"nproc\t4", "mem\tMemTotal:        8012345 kB", "user\tdeploy", "pid1\tsystemd", "pkg\tdnf",
		"route\teth0\t0102A8C0", "addr\tlo\t127.0.0.1/8", "addr\teth0\t192.168.2.10/24", "addr\teth1\t10.0.0.5/16",
		"df\t/\t1000\t400", "mount\t/dev/vda1\t/\text4\trw,relatime", "mount\tproc\t/proc\tproc\trw",
		"mount\toverlay\t/var/lib/docker/x\toverlay\trw", "mount\tnas:/export\t/mnt/nas\tnfs4\trw",
		"date\t2026-12-01 18:03:12 +0800 CST 1796119392 Tuesday 335 48", "env\tHOME\t/home/deploy", "env\tX\ta=b",
	}, "\n")
	f := parseFacts(out, factSubset{network: true, hardware: true})
	want := map[string]any{
		"ansible_hostname": "web1", "ansible_fqdn": "web1.example.com", "ansible_nodename": "web1",
		"ansible_kernel": "6.1.0-18-amd64", "ansible_architecture": "x86_64", "ansible_distribution": "Rocky",
		"ansible_os_family": "RedHat", "ansible_distribution_version": "9.3", "ansible_distribution_major_version": "9",
		"ansible_processor_vcpus": 4, "ansible_memtotal_mb": int64(7824), "ansible_user_id": "deploy",
		"ansible_service_mgr": "systemd", "ansible_pkg_mgr": "dnf",
		"ansible_default_ipv4":       map[string]any{"interface": "eth0", "gateway": "192.168.2.1", "address": "192.168.2.10"},
		"ansible_all_ipv4_addresses": []any{"192.168.2.10", "10.0.0.5"},
		"ansible_env":                map[string]any{"HOME": "/home/deploy", "X": "a=b"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(f[k], v) {
			t.Errorf("%s = %#v, want %#v", k, f[k], v)
		}
	}
	var mounts []string
	for _, m := range f["ansible_mounts"].([]any) {
		mounts = append(mounts, m.(map[string]any)["mount"].(string))
	}
	if !reflect.DeepEqual(mounts, []string{"/", "/mnt/nas"}) {
		t.Errorf("mounts %v, want / and the network mount", mounts)
	}
	if dt := f["ansible_date_time"].(map[string]any); dt["iso8601"] != "2026-12-01T10:03:12Z" || dt["tz"] != "CST" {
		t.Errorf("date_time %v", dt)
	}
	min := parseFacts(out, factSubset{})
	if _, ok := min["ansible_mounts"]; ok {
		t.Error("min gathered the hardware facts")
	}
}

// TestSetupMatchesAnsible gathers this machine's facts with setup (over the local transport:
// it only reads) and with Ansible's own setup module, and wants the facts setup documents to
// agree.
func TestSetupMatchesAnsible(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ansible")
	}
	if _, err := exec.LookPath("ansible"); err != nil {
		testutil.SkipOrFail(t, "ansible is not installed (Debian's ansible-core; lab/deps.sh installs it): %v", err)
	}
	cmd := exec.Command("ansible", "localhost", "-c", "local", "-m", "setup")
	cmd.Env = append(os.Environ(), "ANSIBLE_LOCALHOST_WARNING=false", "ANSIBLE_NOCOLOR=1")
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible setup: %v\n%s", err, raw)
	}
	_, body, _ := strings.Cut(string(raw), "=>")
	var ans struct {
		Facts map[string]any `json:"ansible_facts"`
	}
	if err := json.Unmarshal([]byte(body), &ans); err != nil {
		t.Fatalf("read ansible's facts: %v\n%s", err, raw)
	}
	h := newGenHost(t, nil)
	res, err := Setup{}.Apply(context.Background(), h.Host, map[string]any{})
	if err != nil || res.Failed {
		t.Fatalf("setup: %v %s", err, res.Msg)
	}
	ours := res.Facts
	// ansible_fqdn is left out: Ansible asks the resolver (socket.getfqdn), setup asks
	// hostname -f, and the two differ where /etc/hosts says little.
	for _, k := range []string{"ansible_hostname", "ansible_nodename", "ansible_os_family", "ansible_distribution",
		"ansible_distribution_version", "ansible_distribution_major_version", "ansible_distribution_release",
		"ansible_architecture", "ansible_kernel", "ansible_machine", "ansible_processor_vcpus", "ansible_memtotal_mb",
		"ansible_user_id", "ansible_service_mgr", "ansible_pkg_mgr"} {
		if g, w := jsonOf(t, ours[k]), jsonOf(t, ans.Facts[k]); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: setup %v, ansible %v", k, g, w)
		}
	}
	od, ad := ours["ansible_default_ipv4"].(map[string]any), ans.Facts["ansible_default_ipv4"].(map[string]any)
	for _, k := range []string{"address", "interface", "gateway"} {
		if od[k] != ad[k] {
			t.Errorf("ansible_default_ipv4.%s: setup %v, ansible %v", k, od[k], ad[k])
		}
	}
	if g, w := sortedStrings(ours["ansible_all_ipv4_addresses"]), sortedStrings(ans.Facts["ansible_all_ipv4_addresses"]); !reflect.DeepEqual(g, w) {
		t.Errorf("ansible_all_ipv4_addresses: setup %v, ansible %v", g, w)
	}
	mountsOf := func(v any) []any {
		var out []any
		l, _ := v.([]any)
		for _, m := range l {
			out = append(out, m.(map[string]any)["mount"])
		}
		return out
	}
	if g, w := sortedStrings(mountsOf(ours["ansible_mounts"])), sortedStrings(mountsOf(ans.Facts["ansible_mounts"])); !reflect.DeepEqual(g, w) {
		t.Errorf("ansible_mounts: setup %v, ansible %v", g, w)
	}
}

func jsonOf(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func sortedStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
