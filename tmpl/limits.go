package tmpl

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"
	"unsafe"
)

// Limits bound what rendering one template may cost, so that a template, even at validate,
// cannot exhaust the controller's memory or run forever. Every bound applies to one
// rendering of one value; a template that passes one fails with an *Error whose Limit is set.
type Limits struct {
	// MaxOutput bounds, in bytes, the text one template renders and the value a whole-value
	// template returns. A single function call may build no more than this either, and the
	// functions of one rendering no more than 4 times this in all (strings, lists, copies).
	MaxOutput int64
	// MaxTime bounds how long one rendering may take.
	MaxTime time.Duration
	// MaxSteps bounds the loop iterations and template calls of one rendering; a range over
	// a number larger than what is left of it is refused before it starts.
	MaxSteps int64
}

// DefaultLimits are the bounds no sane template comes near: 16 MiB of output, 10 seconds,
// ten million steps.
var DefaultLimits = Limits{MaxOutput: 16 << 20, MaxTime: 10 * time.Second, MaxSteps: 10_000_000}

var limits atomic.Pointer[Limits]

// SetLimits sets the bounds every later rendering uses; a zero or negative field means its
// default. It returns the bounds in effect before, so that a caller (a test, say) can put them
// back.
func SetLimits(l Limits) Limits {
	prev := CurrentLimits()
	if l.MaxOutput <= 0 {
		l.MaxOutput = DefaultLimits.MaxOutput
	}
	if l.MaxTime <= 0 {
		l.MaxTime = DefaultLimits.MaxTime
	}
	if l.MaxSteps <= 0 {
		l.MaxSteps = DefaultLimits.MaxSteps
	}
	limits.Store(&l)
	return prev
}

// CurrentLimits returns the bounds renderings use now.
func CurrentLimits() Limits {
	if l := limits.Load(); l != nil {
		return *l
	}
	return DefaultLimits
}

// buildFactor is how many times MaxOutput the functions of one rendering may build in all.
const buildFactor = 4

// maxDepth bounds how deeply nested a value may be to be printed, copied or returned: deeper
// values would exhaust the stack of the code that walks them.
const maxDepth = 1000

// limitError is a bound reached while rendering; execError turns it into an *Error with
// Limit set.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

func limitErrorf(format string, args ...any) error {
	return &limitError{msg: fmt.Sprintf(format, args...)}
}

// renderState is the running account of one rendering.
type renderState struct {
	lim      Limits
	deadline time.Time
	steps    int64
	built    int64 // bytes the guarded functions built
	written  int64 // bytes of output
	clock    int   // calls since the clock was last read
	// sizes memoizes the printed size and depth of lists and maps met by sizeOf, by
	// identity, so that a value holding the same list many times over is measured in the
	// time of its parts.
	sizes map[sizeKey]measured
}

type measured struct {
	size  int64
	depth int // levels of lists and maps below
}

type sizeKey struct {
	p uintptr
	n int
}

func (st *renderState) reset(l Limits) {
	sizes := st.sizes
	clear(sizes)
	*st = renderState{lim: l, deadline: time.Now().Add(l.MaxTime), sizes: sizes}
}

// clockEvery is how many steps and writes go between two readings of the clock.
const clockEvery = 16

// step counts n steps and checks the clock now and then.
func (st *renderState) step(n int64) error {
	st.steps += n
	if st.steps > st.lim.MaxSteps {
		return limitErrorf("the template takes more than %d steps (loop iterations and template calls)", st.lim.MaxSteps)
	}
	if st.clock++; st.clock >= clockEvery {
		return st.checkTime()
	}
	return nil
}

func (st *renderState) checkTime() error {
	st.clock = 0
	if time.Now().After(st.deadline) {
		return limitErrorf("rendering takes longer than %v", st.lim.MaxTime)
	}
	return nil
}

// build admits a function that would build size bytes.
func (st *renderState) build(name string, size int64, cumulative bool) error {
	if size > st.lim.MaxOutput {
		return limitErrorf("%s would build %s, more than the %s a template may build at once", name, byteSize(size), byteSize(st.lim.MaxOutput))
	}
	if cumulative {
		st.built += size
		if all := buildFactor * st.lim.MaxOutput; st.built > all {
			return limitErrorf("%s: the functions of this template would build more than %s in all", name, byteSize(all))
		}
	}
	return st.checkTime()
}

