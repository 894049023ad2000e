# Reliability checks of the VM suite (sourced by suite.sh, same boot):
# crash recovery, no recovery, a failing member, bounds and guard regions,
# busy backings.  Uses suite.sh's helpers and variables.
# shellcheck shell=sh

# daemon_pid [INSTANCE]
daemon_pid() {
	grep -o '"pid": *[0-9]*' "/run/blkxlate/${1:-default}.state" 2>/dev/null |
		grep -o '[0-9]*$'
}

# bg_verify NAME DEV: fio randwrite + crc32c verify in the background
bg_verify() {
	fio --name="$1" --filename="$2" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bs=8k --iodepth=16 --size=40M --verify=crc32c \
		--verify_fatal=1 --do_verify=1 >"$T_TMP/fio.$1" 2>&1 &
}

# fio_ok NAME: the background fio NAME ended with no error
fio_ok() {
	if grep -q 'err= 0' "$T_TMP/fio.$1" && ! grep -qiE 'verify.*(bad|fail)|err= [1-9]' "$T_TMP/fio.$1"; then
		pass "$2"
	else
		fail "$2: $(grep -iE 'err=|verify|error' "$T_TMP/fio.$1" | head -3)"
	fi
}


section "crash recovery: kill -9 under fio verify, restart, $RECOVERY_CYCLES cycle(s)"
run blkxlate up --dataplane $DP "$LAB"
expect_rc "up (devices made for recovery)" 0
run blkxlate status --json
expect_out "state says recovery is on" '"recovery": *true'
S=$(readlink "$STRIPE_LINK")
N=$(readlink "$NS_LINK")
c=1
while [ $c -le "$RECOVERY_CYCLES" ]; do
	bg_verify stripe$c "$S"
	bg_verify single$c "$N"
	sleep 2
	pid=$(daemon_pid)
	kill -9 "$pid"
	sleep 1
	t0=$(date +%s)
	run blkxlate up --dataplane $DP "$LAB"
	expect_rc "cycle $c: the restarted daemon serves again" 0
	grep -q "recovering 4 disk(s) of pid $pid" /run/blkxlate/default.log &&
		pass "cycle $c: it recovered the killed daemon's devices" ||
		fail "cycle $c: no recovery in the log: $(tail -3 /run/blkxlate/default.log)"
	[ "$(readlink "$STRIPE_LINK")" = "$S" ] && pass "cycle $c: same /dev/ublkbN for the guest" ||
		fail "cycle $c: the stripe moved: $(readlink "$STRIPE_LINK")"
	wait
	fio_ok stripe$c "cycle $c: fio verify on the stripe, 0 errors across the crash"
	fio_ok single$c "cycle $c: fio verify on the single LUN, 0 errors across the crash"
	echo "cycle $c: recovered in $(($(date +%s) - t0)) s"
	c=$((c + 1))
done
run blkxlate down
expect_rc "down after the recovery cycles" 0

section "no recovery: kill -9 fails the I/O and the disks go away"
run blkxlate up --dataplane $DP --no-recovery "$LAB"
expect_rc "up --no-recovery" 0
S=$(readlink "$STRIPE_LINK")
fio --name=nr --filename="$S" --ioengine=io_uring --direct=1 --rw=randread \
	--bs=4k --iodepth=16 --time_based --runtime=60 >"$T_TMP/fio.nr" 2>&1 &
FIO=$!
sleep 2
kill -9 "$(daemon_pid)"
t0=$(date +%s)
ended=0
while [ $(($(date +%s) - t0)) -lt 10 ]; do
	if ! kill -0 $FIO 2>/dev/null; then
		ended=1
		break
	fi
	sleep 0.2
done
el=$(($(date +%s) - t0))
[ $ended = 1 ] && [ $el -le 5 ] && pass "in-flight I/O failed within ${el}s" ||
	fail "fio still running ${el}s after the kill"
grep -qiE 'error|err= *[1-9]' "$T_TMP/fio.nr" && pass "fio saw the I/O error" ||
	fail "fio ended without an error: $(tail -2 "$T_TMP/fio.nr")"
