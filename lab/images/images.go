// Package images builds the OMS simulator's Docker images (oms:feature_<version>-ce) from
// scratch with the local Docker Engine, and writes each one as an installation package with
// `docker save` (what `docker load -i` reads).
//
// An image holds the simulator binary (built once, CGO_ENABLED=0, shared by every version),
// Debian's static busybox with its applet links (/bin/sh and the tools the scripts use),
// Debian's static bash as /bin/bash, and the guide's scripts under /root. The version is baked
// in as the label org.omsbook.oms-version and the environment variable OMS_IMAGE_VERSION.
//
// Build is idempotent and fast when nothing changed: each image carries a hash of its inputs
// (label org.omsbook.inputs) and is rebuilt only when that hash differs; a package is rewritten
// only when its recorded hash differs. Concurrent callers sharing a state directory are
// serialised with a lock file.
package images

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"github.com/omsbook/omsbook/lab/omssim/scripts"
)

// Versions are the OMS Community Edition versions the lab builds, oldest first.
var Versions = []string{"4.1.0", "4.2.2", "4.2.3"}

// Label names carried by every image.
const (
	LabelInputs  = "org.omsbook.inputs"      // hash of everything the image is built from
	LabelVersion = "org.omsbook.oms-version" // e.g. "4.2.2"
)

// Tag is the image name of an OMS version in the guide's naming style.
func Tag(version string) string { return "oms:feature_" + version + "-ce" }

// PackageName is the installation package's file name for a version.
func PackageName(version string) string { return "oms_" + version + "-ce.tar" }

// Options says where to build and what.
type Options struct {
	// StateDir holds the lock file, the build directory and, unless PackageDir is set, the
	// packages (<StateDir>/packages). Required.
	StateDir string
	// PackageDir overrides where the installation packages are written.
	PackageDir string
	// Versions to build; default: all of Versions.
	Versions []string
	// ModuleRoot is the omsbook source tree to build the simulator from; default: the tree
	// this package was compiled from.
	ModuleRoot string
	// Docker is the docker client binary; default "docker".
	Docker string
	// Busybox and Bash are the static binaries to put in the images; defaults: the paths of
	// Debian's busybox-static (/bin/busybox) and bash-static (/bin/bash-static).
	Busybox, Bash string
	// NoPackages skips writing the `docker save` packages.
	NoPackages bool
}

// Image describes one built (or already up-to-date) image.
type Image struct {
	Version string // "4.2.2"
	Tag     string // "oms:feature_4.2.2-ce"
	Inputs  string // hash of the inputs, as in the LabelInputs label
	Package string // path of the `docker save` file ("" with NoPackages)
	Built   bool   // the image was (re)built by this call
	Saved   bool   // the package was (re)written by this call
}

// Result lists the images, in the order of Options.Versions.
type Result struct {
	Images []Image
}

// Image returns the entry for version, or nil.
func (r *Result) Image(version string) *Image {
	for i := range r.Images {
		if r.Images[i].Version == version {
			return &r.Images[i]
		}
	}
	return nil
}

// busyboxApplets are linked to /bin/busybox inside the images: the tools the guide's commands
// and the lab's scripts use.
var busyboxApplets = []string{
	"sh", "ash", "sleep", "cat", "cp", "mv", "mkdir", "rm", "rmdir", "ls", "ln", "grep", "egrep",
	"sed", "awk", "date", "env", "tee", "echo", "test", "[", "printf", "head", "tail", "wc",
	"sha256sum", "md5sum", "hostname", "ps", "kill", "id", "whoami", "touch", "chmod", "chown",
	"find", "xargs", "tr", "cut", "sort", "uniq", "true", "false", "pwd", "basename", "dirname",
	"du", "df", "stat", "uname", "vi", "less", "more", "tar", "gzip", "gunzip", "wget", "nc",
	"netstat", "ip", "ifconfig", "free", "top", "which", "readlink", "realpath", "expr", "seq",
	"diff", "cmp", "yes", "nproc", "usleep", "timeout", "watch", "pidof", "pgrep", "pkill",
}