// byteSize formats n bytes for messages: "16 MiB", "1.0 GiB", "300 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitWriter is the output of one rendering, bounded by MaxOutput.
type limitWriter struct {
	buf strings.Builder
	st  *renderState
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.st.written+int64(len(p)) > w.st.lim.MaxOutput {
		return 0, limitErrorf("the output is larger than %s", byteSize(w.st.lim.MaxOutput))
	}
	if w.st.clock++; w.st.clock >= clockEvery {
		if err := w.st.checkTime(); err != nil {
			return 0, err
		}
	}
	w.st.written += int64(len(p))
	return w.buf.Write(p)
}

// Names of the hidden functions the parser's rewrite inserts (see instrument).
const (
	tickFunc  = "omsbook_step"  // first action of every range body and template definition
	rangeFunc = "omsbook_range" // last command of every range pipeline
)

// hiddenFuncs are the functions a template cannot name itself; errors never show them.
var hiddenFuncs = []string{captureFunc, tickFunc, rangeFunc}

// executor runs parsed templates with functions bound to its own renderState, so that one
// rendering's account is not another's. An executor serves one rendering at a time.
type executor struct {
	t  *template.Template
	st *renderState
}

// executors is a free list of executors (a sync.Pool would drop them at every collection,
// and building one costs a copy of the function map).
var (
	executorsMu sync.Mutex
	executors   []*executor
)

const maxIdleExecutors = 64

func getExecutor() *executor {
	executorsMu.Lock()
	defer executorsMu.Unlock()
	if n := len(executors); n > 0 {
		ex := executors[n-1]
		executors = executors[:n-1]
		return ex
	}
	return newExecutor()
}

func putExecutor(ex *executor) {
	executorsMu.Lock()
	defer executorsMu.Unlock()
	if len(executors) < maxIdleExecutors {
		executors = append(executors, ex)
	}
}

func newExecutor() *executor {
	st := &renderState{sizes: map[sizeKey]measured{}}
	return &executor{t: template.New("t").Option("missingkey=error").Funcs(boundFuncs(st)), st: st}
}

// boundFuncs returns the template functions with the guarded ones bound to st.
func boundFuncs(st *renderState) template.FuncMap {
	f := make(template.FuncMap, len(funcs)+len(guards)+4)
	for name, fn := range funcs {
		f[name] = fn
	}
	for name, g := range guards {
		fn, ok := f[name]
		if !ok {
			fn = builtinFuncs[name]
		}
		if fn == nil {
			continue
		}
		f[name] = guardFunc(st, name, fn, g)
	}
	f[tickFunc] = func() (string, error) { return "", st.step(1) }
	f[rangeFunc] = func(v any) (any, error) {
		if err := st.step(1); err != nil {
			return nil, err
		}
		if n, ok := rangeCount(v); ok && n > st.lim.MaxSteps-st.steps {
			return nil, limitErrorf("range over %d: more than the %d steps a template may take", n, st.lim.MaxSteps)
		}
		return v, nil
	}
	return f
}

// builtinFuncs are text/template's own functions that guards replace (a FuncMap entry takes
// precedence over a builtin of the same name).
var builtinFuncs = map[string]any{
	"print":    fmt.Sprint,
	"printf":   fmt.Sprintf,
	"println":  fmt.Sprintln,
	"html":     template.HTMLEscaper,
	"js":       template.JSEscaper,
	"urlquery": template.URLQueryEscaper,
}

// rangeCount returns n for a range over the integer n.
func rangeCount(v any) (int64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int64(min(rv.Uint(), 1<<62)), true
	}
	return 0, false
}

// guard says, from a function's arguments and before it runs, how much the call may cost.
type guard struct {
	// size estimates the bytes the call allocates (an upper bound).
	size func(st *renderState, args []reflect.Value) (int64, error)
	// cumulative counts size against the rendering's total; a copy whose old version is
	// usually dropped at once (append in a loop) only has to fit by itself.
	cumulative bool
	// combines is set for functions that put their arguments together into one value
	// (list, dict, append), and says how: the printed size of what they build must fit in
	// MaxOutput, and its nesting in maxDepth, so that no value can be built that printing
	// would blow up (a list holding the same list twice, sixty times over).
	combines shape
	// mutates is set for functions that put their other arguments into the map they are
	// given first (set, merge): the call is refused when that map can be reached from them,
	// which would make it hold itself, and sizes measured so far are forgotten afterwards.
	mutates bool
	// steps is the work of calls whose time, not memory, grows faster than their input.
	steps func(args []reflect.Value) int64
}