if dd if="$S" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null; then
	fail "new I/O succeeded after the kill"
else
	pass "new I/O fails"
fi
gone=0
while [ $(($(date +%s) - t0)) -lt 10 ]; do
	[ -e "/sys/block/${S#/dev/}" ] || { gone=1; break; }
	sleep 0.2
done
[ $gone = 1 ] && [ $(($(date +%s) - t0)) -le 5 ] && pass "the disk went away within 5 s" ||
	fail "/sys/block/${S#/dev/} still there after $(($(date +%s) - t0)) s"
wait $FIO 2>/dev/null
d1=$(d_tasks)
sleep 2
stuck=""
for t in $(d_tasks); do case " $d1 " in *" $t "*) stuck="$stuck $t" ;; esac; done
[ -z "$stuck" ] && pass "no task stuck in D state" || fail "stuck in D:$stuck"
run blkxlate down
expect_rc "down discards the dead daemon's leftovers" 0
expect_out "down says what it discarded" "was not running .*discarded [0-9]+ leftover device"
[ -z "$(ls /dev | grep '^ublk[bc]')" ] && pass "no ublk device left" || fail "left: $(ls /dev | grep '^ublk[bc]')"

section "a member that starts failing"
A2=$(blkxlate resolve nvme BLKXLATE-A 2)
C1=$(blkxlate resolve nvme BLKXLATE-C 1)
A1=$(blkxlate resolve nvme BLKXLATE-A 1)
sz=$(blockdev --getsz "$C1")
dmsetup create --noudevsync blkx_flaky --table "0 $sz linear $C1 0"
FL=/dev/dm-$(dmsetup info -c --noheadings -o minor blkx_flaky | tr -d ' ')
cat >"$T_TMP/flaky.json" <<JSON
{"version":"V1","dynamic":{"storage_controllers":[{"instance_id":"33333333-4444-5555-6666-777777777777","protocol":"SCSI","luns":[
 {"location":0,"chunk_size_in_kb":64,"physical_devices":{"type":"striped","devices":[
  {"device_type":"nvme","device_path":"BLKXLATE-A","sub_device_path":1},
  {"device_type":"file","device_path":"$FL"}]}},
 {"location":1,"physical_devices":{"type":"single","device":{"device_type":"nvme","device_path":"BLKXLATE-A","sub_device_path":2}}}]}]}}
JSON
run blkxlate up --instance flaky --dataplane $DP "$T_TMP/flaky.json"
expect_rc "up a stripe with a dm-linear member" 0
FS=$(readlink /run/blkxlate/33333333-4444-5555-6666-777777777777/lun0)
FO=$(readlink /run/blkxlate/33333333-4444-5555-6666-777777777777/lun1)
fio --name=other --filename="$FO" --ioengine=io_uring --direct=1 --rw=randwrite \
	--bs=8k --iodepth=16 --size=48M --verify=crc32c --verify_fatal=1 \
	--do_verify=1 >"$T_TMP/fio.other" 2>&1 &
OTHER=$!
sleep 1
dmsetup load blkx_flaky --table "0 $sz error" && dmsetup resume blkx_flaky
t0=$(date +%s)
eio=0
while [ $(($(date +%s) - t0)) -lt 10 ]; do
	# 64 KiB at 64 KiB: chunk 1, on the failing member
	if ! timeout 10 dd if="$FS" of=/dev/null bs=64k skip=1 count=1 iflag=direct 2>"$T_TMP/dd.err"; then
		grep -qi 'input/output error' "$T_TMP/dd.err" && eio=1
		break
	fi
	sleep 0.2
done
el=$(($(date +%s) - t0))
[ $eio = 1 ] && [ $el -le 5 ] && pass "I/O on the failing member's chunk gets EIO within ${el}s" ||
	fail "no EIO within 5 s (${el}s): $(cat "$T_TMP/dd.err")"
dd if="$FS" of=/dev/null bs=64k count=1 iflag=direct 2>/dev/null &&
	pass "chunk 0, on the healthy member, still reads" || fail "the healthy member's chunk failed"
