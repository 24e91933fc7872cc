package execproto

import "time"

// HelloMsg is the executor's first frame: who and what it is.
type HelloMsg struct {
	Version int    `json:"version"`
	PID     int    `json:"pid"`
	UID     int    `json:"uid"`
	Arch    string `json:"arch"`
}

// ExecRequest asks the executor to run a command. Exactly one of Argv and Shell is set.
type ExecRequest struct {
	Argv  []string          `json:"argv,omitempty"`
	Shell string            `json:"shell,omitempty"`
	Dir   string            `json:"dir,omitempty"`
	Env   map[string]string `json:"env,omitempty"`
	// Stdin says input follows (Data frames, then EOF); without it the command's input is empty.
	Stdin bool `json:"stdin,omitempty"`
	// Timeout, when positive, kills the command's process group after that long, even when
	// the client is gone.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// ExitStatus ends an Exec request.
type ExitStatus struct {
	RC     int    `json:"rc"`
	Signal string `json:"signal,omitempty"` // as SSH names it: "KILL", "TERM"
	// Error says the command could not be run at all (RC is then meaningless).
	Error string `json:"error,omitempty"`
}

// File operations.
const (
	OpStat     = "stat"     // Path, Follow -> Info
	OpChecksum = "checksum" // Path, Algo -> Sum
	OpRead     = "read"     // Path, Limit -> Chunk frames
	OpWrite    = "write"    // Path, Mode; the content as Data frames then EOF; atomic
	OpChmod    = "chmod"    // Path, Mode
	OpChown    = "chown"    // Path, Owner, Group, Follow, Recurse
)

// FileRequest asks the executor for one file operation, done in its own process.
type FileRequest struct {
	Op      string `json:"op"`
	Path    string `json:"path"`
	Follow  bool   `json:"follow,omitempty"`
	Algo    string `json:"algo,omitempty"`
	Limit   int64  `json:"limit,omitempty"`
	Mode    uint32 `json:"mode,omitempty"`
	Owner   string `json:"owner,omitempty"`
	Group   string `json:"group,omitempty"`
	Recurse bool   `json:"recurse,omitempty"`
	// TempPrefix, for a write: the temporary file is "<dir>/.<base>.<TempPrefix>-<random>".
	TempPrefix string `json:"temp_prefix,omitempty"`
}

// FileInfo describes a path, as the transport's PathInfo.
type FileInfo struct {
	Exists     bool   `json:"exists"`
	Type       string `json:"type,omitempty"` // file, directory, link, other
	Mode       uint32 `json:"mode,omitempty"` // Unix bits, 0o4755
	Size       int64  `json:"size,omitempty"`
	ModTime    int64  `json:"mtime_ns,omitempty"`
	Owner      string `json:"owner,omitempty"`
	Group      string `json:"group,omitempty"`
	LinkTarget string `json:"link,omitempty"`
}

// FileResult ends a File request.
type FileResult struct {
	Error string `json:"error,omitempty"`
	// Errno names the cause when the error is a system one: "ENOENT", "EACCES", "ENOSPC", ...
	Errno   string    `json:"errno,omitempty"`
	TooBig  bool      `json:"too_big,omitempty"`
	Info    *FileInfo `json:"info,omitempty"`
	Sum     string    `json:"sum,omitempty"`
	Written int64     `json:"written,omitempty"`
	// Free and Total are the bytes free and in all on the filesystem of a write that ran out
	// of space (ENOSPC, EDQUOT); Inodes says none were left.
	Free   int64 `json:"free,omitempty"`
	Total  int64 `json:"total,omitempty"`
	Inodes bool  `json:"no_inodes,omitempty"`
}
