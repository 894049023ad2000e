#!/bin/sh
# The end-to-end suite, run inside the VM lab (tools/vm-run --script) on
# one boot: real clients (fio, mkfs/fsck, qemu-io, blkdiscard, dd) on the
# ublk disks blkxlate serves from the lab's NVMe and SCSI disks.
# One PASS/FAIL line per check and "N passed, N failed" at the end.
set -u
RECOVERY_CYCLES=${RECOVERY_CYCLES:-2}
cd /blkxlate || exit 1
T_TMP=$(mktemp -d /tmp/suite.XXXXXX)
. tests/vm/lib.sh
. /blkxlate/lab.env 2>/dev/null
KERNEL=$(uname -r)
LAB=configs/vm-lab.json
SCSI=a0c4e2d1-7b3f-4c6a-9e21-0d5b8f3a6c10
NVME=d3b5f7a9-2c4e-4f61-8a0b-1c2d3e4f5a6b
STRIPE_LINK=/run/blkxlate/$SCSI/lun0
VSCSI_LINK=/run/blkxlate/$SCSI/lun1
NS_LINK=/run/blkxlate/$NVME/lun1
NS4K_LINK=/run/blkxlate/$NVME/lun2
CHUNK=65536
section() { echo "--- $*"; }

# fio_verify NAME DEV BS: randwrite + crc32c verify, QD32, io_uring
fio_verify() {
	out=$(fio --name=verify --filename="$2" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bs="$3" --iodepth=32 --size=48M \
		--verify=crc32c --verify_fatal=1 --do_verify=1 \
		--randrepeat=0 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q 'err= 0'; then
		pass "$1"
	else
		fail "$1: fio exit $rc: $(printf '%s' "$out" | grep -Ei 'err|verify|bad' | head -5)"
	fi
}

# same_bytes NAME FILE_A FILE_B
same_bytes() {
	if cmp -s "$2" "$3"; then pass "$1"; else fail "$1: $2 and $3 differ"; fi
}

# stat_of LUN_DEVICE FIELD: a counter from `blkxlate status --json`
stat_of() {
	blkxlate status --json | tr -d ' \n' |
		sed -n "s|.*\"device\":\"$1\"[^}]*\"stats\":{\([^}]*\)}.*|\1|p" |
		tr ',' '\n' | sed -n "s/\"$2\"://p"
}

section "kernel $KERNEL: features and bring-up"
run blkxlate features
expect_out "features reports ublk" "^ublk +yes"
case "$KERNEL" in
7.*)
	expect_out "features: zero copy on 7.x" "zero copy +yes"
	expect_out "features: io_uring BPF ops on 7.x" "io_uring BPF ops +yes"
	expect_out "features: auto picks the BPF loop" "data path \(auto\) +bpf"
	;;
6.12*)
	expect_out "features: copy mode on 6.12" "zero copy +no"
	expect_out "features: no io_uring BPF ops on 6.12" "io_uring BPF ops +no"
	expect_out "features: auto picks the userspace loop" "data path \(auto\) +user"
	;;
esac
case "$KERNEL" in
7.*) DP=bpf ;; # io_uring BPF struct_ops and UBLK_F_AUTO_BUF_REG
*) DP=auto ;;  # 6.12 has neither: auto must pick the userspace loop
esac
run blkxlate up --dataplane $DP "$LAB"
expect_rc "up --dataplane $DP serves the lab config" 0
expect_out "up says how many disks" "up: 4 disk"
for l in "$STRIPE_LINK" "$VSCSI_LINK" "$NS_LINK" "$NS4K_LINK"; do
	d=$(readlink "$l")
	case "$d" in
	/dev/ublkb*) [ -b "$d" ] && pass "link $l -> $d" || fail "link $l: $d is not a block device" ;;
	*) fail "link $l missing (readlink: '$d')" ;;
	esac
