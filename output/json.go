package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/secret"
)

// JSON writes each event as one JSON object on its own line (JSON lines), for machines. It is
// safe for concurrent use. The journal uses it too.
type JSON struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

// NewJSON returns a JSON-lines sink writing to w.
func NewJSON(w io.Writer) *JSON { return &JSON{w: w} }

// Emit writes e as one line. Progress events are a terminal's business: they are dropped.
func (j *JSON) Emit(e events.Event) {
	if e.Kind == events.Progress {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	e.Result = Scrub(e.Result)
	line, err := json.Marshal(e)
	if err != nil {
		// A result value JSON cannot hold (a channel, a func) must not lose the event: keep
		// the event with the result shown as text.
		e.Result = map[string]any{"unencodable": fmt.Sprintf("%v", e.Result)}
		line, err = json.Marshal(e)
		if err != nil {
			line = []byte(fmt.Sprintf(`{"event":%q,"error":%q}`, e.Kind, err.Error()))
		}
	}
	line = append(line, '\n')
	if _, err := j.w.Write(line); err != nil && j.err == nil {
		j.err = fmt.Errorf("write event: %w", err)
	}
}

// Err returns the first write error, if any.
func (j *JSON) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// Scrub returns r with the values of fields that hold what was fed to a command or a password
// replaced by the mask: the runner masks known secrets already, this keeps a module's stdin or
// a password field out of machine output and journals even when nobody declared it secret.
func Scrub(r map[string]any) map[string]any {
	if r == nil {
		return nil
	}
	out := make(map[string]any, len(r))
	for k, v := range r {
		if sensitiveKey(k) {
			if v != nil && v != "" {
				v = secret.Mask
			}
		} else {
			v = scrubValue(v)
		}
		out[k] = v
	}
	return out
}

func scrubValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return Scrub(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrubValue(e)
		}
		return out
	}
	return v
}

func sensitiveKey(k string) bool {
	k = strings.ToLower(k)
	return k == "stdin" || strings.Contains(k, "password") || strings.Contains(k, "passwd")
}
