// Package bench measures omsbook against Ansible on the same hosts: real OpenSSH sshd nodes on
// 127.0.1.x (lab/sshd), the same playbooks for both tools, runs timed alternately, medians and
// ratios. It also holds the floor: a bare loop of x/crypto/ssh sessions on already-open
// connections, the least any SSH runner can spend on the same work.
//
// The program that drives it all is bench/cmd/omsbench (`make bench`); the figures and the
// method are in bench/RESULTS.md. Nothing here asserts a time: tests check that the harness
// measures what it says, never how fast.
package bench