done
STRIPE=$(readlink "$STRIPE_LINK")
VSCSI=$(readlink "$VSCSI_LINK")
NS=$(readlink "$NS_LINK")
NS4K=$(readlink "$NS4K_LINK")
run blkxlate status
expect_out "status lists the stripe with both members" \
	"$SCSI +SCSI +0 +$STRIPE +live .*/dev/nvme.*, /dev/nvme"
case "$KERNEL" in
7.*)
	expect_out "status: the BPF data path" "data path bpf \(in-kernel io_uring BPF loop"
	expect_out "status: zero copy" "zero copy"
	run bpftool struct_ops list
	n=$(printf '%s\n' "$OUT" | grep -c 'blkx_ops *io_uring_bpf_ops')
	[ "$n" -eq 8 ] && pass "bpftool struct_ops list: one blkx_ops per queue (8)" ||
		fail "bpftool struct_ops list shows $n blkx_ops, want 8: $OUT"
	;;
*)
	expect_out "status: auto picked the userspace loop" "data path user"
	expect_out "status: copy mode, and why no BPF" "copy mode .*no BPF data path: the kernel's ublk lacks UBLK_F_AUTO_BUF_REG"
	;;
esac
M0=$(blkxlate resolve nvme BLKXLATE-A 1)
M1=$(blkxlate resolve nvme BLKXLATE-C 1)
[ -b "$M0" ] && [ -b "$M1" ] && pass "members resolved by serial+nsid: $M0 $M1" ||
	fail "members by serial+nsid: '$M0' '$M1'"
