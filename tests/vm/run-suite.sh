#!/bin/sh
# Host side of the VM suite (make vm-check): boot each lab kernel once and
# run tests/vm/suite.sh inside; print "N passed, N failed" per kernel and
# fail on any failure.  It never skips: without QEMU or the kernels it
# fails, saying why.  A guest kernel panic (an emulation problem of TCG,
# seen with 6.12) is reported as such and the boot is retried once.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
KERNELS=${BLKXLATE_VM_KERNELS:-"7.3 6.12"}
# recovery cycles per kernel: RECOVERY_CYCLES_7_3, RECOVERY_CYCLES_6_12
# (make soak raises them), default 2; BLKXLATE_CRASH_CYCLES: the
# kill-at-every-step cycles of crash.sh (default 1, make soak 20);
# BLKXLATE_RSS_RELOADS: its add/remove reload cycles (default 100,
# make soak 300)
TIMEOUT=${BLKXLATE_VM_TIMEOUT:-1200}
log_dir=${BLKXLATE_VM_LOGS:-$repo/build/vm-logs}
mkdir -p "$log_dir"
overall=0
summary=""

for k in $KERNELS; do
	tries=0
	while :; do
		tries=$((tries + 1))
		log=$log_dir/suite-$k.log
		echo "=== VM suite on kernel $k (try $tries), log $log"
		cycles=$(eval "echo \${RECOVERY_CYCLES_$(echo "$k" | tr . _):-2}")
		script=$log_dir/suite-$k.sh
		{
			head -n 1 "$here/suite.sh"
			echo "RECOVERY_CYCLES=$cycles"
			echo "CRASH_CYCLES=${BLKXLATE_CRASH_CYCLES:-1}"
			echo "RSS_RELOADS=${BLKXLATE_RSS_RELOADS:-100}"
			tail -n +2 "$here/suite.sh"
		} >"$script"
		"$repo/tools/vm-run" --kernel "$k" --timeout "$TIMEOUT" \
			--script "$script" 2>&1 | tee "$log"
		rc=$(sed -n 's/^vm-run: guest exit status \([0-9]*\).*/\1/p' "$log" | tail -1)
		# vm-run's own status is not visible through tee: read its words
		if grep -q '^vm-run: guest kernel panic' "$log"; then
			rc=3
		elif [ -z "$rc" ]; then
			rc=125
		fi
		if [ "$rc" = 3 ] && [ $tries -lt 2 ]; then
			echo "=== kernel $k: the guest kernel panicked (TCG emulation problem, not a blkxlate test failure); booting again"
			continue
		fi
		break
	done
	line=$(grep -a '^== vm suite' "$log" | tail -1)
	case "$rc" in
	0) res="ok" ;;
	3) res="GUEST KERNEL PANIC twice (emulation problem; see $log)" ;;
	124) res="TIMED OUT after $TIMEOUT s" ;;
	*) res="FAILED (status $rc)" ;;
	esac
	[ "$rc" = 0 ] || overall=1
	summary="$summary
kernel $k: ${line:-no summary line} -> $res"
done
echo "=== VM suite summary:$summary"
exit $overall