p=$(daemon_pid flaky)
kill -0 "$p" 2>/dev/null && pass "the daemon stays up" || fail "the daemon died"
e=$(blkxlate stats --instance flaky --json --interval 1 | tr -d ' \n' | grep -o '"errors":[0-9]*' | sed 's/.*://' | awk '{ s += $1 } END { print s + 0 }')
[ "$e" -gt 0 ] && pass "stats count the member errors ($e)" || fail "no errors counted"
wait $OTHER
fio_ok other "the other LUN ran fio verify without an error meanwhile"
run blkxlate down --instance flaky
expect_rc "down the flaky instance" 0
dmsetup remove --noudevsync blkx_flaky

section "bounds: the end of the disk, every size class, guard regions untouched"
# a 96 KiB chunk leaves each 256 MiB member a 64 KiB tail no chunk uses;
# a smaller presented disk leaves the rest of its member unused
cat >"$T_TMP/bounds.json" <<JSON
{"version":"V1","dynamic":{"storage_controllers":[{"instance_id":"44444444-5555-6666-7777-888888888888","protocol":"SCSI","luns":[
 {"location":0,"chunk_size_in_kb":96,"physical_devices":{"type":"striped","devices":[
  {"device_type":"nvme","device_path":"BLKXLATE-A","sub_device_path":1},
  {"device_type":"nvme","device_path":"BLKXLATE-C","sub_device_path":1}]}},
 {"location":1,"scsi_disk_size_in_bytes":209715200,"physical_devices":{"type":"single","device":
  {"device_type":"nvme","device_path":"BLKXLATE-A","sub_device_path":2}}}]}]}}
JSON
MEMSZ=268435456
TAIL=$((MEMSZ - MEMSZ / 98304 * 98304)) # 65536
dd if=/dev/urandom of="$T_TMP/guard" bs=65536 count=1 2>/dev/null
dd if=/dev/urandom of="$T_TMP/guard2" bs=1M count=56 2>/dev/null
for m in "$A1" "$C1"; do
	dd if="$T_TMP/guard" of="$m" bs=65536 seek=$(((MEMSZ - TAIL) / 65536)) oflag=direct 2>/dev/null
done
dd if="$T_TMP/guard2" of="$A2" bs=1M seek=200 oflag=direct 2>/dev/null
run blkxlate up --instance bounds --dataplane $DP "$T_TMP/bounds.json"
expect_rc "up the bounds instance" 0
BS=$(readlink /run/blkxlate/44444444-5555-6666-7777-888888888888/lun0)
BO=$(readlink /run/blkxlate/44444444-5555-6666-7777-888888888888/lun1)
[ "$(blockdev --getsize64 "$BS")" = $((2 * (MEMSZ - TAIL))) ] && pass "stripe size: whole chunks only" ||
	fail "stripe size $(blockdev --getsize64 "$BS")"
[ "$(blockdev --getsize64 "$BO")" = 209715200 ] && pass "scsi_disk_size_in_bytes presents 200 MiB" ||
	fail "small disk size $(blockdev --getsize64 "$BO")"
bad=0
for dev in "$BS" "$BO"; do
	size=$(blockdev --getsize64 "$dev")
	for bs in 512 4096 8192 65536 98304 131072 524288 1048576; do
		fio --name=end --filename="$dev" --ioengine=io_uring --direct=1 --rw=write \
			--bs=$bs --offset=$((size - bs)) --size=$bs --verify=crc32c \
			--do_verify=1 >/dev/null 2>&1 || { bad=$((bad + 1)); echo "write of $bs at the end of $dev failed"; }
	done
	fio --name=tail --filename="$dev" --ioengine=io_uring --direct=1 --rw=randrw \
		--bsrange=512-1m --offset=$((size - 8388608)) --size=8m --iodepth=16 \
		--number_ios=2000 >/dev/null 2>&1 || bad=$((bad + 1))
done
[ $bad -eq 0 ] && pass "writes of every size class up to the last sector verified" ||
	fail "$bad end-of-disk checks failed"
