# The stage hosts of the tests that run `edgepipe stage` and `edgepipe dispatch` on loopback
# addresses, no namespaces, no root (stage_dispatch.sh, stage_dispatch_update.sh,
# stage_dispatch_back.sh, k8s_deploy_run.sh): start N hosts with ports derived from the pid,
# wait until they listen, stop or kill them, wait for a line in their logs or for bytes on
# their data ports. Sourced after cli_lib.sh's setup (it uses EP and TMP):
#
#   source "$(dirname "$0")/cli_lib.sh"
#   setup my_test.sh "$@"
#   source "$(dirname "$0")/stage_hosts.sh"
#   hosts_require 4
#   if hosts_start one 4; then "$EP" dispatch --hosts "$HOSTS" ...; hosts_kill; fi
#
# Host I (0-based: node I of the dispatcher's --hosts list) listens on 127.0.0.(I + 2), control
# port PORT, data ports PORT + 1... (edgepipe stage's default), and logs to $TMP/TAG.hI.log.
# HOSTS_PIDS[I] is its process, empty once it is gone. Every host is SIGKILLed on exit.

HOSTS_PIDS=()

# hosts_addr I: the address of host I.
hosts_addr() {
	echo "127.0.0.$(($1 + 2))"
}

# hosts_require N: exits 77 (skip) unless the addresses of N hosts are loopback addresses here
# (Linux routes all of 127/8 to lo; elsewhere 127.0.0.2 may not exist).
hosts_require() {
	local last
	last=$(hosts_addr $(($1 - 1)))
	if ! python3 -c 'import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0))' \
		"$last" 2>/dev/null; then
		echo "skip: $last is not a loopback address here"
		exit 77
	fi
}

# hosts_kill: SIGKILL every host and reap it.
hosts_kill() {
	local p
	for p in "${HOSTS_PIDS[@]}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
	for p in "${HOSTS_PIDS[@]}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
	HOSTS_PIDS=()
}
at_exit hosts_kill

# host_kill I: SIGKILL host I (a node dying) and reap it.
host_kill() {
	local p=${HOSTS_PIDS[$1]:-}
	[ -n "$p" ] && { kill -9 "$p" && wait "$p"; } 2>/dev/null
	HOSTS_PIDS[$1]=
}

# hosts_stop: SIGTERM every host still running and reap it; 0 when each exited 0, else 1 with
# HOSTS_BAD listing " I:STATUS" for the others.
hosts_stop() {
	local i
	HOSTS_BAD=
	for i in "${!HOSTS_PIDS[@]}"; do
		[ -n "${HOSTS_PIDS[$i]}" ] && kill -TERM "${HOSTS_PIDS[$i]}"
	done
	for i in "${!HOSTS_PIDS[@]}"; do
		[ -n "${HOSTS_PIDS[$i]}" ] && { wait "${HOSTS_PIDS[$i]}" || HOSTS_BAD="$HOSTS_BAD $i:$?"; }
	done
	HOSTS_PIDS=()
	[ -z "$HOSTS_BAD" ]
}

# hosts_stage_argv I: edgepipe's arguments for host I: a stage host on its address (the
# default of hosts_start's --argv). An --argv function sets the array HOST_ARGV likewise.
hosts_stage_argv() {
	HOST_ARGV=(stage --listen "$(hosts_addr "$1"):$PORT" --name "h$1")
}

# _hosts_spawn I LOG [DIR]: start host I (HOST_ARGV) in the background, in DIR if given.
_hosts_spawn() {
	if [ -n "${3:-}" ]; then
		(cd "$3" && exec "$EP" "${HOST_ARGV[@]}") >"$2" 2>&1 &
	else
		"$EP" "${HOST_ARGV[@]}" >"$2" 2>&1 &
	fi
	HOSTS_PIDS[$1]=$!
}

# hosts_listening LOG...: up to 5 s for each log to say the host listens (or cannot); 0 when
# every one listens.
hosts_listening() {
	local log ok=0
	for log in "$@"; do
		for _ in $(seq 50); do
			grep -q "listening\|cannot listen" "$log" && break
			sleep 0.1
		done
		grep -q listening "$log" || ok=1
	done
	return $ok
}

