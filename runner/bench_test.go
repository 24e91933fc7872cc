package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBenchFiles writes an inventory of hosts nodes in four regions and a playbook of tasks
// tasks with templates, conditions, registers and loops, as the OMS playbooks use them.
func writeBenchFiles(b *testing.B, hosts, tasks int) (pb, inv string) {
	b.Helper()
	dir := b.TempDir()
	var ib strings.Builder
	ib.WriteString("connection: local\nvars:\n  metadb: {host: 127.0.0.1, port: 3306, user: root, password: benchsecret}\n  config_file: /data/oms/config.yaml\nsecrets: [metadb.password]\nregions:\n")
	for r := 0; r < 4; r++ {
		fmt.Fprintf(&ib, "  region%d:\n    vars: {cm_hb_db: cm_hb_%d}\n    nodes:\n", r, r)
		for i := r; i < hosts; i += 4 {
			fmt.Fprintf(&ib, "      node-%04d: {vars: {oms_host_ip: 10.0.%d.%d}}\n", i, i/250, i%250)
		}
	}
	var pbb strings.Builder
	pbb.WriteString("- name: bench\n  hosts: all\n  vars:\n    container: 'oms_{{ .inventory_hostname }}'\n  tasks:\n")
	for i := 0; i < tasks; i++ {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&pbb, "    - name: task %d\n      rec: {msg: 'run {{ .container }} on {{ .oms_host_ip }} db {{ .metadb.host }}:{{ .metadb.port }}', change: true}\n      register: r%d\n", i, i)
		case 1:
			fmt.Fprintf(&pbb, "    - name: task %d\n      rec: {msg: 'after {{ .r%d.msg_arg }}'}\n      when: r%d.changed && region != \"nowhere\"\n", i, i-1, i-1)
		case 2:
			fmt.Fprintf(&pbb, "    - name: task %d\n      rec: {msg: '{{ .item }} {{ .cm_hb_db }}'}\n      loop: [a, b]\n", i)
		case 3:
			fmt.Fprintf(&pbb, "    - name: task %d\n      rec: {msg: 'plain text', rc: 3}\n      failed_when: result.rc > 5\n", i)
		}
	}
	pb, inv = filepath.Join(dir, "play.yml"), filepath.Join(dir, "inv.yml")
	if err := os.WriteFile(pb, []byte(pbb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(inv, []byte(ib.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return pb, inv
}

func benchLoad(b *testing.B, hosts, tasks int) {
	pb, inv := writeBenchFiles(b, hosts, tasks)
	e := &env{rec: &recorder{}}
	opts := Options{Playbook: pb, Inventories: []string{inv}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := loadWith(context.Background(), opts, e.lookup)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.plays[0].hosts) != hosts {
			b.Fatalf("%d hosts planned, want %d", len(p.plays[0].hosts), hosts)
		}
	}
}

// BenchmarkLoadValidate100Hosts200Tasks: loading and validating a 200-task playbook for 100
// hosts; the target is under 100 ms.
func BenchmarkLoadValidate100Hosts200Tasks(b *testing.B) { benchLoad(b, 100, 200) }

// BenchmarkPlan1000Hosts100Tasks: planning (load, match, check every task for every host)
// 1000 hosts x 100 tasks; the target is under 1 s.
func BenchmarkPlan1000Hosts100Tasks(b *testing.B) { benchLoad(b, 1000, 100) }
