package executor

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/omsbook/omsbook/transport/execproto"
)

// runFile does one file operation in the executor's own process and sends its result.
func (s *server) runFile(req *request, payload []byte) {
	var fr execproto.FileRequest
	if err := json.Unmarshal(payload, &fr); err != nil {
		s.send(execproto.Result, req.id, execproto.FileResult{Error: "bad file request: " + err.Error()})
		return
	}
	res := s.file(req, &fr)
	s.send(execproto.Result, req.id, res)
}

func fail(err error) execproto.FileResult {
	return execproto.FileResult{Error: err.Error(), Errno: errnoName(err)}
}

func (s *server) file(req *request, fr *execproto.FileRequest) execproto.FileResult {
	switch fr.Op {
	case execproto.OpStat:
		info, err := statPath(fr.Path, fr.Follow)
		if err != nil {
			return fail(err)
		}
		return execproto.FileResult{Info: info}
	case execproto.OpChecksum:
		sum, err := checksum(fr.Path, fr.Algo)
		if err != nil {
			return fail(err)
		}
		return execproto.FileResult{Sum: sum}
	case execproto.OpRead:
		return s.read(req, fr.Path, fr.Limit)
	case execproto.OpWrite:
		n, err := writeAtomic(req, fr.Path, fr.Mode, fr.TempPrefix)
		if err != nil {
			res := fail(err)
			if res.Errno == "ENOSPC" || res.Errno == "EDQUOT" {
				var st syscall.Statfs_t
				if syscall.Statfs(filepath.Dir(fr.Path), &st) == nil {
					res.Free, res.Total = int64(min(st.Bavail, st.Bfree))*st.Bsize, int64(st.Blocks)*st.Bsize
					res.Inodes = st.Files > 0 && st.Ffree == 0
				}
			}
			return res
		}
		return execproto.FileResult{Written: n}
	case execproto.OpChmod:
		if err := syscall.Chmod(fr.Path, fr.Mode&0o7777); err != nil {
			return fail(&fs.PathError{Op: "chmod", Path: fr.Path, Err: err})
		}
		return execproto.FileResult{}
	case execproto.OpChown:
		if err := chown(fr.Path, fr.Owner, fr.Group, fr.Follow, fr.Recurse); err != nil {
			return fail(err)
		}
		return execproto.FileResult{}
	}
	return execproto.FileResult{Error: fmt.Sprintf("unknown file operation %q", fr.Op)}
}

func statPath(p string, follow bool) (*execproto.FileInfo, error) {
	st, err := os.Lstat(p)
	if follow && err == nil && st.Mode()&fs.ModeSymlink != 0 {
		st, err = os.Stat(p)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return &execproto.FileInfo{}, nil
	}
	if err != nil {
		return nil, err
	}
	info := &execproto.FileInfo{Exists: true, Size: st.Size(), ModTime: st.ModTime().UnixNano()}
	switch m := st.Mode(); {
	case m&fs.ModeSymlink != 0:
		info.Type = "link"
		if info.LinkTarget, err = os.Readlink(p); err != nil {
			return nil, err
		}
	case m.IsDir():
		info.Type = "directory"
	case m.IsRegular():
		info.Type = "file"
	default:
		info.Type = "other"
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		info.Mode = sys.Mode & 0o7777
		info.Owner = names.user(sys.Uid)
		info.Group = names.group(sys.Gid)
	}
	return info, nil
}

// names caches the host's user and group names by id for the executor's life.
var names = &idNames{users: map[uint32]string{}, groups: map[uint32]string{}}

type idNames struct {
	mu            sync.Mutex
	users, groups map[uint32]string
}

func (n *idNames) user(id uint32) string {
	return n.lookup(n.users, id, func(s string) (string, error) {
		u, err := user.LookupId(s)
		if err != nil {
			return "", err
		}
		return u.Username, nil
	})
}

func (n *idNames) group(id uint32) string {
	return n.lookup(n.groups, id, func(s string) (string, error) {
		g, err := user.LookupGroupId(s)
		if err != nil {
			return "", err
		}
		return g.Name, nil
	})
}

func (n *idNames) lookup(m map[uint32]string, id uint32, find func(string) (string, error)) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := m[id]; ok {
		return name
	}
	s := strconv.FormatUint(uint64(id), 10)
	name, err := find(s)
	if err != nil || name == "" {
		name = s
	}
	m[id] = name
	return name
}