# hosts_start [--dirs] [--prepare FN] [--argv FN] TAG N: start N hosts (at most 8) and wait until they
# listen; sets PORT, and HOSTS to the dispatcher's list "a=ADDR:PORT,b=...". A port taken on an
# address moves all of them on (5 tries, ports derived from the pid and TAG). Options:
#   --dirs        host I runs in the directory $TMP/TAG.hI (made), its own files there;
#   --prepare FN  runs FN once PORT is chosen and the directories made, before the hosts
#                 start (FN's failure: return 1 at once);
#   --argv FN     FN I sets HOST_ARGV, host I's arguments (hosts_stage_argv by default).
# Returns 1 when no port was free (the logs say why).
hosts_start() {
	local dirs=0 prepare= argv=hosts_stage_argv tag n salt try i dir ok names=(a b c d e f g h)
	while [ $# -gt 2 ]; do
		case $1 in
		--dirs) dirs=1; shift ;;
		--prepare) prepare=$2; shift 2 ;;
		--argv) argv=$2; shift 2 ;;
		*) echo "hosts_start: unknown option '$1'" >&2; return 2 ;;
		esac
	done
	tag=$1
	n=$2
	salt=$(printf '%s' "$tag" | cksum | cut -d' ' -f1)
	for try in 0 1 2 3 4; do
		PORT=$((20000 + ($$ * 13 + try * 1009 + salt) % 40000))
		HOSTS_PIDS=()
		for ((i = 0; i < n; i++)); do
			[ $dirs = 1 ] && mkdir -p "$TMP/$tag.h$i"
		done
		if [ -n "$prepare" ] && ! "$prepare"; then
			return 1
		fi
		for ((i = 0; i < n; i++)); do
			dir=
			[ $dirs = 1 ] && dir=$TMP/$tag.h$i
			"$argv" "$i"
			_hosts_spawn "$i" "$TMP/$tag.h$i.log" "$dir"
		done
		ok=1
		hosts_listening $(for ((i = 0; i < n; i++)); do echo "$TMP/$tag.h$i.log"; done) || ok=0
		if [ $ok = 1 ]; then
			HOSTS=
			for ((i = 0; i < n; i++)); do
				HOSTS="$HOSTS${HOSTS:+,}${names[i]}=$(hosts_addr "$i"):$PORT"
			done
			return 0
		fi
		hosts_kill
	done
	return 1
}

# host_restart I LOG: start host I again on its address and port (hosts_stage_argv), logging
# to LOG.
host_restart() {
	hosts_stage_argv "$1"
	_hosts_spawn "$1" "$2"
}

# host_of LOG: the host number of a log $TMP/TAG.hI.log.
host_of() {
	local f=${1##*.h}
	echo "${f%%.*}"
}

# log_wait SECONDS PATTERN FILE...: until one of the files has a line matching PATTERN (grep);
# prints the first such file. 1 when none has one after SECONDS.
log_wait() {
	local secs=$1 pattern=$2 f
	shift 2
	for _ in $(seq $((secs * 20))); do
		f=$(grep -l -- "$pattern" "$@" 2>/dev/null | head -1)
		[ -n "$f" ] && { echo "$f"; return 0; }
		sleep 0.05
	done
	return 1
}

# host_rx_wait I [PORT...]: up to 30 s until one connection to a data port of host I (PORT + 1
# by default) has received two input images of MobileNetV2 (224 x 224 x 3 floats): the
# workload runs (a kill before it, during set-up, ends the run by design: emu_recovery.c).
# Prints the largest byte count seen.
host_rx_wait() {
	local i=$1 rx filter= p
	shift
	[ $# -gt 0 ] || set -- $((PORT + 1))
	for p in "$@"; do filter="$filter${filter:+ or }sport = :$p"; done
	for _ in $(seq 600); do
		rx=$(ss -Htin state established "( $filter )" src "$(hosts_addr "$i")" 2>/dev/null |
			grep -o 'bytes_received:[0-9]*' | cut -d: -f2 | sort -n | tail -1)
		[ "${rx:-0}" -gt $((2 * 224 * 224 * 3 * 4)) ] && break
		sleep 0.05
	done
	echo "${rx:-0}"
	[ "${rx:-0}" -gt $((2 * 224 * 224 * 3 * 4)) ]
}
