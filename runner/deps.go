package runner

import (
	"context"

	"github.com/omsbook/omsbook/inventory"
	"github.com/omsbook/omsbook/transport"
)

// matchHosts resolves a host pattern with the inventory's matcher.
func matchHosts(inv *inventory.Inventory, pattern string) ([]*inventory.Host, error) {
	return inv.Match(pattern)
}

// defaultDial opens a connection with the transport package; tests replace it.
func defaultDial(ctx context.Context, spec transport.Spec) (transport.Conn, error) {
	return transport.Dial(ctx, spec)
}
