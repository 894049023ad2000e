#!/bin/sh
# `blkxlate vmm-args` against a real QEMU, and the systemd unit against
# systemd-analyze, on this machine (no ublk needed: the disks are sparse
# files put where the stable paths would be, through --path-template).
#
# QEMU starts paused (-S) with the generated arguments; qmp.py then asks it
# over QMP where every disk sits (query-block, qom-get of the controller,
# bus, location and identity properties) and compares with what it computes
# from the settings on its own.  One PASS/FAIL line per check, then
# "== vmm: N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=${BLKXLATE:-$ROOT/build/bin/blkxlate}
QEMU=${QEMU:-qemu-system-x86_64}
# cache.direct=on opens the disks O_DIRECT, which tmpfs refuses before
# Linux 6.6: keep them on a disk file system
T_TMP=$(mktemp -d /var/tmp/blkxlate-vmm.XXXXXX)
# shellcheck source=tests/vm/lib.sh
. "$ROOT/tests/vm/lib.sh"
QPID=
LOOP=

cleanup() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	rm -rf "$T_TMP"
}
trap cleanup EXIT INT TERM

Q35=$HERE/qemu-q35.json
PC=$HERE/qemu-pc-ide.json
TMPL="$T_TMP/img/%c-%h-%l.img"
RUN=$T_TMP/run # BLKXLATE_RUN_DIR: the (fake) daemon's state
SYS=$T_TMP/sys # the fake sysfs of its devices
mkdir -p "$T_TMP/img" "$RUN"
export BLKXLATE_RUN_DIR="$RUN"

vmm() { run "$B" vmm-args "$@"; }

# fake_dev NAME LBS PBS RO WRITE_CACHE FUA: a served device's sysfs
fake_dev() {
	d=$SYS/block/$1
	mkdir -p "$d/queue"
	echo 259:0 >"$d/dev"
	echo 32768 >"$d/size"
	echo "$4" >"$d/ro"
	echo "$2" >"$d/queue/logical_block_size"
	echo "$3" >"$d/queue/physical_block_size"
	echo 512 >"$d/queue/max_hw_sectors_kb"
	echo 0 >"$d/queue/discard_max_bytes"
	echo "$5" >"$d/queue/write_cache"
	echo "$6" >"$d/queue/fua"
}

# --- usage and errors -----------------------------------------------------
vmm --help
expect_rc "vmm-args --help exits 0" 0
expect_out "vmm-args --help prints its usage" "^Usage: blkxlate vmm-args"
run "$B" --help
expect_out "blkxlate --help lists vmm-args" "vmm-args"
vmm "$Q35"
expect_rc "no --vmm is a usage error" 2
expect_err "no --vmm names --vmm" "--vmm qemu\|cloud-hypervisor is required"
vmm --vmm bochs "$Q35"
expect_rc "--vmm bochs is a usage error" 2
expect_err "--vmm bochs is named" "--vmm: 'bochs' is not qemu or cloud-hypervisor"
vmm --vmm qemu -p "$T_TMP/%x.img" "$Q35"
expect_rc "--path-template %x is a usage error" 2
expect_err "--path-template %x is named" "--path-template: unknown conversion '%x'"
vmm --vmm qemu --driver nbd "$Q35"
expect_rc "--driver nbd is a usage error" 2
expect_err "--driver nbd is named" "--driver: 'nbd'"
vmm --vmm qemu --aio posix "$Q35"
expect_rc "--aio posix is a usage error" 2
vmm --vmm qemu --instance ../etc "$Q35"
expect_rc "--instance ../etc is a usage error" 2
vmm --vmm qemu
expect_rc "no CONFIG is a usage error" 2
vmm --vmm qemu "$T_TMP/missing.json"
expect_rc "a missing CONFIG is invalid settings" 3
cat >"$T_TMP/dup.json" <<'JSON'
{"version":"V1","dynamic":{"storage_controllers":[
 {"instance_id":"6f0c1a2b-3d4e-4f50-8a61-7b8c9d0e1f21","protocol":"SCSI","luns":[
  {"location":0,"physical_devices":{"type":"single","device":{"device_type":"file","device_path":"/x"}}},
  {"location":0,"physical_devices":{"type":"single","device":{"device_type":"file","device_path":"/y"}}}]}]}}
JSON
vmm --vmm qemu --json "$T_TMP/dup.json"
expect_rc "invalid settings exit 3" 3
json_eq "invalid settings give the error object" "j['error_id']" \
	"Configuration.StorageLunLocationDuplicated"