sz=$(blockdev --getsize64 "$STRIPE")
[ "$sz" = 536870912 ] && pass "stripe size is 2 x 256 MiB" || fail "stripe size $sz"
grep -q '\[none\]' /sys/block/${STRIPE#/dev/}/queue/scheduler &&
	pass "the ublk disk has no I/O scheduler" ||
	fail "scheduler: $(cat /sys/block/${STRIPE#/dev/}/queue/scheduler)"
[ "$(cat /sys/block/${STRIPE#/dev/}/queue/chunk_sectors)" = 128 ] &&
	pass "stripe chunk_sectors = 64 KiB" || fail "chunk_sectors $(cat /sys/block/${STRIPE#/dev/}/queue/chunk_sectors)"

section "fio write+verify (randwrite 8k, QD32, crc32c)"
fio_verify "fio verify: stripe over two NVMe controllers" "$STRIPE" 8k
fio_verify "fio verify: single vSCSI LUN" "$VSCSI" 8k
fio_verify "fio verify: single NVMe namespace" "$NS" 8k
fio_verify "fio verify: 4096-byte NVMe namespace" "$NS4K" 8k

section "layout: chunk c on member c mod 2 at (c / 2) * chunk"
dd if=/dev/urandom of="$T_TMP/pat" bs=$CHUNK count=64 2>/dev/null
dd if="$T_TMP/pat" of="$STRIPE" bs=$CHUNK oflag=direct 2>/dev/null
bad=0
for c in $(seq 0 63); do
	m=$((c % 2))
	row=$((c / 2))
	[ $m -eq 0 ] && mdev=$M0 || mdev=$M1
	dd if="$mdev" of="$T_TMP/got" bs=$CHUNK skip=$row count=1 iflag=direct 2>/dev/null
	dd if="$T_TMP/pat" of="$T_TMP/want" bs=$CHUNK skip=$c count=1 2>/dev/null
	cmp -s "$T_TMP/got" "$T_TMP/want" || { bad=$((bad + 1)); echo "chunk $c not at member $m row $row"; }
done
[ $bad -eq 0 ] && pass "64 chunks found on their members" || fail "$bad of 64 chunks misplaced"
dd if="$STRIPE" of="$T_TMP/back" bs=$CHUNK count=64 iflag=direct 2>/dev/null
same_bytes "pattern reads back through the disk" "$T_TMP/pat" "$T_TMP/back"
# a chunk-crossing unaligned request (96 KiB at 32 KiB)
dd if=/dev/urandom of="$T_TMP/x" bs=32k count=3 2>/dev/null
dd if="$T_TMP/x" of="$STRIPE" bs=32k seek=1 count=3 oflag=direct 2>/dev/null
dd if="$STRIPE" of="$T_TMP/y" bs=32k skip=1 count=3 iflag=direct 2>/dev/null
same_bytes "chunk-crossing 96 KiB write reads back" "$T_TMP/x" "$T_TMP/y"

section "stats in the pinned map"
w=$(stat_of "$STRIPE" writes)
[ "${w:-0}" -gt 0 ] && pass "lun_stats counts stripe writes ($w)" || fail "stripe writes counter '$w'"
run bpftool map dump pinned /sys/fs/bpf/blkxlate/default/member_stats
expect_out "bpftool shows member counters" '"write_sectors": [1-9]'
dd if=/dev/urandom of="$STRIPE" bs=4k count=1 oflag=direct conv=fsync 2>/dev/null
f=$(stat_of "$STRIPE" flushes)
[ "${f:-0}" -gt 0 ] && pass "fsync reaches the members as FLUSH ($f)" || fail "flush counter '$f'"

fw0=$(stat_of "$STRIPE" fua_writes)
fio --name=fua --filename="$STRIPE" --rw=write --bs=64k --size=256k \
	--direct=1 --sync=1 --ioengine=psync >/dev/null 2>&1
fw=$(stat_of "$STRIPE" fua_writes)
[ "$(cat /sys/block/${STRIPE#/dev/}/queue/fua)" = 1 ] &&
	pass "the stripe advertises FUA (both members honour it)" ||
	fail "the stripe does not advertise FUA"
[ "${fw:-0}" -ge $((${fw0:-0} + 4)) ] && pass "O_DSYNC writes arrive as FUA writes ($fw0 -> $fw)" ||
	fail "FUA writes counter $fw0 -> $fw"
run bpftool map dump pinned /sys/fs/bpf/blkxlate/default/member_stats
expect_out "FUA writes reach the members" '"fua_writes": [1-9]'

section "ext4 on the striped LUN"
mkdir -p /mnt/s
if mkfs.ext4 -q -F "$STRIPE" && mount -t ext4 "$STRIPE" /mnt/s; then
	pass "mkfs.ext4 + mount"
	cp -a /blkxlate/tests /mnt/s/tree
	dd if=/dev/urandom of=/mnt/s/big bs=1M count=24 2>/dev/null
	(cd /mnt/s && find . -type f ! -name sums -exec md5sum {} + >/tmp/sums)
	umount /mnt/s && pass "umount" || fail "umount"
	run e2fsck -f -n "$STRIPE"
	expect_rc "e2fsck -f clean" 0
	mount -t ext4 "$STRIPE" /mnt/s && (cd /mnt/s && md5sum -c -s /tmp/sums) &&
		pass "files read back after remount" || fail "files after remount"
	umount /mnt/s
else
	fail "mkfs.ext4 + mount on $STRIPE"
fi

section "qemu-io through the stable path (as a VMM opens it)"
run qemu-io -f raw -t none -c 'write -P 0xa5 1M 2M' -c 'read -P 0xa5 1M 2M' "$NS_LINK"
expect_rc "qemu-io exits 0" 0
if printf '%s' "$OUT$ERR" | grep -qi 'fail\|error\|verification'; then
	fail "qemu-io pattern: $OUT $ERR"
else
	pass "qemu-io wrote and read back pattern 0xa5 on $NS_LINK"
fi
run qemu-io -f raw -t none -c 'write -P 0x3c 0 256k' -c 'read -P 0x3c 0 256k' "$STRIPE_LINK"
if [ "$RC" -eq 0 ] && ! printf '%s' "$OUT$ERR" | grep -qi 'fail\|error'; then
	pass "qemu-io on the striped LUN"
else
	fail "qemu-io on the striped LUN: $OUT $ERR"
fi

section "discard and write-zeroes"
dd if=/dev/urandom of="$STRIPE" bs=1M count=8 oflag=direct 2>/dev/null
# 4 MiB at 0 is member range [0, 2 MiB) on both members
run blkdiscard -z -o 0 -l 4194304 "$STRIPE"
expect_rc "blkdiscard -z (write zeroes)" 0
for m in "$M0" "$M1"; do
	cmp -s -n 2097152 "$m" /dev/zero && pass "write-zeroes: $m [0, 2M) reads zero" ||
		fail "write-zeroes: $m [0, 2M) not zero"
done
run blkdiscard -o 4194304 -l 4194304 "$STRIPE"
expect_rc "blkdiscard (discard)" 0
for m in "$M0" "$M1"; do
	dd if="$m" of="$T_TMP/d" bs=1M skip=2 count=2 iflag=direct 2>/dev/null
	cmp -s -n 2097152 "$T_TMP/d" /dev/zero && pass "discard: $m [2M, 4M) reads zero" ||
		fail "discard: $m [2M, 4M) not zero"
done
dd if="$STRIPE" of="$T_TMP/z" bs=1M count=8 iflag=direct 2>/dev/null
cmp -s -n 8388608 "$T_TMP/z" /dev/zero && pass "the disk reads zero where discarded" ||
	fail "the disk is not zero after discard"

section "sector sizes"
[ "$(blockdev --getss "$NS4K")" = 4096 ] && pass "4096-byte LUN has 4096-byte logical blocks" ||
	fail "4096 LUN logical block size $(blockdev --getss "$NS4K")"
# (busybox dd falls back to buffered I/O on EINVAL: ask fio)
if fio --name=small --filename="$NS4K" --rw=write --bs=512 --size=512 \
	--direct=1 --ioengine=psync >/dev/null 2>&1; then
	fail "512-byte direct write to a 4096-byte LUN was accepted"
else
	pass "512-byte direct write to a 4096-byte LUN is refused"
fi
dd if=/dev/urandom of="$T_TMP/p4" bs=4096 count=16 2>/dev/null
dd if="$T_TMP/p4" of="$NS4K" bs=4096 seek=5 oflag=direct 2>/dev/null
M4K=$(blkxlate resolve nvme BLKXLATE-B 1)
dd if="$M4K" of="$T_TMP/q4" bs=4096 skip=5 count=16 iflag=direct 2>/dev/null
same_bytes "4096-byte LUN: data lands at the same LBA of its member" "$T_TMP/p4" "$T_TMP/q4"
# qsum FIELD: a counter of the BPF/user data path summed over every queue
qsum() {
	bpftool -j map dump pinned /sys/fs/bpf/blkxlate/${2:-default}/queue_stats |
		tr ',{}' '\n\n\n' | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" |
		awk '{ s += $1 } END { print s + 0 }'
}
section "data path counters"
brw=$(qsum bpf_rw)
urw=$(qsum user_rw)
uoth=$(qsum user_other)
echo "queue_stats: bpf_rw=$brw user_rw=$urw user_other=$uoth handoff_op=$(qsum handoff_op) handoff_error=$(qsum handoff_error) loop_steps=$(qsum loop_steps)"
case "$KERNEL" in
7.*)
	[ "$urw" -eq 0 ] && pass "no READ/WRITE ran in the userspace handler" ||
		fail "$urw READ/WRITE ran in userspace"
	[ "$brw" -gt 10000 ] && [ $((brw * 100)) -ge $(((brw + urw) * 99)) ] &&
		pass "$brw READ/WRITE completed in BPF (>= 99%)" ||
		fail "READ/WRITE in BPF: $brw of $((brw + urw))"
	[ "$uoth" -gt 0 ] && [ "$(qsum handoff_op)" -gt 0 ] &&
		pass "FLUSH/DISCARD/WRITE_ZEROES were handed to userspace ($uoth)" ||
		fail "no hand-over of other ops (user_other=$uoth)"
	[ "$(qsum submit_errors)" -eq 0 ] && pass "no SQE submission fell short" ||
		fail "submit_errors $(qsum submit_errors)"
	;;
