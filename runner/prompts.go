package runner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/omsbook/omsbook/playbook"
)

// answerPrompts answers a play's vars_prompt before anything is checked or run: from -e
// when it gives the variable, else on the terminal (not echoed when private), else the
// prompt's default. A prompt nothing can answer is bad input: no host has been touched.
func (p *plan) answerPrompts(pp *playPlan) error {
	for _, q := range pp.play.VarsPrompt {
		if _, given := p.extra[q.Name]; given {
			continue
		}
		answer, err := p.ask(q)
		if err != nil {
			return &playbook.Error{Pos: q.Pos, Msg: fmt.Sprintf("vars_prompt %q: %v", q.Name, err),
				Fix: fmt.Sprintf("answer it with -e %s=VALUE, run from a terminal, or give the prompt a default", q.Name)}
		}
		if answer == "" && q.Default != nil {
			answer = *q.Default
		}
		if q.Private {
			p.secrets.Add(answer)
		}
		if pp.prompted == nil {
			pp.prompted = map[string]any{}
		}
		pp.prompted[q.Name] = answer
	}
	return nil
}

// ask puts one question to the operator; without a terminal, a prompt with a default takes
// it and one without has no answer.
func (p *plan) ask(q playbook.Prompt) (string, error) {
	o := p.opts
	if !o.Terminal || o.Stdin == nil {
		if q.Default != nil {
			return *q.Default, nil
		}
		return "", errors.New("no terminal to ask on and no answer given")
	}
	read := func(text string) (string, error) {
		if o.Prompt != nil {
			fmt.Fprintf(o.Prompt, "%s: ", text)
		}
		line, err := p.readAnswer(q.Private)
		if q.Private && o.Prompt != nil {
			fmt.Fprintln(o.Prompt)
		}
		return line, err
	}
	text := q.Text
	if q.Default != nil && !q.Private {
		text += " [" + *q.Default + "]"
	}
	answer, err := read(text)
	if err != nil {
		return "", err
	}
	if q.Confirm {
		again, err := read("confirm " + q.Text)
		if err != nil {
			return "", err
		}
		if again != answer {
			return "", errors.New("the two answers differ")
		}
	}
	return answer, nil
}

// readAnswer reads one line from the terminal, without echo when private.
func (p *plan) readAnswer(private bool) (string, error) {
	if f, ok := p.opts.Stdin.(*os.File); ok && private && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		return string(b), err
	}
	if p.promptIn == nil {
		p.promptIn = bufio.NewReader(p.opts.Stdin)
	}
	line, err := p.promptIn.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("no answer: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
