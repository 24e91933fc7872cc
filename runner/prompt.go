package runner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/omsbook/omsbook/events"
)

// confirm asks the operator a yes/no question, one at a time.
func (r *run) confirm(ctx context.Context, prompt string) (bool, error) {
	o := r.p.opts
	if o.Yes {
		return true, nil
	}
	if !o.Terminal || o.Stdin == nil {
		return false, errors.New("cannot ask for confirmation: no terminal (rerun with --yes or from a terminal)")
	}
	r.confirmMu.Lock()
	defer r.confirmMu.Unlock()
	// A terminal's status line steps aside while the operator is asked.
	r.promptProgress(events.PhasePrompt)
	defer r.promptProgress(events.PhasePromptDone)
	if o.Prompt != nil {
		fmt.Fprintf(o.Prompt, "%s [y/N]: ", r.p.secrets.Mask(prompt))
	}
	if r.stdin == nil {
		// One reader for the whole run: answers piped in together must not be lost.
		r.stdin = bufio.NewReader(o.Stdin)
	}
	in := r.stdin
	answer := make(chan string, 1)
	go func() {
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			close(answer)
			return
		}
		answer <- line
	}()
	select {
	case line, ok := <-answer:
		if !ok {
			return false, errors.New("no answer: standard input closed")
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true, nil
		}
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// sleepCtx waits d or until ctx ends; it reports whether the wait completed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
