package builtin

import (
	"context"
	"fmt"
	"os"

	"github.com/omsbook/omsbook/modules"
)

// Template renders a Go template on the controller and writes the text to the host.
type Template struct{}

func (Template) Name() string { return "template" }

func (Template) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Render a template on the controller and write it to a path on the host",
		Description: "Renders the controller file `src` (relative paths are looked up in the " +
			"playbook directory's templates/, then the playbook directory) as a Go text/template " +
			"with the sprig functions against the host's variables, or takes `content` (already " +
			"rendered like any argument), and writes the text to `dest` exactly as copy does: only " +
			"when its sha256 differs from the host file's, atomically, with `mode`, owner and " +
			"group, a backup (backup_file) and validate as copy has them.",
		CheckMode: "Renders and compares without writing: changed when the file would be written " +
			"or its mode set, ok when already so; with --diff, shows the text change.",
		Args: append([]modules.Arg{
			{Name: "src", Type: modules.String, Doc: "a template file on the controller (instead of content)"},
			{Name: "content", Type: modules.String, Doc: "the text to write (instead of src)"},
			{Name: "dest", Type: modules.String, Required: true, Doc: "the path on the host"},
			fileModeArgSpec,
			{Name: "force", Type: modules.Bool, Default: true, Doc: "replace a dest whose content differs; false: only create a missing dest"},
		}, fileWriteExtraArgs...),
		Returns: fileWriteReturns,
	}
}

// Validate requires exactly one of src and content, and a valid mode.
func (Template) Validate(args modules.Args) error { return Copy{}.Validate(args) }

func (m Template) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	src, err := templateSource(h, args)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	return writeFile(ctx, h, src, args, false)
}

func (m Template) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	src, err := templateSource(h, args)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	return writeFile(ctx, h, src, args, true)
}

// TemplateFiles is the src file, found as the task will find it; content needs none.
func (Template) TemplateFiles(h *modules.Host, args modules.Args) ([]string, error) {
	if !args.Has("src") {
		return nil, nil
	}
	p, err := controllerPath(h, args.String("src"), "templates")
	if err != nil {
		return nil, err
	}
	return []string{p}, nil
}

// maxTemplateBytes bounds a template file: templates are configuration, not data.
const maxTemplateBytes = 16 << 20

func templateSource(h *modules.Host, args modules.Args) (fileSource, error) {
	if err := oneOf(args, "content", "src"); err != nil {
		return fileSource{}, err
	}
	if args.Has("content") {
		return fileSource{data: []byte(args.String("content"))}, nil
	}
	name := args.String("src")
	p, err := controllerPath(h, name, "templates")
	if err != nil {
		return fileSource{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return fileSource{}, fmt.Errorf("template %s: %w", p, err)
	}
	if st.Size() > maxTemplateBytes {
		return fileSource{}, fmt.Errorf("template %s is %d bytes, more than %d: use copy for data files", p, st.Size(), maxTemplateBytes)
	}
	text, err := os.ReadFile(p)
	if err != nil {
		return fileSource{}, fmt.Errorf("read template %s: %w", p, err)
	}
	if h.Render == nil {
		return fileSource{}, fmt.Errorf("render template %s: no renderer for this host", p)
	}
	out, err := h.Render(string(text))
	if err != nil {
		return fileSource{}, fmt.Errorf("render template %s: %w", p, err)
	}
	s, ok := out.(string)
	if !ok {
		s = fmt.Sprint(out)
	}
	return fileSource{data: []byte(s), name: name}, nil
}
