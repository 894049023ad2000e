#!/bin/sh
# Lab smoke test: runs INSIDE the VM (tools/vm-run --script tests/vm/smoke.sh)
# and checks that the lab is what tests/vm/README.md says: the disks (found
# by controller serial + nsid and by H:C:T:L, not by name), their sizes and
# block sizes, the modules, /dev/ublk-control, bpffs and the tools.
# Prints one PASS/FAIL line per check, then "N passed, N failed"; exit 1 on
# any failure. It only reads the lab disks (safe with --keep-disks).
set -eu

passed=0
failed=0
pass() {
	echo "PASS: $*"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}
# check NAME CMD...: PASS when CMD succeeds (its output is shown on failure)
check() {
	name=$1
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
	fi
}

MIB256=268435456

# --- NVMe ------------------------------------------------------------------
# ctrl_by_serial SERIAL: the /sys/class/nvme/nvmeX folder of that controller
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
# disk_by_nsid CTRL NSID: the block device name of namespace NSID of CTRL
disk_by_nsid() {
	for p in "$1"/nvme*n*; do
		[ -r "$p/nsid" ] || continue
		if [ "$(cat "$p/nsid")" = "$2" ]; then
			# a multipath path nvmeScCnN is served by the head nvmeSnN
			echo "${p##*/}" | sed 's/c[0-9][0-9]*n/n/'
			return 0
		fi
	done
	return 1
}
pci_of() {
	readlink -f "$1" | tr '/' '\n' |
		grep -E '^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$' | tail -n 1
}
# check_disk LABEL DISK BYTES LBS: size and logical block size of /dev/DISK
check_disk() {
	label=$1 disk=$2 want_bytes=$3 want_lbs=$4
	if [ ! -b "/dev/$disk" ]; then
		fail "$label: /dev/$disk is not a block device"
		return
	fi
	bytes=$(($(cat "/sys/block/$disk/size") * 512))
	lbs=$(cat "/sys/block/$disk/queue/logical_block_size")
	if [ "$bytes" = "$want_bytes" ] && [ "$lbs" = "$want_lbs" ]; then
		pass "$label is /dev/$disk, $bytes bytes, $lbs-byte logical blocks"
	else
		fail "$label (/dev/$disk): $bytes bytes, $lbs-byte blocks; want $want_bytes, $want_lbs"
	fi
	# the inventory that /init wrote agrees
	if grep -q "^[a-z]* $label /dev/$disk $want_bytes $want_lbs " /run/blkxlate/disks; then
		pass "$label: /run/blkxlate/disks agrees"
	else
		fail "$label: /run/blkxlate/disks says: $(grep " $label " /run/blkxlate/disks || echo nothing)"
	fi
}

nctrl=0
for c in /sys/class/nvme/nvme*; do [ -e "$c/serial" ] && nctrl=$((nctrl + 1)); done
if [ "$nctrl" = 3 ]; then pass "3 NVMe controllers"; else fail "$nctrl NVMe controllers, want 3"; fi

nns=0
for d in /sys/block/nvme*; do
	case "${d##*/}" in
	nvme*c*) ;;
	nvme*n*) nns=$((nns + 1)) ;;
	esac
done
if [ "$nns" = 4 ]; then pass "4 NVMe namespaces"; else fail "$nns NVMe namespaces, want 4"; fi

# serial nsid logical-block-size controller-PCI-address
while read -r serial nsid lbs pci; do
	if ! c=$(ctrl_by_serial "$serial"); then
		fail "no NVMe controller with serial $serial"
		continue
	fi
	got=$(pci_of "$c/device")
	if [ "$got" = "$pci" ]; then
		pass "$serial is ${c##*/} at PCI $pci"
	else
		fail "$serial (${c##*/}) is at PCI $got, want $pci"
	fi
	if ! d=$(disk_by_nsid "$c" "$nsid"); then
		fail "$serial has no namespace $nsid"
		continue
	fi
	check_disk "$serial/$nsid" "$d" "$MIB256" "$lbs"
done <<EOF
BLKXLATE-A 1 512 0000:00:06.0
BLKXLATE-A 2 512 0000:00:06.0
BLKXLATE-B 1 4096 0000:00:07.0
BLKXLATE-C 1 512 0000:00:08.0
EOF
for serial in BLKXLATE-B BLKXLATE-C; do
	if c=$(ctrl_by_serial "$serial") && ! disk_by_nsid "$c" 2 >/dev/null; then
		pass "$serial has no namespace 2"
	else
		fail "$serial has a namespace 2 (or is missing)"
	fi
done

# --- SCSI ------------------------------------------------------------------
nsd=0
hosts=""
for b in /sys/bus/scsi/devices/*:*:*:*/block/*; do
	[ -e "$b" ] || continue
	nsd=$((nsd + 1))
	h=${b%/block/*}
	h=${h##*/}
	hosts="$hosts ${h%%:*}"