# one sector past the end of each disk: refused by the block layer, never
# wrapped onto a member
past=0
for dev in "$BS" "$BO"; do
	if dd if=/dev/zero of="$dev" bs=512 seek=$(($(blockdev --getsize64 "$dev") / 512)) \
		count=1 oflag=direct 2>/dev/null; then
		past=$((past + 1))
		echo "a write past the end of $dev was accepted"
	fi
done
[ $past -eq 0 ] && pass "a write past the presented end is refused (stripe and small disk)" ||
	fail "$past write(s) past the end accepted"
run blkxlate down --instance bounds
expect_rc "down the bounds instance" 0
ok=1
for m in "$A1" "$C1"; do
	dd if="$m" of="$T_TMP/g" bs=65536 skip=$(((MEMSZ - TAIL) / 65536)) count=1 iflag=direct 2>/dev/null
	cmp -s "$T_TMP/g" "$T_TMP/guard" || { ok=0; echo "guard tail of $m changed"; }
done
dd if="$A2" of="$T_TMP/g2" bs=1M skip=200 count=56 iflag=direct 2>/dev/null
cmp -s "$T_TMP/g2" "$T_TMP/guard2" || { ok=0; echo "the hidden 56 MiB of $A2 changed"; }
[ $ok = 1 ] && pass "guard regions (stripe tails, the hidden part of the small disk) untouched" ||
	fail "a guard region was written"

section "busy backings are refused"
dmsetup create --noudevsync blkx_holder --table "0 1024 linear $A2 0"
run blkxlate plan --json "$LAB"
expect_rc "a member held by device-mapper is refused (exit 3)" 3
expect_out "the error says it is in use" "Configuration.StorageBackingInUse"
dmsetup remove --noudevsync blkx_holder
mkdir -p /mnt/busy
mkfs.ext4 -q -F "$A2" && mount "$A2" /mnt/busy
run blkxlate plan --json "$LAB"
expect_out "a mounted member is refused, naming the mount" "mounted at /mnt/busy"
umount /mnt/busy

section "live reconfiguration: blkxlate reload and SIGHUP"
# the lab config's controllers, with a chosen set of LUNs
STRIPE_LUN='{"location":0,"chunk_size_in_kb":64,"physical_devices":{"type":"striped","devices":[
  {"device_type":"nvme","device_path":"BLKXLATE-A","sub_device_path":1},
  {"device_type":"nvme","device_path":"BLKXLATE-C","sub_device_path":1}]}}'
VSCSI_LUN='{"location":1,"physical_devices":{"type":"single","device":{"device_type":"vscsi","device_path":"0000:00:05.0","sub_device_path":0}}}'
NS1_LUN='{"location":1,"physical_devices":{"type":"single","device":{"device_type":"nvme","device_path":"BLKXLATE-A","sub_device_path":2}}}'
NS2_LUN='{"location":2,"physical_devices":{"type":"single","device":{"device_type":"nvme","device_path":"0000:00:07.0","sub_device_path":1}}}'
# lab_cfg FILE SCSI_LUNS NVME_LUNS
lab_cfg() {
	cat >"$1" <<JSON
{"version":"V1","dynamic":{"storage_controllers":[
 {"instance_id":"$SCSI","protocol":"SCSI","luns":[$2]},
 {"instance_id":"$NVME","protocol":"NVME","luns":[$3]}]}}
JSON
	chmod 600 "$1"
}
CFG=$T_TMP/live.json
lab_cfg "$CFG" "$STRIPE_LUN" "$NS1_LUN"
run blkxlate up --dataplane $DP "$CFG"
expect_rc "up with the stripe and one namespace" 0
S=$(readlink "$STRIPE_LINK")
bg_verify live "$S"
sleep 1
lab_cfg "$T_TMP/add.json" "$STRIPE_LUN,$VSCSI_LUN" "$NS1_LUN,$NS2_LUN"
run blkxlate reload "$T_TMP/add.json"
expect_rc "reload adds two LUNs while fio runs" 0
expect_out "reload says what it added" "added: 2"
[ -b "$(readlink "$VSCSI_LINK")" ] && [ -b "$(readlink "$NS4K_LINK")" ] &&
	pass "the added LUNs have their links and disks" || fail "added LUNs missing"
