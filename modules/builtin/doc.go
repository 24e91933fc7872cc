// Package builtin holds omsbook's generic modules, which any playbook may use on any host:
// command, shell, copy, template, fetch, stat, assert, debug, set_fact, fail, pause, wait_for
// and expect, with the helpers they share (command lines and their registered output, file
// modes, controller paths and checksums). Each module keeps the contract of package modules;
// modules/registry lists them.
package builtin
