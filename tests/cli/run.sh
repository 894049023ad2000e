#!/bin/sh
# CLI tests on this machine's kernel (root, BPF; file and loop backings):
# validate, plan, load/unload, map-lba, bpftool over the pinned maps.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=${BLKXLATE:-$ROOT/build/bin/blkxlate}
BPFTOOL=${BPFTOOL:-$(command -v bpftool || echo /usr/sbin/bpftool)}
T_TMP=$(mktemp -d /tmp/blkxlate-cli.XXXXXX)
INST=clitest$$
. "$HERE/../vm/lib.sh"

cleanup() {
	"$B" unload --instance "$INST" >/dev/null 2>&1
	"$B" unload --instance "${INST}x" >/dev/null 2>&1
	[ -n "${MNT:-}" ] && umount "$MNT" 2>/dev/null
	[ -n "${LOOP:-}" ] && losetup -d "$LOOP" 2>/dev/null
	rm -rf "$T_TMP"
}
trap cleanup EXIT INT TERM

CTRL=ba6163d9-04a1-4d29-b605-72e2ffb1dc7f
NVME=f8b3781b-1e82-4818-a1c3-63d806ec15bb

# cfg NAME LUNS-JSON: write a one-SCSI-controller config
cfg() {
	cat >"$T_TMP/$1.json" <<JSON
{"version":"V1","dynamic":{"storage_controllers":[
 {"instance_id":"$CTRL","protocol":"SCSI","luns":[$2]}]}}
JSON
	echo "$T_TMP/$1.json"
}
filedev() {
	echo "{\"device_type\":\"file\",\"device_path\":\"$1\"}"
}

# --- backings: sparse files like the demo's, in our own folder ----------
for f in s0 s1 single nvme; do truncate -s 64M "$T_TMP/$f.img"; done
truncate -s 32M "$T_TMP/small.img"
sed "s|/var/tmp/blkxlate-demo|$T_TMP|; s|stripe0.img|s0.img|; s|stripe1.img|s1.img|" \
	"$ROOT/configs/demo.json" >"$T_TMP/demo.json"
sed -i "s|/var/tmp/blkxlate-demo|$T_TMP|g" "$T_TMP/demo.json"
DEMO=$T_TMP/demo.json

# --- usage ----------------------------------------------------------------
for c in validate plan resolve load unload map-lba daemon up down status reload features stats trace; do
	run "$B" "$c" --help
	expect_rc "$c --help exits 0" 0
	expect_out "$c --help prints its usage" "^Usage: blkxlate $c"
done
run "$B" --help
expect_out "--help lists the commands" "map-lba"
run "$B" frobnicate
expect_rc "unknown command is a usage error" 2
expect_err "unknown command is named" "unknown command 'frobnicate'"
run "$B" validate
expect_rc "validate without CONFIG is a usage error" 2
run "$B" map-lba --controller not-a-guid --lun 0 --lba 0
expect_rc "map-lba bad --controller is a usage error" 2
expect_err "map-lba names --controller" "^blkxlate: error: --controller"
run "$B" map-lba --controller $CTRL --lun x --lba 0
expect_rc "map-lba bad --lun is a usage error" 2
expect_err "map-lba names --lun" "--lun: 'x' is not a number"

