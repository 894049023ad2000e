#!/bin/sh
# Guest side of `make bench` (tools/bench boots the VM lab and runs this as
# /blkxlate/run.sh through a wrapper that sets the BENCH_* variables below).
#
# Compares, over the same lab NVMe namespaces and in ONE boot:
#   raw            NVMe BLKXLATE-A nsid 1, alone
#   dm-stripe      dm "striped" over A/1 + C/1, 64 KiB chunk (the in-kernel peer)
#   blkxlate-bpf   the striped LUN of tests/vm/bench.json (A/1 + C/1, 64 KiB)
#                  served by `blkxlate up --dataplane bpf` (the in-kernel
#                  io_uring BPF loop; 7.1+ only)
#   blkxlate-user  the same LUN served by `blkxlate up --dataplane user` (the
#                  userspace io_uring loop)
#   blkxlate-bpf-notrace, blkxlate-user-notrace
#                  the same, with `--no-tracing`: the daemon's block/NVMe
#                  tracepoint programs not attached.  Against the target
#                  with them it measures what tracing costs while no one
#                  reads (the "tracing cost" lines of the report).
# BENCH_DATAPLANES says which blkxlate targets run ("bpf user" by default;
# "user" on a kernel without the BPF path, e.g. 6.12; tools/bench adds the
# -notrace one of the first).
# Both stripes and the daemon open the members exclusively, so they cannot
# coexist: every repetition sets each target up, runs its fio jobs and takes
# it down again, in the order raw, dm-stripe, blkxlate-bpf, blkxlate-user.
#
# fio: ioengine=io_uring, direct=1, numjobs=1, the first BENCH_WS_MIB MiB of
# the target (pre-written once, before the first repetition, so no read hits
# a never-written block), time_based, BENCH_RAMP s ramp + BENCH_RUNTIME s.
#   randread4k      rw=randread bs=4k   iodepth=BENCH_QD (32)
#   seqread128k     rw=read     bs=128k iodepth=BENCH_SEQ_QD (32)
#   randread4k-qd1  rw=randread bs=4k   iodepth=1, on dm-stripe and blkxlate
#                   only, in the first BENCH_QD1_REPS repetitions (3)
# After every blkxlate run the data path counters (queue_stats) say who served
# the READ/WRITE in the run's window: on blkxlate-bpf more than 1% served by
# the userspace handler fails the bench (the fast path would not be what was
# measured); on blkxlate-user any served by BPF does.
# BENCH_PROFILE=1 adds, for the blkxlate runs: a sampler of the daemon's
# queue threads (state, wchan, syscall, 5 per second) and the kernel's BPF
# program statistics (kernel.bpf_stats_enabled=1: run time of loop_step);
# and after the repetitions, traced 2 s runs (function_graph over a few
# io_uring/ublk/block functions: time per I/O by function and task) of
# dm-stripe 128k and of every blkxlate target and test ("BENCHTRACE" lines).
#
# Output: "BENCHRUN ..." per fio run (with CPU and context-switch counters),
# then between "=== blkxlate bench results ===" and "=== end ===" the table,
# the ratios, the goals and one "BENCH ..." line per result. Exit status 0
# when every run produced a result, whatever the ratios; 1 when the bench
# itself failed.
# shellcheck disable=SC2015 # "[ ... ] && [ ... ] || die": die exits
# shellcheck disable=SC2020 # tr maps characters to newlines on purpose
set -eu

REPS=${BENCH_REPS:-5}
RUNTIME=${BENCH_RUNTIME:-5}
RAMP=${BENCH_RAMP:-2}
WS_MIB=${BENCH_WS_MIB:-200}
QD=${BENCH_QD:-32}
SEQ_QD=${BENCH_SEQ_QD:-32}
QD1_REPS=${BENCH_QD1_REPS:-3}
QUEUES=${BENCH_QUEUES:-}
DEPTH=${BENCH_DEPTH:-}
PROFILE=${BENCH_PROFILE:-0}
DATAPLANES=${BENCH_DATAPLANES:-bpf user}
TRACING=${BENCH_TRACING:-1} # 0: blkxlate daemon --no-tracing
CONFIG=${BENCH_CONFIG:-/blkxlate/tests/vm/bench.json}
MAX_USER_PCT=1 # blkxlate-bpf: at most this % of READ/WRITE served in userspace
# the issue's goals (ratios of medians, one boot):
GOAL_BPF_USER_4K=1.30 # randread4k blkxlate-bpf >= 1.3x blkxlate-user
GOAL_BPF_DM_4K=0.80   # randread4k blkxlate-bpf >= 0.8x dm-stripe
GOAL_BPF_DM_128K=0.95 # seqread128k blkxlate-bpf >= 0.95x dm-stripe
GOAL_USER_DM_4K=0.70  # the earlier goal: randread4k userspace path >= 0.7x dm-stripe

STRIPE_CTRL=a0c4e2d1-7b3f-4c6a-9e21-0d5b8f3a6c10
LINK=/run/blkxlate/$STRIPE_CTRL/lun0
CHUNK_SECT=128 # 64 KiB, as chunk_size_in_kb in bench.json
DM_NAME=bxbench
CHECK_MIB=16 # the stripes' first MiB compared by checksum
HZ=100       # USER_HZ: /proc/stat and /proc/PID/stat count in 1/100 s
PIN=/sys/fs/bpf/blkxlate/default

W=/tmp/bench
RES=$W/runs
mkdir -p "$W"
: >"$RES"

log() { echo "bench: $*"; }
die() {
	echo "bench: error: $*" >&2
	exit 1
}

for v in "$REPS" "$RUNTIME" "$RAMP" "$WS_MIB" "$QD" "$SEQ_QD" "$QD1_REPS"; do
	case "$v" in '' | *[!0-9]*) die "'$v' is not a number (BENCH_*)" ;; esac
done
[ "$REPS" -ge 1 ] || die "BENCH_REPS must be >= 1"
[ -r "$CONFIG" ] || die "no config $CONFIG"
for t in fio dmsetup blkxlate md5sum bpftool; do
	command -v "$t" >/dev/null 2>&1 || die "$t is not in the guest's PATH"
done
BX_TARGETS=""
for dp in $DATAPLANES; do
	case "$dp" in
	bpf | user | bpf-notrace | user-notrace) BX_TARGETS="$BX_TARGETS blkxlate-$dp" ;;
	*) die "BENCH_DATAPLANES: '$dp' is not bpf, user, bpf-notrace or user-notrace" ;;
	esac
done
[ -n "$BX_TARGETS" ] || die "BENCH_DATAPLANES is empty"
HAVE_BPF=0
case " $DATAPLANES " in *" bpf "* | *" bpf-notrace "*) HAVE_BPF=1 ;; esac
HAVE_USER=0
case " $DATAPLANES " in *" user "*) HAVE_USER=1 ;; esac
# the kernel must have what was asked for: no silent fallback
auto_dp=$(blkxlate features 2>/dev/null | sed -n 's/^data path (auto) *\([a-z]*\).*/\1/p')
if [ "$HAVE_BPF" = 1 ] && [ "$auto_dp" != bpf ]; then
	blkxlate features || true
	die "the BPF data path was asked for, but 'blkxlate features' says the data path (auto) is '${auto_dp:-?}' on $(uname -r)"
