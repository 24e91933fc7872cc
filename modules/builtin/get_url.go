package builtin

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/omsbook/omsbook/modules"
)

// GetURL downloads a file on the host from a URL the host can reach, as Ansible's get_url.
type GetURL struct{}

func (GetURL) Name() string { return "get_url" }

func (GetURL) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Download a file from HTTP(S) to the host, with the host's curl",
		Description: "As Ansible's get_url, the download runs on the target host (the URL must be " +
			"reachable from there), with the host's curl (needed on the host; the request goes to curl " +
			"on its standard input, so that url_password and headers never reach a command line). " +
			"When dest exists and force is false, nothing is downloaded; when `checksum` " +
			"(\"sha256:HEX\", also sha1: and md5:) is given and dest already has it, nothing is " +
			"downloaded either. Otherwise the file is downloaded into a temporary file beside dest, " +
			"verified against checksum, and renamed over dest only when its content differs. When " +
			"dest is a directory, the file takes the URL's last path element as its name.",
		CheckMode: "Without downloading: ok when dest exists and force is false, or has the checksum; " +
			"changed when dest is missing or its checksum differs; with force and no checksum, the " +
			"host's curl streams the URL into sha256sum (nothing written) to tell.",
		Args: append([]modules.Arg{
			{Name: "url", Type: modules.String, Required: true, Doc: "the HTTP, HTTPS or FTP URL"},
			{Name: "dest", Type: modules.String, Required: true, Doc: "the file to write on the host, or a directory to download into"},
			{Name: "checksum", Type: modules.String, Doc: "ALGORITHM:HEX (sha256, sha1 or md5) the download must have"},
			{Name: "force", Type: modules.Bool, Default: false, Doc: "download even when dest exists, and replace it when the content differs"},
			{Name: "headers", Type: modules.Map, Doc: "request headers; values of credential headers (Authorization, Cookie, *token*, ...) are masked"},
			{Name: "timeout", Type: modules.Duration, Default: 10 * time.Second, Doc: "how long the whole request may take"},
			{Name: "backup", Type: modules.Bool, Default: false, Doc: "keep a timestamped copy of a replaced dest"},
			attrModeArg, attrOwnerArg, attrGroupArg,
		}, httpAuthArgs...),
		Returns: []modules.Field{
			{Name: "dest", Type: "string", Doc: "the file written"},
			{Name: "url", Type: "string", Doc: "the URL"},
			{Name: "status_code", Type: "int", Doc: "the HTTP status of the download, when one was made"},
			{Name: "checksum_dest", Type: "string", Doc: "sha1 of dest before the download, as Ansible registers it"},
			{Name: "checksum_src", Type: "string", Doc: "sha1 of the downloaded file"},
			{Name: "size", Type: "int", Doc: "size of dest"},
			{Name: "backup_file", Type: "string", Doc: "the backup's path, when backup made one"},
			{Name: "elapsed", Type: "int", Doc: "seconds the download took"},
		},
	}
}

// Validate checks the checksum's form.
func (GetURL) Validate(args modules.Args) error {
	if c, ok := args["checksum"].(string); ok && c != "" && !unrendered(c) {
		if _, _, err := parseChecksum(c); err != nil {
			return err
		}
	}
	return nil
}

func parseChecksum(c string) (algo, sum string, err error) {
	algo, sum, ok := strings.Cut(c, ":")
	algo = strings.ToLower(strings.TrimSpace(algo))
	sum = strings.ToLower(strings.TrimSpace(sum))
	want := map[string]int{"sha256": 64, "sha1": 40, "md5": 32}[algo]
	if !ok || want == 0 || len(sum) != want {
		return "", "", fmt.Errorf("checksum %q: write it as sha256:HEX (or sha1:, md5:)", c)
	}
	return algo, sum, nil
}

func (m GetURL) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m GetURL) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