# --- validate ---------------------------------------------------------------
run "$B" validate "$DEMO"
expect_rc "validate demo" 0
expect_out "validate counts LUNs" "2 controller\(s\), 3 LUN\(s\)"
run "$B" validate --json "$DEMO"
json_eq "validate --json valid" "j['valid']" "True"
json_eq "validate --json luns" "j['luns']" "3"
for f in "$ROOT"/configs/*.json; do
	run "$B" validate "$f"
	expect_rc "configs/$(basename "$f") is valid" 0
done
BAD=$(cfg dup "{\"location\":1,\"physical_devices\":{\"type\":\"single\",\"device\":$(filedev "$T_TMP/s0.img")}},{\"location\":1,\"physical_devices\":{\"type\":\"single\",\"device\":$(filedev "$T_TMP/s1.img")}}")
run "$B" validate --json "$BAD"
expect_rc "duplicate location exits 3" 3
json_eq "duplicate location error_id" "j['error_id']" \
	"Configuration.StorageLunLocationDuplicated"
json_eq "duplicate location path" "j['path']" \
	"dynamic.storage_controllers[0].luns[1].location"
run "$B" validate "$BAD"
expect_err "readable error line names the path and id" \
	"luns\[1\]\.location: .*\[Configuration.StorageLunLocationDuplicated\]"
printf '{"version": "V1", "dynamic": {' >"$T_TMP/trunc.json"
run "$B" validate --json "$T_TMP/trunc.json"
json_eq "truncated JSON is JsonFormatError" "j['error_id']" \
	"Configuration.JsonFormatError"
run "$B" validate --json "$T_TMP/does-not-exist.json"
expect_rc "missing config file exits 3" 3
json_eq "missing config file is JsonFormatError" "j['error_id']" \
	"Configuration.JsonFormatError"

# --- plan -------------------------------------------------------------------
run "$B" plan "$DEMO"
expect_rc "plan demo" 0
expect_out "plan shows the striped LUN with its chunk" \
	"$CTRL SCSI +0 .*s0.img +128 MiB +128 KiB +512"
expect_out "plan shows the NVMe namespace" "$NVME NVME +1 .*nvme.img +64 MiB"
run "$B" plan --json "$DEMO"
json_eq "plan --json disks" "len(j['disks'])" "3"
json_eq "plan --json stripe size" "j['disks'][0]['size_bytes']" "134217728"
json_eq "plan --json stripe members" "len(j['disks'][0]['members'])" "2"
json_eq "plan --json serial" "j['disks'][1]['identity']['serial_number']" \
	"BLKX-DEMO-1"
json_eq "plan --json vendor padded" "j['disks'][0]['identity']['vendor_id']" \
	"Msft    "

# plan_err NAME CONFIG ERROR_ID PATH
plan_err() {
	run "$B" plan --json "$2"
	if [ "$RC" -eq 3 ]; then pass "$1: exit 3"; else fail "$1: exit $RC, want 3 ($OUT $ERR)"; fi
	json_eq "$1: error_id" "j['error_id']" "$3"
	json_eq "$1: path" "j['path']" "$4"
}
C=$(cfg unequal "{\"location\":0,\"chunk_size_in_kb\":64,\"physical_devices\":{\"type\":\"striped\",\"devices\":[$(filedev "$T_TMP/s0.img"),$(filedev "$T_TMP/small.img")]}}")
plan_err "stripe of unequal members refused" "$C" \
	Configuration.StorageStripeSizeMismatch \
	"dynamic.storage_controllers[0].luns[0].physical_devices.devices[1].device_path"
C=$(cfg samebacking "{\"location\":0,\"physical_devices\":{\"type\":\"single\",\"device\":$(filedev "$T_TMP/s0.img")}},{\"location\":1,\"physical_devices\":{\"type\":\"single\",\"device\":$(filedev "$T_TMP/s0.img")}}")
plan_err "one backing in two LUNs refused" "$C" \
	Configuration.StorageBackingDuplicated \
	"dynamic.storage_controllers[0].luns[1].physical_devices.device.device_path"
C=$(cfg samestripe "{\"location\":0,\"chunk_size_in_kb\":64,\"physical_devices\":{\"type\":\"striped\",\"devices\":[$(filedev "$T_TMP/s0.img"),$(filedev "$T_TMP/s0.img")]}}")
plan_err "one backing twice in a stripe refused" "$C" \
	Configuration.StorageBackingDuplicated \
	"dynamic.storage_controllers[0].luns[0].physical_devices.devices[1].device_path"
C=$(cfg bigchunk "{\"location\":0,\"chunk_size_in_kb\":131072,\"physical_devices\":{\"type\":\"striped\",\"devices\":[$(filedev "$T_TMP/s0.img"),$(filedev "$T_TMP/s1.img")]}}")
plan_err "chunk larger than the members refused" "$C" \
	Configuration.StorageInvalidChunkSize \
	"dynamic.storage_controllers[0].luns[0].chunk_size_in_kb"
C=$(cfg toobig "{\"location\":0,\"scsi_disk_size_in_bytes\":134217728,\"physical_devices\":{\"type\":\"single\",\"device\":$(filedev "$T_TMP/s0.img")}}")
plan_err "scsi_disk_size_in_bytes beyond the backing refused" "$C" \
	Configuration.StorageInvalidDiskSize \
	"dynamic.storage_controllers[0].luns[0].scsi_disk_size_in_bytes"
C=$(cfg smaller "{\"location\":0,\"scsi_disk_size_in_bytes\":16777216,\"physical_devices\":{\"type\":\"single\",\"device\":$(filedev "$T_TMP/s0.img")}}")
run "$B" plan --json "$C"
json_eq "scsi_disk_size_in_bytes presents a smaller disk" \
	"j['disks'][0]['size_bytes']" "16777216"
C=$(cfg missing "{\"location\":0,\"physical_devices\":{\"type\":\"single\",\"device\":$(filedev "$T_TMP/nope.img")}}")
run "$B" plan --json "$C"
expect_rc "missing backing file exits 3" 3
json_eq "missing backing file path" "j['path']" \
	"dynamic.storage_controllers[0].luns[0].physical_devices.device.device_path"

# a mounted block device is refused, and the message says where
truncate -s 32M "$T_TMP/fs.img"
LOOP=$(losetup -f --show "$T_TMP/fs.img" 2>/dev/null) || LOOP=
if [ -n "$LOOP" ] && mkfs.ext4 -q "$LOOP" 2>/dev/null; then
	MNT=$T_TMP/mnt
	mkdir -p "$MNT"
	mount "$LOOP" "$MNT"
	C=$(cfg mounted "{\"location\":0,\"physical_devices\":{\"type\":\"single\",\"device\":$(filedev "$LOOP")}}")
	plan_err "mounted backing refused" "$C" \
		Configuration.StorageBackingInUse \
		"dynamic.storage_controllers[0].luns[0].physical_devices.device.device_path"
	json_eq "mounted backing names the mount point" \
		"'mounted at $MNT' in j['message']" "True"
	umount "$MNT"
	run "$B" plan --json "$C"
	json_eq "the same device once unmounted is planned" \
		"j['disks'][0]['members'][0]['device']" "$LOOP"
else
	fail "mounted backing refused: no loop device on this machine (losetup -f)"
fi

# --- load / map-lba / bpftool / unload -------------------------------------
run "$B" load --instance "$INST" "$BAD"
expect_rc "load of invalid settings exits 3" 3
if [ -e "/sys/fs/bpf/blkxlate/$INST" ]; then
	fail "invalid settings pinned nothing"
else
	pass "invalid settings pinned nothing"
fi
run "$B" load --instance "$INST" "$DEMO"
expect_rc "load demo" 0
PIN=/sys/fs/bpf/blkxlate/$INST
mode=$(stat -c %a "$PIN" 2>/dev/null)
if [ "$mode" = 700 ]; then pass "pin directory is 0700"; else fail "pin directory mode '$mode', want 700"; fi
for m in luns disks members lun_stats member_stats meta queue_stats trace_devs io_hist nvme_stats trace_nvme trace_ctl trace_events remap_prog; do
	if [ -e "$PIN/$m" ]; then pass "pinned $m"; else fail "pinned $m: missing"; fi
done
run "$B" load --instance "$INST" "$DEMO"
expect_rc "second load of one instance exits 1" 1
expect_err "second load says why" "already loaded"

# bpftool prints the maps by field name (BTF)
bpftool_has() {
	run "$BPFTOOL" map dump pinned "$PIN/$2"
	if [ "$RC" -eq 0 ] && printf '%s\n' "$OUT" | grep -q "\"$3\""; then
		pass "$1"
	else
		fail "$1: bpftool map dump pinned $PIN/$2 lacks \"$3\" (rc $RC) $ERR"
	fi
}
bpftool_has "bpftool dumps luns with field names" luns controller
bpftool_has "bpftool dumps disks with field names" disks chunk_sectors
bpftool_has "bpftool dumps members with field names" members device
bpftool_has "bpftool dumps lun_stats with field names" lun_stats write_sectors
bpftool_has "bpftool dumps member_stats with field names" member_stats reads
bpftool_has "bpftool dumps meta with field names" meta generation
run "$BPFTOOL" map dump pinned "$PIN/disks"
expect_out "bpftool shows the stripe's chunk (256 sectors)" '"chunk_sectors": 256'
run "$BPFTOOL" prog show pinned "$PIN/remap_prog"
expect_out "bpftool shows the remap program" "syscall +name blkx_map_lba"

# map-lba answers from the BPF program: chunk c on member c mod 2
run "$B" map-lba --instance "$INST" --json --controller $CTRL --lun 0 --lba 250 --sectors 12
expect_rc "map-lba across a chunk boundary" 0
json_eq "map-lba: two segments" "len(j['segments'])" "2"
json_eq "map-lba: first segment" \
	"[j['segments'][0][k] for k in ('member','lba','sectors')]" "[0, 250, 6]"
json_eq "map-lba: second segment on member 1 at 0" \
	"[j['segments'][1][k] for k in ('member','lba','sectors')]" "[1, 0, 6]"
json_eq "map-lba: device named" "j['segments'][1]['device']" "$T_TMP/s1.img"
run "$B" map-lba --instance "$INST" --json --controller $CTRL --lun 0 --lba 1024 --sectors 1
json_eq "map-lba: chunk 4 is on member 0, row 2" \
	"[j['segments'][0][k] for k in ('member','lba')]" "[0, 512]"
run "$B" map-lba --instance "$INST" --controller $CTRL --lun 0 --lba 262143
expect_out "map-lba: last block on member 1" "member 1 .*s1.img lba 131071 sectors 1"
run "$B" map-lba --instance "$INST" --controller $CTRL --lun 0 --lba 262143 --sectors 2
expect_rc "map-lba past the end exits 1" 1
expect_err "map-lba past the end says so" "past the end of the disk"
run "$B" map-lba --instance "$INST" --controller $CTRL --lun 9 --lba 0
expect_rc "map-lba unknown LUN exits 1" 1
expect_err "map-lba unknown LUN says so" "no LUN 9"
run "$B" map-lba --instance "$INST" --controller $NVME --lun 1 --lba 77 --json
json_eq "map-lba: single backing maps straight through" \
	"[j['segments'][0][k] for k in ('member','lba','sectors')]" "[0, 77, 1]"

run "$B" unload --instance "$INST"
expect_rc "unload" 0
if [ -e "$PIN" ]; then fail "unload removed $PIN"; else pass "unload removed $PIN"; fi
run "$B" unload --instance "$INST"
expect_rc "unload of an unloaded instance exits 1" 1
expect_err "unload of an unloaded instance says so" "not loaded"
run "$B" map-lba --instance "$INST" --controller $CTRL --lun 0 --lba 0
expect_err "map-lba without load says to load" "load CONFIG"
run "$B" load --instance 'bad/name' "$DEMO"
expect_rc "load with a bad instance name exits 1" 1
expect_err "bad instance name is explained" "invalid instance name"

# --- daemon commands without a running daemon ---------------------------
run "$B" status --instance "$INST"
expect_rc "status of a stopped instance exits 1" 1
expect_err "status says it is not running" "not running"
run "$B" status --instance "$INST" --json
json_eq "status --json says running false" "j['running']" "False"
run "$B" down --instance "$INST"
expect_rc "down of a stopped instance exits 1" 1
run "$B" up --instance "$INST" "$BAD"
expect_rc "up with invalid settings exits 3" 3
expect_err "up names the rule" "StorageLunLocationDuplicated"
run "$B" daemon --instance "$INST" --queues 0 "$DEMO"
expect_rc "daemon --queues 0 is a usage error" 2
run "$B" daemon --instance "$INST" --depth 5000 "$DEMO"
expect_rc "daemon --depth 5000 is a usage error" 2
if [ ! -e /dev/ublk-control ] && ! modprobe ublk_drv 2>/dev/null; then
	run "$B" daemon --instance "$INST" "$DEMO"
	expect_rc "daemon without ublk in the kernel exits 1" 1
	expect_err "daemon says ublk is missing" "ublk is not available"
	if [ -e "/sys/fs/bpf/blkxlate/$INST" ]; then
		fail "a daemon that could not start left pins"
	else
		pass "a daemon that could not start left no pins"
	fi
	run "$B" features
	expect_out "features says ublk is missing" "^ublk +no"
fi
cp "$DEMO" "$T_TMP/open.json"
chmod 666 "$T_TMP/open.json"
run "$B" daemon --instance "$INST" "$T_TMP/open.json"
expect_rc "daemon refuses a settings file others may write (exit 3)" 3
expect_err "and names the rule" "InsecureConfigFile"
run "$B" reload --instance "$INST" "$DEMO"
expect_rc "reload without a daemon exits 1" 1
expect_err "reload says the daemon is not reachable" "cannot reach the daemon"
run "$B" stats --instance "$INST"
expect_rc "stats of an instance that is not loaded exits 1" 1
run "$B" trace --instance "$INST" --count 1
expect_rc "trace of an instance that is not loaded exits 1" 1
run "$B" features --json
json_eq "features --json names the kernel" "j['kernel']" "$(uname -r)"
run "$B" resolve file "$T_TMP/s0.img"
expect_out "resolve a file backing" "^$T_TMP/s0.img\$"
run "$B" resolve --json nvme NO-SUCH-SERIAL 1
expect_rc "resolve of a missing controller exits 3" 3
json_eq "resolve error id" "j['error_id']" "Configuration.StorageCannotFindVtl2Device"
run "$B" resolve disk x
expect_rc "resolve with a bad TYPE is a usage error" 2

finish "cli"
