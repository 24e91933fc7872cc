package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/transport/execproto"
	"github.com/omsbook/omsbook/transport/executor"
)

// The executor settings (Spec.Executor, the OMSBOOK_EXECUTOR variable).
const (
	ExecutorOn  = "on"
	ExecutorOff = "off"
	// DefaultExecutor is the setting when neither the spec nor OMSBOOK_EXECUTOR gives one.
	DefaultExecutor = ExecutorOff
	// DefaultExecutorDir is where on a host the executor binary is cached, per user.
	DefaultExecutorDir = "~/.cache/omsbook"
	// ExecutorEnv is the environment variable that sets the executor for specs that leave it
	// unset; ExecutorDirEnv likewise the cache directory.
	ExecutorEnv    = "OMSBOOK_EXECUTOR"
	ExecutorDirEnv = "OMSBOOK_EXECUTOR_DIR"
)

// executorStartTimeout bounds how long a started executor may take to say hello.
const executorStartTimeout = 30 * time.Second

// ExecutorSetting is the executor setting for spec: its own, else OMSBOOK_EXECUTOR, else
// DefaultExecutor. It is "on" or "off".
func ExecutorSetting(spec Spec) string {
	for _, v := range []string{spec.Executor, os.Getenv(ExecutorEnv)} {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "on", "true", "yes", "1":
			return ExecutorOn
		case "off", "false", "no", "0":
			return ExecutorOff
		}
	}
	return DefaultExecutor
}

func executorDir(spec Spec) string {
	for _, d := range []string{spec.ExecutorDir, os.Getenv(ExecutorDirEnv)} {
		if d != "" {
			return d
		}
	}
	return DefaultExecutorDir
}

var executorBin struct {
	mu   sync.Mutex
	path string
	set  bool
}

// SetExecutorBinary names the program to upload as the executor: one whose main calls
// executor.ServeIfAsked first ("" is the running program itself). Until it is called, no
// executor is started: hosts use one session per command.
func SetExecutorBinary(path string) {
	executorBin.mu.Lock()
	defer executorBin.mu.Unlock()
	executorBin.path, executorBin.set = path, true
}

type executorImage struct {
	path string
	sum  string // sha256, hex
}

var imageCache struct {
	mu   sync.Mutex
	img  *executorImage
	err  error
	path string
}

// image returns the executor binary and its checksum, computed once.
func image() (*executorImage, error) {
	executorBin.mu.Lock()
	p, set := executorBin.path, executorBin.set
	executorBin.mu.Unlock()
	if !set {
		return nil, errors.New("this program cannot serve as the executor")
	}
	if p == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find this program: %w", err)
		}
		p = exe
	}
	imageCache.mu.Lock()
	defer imageCache.mu.Unlock()
	if imageCache.path == p && (imageCache.img != nil || imageCache.err != nil) {
		return imageCache.img, imageCache.err
	}
	imageCache.path = p
	imageCache.img, imageCache.err = hashFile(p)
	return imageCache.img, imageCache.err
}

func hashFile(p string) (*executorImage, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read the executor binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("read the executor binary: %w", err)
	}
	return &executorImage{path: p, sum: hex.EncodeToString(h.Sum(nil))}, nil
}

// unameArch maps `uname -m` to Go's GOARCH.
func unameArch(m string) string {
	switch m {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64", "armv8l":
		return "arm64"
	case "i386", "i486", "i586", "i686":
		return "386"
	case "armv6l", "armv7l":
		return "arm"
	case "ppc64le", "s390x", "riscv64", "loong64":
		return m
	}
	return m
}

// missingMarker is what the launch line prints when the cached binary is not there.
const missingMarker = "omsbook-executor-missing "

// launchLine is the command that starts the cached executor, or says what the host is.
func launchLine(dir, sum string) string {
	return "f=" + remotePath(dir) + "/executor-" + sum + `; [ -x "$f" ] && exec "$f" ` + executor.Subcommand +
		"; echo " + missingMarker + `"$(uname -s) $(uname -m)"`
}

