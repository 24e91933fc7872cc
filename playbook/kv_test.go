package playbook

import (
	"reflect"
	"testing"
)

func TestFreeFormArgs(t *testing.T) {
	command := ModuleInfo{FreeForm: "cmd", Args: []string{"cmd", "argv", "chdir", "creates", "removes", "stdin"}}
	debug := ModuleInfo{FreeForm: "msg", Args: []string{"msg", "var", "verbosity"}}
	copyMod := ModuleInfo{Args: []string{"src", "dest", "content", "mode"}}
	tests := []struct {
		name     string
		in       string
		info     ModuleInfo
		args     map[string]string
		freeForm string
		wantErr  bool
	}{
		{"pairs", `src=a.conf dest=/etc/a.conf mode=0644`, copyMod, map[string]string{"src": "a.conf", "dest": "/etc/a.conf", "mode": "0644"}, "", false},
		{"quoted value with escapes", `content="a b\nc" dest=/x`, copyMod, map[string]string{"content": "a b\nc", "dest": "/x"}, "", false},
		{"single quotes", `content='it''s' dest=/x`, copyMod, map[string]string{"content": "it''s", "dest": "/x"}, "", false},
		{"template kept whole", `dest={{ .root }}/a content={{ .x | upper }}`, copyMod, map[string]string{"dest": "{{ .root }}/a", "content": "{{ .x | upper }}"}, "", false},
		{"no pair", `hello`, copyMod, nil, "", true},
		{"unclosed quote", `content="x`, copyMod, nil, "", true},
		{"chdir out of the command", `ls -l chdir=/tmp`, command, map[string]string{"chdir": "/tmp"}, "ls -l", false},
		{"options anywhere", `creates=/x echo a=b  "c d" removes=/y`, command, map[string]string{"creates": "/x", "removes": "/y"}, `echo a=b  "c d"`, false},
		{"lines kept", "echo a\necho chdir\n", command, map[string]string{}, "echo a\necho chdir\n", false},
		{"a command only", `echo hi`, command, map[string]string{}, "echo hi", false},
		{"debug pairs", `msg="hi there" verbosity=1`, debug, map[string]string{"msg": "hi there", "verbosity": "1"}, "", false},
		{"debug text", `hi there`, debug, map[string]string{}, "hi there", false},
		{"debug with an unknown pair is text", `x=1`, debug, map[string]string{}, "x=1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args, ff, err := freeFormArgs(tc.in, tc.info)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if !reflect.DeepEqual(args, tc.args) || ff != tc.freeForm {
				t.Fatalf("got %q + %q, want %q + %q", args, ff, tc.args, tc.freeForm)
			}
		})
	}
}
