package builtin

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/secret"
	"github.com/omsbook/omsbook/transport"
)

// Expect runs an interactive command under a pseudo-terminal and answers its prompts.
type Expect struct{}

func (Expect) Name() string { return "expect" }

func (Expect) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Run an interactive command and answer its prompts",
		Description: "Runs `command` (split into words like command's cmd, no shell) under a " +
			"pseudo-terminal, locally or over ssh. Whenever its output matches a regular expression " +
			"of `responses` (or `secret_responses`), the answer is typed, followed by Enter; a " +
			"single answer answers every match, a list of answers is used one per match, in turn. Answers travel over the terminal, never " +
			"on a command line; secret answers are masked everywhere. The task fails when no " +
			"response matches within `timeout` (with the last output seen), when the command prints " +
			"a prompt-looking line (ending with ? or :) and waits for an answer no response gives " +
			"(\"no answer for prompt: ...\", with the end of the transcript), when a list of answers runs out, or when the command " +
			"exits non-zero. `no_answer_hint`, when given, is added to the message of a prompt no response answers and of a timeout: " +
			"the place where the playbook's responses come from, so that the operator knows where to add one. Terminal echo is off unless `echo: true`, so answers do not show in " +
			"stdout. Like command, it reports changed.",
		CheckMode: "Does not run the command: unknown (\"command not run in check mode\"), unless " +
			"creates/removes already decide that it would be skipped (ok).",
		Args: append([]modules.Arg{
			{Name: "command", Type: modules.String, Required: true, Doc: "the command line to run, split into words with shell-like quoting"},
			{Name: "responses", Type: modules.Map, Doc: "regular expression -> answer (a string, or a list of strings used in turn)"},
			{Name: "secret_responses", Type: modules.Map, Secret: true, Doc: "like responses, for answers that are secret (passwords): masked in every output"},
			{Name: "timeout", Type: modules.Duration, Default: 30 * time.Second, Doc: "how long to wait for each expected output (0: no limit)"},
			{Name: "echo", Type: modules.Bool, Default: false, Doc: "leave terminal echo on, so that (non-secret) answers show in stdout"},
			{Name: "no_answer_hint", Type: modules.String, Doc: "said after the message when a prompt has no answer or nothing matched within timeout, e.g. which variable or file to add the response to"},
		}, guardArgs...),
		Returns: []modules.Field{
			{Name: "rc", Type: "int", Doc: "exit status of the command"},
			{Name: "stdout", Type: "string", Doc: "the terminal transcript (secret answers masked), without its final newlines"},
			{Name: "stdout_lines", Type: "list", Doc: "stdout split into lines"},
			{Name: "cmd", Type: "string", Doc: "the command line"},
			{Name: "start", Type: "string", Doc: "when the command started"},
			{Name: "end", Type: "string", Doc: "when it ended"},
			{Name: "delta", Type: "string", Doc: "how long it ran (H:MM:SS.ffffff)"},
		},
	}
}

// expectPromptQuiet is how long a prompt-looking line must stay unanswered, with no further
// output, before expect decides that no response will answer it.
var expectPromptQuiet = time.Second

// maxExpectPending bounds the unmatched output kept for matching.
const maxExpectPending = 64 << 10

// expectResponse is one pattern with its answers.
type expectResponse struct {
	pattern string
	re      *regexp.Regexp
	answers []string
	next    int
	secret  bool
	// repeat is true for a single answer (not a list): it answers every match, as in Ansible.
	repeat bool
}

// Validate compiles the patterns and checks the answers' types.
func (Expect) Validate(args modules.Args) error {
	_, err := expectResponses(args)
	return err
}