func checksum(p, algo string) (string, error) {
	var h hash.Hash
	switch algo {
	case "sha256", "":
		h = sha256.New()
	case "sha1":
		h = sha1.New()
	case "md5":
		h = md5.New()
	default:
		return "", fmt.Errorf("checksum algorithm %q: want sha256, sha1 or md5", algo)
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// read sends the file's content as Chunk frames; more than limit bytes (limit > 0) is refused
// before anything is sent.
func (s *server) read(req *request, p string, limit int64) execproto.FileResult {
	f, err := os.Open(p)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return fail(&fs.PathError{Op: "read", Path: p, Err: syscall.EISDIR})
	}
	buf := make([]byte, execproto.ChunkSize)
	var total int64
	for {
		select {
		case <-req.abort:
			return execproto.FileResult{Error: "cancelled"}
		default:
		}
		n, err := f.Read(buf)
		if n > 0 {
			total += int64(n)
			if limit > 0 && total > limit {
				return execproto.FileResult{Error: "file is larger than the limit", TooBig: true}
			}
			s.output(req.id, execproto.Chunk, buf[:n])
		}
		if err == io.EOF {
			return execproto.FileResult{Written: total}
		}
		if err != nil {
			return fail(err)
		}
	}
}

// writeAtomic writes the request's input into a temporary file beside p (mode 0600 while being
// written), sets mode and renames it over p. Input that ends by Cancel leaves p alone.
func writeAtomic(req *request, p string, mode uint32, prefix string) (int64, error) {
	if prefix == "" {
		prefix = "omsbook"
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+"."+prefix+"-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		drain(req)
		return 0, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	var n int64
	var werr error
	for {
		b := req.in.pop()
		if b == nil {
			break
		}
		if werr == nil {
			var m int
			m, werr = f.Write(b)
			n += int64(m)
		}
		ackInput(req, len(b))
	}
	select {
	case <-req.abort:
		return n, errors.New("cancelled")
	default:
	}
	if werr != nil {
		return n, werr
	}
	if err := syscall.Fchmod(int(f.Fd()), mode&0o7777); err != nil {
		return n, &fs.PathError{Op: "chmod", Path: tmp, Err: err}
	}
	if err := f.Close(); err != nil {
		return n, err
	}
	if err := os.Rename(tmp, p); err != nil {
		return n, err
	}
	ok = true
	return n, nil
}

// drain consumes (and acknowledges) the request's input after a failure, so that the client's
// sender is not left waiting for a window that never opens.
func drain(req *request) {
	for b := req.in.pop(); b != nil; b = req.in.pop() {
		ackInput(req, len(b))
	}
}

// ackInput is set by the server for each request (so that file writes acknowledge their input
// as commands do).
func ackInput(req *request, n int) {
	if req.ack != nil {
		req.ack(n)
	}
}

func chown(p, owner, group string, follow, recurse bool) error {
	uid, gid := -1, -1
	if owner != "" {
		id, err := userID(owner)
		if err != nil {
			return err
		}
		uid = id
	}
	if group != "" {
		id, err := groupID(group)
		if err != nil {
			return err
		}
		gid = id
	}
	one := func(q string, top bool) error {
		if top && follow {
			return os.Chown(q, uid, gid)
		}
		return os.Lchown(q, uid, gid)
	}
	if !recurse {
		return one(p, true)
	}
	// As chown -R: the walk does not follow links below the top.
	return filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return one(q, q == p)
	})
}

// userID and groupID take a name or a numeric id, as chown does.
func userID(name string) (int, error) {
	return numericID(name, "user", func(n string) (string, error) {
		u, err := user.Lookup(n)
		if err != nil {
			return "", err
		}
		return u.Uid, nil
	})
}

func groupID(name string) (int, error) {
	return numericID(name, "group", func(n string) (string, error) {
		g, err := user.LookupGroup(n)
		if err != nil {
			return "", err
		}
		return g.Gid, nil
	})
}

func numericID(name, kind string, lookup func(string) (string, error)) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	id, err := lookup(name)
	if err != nil {
		return 0, fmt.Errorf("invalid %s: %q", kind, name)
	}
	return strconv.Atoi(id)
}
