package jinja

// filter translates x | name(args).
func (e *emitter) filter(f Filter) (val, error) {
	if f.Name == "default" || f.Name == "d" {
		return e.defaultFilter(f)
	}
	x, err := e.emit(f.X)
	if err != nil {
		return val{}, err
	}
	args, err := e.emitAll(f.Args)
	if err != nil {
		return val{}, err
	}
	kw := map[string]val{}
	for _, k := range f.Kw {
		v, err := e.emit(k.V)
		if err != nil {
			return val{}, err
		}
		kw[k.Name] = v
	}
	nargs := len(args) + len(kw)
	simple := map[string]struct {
		fn string
		k  kind
	}{
		"int": {"to_int", kInt}, "float": {"to_float", kUnknown}, "string": {"str", kString},
		"bool": {"to_bool", kBool}, "length": {"length", kInt}, "count": {"length", kInt},
		"to_json": {"to_json", kString}, "to_nice_json": {"to_nice_json", kString}, "to_yaml": {"to_yaml", kString},
		"from_json": {"fromJson", kUnknown}, "first": {"first", kUnknown}, "last": {"last", kUnknown},
		"unique": {"uniq", kList}, "sort": {"sorted", kList}, "b64decode": {"b64dec", kString},
		"basename": {"basename", kString}, "dirname": {"dirname", kString},
		"quote": {"shlex_quote", kString}, "dict2items": {"dict2items", kList},
		"items2dict": {"items2dict", kMap}, "flatten": {"flatten", kList}, "list": {"list", kList},
	}
	if s, ok := simple[f.Name]; ok && nargs == 0 {
		if f.Name == "list" {
			if x.k == kList {
				return x, nil // map, select, ... give lists already
			}
			return val{}, no("the list filter over something not known to be a list")
		}
		return callK(s.k, s.fn, x), nil
	}
	switch f.Name {
	case "lower", "upper", "trim":
		if nargs == 0 {
			return callK(kString, f.Name, e.asString(x)), nil
		}
	case "b64encode":
		if nargs == 0 {
			return callK(kString, "b64enc", e.asString(x)), nil
		}
	case "join":
		sep := litStr("")
		if len(args) == 1 && len(kw) == 0 {
			sep = args[0]
		} else if nargs != 0 {
			break
		}
		return callK(kString, "join", sep, x), nil
	case "replace":
		if len(args) == 2 && len(kw) == 0 {
			return callK(kString, "replace", args[0], args[1], e.asString(x)), nil
		}
	case "regex_replace":
		return e.regexReplace(f, x, args, kw)
	case "regex_search":
		if len(args) == 1 && len(kw) == 0 && args[0].lit && args[0].k == kString {
			re, err := goRegexp(f.Args[0].(Lit).V.(string))
			if err != nil {
				return val{}, err
			}
			return call("regex_search", litStr(re), x), nil
		}
	case "ternary":
		if len(args) == 2 && len(kw) == 0 {
			c := x
			if c.k != kBool {
				c = callK(kBool, "not", callK(kBool, "not", x))
			}
			return callK(sameKind(args[0], args[1]), "ternary", args[0], args[1], c), nil
		}
	case "combine":
		if len(kw) == 0 && len(args) > 0 {
			return callK(kMap, "combine", append(args, x)...), nil
		}
	case "items2dict":
		kn, vn := kw["key_name"], kw["value_name"]
		if len(args) == 0 && len(kw) == 2 && kn.s != "" && vn.s != "" {
			return callK(kMap, "items2dict", kn, vn, x), nil
		}
	case "flatten":
		lv, ok := kw["levels"]
		if len(args) == 1 && len(kw) == 0 {
			lv, ok = args[0], true
		}
		if ok && nargs == 1 {
			return callK(kList, "flatten", lv, x), nil
		}
	case "map":
		if a, ok := kw["attribute"]; ok && nargs == 1 {
			return callK(kList, "map_attribute", a, x), nil
		}
		return val{}, no("map other than map(attribute=...)")
	case "selectattr", "rejectattr":
		if len(kw) == 0 && len(args) >= 1 && len(args) <= 3 {
			return callK(kList, f.Name, append(args, x)...), nil
		}
	}
	return val{}, no("the filter %s with these arguments", f.Name)
}

// defaultFilter translates x | default(v) and x | default(v, true). Jinja's default stands in
// for an undefined value only (and, with true, for a false one too): sprig's default would also
// replace 0, "" and false, so the plain form looks the key up with dig instead.
func (e *emitter) defaultFilter(f Filter) (val, error) {
	if len(f.Kw) > 0 {
		return val{}, no("default with keyword arguments")
	}
	def := val{s: `""`, k: kString, lit: true}
	if len(f.Args) >= 1 {
		var err error
		if def, err = e.emit(f.Args[0]); err != nil {
			return val{}, err
		}
	}
	boolean := false
	if len(f.Args) == 2 {
		b, ok := f.Args[1].(Lit)
		if v, isBool := b.V.(bool); !ok || !isBool {
			return val{}, no("default's second argument must be true or false")
		} else {
			boolean = v
		}
	}
	if len(f.Args) > 2 {
		return val{}, no("default with more than two arguments")
	}
	x, err := e.emit(f.X)
	if err != nil {
		return val{}, err
	}
	var got val
	switch {
	case x.path != nil && x.path.local && len(x.path.keys) == 0:
		got = x // a local variable is always defined
	case x.path != nil && !x.path.intKey && len(x.path.keys) > 0:
		fallback := def
		if boolean {
			fallback = val{s: "nil"}
		}
		got = call("dig", append(vals(x.path.keys), fallback, val{s: x.path.root})...)
		if !boolean {
			if def.k == x.k {
				got.k = def.k
			}
			return got, nil
		}
	case x.path != nil:
		return val{}, no("default over an integer index (write the key's test with is defined)")
	default:
		got = x // not a variable: it is defined, and default gives it back
		if !boolean {
			return got, nil
		}
	}
	// default(v, true): v also for Python's false values, as sprig's default has it.
	out := call("default", def, got)
	if def.k == got.k {
		out.k = def.k
	}
	return out, nil
}

func (e *emitter) regexReplace(f Filter, x val, args []val, kw map[string]val) (val, error) {
	if len(f.Args) < 1 || len(f.Args) > 2 {
		return val{}, no("regex_replace with these arguments")
	}
	pat, ok := f.Args[0].(Lit)
	ps, isStr := pat.V.(string)
	if !ok || !isStr {
		return val{}, no("regex_replace with a pattern that is not a literal string")
	}
	re, err := goRegexp(ps)
	if err != nil {
		return val{}, err
	}
	repl := ""
	if len(f.Args) == 2 {
		r, ok := f.Args[1].(Lit)
		rs, isStr := r.V.(string)
		if !ok || !isStr {
			return val{}, no("regex_replace with a replacement that is not a literal string")
		}
		repl = rs
	}
	for k, v := range kw {
		switch {
		case k == "ignorecase" && v.s == "true":
			re = "(?i)" + re
		case k == "multiline" && v.s == "true":
			re = "(?m)" + re
		case (k == "ignorecase" || k == "multiline") && v.s == "false":
		default:
			return val{}, no("regex_replace with %s=%s", k, v.s)
		}
	}
	goRepl, err := goReplacement(repl)
	if err != nil {
		return val{}, err
	}
	_ = args
	return callK(kString, "regexReplaceAll", litStr(re), e.asString(x), litStr(goRepl)), nil
}
