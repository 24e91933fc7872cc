package inventory

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// This file expands the host names of Ansible inventories: an optional :port after the name
// (or after [address] for IPv6), and ranges in brackets, numeric with leading zeros kept
// (web[01:20]), alphabetic (db-[a:f]) and with a step ([1:10:2]), several in one name.

// The pieces of an address, with ranges allowed where Ansible allows them.
const (
	numRange   = `\[[0-9]+:[0-9]+(?::[0-9]+)?\]`
	hexRange   = `\[[0-9a-f]+:[0-9a-f]+(?::[0-9]+)?\]`
	alnumRange = `\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`
	ipv4Part   = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|` + numRange + `)`
	ipv6Part   = `(?:[0-9a-f]{1,4}|` + hexRange + `)`
	// A label starts with a letter, digit or range, goes on with those, '-' and '_', and does
	// not end with '-' or '_'.
	labelHead = `(?:[\p{L}\p{N}_]|` + alnumRange + `)`
	labelBody = `(?:[\p{L}\p{N}_-]|` + alnumRange + `)`
	labelTail = `(?:[\p{L}\p{N}]|` + alnumRange + `)`
	label     = `(?:` + labelTail + `|` + labelHead + labelBody + `*` + labelTail + `)`
)

var (
	bracketedHostPort = regexp.MustCompile(`^\[(.+)\]:([0-9]+)$`)
	hostPort          = regexp.MustCompile(`^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$`)
	ipv4Address       = regexp.MustCompile(`(?i)^(?:` + ipv4Part + `\.){3}` + ipv4Part + `$`)
	ipv6Address       = regexp.MustCompile(`(?i)^(?:` + strings.ReplaceAll(strings.Join([]string{
		`(?:P:){7}P`, `(?:P:){1,6}:`, `(?:P:)(?::P){1,6}`, `(?:P:){2}(?::P){1,5}`,
		`(?:P:){3}(?::P){1,4}`, `(?:P:){4}(?::P){1,3}`, `(?:P:){5}(?::P){1,2}`, `(?:P:){6}(?::P)`,
		`:(?::P){1,6}`, `P?::`, `(?:0:){6}(?:P\.){3}P`, `::(?:ffff:)?(?:P\.){3}P`, `(?:0:){5}ffff:(?:P\.){3}P`,
	}, "|"), "P", ipv6Part) + `)$`)
	hostnameAddress = regexp.MustCompile(`(?i)^` + label + `(?:\.` + label + `)*$`)
)

// splitHostPort separates a port from a host pattern: name:22, 10.0.0.1:22, [::1]:22 or
// [web[1:3]]:22. The port is 0 when there is none, or when what is left is no host name or
// address (then the whole text is the name, as Ansible takes it).
func splitHostPort(pattern string) (string, int) {
	host, port := pattern, 0
	for _, re := range []*regexp.Regexp{bracketedHostPort, hostPort} {
		if m := re.FindStringSubmatch(host); m != nil {
			p, err := strconv.Atoi(m[2])
			if err != nil {
				return pattern, 0
			}
			host, port = m[1], p
		}
	}
	if !ipv4Address.MatchString(host) && !ipv6Address.MatchString(host) && !hostnameAddress.MatchString(host) {
		return pattern, 0
	}
	return host, port
}

const asciiLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// expandHostRange expands the bracketed ranges of a host name, the first one first:
// web[01:03] gives web01, web02, web03; db-[a:c] gives db-a, db-b, db-c; [1:10:4] gives 1, 5, 9.
func expandHostRange(name string) ([]string, error) {
	budget := MaxRangeHosts
	return expandHostRangeWithin(name, &budget)
}

// expandHostRangeWithin is expandHostRange for at most *budget names, which it lowers by the
// names it gives; past the budget it refuses, before making the names.
func expandHostRangeWithin(name string, budget *int) ([]string, error) {
	open := strings.IndexByte(name, '[')
	if open < 0 {
		if *budget <= 0 {
			return nil, fmt.Errorf("the host ranges stand for more than %d hosts (at %q)", MaxRangeHosts, name)
		}
		*budget--
		return []string{name}, nil
	}
	close := strings.IndexByte(name[open:], ']')
	if close < 0 {
		return nil, fmt.Errorf("host range in %q has no closing ']'", name)
	}
	close += open
	head, spec, tail := name[:open], name[open+1:close], name[close+1:]
	bounds := strings.Split(spec, ":")
	if len(bounds) != 2 && len(bounds) != 3 {
		return nil, fmt.Errorf("host range [%s] in %q must be begin:end or begin:end:step", spec, name)
	}
	beg, end, step := bounds[0], bounds[1], 1
	if len(bounds) == 3 {
		s, err := strconv.Atoi(bounds[2])
		if err != nil || s < 1 {
			return nil, fmt.Errorf("host range [%s] in %q: the step %q must be a whole number above 0", spec, name, bounds[2])
		}
		step = s
	}
	if beg == "" {
		beg = "0"
	}
	if end == "" {
		return nil, fmt.Errorf("host range [%s] in %q has no end", spec, name)
	}
	width := 0
	if beg[0] == '0' && len(beg) > 1 {
		width = len(beg)
		if len(end) != width {
			return nil, fmt.Errorf("host range [%s] in %q: with leading zeros, begin and end must have the same number of digits", spec, name)
		}
	}
	tooMany := func() error {
		return fmt.Errorf("host range [%s] in %q stands for more than %d hosts", spec, name, MaxRangeHosts)
	}
	var seq []string
	bi, ei := strings.Index(asciiLetters, beg), strings.Index(asciiLetters, end)
	if len(beg) == 1 && bi >= 0 {
		if len(end) != 1 || ei < 0 {
			return nil, fmt.Errorf("host range [%s] in %q mixes a letter and a number", spec, name)
		}
		if bi > ei {
			return nil, fmt.Errorf("host range [%s] in %q: begin comes after end", spec, name)
		}
		for k := range (ei-bi)/step + 1 {
			i := bi + k*step
			seq = append(seq, asciiLetters[i:i+1])
		}
	} else {
		b, err1 := strconv.Atoi(beg)
		e, err2 := strconv.Atoi(end)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("host range [%s] in %q must be numbers or single letters", spec, name)
		}
		if b < 0 || e < 0 {
			return nil, fmt.Errorf("host range [%s] in %q must be whole numbers from 0", spec, name)
		}
		count := 0
		if e >= b {
			count = (e-b)/step + 1 // counted, not stepped to: b+step may pass the largest int
		}
		if count > *budget {
			return nil, tooMany()
		}
		for k := range count {
			i := b + k*step
			s := strconv.Itoa(i)
			for len(s) < width {
				s = "0" + s
			}
			seq = append(seq, s)
		}
	}
	var out []string
	for _, s := range seq {
		more, err := expandHostRangeWithin(head+s+tail, budget)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// expandHostPattern is the host names and the port a host pattern of an Ansible inventory
// stands for.
func expandHostPattern(pattern string) ([]string, int, error) {
	host, port := splitHostPort(pattern)
	names, err := expandHostRange(host)
	return names, port, err
}
