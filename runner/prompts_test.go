package runner

import (
	"reflect"
	"strings"
	"testing"
)

const promptPlay = `
- hosts: hz-1
  vars_prompt:
    - name: release
      prompt: which release
      private: false
      default: "4.2.3"
    - name: token
      prompt: the API token
      confirm: true
  tasks:
    - rec: 'release {{ .release }} token {{ .token }}'
`

func TestVarsPrompt(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		want    string // the recorded call
		wantErr string // a load error instead
	}{
		{"answered by -e", Options{ExtraVars: []string{"release=5.1.0", "token=t-123"}}, "release 5.1.0 token t-123", ""},
		{"asked on a terminal, the default taken for an empty answer",
			Options{Terminal: true, Stdin: strings.NewReader("\nsecret-77\nsecret-77\n")}, "release 4.2.3 token secret-77", ""},
		{"no terminal: a default answers, no default is bad input",
			Options{ExtraVars: []string{"token=x"}}, "release 4.2.3 token x", ""},
		{"no terminal and no answer", Options{}, "", `play.yml:7:7: vars_prompt "token": no terminal to ask on and no answer given (answer it with -e token=VALUE, run from a terminal, or give the prompt a default)`},
		{"confirmation differs", Options{Terminal: true, Stdin: strings.NewReader("1\nsecret-a\nsecret-b\n")}, "", `vars_prompt "token": the two answers differ`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			tc.opts.Prompt = &out
			e, err := loadEnv(t, promptPlay, tc.opts, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want ...%s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if code := e.run(); code != ExitOK {
				t.Fatalf("exit %d", code)
			}
			if got := e.msgsOf("hz-1"); !reflect.DeepEqual(got, []string{tc.want}) {
				t.Fatalf("ran %q, want %q", got, tc.want)
			}
			// A private answer is a secret: masked in every event.
			if strings.Contains(e.sink.jsonText(t), "secret-77") {
				t.Fatalf("the private answer leaked into the events")
			}
		})
	}
}

// TestImportPlaybook: import_playbook brings another playbook's plays in its place; their
// vars_files are beside them.
func TestImportPlaybook(t *testing.T) {
	files := map[string]string{
		"more/other.yml":  "- hosts: hz-2\n  vars_files: [vars.yml]\n  tasks:\n    - rec: 'other {{ .where }}'\n",
		"more/vars.yml":   "where: beside-other\n",
		"more/nested.yml": "- import_playbook: other.yml\n",
		"loop/a.yml":      "- import_playbook: b.yml\n",
		"loop/b.yml":      "- import_playbook: a.yml\n",
	}
	e := mustLoad(t, "- hosts: hz-1\n  tasks:\n    - rec: first\n- import_playbook: more/nested.yml\n- hosts: hz-1\n  tasks:\n    - rec: last\n", Options{}, files)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got, want := e.calls(), []string{"hz-1:first", "hz-2:other beside-other", "hz-1:last"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ran %q, want %q", got, want)
	}
	_, err := loadEnv(t, "- import_playbook: loop/a.yml\n", Options{}, files)
	if err == nil || !strings.Contains(err.Error(), "import_playbook cycle") {
		t.Fatalf("cycle: %v", err)
	}
}

// TestReplacedSecretStaysMasked: a secret's value that -e replaced is still masked (a file
// holds it until the run changes it, and --diff shows it as before).
func TestReplacedSecretStaysMasked(t *testing.T) {
	e := mustLoad(t, "- hosts: hz-1\n  secrets: [api_key]\n  vars: {api_key: old-key-4711}\n  tasks:\n    - rec: 'was old-key-4711, now {{ .api_key }}'\n",
		Options{ExtraVars: []string{"api_key=new-key-0815"}}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	text := e.sink.jsonText(t)
	for _, v := range []string{"old-key-4711", "new-key-0815"} {
		if strings.Contains(text, v) {
			t.Fatalf("%s is in the events:\n%s", v, text)
		}
	}
}
