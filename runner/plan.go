package runner

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omsbook/omsbook/inventory"
	"github.com/omsbook/omsbook/journal"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/playbook"
	"github.com/omsbook/omsbook/secret"
	"github.com/omsbook/omsbook/tmpl"
	"github.com/omsbook/omsbook/transport"
)

// plan is the loaded playbook, checked against every host it would run on.
type plan struct {
	opts    Options
	pb      *playbook.Playbook
	inv     *inventory.Inventory
	baseDir string // the playbook's directory: vars_files and playbook_dir are relative to it

	// lookup finds a module by name; tests inject their own modules here.
	lookup func(name string) (modules.Module, bool)
	// dial opens the connection to one host; transport.Dial unless a test replaces it.
	dial func(ctx context.Context, spec transport.Spec) (transport.Conn, error)

	secrets *secret.Set
	extra   map[string]any
	// runVarID is the omsbook_run_id variable: one value for the whole run, another for the next.
	runVarID string

	hostByName map[string]*inventory.Host // every inventory host plus "localhost"
	// baseVars are each host's inventory vars (inventory < region < node) with templates
	// resolved, before any play.
	baseVars map[string]map[string]any
	groups   map[string]any // the `groups` magic variable
	// specs and becomePasswords are each host's connection settings with templates rendered.
	specs           map[string]transport.Spec
	becomePasswords map[string]string
	// staticHostvars maps every host to its baseVars, the `hostvars` seen while checking.
	staticHostvars map[string]any
	// registers and factNames are names only known at run time: every register name and
	// every set_fact key of the playbook.
	runtimeNames map[string]bool

	plays []*playPlan

	// warnings are said when the run starts (an ssh config option read in a weaker form).
	warnings []string

	// hostErrs are hosts whose inventory variables do not render: an error once a play (or a
	// delegate_to) uses the host.
	hostErrs map[string]error

	// planning maps each play to its plan while it is being planned (includes read later
	// resolve their notify against the play's handlers).
	planning map[*playbook.Play]*playPlan

	// promptIn reads vars_prompt answers (one reader for every prompt of the run).
	promptIn *bufio.Reader

	// resume is what a --resume goes on from.
	resume *resumeState

	// lock is the inventory's lock a changing run holds; taken by Plan.Start.
	lock *runLock

	// journal records the run; opened by Plan.Start.
	journal *journal.Journal

	stopping atomic.Bool

	regionMu    sync.Mutex // guards regionCache and hostGroups
	regionCache map[string][]any
	hostGroups  map[string][]any

	// templateTexts caches the template files load checks (path -> templateText): each is
	// read once however many hosts render it.
	templateTexts sync.Map
}

// templateText is one template file as read for checking.
type templateText struct {
	text string
	err  error
}

// maxCheckedTemplateBytes bounds a template file read for checking, as the template module
// bounds what it renders.
const maxCheckedTemplateBytes = 16 << 20

// templateFile reads a controller template file once per run.
func (p *plan) templateFile(path string) (string, error) {
	if v, ok := p.templateTexts.Load(path); ok {
		tt := v.(templateText)
		return tt.text, tt.err
	}
	var tt templateText
	st, err := os.Stat(path)
	switch {
	case err != nil:
		tt.err = fmt.Errorf("template %s: %w", path, err)
	case st.Size() > maxCheckedTemplateBytes:
		tt.err = fmt.Errorf("template %s is %d bytes, more than %d: use copy for data files", path, st.Size(), maxCheckedTemplateBytes)
	default:
		data, err := os.ReadFile(path)
		tt.text, tt.err = string(data), err
	}
	p.templateTexts.Store(path, tt)
	return tt.text, tt.err
}

// playPlan is one play with the hosts it runs on and its checked tasks.
type playPlan struct {
	play  *playbook.Play
	title string // the play's name as output shows it, set when it starts
	hosts []*inventory.Host
	// sections are pre_tasks, tasks and post_tasks, each followed by a handler flush; tasks
	// is all of them in order (for checks and listings).
	sections [][]*taskPlan
	tasks    []*taskPlan
	// handlers run at the end of a section on the hosts where a task notified them.
	handlers []*taskPlan
	// varsFiles caches the contents of each vars_files path.
	varsFiles map[string]map[string]any
	playHosts []any // the play_hosts variable, shared by every host
	// prompted are the play's vars_prompt answers.
	prompted map[string]any
	// ended: meta end_play ended the play.
	ended atomic.Bool
	// rollbackHint is the play's rollback_hint var as rendered at run time, for the message
	// that ends a failed run.
	rollbackHint string
}

