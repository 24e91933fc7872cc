package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/inventory"
)

func TestMedian(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"none", nil, 0},
		{"one", []time.Duration{5 * ms}, 5 * ms},
		{"odd, unsorted", []time.Duration{9 * ms, 1 * ms, 5 * ms}, 5 * ms},
		{"even takes the mean of the middle two", []time.Duration{4 * ms, 1 * ms, 2 * ms, 100 * ms}, 3 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tt.in...)
			if got := Median(tt.in); got != tt.want {
				t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatalf("Median reordered its input: %v", tt.in)
				}
			}
		})
	}
}

func TestSampleAggregates(t *testing.T) {
	s := []Sample{
		{Wall: 3 * time.Second, UserCPU: time.Second, SysCPU: time.Second, MaxRSSKB: 10},
		{Wall: 1 * time.Second, UserCPU: 0, SysCPU: 0, MaxRSSKB: 30},
		{Wall: 2 * time.Second, UserCPU: time.Second, SysCPU: 0, MaxRSSKB: 20},
	}
	if got := Median(Walls(s)); got != 2*time.Second {
		t.Errorf("median wall = %v, want 2s", got)
	}
	if got := MedianCPU(s); got != time.Second {
		t.Errorf("median cpu = %v, want 1s", got)
	}
	if got := MaxRSS(s); got != 30 {
		t.Errorf("max rss = %d, want 30", got)
	}
}