// remotePath quotes dir for the remote shell, "~/" standing for the home directory.
func remotePath(dir string) string {
	if rest, ok := strings.CutPrefix(dir, "~/"); ok {
		return `"$HOME"/` + shellquote.QuoteIfNeeded(rest)
	}
	if dir == "~" {
		return `"$HOME"`
	}
	return shellquote.QuoteIfNeeded(dir)
}

// sftpPath is dir as sftp takes it: relative paths are the home directory's.
func sftpPath(dir string) string {
	if rest, ok := strings.CutPrefix(dir, "~/"); ok {
		return rest
	}
	if dir == "~" {
		return "."
	}
	return dir
}

// startExecutor starts the host's executor, uploading it first when the host lacks it; when
// it cannot, the connection keeps to sessions and ExecutorFallback says why.
func (c *SSHConn) startExecutor(ctx context.Context) {
	x, reason := c.launchExecutor(ctx)
	if x == nil && c.ctx.Err() != nil {
		reason = "" // the connection was closed before the executor was up: nothing to tell
	}
	c.execMu.Lock()
	c.exec, c.execNote = x, reason
	c.execMu.Unlock()
}

func (c *SSHConn) launchExecutor(ctx context.Context) (*executorClient, string) {
	img, err := image()
	if err != nil {
		return nil, err.Error()
	}
	dir := executorDir(c.spec)
	for attempt := 0; ; attempt++ {
		x, host, err := c.tryLaunch(ctx, launchLine(dir, img.sum))
		switch {
		case x != nil:
			return x, ""
		case err != nil:
			return nil, err.Error()
		}
		osName, arch, _ := strings.Cut(host, " ")
		if osName != "Linux" || unameArch(arch) != runtime.GOARCH {
			return nil, fmt.Sprintf("the host is %s/%s, this omsbook is built for linux/%s", osName, arch, runtime.GOARCH)
		}
		if attempt > 0 {
			return nil, "the executor uploaded to " + dir + " cannot be run there (is it mounted noexec?)"
		}
		if err := c.uploadExecutor(ctx, dir, img); err != nil {
			return nil, fmt.Sprintf("cannot upload it to %s: %v", dir, err)
		}
	}
}

// uploadExecutor writes the binary into dir on the host (mode 0700, atomically).
func (c *SSHConn) uploadExecutor(ctx context.Context, dir string, img *executorImage) error {
	d := sftpPath(dir)
	err := c.withSFTP(ctx, "mkdir "+dir, func(cl *sftp.Client) error {
		if err := cl.MkdirAll(d); err != nil {
			return err
		}
		return cl.Chmod(d, 0o700)
	})
	if err != nil {
		return err
	}
	f, err := os.Open(img.path)
	if err != nil {
		return err
	}
	defer f.Close()
	return c.putSFTP(ctx, f, path.Join(d, "executor-"+img.sum), 0o700)
}

