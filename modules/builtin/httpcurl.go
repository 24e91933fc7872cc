package builtin

// HTTP requests made on the target host, as Ansible's get_url and uri make them there: with
// the host's curl, driven by a curl config file fed on its standard input (curl --config -),
// so that URLs, headers, bodies and passwords never reach a command line.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/omsbook/omsbook/modules"
)

// curlRequest is one request for the host's curl.
type curlRequest struct {
	url            string
	method         string
	headers        map[string]string
	body           *string
	user, password string
	basic          bool // send the credentials with the first request (force_basic_auth)
	timeout        time.Duration
	insecure       bool   // validate_certs false
	output         string // file to write the body to; "" keeps it in the result
	follow         bool
	noWriteOut     bool // print only the body (for a pipe)
}

// curlResponse is what curl reported.
type curlResponse struct {
	status  int
	headers map[string]string // lower-case names, the last response's
	body    []byte
	url     string // the effective URL, after redirects
	elapsed time.Duration
	rc      int
	stderr  string
}

// curlQuote quotes s for a curl config file: in double quotes, with \\ \" \n \r \t escaped.
func curlQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// curlMarker separates the body from what --write-out prints after it.
const curlMarker = "\x1eomsbook-curl:"

func (r curlRequest) config() string {
	var b strings.Builder
	set := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, curlQuote(v)) }
	set("url", r.url)
	b.WriteString("silent\nshow-error\n")
	if r.follow {
		b.WriteString("location\n")
	}
	if r.method != "" {
		set("request", r.method)
	}
	if r.insecure {
		b.WriteString("insecure\n")
	}
	if r.timeout > 0 {
		set("max-time", strconv.FormatFloat(r.timeout.Seconds(), 'f', -1, 64))
	}
	names := make([]string, 0, len(r.headers))
	for k := range r.headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		set("header", k+": "+r.headers[k])
	}
	if r.user != "" || r.password != "" {
		set("user", r.user+":"+r.password)
		if !r.basic {
			b.WriteString("anyauth\n")
		}
	}
	if r.body != nil {
		set("data-raw", *r.body)
	}
	if r.output != "" {
		set("output", r.output)
	}
	if r.noWriteOut {
		return b.String()
	}
	set("write-out", curlMarker+"%{http_code} %{url_effective}\n%{header_json}")
	return b.String()
}

// curl runs the request on the host. An error is returned only when curl could not be run;
// a transfer that failed is reported in rc and stderr (curl's exit status and message).
func curl(ctx context.Context, h *modules.Host, r curlRequest) (*curlResponse, error) {
	if r.password != "" {
		h.AddSecret(r.password)
	}
	cmd := h.ArgvCmd("curl", "--config", "-")
	cmd.Stdin = strings.NewReader(r.config())
	start := time.Now()
	res, err := h.Conn.Exec(ctx, cmd)
	if err != nil {
		return nil, err
	}
	out := &curlResponse{rc: res.RC, stderr: strings.TrimSpace(string(res.Stderr)), elapsed: time.Since(start), headers: map[string]string{}}
	if res.RC == 127 {
		return nil, fmt.Errorf("curl is not installed on the host (the HTTP modules run the host's curl): %s", out.stderr)
	}
	stdout := string(res.Stdout)
	i := strings.LastIndex(stdout, curlMarker)
	if i < 0 {
		out.body = res.Stdout
		return out, nil
	}
	out.body = []byte(stdout[:i])
	rest := stdout[i+len(curlMarker):]
	first, hdrJSON, _ := strings.Cut(rest, "\n")
	code, eff, _ := strings.Cut(first, " ")
	out.status, _ = strconv.Atoi(code)
	out.url = eff
	var hdrs map[string][]string
	if json.Unmarshal([]byte(hdrJSON), &hdrs) == nil {
		for k, v := range hdrs {
			out.headers[strings.ToLower(k)] = strings.Join(v, ", ")
		}
	}
	return out, nil
}

// curlFailure describes a transfer curl could not make (no connection, TLS refused, timeout).
func curlFailure(r *curlResponse) string {
	msg := r.stderr
	if msg == "" {
		msg = fmt.Sprintf("curl exited %d", r.rc)
	}
	if r.rc == 60 {
		msg += " (the certificate is not trusted: set validate_certs: false only for a host you trust)"
	}
	return "Request failed: " + msg
}

// httpAuthArgs are the credentials arguments of get_url and uri.
var httpAuthArgs = []modules.Arg{
	{Name: "url_username", Type: modules.String, Doc: "the user name for HTTP authentication"},
	{Name: "url_password", Type: modules.String, Secret: true, Doc: "the password for HTTP authentication (secret: sent to curl on its standard input)"},
	{Name: "force_basic_auth", Type: modules.Bool, Default: false, Doc: "send the Basic credentials with the first request, not only after a 401"},
	{Name: "validate_certs", Type: modules.Bool, Default: true, Doc: "verify the server's TLS certificate; false only for a host you trust"},
}

// secretHeader reports whether a header's value is a credential, masked in every output.
func secretHeader(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"authorization", "cookie", "token", "secret", "password", "api-key", "apikey", "x-auth"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// headerArg returns the headers argument as strings, registering the credential ones as
// secrets.
func headerArg(h *modules.Host, args modules.Args) map[string]string {
	out := map[string]string{}
	for k, v := range args.Map("headers") {
		s := fmt.Sprint(v)
		out[k] = s
		if secretHeader(k) && s != "" {
			h.AddSecret(s)
		}
	}
	return out
}

// urlBase is the last path element of a URL, the file name get_url gives a download into a
// directory.
func urlBase(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	p := strings.TrimSuffix(u.Path, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	return p
}