// Build builds the images and writes their packages. See the package comment.
func Build(ctx context.Context, opts Options) (*Result, error) {
	if opts.StateDir == "" {
		return nil, errors.New("images: Options.StateDir is required (the lab's state directory)")
	}
	if err := fillDefaults(&opts); err != nil {
		return nil, err
	}
	if err := checkTools(ctx, &opts); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("images: create state directory: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(opts.StateDir, "images.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	buildDir := filepath.Join(opts.StateDir, "images-build")
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		return nil, fmt.Errorf("images: create build directory: %w", err)
	}
	simulator := filepath.Join(buildDir, "omssim")
	if err := buildSimulator(ctx, opts.ModuleRoot, simulator); err != nil {
		return nil, err
	}
	common, err := commonFiles(simulator, opts.Busybox, opts.Bash)
	if err != nil {
		return nil, err
	}
	if !opts.NoPackages {
		if err := os.MkdirAll(opts.PackageDir, 0o755); err != nil {
			return nil, fmt.Errorf("images: create package directory: %w", err)
		}
	}
	res := &Result{}
	for _, v := range opts.Versions {
		img, err := buildOne(ctx, &opts, v, common)
		if err != nil {
			return nil, err
		}
		res.Images = append(res.Images, *img)
	}
	return res, nil
}

func fillDefaults(opts *Options) error {
	if len(opts.Versions) == 0 {
		opts.Versions = Versions
	}
	for _, v := range opts.Versions {
		if !known(v) {
			return fmt.Errorf("images: unknown OMS version %q (known: %s)", v, strings.Join(Versions, ", "))
		}
	}
	if opts.PackageDir == "" {
		opts.PackageDir = filepath.Join(opts.StateDir, "packages")
	}
	if opts.Docker == "" {
		opts.Docker = "docker"
	}
	if opts.ModuleRoot == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			return errors.New("images: cannot find the omsbook source tree: set Options.ModuleRoot")
		}
		opts.ModuleRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	}
	if _, err := os.Stat(filepath.Join(opts.ModuleRoot, "go.mod")); err != nil {
		return fmt.Errorf("images: %s is not the omsbook source tree (no go.mod): set Options.ModuleRoot: %w", opts.ModuleRoot, err)
	}
	if opts.Busybox == "" {
		opts.Busybox = firstExisting("/bin/busybox", "/usr/bin/busybox")
	}
	if opts.Bash == "" {
		opts.Bash = firstExisting("/bin/bash-static", "/usr/bin/bash-static")
	}
	return nil
}

func known(v string) bool {
	for _, k := range Versions {
		if k == v {
			return true
		}
	}
	return false
}

func firstExisting(paths ...string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return paths[0]
}

// checkTools says exactly which Debian package or tool is missing.
func checkTools(ctx context.Context, opts *Options) error {
	if err := checkStatic(opts.Busybox); err != nil {
		return fmt.Errorf("images: a static busybox is needed (Debian package busybox-static: apt-get install busybox-static): %w", err)
	}
	if err := checkStatic(opts.Bash); err != nil {
		return fmt.Errorf("images: a static bash is needed (Debian package bash-static: apt-get install bash-static): %w", err)
	}
	if _, err := exec.LookPath(opts.Docker); err != nil {
		return fmt.Errorf("images: the docker client is needed (Debian package docker.io): %w", err)
	}
	out, err := exec.CommandContext(ctx, opts.Docker, "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("images: the Docker Engine does not answer (is dockerd running and are you allowed to use it?): %s: %w", strings.TrimSpace(string(out)), err)
	}
	if _, err := exec.LookPath("go"); err != nil {
		return fmt.Errorf("images: the go tool is needed to build the simulator: %w", err)
	}
	return nil
}

// checkStatic fails unless path is a statically linked ELF executable (the images have no
// dynamic loader or libc).
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// lockFile takes an exclusive flock on path, giving up when ctx ends.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("images: open lock file: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("images: lock %s: %w", path, err)
		}
		return func() { f.Close() }, nil
	case <-ctx.Done():
		// Closing the file does not interrupt flock(2); the goroutine ends when the holder
		// releases the lock, and the descriptor is closed then.
		go func() {
			if <-done == nil {
				f.Close()
			}
		}()
		return nil, fmt.Errorf("images: waiting for the lock %s: %w", path, ctx.Err())
	}
}

