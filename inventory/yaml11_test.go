package inventory

import (
	"reflect"
	"testing"
)

func TestYAML11Scalar(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"yes", true}, {"No", false}, {"ON", true}, {"off", false}, {"true", true}, {"y", "y"},
		{"0777", 0o777}, {"0x1F", 31}, {"0b11", 3}, {"1_000", 1000}, {"-5", -5}, {"1:30", 90}, {"0", 0},
		{"08", "08"}, {"1.5", 1.5}, {"1.", 1.0}, {"1e3", "1e3"}, {"1.0e+3", 1000.0}, {".5", 0.5},
		{"-.5", "-.5"}, {"~", nil}, {"null", nil}, {"", nil}, {"2024-03-01", "2024-03-01"}, {"web01", "web01"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := yaml11Scalar(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("yaml11Scalar(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}