*)
	[ "$brw" -eq 0 ] && [ "$urw" -gt 10000 ] &&
		pass "the userspace loop served every READ/WRITE ($urw)" ||
		fail "userspace path counters: bpf_rw=$brw user_rw=$urw"
	;;
esac

section "tracing: stats, trace and bpftool while fio runs"
P=/sys/fs/bpf/blkxlate/default
fio --name=bg --filename="$STRIPE" --ioengine=io_uring --direct=1 --rw=randrw \
	--bs=8k --iodepth=8 --size=64M --time_based --runtime=20 >/dev/null 2>&1 &
FIO=$!
sleep 2
run blkxlate status --json
expect_out "status says tracing is on" '"tracing": *true'
run bpftool map show pinned $P/io_hist
expect_out "bpftool map show: io_hist has BTF" "name io_hist .*btf_id|btf_id"
# entry 0 is the stripe LUN's reads (target 0 * 4 + read)
h1=$(bpftool map lookup pinned $P/io_hist key 0 0 0 0 | tr -d ' \n')
sleep 2
h2=$(bpftool map lookup pinned $P/io_hist key 0 0 0 0 | tr -d ' \n')
i1=$(echo "$h1" | sed -n 's/.*"ios":\([0-9]*\).*/\1/p')
i2=$(echo "$h2" | sed -n 's/.*"ios":\([0-9]*\).*/\1/p')
[ "${i2:-0}" -gt "${i1:-0}" ] && pass "bpftool: the stripe's read counter grew ($i1 -> $i2)" ||
	fail "io_hist reads did not grow: '$i1' -> '$i2'"