fi

# ------------------------------------------------------------ members ---
# nvme_disk SERIAL NSID: the block device name (nvme1n2), by serial + nsid,
# through the daemon's own resolver
nvme_disk() {
	dev=$(blkxlate resolve nvme "$1" "$2") || return 1
	echo "${dev#/dev/}"
}
A1=$(nvme_disk BLKXLATE-A 1) || die "no NVMe namespace BLKXLATE-A nsid 1"
C1=$(nvme_disk BLKXLATE-C 1) || die "no NVMe namespace BLKXLATE-C nsid 1"
[ -b "/dev/$A1" ] && [ -b "/dev/$C1" ] || die "/dev/$A1 or /dev/$C1 is missing"
secA=$(cat "/sys/block/$A1/size")
secC=$(cat "/sys/block/$C1/size")
[ "$(cat "/sys/block/$A1/queue/logical_block_size")" = \
	"$(cat "/sys/block/$C1/queue/logical_block_size")" ] ||
	die "$A1 and $C1 differ in logical block size"
[ $((WS_MIB * 2048)) -le "$secA" ] || die "working set ${WS_MIB} MiB > $A1"
# dm-stripe: each member's share a multiple of the chunk
per=$(((secA < secC ? secA : secC) / CHUNK_SECT * CHUNK_SECT))
DM_SECT=$((per * 2))

