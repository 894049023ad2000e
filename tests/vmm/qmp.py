#!/usr/bin/env python3
"""Check a QEMU started with `blkxlate vmm-args` over QMP.

    qmp.py SOCKET CONFIG TEMPLATE [--driver DRV] [--served ID=LBS/PBS/FLAGS]...

The expectations are computed here from the settings file CONFIG, on their
own (naming, identity defaults and padding, the NAA 3 WWN fold, the NVMe
serial), not read back from blkxlate, so the two implementations check each
other.  TEMPLATE is the --path-template the arguments were made with (or
the stable paths' shape), DRV their --driver (default file).
--served says which disks the (fake) daemon serves, with the sector sizes
its devices have and FLAGS: r read-only, w write-back cache, f FUA.  One PASS/FAIL line per check, then "RESULT N M" (passed,
failed); exit status 0 only when nothing failed.
"""
import json
import socket
import sys
import time


class Qmp:
    """A tiny QMP client: JSON lines over a unix socket."""

    def __init__(self, path, timeout=20.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.f = self.sock.makefile("rw", encoding="utf-8")
        self.greeting = json.loads(self.f.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("QMP connection closed")
            r = json.loads(line)
            if "event" in r:
                continue
            if "error" in r:
                raise RuntimeError(f"{name} {args}: {r['error']}")
            return r["return"]

    def close(self):
        self.sock.close()


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def eq(self, name, got, want):
        if got == want:
            self.passed += 1
            print(f"PASS: {name} = {want!r}")
        else:
            self.failed += 1
            print(f"FAIL: {name} = {got!r}, want {want!r}")

    def ok(self, name, cond, why=""):
        if cond:
            self.passed += 1
            print(f"PASS: {name}")
        else:
            self.failed += 1
            print(f"FAIL: {name}{': ' + why if why else ''}")


def pad(s, width, default):
    return (s or default)[:width].ljust(width)


def guid_bytes(g):
    return bytes.fromhex(g.replace("-", ""))


def wwn(g):
    b = guid_bytes(g)
    fold = int.from_bytes(b[:8], "big") ^ int.from_bytes(b[8:], "big")
    return (3 << 60) | (fold & ((1 << 60) - 1))


def nvme_serial(g):
    g = g.lower()
    return g[:8] + g[24:]


def protocol(p):
    return {"scsi": "scsi", "nvme": "nvme", "ide": "ide"}[p.lower()]


def expected_disks(config, template, served):
    """One dict per LUN: where QEMU should have put it and what it shows."""
    with open(config, encoding="utf-8") as f:
        settings = json.load(f)
    disks, ctrls = [], []
    count = {"scsi": 0, "nvme": 0}
    for c in settings["dynamic"]["storage_controllers"]:
        proto = protocol(c["protocol"])
        guid = c["instance_id"].lower()
        if proto == "ide":
            cid = None
        else:
            cid = f"blkx-{proto}{count[proto]}"
            count[proto] += 1
            ctrls.append({"id": cid, "proto": proto, "guid": guid})
        for lun in c["luns"]:
            loc, ch = lun["location"], lun.get("channel", 0)
            if proto == "scsi":
                did = f"{cid}-lun{loc}"
            elif proto == "nvme":
                did = f"{cid}-ns{loc}"
            else:
                did = f"blkx-ide{ch}-{loc}"
            path = (template.replace("%%", "\0").replace("%c", guid)
                    .replace("%l", str(loc)).replace("%h", str(ch))
                    .replace("\0", "%"))
            d = {"id": did, "proto": proto, "ctrl": cid, "lun": lun,
                 "loc": loc, "ch": ch, "path": path,
                 "dvd": lun.get("is_dvd", False), "node": f"{did}-blk",
                 "served": served.get(did)}
            disks.append(d)
    return disks, ctrls


def props_of(q, path):
    return {p["name"] for p in q.cmd("qom-list", path=path)}


def check_props(q, t, d, want):
    """qom-get every wanted property QEMU 7.2 exposes on the device."""
    path = f"/machine/peripheral/{d['id']}"
    have = props_of(q, path)
    for prop, value in want.items():
        if prop not in have:
            t.ok(f"{d['id']}: QEMU exposes '{prop}'", False,
                 f"qom-list of {path} lacks it")
            continue
        t.eq(f"{d['id']}.{prop}", q.cmd("qom-get", path=path, property=prop),
             value)


def sizes(d):
    """logical/physical_block_size QEMU should hold: the served device's,
    else physical_sector_size from the settings, else QEMU's 512 (7.2 does
    not ask a file or a non-DASD host device)."""
    lun = d["lun"]
    if d["served"]:
        return d["served"][0], d["served"][1]
    pss = lun.get("physical_sector_size", 0)
    ok = 512 <= pss <= 65536 and not pss & (pss - 1)
    return 512, pss if ok else 512


def cache(d):
    """write-cache: the settings' write_cache, else the served device's."""
    lun = d["lun"]
    if "write_cache" in lun:
        return {"write-cache": "on" if lun["write_cache"] else "off"}
    if d["served"]:
        return {"write-cache": "on" if d["served"][3] else "off"}
    return {"write-cache": "auto"}


def want_scsi(d):
    lun = d["lun"]
    w = {"type": "scsi-cd" if d["dvd"] else "scsi-hd",
         "channel": 0, "scsi-id": 0, "lun": d["loc"],
         "vendor": pad(lun.get("vendor_id"), 8, "Msft"),
         "product": pad(lun.get("product_id"), 16, "Virtual Disk"),
         "ver": pad(lun.get("product_revision_level"), 4, "1.0")}
    if lun.get("serial_number"):
        w["serial"] = lun["serial_number"]
    if lun.get("device_id"):
        w["wwn"] = wwn(lun["device_id"])
        w["device_id"] = lun["device_id"].lower()
    if not d["dvd"]:
        w["rotation_rate"] = lun.get("medium_rotation_rate", 0)
        w["logical_block_size"], w["physical_block_size"] = sizes(d)
        w.update(cache(d))
        if "fua" in lun or d["served"]:
            w["dpofua"] = lun.get("fua", bool(d["served"] and d["served"][4]))
    return w


def want_nvme_ns(d):
    lun = d["lun"]
    w = {"type": "nvme-ns", "nsid": d["loc"]}
    if lun.get("device_id"):
        w["uuid"] = lun["device_id"].lower()
    w["logical_block_size"], w["physical_block_size"] = sizes(d)
    w.update(cache(d))
    return w


def want_ide(d):
    lun = d["lun"]
    w = {"type": "ide-cd" if d["dvd"] else "ide-hd", "unit": d["loc"],
         "ver": pad(lun.get("product_revision_level"), 4, "1.0")}
    if lun.get("serial_number"):
        w["serial"] = lun["serial_number"]
    if lun.get("model_number"):
        w["model"] = lun["model_number"]
    if lun.get("device_id"):
        w["wwn"] = wwn(lun["device_id"])
    if not d["dvd"]:
        w["rotation_rate"] = lun.get("medium_rotation_rate", 0)
        w["logical_block_size"], w["physical_block_size"] = sizes(d)
        w.update(cache(d))
    return w


def bus_of(d):
    """The parent bus path QEMU 7.2 gives the device (suffix for IDE)."""
    if d["proto"] == "scsi":
        c = d["ctrl"]
        return f"/machine/peripheral/{c}/virtio-backend/{c}.0"
    if d["proto"] == "nvme":
        return f"/machine/peripheral/{d['ctrl']}/{d['ctrl']}"
    return f"/ide.{d['ch']}"


def main():
    args = sys.argv[1:]
    sock, config, template = args[:3]
    served = {}
    driver = "file"
    rest = args[3:]
    while rest:
        if rest[0] not in ("--served", "--driver") or len(rest) < 2:
            sys.exit(f"qmp.py: bad arguments {rest}")
        if rest[0] == "--driver":
            driver = rest[1]
            rest = rest[2:]
            continue
        did, _, spec = rest[1].partition("=")
        parts = spec.split("/")
        flags = parts[2] if len(parts) > 2 else ""
        served[did] = (int(parts[0]), int(parts[1]), "r" in flags,
                       "w" in flags, "f" in flags)
        rest = rest[2:]

    t = Checks()
    disks, ctrls = expected_disks(config, template, served)
    q = Qmp(sock)
    t.eq("QEMU version", q.greeting["QMP"]["version"]["qemu"]["major"] >= 7,
         True)

    blocks = {b.get("qdev", ""): b for b in q.cmd("query-block")}
    t.eq("query-block: one block device per LUN",
         len([b for b in blocks.values() if "inserted" in b]), len(disks))
    for d in disks:
        b = blocks.get(d["id"]) or blocks.get(
            f"/machine/peripheral/{d['id']}/virtio-backend") or {}
        ins = b.get("inserted", {})
        t.eq(f"{d['id']}: query-block file", ins.get("file"), d["path"])
        t.eq(f"{d['id']}: query-block node-name", ins.get("node-name"),
             d["node"])
        t.eq(f"{d['id']}: query-block driver", ins.get("drv"), driver)
        t.eq(f"{d['id']}: query-block read-only", ins.get("ro"),
             d["dvd"] or bool(d["served"] and d["served"][2]))
        t.eq(f"{d['id']}: query-block cache.direct",
             ins.get("cache", {}).get("direct"), True)

    for c in ctrls:
        path = f"/machine/peripheral/{c['id']}"
        want = "virtio-scsi-pci" if c["proto"] == "scsi" else "nvme"
        t.eq(f"{c['id']}: type", q.cmd("qom-get", path=path, property="type"),
             want)
        if c["proto"] == "nvme":
            t.eq(f"{c['id']}: serial",
                 q.cmd("qom-get", path=path, property="serial"),
                 nvme_serial(c["guid"]))

    for d in disks:
        path = f"/machine/peripheral/{d['id']}"
        bus = q.cmd("qom-get", path=path, property="parent_bus")
        if d["proto"] == "ide":
            t.ok(f"{d['id']}: on bus ide.{d['ch']}",
                 bus.endswith(bus_of(d)), f"parent_bus is {bus}")
        else:
            t.eq(f"{d['id']}: parent_bus", bus, bus_of(d))
        want = {"scsi": want_scsi, "nvme": want_nvme_ns,
                "ide": want_ide}[d["proto"]](d)
        check_props(q, t, d, want)

    q.cmd("quit")
    q.close()
    print(f"RESULT {t.passed} {t.failed}")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