echo "$h2" | grep -q '"slots":\[[0-9,]*[1-9]' && pass "bpftool: a latency bucket filled" ||
	fail "no latency bucket filled: $h2"
echo "$h2" | grep -q '"lat_sum_us":' && pass "bpftool prints io_hist field names" ||
	fail "io_hist without field names: $h2"
run bpftool prog show name blkx_rq_complete
expect_out "bpftool prog show: the tracing program" "tracing +name blkx_rq_complete"
run blkxlate stats --json --interval 2 --lun $SCSI:0
n=$(printf '%s' "$OUT" | tr -d ' \n' | grep -o '"iops":[0-9.]*' | grep -vc '"iops":0\(\.0*\)\?$')
[ "$n" -eq 3 ] && pass "stats: the stripe and both members show IOPS" ||
	fail "stats: $n of 3 targets with IOPS: $OUT"
p99=$(printf '%s' "$OUT" | tr -d ' \n' | sed -n 's/^[^]]*"p99_us":\([0-9.]*\).*/\1/p')
[ -n "$p99" ] && awk -v v="$p99" 'BEGIN { exit !(v > 0) }' && pass "stats: p99 latency $p99 us" ||
	fail "stats: no p99: $OUT"
n=$(printf '%s' "$OUT" | tr -d ' \n' | grep -o '"p99_us":[0-9.]*' | grep -c '"p99_us":[1-9]')
[ "$n" -eq 3 ] && pass "stats: the stripe and both members have latency histograms (block-layer start time)" ||
	fail "stats: $n of 3 targets with a p99: $OUT"