// shape is how a function puts its arguments together.
type shape int

const (
	wraps   shape = iota + 1 // the arguments become the elements (list, dict)
	extends                  // the first argument's elements and the others (append, set)
	joins                    // every argument's elements (concat)
	merges                   // maps merged into the first (merge)
)

var errorType = reflect.TypeFor[error]()

// guardFunc wraps fn (any function a template may call) so that the guard is consulted
// before each call: the wrapper has fn's parameters and first result, and an error.
func guardFunc(st *renderState, name string, fn any, g guard) any {
	fv := reflect.ValueOf(fn)
	ft := fv.Type()
	in := make([]reflect.Type, ft.NumIn())
	for i := range in {
		in[i] = ft.In(i)
	}
	out0 := ft.Out(0)
	wt := reflect.FuncOf(in, []reflect.Type{out0, errorType}, ft.IsVariadic())
	hasErr := ft.NumOut() == 2
	fail := func(err error) []reflect.Value {
		var le *limitError
		if !errors.As(err, &le) || !strings.HasPrefix(le.msg, name) {
			err = &limitError{msg: name + ": " + err.Error()}
		}
		return []reflect.Value{reflect.Zero(out0), reflect.ValueOf(&err).Elem()}
	}
	return reflect.MakeFunc(wt, func(args []reflect.Value) []reflect.Value {
		flat := flatArgs(args, ft.IsVariadic())
		if g.steps != nil {
			if err := st.step(g.steps(flat)); err != nil {
				return fail(err)
			}
		}
		if g.mutates && len(flat) > 1 {
			if target := mapIdentity(flat[0]); target != 0 {
				for _, a := range flat[1:] {
					if reaches(a.Interface(), target) {
						return fail(limitErrorf("%s would make a map hold itself", name))
					}
				}
			}
		}
		var built measured
		if g.combines != 0 {
			var err error
			if built, err = st.combined(g.combines, flat); err != nil {
				return fail(err)
			}
			if built.size > st.lim.MaxOutput {
				return fail(limitErrorf("%s would build a value that prints as more than %s", name, byteSize(st.lim.MaxOutput)))
			}
			if built.depth >= maxDepth {
				return fail(limitErrorf("%s would build a value nested more than %d levels deep", name, maxDepth))
			}
		}
		if g.size != nil {
			size, err := g.size(st, flat)
			if err != nil {
				return fail(err)
			}
			if err := st.build(name, size, g.cumulative); err != nil {
				return fail(err)
			}
		}
		var res []reflect.Value
		if ft.IsVariadic() {
			res = fv.CallSlice(args)
		} else {
			res = fv.Call(args)
		}
		if g.mutates {
			clear(st.sizes)
		}
		if g.combines != 0 && g.combines != merges {
			// Remembered, so that building a list one append at a time costs each append
			// only its own element.
			if key, ok := identity(res[0]); ok {
				st.sizes[key] = built
			}
		}
		if hasErr {
			return res
		}
		return []reflect.Value{res[0], reflect.Zero(errorType)}
	}).Interface()
}

// combined measures the value a function of shape sh builds from args, before it runs.
func (st *renderState) combined(sh shape, args []reflect.Value) (measured, error) {
	m := measured{size: 2}
	for i, a := range args {
		size, levels, err := st.measure(a.Interface())
		if err != nil {
			return m, err
		}
		m.size = addSat(m.size, size)
		// Levels below the result that this argument brings: itself when it becomes an
		// element, its elements when they do.
		below := levels
		if sh == joins || (sh == extends || sh == merges) && i == 0 {
			below = max(levels-1, 0)
		}
		m.depth = max(m.depth, below)
	}
	return m, nil
}

// identity is how sizes knows a list or a map again.
func identity(v reflect.Value) (sizeKey, bool) {
	v = indirectValue(v)
	switch v.Kind() {
	case reflect.Map:
		return sizeKey{uintptr(v.UnsafePointer()), v.Len()}, true
	case reflect.Slice:
		if v.Len() > 0 {
			return sizeKey{uintptr(v.UnsafePointer()), v.Len()}, true
		}
	}
	return sizeKey{}, false
}

// mapIdentity returns the identity of the map v holds, or 0.
func mapIdentity(v reflect.Value) uintptr {
	v = indirectValue(v)
	if v.Kind() != reflect.Map {
		return 0
	}
	return uintptr(v.UnsafePointer())
}

