package playbook

// SplitKV splits a module's arguments written as one string into its name=value words, in the
// order written (quotes removed, escapes decoded, a {{ }} kept whole), and the other words of
// it, for the free form of command-like modules; omsbook convert writes the pairs as a mapping.
func SplitKV(s string) (pairs [][2]string, others []string, err error) {
	words, err := splitArgs(s)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range words {
		if k, v, ok := kvWord(w.text); ok {
			pairs = append(pairs, [2]string{k, v})
		} else {
			others = append(others, w.text)
		}
	}
	return pairs, others, nil
}
