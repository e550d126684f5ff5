#!/usr/bin/python3
# Satellite consumes a catalog (RFC 9432) from a Knot primary.
#
#   Knot: cat.test. (the catalog, a plain zone file) + a.test. b.test. c.test. --NOTIFY, AXFR/IXFR--> satellited
#   satellited: [[catalog]] cat.test.; members without a group presigned, group "signed" live-signed
#
# Steps:
#   1  the catalog lists a.test. (no group) and b.test. (group signed):
#      satellited serves both, b.test. with DNSKEY and RRSIGs, a.test. unsigned;
#      c.test. (on Knot, not listed) is REFUSED
#   2  c.test. added to the catalog (zone reload + Knot's NOTIFY): served
#   3  malformed catalogs, each refused as a whole with a log line, the last
#      good members still served: version "1"; a member listed twice; a
#      member of a group with no template (d.test., not served)
#   4  a.test. removed from the catalog: REFUSED; its stored copy stays in
#      state_dir for member_grace, then is deleted (log line)
#   6  (before 5) IXFR out: a downstream Knot secondary of c.test. (pulling
#      from satellited) gets a change on the primary by IXFR, answered from
#      the differences satellited received (both logs say so)
#   7  (before 5) a second catalog cat2.test. lists c.test. (group "moved",
#      signed live): nothing changes until cat.test. gives c.test. a coo
#      property naming cat2.test., then c.test. moves and is signed
#   5  restart: b.test. and c.test. answer as soon as satellited listens, from
#      state_dir (its log), and Knot logs no transfer of them afterwards
#   8  a [[catalog]] block removed by SIGHUP: its members stop being served,
#      their files stay for member_grace; the block back within it serves
#      them again from state_dir (same keys, no transfer on Knot's log); the
#      block removed for longer than member_grace: files and member list deleted
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

try:
    import dns.message
    import dns.rcode
    import dns.rdatatype
except ImportError:
    sys.stderr.write("error: dnspython missing: run with /usr/bin/python3 (python3-dnspython)\n")
    sys.exit(2)

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import (cannot_run, CHECKS, HarnessError, LOOP, LogFile, StartFailure, add_sbin_to_path,  # noqa: E402
                     arg_parser, ask, check, check_config, finish_workdir, free_port, interrupt_on_sigterm,
                     record_abort, skip_reason, spawn, stop_all, stop_proc, wait_until)

CATALOG = "cat.test."
CATALOG2 = "cat2.test."
MEMBERS = ("a.test.", "b.test.", "c.test.", "d.test.")
GRACE_S = 6


def esc(s):
    return re.escape(s.rstrip("."))


def member_text(zone, serial):
    return (f"$ORIGIN {zone}\n$TTL 300\n@ IN SOA ns1 hostmaster {serial} 3600 600 86400 60\n"
            f"@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\n")


def catalog_text(serial, members, version="2", origin=CATALOG):
    """members: [(id, zone, group or None[, coo])]"""
    out = [f"$ORIGIN {origin}", "$TTL 0", f"@ IN SOA invalid. invalid. {serial} 3600 600 2147483646 0",
           "@ IN NS invalid.", f'version IN TXT "{version}"']
    for mid, zone, group, *coo in members:
        out.append(f"{mid}.zones IN PTR {zone}")
        if group:
            out.append(f'group.{mid}.zones IN TXT "{group}"')
        if coo:
            out.append(f"coo.{mid}.zones IN PTR {coo[0]}")
    return "\n".join(out) + "\n"


def soa(port, zone):
    r = ask(port, zone, "SOA", do=True)
    return r


def rcode_of(port, zone):
    r = ask(port, zone, "SOA", do=False)
    return None if r is None else r.rcode()


def serial_of(port, zone):
    r = ask(port, zone, "SOA", do=False)
    if r is None or r.rcode() != dns.rcode.NOERROR:
        return None
    for rr in r.answer:
        if rr.rdtype == dns.rdatatype.SOA:
            return rr[0].serial
    return None