run blkxlate stats --lun $SCSI:0
expect_out "stats table: the stripe row" "^SCSI $SCSI 0 +$STRIPE"
run blkxlate trace --json --count 20 --duration 15 --lun $SCSI:0
n=$(printf '%s\n' "$OUT" | grep -c '"guest_sector"')
[ "$n" -eq 20 ] && pass "trace: 20 events" || fail "trace: $n events: $ERR"
n=$(printf '%s\n' "$OUT" | grep -c '"latency_us":[0-9]*\.[0-9],\|"latency_us":[1-9]')
z=$(printf '%s\n' "$OUT" | grep -c '"latency_us":0\.0,')
[ "$n" -eq 20 ] && [ "$z" -eq 0 ] && pass "trace: every event has a service time" ||
	fail "trace: $z of 20 events without a latency: $OUT"
bad=$(printf '%s\n' "$OUT" | sed -n 's/.*"guest_sector":\([0-9]*\).*"member":\([0-9]*\).*"member_sector":\([0-9]*\).*/\1 \2 \3/p' |
	awk '{ c = int($1 / 128); if (c % 2 != $2 || int(c / 2) * 128 + $1 % 128 != $3) b++ } END { print b + 0 }')
[ "$bad" -eq 0 ] && pass "trace: every event's guest sector maps to its member and sector" ||
	fail "trace: $bad events disagree with the stripe layout"
r=$(bpftool map lookup pinned $P/trace_ctl key 0 0 0 0 | tr -d ' \n' | sed -n 's/.*"readers":\([0-9]*\).*/\1/p')
[ "$r" = 0 ] && pass "trace switched the events off when it ended" || fail "trace_ctl readers $r"
if grep -q 'NVMe set-up and completions' /run/blkxlate/default.log; then
	c=$(bpftool map dump pinned $P/nvme_stats | tr -d ' \n' | grep -o '"cmds":[0-9]*' | sed 's/.*://' | awk '{ s += $1 } END { print s + 0 }')
	[ "$c" -gt 0 ] && pass "nvme:nvme_complete_rq counted $c NVMe commands" || fail "nvme_stats empty"
	NV=$(bpftool map dump pinned $P/nvme_stats | tr -d ' \n')
	nsum() { printf '%s' "$NV" | grep -o "\"$1\":[0-9]*" | sed 's/.*://' | awk '{ s += $1 } END { print s + 0 }'; }
	iss=$(nsum issued)
	[ "$iss" -gt 0 ] && pass "nvme:nvme_setup_cmd counted $iss NVMe commands issued (bpftool field names)" ||
		fail "nvme_setup_cmd counted nothing: $NV"
	run blkxlate stats --json --interval 1
	a=$(printf '%s' "$OUT" | tr -d ' \n' | grep -o '"nvme":{"issued":[1-9][0-9]*,"completed":[1-9][0-9]*,"errors":0,"retried":[0-9]*' | head -1)
	[ -n "$a" ] && pass "stats --json: a member's NVMe counters: $a" || fail "stats --json: no member nvme counters: $OUT"
else
	fail "nvme:nvme_setup_cmd and nvme_complete_rq were not both attached: $(grep -i trac /run/blkxlate/default.log)"
fi
wait $FIO

section "a failing member returns EIO and nothing hangs"
dmsetup create --noudevsync blkx_err --table "0 262144 error" &&
	ERRDEV=/dev/dm-$(dmsetup info -c --noheadings -o minor blkx_err | tr -d ' ')
cat >"$T_TMP/err.json" <<JSON
{"version":"V1","dynamic":{"storage_controllers":[{"instance_id":"11111111-2222-3333-4444-555555555555","protocol":"SCSI","luns":[
 {"location":0,"physical_devices":{"type":"single","device":{"device_type":"file","device_path":"$ERRDEV"}}}]}]}}
JSON
run blkxlate up --instance errtest --dataplane $DP "$T_TMP/err.json"
expect_rc "serve a LUN whose member always fails" 0
EDEV=$(readlink /run/blkxlate/11111111-2222-3333-4444-555555555555/lun0)
start=$(date +%s)
if timeout 30 dd if="$EDEV" of=/dev/null bs=4k count=1 iflag=direct 2>"$T_TMP/dderr"; then
	fail "read from a failing member succeeded"
