package transport

import (
	"context"
	"fmt"
)

// Dial opens a connection as spec.Connection says: "local" runs on the controller, "ssh" (or
// "") connects with the ssh transport. An ssh host that cannot be reached, or whose host key
// is unknown or changed, gives an *UnreachableError.
func Dial(ctx context.Context, spec Spec) (Conn, error) {
	switch spec.Connection {
	case "local":
		name := spec.Name
		if name == "" {
			name = "localhost"
		}
		return NewLocal(name), nil
	case "", "ssh":
		c, err := DialSSH(ctx, spec)
		if err != nil {
			return nil, err
		}
		return c, nil
	default:
		return nil, fmt.Errorf("host %s: unknown connection %q: use ssh or local", specName(spec), spec.Connection)
	}
}

// specName is how messages name the host of spec.
func specName(spec Spec) string {
	if spec.Name != "" {
		return spec.Name
	}
	return spec.Address
}
