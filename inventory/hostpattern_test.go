package inventory

import (
	"reflect"
	"strings"
	"testing"
)

func TestExpandHostPattern(t *testing.T) {
	tests := []struct {
		in    string
		names []string
		port  int
		err   string
	}{
		{in: "web1", names: []string{"web1"}},
		{in: "web1:2222", names: []string{"web1"}, port: 2222},
		{in: "10.0.0.1:22", names: []string{"10.0.0.1"}, port: 22},
		{in: "[2001:db8::1]:22", names: []string{"2001:db8::1"}, port: 22},
		{in: "2001:db8::1", names: []string{"2001:db8::1"}},
		{in: "web[01:03].example.com", names: []string{"web01.example.com", "web02.example.com", "web03.example.com"}},
		{in: "web[8:10]", names: []string{"web8", "web9", "web10"}},
		{in: "db-[a:c]", names: []string{"db-a", "db-b", "db-c"}},
		{in: "h[1:10:4]", names: []string{"h1", "h5", "h9"}},
		{in: "h[:2]", names: []string{"h0", "h1", "h2"}},
		{in: "r[1:2]-n[a:b]", names: []string{"r1-na", "r1-nb", "r2-na", "r2-nb"}},
		{in: "web[1:2]:2200", names: []string{"web1", "web2"}, port: 2200},
		{in: "10.0.0.[1:3]", names: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}},
		{in: "web-:22", names: []string{"web-:22"}}, // no host name before the port: all of it is the name
		{in: "web[01:3]", err: "same number of digits"},
		{in: "web[a:5]", err: "mixes a letter and a number"},
		{in: "web[c:a]", err: "begin comes after end"},
		{in: "web[1:2:3:4]", err: "begin:end or begin:end:step"},
		{in: "web[1:]", err: "has no end"},
		{in: "web[1:5:0]", err: "above 0"},
		{in: "web[1:5", err: "no closing"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			names, port, err := expandHostPattern(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(names, tt.names) || port != tt.port {
				t.Fatalf("got %q port %d, want %q port %d", names, port, tt.names, tt.port)
			}
		})
	}
}