// taskPlan is one task, or a block, with what load resolved about it.
type taskPlan struct {
	t    *playbook.Task
	name string // shown name: the task's name or, without one, its module's
	mod  modules.Module
	spec modules.Spec
	tags []string // the task's own tags plus its play's and enclosing blocks'
	// selected is false for tasks --tags/--skip-tags leave out.
	selected bool

	block, rescue, always []*taskPlan
	// set is what the task's keywords mean for it, merged from its play and blocks.
	set settings

	// argNames are the module arguments, sorted; templatedArgs those holding a template.
	argNames, templatedArgs []string
	secretArgs              map[string]bool
	// argsStringShaped: every templated argument is a whole string declared as a string (or
	// any) without choices, so once one host passed the full argument check
	// (argsShapeChecked), other hosts only need their templates rendered.
	argsStringShaped, argsShapeChecked bool

	loopVar string
	// handler: the task is one of the play's handlers; notify: the handlers it notifies.
	handler bool
	notify  []*taskPlan
	// include is set for include_tasks: the files it runs, planned when first known.
	include *includePlan
	// meta is the action of a meta task (flush_handlers, end_play, ...), "" otherwise.
	meta string
}

// roleTaskName is a task's shown name: in a role, "role : name", as ansible-playbook shows it.
func roleTaskName(chain []*playbook.Task, t *playbook.Task) string {
	if role := nearestRole(chain, t); role != nil && !t.IsBlock() {
		return role.Name + " : " + displayName(t)
	}
	return displayName(t)
}

// nearestRole is the role a task belongs to: its own (a role's handler), or its innermost
// enclosing role block's.
func nearestRole(chain []*playbook.Task, t *playbook.Task) *playbook.Role {
	if t.Role != nil && !t.IsBlock() {
		return t.Role
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].Role != nil {
			return chain[i].Role
		}
	}
	return nil
}

// displayName names a task as output shows it.
func displayName(t *playbook.Task) string {
	if t.Name != "" {
		return t.Name
	}
	switch {
	case t.Include != nil:
		return t.Include.Keyword
	case t.IsBlock():
		return "block"
	}
	return t.Module
}

// newPlan checks pb against inv for every host each play would run on. It reads vars_files
// but touches no host.
func newPlan(ctx context.Context, pb *playbook.Playbook, inv *inventory.Inventory, opts Options,
	lookup func(string) (modules.Module, bool)) (*plan, error) {
	if opts.Forks <= 0 {
		opts.Forks = 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch opts.Gathering {
	case "", "implicit", "explicit", "smart":
	default:
		return nil, fmt.Errorf("gathering %q: want implicit, explicit or smart (OMSBOOK_GATHERING)", opts.Gathering)
	}
	p := &plan{
		opts:         opts,
		pb:           pb,
		inv:          inv,
		baseDir:      filepath.Dir(pb.File),
		lookup:       lookup,
		dial:         defaultDial,
		secrets:      &secret.Set{},
		hostByName:   map[string]*inventory.Host{},
		baseVars:     map[string]map[string]any{},
		runtimeNames: map[string]bool{},

		specs:           map[string]transport.Spec{},
		becomePasswords: map[string]string{},
		runVarID:        newRunID(),
	}
	if abs, err := filepath.Abs(p.baseDir); err == nil {
		p.baseDir = abs
	}
	extra, err := parseExtraVars(opts.ExtraVars)
	if err != nil {
		return nil, err
	}
	p.extra = extra
	collectRuntimeNames(pb, lookup, p.runtimeNames)
	for _, pl := range pb.Plays {
		// The facts a play's gathering sets are run-time names too.
		if g := p.gatherTask(pl); g != nil {
			collectRuntimeNames(&playbook.Playbook{Plays: []*playbook.Play{{Tasks: []*playbook.Task{g}}}}, lookup, p.runtimeNames)
			break
		}
	}
	if err := p.loadInventory(); err != nil {
		return nil, p.maskError(err)
	}
	p.opts.Tags, p.opts.SkipTags = splitList(opts.Tags), splitList(opts.SkipTags)
	if opts.StartAtTask != "" && !hasTaskNamed(pb, opts.StartAtTask) {
		return nil, fmt.Errorf("--start-at-task %q: no task has that name (run `omsbook list-tasks` to see them)", opts.StartAtTask)
	}

	for _, pl := range pb.Plays {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("load interrupted: %w", err)
		}
		pp, err := p.planPlay(pl)
		if err != nil {
			return nil, p.maskError(err)
		}
		p.plays = append(p.plays, pp)
	}
	if opts.Resume != "" {
		if opts.StartAtTask != "" {
			return nil, errors.New("--resume and --start-at-task say where to start twice: give one")
		}
		if err := p.loadResume(); err != nil {
			return nil, p.maskError(err)
		}
	}
	return p, nil
}

