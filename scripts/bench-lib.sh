# Shared by the bench scripts (sourced, not run): root check, scratch directory, the fleet hosts
# a script boots (removed at exit, also on failure or Ctrl-C), the release binary, timing and the
# results file.
#
# Results: every figure is one line "KEY<TAB>VALUE" appended to $BENCH_RESULTS; VALUE is seconds
# (or bytes, or a count), or "FAIL reason" when that case could not be made to work.
# scripts/bench sets BENCH_RESULTS for all its parts and prints every table at the end with
# scripts/bench-report; a part run alone prints its own tables when it ends.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BENCH_NAME=${0##*/}

note() { echo "$BENCH_NAME: $*" >&2; }
die() { note "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (the fleet)"
WORK=$(mktemp -d "/tmp/swock-$BENCH_NAME.XXXXXX")
MY_HOSTS=()      # fleet hosts this script boots; `fleet down` at exit
AT_EXIT=()       # more commands (strings) to run at exit, before the hosts go down

bench_cleanup() {
	local c
	for c in "${AT_EXIT[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
	if [ ${#MY_HOSTS[@]} -gt 0 ]; then
		note "removing ${#MY_HOSTS[@]} fleet hosts"
		machines/fleet down "${MY_HOSTS[@]}" >/dev/null 2>&1 || true
	fi
	if [ -n "${BENCH_KEEP:-}" ]; then note "scratch kept: $WORK"; else rm -rf "$WORK"; fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

STANDALONE=0
if [ -z "${BENCH_RESULTS:-}" ]; then
	STANDALONE=1
	BENCH_RESULTS=$WORK/results
	: >"$BENCH_RESULTS"
fi

# record KEY VALUE
record() { printf '%s\t%s\n' "$1" "$2" >>"$BENCH_RESULTS"; }

# report SECTION...: a part run alone prints its tables (under scripts/bench, the end does)
report() { if [ "$STANDALONE" = 1 ]; then scripts/bench-report "$BENCH_RESULTS" "$@"; fi; }

# The release binary: $BENCH_BIN when scripts/bench built it already, else built here.
release_binary() {
	if [ -n "${BENCH_BIN:-}" ]; then BIN=$BENCH_BIN; return; fi
	note "release build"
	swift build -c release --static-swift-stdlib --product swock-machine >"$WORK/build.log" 2>&1 ||
		{ cat "$WORK/build.log" >&2; exit 1; }
	BIN=$(swift build -c release --static-swift-stdlib --show-bin-path)/swock-machine
}

KEY=$(machines/fleet key)

# fleet_up VARIANT NAME...: boots the hosts, BENCH_BOOT_BATCH (25) at a time so that 2 cores
# keep up (all at once, 100 hosts outlast the boot timeout); prints fleet's TSV lines
# (NAME IP USER KEY). Call it in this shell (not in $(...)) so that cleanup knows the names.
fleet_up() {
	local variant=$1 i batch=${BENCH_BOOT_BATCH:-25}
	shift
	local names=("$@")
	MY_HOSTS+=("${names[@]}")
	machines/fleet down "${names[@]}" >/dev/null 2>&1 || true # leftovers of an interrupted run
	for ((i = 0; i < ${#names[@]}; i += batch)); do
		if ! SWOCK_FLEET_QUIET=1 SWOCK_FLEET_BOOT_TIMEOUT=${SWOCK_FLEET_BOOT_TIMEOUT:-180} \
			machines/fleet up --variant "$variant" "${names[@]:i:batch}" >"$WORK/up.tsv" 2>"$WORK/up.err"; then
			# a boot that outlasts the timeout on a busy machine gets one more try
			note "boot failed ($(reason "$WORK/up.err")); once more"
			machines/fleet down "${names[@]:i:batch}" >/dev/null 2>&1 || true
			SWOCK_FLEET_QUIET=1 SWOCK_FLEET_BOOT_TIMEOUT=${SWOCK_FLEET_BOOT_TIMEOUT:-180} \
				machines/fleet up --variant "$variant" "${names[@]:i:batch}" >"$WORK/up.tsv"
		fi
		cat "$WORK/up.tsv"
	done
}

# swock_create_all STORE TSV: one swock-machine create per host line (machine named as the
# host, ssh user tester), BENCH_CREATE_BATCH (20) at once; dies if one fails.
swock_create_all() {
	local store=$1 tsv=$2 batch=${BENCH_CREATE_BATCH:-20} n=0 name ip user rc=0 pids=()
	while IFS=$'\t' read -r name ip user _; do
		SWOCK_MACHINE_STORAGE_PATH=$store "$BIN" create --driver generic --generic-ip-address "$ip" \
			--generic-ssh-user "$user" --generic-ssh-key "$KEY" "$name" </dev/null >"$WORK/create-$name.log" 2>&1 &
		pids+=($!)
		n=$((n + 1))
		if [ $((n % batch)) = 0 ]; then
			for p in "${pids[@]}"; do wait "$p" || rc=1; done
			pids=()
		fi
	done <"$tsv"
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	if [ $rc != 0 ]; then
		grep -l -i error "$WORK"/create-*.log | head -n 3 | xargs tail -n 3 >&2 || true
		die "a swock-machine create failed"
	fi
}

# Docker Machine on the fleet's docker-variant hosts. Its provisioner writes a systemd drop-in
# that runs /usr/bin/dockerd (where docker-ce puts it); Debian's docker.io has /usr/sbin/dockerd,
# so its create fails with 203/EXEC. The one thing prepared on its own hosts (never on ours):
DM_HOST_PREP='ln -sf /usr/sbin/dockerd /usr/bin/dockerd'
DM_PREP_NOTE="docker-machine's own hosts were prepared with \`$DM_HOST_PREP\` (its drop-in runs /usr/bin/dockerd; Debian's docker.io installs /usr/sbin/dockerd: 203/EXEC without it); its store holds the file no-error-report (no crash reports to bugsnag.com). Nothing else."

# dm_prepare NAME...: that preparation, on each host
dm_prepare() {
	local n pids=() rc=0
	for n in "$@"; do machines/fleet run "$n" -- sh -c "$DM_HOST_PREP" & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}

# dm_store DIR: an empty docker-machine store that sends no crash reports
dm_store() { mkdir -p "$1"; touch "$1/no-error-report"; }

# dm_create STORE USER NAME IP: docker-machine's generic driver on a fleet host
dm_create() {
	MACHINE_STORAGE_PATH=$1 timeout "${BENCH_DM_CREATE_TIMEOUT:-300}" "$DOCKER_MACHINE" create -d generic \
		--generic-ip-address "$4" --generic-ssh-user "$2" --generic-ssh-key "$KEY" "$3"
}

# reason FILE: the last non-empty line of a log, short enough for a table cell
reason() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | tr -s ' \t|' ' ' | cut -c 1-100 || true; }

# median: of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# elapsed T0: seconds since $EPOCHREALTIME was T0
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'; }

# measure KEY RUNS CMD...: one untimed warm-up run, then the median wall time of RUNS runs of
# CMD (a command or shell function that exits non-zero when the work was not done; its stdout
# is discarded). A failure records "FAIL reason" instead and the benchmark goes on.
# With MEASURE_RESOURCES=1, the warm-up and the timed runs happen in fresh cgroup-v1 memory and
# cpuacct cgroups of their own, so that every process of the run counts, children and daemons
# it leaves behind included (ansible's ssh masters); after the warm-up the page cache it wrote
# is dropped (memory.force_empty) and the peak reset, then KEY.mem records the peak
# (memory.max_usage_in_bytes: anonymous memory plus the page cache the runs add; program files
# already cached are charged elsewhere, alike for every tool) and KEY.cpu the median CPU time
# (user + system, cpuacct.usage) of a timed run. MEASURE_AFTER: a command run after the runs
# while the cgroups still exist (to end such daemons). MEASURE_BEFORE: a command run before
# each run, untimed (to stop a daemon the previous run left).
measure() {
	local key=$1
	[ "${MEASURE_RESOURCES:-0}" = 1 ] || { measure_runs "$@"; return 0; }
	local id=swock-bench-$$-${key//./-} mem cpu
	mem=/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)/$id
	cpu=/sys/fs/cgroup/cpuacct$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ { print $3 }' /proc/self/cgroup)/$id
	if ! mkdir "$mem" "$cpu" 2>"$WORK/cgroup.err"; then
		record "$key.mem" "FAIL no cgroup-v1 memory and cpuacct cgroups here: $(reason "$WORK/cgroup.err")"
		measure_runs "$@"
		return 0
	fi
	(
		echo "$BASHPID" >"$mem/cgroup.procs"
		echo "$BASHPID" >"$cpu/cgroup.procs"
		CG_MEM=$mem CG_CPU=$cpu measure_runs "$@"
	)
	[ -z "${MEASURE_AFTER:-}" ] || eval "$MEASURE_AFTER" >/dev/null 2>&1 || true
	for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$mem" "$cpu" 2>/dev/null && return 0; sleep 0.5; done
	AT_EXIT+=("rmdir '$mem' '$cpu'")
}
measure_runs() {
	local key=$1 runs=$2 i t0 c0 times=() cpus=() err=$WORK/measure.err
	shift 2
	for ((i = 0; i <= runs; i++)); do
		[ -z "${MEASURE_BEFORE:-}" ] || eval "$MEASURE_BEFORE" >/dev/null 2>&1 || true
		t0=$EPOCHREALTIME
		[ -z "${CG_CPU:-}" ] || c0=$(cat "$CG_CPU/cpuacct.usage")
		if ! "$@" >/dev/null 2>"$err"; then
			record "$key" "FAIL $(reason "$err")"
			note "  $key: failed: $(reason "$err")"
			return 0
		fi
		if [ "$i" = 0 ]; then
			if [ -n "${CG_MEM:-}" ]; then
				echo 0 >"$CG_MEM/memory.force_empty"
				echo 0 >"$CG_MEM/memory.max_usage_in_bytes"
			fi
		else
			times+=("$(elapsed "$t0")")
			[ -z "${CG_CPU:-}" ] || cpus+=("$(awk -v a="$c0" -v b="$(cat "$CG_CPU/cpuacct.usage")" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')")
		fi
	done
	local m
	m=$(printf '%s\n' "${times[@]}" | median)
	record "$key" "$m"
	if [ -n "${CG_MEM:-}" ]; then
		record "$key.mem" "$(cat "$CG_MEM/memory.max_usage_in_bytes")"
		record "$key.cpu" "$(printf '%s\n' "${cpus[@]}" | median)"
		note "  $key: $m s; peak $(($(cat "$CG_MEM/memory.max_usage_in_bytes") / 1048576)) MiB, CPU $(printf '%s\n' "${cpus[@]}" | median) s"
	else
		note "  $key: $m s"
	fi
}

# settle: waits until this machine is quiet (3 seconds in a row with its CPUs at least 90 %
# idle; at most BENCH_SETTLE_MAX, 120 s), so that hosts a previous part removed, or a build,
# do not wind down inside the timings. Says how long it waited and whether it got there.
settle() {
	local quiet=0 waited=0 max=${BENCH_SETTLE_MAX:-120} a b i idle total
	while [ $quiet -lt 3 ] && [ $waited -lt "$max" ]; do
		read -ra a </proc/stat
		sleep 1
		read -ra b </proc/stat
		idle=$((b[4] + b[5] - a[4] - a[5]))
		total=0
		for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
		if [ $((idle * 100)) -ge $((total * 90)) ]; then quiet=$((quiet + 1)); else quiet=0; fi
		waited=$((waited + 1))
	done
	if [ $quiet -ge 3 ]; then note "quiet after $waited s"; else note "not quiet after $waited s; measuring anyway"; fi
}