def signed(port, zone):
    r = ask(port, zone, "DNSKEY", do=True)
    if r is None or r.rcode() != dns.rcode.NOERROR:
        return False
    types = {rr.rdtype for rr in r.answer}
    return dns.rdatatype.DNSKEY in types and dns.rdatatype.RRSIG in types


class Knot:
    def __init__(self, workdir, sat_port):
        self.dir = os.path.join(workdir, "knot")
        os.makedirs(os.path.join(self.dir, "db"))
        self.port = free_port()
        self.conf = os.path.join(self.dir, "knot.conf")
        self.log = LogFile(os.path.join(self.dir, "knot.log"))
        self.sat_port = sat_port
        self.serial = 1

    def file(self, zone):
        return os.path.join(self.dir, zone.rstrip(".") + ".zone")

    def start(self, members):
        for z in MEMBERS:
            with open(self.file(z), "w") as f:
                f.write(member_text(z, 1))
        with open(self.file(CATALOG), "w") as f:
            f.write(catalog_text(self.serial, members))
        with open(self.file(CATALOG2), "w") as f:
            f.write(catalog_text(1, [], origin=CATALOG2))
        c = [f"server:\n    rundir: {self.dir}\n    listen: {LOOP}@{self.port}\n    background-workers: 1",
             f"log:\n  - target: {self.log.path}\n    any: info",
             f"database:\n    storage: {self.dir}/db",
             f"remote:\n  - id: sat\n    address: {LOOP}@{self.sat_port}",
             "acl:\n  - id: xfr\n    address: 127.0.0.0/8\n    action: transfer",
             "template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: difference\n"
             "    journal-content: changes\n    semantic-checks: off\n    acl: xfr\n    notify: sat",
             "zone:"]
        for z in (CATALOG, CATALOG2) + MEMBERS:
            c.append(f"  - domain: {z}\n    file: {self.file(z)}")
        with open(self.conf, "w") as f:
            f.write("\n".join(c) + "\n")
        spawn(["knotd", "-c", self.conf], os.path.join(self.dir, "knotd.out"))
        if not wait_until(lambda: all(serial_of(self.port, z) == 1 for z in (CATALOG,) + MEMBERS), 15):
            raise HarnessError(f"knotd does not serve the zones: {self.log.tail(20)}")

    def set_catalog(self, members, version="2", origin=CATALOG):
        self.serial += 1
        with open(self.file(origin), "w") as f:
            f.write(catalog_text(self.serial, members, version, origin))
        r = subprocess.run(["knotc", "-c", self.conf, "-t", "10", "zone-reload", origin],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise HarnessError(f"knotc zone-reload: {r.stdout}{r.stderr}")
        if not wait_until(lambda: serial_of(self.port, origin) == self.serial, 10):
            raise HarnessError(f"knotd did not load catalog serial {self.serial}")
        return self.serial

    def change(self, zone, serial):
        with open(self.file(zone), "w") as f:
            f.write(member_text(zone, serial) + f"new{serial} IN A 192.0.2.{serial}\n")
        r = subprocess.run(["knotc", "-c", self.conf, "-t", "10", "zone-reload", zone],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise HarnessError(f"knotc zone-reload: {r.stdout}{r.stderr}")

    def transfers(self, zone, since=0):
        return self.log.lines(rf"\[{esc(zone)}\.?\] (AXFR|IXFR), outgoing, remote [^,]+, started", since)


class Downstream:
    """A Knot secondary of c.test. pulling from satellited."""

    def __init__(self, workdir, sat_port):
        self.dir = os.path.join(workdir, "knot2")
        os.makedirs(os.path.join(self.dir, "db"))
        self.port = free_port()
        self.conf = os.path.join(self.dir, "knot.conf")
        self.log = LogFile(os.path.join(self.dir, "knot.log"))
        with open(self.conf, "w") as f:
            f.write(f"server:\n    rundir: {self.dir}\n    listen: {LOOP}@{self.port}\n    background-workers: 1\n"
                    f"log:\n  - target: {self.log.path}\n    any: info\n"
                    f"database:\n    storage: {self.dir}/db\n"
                    f"remote:\n  - id: sat\n    address: {LOOP}@{sat_port}\n"
                    f"zone:\n  - domain: c.test.\n    master: sat\n    file: {self.dir}/c.test.zone\n"
                    "    zonefile-sync: -1\n    journal-content: changes\n")

    def start(self):
        spawn(["knotd", "-c", self.conf], os.path.join(self.dir, "knotd.out"))

    def refresh(self):
        subprocess.run(["knotc", "-c", self.conf, "-t", "10", "zone-refresh", "c.test."],
                       capture_output=True, text=True, timeout=20)


class Satellited:
    def __init__(self, binary, workdir, port, knot_port):
        self.binary = binary
        self.dir = os.path.join(workdir, "sat")
        os.makedirs(self.dir)
        self.port = port
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "satellite.toml")
        self.log = LogFile(os.path.join(self.dir, "satellited.log"))
        self.proc = None
        self.knot_port = knot_port
        self.write_config()

    def write_config(self, catalogs=(CATALOG, CATALOG2)):
        """The config with the [[catalog]] blocks of `catalogs`."""
        port, knot_port = self.port, self.knot_port
        blocks = {CATALOG: f"""
[[catalog]]
name = "{CATALOG}"
primaries = ["{LOOP}:{knot_port}"]
member_grace = "{GRACE_S}s"
[catalog.group.signed]
mode = "live"
[catalog.group.signed.signing]
enabled = true
algorithm = 13
""", CATALOG2: f"""
[[catalog]]
name = "{CATALOG2}"
primaries = ["{LOOP}:{knot_port}"]
[catalog.group.moved]
mode = "live"
[catalog.group.moved.signing]
enabled = true
algorithm = 13
"""}
        with open(self.config, "w") as f:
            f.write(f"""[server]
listen = ["{LOOP}:{port}"]
threads = 1
state_dir = "{self.state}"
provide_xfr = ["127.0.0.0/8"]

[log]
level = "info"
""" + "".join(blocks[c] for c in catalogs))

    def reload(self, catalogs):
        """Rewrites the config with `catalogs` and sends SIGHUP; True once it is reloaded."""
        self.write_config(catalogs)
        mark = self.log.mark()
        self.proc.send_signal(signal.SIGHUP)
        return self.log.wait(r"reloaded ", since=mark, timeout=10)

    def start(self):
        mark = self.log.mark()
        self.proc = spawn([self.binary, "--config", self.config], self.log.path)
        if not wait_until(lambda: "listening on" in self.log.text(mark) or self.proc.poll() is not None, 30) \
                or self.proc.poll() is not None:
            raise StartFailure(f"satellited did not start: {self.log.tail(30, mark)}")
        return mark

    def stop(self):
        return stop_proc(self.proc, 15, report_kill=False)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stored(self, zone):
        return os.path.exists(os.path.join(self.state, "zones", zone.lower() + "zone"))


def main():
    ap = arg_parser("satellite consumes a catalog", HERE)
    args = ap.parse_args()
    add_sbin_to_path()
    binary = os.path.abspath(args.satellited)
    why = skip_reason(["knotd", "knotc"], binary)
    if why:
        return cannot_run(why)
    interrupt_on_sigterm()
    workdir = tempfile.mkdtemp(prefix="satellite-catalog-")
    print(f"work directory: {workdir}; satellited: {binary}", flush=True)
    t0 = time.monotonic()
    harness_error = False
    try:
        sat_port = free_port()
        knot = Knot(workdir, sat_port)
        sat = Satellited(binary, workdir, sat_port, knot.port)
        rc, out = check_config(binary, sat.config)
        if not check("0 --check-config accepts [[catalog]] with a group template", rc == 0, f"exit {rc}: {out}"):
            raise StartFailure("config refused")
        members = [("m1", "a.test.", None), ("m2", "b.test.", "signed")]
        knot.start(members)
        sat.start()

        print("--- 1: the listed members are served, per their group's template", flush=True)
        ok = wait_until(lambda: serial_of(sat.port, "a.test.") == 1 and signed(sat.port, "b.test."), 30)
        check("1 a.test. (no group) served", serial_of(sat.port, "a.test.") == 1, sat.log.tail(20))
        check("1 b.test. (group signed) served signed live (DNSKEY + RRSIG)", ok and signed(sat.port, "b.test."),
              sat.log.tail(20))
        check("1 a.test. (presigned template) served without DNSKEY", not signed(sat.port, "a.test."))
        check("1 Knot logged the members' transfers (what step 5 looks for)",
              knot.transfers("a.test.") and knot.transfers("b.test."), knot.log.tail(20))
        check("1 c.test. (not in the catalog) REFUSED", rcode_of(sat.port, "c.test.") == dns.rcode.REFUSED)
        check("1 the catalog's member list is kept in state_dir",
              os.path.exists(os.path.join(sat.state, "catalogs", "cat.test.members")))

        print("--- 2: a member added on the primary", flush=True)
        members.append(("m3", "c.test.", None))
        mark = sat.log.mark()
        knot.set_catalog(members)
        check("2 c.test. served after the catalog's NOTIFY", wait_until(lambda: serial_of(sat.port, "c.test.") == 1, 20),
              sat.log.tail(20, mark))
        check("2 satellited logged the member added", sat.log.find(r"zone c\.test\.: added by catalog cat\.test\.", mark))

        print("--- 6: IXFR out from the differences satellited received", flush=True)
        down = Downstream(workdir, sat_port)
        down.start()
        check("6 the downstream Knot transfers c.test. from satellited",
              wait_until(lambda: serial_of(down.port, "c.test.") == 1, 20), down.log.tail(10))
        mark, dmark = sat.log.mark(), down.log.mark()
        knot.change("c.test.", 2)
        check("6 satellited gets serial 2 of c.test. by IXFR from the primary",
              sat.log.wait(r"zone c\.test\.: serving serial 2 from 127", since=mark, timeout=20),
              sat.log.tail(10, mark))
        down.refresh()
        got = wait_until(lambda: serial_of(down.port, "c.test.") == 2, 20)
        check("6 the downstream serves serial 2 and its new record",
              got and ask(down.port, "new2.c.test.", "A", do=False).rcode() == dns.rcode.NOERROR, down.log.tail(10, dmark))
        lines = down.log.lines(r"\[c\.test\.\] [AI]XFR, incoming", dmark)
        check("6 the downstream's log says IXFR, with no AXFR",
              any("IXFR, incoming" in x and "finished" in x for x in lines) and
              not any("AXFR, incoming" in x or "fallback" in x for x in lines), "\n".join(lines))
        check("6 satellited answered incrementally",
              sat.log.find(r"zone c\.test\.?: IXFR to .* started, serial 2 \(incremental", mark), sat.log.tail(10, mark))

        print("--- 3: malformed catalogs are refused whole", flush=True)
        bad = [
            ("version 1", members, "1", r"schema version \"1\""),
            ("a member listed twice", members + [("m9", "A.test.", None)], "2", r"listed twice"),
            ("a group with no template", members + [("m4", "d.test.", "nosuch")], "2",
             r"no \[catalog\.group\.nosuch\] template"),
        ]
        for what, body, version, why in bad:
            mark = sat.log.mark()
            serial = knot.set_catalog(body, version)
            line = sat.log.wait(rf"catalog cat\.test\.?: serial {serial} refused: .*{why}", since=mark, timeout=20)
            check(f"3 {what}: refused with a log line", line, sat.log.tail(15, mark))
            check(f"3 {what}: the last good members still served",
                  all(serial_of(sat.port, z) for z in ("a.test.", "b.test.", "c.test.")))
            check(f"3 {what}: d.test. not served", rcode_of(sat.port, "d.test.") == dns.rcode.REFUSED)
        check("3 satellited still running", sat.alive())

        print("--- 4: a member removed on the primary", flush=True)
        members = [m for m in members if m[1] != "a.test."]
        mark = sat.log.mark()
        knot.set_catalog(members)
        gone = wait_until(lambda: rcode_of(sat.port, "a.test.") == dns.rcode.REFUSED, 20)
        check("4 a.test. REFUSED once removed", gone, sat.log.tail(15, mark))
        check("4 its stored copy is kept for the grace period", sat.stored("a.test."))
        check("4 the other members still served",
              serial_of(sat.port, "b.test.") == 1 and serial_of(sat.port, "c.test.") == 2)
        purged = sat.log.wait(r"zone a\.test\.: removed from its catalog longer than member_grace", since=mark,
                              timeout=GRACE_S + 15)
        check("4 after member_grace its files are deleted", purged and not sat.stored("a.test."), sat.log.tail(10, mark))

        print("--- 7: coo moves a member to the other catalog", flush=True)
        mark = sat.log.mark()
        knot.set_catalog([("x3", "c.test.", "moved")], origin=CATALOG2)
        check("7 a member another catalog owns is not taken without coo",
              sat.log.wait(r"catalog cat2\.test\.: serial \d+, 1 member zones", since=mark, timeout=20)
              and not signed(sat.port, "c.test.") and serial_of(sat.port, "c.test.") == 2, sat.log.tail(10, mark))
        members = [m if m[1] != "c.test." else m + (CATALOG2,) for m in members]
        mark = sat.log.mark()
        knot.set_catalog(members)
        moved = sat.log.wait(r"zone c\.test\.: moves from catalog cat\.test\.? to cat2\.test\.", since=mark, timeout=20)
        check("7 with coo on the old catalog, c.test. moves (log)", moved, sat.log.tail(10, mark))
        check("7 c.test. now has the new catalog's template: signed live, same data",
              wait_until(lambda: signed(sat.port, "c.test."), 20) and serial_of(sat.port, "c.test.") is not None,
              sat.log.tail(10, mark))

        print("--- 5: restart: members served from state_dir, not transferred again", flush=True)
        rc = sat.stop()
        check("5 satellited stopped cleanly", rc == 0, f"exit {rc}")
        kmark = knot.log.mark()
        mark = sat.start()
        check("5 b.test. and c.test. answer as soon as satellited listens",
              serial_of(sat.port, "b.test.") == 1 and serial_of(sat.port, "c.test.") is not None and signed(sat.port, "b.test."),
              sat.log.tail(20, mark))
        for z in ("b.test.", "c.test."):
            check(f"5 {z} served from state_dir (log)", sat.log.find(rf"zone {esc(z)}\.: serving serial \d+ from {re.escape(sat.state)}", mark),
                  sat.log.tail(20, mark))
        check("5 a.test. stays gone", rcode_of(sat.port, "a.test.") == dns.rcode.REFUSED)
        time.sleep(2)  # room for a transfer that should not happen (nothing waits on it)
        for z in ("b.test.", "c.test."):
            check(f"5 Knot logged no transfer of {z} after the restart", not knot.transfers(z, kmark),
                  knot.transfers(z, kmark))
            check(f"5 satellited logged no transfer of {z} after the restart",
                  not sat.log.find(rf"zone {esc(z)}\.: serving serial \d+ from {LOOP}", mark))
        check("5 c.test. still belongs to cat2.test. (signed)", signed(sat.port, "c.test."))
        mark = sat.log.mark()
        sat.proc.send_signal(signal.SIGHUP)
        check("5 SIGHUP reloads", sat.log.wait(r"reloaded ", since=mark, timeout=10), sat.log.tail(10, mark))
        check("5 after SIGHUP the members are served as before, none removed or added",
              serial_of(sat.port, "b.test.") == 1 and signed(sat.port, "c.test.")
              and not sat.log.find(r"zone [bc]\.test\.:? (removed|added)", mark), sat.log.tail(10, mark))
        check("5 satellited still running", sat.alive())

        print("--- 8: a [[catalog]] block removed and restored by SIGHUP", flush=True)
        members = [m for m in members if m[1] != "c.test."]  # c.test. is cat2.test.'s alone now
        mark = sat.log.mark()
        knot.set_catalog(members)
        check("8 cat.test. without c.test.: c.test. stays with cat2.test.",
              sat.log.wait(r"catalog cat\.test\.: serial \d+, 1 member zones", since=mark, timeout=20)
              and signed(sat.port, "c.test."), sat.log.tail(10, mark))
        keys = ask(sat.port, "c.test.", "DNSKEY", do=False)
        keys = sorted(rr.to_text() for rrset in (keys.answer if keys else []) for rr in rrset)
        kmark, mark = knot.log.mark(), sat.log.mark()
        check("8 SIGHUP without the cat2.test. block reloads", sat.reload((CATALOG,)), sat.log.tail(10, mark))
        check("8 c.test. (cat2.test.'s member) is REFUSED",
              wait_until(lambda: rcode_of(sat.port, "c.test.") == dns.rcode.REFUSED, 10), sat.log.tail(10, mark))
        check("8 its removal is logged with the grace period",
              sat.log.find(r"catalog cat2\.test\.? is no longer configured; .*kept for member_grace", mark)
              and sat.log.find(r"zone c\.test\.: no longer served after the reload \(catalog cat2\.test\.?\)", mark),
              sat.log.tail(10, mark))
        check("8 c.test.'s stored copy is kept", sat.stored("c.test."))
        check("8 b.test. (the other catalog's) still served", serial_of(sat.port, "b.test.") == 1)
        mark = sat.log.mark()
        check("8 SIGHUP with the cat2.test. block again reloads", sat.reload((CATALOG, CATALOG2)),
              sat.log.tail(10, mark))
        check("8 c.test. served again, from state_dir (log)",
              wait_until(lambda: serial_of(sat.port, "c.test.") is not None, 10)
              and sat.log.find(rf"zone c\.test\.: serving serial \d+ from {re.escape(sat.state)}", mark),
              sat.log.tail(10, mark))
        again = ask(sat.port, "c.test.", "DNSKEY", do=False)
        again = sorted(rr.to_text() for rrset in (again.answer if again else []) for rr in rrset)
        check("8 c.test. is signed with the same keys", keys and again == keys and signed(sat.port, "c.test."),
              f"{keys} -> {again}")
        time.sleep(2)  # room for a transfer that should not happen (nothing waits on it)
        check("8 Knot logged no transfer of c.test. after the block came back", not knot.transfers("c.test.", kmark),
              knot.transfers("c.test.", kmark))
        check("8 satellited logged no transfer of c.test.",
              not sat.log.find(rf"zone c\.test\.: serving serial \d+ from {LOOP}", mark))
        mark = sat.log.mark()
        check("8 SIGHUP without the cat.test. block (member_grace 6 s) reloads", sat.reload((CATALOG2,)),
              sat.log.tail(10, mark))
        check("8 b.test. is REFUSED, its stored copy kept for now",
              wait_until(lambda: rcode_of(sat.port, "b.test.") == dns.rcode.REFUSED, 10) and sat.stored("b.test."),
              sat.log.tail(10, mark))
        purged = sat.log.wait(r"zone b\.test\.: removed from its catalog longer than member_grace", since=mark,
                              timeout=GRACE_S + 15)
        check("8 after member_grace b.test.'s files are deleted", purged and not sat.stored("b.test."),
              sat.log.tail(10, mark))
        listed = sat.log.wait(r"catalog cat\.test\.: no longer configured for longer than member_grace", since=mark,
                              timeout=10)
        check("8 and cat.test.'s member list", listed and not os.path.exists(
            os.path.join(sat.state, "catalogs", "cat.test.members")), sat.log.tail(10, mark))
        check("8 c.test. still served", serial_of(sat.port, "c.test.") is not None)
        check("8 satellited still running", sat.alive())
    except (Exception, KeyboardInterrupt) as e:
        harness_error = record_abort(e, "0 satellited starts with a [[catalog]]")
    finally:
        stop_all()
        finish_workdir(workdir, t0, args.keep)
    CHECKS.print_failures()
    print(f"{CHECKS.passed} passed, {CHECKS.failed} failed")
    if harness_error:
        return 2
    return 0 if CHECKS.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