# -------------------------------------------------------- the targets ---
BX_UP=0
DM_UP=0
BX_PID=""
BX_DEV=""
BX_DP=""
DM_DEV=""
SAMPLER=""
cleanup() {
	if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
	if [ "$BX_UP" = 1 ]; then blkxlate down >/dev/null 2>&1 || true; fi
	if [ "$DM_UP" = 1 ]; then dmsetup remove --noudevsync "$DM_NAME" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

dm_up() {
	echo "0 $DM_SECT striped 2 $CHUNK_SECT /dev/$A1 0 /dev/$C1 0" |
		dmsetup create --noudevsync "$DM_NAME" ||
		die "dmsetup create $DM_NAME failed"
	DM_UP=1
	DM_DEV=""
	for d in /sys/block/dm-*; do
		[ -r "$d/dm/name" ] || continue
		if [ "$(cat "$d/dm/name")" = "$DM_NAME" ]; then
			DM_DEV=/dev/${d##*/}
		fi
	done
	[ -n "$DM_DEV" ] && [ -b "$DM_DEV" ] || die "dm device $DM_NAME has no /dev/dm-N node"
}
dm_down() {
	dmsetup remove --noudevsync "$DM_NAME" || die "dmsetup remove $DM_NAME failed"
	DM_UP=0
}
# json_field NAME: the first "NAME": value of the JSON on stdin
json_field() {
	tr ',{}' '\n\n\n' | sed -n "s/^ *\"$1\": *\"\{0,1\}\([^\"]*\)\"\{0,1\} *$/\1/p" | head -n 1
}
# bx_up TARGET [DAEMON OPTIONS]: TARGET blkxlate-DATAPLANE[-notrace]
bx_up() {
	want=${1#blkxlate-}
	shift
	tr_want=true
	case "$want" in
	*-notrace)
		want=${want%-notrace}
		tr_want=false
		set -- "$@" --no-tracing
		;;
	esac
	case " $* " in *" --no-tracing "*) tr_want=false ;; esac
	out=$(blkxlate up --dataplane "$want" "$@" "$CONFIG" 2>&1) || {
		echo "$out"
		tail -n 20 /run/blkxlate/default.log 2>/dev/null || true
		die "blkxlate up --dataplane $want $* failed"
	}
	BX_UP=1
	st=$(blkxlate status --json) || die "blkxlate status --json failed after up"
	BX_PID=$(echo "$out" | sed -n 's/.* served by pid \([0-9][0-9]*\).*/\1/p')
	[ -n "$BX_PID" ] || BX_PID=$(echo "$st" | json_field pid)
	[ -n "$BX_PID" ] && [ -d "/proc/$BX_PID" ] || die "cannot find the daemon's pid"
	BX_DP=$(echo "$st" | json_field dataplane)
	[ "$BX_DP" = "$want" ] ||
		die "blkxlate up --dataplane $want: status says the data path is '$BX_DP'"
	BX_TRACING=$(echo "$st" | json_field tracing)
	[ "$BX_TRACING" = "$tr_want" ] ||
		die "blkxlate up --dataplane $want $*: status says tracing is '$BX_TRACING', not $tr_want"
	BX_DEV=$(readlink -f "$LINK") || die "no $LINK after blkxlate up"
	[ -b "$BX_DEV" ] || die "$LINK -> $BX_DEV is not a block device"
}
bx_down() {
	blkxlate down >/dev/null || die "blkxlate down failed"
	BX_UP=0
	BX_PID=""
	BX_DP=""
}

# ----------------------------------------------------------- counters ---
sched_of() { # sched_of DEV: its I/O scheduler, the active one in []
	f=/sys/block/${1#/dev/}/queue/scheduler
	if [ -r "$f" ]; then cat "$f"; else echo "n/a (bio-based, no scheduler)"; fi
}
active_sched() {
	sched_of "$1" | sed -n 's/.*\[\(.*\)\].*/\1/p'
}
# snap DEV [THREADS_FILE]: "uptime busy total ctxt dev_sectors memberA_ios
#   memberC_ios daemon_utime daemon_stime daemon_vcsw daemon_nvcsw
#   daemon_run_ns daemon_runq_wait_ns" (13 numbers); the daemon's per-thread
#   counters also go to THREADS_FILE
snap() {
	up=$(cut -d' ' -f1 /proc/uptime)
	# busy = user nice system irq softirq steal; total adds idle iowait
	cpu=$(awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6 }' /proc/stat)
	ctxt=$(awk '/^ctxt / { print $2 }' /proc/stat)
	dsec=$(awk '{ print $3 }' "/sys/block/${1#/dev/}/stat")
	ma=$(awk '{ print $1 }' "/sys/block/$A1/stat")
	mc=$(awk '{ print $1 }' "/sys/block/$C1/stat")
	dt="0 0 0 0 0 0"
	if [ -n "$BX_PID" ] && [ -n "${2:-}" ]; then
		daemon_threads >"$2"
		dt=$(awk '{ u += $2; s += $3; v += $4; n += $5; r += $6; w += $7 }
			END { printf "%.0f %.0f %.0f %.0f %.0f %.0f\n", u, s, v, n, r, w }' "$2")
	fi
	echo "$up $cpu $ctxt $dsec $ma $mc $dt"
}
# daemon_threads: "tid/name utime stime vcsw nvcsw run_ns runq_wait_ns" per
# thread of the daemon (utime/stime in ticks; run and run-queue wait from
# schedstat, in ns)
daemon_threads() {
	for t in /proc/"$BX_PID"/task/*; do
		[ -r "$t/stat" ] || continue
		# utime, stime: fields 14, 15; after the ")" of comm: 12, 13
		ut=$(sed 's/.*) //' "$t/stat" | awk '{ print $12, $13 }')
		cs=$(awk '/^voluntary_ctxt_switches/ { v = $2 }
			/^nonvoluntary_ctxt_switches/ { n = $2 } END { print v + 0, n + 0 }' "$t/status")
		ss="0 0"
		if [ -r "$t/schedstat" ]; then ss=$(cut -d' ' -f1,2 "$t/schedstat"); fi
		# the thread's name (queue threads, io_uring's iou-wrk workers...)
		comm=$(tr -c 'A-Za-z0-9_.-' '_' <"$t/comm" | sed 's/_*$//')
		echo "${t##*/}/${comm:-?} $ut $cs $ss"
	done
}
# qstats: "bpf_rw user_rw loop_steps user_other handoffs submit_errors" of
# the data path, summed over every queue (zeros when no daemon runs)
qstats() {
	if [ -z "$BX_PID" ]; then
		echo "0 0 0 0 0 0"
		return 0
	fi
	bpftool -j map dump pinned "$PIN/queue_stats" | tr ',{}' '\n\n\n' |
		awk -F: '
		/"bpf_rw"/ { b += $2 } /"user_rw"/ { u += $2 } /"loop_steps"/ { l += $2 }
		/"user_other"/ { o += $2 } /"handoff_[a-z]*"/ { h += $2 } /"submit_errors"/ { e += $2 }
		END { printf "%.0f %.0f %.0f %.0f %.0f %.0f\n", b, u, l, o, h, e }' ||
		die "cannot read $PIN/queue_stats with bpftool"
}
# progstats: "run_time_ns run_cnt" of the loop_step programs (with
# kernel.bpf_stats_enabled=1; zeros otherwise)
progstats() {
	if [ "$PROFILE" != 1 ] || [ "$BX_DP" != bpf ]; then
		echo "0 0"
		return 0
	fi
	bpftool -j prog show name blkx_loop_step 2>/dev/null | tr ',{}[]' '\n\n\n\n\n' |
		awk -F: '/"run_time_ns"/ { t += $2 } /"run_cnt"/ { c += $2 }
		END { printf "%.0f %.0f\n", t, c }'
}
# sampler PID OUT: every 0.2 s, "tid state wchan syscall" of each thread of
# PID but the main one and io_uring's workers (builtins only, but sleep)
sampler() {
	while [ ! -e "$W/sampler.stop" ]; do
		for t in /proc/"$1"/task/*; do
			tid=${t##*/}
			[ "$tid" != "$1" ] || continue
			cm="" st="" wc="" sc=""
			read -r cm <"$t/comm" 2>/dev/null || :
			case "$cm" in iou-*) continue ;; esac
			read -r st <"$t/stat" 2>/dev/null || :
			read -r wc <"$t/wchan" 2>/dev/null || :
			read -r sc _ <"$t/syscall" 2>/dev/null || :
			st=${st##*) }
			echo "$tid ${st%% *} ${wc:-0} ${sc:--}"
		done
		sleep 0.2
	done >"$2"
}

# --------------------------------------------------------------- fio ---
# run TARGET TEST DEV RW BS QD REP
run() {
	target=$1 test=$2 dev=$3 rw=$4 bs=$5 qd=$6 rep=$7
	bsb=$(echo "$bs" | sed -e 's/k$/*1024/' | awk -F'*' '{ print $1 * ($2 ? $2 : 1) }')
	q0=$(qstats)
	p0=$(progstats)
	if [ "$PROFILE" = 1 ] && [ -n "$BX_PID" ]; then
		rm -f "$W/sampler.stop"
		sampler "$BX_PID" "$W/samples" &
		SAMPLER=$!
	fi
	s0=$(snap "$dev" "$W/thr0")
	out=$(fio --name="$test" --filename="$dev" --ioengine=io_uring --direct=1 \
		--rw="$rw" --bs="$bs" --iodepth="$qd" --numjobs=1 \
		--offset=0 --size="${WS_MIB}m" --norandommap --randrepeat=1 \
		--time_based --ramp_time="$RAMP" --runtime="$RUNTIME" \
		--output-format=terse --terse-version=3 2>&1) || {
		echo "$out" | tail -n 20
		die "fio $test on $target ($dev) failed"
	}
	s1=$(snap "$dev" "$W/thr1")
	states=""
	if [ -n "$SAMPLER" ]; then
		: >"$W/sampler.stop"
		wait "$SAMPLER" || true
		SAMPLER=""
		# share of the samples per "state/wchan/syscall" (426 = io_uring_enter)
		states=$(awk '{ c[$2 "/" $3 "/" $4]++ }
			END { for (k in c) printf "%d %s\n", c[k], k }' "$W/samples" | sort -rn |
			awk -v t="$(wc -l <"$W/samples")" \
				'{ printf "%s%s:%.0f%%", (NR > 1 ? "," : ""), $2, (t > 0 ? $1 * 100 / t : 0) }')
	fi
	q1=$(qstats)
	p1=$(progstats)
	line=$(echo "$out" | grep '^3;' | tail -n 1)
	[ -n "$line" ] || {
		echo "$out" | tail -n 20
		die "fio $test on $target printed no result"
	}
	# terse v3: 5 error, 7 read KiB/s, 8 read IOPS, 40 mean latency (us),
	# 88 usr%, 89 sys%, 90 context switches
	res=$(echo "$line" | awk -F';' '{ printf "%s %s %s %s %s %s %s", $5, $7, $8, $40, $88, $89, $90 }')
	# shellcheck disable=SC2086 # seven numbers, split on purpose
	set -- $res
	[ "$1" = 0 ] || die "fio $test on $target: error $1"
	[ "$3" -gt 0 ] || die "fio $test on $target: 0 IOPS"
	sched=$(active_sched "$dev")
	[ -n "$sched" ] || sched=n/a
	thr=""
	if [ -n "$BX_PID" ]; then
		# per thread: tid/name:cpu%:csw/io over the window (joined on tid)
		thr=$(awk -v span="$(echo "$s0 $s1" | awk '{ print $14 - $1 }')" \
			-v ios="$(echo "$s0 $s1" | awk -v b="$bsb" '{ print ($18 - $5) * 512 / b }')" \
			'NR == FNR { t[$1] = $2 + $3; v[$1] = $4 + $5; next }
			($1 in t) { d = $2 + $3 - t[$1]; c = $4 + $5 - v[$1]
				printf "%s%s:%.0f%%:%.2f", sep, $1, d / '"$HZ"' / span * 100, (ios > 0 ? c / ios : 0); sep = "," }' \
			"$W/thr0" "$W/thr1")
	fi
	# from the two snapshots (a: before, b: after): fio I/Os in the window
	# (sectors / bs), guest CPU, context switches, member I/Os and daemon
	# CPU per I/O; from the queue_stats (c, d): who served the READ/WRITE
	# (bpf_rw, user_rw count ublk requests: a 128k read at a chunk boundary
	# is two); from the BPF program statistics (e, f): loop_step run time
	printf '%s\n' "$s0" "$s1" "$q0" "$q1" "$p0" "$p1" |
		awk -v rep="$rep" -v tg="$target" -v ts="$test" -v dev="$dev" \
			-v qd="$qd" -v sch="$sched" -v bsb="$bsb" -v kib="$2" -v iops="$3" \
			-v lat="$4" -v fusr="$5" -v fsys="$6" -v fctx="$7" -v thr="$thr" -v hz="$HZ" \
			-v dp="$BX_DP" -v states="$states" '
		NR == 1 { split($0, a) } NR == 2 { split($0, b) } NR == 3 { split($0, c) }
		NR == 4 { split($0, d) } NR == 5 { split($0, e) } NR == 6 { split($0, f) }
		END {
			span = b[1] - a[1]; busy = b[2] - a[2]; tot = b[3] - a[3]; cs = b[4] - a[4]
			ios = (b[5] - a[5]) * 512 / bsb; mem = (b[6] - a[6]) + (b[7] - a[7])
			dut = b[8] - a[8]; dst = b[9] - a[9]; dcs = (b[10] - a[10]) + (b[11] - a[11])
			drun = b[12] - a[12]; dwait = b[13] - a[13]
			brw = d[1] - c[1]; urw = d[2] - c[2]; lst = d[3] - c[3]; uoth = d[4] - c[4]
			hof = d[5] - c[5]; serr = d[6] - c[6]
			pns = f[1] - e[1]; pcnt = f[2] - e[2]
			if (ios < 1) ios = 1
			printf "BENCHRUN rep=%s target=%s test=%s dev=%s qd=%s sched=%s", rep, tg, ts, dev, qd, sch
			printf " iops=%s mbps=%.1f lat_us=%.0f", iops, kib * 1024 / 1e6, lat
			printf " fio_usr=%s fio_sys=%s fio_ctx=%s", fusr, fsys, fctx
			printf " wall_s=%.1f guest_busy_pct=%.0f cpu_us_per_io=%.1f ctxsw_per_io=%.2f member_rq_per_io=%.2f", \
				span, (tot > 0 ? busy * 100 / tot : 0), busy * 1e6 / hz / ios, cs / ios, mem / ios
			if (thr != "") {
				printf " dataplane=%s daemon_cpu_us_per_io=%.1f daemon_usr_us_per_io=%.1f daemon_sys_us_per_io=%.1f", \
					dp, (dut + dst) * 1e6 / hz / ios, dut * 1e6 / hz / ios, dst * 1e6 / hz / ios
				printf " daemon_run_us_per_io=%.1f daemon_runq_wait_us_per_io=%.1f", drun / 1000 / ios, dwait / 1000 / ios
				printf " daemon_cpu_pct=%.0f daemon_csw_per_io=%.2f", (dut + dst) / hz / span * 100, dcs / ios
				printf " bpf_rw=%d user_rw=%d bpf_share_pct=%.2f user_other=%d handoffs=%d submit_errors=%d", \
					brw, urw, (brw + urw > 0 ? brw * 100 / (brw + urw) : 0), uoth, hof, serr
				printf " ublk_rq_per_io=%.2f loop_steps_per_io=%.2f", (brw + urw) / ios, lst / ios
				if (pcnt > 0)
					printf " bpf_prog_us_per_io=%.1f bpf_prog_us_per_run=%.1f bpf_prog_runs_per_io=%.2f", \
						pns / 1000 / ios, pns / 1000 / pcnt, pcnt / ios
				printf " daemon_threads=%s", thr
				if (states != "")
					printf " qthread_states=%s", states
			}
			printf "\n"
		}' | tee -a "$RES"
	# who served it: the fast path must be what was measured
	if [ -n "$BX_PID" ]; then
		l=$(tail -n 1 "$RES")
		brw=$(echo "$l" | sed -n 's/.* bpf_rw=\([0-9]*\) .*/\1/p')
		urw=$(echo "$l" | sed -n 's/.* user_rw=\([0-9]*\) .*/\1/p')
		serr=$(echo "$l" | sed -n 's/.* submit_errors=\([0-9]*\) .*/\1/p')
		case "$BX_DP" in
		bpf)
			[ $((brw + urw)) -gt 0 ] || die "$target $test: queue_stats counted no READ/WRITE at all"
			[ $((urw * 100)) -le $(((brw + urw) * MAX_USER_PCT)) ] ||
				die "$target $test: $urw of $((brw + urw)) READ/WRITE were served by the userspace handler (> $MAX_USER_PCT%): the BPF fast path is not what was measured"
			[ "$serr" = 0 ] || die "$target $test: $serr SQE submissions fell short in BPF"
			log "$target $test rep $rep: $brw READ/WRITE in BPF, $urw in userspace ($(echo "$l" | sed -n 's/.* bpf_share_pct=\([0-9.]*\) .*/\1/p')% in BPF)"
			;;
		user)
			[ "$brw" = 0 ] || die "$target $test: $brw READ/WRITE were served by BPF on the userspace path"
			[ "$urw" -gt 0 ] || die "$target $test: queue_stats counted no READ/WRITE in userspace"
			;;
		esac
	fi
}