// tryLaunch starts the launch line as a session: an executor that says hello, or the host's
// "OS arch" when the binary is missing, or an error saying why it could not start.
func (c *SSHConn) tryLaunch(ctx context.Context, line string) (*executorClient, string, error) {
	sess, err := c.newSession(ctx)
	if err != nil {
		return nil, "", err
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, "", err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return nil, "", err
	}
	var stderr lockedBuffer
	sess.Stderr = writerFunc(func(p []byte) (int, error) {
		stderr.mu.Lock()
		defer stderr.mu.Unlock()
		if stderr.buf.Len() < 4096 {
			stderr.buf.Write(p)
		}
		return len(p), nil
	})
	if err := sess.Start(line); err != nil {
		sess.Close()
		return nil, "", err
	}
	type greeting struct {
		line  string
		hello execproto.HelloMsg
		err   error
	}
	r := execproto.NewReader(stdout)
	got := make(chan greeting, 1)
	go func() {
		var g greeting
		g.line, g.err = r.ReadPreamble()
		if g.err == nil && g.line == execproto.Preamble {
			var f execproto.Frame
			if f, g.err = r.Next(); g.err == nil {
				if f.Type != execproto.Hello {
					g.err = fmt.Errorf("first frame is %v, not hello", f.Type)
				} else {
					g.err = json.Unmarshal(f.Payload, &g.hello)
				}
			}
		}
		got <- g
	}()
	timer := time.NewTimer(executorStartTimeout)
	defer timer.Stop()
	var g greeting
	select {
	case g = <-got:
	case <-ctx.Done():
		sess.Close()
		return nil, "", ctx.Err()
	case <-timer.C:
		sess.Close()
		return nil, "", fmt.Errorf("the executor did not answer within %v", executorStartTimeout)
	}
	if g.err == nil && g.line == execproto.Preamble {
		if g.hello.Version != execproto.Version {
			sess.Close()
			return nil, "", fmt.Errorf("the executor speaks protocol %d, not %d", g.hello.Version, execproto.Version)
		}
		return newExecutorClient(c.name, sess, stdin, r, g.hello), "", nil
	}
	stdin.Close()
	waitErr := waitSession(sess)
	if host, ok := strings.CutPrefix(strings.TrimSpace(g.line), strings.TrimSpace(missingMarker)); ok && g.err == nil {
		return nil, strings.TrimSpace(host), nil
	}
	stderr.mu.Lock()
	said := strings.TrimSpace(string(bytes.ToValidUTF8(stderr.buf.Bytes(), nil)))
	stderr.mu.Unlock()
	if said == "" {
		said = strings.TrimSpace(g.line)
	}
	msg := "the executor did not start"
	if waitErr != nil {
		msg += " (" + waitErr.Error() + ")"
	}
	if said != "" {
		msg += ": " + said
	}
	return nil, "", errors.New(msg)
}

// waitSession waits a moment for a session to end, then closes it.
func waitSession(sess interface {
	Wait() error
	Close() error
}) error {
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	defer sess.Close()
	select {
	case err := <-done:
		return err
	case <-time.After(reapTimeout):
		return nil
	}
}

// ExecutorFallback says why the connection does not use an executor although the setting
// asked for one ("" when it does, or was not asked to). It waits for the executor's start.
func (c *SSHConn) ExecutorFallback() string {
	c.waitExecutor()
	c.execMu.Lock()
	defer c.execMu.Unlock()
	return c.execNote
}

// ExecutorFallbackNow is ExecutorFallback without waiting: known is false while the
// executor is still starting.
func (c *SSHConn) ExecutorFallbackNow() (why string, known bool) {
	if c.execDone != nil {
		select {
		case <-c.execDone:
		default:
			return "", false
		}
	}
	c.execMu.Lock()
	defer c.execMu.Unlock()
	return c.execNote, true
}

// UsesExecutor reports whether commands go through the host's executor, once its start has
// ended.
func (c *SSHConn) UsesExecutor() bool {
	c.waitExecutor()
	return c.executor() != nil
}

// waitExecutor waits for the executor's start to end (or the connection to).
func (c *SSHConn) waitExecutor() {
	if c.execDone == nil {
		return
	}
	select {
	case <-c.execDone:
	case <-c.dead:
	}
}

// executor returns the running executor, or nil.
func (c *SSHConn) executor() *executorClient {
	c.execMu.Lock()
	x := c.exec
	c.execMu.Unlock()
	if x == nil || !x.alive() {
		return nil
	}
	return x
}

// executorFor returns the executor for cmd, or nil when cmd must run as a session: become
// (sudo answers on its own terminal or input), a pty, or a raw command.
func (c *SSHConn) executorFor(cmd *Cmd) *executorClient {
	if cmd.Become || cmd.PTY || cmd.Session {
		return nil
	}
	return c.executor()
}

// closeExecutor ends the executor's session: the executor kills what still runs and exits.
func (c *SSHConn) closeExecutor() {
	c.execMu.Lock()
	x := c.exec
	c.execMu.Unlock()
	if x != nil {
		_ = x.w.Close() // the executor's input: it ends and kills what still runs
		x.sess.Close()
	}
}