func TestTimeMeasuresARealProcess(t *testing.T) {
	ctx := context.Background()
	s, out, err := RunOutput(ctx, Proc{Argv: []string{"/bin/sh", "-c", "echo hello; sleep 0.05"}, Env: []string{"PATH=/usr/bin:/bin"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "hello" {
		t.Errorf("output = %q, want hello", out)
	}
	if s.Wall < 50*time.Millisecond {
		t.Errorf("wall %v is shorter than the 50ms sleep", s.Wall)
	}
	if s.MaxRSSKB <= 0 {
		t.Errorf("max rss %d: rusage not read", s.MaxRSSKB)
	}
	if s.HWMKB <= 0 {
		t.Errorf("VmHWM %d: /proc/<pid>/status not polled during a 50 ms run", s.HWMKB)
	}

	_, err = Time(ctx, Proc{Argv: []string{"/bin/sh", "-c", "echo broken >&2; exit 3"}})
	if err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("a failing run gives %v, want an error quoting its output", err)
	}

	file := filepath.Join(t.TempDir(), "out")
	if _, err := Time(ctx, Proc{Argv: []string{"/bin/echo", "to a file"}, Stdout: file}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); string(b) != "to a file\n" {
		t.Errorf("Stdout file holds %q", b)
	}
}

func TestTimeCancelKillsTheProcessGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The child sleep holds the output pipe: only killing the whole group ends the wait early.
	_, err := Time(ctx, Proc{Argv: []string{"/bin/sh", "-c", "sleep 30 & sleep 30"}})
	if err == nil {
		t.Fatal("a cancelled run gave no error")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancel took %v: the process group was not killed", d)
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	var tb tailBuffer
	for i := 0; i < 3*outputLimit/10; i++ {
		tb.Write([]byte("0123456789"))
	}
	tb.Write([]byte("END"))
	s := tb.String()
	if len(s) != outputLimit || !strings.HasSuffix(s, "END") {
		t.Errorf("tail has %d bytes ending %q, want %d ending END", len(s), s[len(s)-3:], outputLimit)
	}
}

func testAccess() Access {
	return Access{User: "root", ClientKey: "/state/client_ed25519", KnownHosts: "/state/known_hosts"}
}

func TestOmsbookInventoryLoads(t *testing.T) {
	hosts := []Host{{"bench1", "127.0.1.1", 2222}, {"bench2", "127.0.1.2", 2222}}
	vars := map[string]any{"metadb": map[string]any{"host": "127.0.0.1", "port": 3306, "password": "pw"}}
	data, err := OmsbookInventory(testAccess(), hosts, vars, []string{"metadb.password"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "inv.yml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		User       string `yaml:"user"`
		KnownHosts string `yaml:"known_hosts"`
		SSHKey     string `yaml:"ssh_key"`
		Regions    map[string]struct {
			Nodes map[string]struct {
				Address string `yaml:"address"`
				Port    int    `yaml:"port"`
			} `yaml:"nodes"`
		} `yaml:"regions"`
		Secrets []string `yaml:"secrets"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if doc.User != "root" || doc.KnownHosts != "/state/known_hosts" || doc.SSHKey != "/state/client_ed25519" {
		t.Errorf("access fields wrong:\n%s", data)
	}
	nodes := doc.Regions["bench"].Nodes
	if len(nodes) != 2 || nodes["bench2"].Address != "127.0.1.2" || nodes["bench2"].Port != 2222 {
		t.Errorf("nodes wrong:\n%s", data)
	}
	if len(doc.Secrets) != 1 || doc.Secrets[0] != "metadb.password" {
		t.Errorf("secrets wrong:\n%s", data)
	}
	// The engine's own loader must accept it, since the benchmark runs omsbook on it.
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatalf("omsbook's inventory loader refuses the benchmark inventory: %v\n%s", err, data)
	}
	_ = inv
}

func TestAnsibleFiles(t *testing.T) {
	hosts := []Host{{"bench1", "127.0.1.1", 2222}}
	tests := []struct {
		name string
		got  []byte
		want []string
	}{
		{"inventory", AnsibleInventory(hosts, map[string]string{"b": "2", "a": "1"}),
			[]string{"[bench]\nbench1 ansible_host=127.0.1.1 ansible_port=2222\n", "[all:vars]\na=1\nb=2\n"}},
		{"ssh_config", SSHConfig(testAccess(), []string{"curve25519-sha256"}),
			[]string{"StrictHostKeyChecking yes", "UserKnownHostsFile /state/known_hosts", "GlobalKnownHostsFile /dev/null",
				"IdentityFile /state/client_ed25519", "KexAlgorithms curve25519-sha256\n", "BatchMode yes"}},
		{"ansible.cfg", AnsibleConfig(AnsibleSettings{Inventory: "/i.ini", SSHConfig: "/ssh_config", ControlPathDir: "/cp", LocalTmp: "/tmp/a", Forks: 50, Python: "/usr/bin/python3"}),
			[]string{"forks = 50\n", "pipelining = True\n", "ControlPersist=60s", "gathering = explicit\n", "host_key_checking = True\n",
				"interpreter_python = /usr/bin/python3\n", "ssh_args = -F /ssh_config", "control_path = %(directory)s/%%C\n"}},
		{"playbook", CommandPlaybook(3),
			[]string{"hosts: all\n", "gather_facts: false\n", "    - name: true 3\n      command: /bin/true\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !bytes.Contains(tt.got, []byte(w)) {
					t.Errorf("missing %q in:\n%s", w, tt.got)
				}
			}
		})
	}
	if n := strings.Count(string(CommandPlaybook(10)), "command: /bin/true"); n != 10 {
		t.Errorf("CommandPlaybook(10) has %d tasks", n)
	}
}

func TestAnsibleRecapCheck(t *testing.T) {
	recap := `PLAY RECAP *****
bench1                     : ok=10   changed=10   unreachable=0    failed=0    skipped=0
bench2                     : ok=10   changed=10   unreachable=0    failed=0    skipped=0
`
	tests := []struct {
		name    string
		out     string
		hosts   int
		wantErr bool
	}{
		{"all hosts ok", recap, 2, false},
		{"a host missing", recap, 3, true},
		{"a failed host", strings.Replace(recap, "failed=0 ", "failed=1 ", 1), 2, true},
		{"fewer tasks ok", strings.Replace(recap, "ok=10 ", "ok=9 ", 1), 2, true},
		{"omsbook's recap", "bench1 :  ok=10  changed=10  unreachable=0  failed=0  skipped=0  rescued=0  ignored=0\n", 1, false},
		{"omsbook's recap, unreachable", "bench1 :  ok=10  changed=10  unreachable=1  failed=0  skipped=0\n", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := recapCheck(tt.hosts, 10)(tt.out)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "-"},
		{1234567 * time.Nanosecond, "1.23ms"},
		{1234567891 * time.Nanosecond, "1.235s"},
		{98765 * time.Millisecond, "1m38.8s"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.in); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrintTable(t *testing.T) {
	res := &Results{Rows: []Row{{Workload: "1 command", Case: "N=50", Omsbook: int64(2 * time.Second), Baseline: "ansible", Base: int64(100 * time.Second), Ratio: 50, Extra: "x"}},
		Notes: []string{"a note"}}
	var b bytes.Buffer
	if err := PrintTable(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"baseline/omsbook", "N=50", "2s", "1m40s", "50.00x", "note: a note"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("table lacks %q:\n%s", w, b.String())
		}
	}
}

func TestEnsureRandomFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.bin")
	if err := EnsureRandomFile(p, 1<<20); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if len(b) != 1<<20 {
		t.Fatalf("size %d", len(b))
	}
	// Incompressible enough: no long runs of one byte.
	if bytes.Contains(b, make([]byte, 64)) {
		t.Error("the file has a run of 64 zero bytes: not random")
	}
}