# run_tests TARGET DEV REP TEST...
run_tests() {
	tg=$1 dv=$2 rp=$3
	shift 3
	for tst in "$@"; do
		case "$tst" in
		randread4k) run "$tg" "$tst" "$dv" randread 4k "$QD" "$rp" ;;
		seqread128k) run "$tg" "$tst" "$dv" read 128k "$SEQ_QD" "$rp" ;;
		randread4k-qd1) run "$tg" "$tst" "$dv" randread 4k 1 "$rp" ;;
		*) die "unknown test $tst" ;;
		esac
	done
}

# check_stripe NAME DEV: the first CHECK_MIB MiB read the same through every
# stripe (the numbers mean nothing if blkxlate returned other data)
REF_SUM=""
check_stripe() {
	dd if="$2" of="$W/check" bs=1M count="$CHECK_MIB" iflag=direct 2>/dev/null ||
		die "cannot read $2 (dd iflag=direct)"
	[ "$(wc -c <"$W/check")" -eq $((CHECK_MIB * 1048576)) ] || die "short read from $2"
	sum=$(md5sum <"$W/check" | cut -d' ' -f1)
	rm -f "$W/check"
	if [ -z "$REF_SUM" ]; then
		REF_SUM=$sum
	elif [ "$sum" != "$REF_SUM" ]; then
		die "$1 ($2) reads other data than dm-stripe in the first $CHECK_MIB MiB ($sum vs $REF_SUM)"
	fi
}