// maskError hides secret values in a load error's text.
func (p *plan) maskError(err error) error {
	var pe *playbook.Error
	if errors.As(err, &pe) {
		masked := *pe
		masked.Msg, masked.Fix = p.secrets.Mask(pe.Msg), p.secrets.Mask(pe.Fix)
		if pe.Err != nil && masked.Msg != pe.Msg {
			masked.Err = errors.New(p.secrets.Mask(pe.Err.Error()))
		}
		return &masked
	}
	if err != nil && p.secrets.Mask(err.Error()) != err.Error() {
		return errors.New(p.secrets.Mask(err.Error()))
	}
	return err
}

// loadInventory resolves every host's inventory vars and registers the inventory's secrets.
func (p *plan) loadInventory() error {
	hosts := append([]*inventory.Host(nil), p.inv.Hosts...)
	if !hasHost(hosts, inventory.ControllerName) {
		hosts = append(hosts, p.inv.Localhost())
	}
	groups := map[string]any{}
	for name, members := range p.inv.Groups {
		list := make([]any, len(members))
		for i, m := range members {
			list[i] = m
		}
		groups[name] = list
	}
	p.groups = groups
	sshCfg, err := p.sshConfig()
	if err != nil {
		return err
	}
	for _, h := range hosts {
		p.hostByName[h.Name] = h
		vars := copyMap(h.Vars, 8)
		normalize(vars)
		eligible := make(map[string]bool, len(vars))
		for k := range vars {
			eligible[k] = true
		}
		// Extra vars take part in resolution so that inventory templates may use them; they
		// win over inventory values anyway.
		for k, v := range p.extra {
			vars[k] = v
			delete(eligible, k)
		}
		p.addMagic(vars, h)
		if _, err := resolveTemplates(vars, eligible, p.isRuntimeName); err != nil {
			// Said only if a play uses the host: inventory variables are rendered where they
			// are used, so one that needs a node's variable does not break localhost.
			if p.hostErrs == nil {
				p.hostErrs = map[string]error{}
			}
			p.hostErrs[h.Name] = &playbook.Error{Pos: h.Pos, Msg: fmt.Sprintf("host %s: %v", h.Name, err), Fix: "define the variable in the inventory or with -e", Err: err}
		}
		p.baseVars[h.Name] = vars
		for _, name := range p.inv.Secrets {
			if v, ok := inventory.PathValue(vars, name); ok {
				p.secrets.AddAll(v)
			}
		}
		// Connection secrets may be templates too (a password from the environment).
		spec := h.Conn
		sshPw, err := tmpl.RenderString(spec.SSHPassword, vars)
		if err != nil {
			return &playbook.Error{Pos: h.Pos, Msg: fmt.Sprintf("host %s: ssh_password: %v", h.Name, err), Fix: "define the variable the template uses", Err: err}
		}
		spec.SSHPassword = sshPw
		becomePw, err := tmpl.RenderString(h.BecomePassword, vars)
		if err != nil {
			return &playbook.Error{Pos: h.Pos, Msg: fmt.Sprintf("host %s: become_password: %v", h.Name, err), Fix: "define the variable the template uses", Err: err}
		}
		spec, warnings, err := sshCfg.Apply(spec)
		if err != nil {
			return &playbook.Error{Pos: h.Pos, Msg: fmt.Sprintf("host %s: %v", h.Name, err), Fix: "correct the ssh config, or name another with --ssh-config", Err: err}
		}
		p.warnings = append(p.warnings, warnings...)
		p.specs[h.Name] = spec
		p.becomePasswords[h.Name] = becomePw
		p.secrets.Add(sshPw)
		p.secrets.Add(becomePw)
		if bp, ok := vars["become_password"].(string); ok {
			p.secrets.Add(bp)
		}
	}
	p.staticHostvars = make(map[string]any, len(p.baseVars))
	for name, vars := range p.baseVars {
		p.staticHostvars[name] = vars
	}
	return nil
}

// sshConfig reads the ssh client configuration the options name.
func (p *plan) sshConfig() (*transport.SSHConfig, error) {
	if p.opts.SSHConfig == "none" {
		return nil, nil
	}
	return transport.LoadSSHConfig(p.opts.SSHConfig)
}

func hasHost(hosts []*inventory.Host, name string) bool {
	for _, h := range hosts {
		if h.Name == name {
			return true
		}
	}
	return false
}

// addMagic sets the variables every host has: its name, region, the region's nodes, groups,
// and where the playbook is.
func (p *plan) addMagic(vars map[string]any, h *inventory.Host) {
	vars["inventory_hostname"] = h.Name
	vars["region"] = h.Region
	vars["region_nodes"] = p.regionNodes(h.Region)
	vars["groups"] = p.groups
	vars["playbook_dir"] = p.baseDir
	vars["omsbook_check_mode"] = p.opts.Check
	vars["omsbook_run_id"] = p.runVarID
	// Ansible's names for the same things.
	vars["ansible_check_mode"] = p.opts.Check
	vars["ansible_diff_mode"] = p.opts.Diff
	vars["inventory_hostname_short"], _, _ = strings.Cut(h.Name, ".")
	vars["group_names"] = p.groupNames(h.Name)
	// inventory_file lets a message name the command to run next (the first -i, as Ansible's).
	vars["inventory_file"] = ""
	if len(p.opts.Inventories) > 0 {
		vars["inventory_file"] = p.opts.Inventories[0]
	}
}