cat >"$T_TMP/nvme2.json" <<'JSON'
{"version":"V1","dynamic":{"storage_controllers":[
 {"instance_id":"12345678-0000-4000-8000-0000000000aa","protocol":"NVMe","luns":[
  {"location":1,"physical_devices":{"type":"single","device":{"device_type":"file","device_path":"/x"}}}]},
 {"instance_id":"12345678-1111-4111-9111-0000000000aa","protocol":"NVMe","luns":[
  {"location":1,"physical_devices":{"type":"single","device":{"device_type":"file","device_path":"/y"}}}]}]}}
JSON
vmm --vmm qemu "$T_TMP/nvme2.json"
expect_rc "two NVMe controllers with one derived serial fail" 1
expect_err "the serial clash names both controllers" \
	"12345678-0000-4000-8000-0000000000aa and 12345678-1111-4111-9111-0000000000aa would both get serial 123456780000000000aa"

# --- what is generated ----------------------------------------------------
vmm --vmm qemu "$Q35"
expect_rc "vmm-args --vmm qemu (stable paths)" 0
expect_out "SCSI LUN 0 uses its stable path" \
	"filename=$RUN/6f0c1a2b-3d4e-4f50-8a61-7b8c9d0e1f21/lun0,cache.direct=on,aio=native"
expect_out "NVMe nsid 7 uses its stable path" \
	"filename=$RUN/c0ffee00-1234-4abc-9def-00000000beef/lun7,"
expect_out "the wwn is NAA 3 of device_id's halves XORed" \
	"device_id=11111111-2222-4333-8444-555555555501,wwn=0x3555444477771632"
expect_out "a comma in a serial is doubled for QEMU" "serial=data,, with comma,"
expect_out "a quote in a serial is quoted for the shell" "serial=ACME'\\\\''S-63"
expect_out "the NVMe serial is the first and last groups" \
	"^-device nvme,id=blkx-nvme0,serial=c0ffee0000000000beef \\\\$"
expect_out "without a daemon the notes say sizes are QEMU's" \
	"^# note: no running daemon of instance 'default'"
first=$OUT
vmm --vmm qemu "$Q35"
if [ "$OUT" = "$first" ]; then
	pass "vmm-args is deterministic"
else
	fail "vmm-args is deterministic: two runs differ"
fi
vmm --vmm qemu "$PC"
expect_out "IDE channel 1 slot 0 uses its stable path" \
	"filename=$RUN/1de00000-0000-4000-8000-00000000cafe/ide1-0,"
expect_out "IDE needs -machine pc, says a note" "^# note: IDE controller .*-machine pc"

vmm --vmm cloud-hypervisor "$Q35"
expect_rc "vmm-args --vmm cloud-hypervisor" 0
vmm --vmm cloud-hypervisor --json "$Q35"
json_eq "cloud-hypervisor: one --disk" "j['args'].count('--disk')" 1
json_eq "cloud-hypervisor: one disk per LUN" \
	"len([a for a in j['args'] if a.startswith('path=')])" 7
json_eq "cloud-hypervisor: stable path, direct, serial, id" "j['args'][1]" \
	"path=$RUN/6f0c1a2b-3d4e-4f50-8a61-7b8c9d0e1f21/lun0,direct=on,serial=CTS-BOOT-0001,id=blkx-scsi0-lun0"
json_eq "cloud-hypervisor: the DVD is read-only" \
	"[a for a in j['args'] if 'id=blkx-scsi0-lun9' in a][0]" \
	"path=$RUN/6f0c1a2b-3d4e-4f50-8a61-7b8c9d0e1f21/lun9,direct=on,readonly=on,serial=DVD-9,id=blkx-scsi0-lun9"
json_eq "cloud-hypervisor: a serial with a comma is left out" \
	"'serial' in [a for a in j['args'] if 'id=blkx-scsi0-lun5' in a][0]" False
json_eq "cloud-hypervisor: the notes say what it cannot express" \
	"'controller (SCSI, NVMe, IDE), the LUN/nsid/slot location, vendor/product/revision' in j['notes'][0]" True
vmm --vmm cloud-hypervisor -p "$T_TMP/a,b-%l.img" "$Q35"
expect_rc "cloud-hypervisor: a path with a comma fails" 1
expect_err "cloud-hypervisor: ... naming --path-template" "see --path-template"

