package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The docker recorder: the inventory's docker_cmd is <lab dir>/bin/docker-recorder, a shell
// script that appends every call's argv (the values of -e/--env masked) to
// <lab dir>/docker-argv.log and execs the real docker. So tests can prove what the playbooks
// passed (--privileged=true on this engine too, which refuses privileged containers: there the
// recorder drops the option from run/create before exec'ing, labels the container, and makes
// docker inspect of such a container say Privileged true, so that the playbooks see the
// container they asked for).

// RecorderLabel marks a container whose --privileged=true the recorder dropped.
const RecorderLabel = "org.omsbook.recorder.privileged"

// RecorderPath is the docker recorder of the lab (the inventory's docker_cmd).
func (l *Lab) RecorderPath() string { return filepath.Join(l.Dir, "bin", "docker-recorder") }

// ArgvLogPath is where the recorder appends one JSON line per docker call.
func (l *Lab) ArgvLogPath() string { return filepath.Join(l.Dir, "docker-argv.log") }

// writeRecorder writes the recorder script for this lab (idempotent).
func (l *Lab) writeRecorder() error {
	real, err := exec.LookPath("docker")
	if err != nil {
		return fmt.Errorf("lab %s: the docker recorder needs the docker client: %w", l.Name, err)
	}
	if real, err = filepath.Abs(real); err != nil {
		return fmt.Errorf("lab %s: docker client path: %w", l.Name, err)
	}
	path := l.RecorderPath()
	if err := writeFile(path, []byte(recorderScript(real, l.ArgvLogPath(), !l.Privileged, l.Name))); err != nil {
		return err
	}
	if err := os.Chmod(path, 0o755); err != nil {
		return fmt.Errorf("lab %s: docker recorder: %w", l.Name, err)
	}
	return nil
}

// recorderScript is the recorder: POSIX sh, run by the nodes' sshd sessions (processes of this
// machine) and by the lab itself.
func recorderScript(docker, logPath string, dropPrivileged bool, lab string) string {
	drop := "no"
	if dropPrivileged {
		drop = "yes"
	}
	r := strings.NewReplacer("@DOCKER@", shq(docker), "@LOG@", shq(logPath), "@DROP@", drop, "@LAB@", lab, "@LABEL@", RecorderLabel)
	return r.Replace(recorderTemplate)
}

// shq quotes a string for sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

const recorderTemplate = `#!/bin/sh
# The docker recorder of lab @LAB@, written by omslab up (lab/recorder.go): appends this call's
# argv to the log as one JSON line, the values of -e/--env masked, and execs docker. With
# drop_privileged=yes (this Docker Engine refuses privileged containers) it removes
# --privileged[=true] from run/create, labels the container @LABEL@=dropped, and makes
# docker inspect (without --format) say "Privileged": true for such containers.
real=@DOCKER@
log=@LOG@
drop_privileged=@DROP@
nl='
'

# js S: S as a JSON string.
js() {
	case $1 in
	*[\"\\\	]* | *"$nl"*)
		printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' | awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }')" ;;
	*) printf '"%s"' "$1" ;;
	esac
}

# mask A: A=K=V as K=*** (a docker -e value).
mask() {
	case $1 in
	*=*) printf '%s=***' "${1%%=*}" ;;
	*) printf '%s' "$1" ;;
	esac
}

argv='"docker"'
sub=""
sub2=""
next=""
for a do
	logged=$a
	if [ "$next" = mask ]; then
		logged=$(mask "$a")
		next=""
	else
		case $a in
		-e | --env) next=mask ;;
		--env=*) logged="--env=$(mask "${a#--env=}")" ;;
		-e?*) logged="-e$(mask "${a#-e}")" ;;
		-*) ;;
		*)
			if [ -z "$sub" ]; then
				sub=$a
			elif [ "$sub" = container ] && [ -z "$sub2" ]; then
				sub2=$a
			fi
			;;
		esac
	fi
	argv="$argv,$(js "$logged")"
done
[ "$sub" = container ] && sub=$sub2

dropped=false
if [ "$drop_privileged" = yes ]; then
	case $sub in
	run | create)
		first=yes
		for a do
			shift
			case $a in
			--privileged | --privileged=true)
				dropped=true
				continue
				;;
			esac
			set -- "$@" "$a"
		done
		if [ "$dropped" = true ]; then
			# the label goes right after the subcommand
			for a do
				shift
				set -- "$@" "$a"
				if [ "$first" = yes ] && [ "$a" = "$sub" ]; then
					set -- "$@" --label "@LABEL@=dropped"
					first=no
				fi
			done
		fi
		;;
	esac
fi

line="{\"time\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)\",\"argv\":[$argv]"
[ "$dropped" = true ] && line="$line,\"privileged_dropped\":true"
printf '%s}\n' "$line" >>"$log"

if [ "$drop_privileged" = yes ] && [ "$sub" = inspect ]; then
	case " $* " in
	*" -f "* | *" --format "* | *" --format="* | *" -f="*) ;;
	*)
		out=$("$real" "$@")
		rc=$?
		# Per top-level object of the JSON array: a container the recorder started without
		# --privileged says what was asked.
		[ -n "$out" ] && printf '%s\n' "$out" | awk '
			/^    [{]$/ { buf = $0; inobj = 1; next }
			inobj { buf = buf "\n" $0
				if ($0 ~ /^    [}],?$/) {
					if (buf ~ /"@LABEL@": "dropped"/) gsub(/"Privileged": false/, "\"Privileged\": true", buf)
					print buf; inobj = 0
				}
				next }
			{ print }'
		exit $rc
		;;
	esac
fi
exec "$real" "$@"
`