describe() { # describe TARGET DEV EXTRA: one device line for the report
	printf '%-21s %-13s scheduler: %-22s %s\n' "$1" "$2" \
		"$(sched_of "$2" | tr -s ' ' | sed 's/ $//')" "$3" >>"$W/devices"
}

# ------------------------------------------------- profile: ftrace ---
# Where the kernel time goes, per fio I/O, with the function_graph tracer
# limited to a few functions (durations include what they call and any
# time they were preempted; tracing slows everything, so only the shares
# and the call counts mean something). Also shows who issued fio's reads:
# a read that the block layer refuses to do without blocking (REQ_NOWAIT)
# is retried by io_uring's io-wq worker (task iou-wrk).
TR=/sys/kernel/tracing
TRACE_FUNCS="bpf_io_uring_submit_sqes io_submit_sqes ublk_queue_rq ublk_ch_uring_cmd blkdev_read_iter bpf_copy_from_user"
trace_ok() {
	[ -w "$TR/current_tracer" ] || mount -t tracefs nodev "$TR" 2>/dev/null || true
	[ -w "$TR/current_tracer" ] && [ -r "$TR/available_filter_functions" ]
}
# trace_run TARGET TEST DEV RW BS QD
trace_run() {
	echo nop >"$TR/current_tracer"
	: >"$TR/trace"
	: >"$TR/set_ftrace_filter"
	for f in $TRACE_FUNCS; do
		echo "$f" >>"$TR/set_ftrace_filter" 2>/dev/null || true
	done
	echo 16384 >"$TR/buffer_size_kb"
	echo 1 >"$TR/options/funcgraph-tail" 2>/dev/null || true
	echo 1 >"$TR/options/funcgraph-proc" 2>/dev/null || true
	echo function_graph >"$TR/current_tracer"
	p0=$(progstats)
	echo 1 >"$TR/tracing_on"
	out=$(fio --name="$2" --filename="$3" --ioengine=io_uring --direct=1 --rw="$4" --bs="$5" \
		--iodepth="$6" --numjobs=1 --offset=0 --size="${WS_MIB}m" --norandommap --randrepeat=1 \
		--time_based --runtime=2 --output-format=terse --terse-version=3 2>&1) || {
		echo 0 >"$TR/tracing_on"
		echo nop >"$TR/current_tracer"
		log "warning: traced fio $2 on $1 failed"
		return 0
	}
	echo 0 >"$TR/tracing_on"
	p1=$(progstats)
	lost=$(grep -c 'LOST' "$TR/trace" || true)
	ios=$(echo "$out" | grep '^3;' | tail -n 1 | awk -F';' -v bs="$5" '{ sub(/k$/, "", bs); print $6 / bs }')
	# " 1)  fio-123   |   5.123 us    |  } /* io_submit_sqes */" or a leaf "f();"
	awk -F'|' -v ios="$ios" -v tg="$1" -v ts="$2" -v lost="$lost" -v p="$p0 $p1" '
		NF >= 3 {
			d = $(NF - 1); body = $NF
			if (d !~ /us/) next
			gsub(/[^0-9.]/, "", d)
			name = ""
			proc = $1; sub(/^ *[0-9]+\) */, "", proc); sub(/ *$/, "", proc); sub(/-[0-9]+$/, "", proc)
			if (body ~ /\(\);/) { name = body; sub(/\(\);.*/, "", name) }
			else if (body ~ /\} \/\*/) { name = body; sub(/.*\/\* */, "", name); sub(/ *\*\/.*/, "", name) }
			gsub(/ /, "", name); sub(/\[.*/, "", name)
			if (name == "") next
			if (proc ~ /^iou-wrk/) proc = "iou-wrk"
			else if (proc ~ /^blkxla/) proc = "blkxlate"
			k = name " " proc; t[k] += d; c[k]++
		}
		END {
			if (ios < 1) ios = 1
			split(p, q, " ")
			if (q[4] > q[2])
				printf "BENCHTRACE target=%s test=%s fn=loop_step task=blkxlate calls_per_io=%.2f us_per_io=%.1f us_per_call=%.1f ios=%d lost=%d\n", \
					tg, ts, (q[4] - q[2]) / ios, (q[3] - q[1]) / 1000 / ios, (q[3] - q[1]) / 1000 / (q[4] - q[2]), ios, lost
			for (k in t) {
				split(k, a, " ")
				printf "BENCHTRACE target=%s test=%s fn=%s task=%s calls_per_io=%.2f us_per_io=%.1f us_per_call=%.1f ios=%d lost=%d\n", \
					tg, ts, a[1], a[2], c[k] / ios, t[k] / ios, t[k] / c[k], ios, lost
			}
		}' "$TR/trace" | sort | tee -a "$W/trace"
	echo nop >"$TR/current_tracer"
	: >"$TR/set_ftrace_filter"
	echo 1408 >"$TR/buffer_size_kb" 2>/dev/null || true
}
# trace_target TARGET DEV TEST...
trace_target() {
	tt=$1 td=$2
	shift 2
	for x in "$@"; do
		case "$x" in
		randread4k) trace_run "$tt" "$x" "$td" randread 4k "$QD" ;;
		seqread128k) trace_run "$tt" "$x" "$td" read 128k "$SEQ_QD" ;;
		randread4k-qd1) trace_run "$tt" "$x" "$td" randread 4k 1 ;;
		esac
	done
}

# ---------------------------------------------------------- the bench ---
BX_OPTS=""
[ -z "$QUEUES" ] || BX_OPTS="$BX_OPTS --queues $QUEUES"
[ -z "$DEPTH" ] || BX_OPTS="$BX_OPTS --depth $DEPTH"
[ "$TRACING" != 0 ] || BX_OPTS="$BX_OPTS --no-tracing"
MAIN_TESTS="randread4k seqread128k"
ntg=$(echo "$BX_TARGETS" | wc -w)
qd1r=$((QD1_REPS < REPS ? QD1_REPS : REPS))
nruns=$((REPS * 2 * (2 + ntg) + qd1r * (1 + ntg)))
t_start=$(cut -d' ' -f1 /proc/uptime)
log "kernel $(uname -r); $(grep -c ^processor /proc/cpuinfo) vCPUs; raw = /dev/$A1 (BLKXLATE-A/1);" \
	"stripes over /dev/$A1 + /dev/$C1 (BLKXLATE-C/1), 64 KiB chunk; targets raw dm-stripe$BX_TARGETS"
log "$REPS repetitions ($qd1r with QD1), $nruns fio runs of ${RAMP}+${RUNTIME} s" \
	"(about $((nruns * (RAMP + RUNTIME + 1) / 60 + 1)) min)"