// reaches reports whether the map whose identity is target can be reached from v, visiting
// every list and map once.
func reaches(v any, target uintptr) bool {
	seen := map[sizeKey]bool{}
	stack := []reflect.Value{reflect.ValueOf(v)}
	for len(stack) > 0 {
		rv := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for rv.IsValid() && (rv.Kind() == reflect.Interface || rv.Kind() == reflect.Pointer) && !rv.IsNil() {
			rv = rv.Elem()
		}
		switch rv.Kind() {
		case reflect.Map:
			p := uintptr(rv.UnsafePointer())
			if p == target {
				return true
			}
			if seen[sizeKey{p, -1}] {
				continue
			}
			seen[sizeKey{p, -1}] = true
			for it := rv.MapRange(); it.Next(); {
				stack = append(stack, it.Value())
			}
		case reflect.Slice, reflect.Array:
			if rv.Kind() == reflect.Slice {
				k := sizeKey{uintptr(rv.UnsafePointer()), rv.Len()}
				if rv.Len() == 0 || seen[k] {
					continue
				}
				seen[k] = true
			}
			for i := 0; i < rv.Len(); i++ {
				stack = append(stack, rv.Index(i))
			}
		}
	}
	return false
}

// flatArgs spreads a variadic call's last argument (a slice) into single arguments.
func flatArgs(args []reflect.Value, variadic bool) []reflect.Value {
	if !variadic || len(args) == 0 {
		return args
	}
	last := args[len(args)-1]
	out := append([]reflect.Value{}, args[:len(args)-1]...)
	for i := 0; i < last.Len(); i++ {
		out = append(out, last.Index(i))
	}
	return out
}

// Argument helpers for the size estimates. A missing or mistyped argument counts as 0: the
// function itself then reports the mistake.

func argInt(a []reflect.Value, i int) int64 {
	if i >= len(a) {
		return 0
	}
	n, _ := rangeCount(indirectValue(a[i]).Interface())
	return n
}

func argLen(a []reflect.Value, i int) int64 {
	if i >= len(a) {
		return 0
	}
	v := indirectValue(a[i])
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		return int64(v.Len())
	}
	return 0
}

func indirectValue(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return reflect.ValueOf("")
	}
	return v
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// mulSat multiplies without overflowing: the result saturates at 1<<62.
func mulSat(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > (1<<62)/b {
		return 1 << 62
	}
	return a * b
}

// addSat adds without overflowing: the result saturates at 1<<62.
func addSat(a, b int64) int64 {
	if a+b > 1<<62 || a+b < a {
		return 1 << 62
	}
	return a + b
}

type estimate = func(st *renderState, a []reflect.Value) (int64, error)

// Size estimates shared by several functions.
var (
	// printed: the printed form of every argument.
	printed = func(st *renderState, a []reflect.Value) (int64, error) {
		var total int64
		for _, v := range a {
			n, err := st.sizeOf(v.Interface())
			if err != nil {
				return 0, err
			}
			total = addSat(total, n+1)
		}
		return total, nil
	}
	times = func(k int64, est estimate) estimate {
		return func(st *renderState, a []reflect.Value) (int64, error) {
			n, err := est(st, a)
			return mulSat(n, k), err
		}
	}
	// lastString: a string function whose result is about as long as its last argument.
	lastString = func(_ *renderState, a []reflect.Value) (int64, error) { return argLen(a, len(a)-1), nil }
	// splits: a list of up to one piece per byte of the last argument.
	splits = func(_ *renderState, a []reflect.Value) (int64, error) {
		n := argLen(a, len(a)-1)
		return mulSat(n+1, 24) + n, nil
	}
	// splitsOf: the same for the argument i.
	splitsOf = func(i int) estimate {
		return func(st *renderState, a []reflect.Value) (int64, error) { return splits(st, a[i:i+1]) }
	}
	// listCopy: a new list holding the elements of every list argument.
	listCopy = func(_ *renderState, a []reflect.Value) (int64, error) {
		var n int64
		for i := range a {
			n += argLen(a, i) + 1
		}
		return mulSat(n, 16), nil
	}
	perCount = func(i int, k int64) estimate {
		return func(_ *renderState, a []reflect.Value) (int64, error) { return mulSat(argInt(a, i), k), nil }
	}
	quadratic = func(a []reflect.Value) int64 {
		n := argLen(a, 0)
		return mulSat(n, n) / 64
	}
)

