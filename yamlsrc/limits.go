package yamlsrc

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// The bounds every YAML document omsbook reads is held to. A YAML alias (*name) stands for
// the whole node its anchor names, so a few hundred bytes of nested aliases ("a billion
// laughs") expand to billions of nodes when a loader walks them; the bounds refuse such a
// document right after parsing, before anything walks it, so that its cost stays that of its
// bytes. The OMS playbooks and inventories are a few kilobytes with a handful of aliases; the
// bounds are far above any document written by hand.
const (
	// MaxDocumentBytes is the largest YAML file read. The parser's node tree costs about a
	// hundred times the bytes of the densest document (a list of one-letter items), so this
	// bound is also what keeps parsing one file within about 150 MB. A larger inventory or
	// vars file splits into several (group_vars/, more -i, vars_files).
	MaxDocumentBytes = 1 << 20
	// MaxAliasNodes is how many nodes all the aliases of a document may stand for together,
	// counting each alias as the number of nodes it expands to (aliases within included).
	MaxAliasNodes = 200_000
	// MaxDepth is how deeply nodes may nest, with aliases expanded.
	MaxDepth = 500
)

// ErrLimit is wrapped by the *Error of a document refused for its size, its aliases or its
// nesting, so that a caller that tries another format on a YAML error (an inventory that may
// be INI) does not take it for something that is not YAML.
var ErrLimit = errors.New("yaml document exceeds omsbook's bounds")

// CheckSize refuses data past MaxDocumentBytes; ParseYAML calls it, and a reader of another
// format (JSON variables, an INI inventory) calls it itself.
func CheckSize(file string, data []byte) error {
	if len(data) <= MaxDocumentBytes {
		return nil
	}
	return &Error{Pos: Pos{File: file, Line: 1, Col: 1}, Err: ErrLimit,
		Msg: fmt.Sprintf("the file is %d bytes, more than the %d a YAML file may have", len(data), MaxDocumentBytes),
		Fix: "split it (vars_files, include_tasks, group_vars/ files) or move the data out of YAML"}
}

// limitWalk holds, per node, what the node stands for with its aliases expanded: its node
// count (saturated past MaxAliasNodes) and its depth.
type limitWalk struct {
	file  string
	size  map[*yaml.Node]int
	depth map[*yaml.Node]int
	busy  map[*yaml.Node]bool
	alias int // nodes all the aliases seen so far stand for
}

// checkLimits walks root once as written (aliases not followed) and refuses it when its
// aliases together stand for more than MaxAliasNodes nodes, or when it nests deeper than
// MaxDepth. What an alias stands for is computed once per anchored node, so the walk costs
// the size of the document, not of its expansion.
func checkLimits(file string, root *yaml.Node) error {
	w := &limitWalk{file: file, size: map[*yaml.Node]int{}, depth: map[*yaml.Node]int{}, busy: map[*yaml.Node]bool{}}
	return w.literal(root, 1)
}

// literal walks n as written, at depth d.
func (w *limitWalk) literal(n *yaml.Node, d int) error {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		size, depth, err := w.expanded(n.Alias)
		if err != nil {
			return err
		}
		w.alias += size
		if w.alias > MaxAliasNodes {
			return &Error{Pos: NodePos(w.file, n), Err: ErrLimit,
				Msg: fmt.Sprintf("the aliases up to *%s stand for more than %d nodes (aliases of aliases multiply)", n.Value, MaxAliasNodes),
				Fix: "write the value out, or anchor a smaller part; nested aliases must not multiply"}
		}
		if d-1+depth > MaxDepth {
			return w.tooDeep(n)
		}
		return nil
	}
	if d > MaxDepth {
		return w.tooDeep(n)
	}
	for _, c := range n.Content {
		if err := w.literal(c, d+1); err != nil {
			return err
		}
	}
	return nil
}

func (w *limitWalk) tooDeep(n *yaml.Node) error {
	return &Error{Pos: NodePos(w.file, n), Err: ErrLimit,
		Msg: fmt.Sprintf("values nest more than %d levels deep here (aliases expanded)", MaxDepth),
		Fix: "flatten the structure"}
}

// expanded is the node count (saturated just past MaxAliasNodes) and depth n stands for with
// its aliases followed, each anchored node computed once.
func (w *limitWalk) expanded(n *yaml.Node) (size, depth int, err error) {
	if n == nil {
		return 0, 0, nil
	}
	if n.Kind == yaml.AliasNode {
		return w.expanded(n.Alias)
	}
	if s, ok := w.size[n]; ok {
		return s, w.depth[n], nil
	}
	if w.busy[n] {
		// The parser refuses an anchor that contains itself; this guards the walk anyway.
		return 0, 0, &Error{Pos: NodePos(w.file, n), Err: ErrLimit, Msg: "an alias refers to a value that contains it", Fix: "an anchor cannot be used inside its own value"}
	}
	w.busy[n] = true
	size, depth = 1, 1
	for _, c := range n.Content {
		s, d, err := w.expanded(c)
		if err != nil {
			return 0, 0, err
		}
		size = min(size+s, MaxAliasNodes+1)
		depth = max(depth, d+1)
		if depth > MaxDepth {
			// Deep enough to be refused wherever it is used; no need to look further.
			break
		}
	}
	delete(w.busy, n)
	w.size[n], w.depth[n] = size, depth
	return size, depth, nil
}