# --- the daemon's devices: sizes, read-only, cache, FUA -------------------
# blkx-scsi0-lun0 served as ublkb0 (4 KiB sectors, write back, FUA) and
# blkx-nvme0-ns7 as ublkb5 (read-only); the others are not served.
fake_dev ublkb0 4096 4096 0 "write back" 1
fake_dev ublkb5 512 4096 1 "write through" 0
state() {
	cat >"$RUN/vmmtest.state" <<JSON
{"instance":"vmmtest","pid":$1,"disks":[
 {"controller":"6F0C1A2B-3D4E-4F50-8A61-7B8C9D0E1F21","protocol":"SCSI","location":0,"channel":0,"device":"/dev/ublkb0"},
 {"controller":"c0ffee00-1234-4abc-9def-00000000beef","protocol":"NVME","location":7,"channel":0,"device":"/dev/ublkb5"}]}
JSON
}
sh -c 'exit 0' &
dead=$!
wait "$dead"
state "$dead"
vmm --vmm qemu --instance vmmtest --sysfs-root "$SYS" "$Q35"
expect_out "a dead daemon's state is ignored" \
	"^# note: no running daemon of instance 'vmmtest'"
# a live pid is not enough: the running daemon is the one that holds the
# instance lock (a POSIX record lock on vmmtest.lock)
state $$
vmm --vmm qemu --instance vmmtest --sysfs-root "$SYS" "$Q35"
expect_out "a live pid without the instance lock is not the daemon" \
	"^# note: no running daemon of instance 'vmmtest'"
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(1800)' "$RUN/vmmtest.lock" >"$T_TMP/locker" &
locker=$!
while ! grep -q locked "$T_TMP/locker" 2>/dev/null; do sleep 0.05; done
state $locker
vmm --vmm qemu --instance vmmtest --sysfs-root "$SYS" "$Q35"
expect_out "a running daemon's sizes are used" \
	"lun=0,.*rotation_rate=1,logical_block_size=4096,physical_block_size=4096,write-cache=on,dpofua=on"
expect_out "a read-only served device is opened read-only" \
	"filename=$RUN/c0ffee00-1234-4abc-9def-00000000beef/lun7,cache.direct=on,aio=native,read-only=on"

# --- QEMU -----------------------------------------------------------------
# qemu_check NAME MACHINE CONFIG VMM-ARGS-OPTIONS [QMP.PY OPTIONS...]
# (options are plain words): with the disks as files through $TMPL, or
# through the stable paths with the default driver (host_device) when
# VMM-ARGS-OPTIONS has no --path-template
qemu_check() {
	name=$1 machine=$2 cfg=$3 opts=$4
	shift 4
	qmp_opts=$*
	tmpl=$RUN/%c/lun%l
	case " $opts " in
	*" -p "*) tmpl=$TMPL ;;
	*) qmp_opts="$qmp_opts --driver host_device" ;;
	esac
	# shellcheck disable=SC2086
	vmm --vmm qemu --json $opts "$cfg"
	expect_rc "$name: vmm-args --json" 0
	printf '%s\n' "$OUT" >"$T_TMP/$name.json"
	python3 -c 'import json,sys
for a in json.load(open(sys.argv[1]))["args"]: print(a)' "$T_TMP/$name.json" >"$T_TMP/$name.json-args"
	# the text form reads back, through the shell, into the same argv
	# shellcheck disable=SC2086
	vmm --vmm qemu $opts "$cfg"
	eval "set -- $OUT"
	printf '%s\n' "$@" >"$T_TMP/$name.text-args"
	if cmp -s "$T_TMP/$name.text-args" "$T_TMP/$name.json-args"; then
		pass "$name: the shell words read back as the --json argv ($#)"
	else
		fail "$name: the shell words and the --json argv differ: $(diff "$T_TMP/$name.text-args" "$T_TMP/$name.json-args" | head -5)"
	fi
	# the disks: small sparse files where the template puts them
	python3 -c 'import json,sys
for d in json.load(open(sys.argv[1]))["disks"]: print(d["path"])' "$T_TMP/$name.json" |
		while read -r p; do [ -e "$p" ] || truncate -s 16M "$p"; done
	sock=$T_TMP/$name.qmp
	python3 -c 'import json,os,sys
