# Crash consistency checks of the VM suite (sourced by suite.sh, same boot,
# after reliability.sh): kill -9 at every step of up and reload (through
# the daemon's crash points, BLKXLATE_CRASH_AT), reload then kill, a
# corrupt state file, a full run directory, concurrent up, unload of a
# served instance, open-file limits, RSS over reloads, a member that
# vanishes.  After each: the data is intact, a clean down leaves nothing.
# CRASH_CYCLES (make soak: 20) repeats the kill-at-every-step part.
# shellcheck shell=sh

CRASH_CYCLES=${CRASH_CYCLES:-1}
# make check kills at a subset of the steps, make soak (more cycles) at all
if [ "$CRASH_CYCLES" -gt 1 ]; then
	UP_POINTS="add-journaled:1 added:1 started:1 add-journaled:3 added:4 started:4 ready"
	RELOAD_POINTS="reload-journaled add-journaled:5 added:5 started:5 reload-removed"
	ROUNDS=6
else
	UP_POINTS="added:1 add-journaled:3 started:4 ready"
	RELOAD_POINTS="reload-journaled added:5 started:5 reload-removed"
	ROUNDS=2
fi
T0=$(date +%s)
# took: seconds since the crash checks began
took() { echo "($(($(date +%s) - T0)) s into the crash checks)"; }
RUN=/run/blkxlate
PINS=/sys/fs/bpf/blkxlate

