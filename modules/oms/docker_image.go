package oms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// DockerImage loads an image archive (docker save output) or makes sure an image is present
// or absent on the host.
type DockerImage struct{}

// Name is the task key.
func (DockerImage) Name() string { return "docker_image" }

// Spec declares the arguments.
func (DockerImage) Spec() modules.Spec {
	return modules.Spec{
		Summary: "load a docker image archive, or keep an image present or absent",
		Description: `load: an archive written by docker save (gzip allowed) on the executing host. Its manifest is
read with tar; the archive is loaded unless every image it holds is already present with the same
id. name with state present pulls a missing image (there may be no registry: prefer load);
state absent removes it.`,
		CheckMode: "reads the archive's manifest and the host's images; says whether it would load, pull or remove",
		Args: []modules.Arg{
			{Name: "load", Type: modules.String, Doc: "path of the image archive on the host"},
			{Name: "name", Type: modules.String, Doc: "image reference, e.g. oms:feature_4.2.3-ce"},
			{Name: "state", Type: modules.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "with name: the image is present or absent"},
			{Name: "force", Type: modules.Bool, Default: false, Doc: "load even when the images are present"},
			dockerCmdArg,
		},
		Returns: []modules.Field{
			{Name: "images", Type: "list", Doc: "the archive's (or the named) images: [{name, id, present}]"},
			{Name: "loaded", Type: "list", Doc: "the names docker load reported"},
		},
	}
}

// Validate wants exactly one of load and name.
func (DockerImage) Validate(args modules.Args) error {
	if args.Has("load") == args.Has("name") {
		return errors.New("give exactly one of load (an archive path) and name (an image reference)")
	}
	return nil
}

// Check says what Apply would do.
func (m DockerImage) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

// Apply loads, pulls or removes.
func (m DockerImage) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m DockerImage) run(ctx context.Context, h *modules.Host, args modules.Args, check bool) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	d := newDockerCLI(h, args)
	if args.Has("load") {
		return dockerLoadImage(ctx, d, args.String("load"), args.Bool("force"), check)
	}
	name := args.String("name")
	id, err := dockerImageID(ctx, d, name)
	if err != nil {
		return modules.Result{}, err
	}
	data := map[string]any{"images": []any{map[string]any{"name": name, "id": id, "present": id != ""}}}
	switch {
	case args.String("state") == "absent" && id == "":
		return modules.Result{Msg: "image " + name + " is absent", Data: data}, nil
	case args.String("state") == "absent":
		if check {
			return modules.Result{Changed: true, Msg: "would remove image " + name, Data: data}, nil
		}
		if _, err := d.runOK(ctx, "rmi", name); err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		return modules.Result{Changed: true, Msg: "removed image " + name, Data: data}, nil
	case id != "":
		return modules.Result{Msg: "image " + name + " is present", Data: data}, nil
	case check:
		return modules.Result{Changed: true, Msg: "would pull image " + name, Data: data}, nil
	}
	if _, err := d.runOK(ctx, "pull", name); err != nil {
		return modules.Fail(fmt.Sprintf("image %s is not on %s and cannot be pulled (load it from an archive instead): %v", name, h.Name, err), data), nil
	}
	id, err = dockerImageID(ctx, d, name)
	if err != nil {
		return modules.Result{}, err
	}
	data["images"] = []any{map[string]any{"name": name, "id": id, "present": id != ""}}
	return modules.Result{Changed: true, Msg: "pulled image " + name, Data: data}, nil
}

// dockerImageID returns the id of an image, "" when it is not present.
func dockerImageID(ctx context.Context, d dockerCLI, ref string) (string, error) {
	res, err := d.run(ctx, "image", "inspect", "--format", "{{.Id}}", "--", ref)
	if err != nil {
		return "", err
	}
	if res.RC != 0 {
		if dockerNoSuch(res) {
			return "", nil
		}
		return "", fmt.Errorf("docker image inspect %s on %s failed: %s", ref, d.h.Name, dockerMessage(res))
	}
	return strings.TrimSpace(string(res.Stdout)), nil
}

// archiveImage is one image an archive's manifest.json lists.
type archiveImage struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
}