// newRunID is a run's omsbook_run_id: 8 random lower-case hex digits, so that it may stand in
// a container or file name (e.g. a throw-away container that must not collide with one of
// another run on the same Docker Engine).
func newRunID() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on the systems Go supports; the clock is a fallback.
		return fmt.Sprintf("%08x", uint32(time.Now().UnixNano()))
	}
	return hex.EncodeToString(b[:])
}

// isRuntimeName reports whether a name is only defined at run time (register, set_fact).
func (p *plan) isRuntimeName(name string) bool { return p.runtimeNames[name] }

// lazyVar is a play variable whose template needs a run-time name: it is rendered before each
// task instead of once per play.
type lazyVar struct {
	name string
	raw  any
}

// splitList splits comma-separated entries ("a,b" as one --tags value) and drops blanks.
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// hasTaskNamed reports whether a task of the playbook (at any depth, in any section) has that
// name: as written, as shown, or as shown in its role ("role : name").
func hasTaskNamed(pb *playbook.Playbook, name string) bool {
	var walk func(ts []*playbook.Task, chain []*playbook.Task) bool
	walk = func(ts []*playbook.Task, chain []*playbook.Task) bool {
		for _, t := range ts {
			inner := append(chain[:len(chain):len(chain)], t)
			if displayName(t) == name || t.Name == name || roleTaskName(chain, t) == name ||
				walk(t.Block, inner) || walk(t.Rescue, inner) || walk(t.Always, inner) {
				return true
			}
		}
		return false
	}
	for _, pl := range pb.Plays {
		for _, section := range [][]*playbook.Task{pl.PreTasks, pl.RoleTasks, pl.Tasks, pl.PostTasks} {
			if walk(section, nil) {
				return true
			}
		}
	}
	return false
}

// magicNames are the variables omsbook sets itself.
var magicNames = []string{"inventory_hostname", "region", "region_nodes", "groups", "playbook_dir", "inventory_file", "omsbook_check_mode", "omsbook_run_id", "hostvars", "play_hosts", "role_name", "role_path",
	"ansible_check_mode", "ansible_diff_mode", "inventory_hostname_short", "group_names", "ansible_play_hosts", "ansible_play_batch"}

// groupNames is a host's group_names, as Ansible's: the groups it is in, sorted, without all
// and ungrouped.
func (p *plan) groupNames(host string) []any {
	p.regionMu.Lock()
	defer p.regionMu.Unlock()
	if p.hostGroups == nil {
		p.hostGroups = map[string][]any{}
		names := make([]string, 0, len(p.inv.Groups))
		for g := range p.inv.Groups {
			names = append(names, g)
		}
		sort.Strings(names)
		for _, g := range names {
			if g == "all" || g == "ungrouped" {
				continue
			}
			for _, m := range p.inv.Groups[g] {
				p.hostGroups[m] = append(p.hostGroups[m], g)
			}
		}
	}
	if gs, ok := p.hostGroups[host]; ok {
		return gs
	}
	return []any{}
}

// regionNodes lists a region's node names, computed once per region: every host of the
// region shares the list (templates only read it).
func (p *plan) regionNodes(region string) []any {
	p.regionMu.Lock()
	defer p.regionMu.Unlock()
	if p.regionCache == nil {
		p.regionCache = map[string][]any{}
		for _, o := range p.inv.Hosts {
			if o.Region != "" {
				p.regionCache[o.Region] = append(p.regionCache[o.Region], o.Name)
			}
		}
	}
	if nodes, ok := p.regionCache[region]; ok {
		return nodes
	}
	return []any{}
}

