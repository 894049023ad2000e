#!/bin/sh
# The blkxlate demo (make demo): serve configs/demo.json's three guest LUNs
# (a 2-way stripe and a single disk on a SCSI controller, one NVMe
# namespace) from sparse files, move data through them, show them, tear
# down.  Runs natively where the kernel has ublk, else inside the VM lab;
# tools/demo decides.
set -eu
B=${BLKXLATE:-blkxlate}
BPFTOOL=${BPFTOOL:-bpftool}
CONFIGS=${BLKXLATE_CONFIGS:-configs}
DIR=/var/tmp/blkxlate-demo
INST=demo
SCSI=ba6163d9-04a1-4d29-b605-72e2ffb1dc7f
NVME=f8b3781b-1e82-4818-a1c3-63d806ec15bb
step=0
say() {
	step=$((step + 1))
	printf '\n[%d/7] %s\n' "$step" "$*"
}
cleanup() {
	"$B" down --instance $INST >/dev/null 2>&1 || true
	[ -n "${MOUNTED:-}" ] && umount "$DIR" 2>/dev/null
	rm -f /tmp/blkxlate-demo.pat /tmp/blkxlate-demo.back
}
trap cleanup EXIT

say "backing files: 4 sparse 64 MiB files in $DIR"
mkdir -p "$DIR"
# a RAM root file system has no O_DIRECT; tmpfs has (Linux >= 6.6)
if [ "$(stat -f -c %T "$DIR" 2>/dev/null)" = ramfs ] ||
	[ "$(stat -f -c %T / 2>/dev/null)" = ramfs ]; then
	mount -t tmpfs -o size=512m blkxlate-demo "$DIR" && MOUNTED=1
fi
for f in stripe0 stripe1 single nvme; do
	rm -f "$DIR/$f.img"
	truncate -s 64M "$DIR/$f.img"
done
ls -ls "$DIR"

say "validate and plan $CONFIGS/demo.json"
"$B" validate "$CONFIGS/demo.json"
"$B" plan "$CONFIGS/demo.json"

say "start the daemon (blkxlate up)"
"$B" up --instance $INST "$CONFIGS/demo.json"
ls -l /run/blkxlate/$SCSI /run/blkxlate/$NVME

say "write 8 MiB of random data to each LUN through its stable path, read it back"
dd if=/dev/urandom of=/tmp/blkxlate-demo.pat bs=1M count=8 2>/dev/null
for l in /run/blkxlate/$SCSI/lun0 /run/blkxlate/$SCSI/lun1 /run/blkxlate/$NVME/lun1; do
	dd if=/tmp/blkxlate-demo.pat of="$l" bs=1M oflag=direct 2>/dev/null
	dd if="$l" of=/tmp/blkxlate-demo.back bs=1M count=8 iflag=direct 2>/dev/null
	if cmp -s /tmp/blkxlate-demo.pat /tmp/blkxlate-demo.back; then
		echo "  $l -> $(readlink "$l"): 8 MiB written and read back identical"
	else
		echo "  $l: DATA MISMATCH" >&2
		exit 1
	fi
done
echo "  the stripe's 128 KiB chunks alternate between its two files:"
"$B" map-lba --instance $INST --controller $SCSI --lun 0 --lba 200 --sectors 112 |
	sed 's/^/    /'

say "status, and the stats map as bpftool sees it"
"$B" status --instance $INST
echo "  bpftool map lookup pinned /sys/fs/bpf/blkxlate/$INST/lun_stats key 0 0 0 0:"
"$BPFTOOL" map lookup pinned /sys/fs/bpf/blkxlate/$INST/lun_stats key 0 0 0 0 |
	sed 's/^/    /'

say "stop (blkxlate down)"
"$B" down --instance $INST
left=$(ls /sys/block | grep -c '^ublkb' || true)
[ "$left" -eq 0 ] || { echo "  $left ublk devices left" >&2; exit 1; }
[ ! -e /sys/fs/bpf/blkxlate/$INST ] || { echo "  pins left" >&2; exit 1; }
echo "  no ublk device, link or pin left"

say "done: the demo's data is in $DIR (sparse files)"