// guards are the functions whose result may be far larger, or whose work far longer, than
// their arguments, by name: those of guardGroups and those of guardsByName. Functions missing
// here build at most about what their arguments already hold.
var guards = func() map[string]guard {
	all := make(map[string]guard, len(guardsByName)+64)
	for name, g := range guardsByName {
		all[name] = g
	}
	for _, grp := range guardGroups {
		for _, name := range grp.names {
			all[name] = grp.g
		}
	}
	return all
}()

var guardsByName = map[string]guard{
	"repeat": {cumulative: true, size: func(_ *renderState, a []reflect.Value) (int64, error) {
		return mulSat(argInt(a, 0), argLen(a, 1)), nil
	}},
	"until": {cumulative: true, size: func(_ *renderState, a []reflect.Value) (int64, error) {
		return mulSat(abs(argInt(a, 0)), 8), nil
	}},
	"untilStep": {cumulative: true, size: func(_ *renderState, a []reflect.Value) (int64, error) {
		start, stop, step := argInt(a, 0), argInt(a, 1), argInt(a, 2)
		if step == 0 || (stop-start > 0) != (step > 0) {
			return 0, nil
		}
		return mulSat(abs((stop-start)/step)+1, 8), nil
	}},
	"seq": {cumulative: true, size: func(_ *renderState, a []reflect.Value) (int64, error) {
		var start, step, end int64 = 1, 1, 0
		switch len(a) {
		case 1:
			end = argInt(a, 0)
		case 2:
			start, end = argInt(a, 0), argInt(a, 1)
		case 3:
			start, step, end = argInt(a, 0), argInt(a, 1), argInt(a, 2)
		}
		if step == 0 {
			return 0, nil
		}
		return mulSat(abs((end-start)/step)+1, 28), nil // the list, then its text
	}},
	"indent": {cumulative: true, size: indentSize},
	"nindent": {cumulative: true, size: func(st *renderState, a []reflect.Value) (int64, error) {
		n, err := indentSize(st, a)
		return n + 1, err
	}},
	"replace": {cumulative: true, size: func(_ *renderState, a []reflect.Value) (int64, error) {
		old, repl, src := argLen(a, 0), argLen(a, 1), argLen(a, 2)
		matches := src + 1
		if old > 0 {
			matches = src/old + 1
		}
		return mulSat(matches, repl) + src, nil
	}},
	"wrap": {cumulative: true, size: func(_ *renderState, a []reflect.Value) (int64, error) {
		return 2*argLen(a, 1) + 1, nil
	}},
	"wrapWith": {cumulative: true, size: func(_ *renderState, a []reflect.Value) (int64, error) {
		width, sep, s := argInt(a, 0), argLen(a, 1), argLen(a, 2)
		if width < 1 {
			width = 1
		}
		return mulSat(s/width+1, sep) + s, nil
	}},
	"randBytes": {cumulative: true, size: perCount(0, 3)},
	"printf":    {cumulative: true, size: printfSize},
	"join":      {cumulative: true, size: joinSize},
	"urlquery":  {cumulative: true, size: times(3, printed)},
	"nospace":   {cumulative: true, size: lastString},
	"expandenv": {cumulative: true, size: times(4, lastString)},
	"split":     {cumulative: true, size: times(3, splits)},
	"set":       {combines: extends, mutates: true},
	"unset":     {mutates: true},
	"concat":    {cumulative: true, size: listCopy, combines: joins},
}

