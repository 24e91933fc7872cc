package runner

import (
	"io"
	"sync"
)

// heldResources are what modules hold for the rest of the run (modules.Host.AtRunEnd): closed
// when the run ends, or at once when it is cancelled, last registered first. A resource
// registered after they were closed is closed at once.
type heldResources struct {
	mu     sync.Mutex
	list   []io.Closer
	closed bool
}

func (h *heldResources) add(c io.Closer) {
	h.mu.Lock()
	if !h.closed {
		h.list = append(h.list, c)
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	_ = c.Close()
}

// closeAll closes every resource once; it may be called again.
func (h *heldResources) closeAll() {
	h.mu.Lock()
	list := h.list
	h.list, h.closed = nil, true
	h.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		_ = list[i].Close()
	}
}
