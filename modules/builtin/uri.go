package builtin

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

// URI makes an HTTP request from the host, as Ansible's uri.
type URI struct{}

func (URI) Name() string { return "uri" }

func (URI) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Make an HTTP(S) request from the host, with the host's curl, and register the response",
		Description: "As Ansible's uri, the request is made on the target host (the URL must be " +
			"reachable from there) with the host's curl (needed on the host; the request goes to " +
			"curl on its standard input, never on a command line). `body` is sent as it is " +
			"(body_format raw), as JSON (json: a map or list is encoded, Content-Type " +
			"application/json), or form-urlencoded (a map). The task fails when the status is not " +
			"one of status_code. Redirects are followed. The response's headers are registered " +
			"in `headers` and, as Ansible does, at the top level with lower-case names and _ for - " +
			"(content_type). A request changes nothing that omsbook can see: it reports ok (use " +
			"changed_when).",
		CheckMode: "GET and HEAD requests are made (they only read); other methods are not sent, " +
			"and the result is unknown.",
		Args: append([]modules.Arg{
			{Name: "url", Type: modules.String, Required: true, Doc: "the HTTP or HTTPS URL"},
			{Name: "method", Type: modules.String, Default: "GET", Doc: "the HTTP method"},
			{Name: "body", Type: modules.Any, Doc: "the request body: a string, or for json / form-urlencoded a map (or list for json)"},
			{Name: "body_format", Type: modules.String, Default: "raw", Choices: []string{"raw", "json", "form-urlencoded"}, Doc: "how body is encoded"},
			{Name: "headers", Type: modules.Map, Doc: "request headers; values of credential headers (Authorization, Cookie, *token*, ...) are masked"},
			{Name: "status_code", Type: modules.Any, Default: []any{200}, Doc: "the status, or list of statuses, that mean success"},
			{Name: "return_content", Type: modules.Bool, Default: false, Doc: "register the body as content (and json when it is JSON)"},
			{Name: "timeout", Type: modules.Duration, Default: 30 * time.Second, Doc: "how long the request may take"},
		}, httpAuthArgs...),
		Returns: []modules.Field{
			{Name: "status", Type: "int", Doc: "the HTTP status"},
			{Name: "url", Type: "string", Doc: "the final URL, after redirects"},
			{Name: "content", Type: "string", Doc: "the body, with return_content (or when the status is refused)"},
			{Name: "json", Type: "any", Doc: "the decoded body, with return_content and a JSON response"},
			{Name: "headers", Type: "map", Doc: "the response headers, lower-case names"},
			{Name: "msg", Type: "string", Doc: "\"OK (N bytes)\" or why the request failed"},
			{Name: "elapsed", Type: "int", Doc: "seconds the request took"},
		},
	}
}

// Validate checks status_code and the body's type for its format.
func (URI) Validate(args modules.Args) error {
	if _, err := statusCodes(args["status_code"]); err != nil && !unrendered(args["status_code"]) {
		return err
	}
	return nil
}

func statusCodes(v any) ([]int, error) {
	var items []any
	switch x := v.(type) {
	case nil:
		return []int{200}, nil
	case []any:
		items = x
	default:
		items = []any{x}
	}
	var out []int
	for _, it := range items {
		n, err := modules.Int.Coerce(it)
		if err != nil {
			return nil, fmt.Errorf("status_code: %v is not a status (a number or a list of numbers)", it)
		}
		out = append(out, n.(int))
	}
	return out, nil
}

func uriBody(args modules.Args) (*string, string, error) {
	b, ok := args["body"]
	if !ok || b == nil {
		return nil, "", nil
	}
	switch args.String("body_format") {
	case "json":
		if s, ok := b.(string); ok {
			return &s, "application/json", nil
		}
		j, err := json.Marshal(b)
		if err != nil {
			return nil, "", fmt.Errorf("body: %w", err)
		}
		s := string(j)
		return &s, "application/json", nil
	case "form-urlencoded":
		if s, ok := b.(string); ok {
			return &s, "application/x-www-form-urlencoded", nil
		}
		m, ok := b.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("body: form-urlencoded takes a map or a string")
		}
		vals := url.Values{}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			vals.Add(k, fmt.Sprint(m[k]))
		}
		s := vals.Encode()
		return &s, "application/x-www-form-urlencoded", nil
	}
	s := fmt.Sprint(b)
	return &s, "", nil
}

func (m URI) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	if meth := strings.ToUpper(args.String("method")); meth != "GET" && meth != "HEAD" {
		return modules.Result{Unknown: true, Msg: meth + " request not sent in check mode"}, nil
	}
	return m.Apply(ctx, h, args)
}

func (m URI) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	codes, err := statusCodes(args["status_code"])
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	body, ctype, err := uriBody(args)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	headers := headerArg(h, args)
	if ctype != "" {
		has := false
		for k := range headers {
			has = has || strings.EqualFold(k, "Content-Type")
		}
		if !has {
			headers["Content-Type"] = ctype
		}
	}
	method := strings.ToUpper(args.String("method"))
	req := curlRequest{url: args.String("url"), method: method, headers: headers, body: body, user: args.String("url_username"),
		password: args.String("url_password"), basic: args.Bool("force_basic_auth"), timeout: args.Duration("timeout"),
		insecure: !args.Bool("validate_certs"), follow: true}
	resp, err := curl(ctx, h, req)
	if err != nil {
		return execError(ctx, "curl", err)
	}
	data := map[string]any{"url": args.String("url"), "status": resp.status, "elapsed": int(resp.elapsed.Seconds()), "changed": false}
	if resp.rc != 0 {
		data["status"] = -1
		return modules.Fail(curlFailure(resp), data), nil
	}
	if resp.url != "" {
		data["url"] = resp.url
	}
	hdrs := map[string]any{}
	for k, v := range resp.headers {
		hdrs[k] = v
		key := strings.ReplaceAll(k, "-", "_")
		if _, taken := data[key]; !taken {
			data[key] = v
		}
	}
	data["headers"] = hdrs
	data["msg"] = fmt.Sprintf("OK (%s bytes)", contentLength(resp))
	ok := false
	for _, c := range codes {
		ok = ok || c == resp.status
	}
	if args.Bool("return_content") || !ok {
		data["content"] = string(resp.body)
		if strings.Contains(resp.headers["content-type"], "json") {
			var js any
			if json.Unmarshal(resp.body, &js) == nil {
				data["json"] = js
			}
		}
	}
	if !ok {
		want := make([]string, len(codes))
		for i, c := range codes {
			want[i] = strconv.Itoa(c)
		}
		msg := fmt.Sprintf("Status code was %d and not [%s]: HTTP Error %d", resp.status, strings.Join(want, ", "), resp.status)
		data["msg"] = msg
		return modules.Fail(msg, data), nil
	}
	return modules.Result{Msg: data["msg"].(string), Data: data}, nil
}

func contentLength(r *curlResponse) string {
	if l := r.headers["content-length"]; l != "" {
		return l
	}
	return strconv.Itoa(len(r.body))
}
