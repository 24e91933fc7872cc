package main

import (
	"strings"
	"testing"
)

func TestJoinResumeValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"run pb.yml --resume 20261201T211154Z-pb --limit a", "run pb.yml --resume=20261201T211154Z-pb --limit a"},
		{"run pb.yml --resume last", "run pb.yml --resume=last"},
		{"run pb.yml --resume --limit a", "run pb.yml --resume --limit a"},
		{"run --resume pb.yml -i inv", "run --resume pb.yml -i inv"},
		{"run pb.yml --resume", "run pb.yml --resume"},
		{"run pb.yml -- --resume x", "run pb.yml -- --resume x"},
	}
	for _, tt := range tests {
		if got := strings.Join(joinResumeValue(strings.Fields(tt.in)), " "); got != tt.want {
			t.Errorf("joinResumeValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