else
	grep -qi 'input/output error' "$T_TMP/dderr" && pass "read fails with EIO" ||
		fail "read failed, but not with EIO: $(cat "$T_TMP/dderr")"
fi
if timeout 30 dd if=/dev/zero of="$EDEV" bs=4k count=1 oflag=direct 2>"$T_TMP/dderr"; then
	fail "write to a failing member succeeded"
else
	pass "write fails ($(tail -1 "$T_TMP/dderr"))"
fi
el=$(($(date +%s) - start))
[ $el -lt 20 ] && pass "errors came back in ${el}s" || fail "errors took ${el}s"
e=$(blkxlate status --instance errtest --json | tr -d ' \n' | sed -n 's/.*"errors":\([0-9]*\).*/\1/p')
[ "${e:-0}" -gt 0 ] && pass "error counted in the stats ($e)" || fail "errors counter '$e'"
se=$(blkxlate stats --instance errtest --json --interval 1 | tr -d ' \n' | grep -o '"errors":[0-9]*' | sed 's/.*://' | awk '{ s += $1 } END { print s + 0 }')
[ "$se" -gt 0 ] && pass "stats count the failed I/O ($se)" || fail "stats errors $se"
case "$KERNEL" in
7.*) [ "$(qsum handoff_error errtest)" -gt 0 ] &&
	pass "BPF handed the member error to userspace ($(qsum handoff_error errtest))" ||
	fail "no member-error hand-over counted" ;;
esac
run blkxlate status
expect_out "the other instance is still live" "$STRIPE +live"
run blkxlate down --instance errtest
expect_rc "down the failing instance" 0
dmsetup remove --noudevsync blkx_err

section "down removes everything"
run blkxlate down
expect_rc "down" 0
n=$(ls /sys/block | grep -c '^ublkb')
[ "$n" -eq 0 ] && pass "no ublk block device left" || fail "$n ublk block devices left: $(ls /sys/block | grep ublkb)"
[ -z "$(ls /dev | grep '^ublk[bc]')" ] && pass "no ublk device nodes left" || fail "left: $(ls /dev | grep '^ublk[bc]')"
[ ! -e "$STRIPE_LINK" ] && [ ! -e /run/blkxlate/$SCSI ] && pass "links removed" || fail "links left under /run/blkxlate"
[ ! -e /sys/fs/bpf/blkxlate/default ] && pass "pins removed" || fail "pins left: $(ls /sys/fs/bpf/blkxlate/default)"
# a task stuck in D stays there: look twice, 3 s apart
d_tasks() {
	for f in /proc/[0-9]*/stat; do
		grep -q '^[0-9]* ([^)]*) D' "$f" 2>/dev/null || continue
		p=${f#/proc/}
		p=${p%/stat}
		echo "$p:$(cat /proc/$p/comm 2>/dev/null):$(cat /proc/$p/wchan 2>/dev/null)"
	done
}
d1=$(d_tasks)
sleep 3
d2=$(d_tasks)
stuck=""
for t in $d2; do
	case " $d1 " in *" $t "*) stuck="$stuck $t" ;; esac
done
[ -z "$stuck" ] && pass "no task stuck in D state${d2:+ (transient: $d2)}" ||
	fail "tasks stuck in D state:$stuck"
run blkxlate status
expect_rc "status after down says not running" 1
run blkxlate plan "$LAB"
expect_rc "members are free again (plan opens them exclusively)" 0