done
if [ "$nsd" = 2 ]; then pass "2 SCSI disks"; else fail "$nsd SCSI disks, want 2"; fi
# the virtio-scsi HBA's host number (the H of H:C:T:L) is given at probe time
host=""
for h in /sys/class/scsi_host/host*; do
	[ -e "$h" ] || continue
	if [ "$(pci_of "$h/device")" = 0000:00:05.0 ]; then host=${h##*/host}; fi
done
if [ -n "$host" ]; then
	pass "virtio-scsi HBA at PCI 0000:00:05.0 is SCSI host $host"
	for lun in 0 1; do
		hctl=$host:0:0:$lun
		d=$(ls "/sys/bus/scsi/devices/$hctl/block" 2>/dev/null || true)
		if [ -z "$d" ]; then
			fail "no disk at $hctl"
			continue
		fi
		check_disk "$hctl" "$d" "$MIB256" 512
		if [ "$(cat "/sys/block/$d/queue/rotational")" = 0 ]; then
			pass "$hctl is non-rotational (rotation_rate=1)"
		else
			fail "$hctl is rotational"
		fi
	done
else
	fail "no SCSI host at PCI 0000:00:05.0 (hosts:$hosts)"
fi

# --- modules and devices ---------------------------------------------------
for m in ublk_drv nvme nvme_core virtio_scsi scsi_mod sd_mod sg dm_mod \
	dm_flakey null_blk loop virtio_blk ext4; do
	if [ -d "/sys/module/$m" ]; then pass "module $m"; else fail "module $m not loaded"; fi
done
if [ -c /dev/ublk-control ]; then pass "/dev/ublk-control"; else fail "no /dev/ublk-control"; fi
if [ -c /dev/mapper/control ]; then pass "/dev/mapper/control"; else fail "no /dev/mapper/control"; fi
if [ ! -e /dev/nullb0 ]; then pass "null_blk made no default disk"; else fail "/dev/nullb0 exists"; fi
if grep -q '^[^ ]* /sys/fs/bpf bpf ' /proc/mounts; then pass "bpffs on /sys/fs/bpf"; else fail "bpffs not mounted"; fi
if [ -r /sys/kernel/btf/vmlinux ]; then pass "kernel BTF"; else fail "no /sys/kernel/btf/vmlinux"; fi

# --- tools -----------------------------------------------------------------
check "bpftool runs" bpftool version
check "bpftool reads the kernel BTF" sh -c 'bpftool btf dump file /sys/kernel/btf/vmlinux format raw | head -n 1 | grep -q .'
check "fio runs" fio --version
check "qemu-io runs" qemu-io --version
check "dmsetup talks to the kernel" dmsetup version
check "dmsetup knows striped and flakey" sh -c 'dmsetup targets | grep -q "^striped" && dmsetup targets | grep -q "^flakey"'
check "mkfs.ext4 runs" mkfs.ext4 -V
check "e2fsck runs" e2fsck -V
for t in blkdiscard blockdev losetup; do
	check "$t is util-linux's" sh -c "$t --version | grep -q util-linux"
done

# --- a little I/O ----------------------------------------------------------
if c=$(ctrl_by_serial BLKXLATE-B) && d=$(disk_by_nsid "$c" 1); then
	check "4k O_DIRECT read on BLKXLATE-B/1" dd if="/dev/$d" of=/dev/null bs=4096 count=16 iflag=direct
	check "fio io_uring random reads on BLKXLATE-B/1" fio --name=smoke \
		--filename="/dev/$d" --rw=randread --bs=4k --direct=1 --ioengine=io_uring \
		--size=8M --io_size=4M --iodepth=8 --readonly
fi
check "qemu-io writes and reads a file" sh -c \
	'truncate -s 1M /tmp/q.img && qemu-io -f raw -c "write -P 0xab 0 64k" -c "read -P 0xab 0 64k" /tmp/q.img'
lodev=""
if truncate -s 32M /tmp/lo.img && lodev=$(losetup -f --show /tmp/lo.img 2>&1); then
	pass "losetup attached $lodev"
	check "mkfs.ext4 + e2fsck on $lodev" sh -c "mkfs.ext4 -q -F $lodev && e2fsck -fn $lodev"
	check "ext4 mounts on $lodev" sh -c "mkdir -p /mnt/smoke && mount -t ext4 $lodev /mnt/smoke &&
		echo ok >/mnt/smoke/f && umount /mnt/smoke"
	check "losetup -d $lodev" losetup -d "$lodev"
else
	fail "losetup: $lodev"
fi
rm -f /tmp/lo.img /tmp/q.img

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