if [ "$PROFILE" = 1 ]; then
	echo 1 >/proc/sys/kernel/bpf_stats_enabled || die "cannot set kernel.bpf_stats_enabled"
	log "profiling: kernel.bpf_stats_enabled=1, queue threads sampled 5 times a second"
fi

log "pre-writing the first $WS_MIB MiB of /dev/$A1 and /dev/$C1 (1 MiB writes, fio's random data)"
for m in "$A1" "$C1"; do
	fio --name=prewrite --filename="/dev/$m" --ioengine=io_uring --direct=1 \
		--rw=write --bs=1m --iodepth=8 --offset=0 --size="${WS_MIB}m" \
		--output-format=terse --terse-version=3 >"$W/prewrite.out" 2>&1 || {
		tail -n 20 "$W/prewrite.out"
		die "pre-writing /dev/$m failed"
	}
done

: >"$W/devices"
for rep in $(seq 1 "$REPS"); do
	log "repetition $rep of $REPS"
	QD1=""
	[ "$rep" -gt "$QD1_REPS" ] || QD1=randread4k-qd1
	# A: the raw member (the test lists split into words on purpose)
	# shellcheck disable=SC2086
	run_tests raw "/dev/$A1" "$rep" $MAIN_TESTS
	[ "$rep" != 1 ] || describe raw "/dev/$A1" "(BLKXLATE-A nsid 1)"
	# B: dm-stripe over the same two members
	dm_up
	check_stripe dm-stripe "$DM_DEV"
	# shellcheck disable=SC2086
	run_tests dm-stripe "$DM_DEV" "$rep" $MAIN_TESTS $QD1
	[ "$rep" != 1 ] || describe dm-stripe "$DM_DEV" \
		"(2 x 64 KiB over /dev/$A1 [$(active_sched "/dev/$A1")] + /dev/$C1 [$(active_sched "/dev/$C1")])"
	dm_down
	# C, D: blkxlate's striped LUN, the BPF path then the userspace path
	for tg in $BX_TARGETS; do
		# shellcheck disable=SC2086 # options split on purpose
		bx_up "$tg" $BX_OPTS
		check_stripe "$tg" "$BX_DEV"
		# shellcheck disable=SC2086
		run_tests "$tg" "$BX_DEV" "$rep" $MAIN_TESTS $QD1
		if [ "$rep" = 1 ]; then
			b=${BX_DEV#/dev/}
			nq=0
			for q in /sys/block/"$b"/mq/*; do [ ! -d "$q" ] || nq=$((nq + 1)); done
			st=$(blkxlate status --json)
			bq=$(echo "$st" | json_field queues)
			bd=$(echo "$st" | json_field depth)
			zc=$(echo "$st" | json_field zero_copy)
			why=$(echo "$st" | json_field dataplane_reason)
			# the daemon's block/NVMe tracepoint programs (one more BPF
			# run per block request while they are attached)
			ntp=$(bpftool prog show 2>/dev/null | grep -c ' name blkx_rq_\| name blkx_nvme' || true)
			describe "$tg" "$BX_DEV" "(ublk: $bq queue(s) x depth $bd, $nq blk-mq hw queue(s), nr_requests $(cat "/sys/block/$b/queue/nr_requests"), zero copy $zc; data path $BX_DP: $why; $ntp tracing program(s) attached; daemon --dataplane $BX_DP${BX_OPTS}$([ "$BX_TRACING" = true ] || echo ' (tracing off)'))"
			echo "$bq" >"$W/ublk_queues"
			echo "$bd" >"$W/ublk_depth"
			echo "$zc" >"$W/ublk_zc"
		fi
		bx_down
	done
done
t_end=$(cut -d' ' -f1 /proc/uptime)
: >"$W/trace"
if [ "$PROFILE" = 1 ]; then
	if trace_ok; then
		log "profile: traced runs (function_graph, 2 s each)"
		dm_up
		trace_target dm-stripe "$DM_DEV" seqread128k
		dm_down
		for tg in $BX_TARGETS; do
			# shellcheck disable=SC2086 # options split on purpose
			bx_up "$tg" $BX_OPTS
			trace_target "$tg" "$BX_DEV" randread4k seqread128k randread4k-qd1
			bx_down
		done
	else
		log "profile: no tracefs in this guest; no traced runs"
	fi
fi

# ------------------------------------------------------------ report ---
# agg FIELD TARGET TEST: "median min max n" of FIELD over the repetitions
agg() {
	grep " target=$2 test=$3 " "$RES" | tr ' ' '\n' | sed -n "s/^$1=//p" |
		sort -n | awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "- - - 0"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR], NR }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "" || b == 0) print "-"; else printf "%.2f\n", a / b }'; }
# med FIELD DECIMALS: the median of FIELD for $tg $tst, rounded
med() {
	agg "$1" "$tg" "$tst" | awk -v d="$2" '{ if ($1 == "-") print "-"; else printf "%." d "f\n", $1 }'
}
# paired FIELD TEST A B: A/B within each repetition, "median min max n"
# (a side view of the noise; the headline is the ratio of the medians)
paired() {
	for r in $(seq 1 "$REPS"); do
		a=$(grep "^BENCHRUN rep=$r target=$3 test=$2 " "$RES" | sed -n "s/.* $1=\([^ ]*\).*/\1/p")
		b=$(grep "^BENCHRUN rep=$r target=$4 test=$2 " "$RES" | sed -n "s/.* $1=\([^ ]*\).*/\1/p")
		[ -z "$a" ] || [ -z "$b" ] || ratio "$a" "$b"
	done | grep -v '^-$' | sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - - 0"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f %.2f %.2f %d\n", m, v[1], v[NR], NR }'
}
fmt() { # fmt "median min max n" DECIMALS
	echo "$1" | awk -v d="$2" '{ f = "%." d "f"; if ($1 == "-") print "-"; else printf f " (" f "-" f ")\n", $1, $2, $3 }'
}
medof() { agg "$1" "$2" "$3" | cut -d' ' -f1; } # medof FIELD TARGET TEST
# goal NAME TEST A B THRESHOLD FIELD: prints "verdict value" (value "-" if absent)
goal() {
	v=$(ratio "$(medof "$6" "$3" "$2")" "$(medof "$6" "$4" "$2")")
	awk -v r="$v" -v t="$5" 'BEGIN { if (r == "-") print "N/A -"; else if (r + 0 >= t + 0) print "MET " r; else print "MISSED " r }'
}
TARGETS="raw dm-stripe$BX_TARGETS"
TESTS="randread4k:iops seqread128k:mbps randread4k-qd1:iops"