case "$KERNEL" in
7.*)
	section "the userspace loop on this kernel too (--dataplane=user, zero copy)"
	run blkxlate up --dataplane user "$LAB"
	expect_rc "up --dataplane user" 0
	run blkxlate status
	expect_out "status: user data path, zero copy" "data path user \(userspace io_uring loop \(--dataplane=user\), zero copy"
	fio_verify "fio verify on the stripe through the userspace loop" "$(readlink "$STRIPE_LINK")" 8k
	[ "$(qsum bpf_rw)" -eq 0 ] && [ "$(qsum user_rw)" -gt 1000 ] &&
		pass "the userspace loop served it ($(qsum user_rw) READ/WRITE)" ||
		fail "user path counters: bpf_rw=$(qsum bpf_rw) user_rw=$(qsum user_rw)"
	run blkxlate down
	expect_rc "down" 0

	section "requests spanning chunks go to userspace and come back"
	# a 96 KiB chunk is no power of two: the block layer does not split
	# at chunk boundaries, so some requests span two members
	cat >"$T_TMP/split.json" <<JSON
{"version":"V1","dynamic":{"storage_controllers":[{"instance_id":"22222222-3333-4444-5555-666666666666","protocol":"SCSI","luns":[
 {"location":0,"chunk_size_in_kb":96,"physical_devices":{"type":"striped","devices":[
  {"device_type":"vscsi","device_path":"0000:00:05.0","sub_device_path":1},
  {"device_type":"nvme","device_path":"BLKXLATE-A","sub_device_path":2}]}}]}]}}
JSON
	run blkxlate up --instance split --dataplane bpf "$T_TMP/split.json"
	expect_rc "up a 96 KiB-chunk stripe with the BPF loop" 0
	SPLIT=$(readlink /run/blkxlate/22222222-3333-4444-5555-666666666666/lun0)
	out=$(fio --name=split --filename="$SPLIT" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bsrange=4k-128k --iodepth=16 --size=64M \
		--verify=crc32c --verify_fatal=1 --do_verify=1 2>&1)
	if printf '%s' "$out" | grep -q 'err= 0'; then
		pass "fio verify with requests across chunk boundaries"
	else
		fail "fio across chunks: $(printf '%s' "$out" | grep -iE 'err|verify' | head -3)"
	fi
	hs=$(qsum handoff_split split)
	ur=$(qsum user_rw split)
	br=$(qsum bpf_rw split)
	[ "$hs" -gt 0 ] && [ "$ur" -eq "$hs" ] && [ "$br" -gt 0 ] &&
		pass "only the spanning requests went to userspace ($hs handed over, $ur served there), the rest in BPF ($br)" ||
		fail "split counters: handoff_split=$hs user_rw=$ur bpf_rw=$br"
	run blkxlate down --instance split
	expect_rc "down the split instance" 0
	;;
esac

section "a stripe mixing 512- and 4096-byte members is refused"
cat >"$T_TMP/mixed.json" <<JSON
{"version":"V1","dynamic":{"storage_controllers":[{"instance_id":"$SCSI","protocol":"SCSI","luns":[
 {"location":5,"chunk_size_in_kb":64,"physical_devices":{"type":"striped","devices":[
  {"device_type":"nvme","device_path":"BLKXLATE-A","sub_device_path":2},
  {"device_type":"nvme","device_path":"BLKXLATE-B","sub_device_path":1}]}}]}]}}
JSON
run blkxlate validate "$T_TMP/mixed.json"
expect_rc "mixed-sector stripe passes the settings rules" 0
run blkxlate plan --json "$T_TMP/mixed.json"
expect_rc "mixed 512/4096 stripe is refused (exit 3)" 3
expect_out "mixed stripe error id" "Configuration.StorageStripeSectorSizeMismatch"
expect_out "mixed stripe names the device" "devices\[1\].device_path"

run blkxlate up --instance mixed "$T_TMP/mixed.json"
expect_rc "up refuses the mixed stripe (exit 3)" 3
expect_err "up says why" "StorageStripeSectorSizeMismatch"
[ ! -e /sys/fs/bpf/blkxlate/mixed ] && pass "the refused instance pinned nothing" ||
	fail "the refused instance left pins"

. tests/vm/reliability.sh
. tests/vm/crash.sh

finish "vm suite ($KERNEL)"