// collectRuntimeNames finds every name a task may define at run time: register names, and the
// variables modules say they define (modules.VarDefiner).
func collectRuntimeNames(pb *playbook.Playbook, lookup func(string) (modules.Module, bool), out map[string]bool) {
	where := modules.DefineContext{}
	if pb.File != "" {
		if abs, err := filepath.Abs(filepath.Dir(pb.File)); err == nil {
			where.PlaybookDir = abs
		}
	}
	var walk func(ts []*playbook.Task, where modules.DefineContext)
	walk = func(ts []*playbook.Task, where modules.DefineContext) {
		for _, t := range ts {
			if t.Role != nil {
				where.RolePath = t.Role.Path
			}
			if t.Register != "" {
				out[t.Register] = true
			}
			if m, ok := lookup(t.Module); ok && t.Module != "" {
				if d, ok := m.(modules.VarDefiner); ok {
					raw := make(map[string]any, len(t.Args))
					for k, v := range t.Args {
						raw[k] = v.V
					}
					for _, name := range d.DefinedVars(raw, where) {
						out[name] = true
					}
				}
			}
			walk(t.Block, where)
			walk(t.Rescue, where)
			walk(t.Always, where)
		}
	}
	for _, pl := range pb.Plays {
		// Every section defines names: pre_tasks, roles, tasks, post_tasks and handlers.
		for _, section := range [][]*playbook.Task{pl.PreTasks, pl.RoleTasks, pl.Tasks, pl.PostTasks, pl.Handlers} {
			walk(section, where)
		}
	}
}

// planPlay matches the play's hosts, builds every host's variables and checks every task.
func (p *plan) planPlay(pl *playbook.Play) (*playPlan, error) {
	pp := &playPlan{play: pl, varsFiles: map[string]map[string]any{}}
	if p.planning == nil {
		p.planning = map[*playbook.Play]*playPlan{}
	}
	p.planning[pl] = pp
	hosts, err := p.playHosts(pl)
	if err != nil {
		return nil, err
	}
	pp.hosts = hosts
	if err := p.answerPrompts(pp); err != nil {
		return nil, err
	}
	if err := p.planSections(pp); err != nil {
		return nil, err
	}
	if p.opts.ListOnly {
		return pp, nil
	}
	// Check every task for every host the play would run on.
	for _, h := range pp.hosts {
		vars, lazy, err := p.playVars(pp, h, nil)
		if err != nil {
			return nil, err
		}
		p.registerPlaySecrets(pp, h, vars)
		hc := &hostCheck{h: h, vars: vars}
		for _, lv := range lazy {
			if hc.lazy == nil {
				hc.lazy = map[string]bool{}
			}
			hc.lazy[lv.name] = true
		}
		if err := p.checkTasks(pp.tasks, hc); err != nil {
			return nil, err
		}
		if err := p.checkTasks(pp.handlers, hc); err != nil {
			return nil, err
		}
	}
	return pp, nil
}

// playHosts are the hosts a play runs on: its pattern, within --limit, in its order:. A host
// whose inventory variables do not render is an error here, where it is used.
func (p *plan) playHosts(pl *playbook.Play) ([]*inventory.Host, error) {
	matched, err := matchHosts(p.inv, pl.Hosts)
	if err != nil {
		return nil, &playbook.Error{Pos: pl.Pos, Msg: fmt.Sprintf("play %q: hosts %q: %v", pl.Name, pl.Hosts, err), Fix: "use a node name, a region, a group or a glob that the inventory defines", Err: err}
	}
	if p.opts.Limit != "" {
		limited, err := matchHosts(p.inv, p.opts.Limit)
		if err != nil {
			return nil, fmt.Errorf("--limit %q: %w", p.opts.Limit, err)
		}
		keep := map[string]bool{}
		for _, h := range limited {
			keep[h.Name] = true
		}
		var out []*inventory.Host
		for _, h := range matched {
			if keep[h.Name] {
				out = append(out, h)
			}
		}
		matched = out
	}
	for _, h := range matched {
		if err := p.hostErrs[h.Name]; err != nil {
			return nil, err
		}
	}
	hosts := slices.Clone(matched)
	orderHosts(hosts, pl.Order)
	return hosts, nil
}

// planSections plans the play's sections (pre_tasks; roles and tasks; post_tasks) and its
// handlers, and links each notify to its handlers.
func (p *plan) planSections(pp *playPlan) error {
	pl := pp.play
	main := append(append([]*playbook.Task(nil), pl.RoleTasks...), pl.Tasks...)
	pre := pl.PreTasks
	if gather := p.gatherTask(pl); gather != nil {
		pre = append([]*playbook.Task{gather}, pre...)
	}
	for _, section := range [][]*playbook.Task{pre, main, pl.PostTasks} {
		tps, err := p.planTasks(pl, section, pl.Tags, nil)
		if err != nil {
			return err
		}
		pp.sections = append(pp.sections, tps)
		pp.tasks = append(pp.tasks, tps...)
	}
	planned, err := p.planTasks(pl, pl.Handlers, pl.Tags, nil)
	if err != nil {
		return err
	}
	handlers, err := flattenHandlers(planned)
	if err != nil {
		return err
	}
	for _, h := range handlers {
		// Handlers run where they are notified, whatever --tags selected.
		h.handler, h.selected = true, true
	}
	pp.handlers = handlers
	return resolveNotify(pp)
}

