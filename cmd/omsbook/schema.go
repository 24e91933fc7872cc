package main

import (
	"fmt"
	"strings"

	"github.com/omsbook/omsbook/schema"
)

// cmdSchema prints the JSON Schema of one kind of omsbook file, for editors' YAML language
// servers; it is built from the declarations validate checks against.
func cmdSchema(args []string, std stdio) error {
	_, pos, err := parseFlags("schema", args, std)
	if err != nil {
		return err
	}
	kind := "playbook"
	switch len(pos) {
	case 0:
	case 1:
		kind = pos[0]
	default:
		return &usageError{cmd: "schema", msg: "schema takes one kind: " + strings.Join(schema.Kinds, ", ")}
	}
	b, err := schema.JSON(kind)
	if err != nil {
		return &usageError{cmd: "schema", msg: err.Error()}
	}
	if _, err := std.out.Write(b); err != nil {
		return fmt.Errorf("write schema: %w", err)
	}
	return nil
}
