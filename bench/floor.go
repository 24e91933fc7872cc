package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// FloorTarget is one host the floor connects to.
type FloorTarget struct {
	Addr string // host:port
}

// FloorConfig says how the floor authenticates; host keys are verified as omsbook does.
type FloorConfig struct {
	User       string
	ClientKey  string // private key file (OpenSSH format, no passphrase)
	KnownHosts string
	// DialConcurrency bounds the handshakes in flight (the same pacing a runner needs so that
	// sshd's MaxStartups is never hit); 0 means 50.
	DialConcurrency int
}

// floorKex is the key exchange order of the floor: the fastest both sides support first.
var floorKex = []string{
	ssh.KeyExchangeCurve25519, ssh.KeyExchangeMLKEM768X25519, ssh.KeyExchangeECDHP256,
}

// clientConfig builds the x/crypto/ssh client configuration for cfg.
func (cfg FloorConfig) clientConfig() (*ssh.ClientConfig, error) {
	keyPEM, err := os.ReadFile(cfg.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("floor: read client key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("floor: parse client key %s: %w", cfg.ClientKey, err)
	}
	hostKeys, err := knownhosts.New(cfg.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("floor: read known_hosts %s: %w", cfg.KnownHosts, err)
	}
	return &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback:   hostKeys,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Config:            ssh.Config{KeyExchanges: floorKex},
		Timeout:           20 * time.Second,
	}, nil
}

// Floor holds one open connection per host.
type Floor struct {
	Clients []*ssh.Client
}

// DialFloor opens one connection per target, at most cfg.DialConcurrency handshakes at once.
// On error the connections already open are closed.
func DialFloor(ctx context.Context, cfg FloorConfig, targets []FloorTarget) (*Floor, error) {
	cc, err := cfg.clientConfig()
	if err != nil {
		return nil, err
	}
	conc := cfg.DialConcurrency
	if conc <= 0 {
		conc = 50
	}
	f := &Floor{Clients: make([]*ssh.Client, len(targets))}
	errs := make([]error, len(targets))
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			f.Clients[i], errs[i] = dialOne(ctx, cc, t.Addr)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// dialOne connects and authenticates to addr; cancelling ctx aborts the handshake.
func dialOne(ctx context.Context, cc *ssh.ClientConfig, addr string) (*ssh.Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("floor: dial %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cc)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("floor: handshake with %s: %w", addr, err)
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// Run does the floor's work: on every host at once, tasks sessions one after the other, each
// running command and checking that it exits 0. It returns the wall time of the work alone.
func (f *Floor) Run(ctx context.Context, tasks int, command string) (time.Duration, error) {
	errs := make([]error, len(f.Clients))
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range f.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range tasks {
				if err := runSession(ctx, c, command); err != nil {
					errs[i] = fmt.Errorf("floor: %s: %w", c.RemoteAddr(), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// RunLockstep does the same work task by task, as a linear strategy does (Ansible's and
// omsbook's default): each task runs on every host at once and the next starts only when all
// hosts finished it. It shows what the per-task barrier costs beside Run.
func (f *Floor) RunLockstep(ctx context.Context, tasks int, command string) (time.Duration, error) {
	start := time.Now()
	for range tasks {
		errs := make([]error, len(f.Clients))
		var wg sync.WaitGroup
		for i, c := range f.Clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := runSession(ctx, c, command); err != nil {
					errs[i] = fmt.Errorf("floor: %s: %w", c.RemoteAddr(), err)
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return time.Since(start), err
		}
	}
	return time.Since(start), nil
}

// runSession runs one command as a session on c. Cancelling ctx closes the whole connection:
// closing only the session would leave Run waiting for the remote command, and a cancelled
// floor is finished anyway.
func runSession(ctx context.Context, c *ssh.Client, command string) error {
	s, err := c.NewSession()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("new session: %w", err)
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	err = s.Run(command)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("run %q: %w", command, err)
	}
	return nil
}

// Close closes every open connection.
func (f *Floor) Close() {
	for _, c := range f.Clients {
		if c != nil {
			c.Close()
		}
	}
}
