package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/omsbook/omsbook/convert"
)

// exitUntranslated is convert's exit code when it wrote the tree but left constructs
// untranslated (each listed on stderr and marked in the output).
const exitUntranslated = 3

// cmdConvert turns an Ansible tree (or one file) into an omsbook one.
func cmdConvert(args []string, std stdio) (int, error) {
	f, pos, err := parseFlags("convert", args, std)
	if err != nil {
		return 0, err
	}
	switch {
	case len(pos) != 1:
		return 0, &usageError{cmd: "convert", msg: "convert takes one DIR or FILE: omsbook convert DIR|FILE -o OUT"}
	case f.convertOut == "":
		return 0, &usageError{cmd: "convert", msg: "missing -o OUT: say where to write the converted tree (a new or empty directory, or a file for a FILE)"}
	}
	if _, err := os.Stat(pos[0]); err != nil {
		return 0, &usageError{cmd: "convert", msg: err.Error()}
	}
	rep, err := convert.Tree(context.Background(), pos[0], f.convertOut)
	if errors.Is(err, convert.ErrOutputExists) {
		return 0, &usageError{cmd: "convert", msg: err.Error() + ": give a new or empty directory"}
	}
	if err != nil {
		return 0, err
	}
	for _, p := range rep.Problems {
		if info, err := os.Stat(pos[0]); err == nil && info.IsDir() {
			p.File = filepath.Join(pos[0], p.File)
		} else {
			p.File = pos[0]
		}
		fmt.Fprintln(std.err, p.String())
	}
	n := rep.Untranslated()
	files := "files"
	if len(rep.Files) == 1 {
		files = "file"
	}
	fmt.Fprintf(std.out, "converted %d %s into %s", len(rep.Files), files, f.convertOut)
	if n == 0 {
		fmt.Fprintln(std.out, ": everything translated")
		return 0, nil
	}
	constructs := "constructs"
	if n == 1 {
		constructs = "construct"
	}
	fmt.Fprintf(std.out, ": %d %s left untranslated (listed on stderr, marked in the output: validate stops at each)\n", n, constructs)
	return exitUntranslated, nil
}
