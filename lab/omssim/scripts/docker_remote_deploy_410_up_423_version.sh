#!/bin/sh
# OMS Community Edition V4.1.0 -> V4.2.3 deployment tool (the lab simulator's version of the
# guide's docker_remote_deploy_410_up_423_version.sh). It runs ON THE HOST with POSIX sh:
#
#   sh docker_remote_deploy_410_up_423_version.sh -o <mount dir> -c <config.yaml> -i <ip> -d <image> [-n <name>]
#
# It asks the guide's questions in the guide's order, reading the answers from stdin (a
# terminal or a pipe), keeps config_copy.yaml beside config.yaml, and starts the V4.2.3
# container with the guide's docker run options and IS_UPGRADE=true. Afterwards run
# `sh /root/docker_oms_ce_version_upgrade.sh` inside the new container.
#
# -n names the new container (an addition of the lab: the real tool picks its own name);
# default oms_<ip with dots as underscores>. DOCKER overrides the docker command.
#
# With the simulator's strict profile (<mount dir>/run/omssim-profile or OMSSIM_PROFILE says
# "strict ...") the tool takes only the guide's options -o -c -i -d (-n is a usage error) and
# names the container itself, oms_<ip with dots as underscores>_<6 random hex digits>: find it
# afterwards (docker ps), do not assume it.
set -u

DOCKER=${DOCKER:-docker}
mount_dir=""
config=""
ip=""
image=""
name=""
name_given=no
strict=no

die() {
	echo "[ERROR] $*" >&2
	exit 1
}

usage() {
	if [ "$strict" = yes ]; then
		echo "usage: sh $0 -o <mount directory> -c <config.yaml> -i <local IP> -d <image>" >&2
	else
		echo "usage: sh $0 -o <mount directory> -c <config.yaml> -i <local IP> -d <image> [-n <container name>]" >&2
	fi
	exit 2
}

while getopts "o:c:i:d:n:h" opt; do
	case "$opt" in
	o) mount_dir=$OPTARG ;;
	c) config=$OPTARG ;;
	i) ip=$OPTARG ;;
	d) image=$OPTARG ;;
	n) name=$OPTARG name_given=yes ;;
	*) usage ;;
	esac
done
# The simulator's profile: the node's run mount says it, else the environment.
profile=${OMSSIM_PROFILE:-}
if [ -n "$mount_dir" ] && [ -f "$mount_dir/run/omssim-profile" ]; then
	profile=$(cat "$mount_dir/run/omssim-profile")
fi
case "$profile" in
strict*) strict=yes ;;
esac
if [ "$strict" = yes ] && [ "$name_given" = yes ]; then
	echo "$0: illegal option -- n" >&2
	usage
fi
[ -n "$mount_dir" ] && [ -n "$config" ] && [ -n "$ip" ] && [ -n "$image" ] || usage
[ -f "$config" ] || die "the configuration file $config does not exist (option -c)"
case "$ip" in
*[!0-9.]* | "") die "-i $ip is not an IPv4 address" ;;
esac
if [ "$strict" = yes ]; then
	name="oms_$(echo "$ip" | tr . _)_$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
fi
[ -n "$name" ] || name="oms_$(echo "$ip" | tr . _)"
command -v "$DOCKER" >/dev/null 2>&1 || die "docker is not installed on this host ($DOCKER not found)"
"$DOCKER" image inspect "$image" >/dev/null 2>&1 || die "image $image is not loaded: docker load -i <package> first"

# ask PROMPT: prints the prompt and reads one line into $answer; end of input is an error.
ask() {
	printf '%s' "$1"
	if ! IFS= read -r answer; then
		echo
		die "no answer to \"$1\" (end of input): deployment aborted"
	fi
	answer=$(printf '%s' "$answer" | tr -d '\r')
}

# ask_choice PROMPT CHOICES...: asks until the answer is one of CHOICES.
ask_choice() {
	prompt=$1
	shift
	while :; do
		ask "$prompt"
		for c in "$@"; do
			[ "$answer" = "$c" ] && return 0
		done
		echo "Invalid input \"$answer\": enter one of: $*"
	done
}