// gatherTask is the play's fact gathering, as ansible-playbook runs it first ("Gathering
// Facts", the setup module, tagged always so that --tags never leaves it out), or nil when
// the play and the gathering policy say not to gather.
func (p *plan) gatherTask(pl *playbook.Play) *playbook.Task {
	switch {
	case pl.GatherFacts != nil && !*pl.GatherFacts:
		return nil
	case pl.GatherFacts == nil && p.opts.Gathering == "explicit":
		return nil
	}
	args := map[string]playbook.Value{}
	if len(pl.GatherSubset) > 0 {
		subset := make([]any, len(pl.GatherSubset))
		for i, s := range pl.GatherSubset {
			subset[i] = s
		}
		args["gather_subset"] = playbook.Value{Pos: pl.Pos, V: subset}
	}
	return &playbook.Task{Pos: pl.Pos, Name: gatheringName, Module: "setup", ModulePos: pl.Pos, Args: args, LoopVar: "item", Tags: []string{"always"}, Implicit: true}
}

// gatheringName is how output names the fact gathering, as ansible-playbook does.
const gatheringName = "Gathering Facts"

// planTasks resolves modules, merges each task's settings with its play's and enclosing
// blocks' (chain, outermost first) and computes tags, recursively.
func (p *plan) planTasks(pl *playbook.Play, ts []*playbook.Task, inherited []string, chain []*playbook.Task) ([]*taskPlan, error) {
	out := make([]*taskPlan, 0, len(ts))
	for _, t := range ts {
		tp := &taskPlan{t: t, name: roleTaskName(chain, t), loopVar: t.LoopVar, selected: true}
		if tp.loopVar == "" {
			tp.loopVar = "item"
		}
		tp.tags = mergeTags(inherited, t.Tags)
		if t.Include != nil && t.Include.Dynamic {
			if err := p.planInclude(pl, tp, inherited, chain); err != nil {
				return nil, err
			}
			out = append(out, tp)
			continue
		}
		if t.IsBlock() {
			inner := append(append([]*playbook.Task(nil), chain...), t)
			var err error
			if tp.block, err = p.planTasks(pl, t.Block, tp.tags, inner); err != nil {
				return nil, err
			}
			if tp.rescue, err = p.planTasks(pl, t.Rescue, tp.tags, inner); err != nil {
				return nil, err
			}
			if tp.always, err = p.planTasks(pl, t.Always, tp.tags, inner); err != nil {
				return nil, err
			}
			out = append(out, tp)
			continue
		}
		mod, ok := p.lookup(t.Module)
		if !ok {
			return nil, &playbook.Error{Pos: t.ModulePos, Task: t.Name, Msg: fmt.Sprintf("unknown module %q", t.Module), Fix: "run `omsbook doc` to list the modules"}
		}
		tp.mod, tp.spec = mod, mod.Spec()
		tp.analyseArgs()
		tp.meta = tp.metaAction()
		tp.selected = tagSelected(tp.tags, p.opts.Tags, p.opts.SkipTags)
		var err error
		if tp.set, err = resolveSettings(pl, chain, t); err != nil {
			return nil, err
		}
		out = append(out, tp)
	}
	return out, nil
}

// analyseArgs sorts the argument names and finds which hold templates and whether their
// shape allows the fast per-host check.
func (tp *taskPlan) analyseArgs() {
	tp.argsStringShaped = true
	for name, v := range tp.t.Args {
		tp.argNames = append(tp.argNames, name)
		a, declared := tp.spec.Arg(name)
		if a.Secret {
			if tp.secretArgs == nil {
				tp.secretArgs = map[string]bool{}
			}
			tp.secretArgs[name] = true
		}
		if !tmpl.HasTemplate(v.V) {
			continue
		}
		tp.templatedArgs = append(tp.templatedArgs, name)
		_, isString := v.V.(string)
		okType := (declared && (a.Type == modules.String || a.Type == modules.Any) && len(a.Choices) == 0) || (!declared && tp.spec.AnyArgs)
		if !isString || !okType {
			tp.argsStringShaped = false
		}
	}
	sort.Strings(tp.argNames)
	sort.Strings(tp.templatedArgs)
}

