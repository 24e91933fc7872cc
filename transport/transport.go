// Package transport is how a task reaches a host: a Conn runs commands and moves files on one
// host. The ssh transport keeps one connection per host for a whole run and runs every command
// as a session on it; the local transport runs on the controller.
package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// Conn is an open way to one host. Every method takes a context first; cancelling it stops the
// call promptly and, for Exec, kills the command on the host. A Conn is safe for concurrent use:
// several commands may run on it at once.
type Conn interface {
	// Exec runs cmd and waits for it. A non-zero exit status is not an error: it is reported in
	// ExecResult.RC. An error means the command could not be run or was cut off (context
	// cancelled, connection lost); a lost connection is reported as *UnreachableError.
	Exec(ctx context.Context, cmd *Cmd) (*ExecResult, error)
	// Put writes r to dest on the host with the given mode, atomically where it can (a
	// temporary file renamed into place).
	Put(ctx context.Context, r io.Reader, dest string, mode fs.FileMode) error
	// Get copies the file src on the host to w.
	Get(ctx context.Context, src string, w io.Writer) error
	// Stat describes path on the host. A missing path gives an error that satisfies
	// errors.Is(err, fs.ErrNotExist).
	Stat(ctx context.Context, path string) (*FileInfo, error)
	// Local reports whether the connection runs on the controller itself.
	Local() bool
	// Close ends the connection and every command still running on it.
	Close() error
}

// Cmd is one command to run on a host. Exactly one of Argv and Shell is set.
type Cmd struct {
	// Argv runs a program with these arguments, without a shell (each word is quoted for the
	// remote shell when the transport needs one).
	Argv []string
	// Shell is a command line run by /bin/sh -c.
	Shell string
	// Dir is the working directory ("" for the login directory).
	Dir string
	// Env adds variables to the command's environment. Values must not be secret: a remote
	// transport may have to put them on the remote shell's command line.
	Env map[string]string
	// Stdin feeds the command's standard input (nil for none).
	Stdin io.Reader
	// Stdout and Stderr, when set, receive the output as it comes, in addition to the copy
	// kept in ExecResult.
	Stdout io.Writer
	Stderr io.Writer
	// PTY runs the command under a pseudo-terminal (stderr is merged into stdout).
	PTY bool
	// Become runs the command through sudo as BecomeUser (default root). BecomePassword is
	// sent to sudo's standard input only in answer to sudo's own password prompt, never on a
	// command line and never when sudo does not ask (root, NOPASSWD, a cached login); the
	// command's input is then exactly Stdin. When sudo refuses the password, or asks for one
	// and none is set, Exec returns a *BecomeError.
	Become         bool
	BecomeUser     string
	BecomePassword string
	// Session runs the command as a session of its own even where the host has an executor
	// (raw commands: nothing but the host's shell).
	Session bool
}

// ExecResult is what a finished command left.
type ExecResult struct {
	RC     int    // exit status; -1 when killed by a signal
	Signal string // the signal that killed it, if any
	Stdout []byte
	Stderr []byte
}

// FileInfo describes a file on a host.
type FileInfo struct {
	Path    string
	Exists  bool
	IsDir   bool
	Size    int64
	Mode    fs.FileMode
	ModTime time.Time
	Owner   string
	Group   string
}

// Spec says how to reach one host. It is built by the runner from the inventory.
type Spec struct {
	Name       string // inventory name, for messages
	Connection string // "ssh" (default) or "local"
	Address    string
	Port       int // default 22
	User       string
	KnownHosts string // path of the known_hosts file; default ~/.ssh/known_hosts
	// AcceptNewHostKeys records the key of a host that known_hosts does not list yet, never a
	// changed one.
	AcceptNewHostKeys bool
	SSHKey            string // private key file
	SSHPassword       string // secret
	Jump              string // bastion, "user@host:port"
	ConnectTimeout    time.Duration
	KeepAlive         time.Duration
	// Executor is "on" to run commands and file operations through a persistent executor on
	// the host (one session for them all), "off" for one session per command, "" for
	// OMSBOOK_EXECUTOR or DefaultExecutor (see ExecutorSetting).
	Executor string
	// ExecutorDir is where on the host the executor binary is cached ("" for
	// OMSBOOK_EXECUTOR_DIR or DefaultExecutorDir, ~/.cache/omsbook).
	ExecutorDir string
}

// UnreachableError says a host could not be reached or its connection was lost. The runner
// reports such a host as unreachable (exit code 4) rather than failed.
type UnreachableError struct {
	Host string
	Err  error
	Hint string // what the operator can do, e.g. how to trust a host key
}

func (e *UnreachableError) Error() string {
	msg := fmt.Sprintf("host %s unreachable: %v", e.Host, e.Err)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// IsUnreachable reports whether err says a host could not be reached.
func IsUnreachable(err error) bool {
	var u *UnreachableError
	return errors.As(err, &u)
}
