package builtin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
)

// expectScript writes an interactive bash script into dir and returns its path.
func expectScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	if _, err := os.Stat("/bin/bash"); err != nil {
		testutil.SkipOrFail(t, "expect tests need /bin/bash")
	}
	p := filepath.Join(dir, name)
	writeTestFile(t, p, "#!/bin/bash\n"+body, 0o755)
	return p
}

const secretAnswer = "s3cr3t-Pa55"

func TestExpect(t *testing.T) {
	tests := []struct {
		name       string
		script     string
		raw        map[string]any
		wantFailed bool
		wantMsg    string
		wantRC     int
		wantOut    []string // substrings of stdout
		notOut     []string // must not be in stdout
	}{
		{
			name: "three questions, one secret",
			script: `read -p "Your name? " name
read -p "Region: " region
read -s -p "MetaDB password: " pw; echo
echo "hello $name from $region"
[ "$pw" = "` + secretAnswer + `" ] && echo "password ok"
n=0
for f in /proc/[0-9]*/cmdline; do
  c=$(tr '\0' ' ' 2>/dev/null < "$f")
  [[ $c == *"$pw"* ]] && n=$((n+1))
done
echo "argv with the secret = $n"
echo "echoed: $pw"
`,
			raw: map[string]any{
				"responses":        map[string]any{`name\?`: "alice", "Region:": "hangzhou"},
				"secret_responses": map[string]any{"(?i)password:": secretAnswer},
			},
			wantOut: []string{"Your name?", "hello alice from hangzhou", "password ok", "argv with the secret = 0", "echoed: ********"},
			notOut:  []string{secretAnswer},
		},
		{
			name:    "a list of answers is used in turn",
			script:  `for i in 1 2 3; do read -p "Value? " v; echo "got $v"; done`,
			raw:     map[string]any{"responses": map[string]any{`Value\?`: []any{"a", "b", "c"}}},
			wantOut: []string{"got a", "got b", "got c"},
		},
		{
			name:       "answers running out fail",
			script:     `for i in 1 2 3; do read -p "Value? " v; done`,
			raw:        map[string]any{"responses": map[string]any{`Value\?`: []any{"a", "b"}}},
			wantFailed: true, wantMsg: `no remaining responses for "Value\\?"`, wantRC: -1,
		},
		{
			name:       "an unknown question fails clearly",
			script:     `read -p "Name? " n; read -p "Favourite colour? " c; echo done`,
			raw:        map[string]any{"responses": map[string]any{`Name\?`: "bob"}},
			wantFailed: true, wantMsg: "no answer for prompt: Favourite colour?", wantRC: -1,
		},
		{
			name:       "timeout fails with the last output",
			script:     `echo "working on it"; sleep 30`,
			raw:        map[string]any{"responses": map[string]any{"never": "x"}, "timeout": "1s"},
			wantFailed: true, wantMsg: "timeout after 1s", wantRC: -1,
		},
		{
			name:       "non-zero exit fails",
			script:     `read -p "Continue? " a; echo "answer $a"; exit 4`,
			raw:        map[string]any{"responses": map[string]any{`Continue\?`: "yes"}},
			wantFailed: true, wantMsg: "non-zero return code", wantRC: 4,
			wantOut: []string{"answer yes"},
		},
		{
			name:    "a single answer answers every match",
			script:  `read -p "Sure? " a; read -p "Really sure? " b; echo "$a$b"`,
			raw:     map[string]any{"responses": map[string]any{`ure\?`: "y"}},
			wantOut: []string{"yy"},
		},
		{
			name:    "echo off hides typed answers",
			script:  `read -p "Word? " w; echo "len ${#w}"`,
			raw:     map[string]any{"responses": map[string]any{`Word\?`: "plainanswer"}},
			wantOut: []string{"len 11"}, notOut: []string{"plainanswer"},
		},
		{
			name:    "echo on shows them",
			script:  `read -p "Word? " w; echo "len ${#w}"`,
			raw:     map[string]any{"responses": map[string]any{`Word\?`: "plainanswer"}, "echo": true},
			wantOut: []string{"Word? plainanswer", "len 11"},
		},
		{
			name:    "no prompts at all",
			script:  `echo "just output"`,
			raw:     map[string]any{},
			wantOut: []string{"just output"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			script := expectScript(t, dir, "ask.sh", tt.script)
			raw := map[string]any{"command": script + " --flag 'two words'"}
			for k, v := range tt.raw {
				raw[k] = v
			}
			h := newGenHost(t, nil)
			m := Expect{}
			args := coerceArgs(t, m, raw)
			res, err := m.Apply(context.Background(), h.Host, args)
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed != tt.wantFailed || !res.Changed || !strings.Contains(res.Msg, tt.wantMsg) {
				t.Fatalf("%+v, want failed=%v msg %q", res, tt.wantFailed, tt.wantMsg)
			}
			if res.Data["rc"] != tt.wantRC {
				t.Fatalf("rc %v, want %d", res.Data["rc"], tt.wantRC)
			}
			out, _ := res.Data["stdout"].(string)
			for _, want := range tt.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			for _, bad := range tt.notOut {
				if strings.Contains(out, bad) || strings.Contains(res.Msg, bad) {
					t.Errorf("result shows %q:\n%s\n%s", bad, out, res.Msg)
				}
			}
			for _, l := range h.outputLines() {
				if strings.Contains(l, secretAnswer) {
					t.Errorf("live output shows the secret: %q", l)
				}
			}
			if strings.Contains(out, "\r") {
				t.Errorf("stdout keeps terminal carriage returns: %q", out)
			}
		})
	}
}

