#!/bin/sh
# Guest side of `make bench` (tools/bench boots the VM lab and runs this as
# /blkxlate/run.sh through a wrapper that sets the BENCH_* variables below).
#
# Compares three targets over the same lab NVMe namespaces, in ONE boot:
#   raw        NVMe BLKXLATE-A nsid 1, alone
#   dm-stripe  dm "striped" over A/1 + C/1, 64 KiB chunk (the in-kernel peer)
#   blkxlate   the striped LUN of tests/vm/bench.json (A/1 + C/1, 64 KiB),
#              served by `blkxlate up` as /dev/ublkbN
# Both stripes and the daemon open the members exclusively, so they cannot
# coexist: every repetition sets each target up, runs its fio jobs and takes
# it down again, in the order raw, dm-stripe, blkxlate (A B C A B C ...).
#
# fio: ioengine=io_uring, direct=1, numjobs=1, the first BENCH_WS_MIB MiB of
# the target (pre-written once, before the first repetition, so no read hits
# a never-written block), time_based, BENCH_RAMP s ramp + BENCH_RUNTIME s.
#   randread4k   rw=randread bs=4k  iodepth=BENCH_QD (32)
#   seqread128k  rw=read     bs=128k iodepth=BENCH_SEQ_QD (32)
# BENCH_PROFILE=1 adds, per repetition: randread4k at QD1 on every target;
# blkxlate with mq-deadline instead of none; blkxlate --queues 1 (mq-deadline,
# its default, and none); blkxlate --depth 32.
#
# Output: "BENCHRUN ..." per fio run (with CPU and context-switch counters),
# then between "=== blkxlate bench results ===" and "=== end ===" the table,
# the ratios and one "BENCH ..." line per result. Exit status 0 when every run
# produced a result, whatever the ratios; 1 when the bench itself failed.
# shellcheck disable=SC2015 # "[ ... ] && [ ... ] || die": die exits
set -eu

REPS=${BENCH_REPS:-5}
RUNTIME=${BENCH_RUNTIME:-8}
RAMP=${BENCH_RAMP:-2}
WS_MIB=${BENCH_WS_MIB:-200}
QD=${BENCH_QD:-32}
SEQ_QD=${BENCH_SEQ_QD:-32}
QUEUES=${BENCH_QUEUES:-}
DEPTH=${BENCH_DEPTH:-}
PROFILE=${BENCH_PROFILE:-0}
CONFIG=${BENCH_CONFIG:-/blkxlate/tests/vm/bench.json}
TARGET_RATIO=0.70 # the issue's goal: 4k randread >= 0.7x dm-stripe

STRIPE_CTRL=a0c4e2d1-7b3f-4c6a-9e21-0d5b8f3a6c10
LINK=/run/blkxlate/$STRIPE_CTRL/lun0
CHUNK_SECT=128 # 64 KiB, as chunk_size_in_kb in bench.json
DM_NAME=bxbench
CHECK_MIB=16 # the stripes' first MiB compared by checksum
HZ=100       # USER_HZ: /proc/stat and /proc/PID/stat count in 1/100 s

W=/tmp/bench
RES=$W/runs
mkdir -p "$W"
: >"$RES"

log() { echo "bench: $*"; }
die() {
	echo "bench: error: $*" >&2
	exit 1
}

for v in "$REPS" "$RUNTIME" "$RAMP" "$WS_MIB" "$QD" "$SEQ_QD"; do
	case "$v" in '' | *[!0-9]*) die "'$v' is not a number (BENCH_*)" ;; esac
done
[ "$REPS" -ge 1 ] || die "BENCH_REPS must be >= 1"
[ -r "$CONFIG" ] || die "no config $CONFIG"
for t in fio dmsetup blkxlate md5sum; do
	command -v "$t" >/dev/null 2>&1 || die "$t is not in the guest's PATH"
done