func mergeTags(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := make([]string, 0, len(a)+len(b))
	out = append(out, a...)
	for _, t := range b {
		if !contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// tagSelected applies --tags and --skip-tags as Ansible does: `always` runs unless skipped by
// name, `never` runs only when asked for by one of its other tags, `all`, `tagged` and
// `untagged` select what they say.
func tagSelected(tags, only, skip []string) bool {
	for _, s := range skip {
		switch {
		case contains(tags, s):
			return false
		case s == "all" && !contains(tags, "always"):
			return false
		case s == "tagged" && len(tags) > 0:
			return false
		case s == "untagged" && len(tags) == 0:
			return false
		}
	}
	if len(only) == 0 {
		return !contains(tags, "never")
	}
	if contains(tags, "always") {
		return true
	}
	for _, o := range only {
		switch {
		case o == "all" && !contains(tags, "never"):
			return true
		case o == "tagged" && len(tags) > 0:
			return true
		case o == "untagged" && len(tags) == 0:
			return true
		case o != "never" && contains(tags, o):
			return true
		case o == "never" && contains(tags, "never"):
			return true
		}
	}
	return false
}

// playVars builds one host's variables for a play, lowest precedence first: inventory <
// region < node vars (already merged) < play vars < vars_files < facts (set_fact, register)
// < extra vars; then the magic variables, then every template among them resolved.
func (p *plan) playVars(pp *playPlan, h *inventory.Host, facts map[string]any) (map[string]any, []lazyVar, error) {
	pl := pp.play
	base := p.hostByName[h.Name].Vars
	vars := make(map[string]any, len(base)+len(pl.Vars)+len(facts)+len(p.extra)+12)
	eligible := make(map[string]bool, len(base)+len(pl.Vars))
	// Role defaults are the lowest of all, below the inventory.
	addRoleVars(pl, vars, eligible, true)
	for k, v := range base {
		vars[k] = v
		eligible[k] = true
	}
	for _, k := range playVarOrder(pl) {
		vars[k] = normalize(pl.Vars[k].V)
		eligible[k] = true
	}
	for k, v := range pp.prompted {
		vars[k] = v // an answer is data, never a template
		delete(eligible, k)
	}
	p.addMagic(vars, h)
	for k, v := range p.extra {
		vars[k] = v
	}
	// vars_files may be templates over the vars so far.
	if err := p.addVarsFiles(pp, h, vars, eligible); err != nil {
		return nil, nil, err
	}
	// Role vars come above the play's vars and vars_files, as Ansible's precedence has them.
	addRoleVars(pl, vars, eligible, false)
	for k, v := range facts {
		vars[k] = v
		delete(eligible, k)
	}
	for k, v := range p.extra {
		// Extra vars win over everything, and a template in one is rendered like any other
		// variable's (-e 'package_path={{ .mount_dir }}/oms.tar'), as Ansible does.
		vars[k] = v
		eligible[k] = true
	}
	vars["hostvars"] = p.staticHostvars
	if pp.playHosts == nil {
		pp.playHosts = hostNamesAny(pp.hosts)
	}
	vars["play_hosts"] = pp.playHosts
	vars["ansible_play_hosts"], vars["ansible_play_batch"] = pp.playHosts, pp.playHosts
	for _, k := range magicNames {
		delete(eligible, k)
	}
	lazy, err := resolveTemplates(vars, eligible, func(name string) bool {
		_, isFact := facts[name]
		return !isFact && p.runtimeNames[name]
	})
	if err != nil {
		// Point at the play variable that failed when the play writes it; a variable from the
		// inventory or a vars file has no place here, so the play stands for it.
		pos := pl.Pos
		var ve *varError
		if errors.As(err, &ve) {
			if v, ok := pl.Vars[ve.name]; ok && v.Pos.Line > 0 && !fromVarsFile(pp, ve.name) {
				pos = v.Pos
			}
		}
		fix := fixFor(err)
		if fix == undefinedFix {
			fix = "define the variable in the inventory, the play's vars, vars_files or with -e"
		}
		return nil, nil, &playbook.Error{Pos: pos, Msg: fmt.Sprintf("play %q on %s: %v", pl.Name, h.Name, err), Fix: fix, Err: err}
	}
	var lazyRaw []lazyVar
	for _, name := range lazy {
		lazyRaw = append(lazyRaw, lazyVar{name, vars[name]})
		delete(vars, name)
	}
	return vars, lazyRaw, nil
}

// playVarOrder lists a play's var names in the order written.
func playVarOrder(pl *playbook.Play) []string {
	if len(pl.VarOrder) == len(pl.Vars) {
		return pl.VarOrder
	}
	names := make([]string, 0, len(pl.Vars))
	for k := range pl.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// registerPlaySecrets adds the values of the play's and inventory's secret names as resolved
// for one host.
//
// A secret's value from every layer counts, not only the one that wins: the value -e replaced
// is what a file holds until the run changes it, and a --diff shows it as "before".
func (p *plan) registerPlaySecrets(pp *playPlan, h *inventory.Host, vars map[string]any) {
	pl := pp.play
	layers := []map[string]any{vars, p.hostByName[h.Name].Vars}
	playVals := make(map[string]any, len(pl.Vars))
	for k, v := range pl.Vars {
		playVals[k] = v.V
	}
	layers = append(layers, playVals)
	for _, m := range pp.varsFiles {
		layers = append(layers, m)
	}
	for _, role := range pl.Roles {
		for _, m := range []map[string]playbook.Value{role.Defaults, role.Vars} {
			rv := make(map[string]any, len(m))
			for k, v := range m {
				rv[k] = v.V
			}
			layers = append(layers, rv)
		}
	}
	for _, names := range [][]string{pl.Secrets, p.inv.Secrets} {
		for _, name := range names {
			for _, layer := range layers {
				if v, ok := inventory.PathValue(layer, name); ok && !tmpl.HasTemplate(v) {
					p.secrets.AddAll(v)
				}
			}
			if v, ok := inventory.PathValue(vars, name); ok {
				p.secrets.AddAll(v)
			}
		}
	}
	if bp, ok := vars["become_password"].(string); ok {
		p.secrets.Add(bp)
	}
}

// hostNamesAny lists host names as a template-friendly list.
func hostNamesAny(hs []*inventory.Host) []any {
	out := make([]any, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}

// addVarsFiles adds the play's vars_files to vars, each file name rendered for the host first
// (it may be a template over the vars so far); every variable they set is eligible for
// template resolution.
func (p *plan) addVarsFiles(pp *playPlan, h *inventory.Host, vars map[string]any, eligible map[string]bool) error {
	for _, vf := range pp.play.VarsFiles {
		path, err := p.varsFilePath(pp, vf, h, vars)
		if err != nil {
			return err
		}
		m, ok := pp.varsFiles[path]
		if !ok {
			var err error
			m, err = readVarsFile(path)
			var inFile *playbook.Error
			if errors.As(err, &inFile) {
				// The file reads but its YAML is wrong: point into the file itself.
				return inFile
			}
			if err != nil {
				return &playbook.Error{Pos: vf.Pos, Msg: fmt.Sprintf("vars_files: cannot read %s: %v", path, err), Fix: "check the path (relative to the playbook's directory) and that the file is readable YAML", Err: err}
			}
			pp.varsFiles[path] = m
		}
		for k, v := range m {
			vars[k] = v
			eligible[k] = true
		}
	}
	return nil
}

// varsFilePath renders a vars_files entry for a host to the file to read: a name, or (as
// Ansible allows) a list of names of which the first that exists wins.
func (p *plan) varsFilePath(pp *playPlan, vf playbook.Value, h *inventory.Host, vars map[string]any) (string, error) {
	render := func(v any) (string, error) {
		name, ok := v.(string)
		if !ok {
			return "", &playbook.Error{Pos: vf.Pos, Msg: fmt.Sprintf("vars_files entry %v is not a file name", v), Fix: "list file names, relative to the playbook, or lists of them (the first that exists wins)"}
		}
		if tmpl.IsTemplate(name) {
			r, err := tmpl.RenderString(name, vars)
			if err != nil {
				return "", &playbook.Error{Pos: vf.Pos, Msg: fmt.Sprintf("vars_files %q on %s: %v", name, h.Name, err), Fix: "define the variables the file name uses", Err: err}
			}
			name = r
		}
		dir := p.baseDir
		if pp.play.Dir != "" {
			dir = pp.play.Dir // an imported playbook's files are beside it
		}
		return relTo(dir, name), nil
	}
	alts, isList := vf.V.([]any)
	if !isList {
		return render(vf.V)
	}
	var tried []string
	for _, alt := range alts {
		path, err := render(alt)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
		tried = append(tried, path)
	}
	return "", &playbook.Error{Pos: vf.Pos, Msg: fmt.Sprintf("vars_files on %s: none of the alternatives exists (tried %s)", h.Name, strings.Join(tried, ", ")), Fix: "create one of them, or add a last alternative that always exists"}
}

// addRoleVars adds the play's roles' defaults (or vars) to vars, in the order the roles load.
func addRoleVars(pl *playbook.Play, vars map[string]any, eligible map[string]bool, defaults bool) {
	for _, role := range pl.Roles {
		m, order := role.Vars, role.VarsOrder
		if defaults {
			m, order = role.Defaults, role.DefaultsOrder
		}
		for _, k := range order {
			vars[k] = normalize(m[k].V)
			eligible[k] = true
		}
	}
}

// taskError builds a positioned error for a task, naming the host when the problem is that host's.
func taskError(t *playbook.Task, pos playbook.Pos, host, msg, fix string, err error) *playbook.Error {
	if pos.File == "" {
		pos = t.Pos
	}
	return &playbook.Error{Pos: pos, Task: displayName(t), Host: host, Msg: msg, Fix: fix, Err: err}
}

// fromVarsFile reports whether a vars file of the play defines name (vars_files override the
// play's vars, so the play's own line would not be where the value came from).
func fromVarsFile(pp *playPlan, name string) bool {
	for _, m := range pp.varsFiles {
		if _, ok := m[name]; ok {
			return true
		}
	}
	return false
}