func expectResponses(args modules.Args) ([]*expectResponse, error) {
	var out []*expectResponse
	for _, set := range []struct {
		name   string
		secret bool
	}{{"responses", false}, {"secret_responses", true}} {
		m := args.Map(set.name)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			re, err := regexp.Compile(k)
			if err != nil {
				return nil, fmt.Errorf("%s: pattern %q is not a regular expression: %w", set.name, k, err)
			}
			if re.MatchString("") {
				return nil, fmt.Errorf("%s: pattern %q matches empty text, so it would answer before any prompt: make it match the prompt itself", set.name, k)
			}
			r := &expectResponse{pattern: k, re: re, secret: set.secret}
			switch v := m[k].(type) {
			case []any:
				for i, a := range v {
					s, ok := modules.ScalarString(a)
					if !ok {
						return nil, fmt.Errorf("%s: answer %d for %q must be a string", set.name, i, k)
					}
					r.answers = append(r.answers, s)
				}
			case []string:
				r.answers = append(r.answers, v...)
			default:
				s, ok := modules.ScalarString(v)
				if !ok {
					return nil, fmt.Errorf("%s: the answer for %q must be a string or a list of strings", set.name, k)
				}
				r.answers, r.repeat = []string{s}, true
			}
			if len(r.answers) == 0 {
				return nil, fmt.Errorf("%s: pattern %q has no answer", set.name, k)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func (Expect) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return checkCommand(ctx, h, args, args.String("command"))
}

func (Expect) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	line := args.String("command")
	responses, err := expectResponses(args)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	var secrets []string
	for _, r := range responses {
		if r.secret {
			for _, a := range r.answers {
				h.AddSecret(a)
				secrets = append(secrets, a)
			}
		}
	}
	if h.Become && h.BecomePassword != "" {
		// sudo reads the password from the terminal before echo is turned off: never let it
		// show in the transcript.
		h.AddSecret(h.BecomePassword)
		secrets = append(secrets, h.BecomePassword)
	}
	reason, err := guardSkip(ctx, h, args)
	if err != nil {
		return modules.Result{}, err
	}
	if reason != "" {
		return modules.Result{Msg: reason, Data: skippedCommandData(line, reason)}, nil
	}
	argv, err := splitCommandLine(line)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	if len(argv) == 0 {
		return modules.Fail("the command is empty: give the program to run", nil), nil
	}
	// Set terminal echo before the command starts (transports differ in their default), so
	// that typed answers come back in its output only with echo: true. The answers themselves
	// never appear on this command line.
	stty := "-echo"
	if args.Bool("echo") {
		stty = "echo"
	}
	argv = append([]string{"/bin/sh", "-c", `stty ` + stty + ` 2>/dev/null; exec "$@"`, "expect"}, argv...)
	s := &expectSession{
		h: h, responses: responses, secrets: secrets,
		timeout: args.Duration("timeout"), notify: make(chan struct{}, 1), hint: args.String("no_answer_hint"),
		live: modules.NewLineWriter("stdout", func(stream, l string) { h.Output(stream, maskAnswers(l, secrets, h.Mask)) }),
	}
	cmd := h.ArgvCmd(argv...)
	cmd.Dir = args.String("chdir")
	cmd.PTY = true
	return s.run(ctx, cmd, line)
}

// expectSession is one run of an interactive command: it collects the transcript, answers
// prompts and decides when the command is stuck.
type expectSession struct {
	h         *modules.Host
	responses []*expectResponse
	secrets   []string
	timeout   time.Duration
	live      *modules.LineWriter
	// hint is no_answer_hint: where to add a missing response.
	hint string

	mu         sync.Mutex
	transcript strings.Builder
	// pending is the output not yet consumed by a match.
	pending string
	// promptFrom is where in pending a new prompt may begin: what followed the last match
	// when it was answered (the rest of that prompt's line) cannot be an unanswered prompt.
	promptFrom int
	notify     chan struct{}
}

// Write receives the terminal's output.
func (s *expectSession) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.transcript.Write(p)
	s.pending += string(p)
	s.mu.Unlock()
	_, _ = s.live.Write(p)
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return len(p), nil
}

// errNoAnswersLeft says that a pattern matched again after its list of answers was used up.
type errNoAnswersLeft struct{ pattern string }

func (e errNoAnswersLeft) Error() string {
	return fmt.Sprintf("no remaining responses for %q: give it one more answer in its list", e.pattern)
}

// answer consumes every match in pending and returns the answers to type, in order. It also
// reports whether the unconsumed tail looks like a prompt waiting for input.
func (s *expectSession) answer() (answers []string, prompt string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		best, bestLoc := (*expectResponse)(nil), []int(nil)
		for _, r := range s.responses {
			if loc := r.re.FindStringIndex(s.pending); loc != nil && (bestLoc == nil || loc[0] < bestLoc[0]) {
				best, bestLoc = r, loc
			}
		}
		if best == nil || bestLoc[1] == 0 {
			break
		}
		switch {
		case best.repeat:
			answers = append(answers, best.answers[0])
		case best.next < len(best.answers):
			answers = append(answers, best.answers[best.next])
			best.next++
		default:
			return answers, "", errNoAnswersLeft{best.pattern}
		}
		s.pending = s.pending[bestLoc[1]:]
		s.promptFrom = len(s.pending)
	}
	// Keep what a pattern may still match (as pexpect does), within bounds.
	if cut := len(s.pending) - maxExpectPending; cut > 0 {
		s.pending = s.pending[cut:]
		s.promptFrom = max(0, s.promptFrom-cut)
	}
	from := s.promptFrom
	if i := strings.LastIndexByte(s.pending, '\n'); i+1 > from {
		from = i + 1
	}
	tail := strings.TrimSpace(s.pending[from:])
	if strings.HasSuffix(tail, "?") || strings.HasSuffix(tail, ":") {
		prompt = tail
	}
	return answers, prompt, nil
}

// hinted is no_answer_hint as a clause of a failure message ("" without one).
func (s *expectSession) hinted() string {
	if s.hint == "" {
		return ""
	}
	return ": " + s.hint
}

