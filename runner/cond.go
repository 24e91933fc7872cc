package runner

import (
	"sync"

	"github.com/omsbook/omsbook/tmpl"
)

// refsCache keeps the top-level names of each template source: validation asks for the same
// sources once per host.
var refsCache sync.Map // string -> refsEntry

type refsEntry struct {
	names []string
	err   error
}

// cachedRefs is tmpl.Refs, cached by source.
func cachedRefs(s string) ([]string, error) {
	if !tmpl.IsTemplate(s) {
		return nil, nil
	}
	if e, ok := refsCache.Load(s); ok {
		re := e.(refsEntry)
		return re.names, re.err
	}
	names, err := tmpl.Refs(s)
	refsCache.Store(s, refsEntry{names, err})
	return names, err
}
