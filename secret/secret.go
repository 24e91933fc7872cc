// Package secret keeps the set of secret values of a run and masks them wherever text leaves
// omsbook: output, the journal, errors and diffs.
package secret

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Mask is what a secret value is shown as.
const Mask = "********"

// Set holds secret values. It is safe for concurrent use. The zero value is ready to use.
type Set struct {
	mu       sync.RWMutex
	values   map[string]struct{}
	replacer *strings.Replacer // rebuilt lazily after Add
}

// Add records a secret value. Empty values and values shorter than 3 characters are ignored:
// masking them would garble ordinary output without protecting anything.
func (s *Set) Add(v string) {
	if len(v) < 3 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]struct{}{}
	}
	if _, ok := s.values[v]; ok {
		return
	}
	s.values[v] = struct{}{}
	s.replacer = nil
}

// AddAll records every scalar inside v: a variable named secret may hold a whole map or list
// (all of metadb, say), and every value in it is then secret.
func (s *Set) AddAll(v any) {
	switch x := v.(type) {
	case nil:
	case string:
		s.Add(x)
	case map[string]any:
		for _, e := range x {
			s.AddAll(e)
		}
	case []any:
		for _, e := range x {
			s.AddAll(e)
		}
	case []string:
		for _, e := range x {
			s.Add(e)
		}
	default:
		s.Add(fmt.Sprint(x))
	}
}

// Len reports how many values are recorded.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.values)
}

// Mask replaces every recorded value in text with ********, longest values first so that a
// secret containing another is masked whole.
func (s *Set) Mask(text string) string {
	if s == nil || text == "" {
		return text
	}
	s.mu.RLock()
	r := s.replacer
	n := len(s.values)
	s.mu.RUnlock()
	if n == 0 {
		return text
	}
	if r == nil {
		s.mu.Lock()
		if s.replacer == nil {
			vals := make([]string, 0, len(s.values))
			for v := range s.values {
				vals = append(vals, v)
			}
			sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
			pairs := make([]string, 0, 2*len(vals))
			for _, v := range vals {
				pairs = append(pairs, v, Mask)
			}
			s.replacer = strings.NewReplacer(pairs...)
		}
		r = s.replacer
		s.mu.Unlock()
	}
	return r.Replace(text)
}

// MaskValue returns a copy of v (strings, maps, lists of them) with every secret masked.
func (s *Set) MaskValue(v any) any {
	switch x := v.(type) {
	case string:
		return s.Mask(x)
	case []byte:
		return s.Mask(string(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = s.MaskValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.MaskValue(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = s.Mask(e)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			out[i], _ = s.MaskValue(e).(map[string]any)
		}
		return out
	}
	return v
}