// guardGroups are functions guarded alike.
var guardGroups = []struct {
	names []string
	g     guard
}{
	{[]string{"randAlpha", "randAlphaNum", "randAscii", "randNumeric"}, guard{cumulative: true, size: perCount(0, 4)}},
	{[]string{"print", "println", "cat", "toString"}, guard{cumulative: true, size: printed}},
	{[]string{"toStrings", "quote", "squote", "toJson", "mustToJson", "toRawJson", "mustToRawJson", "b64enc", "b32enc", "encryptAES", "deepCopy", "mustDeepCopy"}, guard{cumulative: true, size: times(2, printed)}},
	{[]string{"html", "js"}, guard{cumulative: true, size: times(6, printed)}},
	{[]string{"shquote", "toPrettyJson", "mustToPrettyJson", "toYaml"}, guard{cumulative: true, size: times(4, printed)}},
	{[]string{"merge", "mustMerge", "mergeOverwrite", "mustMergeOverwrite"}, guard{cumulative: true, size: times(2, printed), combines: merges, mutates: true}},
	{[]string{"fromJson", "mustFromJson", "fromYaml"}, guard{cumulative: true, size: times(8, printed)}},
	{[]string{"upper", "lower", "title", "untitle", "swapcase", "snakecase", "camelcase", "kebabcase", "shuffle"}, guard{cumulative: true, size: times(2, lastString)}},
	{[]string{"regexReplaceAll", "mustRegexReplaceAll", "regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"}, guard{cumulative: true, size: regexReplaceSize}},
	{[]string{"splitList", "splitn"}, guard{cumulative: true, size: splits}},
	{[]string{"regexSplit", "mustRegexSplit", "regexFindAll", "mustRegexFindAll"}, guard{cumulative: true, size: splitsOf(1)}},
	{[]string{"list", "tuple", "dict"}, guard{combines: wraps}},
	{[]string{"append", "push", "mustAppend", "mustPush", "prepend", "mustPrepend"}, guard{size: listCopy, combines: extends}},
	{[]string{"chunk", "mustChunk"}, guard{size: func(_ *renderState, a []reflect.Value) (int64, error) { return mulSat(argLen(a, 1)+1, 48), nil }}},
	{[]string{"uniq", "mustUniq"}, guard{steps: quadratic}},
	{[]string{"without", "mustWithout"}, guard{steps: func(a []reflect.Value) int64 { return mulSat(argLen(a, 0), int64(len(a))) / 64 }}},
}

func indentSize(_ *renderState, a []reflect.Value) (int64, error) {
	spaces := argInt(a, 0)
	lines := int64(1)
	if len(a) > 1 {
		if s, ok := indirectValue(a[1]).Interface().(string); ok {
			lines += int64(strings.Count(s, "\n"))
		}
	}
	return mulSat(spaces, lines) + argLen(a, 1), nil
}

func joinSize(st *renderState, a []reflect.Value) (int64, error) {
	if len(a) < 2 {
		return 0, nil
	}
	n, err := st.sizeOf(a[1].Interface())
	return n + mulSat(argLen(a, 1), argLen(a, 0)), err
}

func regexReplaceSize(_ *renderState, a []reflect.Value) (int64, error) {
	src, repl := argLen(a, 1), argLen(a, 2)
	return mulSat(src+1, repl+1) + src, nil
}

// printfSize counts the format, the widths and precisions it asks for (fmt bounds each to a
// million, and so does this for a width given by an argument) and the printed arguments.
func printfSize(st *renderState, a []reflect.Value) (int64, error) {
	if len(a) == 0 {
		return 0, nil
	}
	format, _ := indirectValue(a[0]).Interface().(string)
	total := int64(len(format))
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		// The verb's flags, argument indexes, width and precision, up to its letter.
		for i++; i < len(format) && strings.IndexByte("+-# 0123456789.*[]", format[i]) >= 0; i++ {
			switch c := format[i]; {
			case c == '*':
				total += 1e6
			case c >= '1' && c <= '9' && format[i-1] != '[':
				var n int64
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					n = min(n*10+int64(format[i]-'0'), 1e6)
				}
				total += n
				i--
			}
		}
	}
	if total > st.lim.MaxOutput {
		return total, nil
	}
	n, err := printed(st, a[1:])
	return addSat(total, n), err
}

// sizeOf estimates how many bytes v takes printed, counting at least one per element, up
// to a little past MaxOutput, where it stops. It walks v without recursion, one frame per
// level of nesting, fails on nesting deeper than maxDepth (a map that holds itself included),
// and remembers the size of every list and map it finished, by identity: a list holding the
// same list twice, sixty times over, is measured in sixty steps.
func (st *renderState) sizeOf(v any) (int64, error) {
	n, _, err := st.measure(v)
	return n, err
}