// id is the image id the manifest records: the config blob's digest.
func (a archiveImage) id() string {
	base := strings.TrimSuffix(path.Base(a.Config), ".json")
	return "sha256:" + base
}

func dockerLoadImage(ctx context.Context, d dockerCLI, archive string, force, check bool) (modules.Result, error) {
	h := d.h
	if _, err := h.Conn.Stat(ctx, archive); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return modules.Fail(fmt.Sprintf("image archive %s does not exist on %s: copy the package there first", archive, h.Name), nil), nil
		}
		return modules.Result{}, fmt.Errorf("stat image archive %s on %s: %w", archive, h.Name, err)
	}
	// tar recognises a gzip-compressed archive by itself when reading a file.
	res, err := h.Conn.Exec(ctx, h.ArgvCmd("tar", "-xOf", archive, "manifest.json"))
	if err != nil {
		return modules.Result{}, fmt.Errorf("read the manifest of %s on %s: %w", archive, h.Name, err)
	}
	var manifest []archiveImage
	manifestErr := ""
	if res.RC != 0 {
		manifestErr, _, _ = strings.Cut(strings.TrimSpace(string(res.Stderr)), "\n")
	} else if err := json.Unmarshal(res.Stdout, &manifest); err != nil || len(manifest) == 0 {
		manifestErr = "manifest.json is not a docker save manifest"
	}
	var images []any
	missing := 0
	if manifestErr == "" {
		have, err := dockerPresentImages(ctx, d)
		if err != nil {
			return modules.Result{}, err
		}
		for _, img := range manifest {
			names := img.RepoTags
			if len(names) == 0 {
				names = []string{""}
			}
			for _, n := range names {
				present := false
				if n == "" {
					present = have.ids[img.id()]
				} else {
					present = have.tags[n] == img.id()
				}
				if !present {
					missing++
				}
				images = append(images, map[string]any{"name": n, "id": img.id(), "present": present})
			}
		}
	}
	data := map[string]any{"images": images, "loaded": []any{}}
	if manifestErr == "" && missing == 0 && !force {
		return modules.Result{Msg: fmt.Sprintf("every image of %s is present", archive), Data: data}, nil
	}
	if check {
		if manifestErr != "" {
			return modules.Fail(fmt.Sprintf("image archive %s on %s is not a docker image archive: %s", archive, h.Name, manifestErr), data), nil
		}
		return modules.Result{Changed: true, Msg: fmt.Sprintf("would load %s (%d image(s) missing)", archive, missing), Data: data}, nil
	}
	// A corrupt archive is still handed to docker load, so that the message is docker's own.
	out, err := d.runOK(ctx, "load", "-i", archive)
	if err != nil {
		msg := fmt.Sprintf("load image archive %s on %s: %v", archive, h.Name, err)
		if manifestErr != "" {
			msg += " (" + manifestErr + ")"
		}
		return modules.Fail(msg, data), nil
	}
	var loaded []any
	for _, line := range strings.Split(out, "\n") {
		for _, prefix := range []string{"Loaded image: ", "Loaded image ID: "} {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
				loaded = append(loaded, rest)
			}
		}
	}
	data["loaded"] = loaded
	for _, img := range images {
		img.(map[string]any)["present"] = true
	}
	return modules.Result{Changed: true, Msg: fmt.Sprintf("loaded %s: %s", archive, joinAny(loaded)), Data: data}, nil
}

func joinAny(l []any) string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = fmt.Sprint(e)
	}
	return strings.Join(s, ", ")
}

type dockerImageSet struct {
	tags map[string]string // repo:tag -> id
	ids  map[string]bool
}

// dockerPresentImages lists the host's images in one call.
func dockerPresentImages(ctx context.Context, d dockerCLI) (dockerImageSet, error) {
	out, err := d.runOK(ctx, "images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
	if err != nil {
		return dockerImageSet{}, fmt.Errorf("list images on %s: %w", d.h.Name, err)
	}
	set := dockerImageSet{tags: map[string]string{}, ids: map[string]bool{}}
	for _, line := range strings.Split(out, "\n") {
		name, id, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		set.ids[id] = true
		if !strings.Contains(name, "<none>") {
			set.tags[name] = id
		}
	}
	return set, nil
}