// buildSimulator builds the simulator statically; go's build cache makes a rebuild with no
// change take well under a second, and -trimpath with -buildvcs=false makes the binary
// reproducible, so its hash changes only when its source does (not with every commit).
func buildSimulator(ctx context.Context, root, out string) error {
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", tmp, "./lab/omssim/cmd/omssim")
	cmd.Dir = root
	// GOFLAGS is cleared so that a caller's -race (which needs cgo) cannot leak in.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("images: build the simulator (go build ./lab/omssim/cmd/omssim in %s): %s: %w", root, strings.TrimSpace(string(b)), err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("images: build the simulator: %w", err)
	}
	return nil
}

// file is one entry of an image's root file system.
type file struct {
	name string // path inside the image, without the leading slash
	mode int64
	data []byte // regular file content
	link string // symlink target, for symlinks
	dir  bool
}

func commonFiles(simulator, busybox, bash string) ([]file, error) {
	var files []file
	for _, d := range []string{"bin", "root", "tmp", "etc", "home", "home/admin", "home/admin/conf",
		"home/admin/logs", "home/ds", "home/ds/store", "home/ds/run", "etc/pki", "etc/pki/nginx"} {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		files = append(files, file{name: d, mode: mode, dir: true})
	}
	for _, bin := range []struct{ src, dst string }{
		{simulator, "bin/omssim"}, {busybox, "bin/busybox"}, {bash, "bin/bash"},
	} {
		b, err := os.ReadFile(bin.src)
		if err != nil {
			return nil, fmt.Errorf("images: read %s: %w", bin.src, err)
		}
		files = append(files, file{name: bin.dst, mode: 0o755, data: b})
	}
	available := busyboxList(busybox)
	for _, a := range busyboxApplets {
		if available == nil || available[a] {
			files = append(files, file{name: "bin/" + a, link: "busybox"})
		}
	}
	files = append(files,
		file{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/bash\nadmin:x:500:500:admin:/home/admin:/bin/sh\n")},
		file{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nadmin:x:500:\n")},
	)
	for _, s := range scripts.Common {
		b, err := scripts.FS.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("images: script %s: %w", s, err)
		}
		files = append(files, file{name: "root/" + s, mode: 0o755, data: b})
	}
	return files, nil
}

func versionFiles(version string) ([]file, error) {
	if version != "4.2.3" {
		return nil, nil
	}
	var files []file
	for _, s := range scripts.V410Path {
		b, err := scripts.FS.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("images: script %s: %w", s, err)
		}
		files = append(files, file{name: "root/" + s, mode: 0o755, data: b})
	}
	return files, nil
}

func dockerfile(version string, extra bool, inputs string) string {
	var b strings.Builder
	b.WriteString("FROM scratch\n")
	// The common layer is identical for every version, so the three images share it.
	b.WriteString("COPY common/ /\n")
	if extra {
		b.WriteString("COPY extra/ /\n")
	}
	fmt.Fprintf(&b, "ENV OMS_IMAGE_VERSION=%s PATH=/bin\n", version)
	fmt.Fprintf(&b, "LABEL %s=%q %s=%q\n", LabelVersion, version, LabelInputs, inputs)
	b.WriteString("WORKDIR /root\n")
	// CMD rather than ENTRYPOINT: the guide runs `docker run ... <image> bash` to extract a
	// script, which must run bash, not the simulator.
	b.WriteString("CMD [\"/bin/omssim\", \"serve\"]\n")
	return b.String()
}