# ask_yn PROMPT: asks until y or n; returns 0 for y.
ask_yn() {
	ask_choice "$1 [y/n]: " y n Y N
	case "$answer" in y | Y) return 0 ;; *) return 1 ;; esac
}

# cfg KEY: the value of a top-level key of the configuration file.
cfg() {
	sed -n "s/^$1:[[:space:]]*//p" "$config" | head -n 1 | sed "s/^['\"]//; s/['\"][[:space:]]*\$//; s/[[:space:]]*\$//"
}

echo "Welcome to the OMS Community Edition V4.2.3 deployment tool (upgrade from V4.1.0)."

# Resources: the tool only warns.
cpus=$(nproc 2>/dev/null || echo 0)
mem_kb=$(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\).*/\1/p' /proc/meminfo 2>/dev/null)
mem_gb=$(( ${mem_kb:-0} / 1024 / 1024 ))
echo "Checking resources: CPU ${cpus} cores, memory ${mem_gb} GB."
if [ "$cpus" -lt 4 ] || [ "$mem_gb" -lt 16 ]; then
	echo "[WARN] Insufficient resources (recommended: 4 CPU cores and 16 GB of memory) will affect the data migration speed."
fi

echo "Select a deployment mode:"
echo "  1) Multiple Nodes in Single Region"
echo "  2) Multiple Regions"
ask_choice "Enter the number of the deployment mode: " 1 2
mode=$answer

echo "Select a task:"
echo "  1) Use Configuration File Uploaded with Script Option [-c]"
echo "  2) Create a Configuration File"
while :; do
	ask_choice "Enter the number of the task: " 1 2
	[ "$answer" = 1 ] && break
	echo "Creating a configuration file is not supported by this tool in the upgrade: choose 1 to use $config."
done

# The MetaDB check runs the simulator from the new image against the configuration file.
exists=$("$DOCKER" run --rm --net host -v "$(cd "$(dirname "$config")" && pwd)/$(basename "$config"):/home/admin/conf/config.yaml:ro" \
	--entrypoint /bin/omssim "$image" metadb-exists 2>&1)
rc=$?
case $rc in
0)
	ask_yn "The specified database names already exist in the MetaDB. Are you sure that you want to continue?" ||
		die "deployment cancelled: the database names already exist"
	ask_yn "The specified database names already exist in the MetaDB. Do you want to reinitialize the MetaDB?" ||
		die "deployment cancelled: the upgrade needs the existing MetaDB (answer y)"
	;;
1) ;;
*) die "cannot check the MetaDB with image $image: $exists" ;;
esac

echo "The configuration file passed the check. Settings:"
for k in oms_meta_host oms_meta_port oms_meta_user drc_rm_db drc_cm_db drc_cm_heartbeat_db cm_url cm_location cm_region cm_is_default; do
	printf '  %-22s %s\n' "$k" "$(cfg "$k")"
done
echo "  oms_meta_password      ********"
ask_yn "Are the settings correct?" || die "modify $config and run the tool again"

while :; do
	ask "Enter the mount directory of the OMS container on the host [$mount_dir]: "
	[ -n "$answer" ] && mount_dir=$answer
	if [ -d "$mount_dir" ]; then
		break
	fi
	echo "Invalid input \"$mount_dir\": the directory does not exist (it must be the V4.1.0 container's mount directory)."
done
mount_dir=$(cd "$mount_dir" && pwd)

if ! ask_yn "Use OMS_IMAGE=$image as the image of OMS Community Edition?"; then
	ask "Enter the image name of OMS Community Edition: "
	[ -n "$answer" ] || die "no image name given"
	image=$answer
fi
"$DOCKER" image inspect "$image" >/dev/null 2>&1 || die "image $image is not loaded: docker load -i <package> first"