func (m GetURL) run(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	f := hostFiles(h)
	rawURL, dest := args.String("url"), args.String("dest")
	data := map[string]any{"url": rawURL, "dest": dest}
	di, err := f.Stat(ctx, dest)
	if err != nil {
		return modules.Result{}, err
	}
	if di.IsDir() {
		name := urlBase(rawURL)
		if name == "" {
			return modules.Fail(fmt.Sprintf("dest %s is a directory and the URL names no file: give dest a file name", dest), data), nil
		}
		dest = path.Join(dest, name)
		data["dest"] = dest
		if di, err = f.Stat(ctx, dest); err != nil {
			return modules.Result{}, err
		}
	}
	var algo, want string
	if c := args.String("checksum"); c != "" {
		algo, want, _ = parseChecksum(c)
	}
	req := curlRequest{url: rawURL, headers: headerArg(h, args), user: args.String("url_username"), password: args.String("url_password"),
		basic: args.Bool("force_basic_auth"), timeout: args.Duration("timeout"), insecure: !args.Bool("validate_certs"), follow: true}
	attrs := func(res modules.Result) (modules.Result, error) {
		pi, err := f.Stat(ctx, dest)
		if err != nil {
			return modules.Result{}, err
		}
		if pi.Exists {
			ch, err := applyAttrs(ctx, h, pi, args, true, apply)
			if err != nil {
				return modules.Fail(err.Error(), data), nil
			}
			res.Changed = res.Changed || ch.changed
			data["size"] = pi.Size
		}
		data["changed"] = res.Changed
		res.Data = data
		return res, nil
	}
	if di.Exists {
		if sum, err := f.Checksum(ctx, dest, "sha1"); err == nil {
			data["checksum_dest"] = sum
		}
		if want != "" {
			have, err := f.Checksum(ctx, dest, algo)
			if err != nil {
				return modules.Fail(err.Error(), data), nil
			}
			if have == want {
				return attrs(modules.Result{Msg: "file already exists and has the checksum"})
			}
		} else if !args.Bool("force") {
			return attrs(modules.Result{Msg: "file already exists"})
		}
	}
	if !apply {
		if !di.Exists || want != "" {
			return modules.Result{Changed: true, Msg: "would download " + rawURL + " to " + dest, Data: data}, nil
		}
		// force without a checksum: hash the download on the host, writing nothing.
		res, err := curlHash(ctx, h, req)
		if err != nil {
			return modules.Result{}, err
		}
		if res.failure != "" {
			return modules.Result{Unknown: true, Msg: "cannot tell without the download: " + res.failure, Data: data}, nil
		}
		have, err := f.Checksum(ctx, dest, "sha256")
		if err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		if have == res.sum {
			return attrs(modules.Result{Msg: "dest has the URL's content"})
		}
		return modules.Result{Changed: true, Msg: "would replace " + dest + " (the URL's content differs)", Data: data}, nil
	}
	tmp, err := f.TempFile(ctx, dirOf(dest), baseOf(dest))
	if err != nil {
		return modules.Fail(err.Error(), data), nil
	}
	keep := false
	defer func() {
		if !keep {
			_ = f.Remove(context.WithoutCancel(ctx), tmp, false)
		}
	}()
	req.output = tmp
	resp, err := curl(ctx, h, req)
	if err != nil {
		return execError(ctx, "curl", err)
	}
	data["status_code"] = resp.status
	data["elapsed"] = int(resp.elapsed.Seconds())
	if resp.rc != 0 {
		return modules.Fail(curlFailure(resp), data), nil
	}
	if resp.status >= 400 || resp.status == 0 {
		return modules.Fail(fmt.Sprintf("Request failed: HTTP Error %d", resp.status), data), nil
	}
	sha1sum, err := f.Checksum(ctx, tmp, "sha1")
	if err != nil {
		return modules.Fail(err.Error(), data), nil
	}
	data["checksum_src"] = sha1sum
	if want != "" {
		got, err := f.Checksum(ctx, tmp, algo)
		if err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		if got != want {
			return modules.Fail(fmt.Sprintf("The checksum for %s did not match %s; it was %s.", dest, want, got), data), nil
		}
	}
	if di.Exists && data["checksum_dest"] == sha1sum {
		return attrs(modules.Result{Msg: "dest has the URL's content"})
	}
	mode := uint32(0o644)
	if di.Exists {
		mode = di.Mode
		if args.Bool("backup") {
			bk := backupName(dest)
			if err := copyOnHost(ctx, h, dest, bk, di.Mode); err != nil {
				return modules.Fail(err.Error(), data), nil
			}
			data["backup_file"] = bk
		}
	}
	if err := f.Chmod(ctx, tmp, mode); err != nil {
		return modules.Fail(err.Error(), data), nil
	}
	if err := f.Rename(ctx, tmp, dest); err != nil {
		return modules.Fail(err.Error(), data), nil
	}
	keep = true
	return attrs(modules.Result{Changed: true, Msg: fmt.Sprintf("OK (%d)", resp.status)})
}

// copyOnHost copies the host file src to dst on the host (cp -p through the connection).
func copyOnHost(ctx context.Context, h *modules.Host, src, dst string, mode uint32) error {
	res, err := h.Conn.Exec(ctx, h.ArgvCmd("cp", "-p", "--", src, dst))
	if err != nil {
		return err
	}
	if res.RC != 0 {
		return fmt.Errorf("copy %s to %s: %s", src, dst, strings.TrimSpace(string(res.Stderr)))
	}
	return hostFiles(h).Chmod(ctx, dst, mode)
}

type hashResult struct {
	sum     string
	failure string
}

// curlHash streams the URL through the host's sha256sum without writing a file.
func curlHash(ctx context.Context, h *modules.Host, r curlRequest) (hashResult, error) {
	if r.password != "" {
		h.AddSecret(r.password)
	}
	// The line is constant: everything the request says comes on curl's standard input.
	cmd := h.ArgvCmd("sh", "-c", `{ curl --fail --config - || echo "omsbook: curl failed: $?" >&2; } | sha256sum`)
	r.noWriteOut = true
	cmd.Stdin = strings.NewReader(r.config())
	res, err := h.Conn.Exec(ctx, cmd)
	if err != nil {
		return hashResult{}, err
	}
	if res.RC != 0 || strings.Contains(string(res.Stderr), "omsbook: curl failed") {
		return hashResult{failure: strings.TrimSpace(string(res.Stderr))}, nil
	}
	f := strings.Fields(string(res.Stdout))
	if len(f) == 0 {
		return hashResult{failure: "sha256sum printed nothing"}, nil
	}
	return hashResult{sum: f[0]}, nil
}