// hashInputs hashes everything an image is made of.
func hashInputs(version string, common, extra []file) string {
	h := sha256.New()
	fmt.Fprintf(h, "omssim-image v1\nversion %s\n%s", version, dockerfile(version, len(extra) > 0, ""))
	all := append(append([]file{}, common...), extra...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].name < all[j].name })
	for _, f := range all {
		fmt.Fprintf(h, "%s %o %t %s %d\n", f.name, f.mode, f.dir, f.link, len(f.data))
		h.Write(f.data)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func buildOne(ctx context.Context, opts *Options, version string, common []file) (*Image, error) {
	extra, err := versionFiles(version)
	if err != nil {
		return nil, err
	}
	img := &Image{Version: version, Tag: Tag(version), Inputs: hashInputs(version, common, extra)}
	have, _ := exec.CommandContext(ctx, opts.Docker, "image", "inspect", "--format",
		"{{ index .Config.Labels \""+LabelInputs+"\" }}", img.Tag).Output()
	if strings.TrimSpace(string(have)) != img.Inputs {
		if err := dockerBuild(ctx, opts.Docker, img, common, extra); err != nil {
			return nil, err
		}
		img.Built = true
	}
	if opts.NoPackages {
		return img, nil
	}
	img.Package = filepath.Join(opts.PackageDir, PackageName(version))
	stamp := img.Package + ".inputs"
	if b, err := os.ReadFile(stamp); err == nil && strings.TrimSpace(string(b)) == img.Inputs && !img.Built {
		if _, err := os.Stat(img.Package); err == nil {
			return img, nil
		}
	}
	tmp := img.Package + ".tmp"
	if out, err := exec.CommandContext(ctx, opts.Docker, "save", "-o", tmp, img.Tag).CombinedOutput(); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("images: docker save %s: %s: %w", img.Tag, strings.TrimSpace(string(out)), err)
	}
	if err := os.Rename(tmp, img.Package); err != nil {
		return nil, fmt.Errorf("images: write package: %w", err)
	}
	if err := os.WriteFile(stamp, []byte(img.Inputs+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("images: write package stamp: %w", err)
	}
	img.Saved = true
	return img, nil
}

// dockerBuild streams a tar build context (Dockerfile, common/, extra/) to `docker build -`.
func dockerBuild(ctx context.Context, docker string, img *Image, common, extra []file) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	df := dockerfile(img.Version, len(extra) > 0, img.Inputs)
	if err := writeTar(tw, file{name: "Dockerfile", mode: 0o644, data: []byte(df)}); err != nil {
		return err
	}
	for _, set := range []struct {
		dir   string
		files []file
	}{{"common", common}, {"extra", extra}} {
		if len(set.files) == 0 {
			continue
		}
		if err := writeTar(tw, file{name: set.dir, mode: 0o755, dir: true}); err != nil {
			return err
		}
		for _, f := range set.files {
			f.name = set.dir + "/" + f.name
			if err := writeTar(tw, f); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("images: build context: %w", err)
	}
	cmd := exec.CommandContext(ctx, docker, "build", "--quiet", "--tag", img.Tag, "-")
	cmd.Stdin = &buf
	// The legacy builder is enough for COPY-only Dockerfiles and needs no registry.
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("images: docker build %s: %s: %w", img.Tag, strings.TrimSpace(string(out)), err)
	}
	return nil
}

func writeTar(tw *tar.Writer, f file) error {
	h := &tar.Header{Name: f.name, Mode: f.mode, Uid: 0, Gid: 0, Format: tar.FormatPAX}
	switch {
	case f.dir:
		h.Typeflag = tar.TypeDir
		h.Name += "/"
	case f.link != "":
		h.Typeflag = tar.TypeSymlink
		h.Linkname = f.link
		h.Mode = 0o777
	default:
		h.Typeflag = tar.TypeReg
		h.Size = int64(len(f.data))
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("images: build context %s: %w", f.name, err)
	}
	if h.Typeflag == tar.TypeReg {
		if _, err := io.Copy(tw, bytes.NewReader(f.data)); err != nil {
			return fmt.Errorf("images: build context %s: %w", f.name, err)
		}
	}
	return nil
}

// busyboxList returns the applets busybox was built with (nil when it cannot tell), so the
// images link only applets that exist.
func busyboxList(busybox string) map[string]bool {
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return nil
	}
	m := map[string]bool{}
	for _, a := range strings.Fields(string(out)) {
		m[a] = true
	}
	return m
}