// measure is sizeOf that also says how many levels of lists and maps v has (0 for a scalar).
func (st *renderState) measure(v any) (size int64, levels int, err error) {
	limit := st.lim.MaxOutput
	type frame struct {
		key  sizeKey
		list []any            // a []any (or a struct's fields) being walked
		rv   reflect.Value    // another list or array being walked
		iter *reflect.MapIter // a map being walked
		i    int
		sum  int64
		deep int // levels of lists and maps below, so far
	}
	var stack []*frame
	var n int64 // everything counted so far, to stop early
	top := 0    // levels of v, once known
	add := func(k int64) {
		n = addSat(n, k)
		if len(stack) > 0 {
			f := stack[len(stack)-1]
			f.sum = addSat(f.sum, k)
		}
	}
	// open counts a list or map: from memory when its size is known, else as a new frame.
	open := func(f *frame, p uintptr, length int) error {
		f.key = sizeKey{p, length}
		if m, ok := st.sizes[f.key]; ok && p != 0 {
			if len(stack)+1+m.depth > maxDepth {
				return limitErrorf("the value is nested more than %d levels deep", maxDepth)
			}
			add(m.size)
			if len(stack) > 0 {
				below := stack[len(stack)-1]
				below.deep = max(below.deep, m.depth+1)
			} else {
				top = m.depth + 1
			}
			return nil
		}
		n = addSat(n, 2)
		f.sum = 2
		stack = append(stack, f)
		if len(stack) > maxDepth {
			return limitErrorf("the value is nested more than %d levels deep", maxDepth)
		}
		return nil
	}
	visit := func(v any) error {
		switch x := v.(type) {
		case nil, bool:
			add(5)
		case string:
			add(int64(len(x)) + 1)
		case int, int64, float64, int32, uint64, uint, float32:
			add(20)
		case []string:
			var k int64 = 2
			for _, e := range x {
				k += int64(len(e)) + 1
			}
			add(k)
		case []any:
			var p uintptr
			if len(x) > 0 {
				p = uintptr(unsafe.Pointer(&x[0]))
			}
			return open(&frame{list: x}, p, len(x))
		case fmt.Stringer:
			add(int64(len(x.String())))
		case error:
			add(int64(len(x.Error())))
		default:
			rv := reflect.ValueOf(x)
			switch rv.Kind() {
			case reflect.Slice:
				if rv.Type().Elem().Kind() == reflect.Uint8 {
					add(int64(rv.Len()) + 2)
					return nil
				}
				return open(&frame{rv: rv}, uintptr(rv.UnsafePointer()), rv.Len())
			case reflect.Array:
				return open(&frame{rv: rv}, 0, rv.Len())
			case reflect.Map:
				return open(&frame{iter: rv.MapRange()}, uintptr(rv.UnsafePointer()), rv.Len())
			case reflect.Pointer, reflect.Interface:
				if rv.IsNil() {
					add(5)
					return nil
				}
				return open(&frame{list: []any{rv.Elem().Interface()}}, 0, 1)
			case reflect.String:
				add(int64(rv.Len()) + 1)
			case reflect.Struct:
				fields := make([]any, 0, rv.NumField())
				for i := 0; i < rv.NumField(); i++ {
					if f := rv.Field(i); f.CanInterface() {
						fields = append(fields, f.Interface())
					} else {
						add(8)
					}
				}
				return open(&frame{list: fields}, 0, len(fields))
			default:
				add(20)
			}
		}
		return nil
	}
	if err := visit(v); err != nil {
		return 0, 0, err
	}
	for len(stack) > 0 && n <= limit {
		f := stack[len(stack)-1]
		var next any
		done := false
		switch {
		case f.iter != nil:
			if !f.iter.Next() {
				done = true
				break
			}
			if k := f.iter.Key(); k.Kind() == reflect.String {
				add(int64(k.Len()) + 2)
			} else {
				add(22)
			}
			next = f.iter.Value().Interface()
		case f.rv.IsValid():
			if f.i >= f.rv.Len() {
				done = true
				break
			}
			next = f.rv.Index(f.i).Interface()
			f.i++
			add(1)
		default:
			if f.i >= len(f.list) {
				done = true
				break
			}
			next = f.list[f.i]
			f.i++
			add(1)
		}
		if done {
			// Remember its size and hand it to the frame below.
			stack = stack[:len(stack)-1]
			if f.key.p != 0 {
				st.sizes[f.key] = measured{size: f.sum, depth: f.deep}
			}
			if len(stack) > 0 {
				below := stack[len(stack)-1]
				below.sum = addSat(below.sum, f.sum)
				below.deep = max(below.deep, f.deep+1)
			} else {
				top = f.deep + 1
			}
			continue
		}
		if err := visit(next); err != nil {
			return 0, 0, err
		}
	}
	return n, max(top, len(stack)), nil
}