dd if=/dev/urandom of="$T_TMP/p" bs=64k count=16 2>/dev/null
dd if="$T_TMP/p" of="$(readlink "$NS4K_LINK")" bs=64k oflag=direct 2>/dev/null
dd if="$(readlink "$NS4K_LINK")" of="$T_TMP/q" bs=64k count=16 iflag=direct 2>/dev/null
same_bytes "an added LUN serves data" "$T_TMP/p" "$T_TMP/q"
before=$(blkxlate status --json | tr -d ' \n' | sed 's/"stats":{[^}]*}//g; s/"started":[0-9]*//')
printf '{"version": "V1", "dynamic": {' >"$T_TMP/bad.json"
chmod 600 "$T_TMP/bad.json"
run blkxlate reload --json "$T_TMP/bad.json"
expect_rc "an invalid config is refused (exit 3)" 3
expect_out "with its error object" '"error_id": *"Configuration.JsonFormatError"'
lab_cfg "$T_TMP/chg.json" "$(echo "$STRIPE_LUN" | sed 's/"chunk_size_in_kb":64/"chunk_size_in_kb":128/'),$VSCSI_LUN" "$NS1_LUN,$NS2_LUN"
run blkxlate reload --json "$T_TMP/chg.json"
expect_rc "changing the striped LUN is refused" 3
expect_out "as OpenHCL names it" "StripedStorageCannotChangeControllerAtRuntime"
sed 's/"protocol":"NVME"/"protocol":"SCSI"/' "$T_TMP/add.json" >"$T_TMP/proto.json"
chmod 600 "$T_TMP/proto.json"
run blkxlate reload --json "$T_TMP/proto.json"
expect_rc "changing a controller's protocol is refused" 3
expect_out "controller change error" "StorageCannotAddRemoveControllerAtRuntime"
lab_cfg "$T_TMP/busy.json" "$STRIPE_LUN,$VSCSI_LUN,$(echo "$VSCSI_LUN" | sed 's/"location":1/"location":7/')" "$NS1_LUN,$NS2_LUN"
run blkxlate reload --json "$T_TMP/busy.json"
expect_rc "a LUN on a backing already served is refused" 3
expect_out "as a duplicated backing" "StorageBackingDuplicated"
chmod 666 "$T_TMP/add.json"
run blkxlate reload --json "$T_TMP/add.json"
expect_rc "a config others may write is refused" 3
expect_out "and the error says why" "InsecureConfigFile"
chmod 600 "$T_TMP/add.json"
after=$(blkxlate status --json | tr -d ' \n' | sed 's/"stats":{[^}]*}//g; s/"started":[0-9]*//')
[ "$before" = "$after" ] && pass "the refused reloads changed nothing (status before = after)" ||
	fail "status changed: before $before after $after"
lab_cfg "$CFG" "$STRIPE_LUN" "$NS2_LUN"
run blkxlate reload "$CFG"
expect_rc "reload removes two LUNs" 0
expect_out "reload says what it removed" "removed: 2"
[ ! -e "$VSCSI_LINK" ] && [ ! -e "$NS_LINK" ] && pass "the removed LUNs' links are gone" ||
	fail "links of removed LUNs remain"
n=$(ls /sys/block | grep -c '^ublkb')
[ "$n" -eq 2 ] && pass "two ublk disks remain" || fail "$n ublk disks"
lab_cfg "$CFG" "$STRIPE_LUN" "$NS1_LUN,$NS2_LUN"
kill -HUP "$(daemon_pid)"
t0=$(date +%s)
while [ ! -e "$NS_LINK" ] && [ $(($(date +%s) - t0)) -lt 20 ]; do sleep 0.3; done
[ -b "$(readlink "$NS_LINK")" ] && pass "SIGHUP re-read the settings file and added the LUN" ||
	fail "SIGHUP did not add the LUN: $(tail -2 /run/blkxlate/default.log)"
mode=$(stat -c %a /run/blkxlate/default.sock)
[ "$mode" = 600 ] && pass "the control socket is 0600" || fail "control socket mode $mode"
wait
fio_ok live "fio verify on the stripe through every reload, 0 errors"
run blkxlate down
expect_rc "down after the reloads" 0