echo
echo "=== blkxlate bench results ==="
# shellcheck disable=SC1091 # written by tools/vm-run
if [ -r /blkxlate/lab.env ]; then . /blkxlate/lab.env; fi
echo "kernel $(uname -r) (Debian package ${BLKXLATE_PKGVER:-?}), $(grep -c ^processor /proc/cpuinfo) vCPUs under QEMU TCG; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$REPS repetitions, targets interleaved ($(echo "$TARGETS" | sed 's/ /, /g') per repetition);" \
	"fio io_uring direct=1 numjobs=1, ${RAMP} s ramp + ${RUNTIME} s per run; QD1 in the first $qd1r repetition(s)"
if [ "$HAVE_BPF" = 0 ]; then
	echo "no blkxlate-bpf target: $(uname -r) has no io_uring BPF struct_ops (data path (auto): ${auto_dp:-?}); the userspace path only"
fi
[ "$PROFILE" != 1 ] || echo "profiling on: bpf_stats_enabled=1 and a thread sampler during the blkxlate runs (numbers slightly lower)"
echo "working set: the first $WS_MIB MiB of each target, pre-written with 1 MiB writes before repetition 1"
echo "bench took $(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.0f", b - a }') s of guest time"
echo "ublk queues $(cat "$W/ublk_queues") x depth $(cat "$W/ublk_depth"), zero copy $(cat "$W/ublk_zc")"
echo "devices (scheduler as queue/scheduler shows it, the active one in []):"
sed 's/^/  /' "$W/devices"
echo
printf '%-21s %-28s %-28s %-28s\n' target "randread4k QD$QD IOPS" "seqread128k QD$SEQ_QD MB/s" "randread4k QD1 IOPS (n=$qd1r)"
printf '%-21s %-28s %-28s %-28s\n' "" "median (min-max)" "median (min-max)" "median (min-max)"
for tg in $TARGETS; do
	printf '%-21s %-28s %-28s %-28s\n' "$tg" "$(fmt "$(agg iops "$tg" randread4k)" 0)" \
		"$(fmt "$(agg mbps "$tg" seqread128k)" 1)" "$(fmt "$(agg iops "$tg" randread4k-qd1)" 0)"
done
# the ratio pairs that exist with these targets
PAIRS=""
[ "$HAVE_BPF" = 0 ] || PAIRS="blkxlate-bpf/dm-stripe blkxlate-bpf/raw"
[ "$HAVE_BPF" = 0 ] || [ "$HAVE_USER" = 0 ] || PAIRS="blkxlate-bpf/blkxlate-user $PAIRS"
[ "$HAVE_USER" = 0 ] || PAIRS="$PAIRS blkxlate-user/dm-stripe blkxlate-user/raw"
PAIRS="$PAIRS dm-stripe/raw"
# what the idle tracing programs cost: a path with them against without
TPAIRS=""
# (each membership tested on its own: two adjacent names share a space)
for dp in bpf user; do
	case "$BX_TARGETS " in *" blkxlate-$dp "*) ;; *) continue ;; esac
	case "$BX_TARGETS " in *" blkxlate-$dp-notrace "*) ;; *) continue ;; esac
	TPAIRS="$TPAIRS blkxlate-$dp/blkxlate-$dp-notrace"