ssl=""
if ask_yn "Mount an SSL certificate to the OMS container?"; then
	ask "Enter the path of https_crt: "
	crt=$answer
	ask "Enter the path of https_key: "
	key=$answer
	[ -f "$crt" ] || die "https_crt $crt does not exist"
	[ -f "$key" ] || die "https_key $key does not exist"
	ssl="-v $crt:/etc/pki/nginx/oms_server.crt -v $key:/etc/pki/nginx/oms_server.key"
fi

# A node whose IP is not on this server is remote: the lab deploys on the node itself only.
local_ip=no
case "$ip" in
127.*) local_ip=yes ;;
*)
	for a in $(hostname -I 2>/dev/null) $(ip -o -4 addr show 2>/dev/null | awk '{print $4}' | cut -d/ -f1); do
		[ "$a" = "$ip" ] && local_ip=yes
	done
	;;
esac
if [ "$local_ip" = no ]; then
	if ask_yn "The IP address $ip of the deployment differs from the IP addresses of this server. Do you want to execute the script on the remote node?"; then
		die "remote execution is not supported by the lab's tool: run it on $ip itself"
	fi
	die "deployment cancelled: $ip is not an address of this server"
fi

config_dir=$(cd "$(dirname "$config")" && pwd)
target="$config_dir/config.yaml"
while ! ask_yn "The config.yaml file will be written to $target. Is that correct?"; do
	ask "Enter the path to write config.yaml to: "
	[ -n "$answer" ] && target=$answer
done

if [ "$mode" = 2 ]; then
	if ask_yn "Do you want to deploy OMS Community Edition in a new region?"; then
		echo "Run this tool on a node of the new region with that region's configuration file."
	fi
fi

# Keep the V4.1.0 configuration: the rollback compares config.yaml with config_copy.yaml.
copy="$(dirname "$target")/config_copy.yaml"
if [ ! -f "$copy" ]; then
	cp "$config" "$copy" || die "cannot write $copy"
fi
if [ "$(cd "$(dirname "$config")" && pwd)/$(basename "$config")" != "$target" ]; then
	cp "$config" "$target" || die "cannot write $target"
fi
echo "Kept a copy of the configuration file as $copy."

for d in logs store run; do
	mkdir -p "$mount_dir/$d" || die "cannot create $mount_dir/$d"
done
if "$DOCKER" container inspect "$name" >/dev/null 2>&1; then
	[ "$strict" = yes ] && die "a container named $name already exists: remove it"
	die "a container named $name already exists: remove it or choose another name with -n"
fi
echo "Starting the OMS Community Edition container $name ..."
# start_container [PRIVILEGED_OPTION]: the guide's docker run.
start_container() {
	# shellcheck disable=SC2086 # $ssl and $1 hold whole options
	out=$("$DOCKER" run -dit --net host \
		-v "$target:/home/admin/conf/config.yaml" \
		-v "$mount_dir/logs:/home/admin/logs" \
		-v "$mount_dir/store:/home/ds/store" \
		-v "$mount_dir/run:/home/ds/run" \
		$ssl \
		-e OMS_HOST_IP="$ip" \
		-e IS_UPGRADE=true \
		$1 \
		--pids-limit -1 \
		--ulimit nproc=65535:65535 \
		--name "$name" \
		"$image" 2>&1)
}
if ! start_container --privileged=true; then
	case "$out" in
	*"apply caps"* | *"operation not permitted"*)
		# A Docker Engine inside a container (the lab's CI) cannot grant every capability.
		echo "[WARN] this Docker Engine cannot run privileged containers ($out); starting without --privileged=true"
		"$DOCKER" rm -f "$name" >/dev/null 2>&1
		start_container "" || die "docker run failed: $out"
		;;
	*) die "docker run failed: $out" ;;
	esac
fi
echo "Container $name started ($(echo "$out" | cut -c1-12))."
echo "[Completed] OMS Community Edition V4.2.3 is deployed on $ip. Next: docker exec -it $name bash, then sh /root/docker_oms_ce_version_upgrade.sh"