os.execvp(sys.argv[2], sys.argv[2:] + json.load(open(sys.argv[1]))["args"])' \
		"$T_TMP/$name.json" "$QEMU" -S -machine "$machine" -display none \
		-nodefaults -qmp "unix:$sock,server=on,wait=off" \
		2>"$T_TMP/$name.qemu-err" &
	QPID=$!
	# shellcheck disable=SC2086
	python3 "$HERE/qmp.py" "$sock" "$cfg" "$tmpl" $qmp_opts \
		>"$T_TMP/$name.qmp-out" 2>&1
	qrc=$?
	sed "s/^\(PASS\|FAIL\): /\1: $name: /" "$T_TMP/$name.qmp-out" | grep -v '^RESULT'
	res=$(sed -n 's/^RESULT //p' "$T_TMP/$name.qmp-out")
	if [ -z "$res" ]; then
		fail "$name: QEMU/QMP: $(tail -3 "$T_TMP/$name.qmp-out" | tr '\n' ' ') QEMU said: $(head -3 "$T_TMP/$name.qemu-err" | tr '\n' ' ')"
	else
		T_PASS=$((T_PASS + ${res% *}))
		T_FAIL=$((T_FAIL + ${res#* }))
		[ "$qrc" -eq 0 ] || [ "${res#* }" -gt 0 ] ||
			fail "$name: qmp.py exited $qrc"
	fi
	# quit was sent; do not leave it running either way
	i=0
	while kill -0 "$QPID" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill "$QPID" 2>/dev/null
	wait "$QPID" 2>/dev/null
	QPID=
}

if ! command -v "$QEMU" >/dev/null; then
	fail "$QEMU is not installed (make lab-deps)"
else
	# two SCSI controllers (one DVD), one NVMe controller, on q35, with
	# two disks served by the fake daemon
	qemu_check q35 q35 "$Q35" \
		"--driver file -p $TMPL --instance vmmtest --sysfs-root $SYS" \
		--served blkx-scsi0-lun0=4096/4096/wf \
		--served blkx-nvme0-ns7=512/4096/r
	# IDE (both channels, a CD) beside a SCSI controller, on i440fx
	qemu_check pc pc "$PC" "--driver file -p $TMPL --instance none"
	# the default output as is: host_device, aio=native, the stable path
	# (here a link to a loop device, as the daemon's would be to ublkbN)
	truncate -s 16M "$T_TMP/loop.img"
	if [ "$(id -u)" != 0 ]; then
		skip "host: the stable path on a loop device needs root"
	elif ! LOOP=$(losetup -f --show "$T_TMP/loop.img" 2>"$T_TMP/stderr"); then
		fail "host: losetup: $(cat "$T_TMP/stderr")"
	else
		G=b10cdef0-0000-4000-8000-00000000d15c
		mkdir -p "$RUN/$G"
		ln -s "$LOOP" "$RUN/$G/lun3"
		qemu_check host q35 "$HERE/qemu-host.json" "--instance none"
		losetup -d "$LOOP"
		LOOP=
	fi
fi

# --- the systemd unit ----------------------------------------------------
UNIT=$ROOT/configs/blkxlate@.service
if ! command -v systemd-analyze >/dev/null; then
	fail "systemd-analyze is not installed (Debian package systemd)"
else
	# an instance of the template, starting the binary just built
	mkdir -p "$T_TMP/units"
	sed "s|/usr/local/sbin/blkxlate|$B|" "$UNIT" \
		>"$T_TMP/units/blkxlate@vmmtest.service"
	run systemd-analyze verify "$T_TMP/units/blkxlate@vmmtest.service"
	expect_rc "systemd-analyze verify blkxlate@vmmtest.service" 0
	if [ -z "$OUT$ERR" ]; then
		pass "systemd-analyze verify: no warnings"
	else
		fail "systemd-analyze verify warns: $OUT $ERR"
	fi
	run systemd-analyze security --offline=true \
		"$T_TMP/units/blkxlate@vmmtest.service"
	echo "info: systemd-analyze security: $(printf '%s\n' "$OUT" | grep 'Overall exposure')"
fi
run grep -E '^ExecStart=/usr/local/sbin/blkxlate daemon --instance %i /etc/blkxlate/%i\.json$' "$UNIT"
expect_rc "the unit runs the daemon of instance %i on /etc/blkxlate/%i.json" 0
# shellcheck disable=SC2016 # $MAINPID is systemd's, literally
run grep -Eq '^ExecReload=/bin/kill -HUP \$MAINPID$' "$UNIT"
expect_rc "the unit reloads with SIGHUP" 0
run grep -Eq '^KillMode=mixed$' "$UNIT"
expect_rc "the unit stops with SIGTERM to the daemon (KillMode=mixed)" 0

kill "$locker" 2>/dev/null
[ "$T_SKIP" -eq 0 ] || echo "($T_SKIP skipped)"
echo "== vmm: $T_PASS passed, $T_FAIL failed"
[ "$T_FAIL" -eq 0 ]