done
PAIRS="$PAIRS$TPAIRS"
echo
echo "ratios of medians (paired per repetition: median (min-max)):"
printf '  %-36s %-24s %-24s %-24s\n' "" randread4k seqread128k randread4k-qd1
for p in $PAIRS; do
	a=${p%/*} b=${p#*/}
	line=""
	for t in $TESTS; do
		tst=${t%%:*} f=${t#*:}
		r=$(ratio "$(medof "$f" "$a" "$tst")" "$(medof "$f" "$b" "$tst")")
		pr=$(paired "$f" "$tst" "$a" "$b")
		cell=$r
		[ "$r" = - ] || cell="$r ($(echo "$pr" | awk '{ print $2 "-" $3 }'))"
		line="$line$(printf '%-25s' "$cell")"
	done
	printf '  %-36s %s\n' "$p" "$line"
done
echo
echo "goals (ratios of medians, this boot):"
G1=$(goal g1 randread4k blkxlate-bpf blkxlate-user "$GOAL_BPF_USER_4K" iops)
G2=$(goal g2 randread4k blkxlate-bpf dm-stripe "$GOAL_BPF_DM_4K" iops)
G3=$(goal g3 seqread128k blkxlate-bpf dm-stripe "$GOAL_BPF_DM_128K" mbps)
G4=$(goal g4 randread4k blkxlate-user dm-stripe "$GOAL_USER_DM_4K" iops)
na=""
[ "$HAVE_BPF" = 1 ] || na=" (no BPF path on $(uname -r))"
# say_goal TEXT "VERDICT VALUE"
say_goal() {
	case "$2" in
	N/A*) printf '  %-58s N/A%s\n' "$1" "$na" ;;
	*) printf '  %-58s %s (%sx)\n' "$1" "${2% *}" "${2#* }" ;;
	esac
}
say_goal "randread4k  blkxlate-bpf >= ${GOAL_BPF_USER_4K}x blkxlate-user" "$G1"
say_goal "randread4k  blkxlate-bpf >= ${GOAL_BPF_DM_4K}x dm-stripe" "$G2"
say_goal "seqread128k blkxlate-bpf >= ${GOAL_BPF_DM_128K}x dm-stripe" "$G3"
say_goal "randread4k  blkxlate-user >= ${GOAL_USER_DM_4K}x dm-stripe (earlier goal)" "$G4"
if [ -n "$TPAIRS" ]; then
	echo
	echo "tracing cost while no one reads (with the daemon's block/NVMe tracepoint programs"
	echo "against without them, ratio of medians; cost = 1 - ratio, negative = within the noise):"
	for p in $TPAIRS; do
		a=${p%/*} b=${p#*/}
		for t in $TESTS; do
			tst=${t%%:*} f=${t#*:}
			r=$(ratio "$(medof "$f" "$a" "$tst")" "$(medof "$f" "$b" "$tst")")
			[ "$r" != - ] || continue
			pr=$(paired "$f" "$tst" "$a" "$b")
			printf '  %-22s %-15s %s x  cost %s%%  (paired per repetition %s-%s)\n' "${a#blkxlate-}" "$tst" "$r" \
				"$(awk -v r="$r" 'BEGIN { printf "%.0f", (1 - r) * 100 }')" \
				"$(echo "$pr" | cut -d' ' -f2)" "$(echo "$pr" | cut -d' ' -f3)"
		done
	done
fi
if [ "$HAVE_BPF" = 1 ]; then
	echo
	echo "READ/WRITE served in BPF on blkxlate-bpf (queue_stats, fio window of each run):"
	for tst in randread4k seqread128k randread4k-qd1; do
		grep " target=blkxlate-bpf test=$tst " "$RES" | tr ' ' '\n' |
			awk -F= -v t="$tst" '$1 == "bpf_rw" { b += $2 } $1 == "user_rw" { u += $2 }
			$1 == "bpf_share_pct" { n++; if (n == 1 || $2 < m) m = $2 }
			END { if (n) printf "  %-16s %d runs: bpf_rw %d, user_rw %d, lowest share %.2f%%\n", t, n, b, u, m }'
	done
fi
echo
echo "where the CPU goes (medians over the repetitions; guest CPU = both vCPUs, per fio I/O, TCG us;"
echo "daemon = the blkxlate process: CPU (usr/sys ticks), run = on-CPU and rqwait = runnable but"
echo "waiting for a CPU (schedstat); dcsw = its context switches; ublk = ublk requests (queue_stats);"
echo "steps = loop_step runs; mrq = member requests after merging):"
printf '  %-21s %-15s %5s %9s %7s %7s %7s %9s %8s %8s %8s %8s %8s %6s\n' target test busy% cpu_us/io csw/io mrq/io ublk/io dmn_us/io usr_us/io sys_us/io run_us/io rqwait/io dcsw/io steps
for tg in $TARGETS; do
	for tst in randread4k seqread128k randread4k-qd1; do
		[ "$(agg iops "$tg" "$tst" | cut -d' ' -f4)" != 0 ] || continue
		printf '  %-21s %-15s %5s %9s %7s %7s %7s %9s %8s %8s %8s %8s %8s %6s\n' "$tg" "$tst" "$(med guest_busy_pct 0)" \
			"$(med cpu_us_per_io 1)" "$(med ctxsw_per_io 2)" "$(med member_rq_per_io 2)" "$(med ublk_rq_per_io 2)" \
			"$(med daemon_cpu_us_per_io 1)" "$(med daemon_usr_us_per_io 1)" "$(med daemon_sys_us_per_io 1)" \
			"$(med daemon_run_us_per_io 1)" "$(med daemon_runq_wait_us_per_io 1)" \
			"$(med daemon_csw_per_io 2)" "$(med loop_steps_per_io 2)"
	done
done
if [ "$PROFILE" = 1 ]; then
	echo
	echo "profile: BPF loop_step time (bpf_stats) and queue-thread states (state/wchan/syscall, 426 = io_uring_enter):"
	for tg in $BX_TARGETS; do
		for tst in randread4k seqread128k randread4k-qd1; do
			[ "$(agg iops "$tg" "$tst" | cut -d' ' -f4)" != 0 ] || continue
			printf '  %-21s %-15s prog_us/io %s  us/run %s  runs/io %s\n' "$tg" "$tst" \
				"$(med bpf_prog_us_per_io 1)" "$(med bpf_prog_us_per_run 1)" "$(med bpf_prog_runs_per_io 2)"
			# the samples of every repetition together
			grep " target=$tg test=$tst " "$RES" | sed -n 's/.* qthread_states=\([^ ]*\).*/\1/p' | tr ',' '\n' |
				awk -F: '{ sub(/%$/, "", $2); s[$1] += $2; n[$1]++ } END { for (k in s) printf "%.0f %s\n", s[k], k }' |
				sort -rn | awk -v r="$(grep -c " target=$tg test=$tst " "$RES")" \
				'NR <= 5 { printf "      %-40s %5.1f%% of samples\n", $2, $1 / r }'
		done
	done
	if [ -s "$W/trace" ]; then
		echo
		echo "profile: traced runs (function_graph, one 2 s run each; durations include callees and"
		echo "preemption, inflated by the tracing): per fio I/O, by the task that ran the function"
		printf '  %-21s %-15s %-26s %-9s %9s %9s %9s\n' target test function task calls/io us/io us/call
		sed 's/^BENCHTRACE //' "$W/trace" | tr ' ' '\n' | awk -F= '
			$1 == "target" { tg = $2 } $1 == "test" { ts = $2 } $1 == "fn" { fn = $2 } $1 == "task" { tk = $2 }
			$1 == "calls_per_io" { c = $2 } $1 == "us_per_io" { u = $2 } $1 == "us_per_call" { k = $2 }
			$1 == "lost" { printf "  %-21s %-15s %-26s %-9s %9s %9s %9s\n", tg, ts, fn, tk, c, u, k }'
	fi
fi
echo
for tg in $TARGETS; do
	for t in $TESTS; do
		tst=${t%%:*} f=${t#*:}
		s=$(agg "$f" "$tg" "$tst")
		[ "${s##* }" != 0 ] || continue
		# shellcheck disable=SC2086 # "median min max n"
		set -- $s
		unit=$f
		[ "$f" = mbps ] && unit=MB/s
		q=$(grep " target=$tg test=$tst " "$RES" | head -n 1 | sed -n 's/.* qd=\([0-9]*\) .*/\1/p')
		sc=$(grep " target=$tg test=$tst " "$RES" | head -n 1 | sed -n 's/.* sched=\([^ ]*\) .*/\1/p')
		echo "BENCH target=$tg test=$tst qd=$q sched=$sc median=$1 min=$2 max=$3 n=$4 unit=$unit kernel=$(uname -r)"
	done
done
for p in $PAIRS; do
	a=${p%/*} b=${p#*/}
	for t in $TESTS; do
		tst=${t%%:*} f=${t#*:}
		r=$(ratio "$(medof "$f" "$a" "$tst")" "$(medof "$f" "$b" "$tst")")
		[ "$r" != - ] || continue
		echo "BENCH ratio=$p test=$tst value=$r"
		# shellcheck disable=SC2046 # "median min max n", split on purpose
		set -- $(paired "$f" "$tst" "$a" "$b")
		echo "BENCH paired=$p test=$tst median=$1 min=$2 max=$3 n=$4"
	done
done
if [ "$HAVE_BPF" = 1 ]; then
	for tst in randread4k seqread128k randread4k-qd1; do
		grep " target=blkxlate-bpf test=$tst " "$RES" | tr ' ' '\n' |
			awk -F= -v t="$tst" '$1 == "bpf_rw" { b += $2 } $1 == "user_rw" { u += $2 }
			$1 == "bpf_share_pct" { n++; if (n == 1 || $2 < m) m = $2 }
			END { if (n) printf "BENCH bpf_share=blkxlate-bpf test=%s min_pct=%.2f bpf_rw=%d user_rw=%d n=%d\n", t, m, b, u, n }'
	done
fi
[ ! -s "$W/trace" ] || cat "$W/trace"
echo "BENCH goal=randread4k-blkxlate-bpf/blkxlate-user>=$GOAL_BPF_USER_4K value=${G1#* } verdict=${G1% *}"
echo "BENCH goal=randread4k-blkxlate-bpf/dm-stripe>=$GOAL_BPF_DM_4K value=${G2#* } verdict=${G2% *}"
echo "BENCH goal=seqread128k-blkxlate-bpf/dm-stripe>=$GOAL_BPF_DM_128K value=${G3#* } verdict=${G3% *}"
echo "BENCH goal=randread4k-blkxlate-user/dm-stripe>=$GOAL_USER_DM_4K value=${G4#* } verdict=${G4% *}"
echo "=== end ==="
