package omssim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"4.2.2", "4.2.3", -1}, {"4.2.3", "4.2.2", 1}, {"4.2.2", "4.2.2", 0},
		{"4.2.2-CE", "4.2.2", 0}, {"4.1.0", "4.1.1", -1}, {"4.10.0", "4.9.9", 1},
		{"V4.1.1", "4.1.1", 0}, {"", "4.1.0", -1}, {"4.2", "4.2.0", 0},
	} {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestEditHAConfig(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		up       bool
		want     string
	}{
		{"4.1.0 default up gives the 4.2.2 default", HAConfigDefault410, true, HAConfigDefault},
		{"4.2.2 default down gives the 4.1.0 default", HAConfigDefault, false, HAConfigDefault410},
		{"up keeps operator values and unknown keys", `{"enable":true,"custom":{"a":1},"refetchStoreIntervalMin":90}`, true,
			`{"enable":true,"custom":{"a":1},"refetchStoreIntervalMin":90,"clearAbnormalResourceHours":72}`},
		{"up is idempotent", HAConfigDefault, true, HAConfigDefault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := editHAConfig(tc.in, tc.up)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	if _, err := editHAConfig(`[1,2]`, true); err == nil {
		t.Error("a JSON array was accepted as ha.config")
	}
}

func TestParseConfig(t *testing.T) {
	good := "oms_meta_host: 127.0.0.1\noms_meta_port: 3306\noms_meta_user: u\noms_meta_password: p\n" +
		"drc_rm_db: rm_422\ndrc_cm_db: cm_422\ndrc_cm_heartbeat_db: cm_hb_422_1\ncm_url: http://x:8088\n" +
		"cm_location: 1\ncm_region: hangzhou\ncm_is_default: true\ncm_nodes:\n  - 127.0.0.11\n  - 127.0.0.12\n"
	c, err := ParseConfig([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.RMDB != "rm_422" || c.CMLocation != 1 || !c.CMIsDefault || len(c.CMNodes) != 2 || c.MetaPassword != "p" {
		t.Errorf("parsed %+v", c)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"missing keys", "oms_meta_host: h\n", "lacks oms_meta_port, oms_meta_user, drc_rm_db"},
		{"bad db name", strings.Replace(good, "rm_422", "rm-422;drop", 1), `database name "rm-422;drop"`},
		{"bad location", strings.Replace(good, "cm_location: 1", "cm_location: 200", 1), "out of range"},
		{"not yaml", "{{{", "parse config.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"OMSSIM_FAULT_NEVER_HEALTHY": "1", "OMSSIM_FAULT_SLOW_START": "2.5"}
	f := faults{dir: dir, getenv: func(k string) string { return env[k] }}
	os.WriteFile(filepath.Join(dir, FaultHeartbeatStops), []byte("7\n"), 0o644)
	os.WriteFile(filepath.Join(dir, FaultExit), nil, 0o644)
	for _, tc := range []struct {
		name   string
		on     bool
		param  time.Duration
		defVal time.Duration
	}{
		{FaultNeverHealthy, true, time.Second, 0},
		{FaultSlowStart, true, 2500 * time.Millisecond, 30 * time.Second},
		{FaultHeartbeatStops, true, 7 * time.Second, 0},
		{FaultExit, true, 3 * time.Second, 3 * time.Second}, // empty file: the default
		{FaultInitFails, false, 0, 0},
	} {
		on, d := f.get(tc.name, tc.defVal)
		if on != tc.on || d != tc.param {
			t.Errorf("%s: got (%t, %s), want (%t, %s)", tc.name, on, d, tc.on, tc.param)
		}
	}
}

func TestConfigIDSharedVersusOwnFile(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	b := filepath.Join(dir, "b.yaml")
	os.WriteFile(a, []byte("same"), 0o644)
	os.WriteFile(b, []byte("same"), 0o644)
	link := filepath.Join(dir, "link.yaml")
	os.Link(a, link) // another name for the same file: what a shared bind mount sees
	idA, err := configID(a)
	if err != nil {
		t.Fatal(err)
	}
	idB, _ := configID(b)
	idLink, _ := configID(link)
	if idA == idB {
		t.Errorf("two files with the same content got one ID %s", idA)
	}
	if idA != idLink {
		t.Errorf("one file seen twice got two IDs %s and %s", idA, idLink)
	}
}

func TestEnvCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  Env
		want string
	}{
		{"no ip", Env{Version: "4.2.2"}, "OMS_HOST_IP is not set"},
		{"bad ip", Env{HostIP: "node1", Version: "4.2.2"}, "not an IP address"},
		{"no version", Env{HostIP: "127.0.0.51"}, "OMS_IMAGE_VERSION"},
	} {
		err := tc.env.check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestParseProfile(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Profile
		wantErr string
	}{
		{in: "", want: Profile{}},
		{in: " default\n", want: Profile{}},
		{in: "strict", want: Profile{Name: "strict", Startup: 300 * time.Second, Stop: 30 * time.Second}},
		{in: "strict startup=8s\n", want: Profile{Name: "strict", Startup: 8 * time.Second, Stop: 30 * time.Second}},
		{in: "strict startup=2.5 stop=1m", want: Profile{Name: "strict", Startup: 2500 * time.Millisecond, Stop: time.Minute}},
		{in: "strict startup=0s", want: Profile{Name: "strict", Stop: 30 * time.Second}},
		{in: "lenient", wantErr: "unknown profile"},
		{in: "default startup=1s", wantErr: "takes no parameters"},
		{in: "strict startup", wantErr: "name=value"},
		{in: "strict startup=soon", wantErr: "not a duration"},
		{in: "strict startup=-1s", wantErr: "negative"},
		{in: "strict speed=2", wantErr: "unknown parameter"},
	} {
		got, err := ParseProfile(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseProfile(%q) = %+v, %v; want error %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseProfile(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if again, err := ParseProfile(got.String()); err != nil || again != got {
			t.Errorf("ParseProfile(%q.String() = %q) = %+v, %v", tc.in, got.String(), again, err)
		}
	}
}

func TestEnvProfile(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{}
	e := Env{RunDir: dir, Getenv: func(k string) string { return env[k] }}
	for _, tc := range []struct {
		file, env string // "" file: none
		want      string
	}{
		{"", "", ""},
		{"", "strict startup=1s", "strict"},
		{"strict startup=2s", "", "strict"},
		{"default", "strict", ""},
	} {
		os.Remove(filepath.Join(dir, ProfileFileName))
		if tc.file != "" {
			os.WriteFile(filepath.Join(dir, ProfileFileName), []byte(tc.file), 0o644)
		}
		env["OMSSIM_PROFILE"] = tc.env
		p, err := e.profile()
		if err != nil || p.Name != tc.want {
			t.Errorf("file %q env %q: profile %+v, %v; want %q", tc.file, tc.env, p, err, tc.want)
		}
	}
}

// TestHealthReply: the strict profile answers only "healthy", and 502 until the console is up.
func TestHealthReply(t *testing.T) {
	encode := func(s *healthState) (int, string) {
		code, body := s.reply()
		if body == nil {
			return code, ""
		}
		b, _ := json.Marshal(body)
		return code, string(b)
	}
	def := &healthState{h: Health{Healthy: true, Version: "4.2.3", Status: "running"}}
	if code, body := encode(def); code != 200 || body != `{"data":{"healthy":true,"version":"4.2.3","status":"running"},"success":true}` {
		t.Errorf("default: %d %s", code, body)
	}
	strict := &healthState{h: Health{Version: "4.2.3", Status: "starting"}, strict: true}
	if code, body := encode(strict); code != 502 || body != "" {
		t.Errorf("strict before the console is up: %d %s", code, body)
	}
	strict.setConsoleUp()
	if code, body := encode(strict); code != 200 || body != `{"data":{"healthy":false},"success":true}` {
		t.Errorf("strict, console up: %d %s", code, body)
	}
	strict.set(true, "running")
	if code, body := encode(strict); code != 200 || body != `{"data":{"healthy":true},"success":true}` {
		t.Errorf("strict, healthy: %d %s", code, body)
	}
}

func TestInitLogName(t *testing.T) {
	got := InitLogName(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	if got != "docker_init_20260304050607.log" || !initLogRE.MatchString(got) {
		t.Errorf("InitLogName = %q", got)
	}
	dir := t.TempDir()
	for _, f := range []string{"docker_init_20260304050607.log", "docker_init_20260101000000.log", "docker_init.log", "docker_init_upgrade_410.log", "oms.log"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	logs, err := InitLogs(dir)
	if err != nil || len(logs) != 2 || filepath.Base(logs[0]) != "docker_init_20260101000000.log" {
		t.Errorf("InitLogs = %v, %v", logs, err)
	}
}