# ------------------------------------------------------------ members ---
# ctrl_by_serial SERIAL: /sys/class/nvme/nvmeX of that controller
ctrl_by_serial() {
	for c in /sys/class/nvme/nvme*; do
		[ -r "$c/serial" ] || continue
		if [ "$(sed 's/ *$//' "$c/serial")" = "$1" ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}
# nvme_disk SERIAL NSID: the block device name (nvme1n2), by serial + nsid
nvme_disk() {
	ctrl=$(ctrl_by_serial "$1") || return 1
	for p in "$ctrl"/nvme*n*; do
		[ -r "$p/nsid" ] || continue
		if [ "$(cat "$p/nsid")" = "$2" ]; then
			# a multipath path nvmeScCnN is served by the head nvmeSnN
			echo "${p##*/}" | sed 's/c[0-9][0-9]*n/n/'
			return 0
		fi
	done
	return 1
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
DM_DEV=""
cleanup() {
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
# bx_up [DAEMON OPTIONS]
bx_up() {
	out=$(blkxlate up "$@" "$CONFIG" 2>&1) || {
		echo "$out"
		cat /run/blkxlate/*.log 2>/dev/null | tail -n 20
		die "blkxlate up $* failed"
	}
	BX_UP=1
	BX_PID=$(echo "$out" | sed -n 's/.* served by pid \([0-9][0-9]*\).*/\1/p')
	if [ -z "$BX_PID" ]; then
		BX_PID=$(blkxlate status --json | sed -n 's/^ *"pid": *\([0-9][0-9]*\).*/\1/p' | head -n 1)
	fi
	[ -n "$BX_PID" ] && [ -d "/proc/$BX_PID" ] || die "cannot find the daemon's pid"
	BX_DEV=$(readlink -f "$LINK") || die "no $LINK after blkxlate up"
	[ -b "$BX_DEV" ] || die "$LINK -> $BX_DEV is not a block device"
}
bx_down() {
	blkxlate down >/dev/null || die "blkxlate down failed"
	BX_UP=0
	BX_PID=""
}

# ----------------------------------------------------------- counters ---
sched_of() { # sched_of DEV: its I/O scheduler, the active one in []
	f=/sys/block/${1#/dev/}/queue/scheduler
	if [ -r "$f" ]; then cat "$f"; else echo "n/a (bio-based, no scheduler)"; fi
}
active_sched() {
	sched_of "$1" | sed -n 's/.*\[\(.*\)\].*/\1/p'
}
set_sched() { # set_sched DEV SCHED
	echo "$2" >"/sys/block/${1#/dev/}/queue/scheduler" ||
		die "cannot set scheduler $2 on $1"
}
# snap DEV: "uptime busy total ctxt dev_sectors memberA_ios memberC_ios
#            daemon_ticks daemon_vcsw daemon_nvcsw"
snap() {
	up=$(cut -d' ' -f1 /proc/uptime)
	# busy = user nice system irq softirq steal; total adds idle iowait
	cpu=$(awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6 }' /proc/stat)
	ctxt=$(awk '/^ctxt / { print $2 }' /proc/stat)
	dsec=$(awk '{ print $3 }' "/sys/block/${1#/dev/}/stat")
	ma=$(awk '{ print $1 }' "/sys/block/$A1/stat")
	mc=$(awk '{ print $1 }' "/sys/block/$C1/stat")
	dt="0 0 0"
	if [ -n "$BX_PID" ]; then
		dt=$(daemon_threads | awk '{ t += $2; v += $3; n += $4 }
			END { print t + 0, v + 0, n + 0 }')
	fi
	echo "$up $cpu $ctxt $dsec $ma $mc $dt"
}
# daemon_threads: "tid/name ticks vcsw nvcsw" per thread of the daemon
daemon_threads() {
	for t in /proc/"$BX_PID"/task/*; do
		[ -r "$t/stat" ] || continue
		# utime, stime: fields 14, 15; after the ")" of comm: 12, 13
		ticks=$(sed 's/.*) //' "$t/stat" | awk '{ print $12 + $13 }')
		cs=$(awk '/^voluntary_ctxt_switches/ { v = $2 }
			/^nonvoluntary_ctxt_switches/ { n = $2 } END { print v + 0, n + 0 }' "$t/status")
		# the thread's name (queue threads, io_uring's iou-wrk workers...)
		comm=$(tr -c 'A-Za-z0-9_.-' '_' <"$t/comm" | sed 's/_*$//')
		echo "${t##*/}/${comm:-?} $ticks $cs"
	done
}

# --------------------------------------------------------------- fio ---
# run TARGET TEST DEV RW BS QD REP
run() {
	target=$1 test=$2 dev=$3 rw=$4 bs=$5 qd=$6 rep=$7
	bsb=$(echo "$bs" | sed -e 's/k$/*1024/' | awk -F'*' '{ print $1 * ($2 ? $2 : 1) }')
	[ -z "$BX_PID" ] || daemon_threads >"$W/thr0"
	s0=$(snap "$dev")
	out=$(fio --name="$test" --filename="$dev" --ioengine=io_uring --direct=1 \
		--rw="$rw" --bs="$bs" --iodepth="$qd" --numjobs=1 \
		--offset=0 --size="${WS_MIB}m" --norandommap --randrepeat=1 \
		--time_based --ramp_time="$RAMP" --runtime="$RUNTIME" \
		--output-format=terse --terse-version=3 2>&1) || {
		echo "$out" | tail -n 20
		die "fio $test on $target ($dev) failed"
	}
	s1=$(snap "$dev")
	[ -z "$BX_PID" ] || daemon_threads >"$W/thr1"
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
		thr=$(awk -v span="$(echo "$s0 $s1" | awk '{ print $11 - $1 }')" \
			-v ios="$(echo "$s0 $s1" | awk -v b="$bsb" '{ print ($15 - $5) * 512 / b }')" \
			'NR == FNR { t[$1] = $2; v[$1] = $3 + $4; next }
			($1 in t) { d = $2 - t[$1]; c = $3 + $4 - v[$1]
				printf "%s%s:%.0f%%:%.2f", sep, $1, d / '"$HZ"' / span * 100, (ios > 0 ? c / ios : 0); sep = "," }' \
			"$W/thr0" "$W/thr1")
	fi
	# from the two snapshots: fio I/Os in the window (sectors / bs), guest
	# CPU, context switches, member I/Os and daemon CPU per I/O
	echo "$s0 $s1" | awk -v rep="$rep" -v tg="$target" -v ts="$test" -v dev="$dev" \
		-v qd="$qd" -v sch="$sched" -v bsb="$bsb" -v kib="$2" -v iops="$3" \
		-v lat="$4" -v fusr="$5" -v fsys="$6" -v fctx="$7" -v thr="$thr" -v hz="$HZ" '
		{
			span = $11 - $1; busy = $12 - $2; tot = $13 - $3; cs = $14 - $4
			ios = ($15 - $5) * 512 / bsb; mem = ($16 - $6) + ($17 - $7)
			dcpu = $18 - $8; dcs = ($19 - $9) + ($20 - $10)
			if (ios < 1) ios = 1
			printf "BENCHRUN rep=%s target=%s test=%s dev=%s qd=%s sched=%s", rep, tg, ts, dev, qd, sch
			printf " iops=%s mbps=%.1f lat_us=%.0f", iops, kib * 1024 / 1e6, lat
			printf " fio_usr=%s fio_sys=%s fio_ctx=%s", fusr, fsys, fctx
			printf " wall_s=%.1f guest_busy_pct=%.0f cpu_us_per_io=%.1f ctxsw_per_io=%.2f member_rq_per_io=%.2f", \
				span, (tot > 0 ? busy * 100 / tot : 0), busy * 1e6 / hz / ios, cs / ios, mem / ios
			if (thr != "")
				printf " daemon_cpu_us_per_io=%.1f daemon_cpu_pct=%.0f daemon_csw_per_io=%.2f daemon_threads=%s", \
					dcpu * 1e6 / hz / ios, dcpu / hz / span * 100, dcs / ios, thr
			printf "\n"
		}' | tee -a "$RES"
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
		randread4k-mq-deadline | randread4k-none)
			old=$(active_sched "$dv")
			set_sched "$dv" "${tst#randread4k-}"
			run "$tg" "$tst" "$dv" randread 4k "$QD" "$rp"
			set_sched "$dv" "$old"
			;;
		*) die "unknown test $tst" ;;
		esac
	done
}

# check_stripe NAME DEV: the first CHECK_MIB MiB read the same through both
# stripes (the numbers mean nothing if blkxlate returned other data)
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
	printf '%-13s %-13s scheduler: %-22s %s\n' "$1" "$2" \
		"$(sched_of "$2" | tr -s ' ' | sed 's/ $//')" "$3" >>"$W/devices"
}

# ---------------------------------------------------------- the bench ---
BX_OPTS=""
[ -z "$QUEUES" ] || BX_OPTS="$BX_OPTS --queues $QUEUES"
[ -z "$DEPTH" ] || BX_OPTS="$BX_OPTS --depth $DEPTH"
MAIN_TESTS="randread4k seqread128k"
if [ "$PROFILE" = 1 ]; then
	RAW_TESTS="$MAIN_TESTS randread4k-qd1"
	BX_TESTS="$MAIN_TESTS randread4k-qd1 randread4k-mq-deadline"
else
	RAW_TESTS=$MAIN_TESTS
	BX_TESTS=$MAIN_TESTS
fi
nruns=$(echo "$RAW_TESTS $RAW_TESTS $BX_TESTS" | wc -w)
[ "$PROFILE" != 1 ] || nruns=$((nruns + 3))
t_start=$(cut -d' ' -f1 /proc/uptime)
log "kernel $(uname -r); $(grep -c ^processor /proc/cpuinfo) vCPUs; raw = /dev/$A1 (BLKXLATE-A/1);" \
	"stripes over /dev/$A1 + /dev/$C1 (BLKXLATE-C/1), 64 KiB chunk"
log "$REPS repetitions x $nruns fio runs of ${RAMP}+${RUNTIME} s" \
	"(about $((REPS * nruns * (RAMP + RUNTIME + 2) / 60 + 1)) min)"

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
	# A: the raw member (the test lists split into words on purpose)
	# shellcheck disable=SC2086
	run_tests raw "/dev/$A1" "$rep" $RAW_TESTS
	[ "$rep" != 1 ] || describe raw "/dev/$A1" "(BLKXLATE-A nsid 1)"
	# B: dm-stripe over the same two members
	dm_up
	check_stripe dm-stripe "$DM_DEV"
	# shellcheck disable=SC2086
	run_tests dm-stripe "$DM_DEV" "$rep" $RAW_TESTS
	[ "$rep" != 1 ] || describe dm-stripe "$DM_DEV" \
		"(2 x 64 KiB over /dev/$A1 [$(active_sched "/dev/$A1")] + /dev/$C1 [$(active_sched "/dev/$C1")])"
	dm_down
	# C: blkxlate's striped LUN
	# shellcheck disable=SC2086 # options split on purpose
	bx_up $BX_OPTS
	check_stripe blkxlate "$BX_DEV"
	# shellcheck disable=SC2086
	run_tests blkxlate "$BX_DEV" "$rep" $BX_TESTS
	if [ "$rep" = 1 ]; then
		b=${BX_DEV#/dev/}
		nq=0
		for q in /sys/block/"$b"/mq/*; do [ ! -d "$q" ] || nq=$((nq + 1)); done
		st=$(blkxlate status --json)
		bq=$(echo "$st" | sed -n 's/^ *"queues": *\([0-9]*\).*/\1/p' | head -n 1)
		bd=$(echo "$st" | sed -n 's/^ *"depth": *\([0-9]*\).*/\1/p' | head -n 1)
		zc=$(echo "$st" | sed -n 's/^ *"zero_copy": *\([a-z]*\).*/\1/p' | head -n 1)
		describe blkxlate "$BX_DEV" "(ublk: $bq queue(s) x depth $bd, $nq blk-mq hw queue(s), nr_requests $(cat "/sys/block/$b/queue/nr_requests"), zero copy $zc; daemon${BX_OPTS:- defaults})"
		echo "$bq" >"$W/ublk_queues"
		echo "$bd" >"$W/ublk_depth"
	fi
	bx_down
	if [ "$PROFILE" = 1 ]; then
		bx_up --queues 1
		check_stripe blkxlate-q1 "$BX_DEV"
		run_tests blkxlate-q1 "$BX_DEV" "$rep" randread4k randread4k-none
		[ "$rep" != 1 ] || describe blkxlate-q1 "$BX_DEV" "(--queues 1; randread4k ran with this default, randread4k-none with none)"
		bx_down
		bx_up --depth 32
		run_tests blkxlate-d32 "$BX_DEV" "$rep" randread4k
		[ "$rep" != 1 ] || describe blkxlate-d32 "$BX_DEV" "(--depth 32)"
		bx_down
	fi
done
t_end=$(cut -d' ' -f1 /proc/uptime)

# ------------------------------------------------------------ report ---
# agg FIELD TARGET TEST: "median min max n" of FIELD over the repetitions
agg() {
	grep " target=$2 test=$3 " "$RES" | tr ' ' '\n' | sed -n "s/^$1=//p" |
		sort -n | awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "- - - 0"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR], NR }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f\n", a / b }'; }
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
TARGETS="raw dm-stripe blkxlate"
[ "$PROFILE" != 1 ] || TARGETS="$TARGETS blkxlate-q1 blkxlate-d32"

echo
echo "=== blkxlate bench results ==="
# shellcheck disable=SC1091 # written by tools/vm-run
if [ -r /blkxlate/lab.env ]; then . /blkxlate/lab.env; fi
echo "kernel $(uname -r) (Debian package ${BLKXLATE_PKGVER:-?}), $(grep -c ^processor /proc/cpuinfo) vCPUs under QEMU TCG; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$REPS repetitions, targets interleaved (raw, dm-stripe, blkxlate per repetition);" \
	"fio io_uring direct=1 numjobs=1, ${RAMP} s ramp + ${RUNTIME} s per run;"
echo "working set: the first $WS_MIB MiB of each target, pre-written with 1 MiB writes before repetition 1"
echo "bench took $(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.0f", b - a }') s of guest time"
echo "ublk queues $(cat "$W/ublk_queues") x depth $(cat "$W/ublk_depth")"
echo "devices (scheduler as queue/scheduler shows it, the active one in []):"
sed 's/^/  /' "$W/devices"
echo
printf '%-13s %-30s %-30s\n' target "randread4k QD$QD IOPS" "seqread128k QD$SEQ_QD MB/s"
printf '%-13s %-30s %-30s\n' "" "median (min-max)" "median (min-max)"
for tg in raw dm-stripe blkxlate; do
	printf '%-13s %-30s %-30s\n' "$tg" "$(fmt "$(agg iops "$tg" randread4k)" 0)" \
		"$(fmt "$(agg mbps "$tg" seqread128k)" 1)"
done
echo
echo "ratios of medians:"
for t in randread4k:iops seqread128k:mbps; do
	tst=${t%%:*} f=${t#*:}
	bx=$(agg "$f" blkxlate "$tst" | cut -d' ' -f1)
	dm=$(agg "$f" dm-stripe "$tst" | cut -d' ' -f1)
	rw=$(agg "$f" raw "$tst" | cut -d' ' -f1)
	printf '  %-12s blkxlate/dm-stripe %s   blkxlate/raw %s   dm-stripe/raw %s\n' "$tst" \
		"$(ratio "$bx" "$dm")" "$(ratio "$bx" "$rw")" "$(ratio "$dm" "$rw")"
done
echo "per repetition (paired, same repetition), median (min-max) -- how far one run can stray:"
for t in randread4k:iops seqread128k:mbps; do
	tst=${t%%:*} f=${t#*:}
	printf '  %-12s blkxlate/dm-stripe %s   blkxlate/raw %s\n' "$tst" \
		"$(fmt "$(paired "$f" "$tst" blkxlate dm-stripe)" 2)" "$(fmt "$(paired "$f" "$tst" blkxlate raw)" 2)"
done
r=$(ratio "$(agg iops blkxlate randread4k | cut -d' ' -f1)" "$(agg iops dm-stripe randread4k | cut -d' ' -f1)")
verdict=$(awk -v r="$r" -v t="$TARGET_RATIO" 'BEGIN { if (r == "-") print "UNKNOWN"; else if (r + 0 >= t + 0) print "MET"; else printf "MISSED by %.2f (%.0f%% below the goal)\n", t - r, (t - r) / t * 100 }')
echo "issue goal: 4k randread blkxlate >= ${TARGET_RATIO}x dm-stripe: $verdict (${r}x)"
if [ "$PROFILE" = 1 ]; then
	echo
	echo "profile: randread4k variants, IOPS median (min-max), ratio to dm-stripe randread4k QD$QD or QD1"
	dmq=$(agg iops dm-stripe randread4k | cut -d' ' -f1)
	dm1=$(agg iops dm-stripe randread4k-qd1 | cut -d' ' -f1)
	for v in raw:randread4k-qd1 dm-stripe:randread4k-qd1 blkxlate:randread4k-qd1 \
		blkxlate:randread4k-mq-deadline blkxlate-q1:randread4k blkxlate-q1:randread4k-none \
		blkxlate-d32:randread4k; do
		tg=${v%%:*} tst=${v#*:}
		s=$(agg iops "$tg" "$tst")
		den=$dmq
		[ "$tst" != randread4k-qd1 ] || den=$dm1
		printf '  %-13s %-24s %-26s %sx\n' "$tg" "$tst" "$(fmt "$s" 0)" "$(ratio "${s%% *}" "$den")"
	done
fi
echo
echo "where the CPU goes (medians over the repetitions; guest CPU = both vCPUs, per fio I/O):"
printf '  %-13s %-23s %7s %9s %9s %9s %9s %9s\n' target test busy% cpu_us/io csw/io mem_rq/io dmn_us/io dmn_csw/io
for tg in $TARGETS; do
	for tst in randread4k seqread128k randread4k-qd1 randread4k-mq-deadline randread4k-none; do
		[ "$(agg iops "$tg" "$tst" | cut -d' ' -f4)" != 0 ] || continue
		printf '  %-13s %-23s %7s %9s %9s %9s %9s %9s\n' "$tg" "$tst" "$(med guest_busy_pct 0)" \
			"$(med cpu_us_per_io 1)" "$(med ctxsw_per_io 2)" "$(med member_rq_per_io 2)" \
			"$(med daemon_cpu_us_per_io 1)" "$(med daemon_csw_per_io 2)"
	done
done
echo
for tg in $TARGETS; do
	for t in randread4k:iops seqread128k:mbps randread4k-qd1:iops randread4k-mq-deadline:iops randread4k-none:iops; do
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
for t in randread4k:iops seqread128k:mbps; do
	tst=${t%%:*} f=${t#*:}
	bx=$(agg "$f" blkxlate "$tst" | cut -d' ' -f1)
	for den in dm-stripe raw; do
		echo "BENCH ratio=blkxlate/$den test=$tst value=$(ratio "$bx" "$(agg "$f" "$den" "$tst" | cut -d' ' -f1)")"
		# shellcheck disable=SC2046 # "median min max n", split on purpose
		set -- $(paired "$f" "$tst" blkxlate "$den")
		echo "BENCH paired=blkxlate/$den test=$tst median=$1 min=$2 max=$3 n=$4"
	done
done
echo "BENCH goal=randread4k-blkxlate/dm-stripe>=$TARGET_RATIO value=$r verdict=$(echo "$verdict" | cut -d' ' -f1)"
echo "=== end ==="
