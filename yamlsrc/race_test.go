//go:build race

package yamlsrc_test

// raceEnabled: this test binary runs under the race detector.
const raceEnabled = true
