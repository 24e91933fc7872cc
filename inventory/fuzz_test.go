package inventory

import (
	"errors"
	"testing"

	"github.com/omsbook/omsbook/yamlsrc"
)

// fuzzInventory parses data as file and holds the loader to its contract: an inventory or a
// positioned *yamlsrc.Error, never a panic; every host of an inventory it accepts has a name
// that is a file name component and is found again by name.
func fuzzInventory(t *testing.T, file string, data []byte) {
	inv, err := Parse(file, data)
	if err != nil {
		var pe *yamlsrc.Error
		if !errors.As(err, &pe) {
			t.Fatalf("error %T is not a *yamlsrc.Error: %v", err, err)
		}
		if pe.Pos.File != file {
			t.Fatalf("error names %q, not %q: %v", pe.Pos.File, file, err)
		}
		return
	}
	for _, h := range inv.Hosts {
		if err := checkHostFileName(h.Name, yamlsrc.Pos{}); err != nil {
			t.Fatalf("accepted host: %v", err)
		}
		if inv.Host(h.Name) != h {
			t.Fatalf("host %q is not found by its name", h.Name)
		}
	}
}

// FuzzInventoryOmsbook fuzzes the omsbook inventory format.
func FuzzInventoryOmsbook(f *testing.F) {
	f.Add([]byte("user: root\nregions:\n  hz:\n    nodes:\n      n1: {address: 10.0.0.1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzInventory(t, "inv.yml", data) })
}

// FuzzInventoryAnsibleINI fuzzes Ansible's INI inventory format.
func FuzzInventoryAnsibleINI(f *testing.F) {
	f.Add([]byte("[web]\nweb[01:03] ansible_host=10.0.0.1\n[all:vars]\nx=1\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzInventory(t, "hosts.ini", data) })
}

// FuzzInventoryAnsibleYAML fuzzes Ansible's YAML inventory format (and the detection that
// tells it from omsbook's).
func FuzzInventoryAnsibleYAML(f *testing.F) {
	f.Add([]byte("all:\n  hosts:\n    web1: {ansible_host: 10.0.0.1}\n  children:\n    db:\n      hosts: {db1: }\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzInventory(t, "hosts.yml", data) })
}

// FuzzHostPattern: a host pattern over a fixed inventory matches hosts of the inventory, each
// once, or is an error; it never panics.
func FuzzHostPattern(f *testing.F) {
	inv, err := Parse("hosts.ini", []byte("[hz]\noms-hz-[1:3]\n[sh]\noms-sh-1\n[canary]\noms-hz-1\n[oms:children]\nhz\nsh\n"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("oms-hz-*:&canary")
	f.Fuzz(func(t *testing.T, pattern string) {
		hosts, err := inv.Match(pattern)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, h := range hosts {
			if inv.Host(h.Name) != h && h.Name != ControllerName {
				t.Fatalf("%q matched %q, not a host of the inventory", pattern, h.Name)
			}
			if seen[h.Name] {
				t.Fatalf("%q matched %q twice", pattern, h.Name)
			}
			seen[h.Name] = true
		}
	})
}