// lastOutput is the end of the transcript, for failure messages.
func (s *expectSession) lastOutput() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := strings.ReplaceAll(s.transcript.String(), "\r\n", "\n")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return maskAnswers(strings.Join(lines, "\n"), s.secrets, s.h.Mask)
}

type execOutcome struct {
	res *transport.ExecResult
	err error
}

func (s *expectSession) run(ctx context.Context, cmd *transport.Cmd, line string) (modules.Result, error) {
	stdinR, stdinW := io.Pipe()
	cmd.Stdin, cmd.Stdout = stdinR, s
	runCtx, kill := context.WithCancel(ctx)
	defer kill()
	start := time.Now()
	done := make(chan execOutcome, 1)
	go func() {
		res, err := s.h.Conn.Exec(runCtx, cmd)
		done <- execOutcome{res, err}
	}()
	// Answers are typed by their own goroutine: a command that stops reading its terminal
	// must not block the session's decisions.
	typed := make(chan string, 64)
	go func() {
		var err error
		for a := range typed {
			if err == nil { // after a failed write, keep draining so that senders never block
				_, err = io.WriteString(stdinW, a+"\n")
			}
		}
	}()
	defer close(typed)
	defer stdinW.Close()

	var (
		failMsg      string
		outcome      execOutcome
		timeoutTimer = newOptionalTimer(s.timeout)
		quietTimer   = time.NewTimer(time.Hour)
	)
	quietTimer.Stop()
	defer timeoutTimer.Stop()
	defer quietTimer.Stop()
	stopWith := func(msg string) {
		failMsg = msg
		kill()
		outcome = <-done
	}
loop:
	for {
		select {
		case <-s.notify:
			answers, prompt, err := s.answer()
			for _, a := range answers {
				typed <- a
			}
			if len(answers) > 0 {
				timeoutTimer.Reset()
			}
			if err != nil {
				stopWith(err.Error() + "; last output:\n" + s.lastOutput())
				break loop
			}
			quietTimer.Stop()
			if prompt != "" {
				quietTimer.Reset(expectPromptQuiet)
			}
		case <-quietTimer.C:
			_, prompt, err := s.answer()
			if err == nil && prompt != "" {
				stopWith("no answer for prompt: " + maskAnswers(prompt, s.secrets, s.h.Mask) + " (add a response whose pattern matches it" + s.hinted() + "); last output:\n" + s.lastOutput())
				break loop
			}
		case <-timeoutTimer.C():
			stopWith(fmt.Sprintf("timeout after %s waiting for output that a response matches%s; last output:\n%s", s.timeout, s.hinted(), s.lastOutput()))
			break loop
		case outcome = <-done:
			break loop
		}
	}
	end := time.Now()
	s.live.Flush()
	if ctx.Err() != nil {
		return modules.Result{}, fmt.Errorf("expect %s: %w", line, ctx.Err())
	}
	if failMsg == "" && outcome.err != nil {
		return execError(ctx, line, outcome.err)
	}
	s.mu.Lock()
	stdout := strings.ReplaceAll(s.transcript.String(), "\r\n", "\n")
	s.mu.Unlock()
	stdout = trimFinalNewline(maskAnswers(stdout, s.secrets, s.h.Mask))
	rc := -1
	if outcome.res != nil && failMsg == "" {
		rc = outcome.res.RC
	}
	data := map[string]any{
		"cmd": line, "rc": rc, "stdout": stdout, "stdout_lines": outputLines(stdout),
		"start": ansibleTime(start), "end": ansibleTime(end), "delta": ansibleDelta(end.Sub(start)),
	}
	switch {
	case failMsg != "":
		r := modules.Fail(failMsg, data)
		r.Changed = true
		return r, nil
	case rc != 0:
		r := modules.Fail("non-zero return code", data)
		r.Changed = true
		return r, nil
	}
	return modules.Result{Changed: true, Data: data}, nil
}

// maskAnswers hides secret answers in text (answers shorter than 3 characters are left, as
// secret.Set does, since masking them would garble everything), then every known secret.
func maskAnswers(text string, secrets []string, mask func(string) string) string {
	for _, a := range secrets {
		if len(a) >= 3 {
			text = strings.ReplaceAll(text, a, secret.Mask)
		}
	}
	if mask != nil {
		text = mask(text)
	}
	return text
}

// optionalTimer is a resettable timer that never fires when its duration is 0.
type optionalTimer struct {
	d time.Duration
	t *time.Timer
}

func newOptionalTimer(d time.Duration) *optionalTimer {
	o := &optionalTimer{d: d}
	if d > 0 {
		o.t = time.NewTimer(d)
	}
	return o
}

func (o *optionalTimer) C() <-chan time.Time {
	if o.t == nil {
		return nil
	}
	return o.t.C
}

func (o *optionalTimer) Reset() {
	if o.t != nil {
		o.t.Reset(o.d)
	}
}

func (o *optionalTimer) Stop() {
	if o.t != nil {
		o.t.Stop()
	}
}