# nothing_left NAME: no ublk device, state file, pins or link of any instance
nothing_left() {
	left=""
	devs=$(ls /sys/class/ublk-char 2>/dev/null | tr '\n' ' ')
	[ -n "$devs" ] && left="$left devices: $devs"
	ls $RUN/*.state >/dev/null 2>&1 && left="$left state: $(ls $RUN/*.state)"
	[ -n "$(ls $PINS 2>/dev/null)" ] && left="$left pins: $(ls $PINS)"
	links=$(find $RUN -type l 2>/dev/null | tr '\n' ' ')
	[ -n "$links" ] && left="$left links: $links"
	if [ -z "$left" ]; then pass "$1: nothing left"; else fail "$1: left$left"; fi
}

# lun_md5 LINK: md5 of the first 8 MiB the LUN serves
lun_md5() {
	dd if="$(readlink "$1")" bs=1M count=8 iflag=direct 2>/dev/null | md5sum | cut -c1-32
}

# same_data NAME LINK...: each LUN reads what was written before the crashes
same_data() {
	n=$1
	shift
	bad=""
	for l in "$@"; do
		want=$(cat "$T_TMP/md5.$(echo "$l" | md5sum | cut -c1-8)")
		[ "$(lun_md5 "$l")" = "$want" ] || bad="$bad $l"
	done
	if [ -z "$bad" ]; then pass "$n: data intact on $# LUN(s)"; else fail "$n: data changed on$bad"; fi
}

# clean_down NAME: down exits 0 and leaves nothing
clean_down() {
	run blkxlate down
	expect_rc "$1: down" 0
	nothing_left "$1"
}

section "crash consistency: seed data"
ALL4="$STRIPE_LINK $VSCSI_LINK $NS_LINK $NS4K_LINK"
KEPT3="$STRIPE_LINK $VSCSI_LINK $NS_LINK"
run blkxlate up --dataplane $DP "$LAB"
expect_rc "up for seeding" 0
for l in $ALL4; do
	dd if=/dev/urandom of="$(readlink "$l")" bs=1M count=8 oflag=direct 2>/dev/null
	lun_md5 "$l" >"$T_TMP/md5.$(echo "$l" | md5sum | cut -c1-8)"
done
clean_down "seeded"

# the reload target: NVMe LUN 2 removed (a gap), a file-backed SCSI LUN 7 added
EXTRA=/var/tmp/blkx-extra.img
truncate -s 64M $EXTRA
# configs/vm-lab-reload.json: vm-lab.json less NVMe LUN 2, plus SCSI LUN 7
LAB2=configs/vm-lab-reload.json
EXTRA_LINK=$RUN/$SCSI/lun7

# up_crashes NAME POINT ARGS...: up with a crash point set dies, says so
up_crashes() {
	n=$1
	p=$2
	shift 2
	run env BLKXLATE_CRASH_AT="$p" blkxlate up --dataplane $DP "$@"
	[ "$RC" -ne 0 ] && pass "$n: the daemon died at $p" || fail "$n: up survived $p"
}

cycle=1
while [ $cycle -le "$CRASH_CYCLES" ]; do
	section "crash consistency: kill at every step of up (cycle $cycle)"
	for p in $UP_POINTS; do
		up_crashes "up $p" "$p" "$LAB"
		t0=$(date +%s.%N)
		run blkxlate up --dataplane $DP "$LAB"
		expect_rc "up $p: the next up serves" 0
		expect_out "up $p: all 4 disks" "up: 4 disk"
		same_data "up $p" $ALL4
		clean_down "up $p"
	done
	# a crash, then down alone clears it too
	up_crashes "up started:2, then down" started:2 "$LAB"
	clean_down "down after a crash in up"

	section "crash consistency: kill at every step of reload (cycle $cycle)"
	i=0
	for p in $RELOAD_POINTS; do
		i=$((i + 1))
		run env BLKXLATE_CRASH_AT="$p" blkxlate up --dataplane $DP "$LAB"
		expect_rc "reload $p: up" 0
		run blkxlate reload "$LAB2"
		sleep 0.5
		if [ "$RC" -ne 0 ] && ! blkxlate status >/dev/null 2>&1; then
			pass "reload $p: the daemon died in the reload"
		else
			fail "reload $p: the daemon lives (reload exit $RC: $ERR)"
		fi
		# alternate: recover with the old settings, then with the new
		if [ $((i % 2)) = 1 ]; then
			run blkxlate up --dataplane $DP "$LAB"
			expect_rc "reload $p: up with the old settings" 0
			expect_out "reload $p: old settings, 4 disks" "up: 4 disk"
			same_data "reload $p, old settings" $ALL4
			[ -e "$EXTRA_LINK" ] && fail "reload $p: the half-added LUN is served" ||
				pass "reload $p: the half-added LUN was rolled back"
		else
			run blkxlate up --dataplane $DP "$LAB2"
			expect_rc "reload $p: up with the new settings" 0
			expect_out "reload $p: new settings, 4 disks" "up: 4 disk"
			same_data "reload $p, new settings" $KEPT3
			[ -b "$(readlink "$EXTRA_LINK")" ] && pass "reload $p: the added LUN serves" ||
				fail "reload $p: no $EXTRA_LINK"
		fi
		grep -q "recovering" $RUN/default.log && pass "reload $p: recovered, not discarded" ||
			fail "reload $p: no recovery in the log: $(grep -i 'discard\|leftover' $RUN/default.log | tail -2)"
		clean_down "reload $p"
	done
	cycle=$((cycle + 1))
done

took
section "crash consistency: reload, then kill -9 (LUNs added, a gap left), twice"
run blkxlate up --dataplane $DP "$LAB"
expect_rc "up" 0
run blkxlate reload "$LAB2"
expect_rc "reload adds LUN 7, removes NVMe LUN 2" 0
S=$(readlink "$STRIPE_LINK")
# bounded: if recovery failed, the I/O would wait for a daemon forever
timeout 300 fio --name=gap1 --filename="$S" --ioengine=io_uring --direct=1 \
	--rw=randwrite --bs=8k --iodepth=16 --size=40M --verify=crc32c \
	--verify_fatal=1 --do_verify=1 >"$T_TMP/fio.gap1" 2>&1 &
sleep 2
kill -9 "$(daemon_pid)"
sleep 1
run blkxlate up --dataplane $DP "$LAB2"
expect_rc "up with the reloaded settings recovers" 0
expect_out "all 4 disks of the reloaded settings" "up: 4 disk"
grep -q "recovering 4 disk(s)" $RUN/default.log && pass "4 disks recovered at their slots" ||
	fail "no recovery of 4 disks: $(tail -3 $RUN/default.log)"
wait
fio_ok gap1 "fio verify across the kill after a reload, 0 errors"
# fio rewrote the stripe: what it holds now is what must survive
lun_md5 "$STRIPE_LINK" >"$T_TMP/md5.$(echo "$STRIPE_LINK" | md5sum | cut -c1-8)"
[ "$(readlink "$STRIPE_LINK")" = "$S" ] && pass "the stripe kept its device" || fail "the stripe moved"
run blkxlate map-lba --controller "$SCSI" --lun 7 --lba 0 --json
expect_rc "map-lba finds the added LUN in the recovered maps" 0
run blkxlate reload "$LAB"
expect_rc "reload back: LUN 2 fills the gap, LUN 7 goes" 0
kill -9 "$(daemon_pid)"
sleep 1
run blkxlate up --dataplane $DP "$LAB"
expect_rc "up with the original settings recovers" 0
grep -q "recovering 4 disk(s)" $RUN/default.log && pass "again 4 disks recovered" ||
	fail "no recovery: $(tail -3 $RUN/default.log)"
run blkxlate up --dataplane $DP "$LAB2"
expect_rc "a second up of a served instance is refused" 1
same_data "after two reload+kill cycles" $ALL4
clean_down "reload then kill"

section "crash consistency: kill -9, then settings that drop a served LUN"
run blkxlate up --dataplane $DP "$LAB"
kill -9 "$(daemon_pid)"
sleep 1
run blkxlate up --dataplane $DP "$LAB2"
expect_rc "settings without a LUN that waits for recovery are refused" 1
expect_err "the refusal names the LUN and the way out" "LUN 2 of .*blkxlate down"
run blkxlate up --dataplane $DP "$LAB"
expect_rc "its own settings still recover it" 0
clean_down "refused, then recovered"

section "crash consistency: a corrupt state file"
run blkxlate up --dataplane $DP "$LAB"
kill -9 "$(daemon_pid)"
sleep 1
head -c 40 $RUN/default.state >$RUN/default.state.cut && mv $RUN/default.state.cut $RUN/default.state
run blkxlate up --dataplane $DP "$LAB"
expect_rc "up after a truncated state file serves (leftovers found by their mark)" 0
same_data "after a corrupt state file" $ALL4
clean_down "corrupt state, up"
run blkxlate up --dataplane $DP "$LAB"
kill -9 "$(daemon_pid)"
sleep 1
echo '{"pid": ' >$RUN/default.state
run blkxlate down
expect_rc "down with a corrupt state file" 0
expect_out "down says what it removed" "discarded 4 leftover device"
nothing_left "corrupt state, down"

took
section "crash consistency: /run full (ENOSPC)"
SMALL=$T_TMP/smallrun
mkdir -p $SMALL
mount -t tmpfs -o size=16k tmpfs $SMALL
dd if=/dev/zero of=$SMALL/fill bs=4k 2>/dev/null
run env BLKXLATE_RUN_DIR=$SMALL blkxlate up --dataplane $DP "$LAB"
[ "$RC" -ne 0 ] && pass "up on a full run dir fails" || fail "up on a full run dir said OK"
expect_err "it says the state file cannot be written" "state file|No space"
rm -f $SMALL/fill
umount $SMALL
nothing_left "ENOSPC"

section "crash consistency: two concurrent up"
r=1
while [ $r -le $ROUNDS ]; do
	blkxlate up --dataplane $DP "$LAB" >"$T_TMP/up1" 2>&1 &
	P1=$!
	blkxlate up --dataplane $DP "$LAB" >"$T_TMP/up2" 2>&1 &
	P2=$!
	wait $P1
	R1=$?
	wait $P2
	R2=$?
	if [ $((R1 + R2)) = 1 ] && [ $R1 -le 1 ] && [ $R2 -le 1 ]; then
		pass "round $r: one up serves, the other is refused ($R1/$R2)"
	else
		fail "round $r: exit $R1 and $R2: $(cat "$T_TMP/up1" "$T_TMP/up2")"
	fi
	run blkxlate map-lba --controller "$SCSI" --lun 0 --lba 0
	expect_rc "round $r: the winner's maps work" 0
	same_data "round $r" $ALL4
	clean_down "round $r"
	r=$((r + 1))
done

section "crash consistency: unload of a served or crashed instance"
run blkxlate up --dataplane $DP "$LAB"
run blkxlate unload
expect_rc "unload of a served instance is refused" 1
expect_err "it says who serves it" "served by pid"
kill -9 "$(daemon_pid)"
sleep 1
run blkxlate status
expect_rc "status of a killed instance exits 1" 1
expect_out "status says the disks wait for recovery" "NOT RUNNING: pid [0-9]+ died; disks in state 'waiting' wait for recovery"
expect_out "each disk shows as waiting" "/dev/ublkb[0-9]+ +waiting"
run blkxlate unload
expect_rc "unload after a kill -9 is refused" 1
run blkxlate up --dataplane $DP "$LAB"
expect_rc "the crashed instance still recovers" 0
grep -q "recovering 4 disk" $RUN/default.log && pass "recovered after the refused unload" ||
	fail "not recovered: $(tail -2 $RUN/default.log)"
clean_down "unload"

section "resources: open-file limits, --queues"
run sh -c "ulimit -Sn 64; blkxlate up --dataplane $DP $LAB"
expect_rc "up with a soft limit of 64 raises it" 0
grep -q "raised the open-file limit from 64" $RUN/default.log && pass "the log says it raised the limit" ||
	fail "no raise in the log"
clean_down "soft limit"
run sh -c "ulimit -n 70; blkxlate up --dataplane $DP $LAB"
expect_rc "a hard limit too low is refused" 1
expect_err "with the numbers" "needs about [0-9]+ open files.*hard limit.* is 70"
nothing_left "hard limit"
ncpu=$(nproc --all)
run blkxlate up --dataplane $DP -q $((ncpu + 1)) "$LAB"
expect_rc "--queues above the CPU count is refused" 1
expect_err "naming --queues and the CPU count" "--queues $((ncpu + 1)).* has $ncpu"
nothing_left "--queues"

took
section "resources: RSS over reload cycles"
RELOADS=${RSS_RELOADS:-100}
run blkxlate up --dataplane $DP "$LAB"
pid=$(daemon_pid)
n=0
rss_at=""
early=""
late=""
# a leak raises the floor; a passing peak (a tcache or arena filled and
# trimmed again) does not: compare the least RSS of cycles 10-19 with the
# least of the last 10
while [ $n -lt "$RELOADS" ]; do
	blkxlate reload "$LAB2" >"$T_TMP/reload.out" 2>&1 || break
	blkxlate reload "$LAB" >"$T_TMP/reload.out" 2>&1 || break
	n=$((n + 1))
	rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
	[ $n -ge 10 ] && [ $n -lt 20 ] && { [ -z "$early" ] || [ "$rss" -lt "$early" ]; } && early=$rss
	[ $n -gt $((RELOADS - 10)) ] && { [ -z "$late" ] || [ "$rss" -lt "$late" ]; } && late=$rss
	[ $((n % 25)) = 0 ] && rss_at="$rss_at $n:${rss}"
done
[ $n = "$RELOADS" ] && pass "$RELOADS add/remove reload cycles" ||
	fail "reload failed at cycle $n: $(cat "$T_TMP/reload.out")"
echo "RSS (kB) every 25 cycles:$rss_at; least of cycles 10-19: ${early:-?}, of the last 10: ${late:-?}"
# what moves is glibc's per-thread caches and arena use of the queue
# threads (each loads a BPF object): up and down, not a leak
if [ -n "$early" ] && [ -n "$late" ] && [ $((late - early)) -le 1024 ]; then
	pass "RSS floor flat from cycles 10-19 to the last 10 ($((late - early)) kB)"
else
	fail "RSS floor grew from ${early:-?} kB (cycles 10-19) to ${late:-?} kB (last 10)"
fi
clean_down "reload cycles"
took

section "a file member cut while served"
run blkxlate up --dataplane $DP "$LAB2"
expect_rc "up with the file-backed LUN 7" 0
X=$(readlink "$EXTRA_LINK")
FULL=$((64 * 1048576))
dd if=/dev/urandom of="$X" bs=1M count=64 oflag=direct 2>/dev/null
# cut to half while fio writes all over it
timeout 60 fio --name=cut --filename="$X" --ioengine=io_uring --direct=1 \
	--rw=randwrite --bs=64k --iodepth=16 --time_based --runtime=4 \
	>"$T_TMP/fio.cut" 2>&1 &
fpid=$!
sleep 1
truncate -s 32M $EXTRA
sleep 1
s1=$(stat -c %s $EXTRA)
wait $fpid && fail "fio wrote on after the cut: $(tail -3 "$T_TMP/fio.cut")" ||
	pass "the writes after the cut failed"
s2=$(stat -c %s $EXTRA)
[ "$s1" -le $FULL ] && pass "no write beyond the planned range ($s1 bytes)" ||
	fail "the file grew past its planned $FULL bytes: $s1"
[ "$s2" = "$s1" ] && pass "no write grew the file once the cut was seen" ||
	fail "the file grew from $s1 to $s2 bytes after the cut was seen"
dd if=/dev/zero of="$X" bs=4k seek=12288 count=1 oflag=direct 2>/dev/null &&
	fail "a write past the cut succeeded" || pass "a write past the cut fails"
dd if="$X" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null &&
	fail "a read of the cut member succeeded" || pass "a read of the cut member fails"
[ "$(stat -c %s $EXTRA)" = "$s2" ] && pass "the file keeps its size ($s2 bytes)" ||
	fail "the file changed size: $(stat -c %s $EXTRA)"
grep -q "blkx-extra.img is [0-9]* bytes, below the $FULL bytes it serves" $RUN/default.log &&
	pass "the log names the member and both sizes" ||
	fail "no report in the log: $(tail -3 $RUN/default.log)"
run blkxlate status
expect_out "status marks the member failed" "blkx-extra.img \(FAILED"
expect_out "and its disk" " FAILED "
run blkxlate status --json
printf '%s' "$OUT" | tr -d ' \n' | grep -q '"failed_members":\["/var/tmp/blkx-extra.img"\]' &&
	pass "status --json lists it in failed_members" || fail "status --json: $OUT"
same_data "the other LUNs after the cut" $KEPT3
clean_down "file cut"
truncate -s 64M $EXTRA
took

section "a dead daemon's disks: --while-down fail"
if ! blkxlate features | grep -q USER_RECOVERY_FAIL_IO; then
	run blkxlate up --dataplane $DP --while-down fail "$LAB"
	expect_rc "--while-down fail without UBLK_F_USER_RECOVERY_FAIL_IO is refused" 1
	expect_err "saying what the kernel lacks" "lacks UBLK_F_USER_RECOVERY_FAIL_IO"
	nothing_left "while-down fail refused"
	case "$KERNEL" in 7.*) fail "kernel $KERNEL should have UBLK_F_USER_RECOVERY_FAIL_IO" ;; esac
else
	run blkxlate up --dataplane $DP --while-down fail "$LAB"
	expect_rc "up --while-down fail" 0
	N=$(readlink "$NS_LINK")
	kill -9 "$(daemon_pid)"
	sleep 1
	t0=$(date +%s)
	if timeout 20 dd if="$N" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null; then
		fail "a read of a dead daemon's disk succeeded"
	else
		el=$(($(date +%s) - t0))
		[ $el -le 5 ] && pass "a read of a dead daemon's disk fails at once (${el} s)" ||
			fail "the read took ${el} s"
	fi
	[ -b "$N" ] && pass "the disk stays for the next daemon" || fail "$N went away"
	run blkxlate up --dataplane $DP --while-down fail "$LAB"
	expect_rc "the next daemon takes the failing disks over" 0
	grep -q "recovering 4 disk" $RUN/default.log && pass "recovered from FAIL_IO" ||
		fail "not recovered: $(tail -2 $RUN/default.log)"
	[ "$(readlink "$NS_LINK")" = "$N" ] && pass "same device after the recovery" || fail "the device moved"
	same_data "after --while-down fail" $ALL4
	clean_down "while-down fail"
fi

section "a member that vanishes under I/O, then down"
run blkxlate up --dataplane $DP "$LAB"
expect_rc "up" 0
V=$(readlink "$VSCSI_LINK")
SD=$(blkxlate resolve vscsi 0000:00:05.0 0)
timeout 60 fio --name=vanish --filename="$V" --ioengine=io_uring --direct=1 \
	--rw=randread --bs=4k --iodepth=16 --time_based --runtime=20 \
	>"$T_TMP/fio.vanish" 2>&1 &
sleep 2
echo 1 >"/sys/block/${SD#/dev/}/device/delete"
sleep 2
[ -e "/sys/block/${SD#/dev/}" ] && fail "the SCSI member $SD is still there" ||
	pass "the SCSI member $SD is gone"
run timeout 150 blkxlate down
expect_rc "down after a member vanished" 0
nothing_left "member vanished"
wait
took