// TestExpectNoAnswerShowsTranscriptAndHint: a prompt no response answers stops the command
// with the prompt, the end of the transcript so far (secret answers masked) and the playbook's
// hint on where to add the response.
func TestExpectNoAnswerShowsTranscriptAndHint(t *testing.T) {
	dir := t.TempDir()
	script := expectScript(t, dir, "ask.sh", `echo "Checking resources: fine."
read -s -p "Password: " p; echo
echo "Using password $p"
read -p "Deploy a new region? [y/n]: " a; echo "never here"`)
	h := newGenHost(t, nil)
	m := Expect{}
	hint := "add an entry for it to u410_prompts_extra (defaults: playbooks/vars/u410-prompts.yml)"
	res, err := m.Apply(context.Background(), h.Host, coerceArgs(t, m, map[string]any{
		"command": script, "secret_responses": map[string]any{"Password:": secretAnswer}, "no_answer_hint": hint,
	}))
	if err != nil || !res.Failed {
		t.Fatalf("%v %+v, want a failure", err, res)
	}
	for _, want := range []string{
		"no answer for prompt: Deploy a new region? [y/n]:",
		hint,
		"last output:\nChecking resources: fine.",
		"Using password ********",
	} {
		if !strings.Contains(res.Msg, want) {
			t.Errorf("message lacks %q:\n%s", want, res.Msg)
		}
	}
	if strings.Contains(res.Msg, secretAnswer) || strings.Contains(res.Msg, "never here") {
		t.Errorf("message shows the secret or output after the prompt:\n%s", res.Msg)
	}

	// Without a hint the message is as before, still with the transcript.
	res, err = m.Apply(context.Background(), h.Host, coerceArgs(t, m, map[string]any{"command": `sh -c 'read -p "Colour? " c'`}))
	if err != nil || !res.Failed || !strings.Contains(res.Msg, "no answer for prompt: Colour? (add a response whose pattern matches it); last output:\nColour?") {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestExpectSecretRegistered(t *testing.T) {
	dir := t.TempDir()
	script := expectScript(t, dir, "pw.sh", `read -s -p "Password: " p; echo; echo ok`)
	h := newGenHost(t, nil)
	m := Expect{}
	res, err := m.Apply(context.Background(), h.Host, coerceArgs(t, m, map[string]any{
		"command": script, "secret_responses": map[string]any{"Password:": secretAnswer},
	}))
	if err != nil || res.Failed {
		t.Fatalf("%v %+v", err, res)
	}
	if got := h.Mask("x " + secretAnswer + " y"); got != "x ******** y" {
		t.Fatalf("the secret answer was not registered for masking: %q", got)
	}
}

func TestExpectTimeoutShowsLastOutput(t *testing.T) {
	dir := t.TempDir()
	script := expectScript(t, dir, "slow.sh", `echo "step one done"; sleep 30`)
	h := newGenHost(t, nil)
	m := Expect{}
	start := time.Now()
	res, err := m.Apply(context.Background(), h.Host, coerceArgs(t, m, map[string]any{"command": script, "timeout": "500ms"}))
	if err != nil || !res.Failed || !strings.Contains(res.Msg, "step one done") {
		t.Fatalf("%v %+v, want a timeout showing the last output", err, res)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("the timed-out command was not killed promptly: %v", el)
	}
}

func TestExpectCheckAndCancel(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	script := expectScript(t, dir, "touch.sh", `touch `+marker+`; sleep 30`)
	h := newGenHost(t, nil)
	m := Expect{}
	args := coerceArgs(t, m, map[string]any{"command": script, "timeout": 0})
	res, err := m.Check(context.Background(), h.Host, args)
	if err != nil || !res.Unknown {
		t.Fatalf("check: %v %+v", err, res)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("Check ran the command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := m.Apply(ctx, h.Host, args); err == nil {
		t.Fatal("a cancelled expect returned no error")
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("cancel took %v", el)
	}
}

func TestExpectValidate(t *testing.T) {
	for _, raw := range []map[string]any{
		{"command": "x", "responses": map[string]any{"(": "a"}},
		{"command": "x", "responses": map[string]any{"a": map[string]any{}}},
		{"command": "x", "responses": map[string]any{"a": []any{}}},
		{"command": "x", "responses": map[string]any{"x*": "y"}},
	} {
		args, err := (Expect{}).Spec().Coerce(raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := (Expect{}).Validate(args); err == nil {
			t.Errorf("Validate(%v) accepted it", raw)
		}
	}
}
