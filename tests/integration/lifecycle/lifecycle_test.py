#!/usr/bin/python3
# The DNSSEC lifecycle of live zones end to end (DESIGN.md §4-§5, seed 003),
# against the real satellited over real sockets. Independent judges: a
# validating unbound below a parent zone that Knot signs (the "parent" whose DS
# set the test changes with knotc transactions, DS TTL 2 s, so resolver caches
# are real), dnspython checking every RRSIG satellited serves, and a unix
# datagram socket standing in for systemd's NOTIFY_SOCKET.
#
# Set-up (one satellited, one Knot, one unbound; all on 127.0.0.1):
#   Knot: test. (signed by Knot: the parent; trust anchor = its KSK's DS;
#         delegates lc.test. with NS + glue and the DS set the test
#         "publishes") and roll.test. (unsigned; satellited's primary)
#   satellited (NOTIFY_SOCKET set, [api] with an admin token and a reader token
#   holding only zone:read):
#     lc.test.    live file zone, SOA TTL 2, records TTL 2-4, SOA MINIMUM 2,
#                 propagation_delay 1s, parent_ds_ttl 2s: the full life (step 2)
#     api.test.   live file zone, same timings: the API contract (step 1)
#     roll.test.  live secondary from Knot, `enabled = true`, SOA TTL 6,
#                 records 6-8, propagation_delay 3s, parent_ds_ttl 4s: the
#                 restarts (step 3; windows long enough to restart in)
#     plain.test. presigned file zone (unsigned data): 404 for its dnssec, the
#                 stable zone of step 5
#     gone.test.  removed by a reload, chg.test. file changed by a reload,
#     new.test.   added by a reload (step 5)
#     auto.test.  live file zone, FAST timings, delegated from test. like
#                 lc.test.; parent_ds_check = [Knot], interval 1s (step 6)
#     sb.test.    like auto.test. (parent_ds_check = [Knot]) with
#                 standby_ksk = true (step 8)
#     down.test.  live file zone, FAST timings, `enabled = true`,
#                 parent_ds_check = [a port where nothing listens until step
#                 7 starts a stand-in parent there], interval 1s
#     forged.test. live file zone, FAST timings, `enabled = true`,
#                 parent_ds_check = [a stand-in parent], parent_trust_anchor =
#                 test.'s DS (step 9)
#   unbound: validating, trust anchor test. (Knot's KSK), stub-zones test. ->
#   Knot and lc.test., auto.test., sb.test. -> satellited; aggressive-nsec off.
#
# Steps (numbered in the output):
#   1  API contract: every endpoint of seed 003 (GET, enable, disable,
#      rotate-zsk, rotate-ksk, confirm-ds-published, sync) and DESIGN §5
#      (zones, zones/{zone}, refresh, confirm-ds-removed, metrics, healthz):
#      happy-path codes and the seed's body fields (DS digests recomputed from
#      the public keys), 401 without / with a wrong token, 403 with the
#      zone:read token (and no side effect), 404 unknown zone / presigned zone /
#      unknown endpoint, 409 for every invalid transition reachable in each
#      status, 400 for unsupported algorithms, bad bodies and non-matching DS;
#      satellitectl's exit codes
#   2  full life of lc.test. with a query loop (every 0.2 s: DO=1 queries via
#      unbound for www A, a fresh missing name (NXDOMAIN) and www TXT (NODATA);
#      the same plus DNSKEY directly to satellited, every RRSIG validated with
#      the DNSKEY set served just before or just after): enable -> the parent
#      publishes the DS -> confirm -> rotate-zsk (pre-publication: the new ZSK
#      is in DNSKEY but does not sign; then it signs while the old one stays
#      published; then the old one goes) -> rotate-ksk (reply = the new DS;
#      DNSKEY signed by both KSKs) -> parent has both DS -> confirm -> old KSK
#      gone -> parent drops the old DS -> disable (CDS 0 0 0 00, CDNSKEY
#      0 3 0 AA==) -> parent drops the DS -> confirm-ds-removed -> served
#      unsigned. Judged: no SERVFAIL and no timeout from unbound at all, AD on
#      every answer while the parent has our DS (after the caches of the
#      insecure answers expired), no AD once unsigned, every direct RRSIG
#      valid, no unsigned RRset while DNSKEY is served; the RFC 7583 waits
#      (new ZSK active >= DNSKEY TTL + delay after rotate, old ZSK removed >=
#      max TTL + delay later, new KSK active >= DS TTL + delay after confirm,
#      old KSK removed >= DNSKEY TTL + delay later)
#   3  restarts of satellited (SIGTERM, exit 0, start on the same state_dir)
#      during roll.test.'s rollovers: new ZSK published; old ZSK retiring;
#      after rotate-ksk (before confirm); after confirm (new KSK ds_publish);
#      old KSK retiring. Each time the GET body is identical before and after
#      and the served DNSKEY set is the same; each roll then completes by
#      itself
#   4  systemd notify: READY=1 with STATUS= at start (and the DNS port answers
#      then), RELOADING=1 then READY=1 on each SIGHUP, STOPPING=1 on SIGTERM
#   5  SIGHUP reloads under load (2 threads of direct UDP queries for ~20 s to
#      the stable zones plain.test. and roll.test.): add new.test., remove
#      gone.test., point chg.test. at another file, a no-op reload, a broken
#      config (refused, the running config kept): no failed or timed-out
#      query; new.test. answers, gone.test. is REFUSED, chg.test. serves the
#      new file; roll.test.'s DNSSEC state unchanged
#   6  parent_ds_check (DESIGN §5 "Beyond the seed") on auto.test., with the
#      query loop of step 2 on that zone and never a confirm-ds-* call: enable
#      -> stays pending_ds for 3 intervals while the parent has no DS -> the
#      parent publishes the DS -> active by itself (logged "parent DS check:
#      DS publication confirmed") -> rotate-ksk -> the new KSK stays ds_submit
#      while the parent has only the old DS -> the parent adds the new DS ->
#      ds_publish by itself, active after DS TTL + delay, old KSK retired and
#      removed -> the parent drops the old DS -> disable -> stays
#      pending_disabled while the parent has our DS -> the parent drops it ->
#      "DS removal confirmed", disabled, served unsigned no sooner than DS TTL
#      + delay later. Judged like step 2 (no SERVFAIL/timeout, AD while the
#      parent has our DS, no AD once unsigned, every RRSIG valid)
#   7  a parent that fails (down.test., `enabled = true`): at a closed port
#      "parent DS check failed" is logged, the zone stays pending_ds and the
#      daemon serves; then a stand-in parent (TCP) on that port answers
#      SERVFAIL and REFUSED (logged again, still pending_ds), NODATA and a DS
#      set without ours (still pending_ds, asked every interval), our DS
#      (active by itself), and after disable NXDOMAIN (disabled by itself);
#      once disabled it is no longer asked
#   8  standby KSK (DESIGN §4; OpenDNSSEC's ds_submit / ds_publish / ds_ready /
#      key_publish) on sb.test., parent_ds_check = Knot, query loop as in step
#      2, never a confirm-ds-* call: enable -> the parent publishes the DS ->
#      active -> a standby KSK appears (ds_submit, standby: true): in CDS and
#      CDNSKEY, not in DNSKEY; it stays ds_submit while the parent lacks its DS
#      -> the parent adds it -> ds_publish by itself -> ds_ready no sooner
#      than DS TTL + delay later, status active throughout, DNSKEY unchanged
#      -> rotate-ksk: the reply's new key is the standby, its DS the one
#      already at the parent; key_publish: its DNSKEY served and signing
#      beside the old KSK -> active no sooner than DNSKEY TTL + delay later,
#      with the parent's DS set untouched; the old KSK retires and goes ->
#      the next standby appears in ds_submit, in CDS. Judged like step 2
#   9  parent_trust_anchor (DESIGN §5 "validated when a trust anchor is
#      configured") on forged.test.: a stand-in parent relays DNSKEY queries
#      to Knot and answers the DS itself. Our true DS unsigned: refused
#      ("does not validate"), stays pending_ds; Knot's signed NODATA relayed:
#      validates, still pending_ds; Knot publishes the DS: active by itself;
#      disable, an unsigned NXDOMAIN: stays pending_disabled; Knot's signed
#      DS relayed: stays; Knot drops the DS (NSEC proof relayed): removal
#      confirmed, disabled. (auto.test. of step 6 also has the anchor.)
#
# Run through run.sh. Exit 0 when no check failed (1 otherwise, 77 a peer
# binary missing); the last line is `N passed, M failed`.
import base64
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

try:
    import dns.dnssec
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset
except ImportError:
    sys.stderr.write("error: dnspython missing: run with /usr/bin/python3 (python3-dnspython)\n")
    sys.exit(77)

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import harness  # noqa: E402
from harness import (CHECKS, HarnessError, LOOP, LogFile, N, StartFailure, add_sbin_to_path, arg_parser,  # noqa: E402
                     ask, check, ds_body, finish_workdir, free_port, info, interrupt_on_sigterm, key_by_tag,
                     key_summary, keys_of, record_abort, recv_exact, rrsets, show, sig_tags, skip, skip_reason, spawn,
                     spawn_unbound, stop_all, stop_proc, stub_zone, tags_of, unbound_conf, wait_until)
from harness import expect_http as expect  # noqa: E402

VERBOSE = False
T = dns.rdatatype

ADMIN, READER = "admin-7f3c9e", "reader-41d2aa"
PERMS_ALL = ["zone:read", "zone:refresh", "dnssec:read", "dnssec:enable", "dnssec:disable", "dnssec:rotate",
             "dnssec:peer-keys"]

LC, API_ZONE, ROLL, PLAIN = "lc.test.", "api.test.", "roll.test.", "plain.test."
GONE, CHG, NEW = "gone.test.", "chg.test.", "new.test."
# Step 6/7: zones whose DS at the parent satellited checks itself (parent_ds_check).
AUTO, DOWN = "auto.test.", "down.test."
# Step 8: a zone with a standby KSK, its DS checked at Knot like auto.test.
SB = "sb.test."
# Step 9: a zone whose parent_ds_check validates from test.'s trust anchor.
FORGED = "forged.test."
CHECK_INTERVAL = 1  # s: their parent_ds_check_interval
# Compressed timings (lc.test., api.test.): DNSKEY TTL = SOA TTL = 2, max TTL 4.
FAST = dict(soa_ttl=2, max_ttl=4, delay=1, ds_ttl=2)
# roll.test.: windows long enough for a restart in the middle of each state.
SLOW = dict(soa_ttl=6, max_ttl=8, delay=3, ds_ttl=4)
SETTLE = 6.0  # s: caches of insecure answers (TTL <= 4) gone after the parent's DS appeared


# --------------------------------------------------------------- queries ----
def served_dnskey(port, zone):
    """The DNSKEY RRset satellited serves (None: none, or no answer)."""
    r = ask(port, zone, "DNSKEY")
    if r is None or r.rcode() != dns.rcode.NOERROR:
        return None
    s = rrsets(r, "answer", T.DNSKEY)
    return s[0] if s else None


def rrsig_problems(r, zone, dnskey):
    """(number of RRSIGs checked, problems): every answer/authority RRSIG
    validates with `dnskey`; an RRset without RRSIG is a problem when the zone
    serves DNSKEYs (returned separately so the caller can re-check)."""
    probs, unsigned, n = [], [], 0
    keys = {N(zone): dnskey} if dnskey is not None else {}
    for sec in ("answer", "authority"):
        rrs = getattr(r, sec)
        for rr in rrs:
            if rr.rdtype == T.RRSIG:
                target = [x for x in rrs if x.rdtype == rr.covers and x.name == rr.name]
                if not target:
                    probs.append(f"{sec}: RRSIG({T.to_text(rr.covers)}) at {rr.name} covers no RRset")
                    continue
                for sig in rr:
                    n += 1
                    try:
                        dns.dnssec.validate_rrsig(target[0], sig, keys)
                    except dns.dnssec.ValidationFailure as e:
                        probs.append(f"{sec}: {rr.name} RRSIG({T.to_text(rr.covers)}) by tag {sig.key_tag} "
                                     f"does not validate with DNSKEY tags {sorted(tags_of(dnskey))} ({e})")
            elif not any(x.rdtype == T.RRSIG and x.covers == rr.rdtype and x.name == rr.name for x in rrs):
                unsigned.append(f"{sec}: {rr.name} {T.to_text(rr.rdtype)} has no RRSIG")
    return n, probs, unsigned


# ------------------------------------------------------------------- API ----
class Api(harness.Api):
    token = ADMIN
    repr_limit = 600


def ds_text(d):
    return f"{d['key_tag']} {d['algorithm']} {d['digest_type']} {d['digest']}"


GET_FIELDS = {"enabled", "status", "modified_on", "algorithm", "ksk", "zsk", "ds_records"}
KEY_FIELDS = {"key_tag", "algorithm", "public_key", "key_type", "created_at", "expires_at", "active"}
DS_FIELDS = {"key_tag", "algorithm", "digest_type", "digest"}
ZONE_FIELDS = {"name", "kind", "mode", "serial", "serving", "source", "last_success", "last_failure", "last_error",
               "next_refresh", "expires_at", "dnssec_status"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def key_problems(k, want_type=None):
    p = []
    if not isinstance(k, dict):
        return [f"key is {k!r}"]
    miss = KEY_FIELDS - set(k)
    if miss:
        p.append(f"key lacks {sorted(miss)}")
    if want_type and k.get("key_type") != want_type:
        p.append(f"key_type {k.get('key_type')!r}, want {want_type}")
    if k.get("created_at") is not None and not RFC3339.match(str(k.get("created_at"))):
        p.append(f"created_at {k.get('created_at')!r} is not RFC 3339")
    try:
        flags = 257 if k.get("key_type") == "KSK" else 256
        rd = dns.rdata.from_text("IN", "DNSKEY", f"{flags} 3 {k['algorithm']} {k['public_key']}")
        if dns.dnssec.key_id(rd) != k.get("key_tag"):
            p.append(f"key_tag {k.get('key_tag')} but the public key's tag is {dns.dnssec.key_id(rd)}")
    except Exception as e:
        p.append(f"public_key/algorithm do not make a DNSKEY: {e!r}")
    return p


def dnskey_rdata(k):
    flags = 257 if k.get("key_type") == "KSK" else 256
    return dns.rdata.from_text("IN", "DNSKEY", f"{flags} 3 {k['algorithm']} {k['public_key']}")


def ds_problems(zone, ds_list, ksks):
    """Each DS has the seed's fields, digest type 2 and the SHA-256 digest of one of `ksks`."""
    p = []
    by_tag = {k.get("key_tag"): k for k in ksks}
    for d in ds_list or []:
        miss = DS_FIELDS - set(d)
        if miss:
            p.append(f"DS lacks {sorted(miss)}")
            continue
        if d["digest_type"] != 2:
            p.append(f"DS {d['key_tag']} digest_type {d['digest_type']}, want 2")
        k = by_tag.get(d["key_tag"])
        if k is None:
            p.append(f"DS {d['key_tag']}: no KSK with that tag in {sorted(by_tag)}")
            continue
        want = dns.dnssec.make_ds(zone, dnskey_rdata(k), "SHA256")
        if d["digest"].upper() != want.digest.hex().upper() or d["algorithm"] != want.algorithm:
            p.append(f"DS {ds_text(d)} is not the SHA-256 DS of KSK {d['key_tag']} ({want.to_text()})")
    return p


def get_problems(zone, g):
    if not isinstance(g, dict):
        return [f"body is not an object: {g!r}"]
    p = []
    miss = GET_FIELDS - set(g)
    if miss:
        p.append(f"lacks {sorted(miss)}")
        return p
    for k in g["ksk"]:
        p += key_problems(k, "KSK")
    for k in g["zsk"]:
        p += key_problems(k, "ZSK")
    p += ds_problems(zone, g["ds_records"], g["ksk"])
    return p


# --------------------------------------------------------------- servers ----
def zone_text(zone, soa_ttl, max_ttl, www="192.0.2.10", serial=1):
    mid = (soa_ttl + max_ttl) // 2
    return (f"$ORIGIN {zone}\n"
            f"@        {soa_ttl} SOA ns1 hostmaster {serial} 3600 600 86400 {soa_ttl}\n"
            f"@        {mid} NS ns1\n"
            f"ns1      {mid} A 127.0.0.1\n"
            f"www      {max_ttl} A {www}\n"
            f"www      {max_ttl} AAAA 2001:db8::10\n"
            f"mail     {soa_ttl} A 192.0.2.25\n"
            f'@        {mid} TXT "apex of {zone}"\n')


class Knot:
    """The parent test. (signed by Knot) and roll.test.'s primary (unsigned)."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "knot")
        os.makedirs(os.path.join(self.dir, "db"))
        self.port = free_port()
        self.conf = os.path.join(self.dir, "knot.conf")
        self.log = LogFile(os.path.join(self.dir, "knot.log"))
        self.proc = None
        self.ds = {}  # label under test. (lc, auto) -> the DS set there (text lines)
        self.anchor = None

    def start(self):
        with open(os.path.join(self.dir, "test.zone"), "w") as f:
            f.write("$ORIGIN test.\n"
                    "@        2 SOA ns hostmaster 1 3600 600 86400 2\n"
                    "@        2 NS ns\n"
                    "ns       2 A 127.0.0.1\n"
                    "lc       2 NS ns1.lc\n"
                    "ns1.lc   2 A 127.0.0.1\n"
                    "auto     2 NS ns1.auto\n"
                    "ns1.auto 2 A 127.0.0.1\n"
                    "sb       2 NS ns1.sb\n"
                    "ns1.sb   2 A 127.0.0.1\n"
                    "forged   2 NS ns1.forged\n"
                    "ns1.forged 2 A 127.0.0.1\n")
        with open(os.path.join(self.dir, "roll.test.zone"), "w") as f:
            f.write(zone_text(ROLL, SLOW["soa_ttl"], SLOW["max_ttl"]))
        c = [f"server:\n    rundir: {self.dir}\n    listen: {LOOP}@{self.port}\n    background-workers: 1",
             f"log:\n  - target: {self.log.path}\n    any: info",
             f"database:\n    storage: {self.dir}/db",
             "policy:\n  - id: parent\n    algorithm: ecdsap256sha256\n    ksk-lifetime: 0\n    zsk-lifetime: 0",
             "acl:\n  - id: xfr\n    address: 127.0.0.0/8\n    action: transfer",
             "template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: whole\n"
             "    journal-content: changes\n    semantic-checks: off\n    acl: xfr",
             "zone:",
             f"  - domain: test.\n    file: {self.dir}/test.zone\n    dnssec-signing: on\n    dnssec-policy: parent",
             f"  - domain: {ROLL}\n    file: {self.dir}/roll.test.zone"]
        with open(self.conf, "w") as f:
            f.write("\n".join(c) + "\n")
        self.proc = spawn(["knotd", "-c", self.conf], os.path.join(self.dir, "knotd.out"))

        def ready():
            k = ask(self.port, "test.", "DNSKEY")
            s = ask(self.port, ROLL, "SOA", do=False)
            return k is not None and rrsets(k, "answer", T.DNSKEY) and s is not None and s.answer
        if not wait_until(ready, 20):
            raise HarnessError(f"knotd does not serve test. (signed) and {ROLL}: {self.log.tail(20)}")
        dk = rrsets(ask(self.port, "test.", "DNSKEY"), "answer", T.DNSKEY)[0]
        ksks = [rd for rd in dk if rd.flags & 1]
        if not ksks:
            raise HarnessError(f"Knot's test. has no KSK: {dk}")
        self.anchor = dns.dnssec.make_ds("test.", ksks[0], "SHA256").to_text()

    def knotc(self, *args):
        r = subprocess.run(["knotc", "-c", self.conf, "-t", "10"] + list(args), capture_output=True, text=True,
                           timeout=30)
        return r.returncode, (r.stdout + r.stderr).strip()

    def served_ds(self, label="lc"):
        r = ask(self.port, f"{label}.test.", "DS", do=False)
        if r is None:
            return None
        return sorted(rd.to_text().upper() for rr in rrsets(r, "answer", T.DS) for rd in rr)

    def set_ds(self, ds_lines, label="lc"):
        """The parent's DS set for {label}.test. becomes `ds_lines` ("tag alg type HEX")."""
        rc, out = self.knotc("zone-begin", "test.")
        if rc != 0:
            raise HarnessError(f"knotc zone-begin: {out}")
        try:
            if self.ds.get(label):
                rc, out = self.knotc("zone-unset", "test.", label, "DS")
                if rc != 0:
                    raise HarnessError(f"knotc zone-unset {label} DS: {out}")
            for line in ds_lines:
                rc, out = self.knotc("zone-set", "test.", label, "2", "DS", *line.split())
                if rc != 0:
                    raise HarnessError(f"knotc zone-set {label} DS {line}: {out}")
            rc, out = self.knotc("zone-commit", "test.")
            if rc != 0:
                raise HarnessError(f"knotc zone-commit: {out}")
        except HarnessError:
            self.knotc("zone-abort", "test.")
            raise
        self.ds[label] = list(ds_lines)
        want = sorted(l.upper() for l in ds_lines)
        if not wait_until(lambda: self.served_ds(label) == want, 10):
            raise HarnessError(f"Knot serves DS {self.served_ds(label)} at {label}.test., want {want}")

    def stop(self):
        stop_proc(self.proc)


class Unbound:
    def __init__(self, workdir, anchor, knot_port, sat_port):
        self.dir = os.path.join(workdir, "unbound")
        os.makedirs(self.dir)
        self.port = free_port()
        self.log = LogFile(os.path.join(self.dir, "unbound.log"))
        self.anchor, self.knot_port, self.sat_port = anchor, knot_port, sat_port
        self.proc = None

    def start(self):
        lines = unbound_conf(self.dir, self.port, self.log.path, trust_anchor=f"test. DS {self.anchor}",
                             extra=["    prefetch: no", "    serve-expired: no", "    trust-anchor-signaling: no"])
        lines += (stub_zone("test.", f"{LOOP}@{self.knot_port}") + stub_zone(LC, f"{LOOP}@{self.sat_port}")
                  + stub_zone(AUTO, f"{LOOP}@{self.sat_port}") + stub_zone(SB, f"{LOOP}@{self.sat_port}"))
        self.proc = spawn_unbound(self.dir, lines)

        def up():
            r = ask(self.port, "test.", "SOA", rd=True, timeout=1)
            return (r is not None and r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AD) or \
                self.proc.poll() is not None
        if not wait_until(up, 15) or self.proc.poll() is not None:
            raise HarnessError(f"unbound did not start / does not validate test.: {self.log.tail(20)}"
                               f"{LogFile(os.path.join(self.dir, 'unbound.out')).tail(10)}")

    def stop(self):
        stop_proc(self.proc)


class Notify(threading.Thread):
    """systemd's side of sd_notify(3): a unix datagram socket; each datagram is
    kept with the sender's pid (SO_PASSCRED)."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.2)
        self.msgs = []  # (monotonic time, pid, {key: value}, raw text)
        self.lock = threading.Lock()
        self.stopping = False

    def run(self):
        while not self.stopping:
            try:
                data, anc, _flags, _addr = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            except OSError:
                break
            pid = None
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS and len(cdata) >= 12:
                    pid = struct.unpack("iII", cdata[:12])[0]
            text = data.decode("utf-8", "replace")
            fields = {}
            for line in text.split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    fields[k] = v
            with self.lock:
                self.msgs.append((time.monotonic(), pid, fields, text))

    def mark(self):
        with self.lock:
            return len(self.msgs)

    def since(self, mark, pid=None):
        with self.lock:
            return [m for m in self.msgs[mark:] if pid is None or m[1] == pid]

    def wait(self, mark, key, pid=None, timeout=15, after=None):
        """The first message since `mark` (from `pid`) with `key`=1, or None."""
        def find():
            for i, m in enumerate(self.since(mark, pid)):
                if after is not None and i <= after:
                    continue
                if m[2].get(key) == "1":
                    return (i, m)
            return None
        return wait_until(find, timeout, interval=0.05)

    def stop(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass


class Satellited:
    def __init__(self, binary, workdir, knot_port, notify_path):
        self.binary = binary
        self.dir = os.path.join(workdir, "sat")
        os.makedirs(os.path.join(self.dir, "zones"))
        self.port = free_port()
        self.api_port = free_port()
        self.api = Api(self.api_port)
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "satellite.toml")
        self.log = LogFile(os.path.join(self.dir, "satellited.log"))
        self.knot_port = knot_port
        self.notify_path = notify_path
        self.proc = None
        self.zones = [LC, API_ZONE, ROLL, PLAIN, GONE, CHG, AUTO, DOWN, SB, FORGED]
        self.parent_anchor = None  # test.'s DS, set once Knot runs
        self.forged_parent_port = free_port()
        # down.test.'s parent_ds_check: nothing listens there until step 7.
        self.fake_parent_port = free_port()
        self.files = {}
        for z, text in ((LC, zone_text(LC, FAST["soa_ttl"], FAST["max_ttl"])),
                        (AUTO, zone_text(AUTO, FAST["soa_ttl"], FAST["max_ttl"])),
                        (DOWN, zone_text(DOWN, FAST["soa_ttl"], FAST["max_ttl"])),
                        (SB, zone_text(SB, FAST["soa_ttl"], FAST["max_ttl"])),
                        (FORGED, zone_text(FORGED, FAST["soa_ttl"], FAST["max_ttl"])),
                        (API_ZONE, zone_text(API_ZONE, FAST["soa_ttl"], FAST["max_ttl"])),
                        (PLAIN, zone_text(PLAIN, 30, 60)), (GONE, zone_text(GONE, 30, 60)),
                        (NEW, zone_text(NEW, 30, 60)), (CHG, zone_text(CHG, 30, 60, www="192.0.2.1")),
                        ("chg2.test.", zone_text(CHG, 30, 60, www="192.0.2.2", serial=2))):
            path = os.path.join(self.dir, "zones", z.rstrip(".") + ".zone")
            with open(path, "w") as f:
                f.write(text)
            self.files[z] = path
        self.chg_file = self.files[CHG]

    def config_text(self, broken=False):
        out = ["[server]", f'listen = ["{LOOP}:{self.port}"]', "threads = 2", f'state_dir = "{self.state}"', "",
               "[api]", f'listen = "{LOOP}:{self.api_port}"',
               "[[api.token]]", 'name = "admin"', f'secret = "{ADMIN}"',
               "permissions = [" + ", ".join(f'"{p}"' for p in PERMS_ALL) + "]",
               "[[api.token]]", 'name = "reader"', f'secret = "{READER}"', 'permissions = ["zone:read"]', "",
               "[log]", 'level = "info"', ""]
        for z in self.zones:
            out += ["[[zone]]", f'name = "{z}"']
            if z == ROLL:
                out += [f'primaries = ["{LOOP}:{self.knot_port}"]', 'mode = "live"', "[zone.signing]",
                        "enabled = true", f'propagation_delay = "{SLOW["delay"]}s"',
                        f'parent_ds_ttl = "{SLOW["ds_ttl"]}s"', 'signature_validity = "1h"',
                        'signature_refresh = "30m"']
            elif z in (LC, API_ZONE, AUTO, DOWN, SB, FORGED):
                out += [f'file = "{self.files[z]}"', 'mode = "live"']
                if z in (AUTO, DOWN, SB, FORGED):
                    parent = {DOWN: self.fake_parent_port, FORGED: self.forged_parent_port}.get(z, self.knot_port)
                    out += [f'parent_ds_check = ["{LOOP}:{parent}"]',
                            f'parent_ds_check_interval = "{CHECK_INTERVAL}s"']
                if z in (AUTO, FORGED):
                    out += [f'parent_trust_anchor = ["test. DS {self.parent_anchor}"]']
                out += ["[zone.signing]"] + (["enabled = true"] if z in (DOWN, FORGED) else [])
                out += ["standby_ksk = true"] if z == SB else []
                out += [f'propagation_delay = "{FAST["delay"]}s"', f'parent_ds_ttl = "{FAST["ds_ttl"]}s"',
                        'signature_validity = "1h"', 'signature_refresh = "30m"']
            else:
                out.append(f'file = "{self.chg_file if z == CHG else self.files[z]}"')
            out.append("")
        if broken:
            out.append("[[zone]]\nname = \"broken.test.\"\nfile = \n")
        return "\n".join(out)

    def write_config(self, broken=False):
        with open(self.config, "w") as f:
            f.write(self.config_text(broken))

    def start(self, notify):
        """Starts satellited; returns (log mark, READY=1 message or None)."""
        mark = self.log.mark()
        nmark = notify.mark()
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path)
        self.proc = spawn([self.binary, "--config", self.config], self.log.path, env=env)
        ready = notify.wait(nmark, "READY", pid=self.proc.pid, timeout=20)
        # The contract: READY=1 once zones from disk are loaded and sockets bound.
        answered = None
        if ready:
            r = ask(self.port, PLAIN, "SOA", do=False, timeout=1)
            answered = r is not None and r.rcode() == dns.rcode.NOERROR
        ok = wait_until(lambda: ("listening on" in self.log.text(mark) and
                                 self.api.call("GET", "/healthz", None).status == 200)
                        or self.proc.poll() is not None, 20)
        if not ok or self.proc.poll() is not None:
            raise StartFailure(f"satellited did not start: {self.log.tail(30, mark)}")
        return mark, ready, answered, nmark

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        return stop_proc(self.proc)


# ================================================================ step 1 ====
def wait_state(api, zone, pred, timeout):
    """Polls GET until pred(body) holds; the last body."""
    last = [None]

    def f():
        last[0] = api.status(zone)
        return last[0] is not None and pred(last[0])
    wait_until(f, timeout, interval=0.2)
    return last[0]


def wait_ds_submit(api, zone, tag, timeout):
    """Issue 15: a double-KSK roll publishes the new KSK's DNSKEY at once; its
    DS may go to the parent (CDS, confirm-ds-published) only from
    publish_after, DNSKEY TTL + propagation delay later. Polls GET until the
    new KSK is ds_submit; the last body."""
    return wait_state(api, zone, lambda s: (key_by_tag(s, tag) or {}).get("state") == "ds_submit", timeout)


def only_states(g, kind, states):
    """The keys of `kind` have exactly these (tag -> state) pairs."""
    return {k["key_tag"]: k.get("state") for k in keys_of(g, kind)} == states


def invalid_transitions(api, zone, status, actions, valid_ds):
    """Each action is refused with 409 in `status` and changes nothing."""
    before = api.status(zone)
    for a in actions:
        body = None
        if a == "confirm-ds-published":
            body = ds_body(valid_ds) if valid_ds else {"ds_records": [
                {"key_tag": 1, "algorithm": 13, "digest_type": 2, "digest": "00" * 32}]}
        if a == "enable":
            body = {}
        r = api.post(zone, a, body)
        expect(f"1 [{zone}] {a} while {status}: 409", r, 409)
    after = api.status(zone)
    check(f"1 [{zone}] the refused calls while {status} changed nothing",
          before is not None and after is not None and strip_times(before) == strip_times(after),
          f"before {key_summary(before)}; after {key_summary(after)}")


def strip_times(g):
    return json.dumps({k: v for k, v in g.items()}, sort_keys=True)


def step_api(sat, ctl):
    api = sat.api
    z = API_ZONE
    zid = z.rstrip(".")
    # --- healthz, metrics, zones
    r = api.call("GET", "/healthz", None)
    expect("1 GET /healthz without a token: 200", r, 200)
    check("1 /healthz body {\"status\": \"ok\"}", isinstance(r.json, dict) and r.json.get("status") == "ok", repr(r))
    r = api.call("GET", "/metrics", READER)
    expect("1 GET /metrics (zone:read): 200", r, 200)
    ct = r.headers.get("content-type", "")
    check("1 /metrics is Prometheus text (text/plain; version=0.0.4)", ct.startswith("text/plain"), ct)
    bad = [l for l in r.text.splitlines() if l and not l.startswith("#")
           and not re.match(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.eE+-]+$', l)]
    check("1 /metrics: every sample line is `name{labels} value`", r.status == 200 and not bad, f"bad lines {bad[:5]}")
    check(f'1 /metrics has satellite_zone_serial{{zone="{PLAIN}"}} 1',
          f'satellite_zone_serial{{zone="{PLAIN}"}} 1' in r.text, r.text[:1500])
    r = api.call("GET", "/api/v1/zones", READER)
    expect("1 GET /api/v1/zones (zone:read): 200", r, 200)
    zl = r.json if isinstance(r.json, list) else []
    names = sorted(x.get("name") for x in zl if isinstance(x, dict))
    check("1 /api/v1/zones lists every configured zone", names == sorted(sat.zones), f"{names}")
    miss = [f"{x.get('name')}: {sorted(ZONE_FIELDS - set(x))}" for x in zl if ZONE_FIELDS - set(x)]
    check("1 /api/v1/zones entries have name kind mode serial serving source last_success last_failure "
          "last_error next_refresh expires_at dnssec_status", zl and not miss, "; ".join(miss))
    byname = {x.get("name"): x for x in zl if isinstance(x, dict)}
    want = {z: ("file", "live", "disabled"), ROLL: ("secondary", "live", "pending_ds"),
            PLAIN: ("file", "presigned", None)}
    for name, (kind, mode, ds) in want.items():
        x = byname.get(name, {})
        check(f"1 /api/v1/zones {name}: kind {kind}, mode {mode}, dnssec_status {ds}, serving, serial 1",
              (x.get("kind"), x.get("mode"), x.get("dnssec_status"), x.get("serving"), x.get("serial"))
              == (kind, mode, ds, True, 1), f"{x}")
    for path in (f"/api/v1/zones/{zid}", f"/api/v1/zones/{z}"):
        r = api.call("GET", path, READER)
        expect(f"1 GET {path}: 200", r, 200, ZONE_FIELDS)
        check(f"1 GET {path}: name {z}", isinstance(r.json, dict) and r.json.get("name") == z, repr(r))
    r = api.call("GET", "/api/v1/zones/nosuch.test", READER)
    expect("1 GET /api/v1/zones/nosuch.test: 404", r, 404)
    # refresh
    before = byname.get(ROLL, {}).get("last_success")
    time.sleep(1.1)  # last_success has a resolution of one second
    t_req = time.time()
    r = api.call("POST", f"/api/v1/zones/{ROLL.rstrip('.')}/refresh", ADMIN)
    expect(f"1 POST /api/v1/zones/{ROLL.rstrip('.')}/refresh: 200/202", r, (200, 202))

    def refreshed():
        x = api.call("GET", f"/api/v1/zones/{ROLL.rstrip('.')}", READER).json or {}
        ls = x.get("last_success")
        return ls if ls and ls != before else None
    ls = wait_until(refreshed, 10)
    check(f"1 refresh of {ROLL}: last_success moves (SOA check done)", ls and
          time.mktime(time.strptime(ls, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone >= int(t_req) - 1,
          f"last_success before {before}, after {ls}")
    r = api.call("POST", f"/api/v1/zones/{PLAIN.rstrip('.')}/refresh", ADMIN)
    expect(f"1 POST refresh of the file zone {PLAIN}: 409", r, 409)
    r = api.call("POST", "/api/v1/zones/nosuch.test/refresh", ADMIN)
    expect("1 POST refresh of an unknown zone: 404", r, 404)

    # --- 401 / 403 / 404
    guarded = [("GET", "/api/v1/zones"), ("GET", f"/api/v1/zones/{zid}"), ("GET", "/metrics"),
               ("POST", f"/api/v1/zones/{ROLL.rstrip('.')}/refresh"), ("GET", api.dpath(z))] + \
              [("POST", api.dpath(z, a)) for a in ("enable", "disable", "rotate-zsk", "rotate-ksk",
                                                  "confirm-ds-published", "confirm-ds-removed", "sync")]
    for method, path in guarded:
        r = api.call(method, path, None)
        expect(f"1 {method} {path} without a token: 401", r, 401)
        r = api.call(method, path, "wrong-" + ADMIN)
        expect(f"1 {method} {path} with a wrong token: 401", r, 401)
    r = api.call("GET", api.dpath(z), None, auth=f"Basic {base64.b64encode(b'admin:x').decode()}")
    expect("1 GET dnssec with Basic auth (not Bearer): 401", r, 401)
    check("1 401 carries WWW-Authenticate: Bearer", "bearer" in r.headers.get("www-authenticate", "").lower(),
          f"{r.headers}")
    for method, path in guarded:
        if path.startswith("/api/v1/zones") and method == "GET" or path == "/metrics":
            continue
        body = ds_body([{"key_tag": 1, "algorithm": 13, "digest_type": 2, "digest": "00" * 32}]) \
            if path.endswith("confirm-ds-published") else None
        r = api.call(method, path, READER, body=body)
        expect(f"1 {method} {path} with the zone:read token: 403", r, 403)
    g = api.status(z)
    check(f"1 [{z}] still disabled after the refused (401/403) calls",
          g is not None and g.get("status") == "disabled" and not keys_of(g), key_summary(g))
    for method, path in [("GET", api.dpath("nosuch.test.")), ("POST", api.dpath("nosuch.test.", "enable")),
                         ("POST", api.dpath("nosuch.test.", "rotate-zsk"))]:
        expect(f"1 {method} {path}: 404", api.call(method, path, ADMIN, body={} if method == "POST" else None), 404)
    for method, path in [("GET", api.dpath(PLAIN)), ("POST", api.dpath(PLAIN, "enable"))]:
        expect(f"1 {method} {path} (presigned zone): 404", api.call(method, path, ADMIN,
                                                                    body={} if method == "POST" else None), 404)
    expect("1 POST .../dnssec/frobnicate (no such endpoint): 404", api.post(z, "frobnicate"), 404)

    # --- the lifecycle on api.test.
    r = api.get(z)
    expect(f"1 [{z}] GET dnssec: 200 with the seed's fields", r, 200, GET_FIELDS)
    g = r.json or {}
    check(f"1 [{z}] GET: status disabled, enabled false, no keys, no DS",
          (g.get("status"), g.get("enabled"), g.get("ksk"), g.get("zsk"), g.get("ds_records"))
          == ("disabled", False, [], [], []), repr(r))
    for body, raw, what in (({"algorithm": 7}, None, "algorithm 7"), ({"algorithm": 99}, None, "algorithm 99"),
                            ({"algorithm": "13"}, None, 'algorithm "13" (a string)'),
                            (None, "{not json", "a body that is not JSON")):
        expect(f"1 [{z}] enable with {what}: 400", api.post(z, "enable", body, raw=raw), 400)
    invalid_transitions(api, z, "disabled", ["disable", "rotate-zsk", "rotate-ksk", "confirm-ds-published",
                                             "confirm-ds-removed"], None)

    # enable with algorithm 15, then disable from pending_ds (no DS ever confirmed)
    r = api.post(z, "enable", {"algorithm": 15})
    expect(f"1 [{z}] enable {{\"algorithm\": 15}}: 200 with domain_id action message ksk zsk ds_records", r, 200,
           {"domain_id", "action", "message", "ksk", "zsk", "ds_records"})
    e = r.json if isinstance(r.json, dict) else {}
    check(f"1 [{z}] enable reply: domain_id {zid}, action enable", (e.get("domain_id"), e.get("action"))
          == (zid, "enable"), repr(r))
    p = key_problems(e.get("ksk"), "KSK") + key_problems(e.get("zsk"), "ZSK")
    p += ds_problems(z, e.get("ds_records"), [e.get("ksk")] if isinstance(e.get("ksk"), dict) else [])
    check(f"1 [{z}] enable reply: KSK + ZSK of algorithm 15, one DS (digest type 2, SHA-256 of the KSK)",
          not p and (e.get("ksk") or {}).get("algorithm") == 15 and (e.get("zsk") or {}).get("algorithm") == 15
          and len(e.get("ds_records") or []) == 1, "; ".join(p) + f"; {r!r}")
    g = api.status(z)
    check(f"1 [{z}] GET after enable: pending_ds, enabled, algorithm 15, KSK ds_submit, ZSK active",
          g is not None and (g["status"], g["enabled"], g["algorithm"]) == ("pending_ds", True, 15)
          and [k.get("state") for k in g["ksk"]] == ["ds_submit"] and [k.get("state") for k in g["zsk"]] == ["active"],
          key_summary(g))
    check(f"1 [{z}] GET body: fields, key tags and DS digests consistent", g is not None and not get_problems(z, g),
          "; ".join(get_problems(z, g)))
    want_tags = {k["key_tag"] for k in keys_of(g)}
    dk = wait_until(lambda: (lambda d: d if tags_of(d) == want_tags else None)(served_dnskey(sat.port, z)), 5)
    check(f"1 [{z}] served DNSKEY = the API's keys {sorted(want_tags)}", dk is not None,
          f"served {sorted(tags_of(served_dnskey(sat.port, z)))}")
    invalid_transitions(api, z, "pending_ds", ["enable", "rotate-zsk", "rotate-ksk", "confirm-ds-removed"], None)
    r = api.post(z, "disable")
    expect(f"1 [{z}] disable while pending_ds: 200 with domain_id action message", r, 200,
           {"domain_id", "action", "message"})
    g = api.status(z)
    check(f"1 [{z}] after disable from pending_ds: disabled at once, no keys",
          g is not None and g["status"] == "disabled" and not keys_of(g) and not g["ds_records"], key_summary(g))
    check(f"1 [{z}] served unsigned again (no DNSKEY)",
          wait_until(lambda: served_dnskey(sat.port, z) is None and not sig_tags(ask(sat.port, f"www.{z}", "A"), T.A),
                     5), show(ask(sat.port, f"www.{z}", "A")))

    # enable with the default algorithm, confirm
    r = api.post(z, "enable")
    expect(f"1 [{z}] enable without a body: 200", r, 200, {"ksk", "zsk", "ds_records"})
    g = api.status(z)
    check(f"1 [{z}] enable without a body uses algorithm 13 (the seed's default)",
          g is not None and g["algorithm"] == 13 and all(k["algorithm"] == 13 for k in keys_of(g)), key_summary(g))
    ds1 = (g or {}).get("ds_records") or []
    if not check(f"1 [{z}] one DS to publish", len(ds1) == 1, f"{g}"):
        return
    wrong = dict(ds1[0])
    wrong["digest"] = ("0" if wrong["digest"][0] != "0" else "1") + wrong["digest"][1:]
    expect(f"1 [{z}] confirm-ds-published with a wrong digest: 400", api.post(z, "confirm-ds-published",
                                                                               ds_body([wrong])), 400)
    wrong = dict(ds1[0], key_tag=(ds1[0]["key_tag"] + 1) % 65536)
    expect(f"1 [{z}] confirm-ds-published with a wrong key tag: 400", api.post(z, "confirm-ds-published",
                                                                                ds_body([wrong])), 400)
    expect(f"1 [{z}] confirm-ds-published with an empty ds_records: 400",
           api.post(z, "confirm-ds-published", {"ds_records": []}), 400)
    expect(f"1 [{z}] confirm-ds-published without a body: 400", api.post(z, "confirm-ds-published"), 400)
    g = api.status(z)
    check(f"1 [{z}] still pending_ds after the refused confirmations", g and g["status"] == "pending_ds",
          key_summary(g))
    r = api.post(z, "confirm-ds-published", ds_body(ds1))
    expect(f"1 [{z}] confirm-ds-published: 200 with domain_id action message", r, 200,
           {"domain_id", "action", "message"})
    check(f"1 [{z}] confirm reply action confirm-ds-published", (r.json or {}).get("action") == "confirm-ds-published",
          repr(r))
    g = api.status(z)
    check(f"1 [{z}] active after confirm: KSK active, ZSK active",
          g and g["status"] == "active" and [k.get("state") for k in keys_of(g)] == ["active", "active"],
          key_summary(g))
    invalid_transitions(api, z, "active", ["enable", "confirm-ds-published", "confirm-ds-removed"], ds1)
    r = api.post(z, "sync")
    expect(f"1 [{z}] sync: 200 with the GET fields", r, 200, GET_FIELDS)
    check(f"1 [{z}] sync reports the same state", isinstance(r.json, dict) and g is not None and
          strip_times(r.json) == strip_times(g), f"{r!r} vs {g}")
    r = api.post(z, "sync", token=READER)
    expect(f"1 [{z}] sync with the zone:read token: 403", r, 403)

    # ZSK roll
    old_zsk = g["zsk"][0]["key_tag"]
    t_rot = time.time()
    r = api.post(z, "rotate-zsk")
    expect(f"1 [{z}] rotate-zsk: 200 with domain_id action old_key new_key", r, 200,
           {"domain_id", "action", "old_key", "new_key"})
    e = r.json if isinstance(r.json, dict) else {}
    nk = e.get("new_key") or {}
    check(f"1 [{z}] rotate-zsk reply: old_key = the active ZSK, new_key a new ZSK (state publish)",
          (e.get("old_key") or {}).get("key_tag") == old_zsk and nk.get("key_tag") not in (None, old_zsk)
          and nk.get("key_type") == "ZSK" and nk.get("state") == "publish" and not key_problems(nk, "ZSK"),
          repr(r))
    g = api.status(z)
    nt = key_by_tag(g, nk.get("key_tag")) or {}
    check(f"1 [{z}] rotating_zsk; the new ZSK's next_transition = rotate + DNSKEY TTL + delay "
          f"({FAST['soa_ttl'] + FAST['delay']} s)", g and g["status"] == "rotating_zsk" and nt.get("next_transition")
          and abs(iso(nt["next_transition"]) - (t_rot + FAST["soa_ttl"] + FAST["delay"])) <= 1.5,
          f"{key_summary(g)}; next_transition {nt.get('next_transition')}, rotate at {iso_text(t_rot)}")
    invalid_transitions(api, z, "rotating_zsk", ["rotate-zsk", "rotate-ksk", "disable", "enable",
                                                 "confirm-ds-published", "confirm-ds-removed"], ds1)
    g = wait_state(api, z, lambda s: s["status"] == "active", 25)
    check(f"1 [{z}] the ZSK roll ends by itself: active, one ZSK (the new one)",
          g and g["status"] == "active" and [k["key_tag"] for k in g["zsk"]] == [nk.get("key_tag")], key_summary(g))

    # KSK roll
    old_ksk = g["ksk"][0]["key_tag"] if g and g["ksk"] else None
    t_rot = time.time()
    r = api.post(z, "rotate-ksk")
    expect(f"1 [{z}] rotate-ksk: 200 with domain_id action old_key new_key ds_records publish_after", r, 200,
           {"domain_id", "action", "old_key", "new_key", "ds_records", "publish_after"})
    e = r.json if isinstance(r.json, dict) else {}
    nk = e.get("new_key") or {}
    ds2 = e.get("ds_records") or []
    p = key_problems(nk, "KSK") + ds_problems(z, ds2, [nk])
    check(f"1 [{z}] rotate-ksk reply: old_key = the old KSK, new_key a new KSK, ds_records = its DS only",
          (e.get("old_key") or {}).get("key_tag") == old_ksk and nk.get("key_tag") not in (None, old_ksk)
          and len(ds2) == 1 and ds2[0].get("key_tag") == nk.get("key_tag") and not p, "; ".join(p) + f"; {r!r}")
    # Issue 15: the new DNSKEY first; its DS only once every cache has it.
    pa = e.get("publish_after")
    check(f"1 [{z}] rotate-ksk reply: publish_after = now + DNSKEY TTL + delay "
          f"({FAST['soa_ttl'] + FAST['delay']} s)",
          isinstance(pa, str) and abs(iso(pa) - (t_rot + FAST["soa_ttl"] + FAST["delay"])) <= 1.5, repr(r))
    g = api.status(z)
    if isinstance(pa, str) and time.time() < iso(pa) - 0.3:
        check(f"1 [{z}] before publish_after: new KSK publish, GET shows publish_after, ds_records = old DS only",
              g and g["status"] == "rotating_ksk" and g.get("publish_after") == pa
              and (key_by_tag(g, nk.get("key_tag")) or {}).get("state") == "publish"
              and [d["key_tag"] for d in g["ds_records"]] == [old_ksk], f"{key_summary(g)}; {g}")
        early = [d for d in (g or {}).get("ds_records", []) if d["key_tag"] == old_ksk] + ds2
        r = api.post(z, "confirm-ds-published", ds_body(early))
        if time.time() < iso(pa):
            expect(f"1 [{z}] confirm-ds-published before publish_after: 409", r, 409)
            check(f"1 [{z}] the 409 names publish_after", pa in ((r.json or {}).get("error") or ""), repr(r))
    else:
        info("(the host was too slow to ask before publish_after: the early-confirm checks are left out)")
    g = wait_ds_submit(api, z, nk.get("key_tag"), FAST["soa_ttl"] + FAST["delay"] + 5)
    check(f"1 [{z}] rotating_ksk; GET ds_records = old + new DS",
          g and g["status"] == "rotating_ksk" and sorted(d["key_tag"] for d in g["ds_records"])
          == sorted([old_ksk, nk.get("key_tag")]), f"{key_summary(g)}; {g and g['ds_records']}")
    invalid_transitions(api, z, "rotating_ksk", ["rotate-ksk", "rotate-zsk", "disable", "enable",
                                                 "confirm-ds-removed"], None)
    old_ds = [d for d in (g or {}).get("ds_records", []) if d["key_tag"] == old_ksk]
    expect(f"1 [{z}] confirm-ds-published with only the old KSK's DS (the new one not published): 400",
           api.post(z, "confirm-ds-published", ds_body(old_ds)), 400)
    t_conf = time.time()
    r = api.post(z, "confirm-ds-published", ds_body(old_ds + ds2))
    expect(f"1 [{z}] confirm-ds-published with old + new DS: 200", r, 200, {"domain_id", "action", "message"})
    g = api.status(z)
    nt = key_by_tag(g, nk.get("key_tag")) or {}
    check(f"1 [{z}] after confirm: active, new KSK ds_publish until DS TTL + delay "
          f"({FAST['ds_ttl'] + FAST['delay']} s)", g and g["status"] == "active" and nt.get("state") == "ds_publish"
          and nt.get("next_transition") and
          abs(iso(nt["next_transition"]) - (t_conf + FAST["ds_ttl"] + FAST["delay"])) <= 1.5, key_summary(g))
    g = wait_state(api, z, lambda s: only_states(s, "ksk", {nk.get("key_tag"): "active", old_ksk: "retire"}), 10)
    check(f"1 [{z}] new KSK active, old KSK retire", g and only_states(g, "ksk", {nk.get("key_tag"): "active",
                                                                               old_ksk: "retire"}), key_summary(g))
    r = api.post(z, "rotate-ksk")
    expect(f"1 [{z}] rotate-ksk while the old KSK is still retiring: 409", r, 409)
    g = wait_state(api, z, lambda s: [k["key_tag"] for k in s["ksk"]] == [nk.get("key_tag")], 10)
    check(f"1 [{z}] old KSK removed by itself", g and [k["key_tag"] for k in g["ksk"]] == [nk.get("key_tag")],
          key_summary(g))

    # disable from active, pending_disabled, confirm-ds-removed
    r = api.post(z, "disable")
    expect(f"1 [{z}] disable while active: 200", r, 200, {"domain_id", "action", "message"})
    g = api.status(z)
    check(f"1 [{z}] pending_disabled, keys kept", g and g["status"] == "pending_disabled" and len(keys_of(g)) == 2,
          key_summary(g))
    invalid_transitions(api, z, "pending_disabled", ["enable", "disable", "rotate-zsk", "rotate-ksk",
                                                     "confirm-ds-published"], ds2)
    r = api.post(z, "confirm-ds-removed")
    expect(f"1 [{z}] confirm-ds-removed: 200 with domain_id action message", r, 200,
           {"domain_id", "action", "message"})
    check(f"1 [{z}] confirm-ds-removed reply action", (r.json or {}).get("action") == "confirm-ds-removed", repr(r))
    g = wait_state(api, z, lambda s: s["status"] == "disabled" and not keys_of(s), FAST["ds_ttl"] + FAST["delay"] + 3)
    check(f"1 [{z}] disabled, keys removed after confirm-ds-removed (within DS TTL + delay)",
          g and g["status"] == "disabled" and not keys_of(g), key_summary(g))
    expect(f"1 [{z}] confirm-ds-removed again: 409", api.post(z, "confirm-ds-removed"), 409)

    # rotate-ksk while the previous new KSK waits in ds_publish
    api.post(z, "enable")
    g = api.status(z)
    api.post(z, "confirm-ds-published", ds_body((g or {}).get("ds_records", [])))
    r = api.post(z, "rotate-ksk")
    k2 = (r.json or {}).get("new_key", {}).get("key_tag") if isinstance(r.json, dict) else None
    wait_ds_submit(api, z, k2, SLOW["soa_ttl"] + SLOW["delay"] + 5)
    g = api.status(z)
    r = api.post(z, "confirm-ds-published", ds_body((g or {}).get("ds_records", [])))
    g = api.status(z)
    if not (r.status == 200 and (key_by_tag(g, k2) or {}).get("state") == "ds_publish"):
        check(f"1 [{z}] set-up: a new KSK in ds_publish", False, f"{r!r}; {key_summary(g)}")
    else:
        r = api.post(z, "rotate-ksk")
        if r.status == 409:
            check(f"1 [{z}] rotate-ksk while a new KSK waits in ds_publish: 409", True)
        else:
            k3 = (r.json or {}).get("new_key", {}).get("key_tag") if isinstance(r.json, dict) else None
            g = wait_state(api, z, lambda s: (key_by_tag(s, k2) or {}).get("state") == "active", 10)
            k3s = (key_by_tag(g, k3) or {}).get("state")
            check(f"1 [{z}] rotate-ksk while a new KSK waits in ds_publish: 409, or the KSK it made (whose DS "
                  f"the reply asks to publish) stays publish / ds_submit when the ds_publish one becomes active",
                  r.status == 200 and k3s in ("publish", "ds_submit") and g["status"] == "rotating_ksk",
                  f"rotate-ksk answered {r.status}; new KSK {k3} is now {k3s or 'gone'}; {key_summary(g)}")

    if ctl:
        step_ctl(sat, ctl)


def iso(text):
    return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone


def iso_text(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def step_ctl(sat, ctl):
    base = ["--server", f"http://{LOOP}:{sat.api_port}"]

    def c(*args, token=ADMIN, server=None):
        argv = [ctl] + (["--server", server] if server else base) + (["--token", token] if token else []) + list(args)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return r.returncode, (r.stdout + r.stderr).strip()
    rc, out = c("zone", "list")
    check("1 satellitectl zone list: exit 0, lists the zones", rc == 0 and all(z.rstrip(".") in out
                                                                              for z in (LC, ROLL, PLAIN)), out)
    rc, out = c("zone", "show", ROLL.rstrip("."))
    check(f"1 satellitectl zone show {ROLL}: exit 0", rc == 0 and "roll.test" in out, out)
    rc, out = c("--json", "dnssec", "status", LC.rstrip("."))
    try:
        js = json.loads(out)
    except ValueError:
        js = None
    check(f"1 satellitectl dnssec status {LC} --json: exit 0, the GET body",
          rc == 0 and isinstance(js, dict) and js.get("status") == "disabled", out)
    rc, out = c("zone", "list", token="wrong")
    check("1 satellitectl with a wrong token: exit 1", rc == 1, f"exit {rc}: {out}")
    rc, out = c("dnssec", "enable", PLAIN.rstrip("."))
    check("1 satellitectl dnssec enable of a presigned zone: exit 1", rc == 1, f"exit {rc}: {out}")
    rc, out = c("zone", "list", server=f"http://{LOOP}:{free_port()}")
    check("1 satellitectl with nothing listening: exit 3", rc == 3, f"exit {rc}: {out}")


# ================================================================ step 2 ====
class QueryLoop(threading.Thread):
    """Every ~0.2 s: DO=1 queries through unbound, and directly to satellited
    with every RRSIG validated."""

    def __init__(self, sat_port, ub_port, zone=LC):
        super().__init__(daemon=True)
        self.sat_port, self.ub_port = sat_port, ub_port
        self.zone = zone
        self.stopping = False
        self.ub = []      # dicts: t, name, type, kind, rcode, ad, ok, detail
        self.direct = []  # dicts: t, rrsigs, problems, detail
        self.i = 0

    def run(self):
        while not self.stopping:
            t0 = time.monotonic()
            self.i += 1
            try:
                self.round()
            except Exception:
                self.direct.append(dict(t=time.time(), rrsigs=0, problems=["loop: " + traceback.format_exc()],
                                        detail=""))
            time.sleep(max(0.0, 0.2 - (time.monotonic() - t0)))

    def round(self):
        i = self.i
        zone = self.zone
        qs = [(f"www.{zone}", "A", "exists"), (f"nx{i}-{os.getpid()}.{zone}", "A", "nxdomain"),
              (f"www.{zone}", "TXT", "nodata"), (f"mail.{zone}", "A", "exists")]
        for name, qt, kind in qs:
            t = time.time()
            r = ask(self.ub_port, name, qt, rd=True, timeout=3)
            rec = dict(t=t, name=name, type=qt, kind=kind, rcode=None, ad=False, ok=False, detail="")
            if r is not None:
                rec["rcode"] = dns.rcode.to_text(r.rcode())
                rec["ad"] = bool(r.flags & dns.flags.AD)
                a = rrsets(r, "answer", T.from_text(qt))
                if kind == "exists":
                    rec["ok"] = r.rcode() == dns.rcode.NOERROR and bool(a)
                elif kind == "nxdomain":
                    rec["ok"] = r.rcode() == dns.rcode.NXDOMAIN
                else:
                    rec["ok"] = r.rcode() == dns.rcode.NOERROR and not a
                if not rec["ok"] or VERBOSE:
                    rec["detail"] = show(r, 1200)
            self.ub.append(rec)
        # Direct: DNSKEY before, the answers, DNSKEY again when something does not fit.
        t = time.time()
        before = ask(self.sat_port, zone, "DNSKEY")
        dk0 = rrsets(before, "answer", T.DNSKEY)[0] if before is not None and rrsets(before, "answer", T.DNSKEY) \
            else None
        resps = [(f"{zone} DNSKEY", before)]
        for name, qt, _ in qs[:3]:
            resps.append((f"{name} {qt}", ask(self.sat_port, name, qt)))
        resps.append((f"{zone} SOA", ask(self.sat_port, zone, "SOA")))
        probs, n, dk1, fetched = [], 0, None, False
        for what, r in resps:
            if r is None:
                probs.append(f"{what}: no response from satellited")
                continue
            if r.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                probs.append(f"{what}: rcode {dns.rcode.to_text(r.rcode())}")
            k, p, unsigned = rrsig_problems(r, zone, dk0)
            if p or (unsigned and dk0 is not None):
                if not fetched:
                    after = ask(self.sat_port, zone, "DNSKEY")
                    dk1 = rrsets(after, "answer", T.DNSKEY)[0] if after is not None and \
                        rrsets(after, "answer", T.DNSKEY) else None
                    fetched = True
                k, p2, unsigned2 = rrsig_problems(r, zone, dk1)
                if p2:
                    probs += [f"{what}: {x} (nor with the DNSKEY set served just after: tags "
                              f"{sorted(tags_of(dk1))})" for x in p2]
                if unsigned2 and dk1 is not None and unsigned and dk0 is not None:
                    probs += [f"{what}: {x} while DNSKEY is served" for x in unsigned2]
                if (p2 or (unsigned2 and dk1 is not None)) and not any(show(r) in d for d in probs):
                    probs.append(f"{what} response:{show(r, 1500)}")
            n += k
        self.direct.append(dict(t=t, rrsigs=n, problems=probs, signed=dk0 is not None))


class Timeline:
    """Phase marks of step 2 (wall clock), for the report and the AD windows."""

    def __init__(self):
        self.marks = []

    def mark(self, label):
        self.marks.append((time.time(), label))
        info(f"[{time.strftime('%H:%M:%S')}] {label}")

    def mark_at(self, t, label):
        """A phase that began at `t` (seen afterwards, e.g. by polling GET)."""
        if t is None:
            return
        self.marks.append((t, label))
        self.marks.sort(key=lambda m: m[0])
        info(f"[{time.strftime('%H:%M:%S', time.localtime(t))}] {label}")


def step_life(sat, knot, ub, workdir):
    api = sat.api
    z = LC
    tl = Timeline()
    loop = QueryLoop(sat.port, ub.port)
    tl.mark("query loop started (zone unsigned, no DS at the parent)")
    loop.start()
    t_first_ds = t_no_ds = t_unsigned = None
    try:
        time.sleep(2)
        # enable
        r = api.post(z, "enable")
        expect(f"2 [{z}] enable: 200", r, 200, {"ksk", "zsk", "ds_records"})
        tl.mark("enabled (pending_ds)")
        g = api.status(z)
        ds1 = (g or {}).get("ds_records") or []
        if not check(f"2 [{z}] pending_ds with one DS to publish", g and g["status"] == "pending_ds" and len(ds1) == 1,
                     key_summary(g)):
            return
        k1, z1 = g["ksk"][0]["key_tag"], g["zsk"][0]["key_tag"]
        check(f"2 [{z}] served DNSKEY = KSK {k1} + ZSK {z1}",
              wait_until(lambda: tags_of(served_dnskey(sat.port, z)) == {k1, z1}, 5),
              f"served {sorted(tags_of(served_dnskey(sat.port, z)))}")
        time.sleep(2)
        knot.set_ds([ds_text(d) for d in ds1])
        t_first_ds = time.time()
        tl.mark(f"parent publishes DS {k1}")
        time.sleep(SETTLE + 1)
        r = api.post(z, "confirm-ds-published", ds_body(ds1))
        expect(f"2 [{z}] confirm-ds-published: 200", r, 200)
        tl.mark("confirmed (active)")
        g = api.status(z)
        check(f"2 [{z}] active, KSK {k1} active, ZSK {z1} active",
              g and g["status"] == "active" and only_states(g, "ksk", {k1: "active"})
              and only_states(g, "zsk", {z1: "active"}), key_summary(g))
        time.sleep(2)

        # ---- ZSK roll
        t_rot = time.time()
        r = api.post(z, "rotate-zsk")
        expect(f"2 [{z}] rotate-zsk: 200", r, 200)
        z2 = ((r.json or {}).get("new_key") or {}).get("key_tag") if isinstance(r.json, dict) else None
        tl.mark(f"rotate-zsk: new ZSK {z2}")
        www = ask(sat.port, f"www.{z}", "A")
        dk = served_dnskey(sat.port, z)
        check(f"2 [{z}] pre-publication: DNSKEY has the new ZSK {z2} at once; www A still signed by {z1} only",
              tags_of(dk) == {k1, z1, z2} and sig_tags(www, T.A) == {z1},
              f"DNSKEY tags {sorted(tags_of(dk))}, www A RRSIG tags {sorted(sig_tags(www, T.A))}")
        seen = watch_keys(api, z, lambda s: s["status"] == "active" and [k["key_tag"] for k in s["zsk"]] == [z2], 30)
        t_z2_active = first_seen(seen, lambda s: (key_by_tag(s, z2) or {}).get("state") == "active")
        t_z1_gone = first_seen(seen, lambda s: key_by_tag(s, z1) is None)
        t_z1_retire = first_seen(seen, lambda s: (key_by_tag(s, z1) or {}).get("state") == "retire")
        check(f"2 [{z}] ZSK roll: {z2} active no sooner than DNSKEY TTL + delay "
              f"({FAST['soa_ttl'] + FAST['delay']} s) after rotate-zsk",
              t_z2_active and t_z2_active - t_rot >= FAST["soa_ttl"] + FAST["delay"] - 1.05,
              f"active after {fmt(t_z2_active, t_rot)}")
        check(f"2 [{z}] ZSK roll: {z1} retire while {z2} is active, then removed no sooner than max TTL + delay "
              f"({FAST['max_ttl'] + FAST['delay']} s) later", t_z1_retire and t_z1_gone and t_z2_active and
              t_z1_gone - t_z2_active >= FAST["max_ttl"] + FAST["delay"] - 1.05,
              f"retire seen after {fmt(t_z1_retire, t_rot)}, gone after {fmt(t_z1_gone, t_rot)} (rotate = 0)")
        tl.mark(f"ZSK roll done ({z1} gone)" if t_z1_gone else "ZSK roll did not finish")
        g = seen[-1][1] if seen else None
        check(f"2 [{z}] after the ZSK roll: active, ZSK {z2} only",
              g and g["status"] == "active" and only_states(g, "zsk", {z2: "active"}), key_summary(g))
        check(f"2 [{z}] served DNSKEY = {k1} + {z2}; www A signed by {z2}",
              wait_until(lambda: tags_of(served_dnskey(sat.port, z)) == {k1, z2}
                         and sig_tags(ask(sat.port, f"www.{z}", "A"), T.A) == {z2}, 5),
              f"DNSKEY {sorted(tags_of(served_dnskey(sat.port, z)))}")
        time.sleep(1)

        # ---- KSK roll
        r = api.post(z, "rotate-ksk")
        expect(f"2 [{z}] rotate-ksk: 200 with ds_records", r, 200, {"new_key", "ds_records"})
        e = r.json if isinstance(r.json, dict) else {}
        k2 = (e.get("new_key") or {}).get("key_tag")
        ds2 = e.get("ds_records") or []
        tl.mark(f"rotate-ksk: new KSK {k2}")
        if not check(f"2 [{z}] rotate-ksk reply has the new KSK's DS", len(ds2) == 1 and ds2[0]["key_tag"] == k2,
                     repr(r)):
            return
        dkr = ask(sat.port, z, "DNSKEY")
        check(f"2 [{z}] double-KSK: DNSKEY = {k1} + {k2} + {z2}, signed by both KSKs",
              tags_of(rrsets(dkr, "answer", T.DNSKEY)[0] if dkr and rrsets(dkr, "answer", T.DNSKEY) else None)
              == {k1, k2, z2} and sig_tags(dkr, T.DNSKEY) == {k1, k2}, show(dkr))
        def cds_tags():
            cds = ask(sat.port, z, "CDS")
            return {rd.key_tag for rr in rrsets(cds, "answer", T.CDS) for rd in rr} if cds else set()
        # Issue 15: CDS names the new KSK only once its DNSKEY is in every cache.
        g = api.status(z)
        if (key_by_tag(g, k2) or {}).get("state") == "publish":
            check(f"2 [{z}] while the new DNSKEY reaches the caches: CDS lists only {k1}", cds_tags() == {k1},
                  f"{cds_tags()}; {key_summary(g)}")
        g = wait_ds_submit(api, z, k2, SLOW["soa_ttl"] + SLOW["delay"] + 5)
        check(f"2 [{z}] new KSK {k2} ds_submit after DNSKEY TTL + delay", (key_by_tag(g, k2) or {}).get("state")
              == "ds_submit", key_summary(g))
        check(f"2 [{z}] CDS lists both KSKs", wait_until(lambda: cds_tags() == {k1, k2}, 5), f"{cds_tags()}")
        time.sleep(1)
        knot.set_ds([ds_text(d) for d in ds1 + ds2])
        tl.mark(f"parent publishes DS {k1} + {k2}")
        t_conf = time.time()
        r = api.post(z, "confirm-ds-published", ds_body(ds1 + ds2))
        expect(f"2 [{z}] confirm-ds-published (old + new DS): 200", r, 200)
        tl.mark("confirmed (new KSK ds_publish)")
        seen = watch_keys(api, z, lambda s: [k["key_tag"] for k in s["ksk"]] == [k2], 30)
        t_k2_active = first_seen(seen, lambda s: (key_by_tag(s, k2) or {}).get("state") == "active")
        t_k1_retire = first_seen(seen, lambda s: (key_by_tag(s, k1) or {}).get("state") == "retire")
        t_k1_gone = first_seen(seen, lambda s: key_by_tag(s, k1) is None)
        check(f"2 [{z}] KSK roll: {k2} active no sooner than DS TTL + delay ({FAST['ds_ttl'] + FAST['delay']} s) "
              f"after confirm", t_k2_active and t_k2_active - t_conf >= FAST["ds_ttl"] + FAST["delay"] - 1.05,
              f"active after {fmt(t_k2_active, t_conf)}")
        check(f"2 [{z}] KSK roll: {k1} retire, removed no sooner than DNSKEY TTL + delay "
              f"({FAST['soa_ttl'] + FAST['delay']} s) after {k2} became active",
              t_k1_retire and t_k1_gone and t_k2_active and
              t_k1_gone - t_k2_active >= FAST["soa_ttl"] + FAST["delay"] - 1.05,
              f"retire seen after {fmt(t_k1_retire, t_conf)}, gone after {fmt(t_k1_gone, t_conf)} (confirm = 0)")
        g = seen[-1][1] if seen else None
        check(f"2 [{z}] after the KSK roll: active, KSK {k2} only, DS = {k2}'s",
              g and g["status"] == "active" and only_states(g, "ksk", {k2: "active"})
              and [d["key_tag"] for d in g["ds_records"]] == [k2], key_summary(g))
        check(f"2 [{z}] served DNSKEY = {k2} + {z2}, signed by {k2}",
              wait_until(lambda: tags_of(served_dnskey(sat.port, z)) == {k2, z2}
                         and sig_tags(ask(sat.port, z, "DNSKEY"), T.DNSKEY) == {k2}, 5),
              show(ask(sat.port, z, "DNSKEY")))
        tl.mark(f"KSK roll done ({k1} gone)")
        knot.set_ds([ds_text(d) for d in ds2])
        tl.mark(f"parent drops the old DS (DS {k2} only)")
        time.sleep(SETTLE)

        # ---- disable
        r = api.post(z, "disable")
        expect(f"2 [{z}] disable: 200", r, 200)
        tl.mark("disable (pending_disabled)")
        g = api.status(z)
        check(f"2 [{z}] pending_disabled", g and g["status"] == "pending_disabled", key_summary(g))

        def delete_records():
            c = ask(sat.port, z, "CDS")
            k = ask(sat.port, z, "CDNSKEY")
            cds = [rd.to_text() for rr in rrsets(c, "answer", T.CDS) for rd in rr] if c else []
            cdk = [rd.to_text() for rr in rrsets(k, "answer", T.CDNSKEY) for rd in rr] if k else []
            return (cds, cdk, c, k) if (cds, cdk) == (["0 0 0 00"], ["0 3 0 AA=="]) else None
        got = wait_until(delete_records, 5)
        c, k = ask(sat.port, z, "CDS"), ask(sat.port, z, "CDNSKEY")
        check(f"2 [{z}] CDS = 0 0 0 00 and CDNSKEY = 0 3 0 AA== (RFC 8078 delete)", got,
              show(c, 800) + show(k, 800))
        dk = served_dnskey(sat.port, z)
        p = []
        for what, resp in (("CDS", c), ("CDNSKEY", k)):
            if resp is not None:
                n, pr, uns = rrsig_problems(resp, z, dk)
                p += pr + uns
        check(f"2 [{z}] the delete CDS/CDNSKEY are signed and validate; DNSKEY still served",
              got and dk is not None and not p, "; ".join(p))
        time.sleep(SETTLE / 2)
        knot.set_ds([])
        t_no_ds = time.time()
        tl.mark("parent removes the DS (zone insecure at the parent)")
        t_removed = time.time()
        r = api.post(z, "confirm-ds-removed")
        expect(f"2 [{z}] confirm-ds-removed: 200", r, 200)
        tl.mark("confirm-ds-removed")
        g = wait_state(api, z, lambda s: s["status"] == "disabled", FAST["ds_ttl"] + FAST["delay"] + 5)
        check(f"2 [{z}] disabled, no keys", g and g["status"] == "disabled" and not keys_of(g), key_summary(g))

        def unsigned():
            rs = [ask(sat.port, n, t) for n, t in ((z, "DNSKEY"), (f"www.{z}", "A"), (f"nope.{z}", "A"), (z, "SOA"))]
            if any(r is None for r in rs):
                return None
            bad = [r for r in rs if any(rr.rdtype in (T.RRSIG, T.DNSKEY, T.NSEC, T.NSEC3, T.CDS, T.CDNSKEY)
                                        for rr in r.answer + r.authority)]
            return None if bad else rs
        got = wait_until(unsigned, FAST["ds_ttl"] + FAST["delay"] + 5, interval=0.1)
        t_unsigned = time.time()
        check(f"2 [{z}] served unsigned: no DNSKEY, RRSIG, NSEC, CDS in answers", got,
              show(ask(sat.port, f"www.{z}", "A")))
        # Resolvers may hold the parent's DS for its TTL after the removal: the
        # zone must stay signed that long (DESIGN §4: every move waits for the
        # TTLs and propagation delays that make it safe), as it does after
        # confirm-ds-published in a KSK roll.
        check(f"2 [{z}] after confirm-ds-removed the zone stays signed for the parent's DS TTL + delay "
              f"({FAST['ds_ttl'] + FAST['delay']} s), while resolvers may still hold the DS",
              got and t_unsigned - t_removed >= FAST["ds_ttl"] + FAST["delay"] - 1.05,
              f"served unsigned {t_unsigned - t_removed:.1f} s after confirm-ds-removed "
              f"(the DS left the parent {t_unsigned - t_no_ds:.1f} s before; its TTL is {FAST['ds_ttl']} s)")
        tl.mark("served unsigned")
        time.sleep(SETTLE + 1)
    finally:
        loop.stopping = True
        loop.join(timeout=15)
        tl.mark("query loop stopped")
    judge_loop(loop, tl, t_first_ds, t_no_ds, t_unsigned, ub)


def watch_keys(api, zone, done, timeout):
    """GET every 0.1 s until done(body): [(time, body)]."""
    seen = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        g = api.status(zone)
        if g is not None:
            seen.append((time.time(), g))
            if done(g):
                break
        time.sleep(0.1)
    return seen


def first_seen(seen, pred):
    for t, g in seen:
        if pred(g):
            return t
    return None


def fmt(t, t0):
    return "never" if t is None else f"{t - t0:.1f} s"


def judge_loop(loop, tl, t_first_ds, t_no_ds, t_unsigned, ub, step="2"):
    ub_q, direct = loop.ub, loop.direct
    n_ad = sum(1 for q in ub_q if q["ad"])
    n_sigs = sum(d["rrsigs"] for d in direct)
    print(f"      query loop: {len(ub_q)} queries through unbound ({n_ad} AD), {len(direct)} rounds of "
          f"{5} direct queries to satellited ({n_sigs} RRSIGs validated)", flush=True)
    # per phase
    marks = tl.marks
    for i, (t, label) in enumerate(marks[:-1]):
        t_next = marks[i + 1][0]
        qs = [q for q in ub_q if t <= q["t"] < t_next]
        print(f"        {label}: {len(qs)} via unbound, {sum(q['ad'] for q in qs)} AD, "
              f"{sum(q['rcode'] == 'SERVFAIL' for q in qs)} SERVFAIL, {sum(q['rcode'] is None for q in qs)} timeouts",
              flush=True)

    def at(t):
        label = "before the loop"
        for tm, lb in marks:
            if tm <= t:
                label = lb
        return label

    def describe(qs, n=4):
        return "; ".join(f"[{at(q['t'])}] {q['name']} {q['type']}: {q['rcode'] or 'timeout'}"
                         f"{' AD' if q['ad'] else ''}{q['detail'][:600]}" for q in qs[:n])
    check(f"{step} the query loop ran (>= 100 queries through unbound)", len(ub_q) >= 100, f"{len(ub_q)}")
    sf = [q for q in ub_q if q["rcode"] == "SERVFAIL"]
    vf = ub.log.lines(lambda l: "validation failure" in l)
    check(f"{step} no SERVFAIL from unbound ({len(ub_q)} queries)", not sf,
          f"{len(sf)} SERVFAIL: " + "; ".join(f"[{at(q['t'])}] {q['name']} {q['type']}" for q in sf[:6])
          + "\n      unbound: " + "\n      unbound: ".join(vf[:6]))
    to = [q for q in ub_q if q["rcode"] is None]
    check(f"{step} no query through unbound timed out", not to, f"{len(to)}: " + describe(to))
    wrong = [q for q in ub_q if q["rcode"] not in (None, "SERVFAIL") and not q["ok"]]
    check(f"{step} every unbound answer has the expected rcode/data (www A, NXDOMAIN, NODATA)", not wrong,
          f"{len(wrong)}: " + describe(wrong))
    if t_first_ds and t_no_ds:
        window = [q for q in ub_q if t_first_ds + SETTLE <= q["t"] <= t_no_ds]
        not_ad = [q for q in window if not q["ad"]]
        check(f"{step} every unbound answer AD while the parent has our DS ({len(window)} answers, from "
              f"{SETTLE:.0f} s after the first DS to its removal)", window and not not_ad,
              f"{len(not_ad)} without AD: " + describe(not_ad))
    if t_unsigned:
        late = [q for q in ub_q if q["t"] >= t_unsigned + SETTLE]
        ad = [q for q in late if q["ad"]]
        check(f"{step} no AD once the zone is unsigned and the parent has no DS ({len(late)} answers)", late and not ad,
              describe(ad))
    bad = [d for d in direct if d["problems"]]
    check(f"{step} every RRSIG served directly validates with the served DNSKEY set; no unsigned RRset while signed "
          f"({len(direct)} rounds, {n_sigs} RRSIGs)", not bad and n_sigs > 0,
          f"{len(bad)} rounds with problems: " + " | ".join(f"[{at(d['t'])}] " + "; ".join(d["problems"][:3])
                                                            for d in bad[:3]))


# ============================================================= steps 6, 7 ====
def served_unsigned(port, zone):
    """The zone's answers carry no DNSSEC records (None while they do)."""
    rs = [ask(port, n, t) for n, t in ((zone, "DNSKEY"), (f"www.{zone}", "A"), (f"nope.{zone}", "A"), (zone, "SOA"))]
    if any(r is None for r in rs):
        return None
    bad = [r for r in rs if any(rr.rdtype in (T.RRSIG, T.DNSKEY, T.NSEC, T.NSEC3, T.CDS, T.CDNSKEY)
                                for rr in r.answer + r.authority)]
    return None if bad else rs


def log_lines(sat, zone, text, since):
    """satellited's log lines since `since` about `zone` that contain `text`."""
    z = zone.rstrip(".")
    return sat.log.lines(lambda l: text in l and re.search(r"zone " + re.escape(z) + r"\.?:", l), since)


def holds(api, zone, pred, seconds):
    """Polls GET for `seconds`: (pred held on every body, the body that broke it or the last one)."""
    seen = watch_keys(api, zone, lambda s: not pred(s), seconds)
    bad = [g for _, g in seen if not pred(g)]
    ok = bool(seen) and not bad and seen[-1][0] - seen[0][0] >= seconds - 0.5
    return ok, bad[0] if bad else (seen[-1][1] if seen else None)


def start_query_loop(sat, ub, zone):
    """The step-2 query loop on `zone`, started, with its timeline."""
    tl = Timeline()
    loop = QueryLoop(sat.port, ub.port, zone)
    tl.mark(f"query loop on {zone} started (zone unsigned, no DS at the parent)")
    loop.start()
    return tl, loop


def step_parent_check(sat, knot, ub):
    """Step 6: auto.test. has parent_ds_check = Knot (the parent): enable, KSK
    roll and disable without a single confirm-ds-* call, under unbound."""
    api = sat.api
    z = AUTO
    label = z.split(".")[0]
    iv = CHECK_INTERVAL
    tl, loop = start_query_loop(sat, ub, z)
    t_first_ds = t_no_ds = t_unsigned = None
    mark = sat.log.mark()
    try:
        time.sleep(1)
        r = api.post(z, "enable")
        expect(f"6 [{z}] enable: 200", r, 200, {"ksk", "zsk", "ds_records"})
        tl.mark("enabled (pending_ds; the parent has no DS)")
        g = api.status(z)
        ds1 = (g or {}).get("ds_records") or []
        if not check(f"6 [{z}] pending_ds with one DS to publish", g and g["status"] == "pending_ds" and len(ds1) == 1,
                     key_summary(g)):
            return
        k1, z1 = g["ksk"][0]["key_tag"], g["zsk"][0]["key_tag"]
        check(f"6 [{z}] served DNSKEY = KSK {k1} + ZSK {z1}",
              wait_until(lambda: tags_of(served_dnskey(sat.port, z)) == {k1, z1}, 5),
              f"served {sorted(tags_of(served_dnskey(sat.port, z)))}")
        wait = 3 * iv + 0.5
        ok, g = holds(api, z, lambda s: s["status"] == "pending_ds", wait)
        check(f"6 [{z}] stays pending_ds for {wait:.1f} s (3 check intervals) while the parent has no DS",
              ok and not log_lines(sat, z, "DS publication confirmed", mark), key_summary(g))
        check(f"6 [{z}] the checks of the parent (NODATA for the DS) are not logged as failures",
              not log_lines(sat, z, "parent DS check failed", mark),
              "\n      ".join(log_lines(sat, z, "parent DS check failed", mark)[:3]))

        knot.set_ds([ds_text(d) for d in ds1], label)
        t_first_ds = time.time()
        tl.mark(f"parent publishes DS {k1} (no confirm-ds-published)")
        g = wait_state(api, z, lambda s: s["status"] == "active", iv + 5)
        t_active = time.time()
        check(f"6 [{z}] active by itself within {iv + 5} s of the parent publishing the DS: KSK {k1}, ZSK {z1} active",
              g and g["status"] == "active" and only_states(g, "ksk", {k1: "active"})
              and only_states(g, "zsk", {z1: "active"}), f"after {t_active - t_first_ds:.1f} s: {key_summary(g)}")
        if g and g["status"] == "active":
            tl.mark("active (confirmed by satellited)")
        info(f"{z} active {t_active - t_first_ds:.1f} s after the parent published the DS")
        lines = wait_until(lambda: log_lines(sat, z, "parent DS check: DS publication confirmed", mark), 2)
        check(f"6 [{z}] log: \"parent DS check: DS publication confirmed\"", lines and len(lines) == 1,
              sat.log.tail(10, mark))
        time.sleep(1)

        # ---- KSK roll
        r = api.post(z, "rotate-ksk")
        expect(f"6 [{z}] rotate-ksk: 200 with ds_records", r, 200, {"new_key", "ds_records"})
        e = r.json if isinstance(r.json, dict) else {}
        k2 = (e.get("new_key") or {}).get("key_tag")
        ds2 = e.get("ds_records") or []
        tl.mark(f"rotate-ksk: new KSK {k2} (the parent has DS {k1} only)")
        if not check(f"6 [{z}] rotate-ksk reply has the new KSK's DS", len(ds2) == 1 and ds2[0]["key_tag"] == k2,
                     repr(r)):
            return
        wait_ds_submit(api, z, k2, SLOW["soa_ttl"] + SLOW["delay"] + 5)  # its DNSKEY first (issue 15)
        wait = 2 * iv + 0.5
        ok, g = holds(api, z, lambda s: s["status"] == "rotating_ksk" and
                      (key_by_tag(s, k2) or {}).get("state") == "ds_submit", wait)
        check(f"6 [{z}] rotating_ksk, new KSK {k2} stays ds_submit for {wait:.1f} s while the parent has only the "
              f"old DS", ok and len(log_lines(sat, z, "DS publication confirmed", mark)) == 1, key_summary(g))
        knot.set_ds([ds_text(d) for d in ds1 + ds2], label)
        t_both = time.time()
        tl.mark(f"parent publishes DS {k1} + {k2} (no confirm-ds-published)")
        budget = iv + 4 + FAST["ds_ttl"] + FAST["delay"] + FAST["soa_ttl"] + FAST["delay"] + 5
        seen = watch_keys(api, z, lambda s: [k["key_tag"] for k in s["ksk"]] == [k2], budget)
        t_pub = first_seen(seen, lambda s: (key_by_tag(s, k2) or {}).get("state") == "ds_publish")
        t_k2_active = first_seen(seen, lambda s: (key_by_tag(s, k2) or {}).get("state") == "active")
        t_k1_retire = first_seen(seen, lambda s: (key_by_tag(s, k1) or {}).get("state") == "retire")
        t_k1_gone = first_seen(seen, lambda s: key_by_tag(s, k1) is None)
        g_pub = next((g for t, g in seen if t == t_pub), None)
        check(f"6 [{z}] new KSK {k2} goes ds_publish by itself within {iv + 4} s of the parent publishing both DS "
              f"(status active)", t_pub and t_pub - t_both <= iv + 4 and g_pub["status"] == "active",
              f"ds_publish seen after {fmt(t_pub, t_both)}; {key_summary(g_pub or (seen[-1][1] if seen else None))}")
        tl.mark_at(t_pub, f"{k2} ds_publish (confirmed by satellited)")
        tl.mark_at(t_k2_active, f"{k2} active, {k1} retire")
        check(f"6 [{z}] then {k2} active no sooner than DS TTL + delay ({FAST['ds_ttl'] + FAST['delay']} s) after "
              f"ds_publish, {k1} retire, then removed",
              t_pub and t_k2_active and t_k1_retire and t_k1_gone and
              t_k2_active - t_pub >= FAST["ds_ttl"] + FAST["delay"] - 1.3 and t_k1_gone > t_k2_active,
              f"(parent has both DS = 0) ds_publish {fmt(t_pub, t_both)}, active {fmt(t_k2_active, t_both)}, "
              f"{k1} retire {fmt(t_k1_retire, t_both)}, gone {fmt(t_k1_gone, t_both)}")
        g = seen[-1][1] if seen else None
        check(f"6 [{z}] after the KSK roll: active, KSK {k2} only, DS = {k2}'s",
              g and g["status"] == "active" and only_states(g, "ksk", {k2: "active"})
              and [d["key_tag"] for d in g["ds_records"]] == [k2], key_summary(g))
        check(f"6 [{z}] served DNSKEY = {k2} + {z1}, signed by {k2}",
              wait_until(lambda: tags_of(served_dnskey(sat.port, z)) == {k2, z1}
                         and sig_tags(ask(sat.port, z, "DNSKEY"), T.DNSKEY) == {k2}, 5),
              show(ask(sat.port, z, "DNSKEY")))
        tl.mark_at(t_k1_gone, f"KSK roll done ({k1} gone)")
        knot.set_ds([ds_text(d) for d in ds2], label)
        tl.mark(f"parent drops the old DS (DS {k2} only)")
        time.sleep(2)

        # ---- disable
        mark_dis = sat.log.mark()
        r = api.post(z, "disable")
        expect(f"6 [{z}] disable: 200", r, 200)
        tl.mark("disable (pending_disabled; the parent still has DS)")
        wait = 3 * iv + 0.5
        ok, g = holds(api, z, lambda s: s["status"] == "pending_disabled" and len(keys_of(s)) == 2, wait)
        check(f"6 [{z}] pending_disabled, stays so for {wait:.1f} s while the parent still has our DS",
              ok and not log_lines(sat, z, "DS removal confirmed", mark_dis), key_summary(g))
        knot.set_ds([], label)
        t_no_ds = time.time()
        tl.mark("parent removes the DS (no confirm-ds-removed)")
        lines = wait_until(lambda: log_lines(sat, z, "parent DS check: DS removal confirmed", mark_dis), iv + 4)
        check(f"6 [{z}] log: \"parent DS check: DS removal confirmed\" within {iv + 4} s of the DS leaving the parent",
              lines, sat.log.tail(10, mark_dis))
        if lines:
            tl.mark("DS removal confirmed (by satellited)")
        g = wait_state(api, z, lambda s: s["status"] == "disabled" and not keys_of(s),
                       iv + 4 + FAST["ds_ttl"] + FAST["delay"] + 3)
        check(f"6 [{z}] disabled by itself, no keys", g and g["status"] == "disabled" and not keys_of(g),
              f"{time.time() - t_no_ds:.1f} s after the DS left: {key_summary(g)}")
        got = wait_until(lambda: served_unsigned(sat.port, z), 5, interval=0.1)
        t_unsigned = time.time()
        check(f"6 [{z}] served unsigned: no DNSKEY, RRSIG, NSEC, CDS in answers", got,
              show(ask(sat.port, f"www.{z}", "A")))
        check(f"6 [{z}] it stayed signed for the parent's DS TTL + delay ({FAST['ds_ttl'] + FAST['delay']} s) after "
              f"the DS left the parent", got and t_unsigned - t_no_ds >= FAST["ds_ttl"] + FAST["delay"] - 1.05,
              f"unsigned {t_unsigned - t_no_ds:.1f} s after the DS left")
        tl.mark("served unsigned")
        time.sleep(SETTLE + 1)
    finally:
        loop.stopping = True
        loop.join(timeout=15)
        tl.mark("query loop stopped")
    n_checks = log_lines(sat, z, "parent DS check", mark)
    info(f"{z}: {len(n_checks)} 'parent DS check' log lines")
    judge_loop(loop, tl, t_first_ds, t_no_ds, t_unsigned, ub, step="6")


def served_set(port, zone, rdtype):
    """The rdata texts (upper case) of the zone's apex RRset of `rdtype`."""
    r = ask(port, zone, rdtype)
    if r is None:
        return None
    return sorted(rd.to_text().upper() for rr in rrsets(r, "answer", T.from_text(rdtype)) for rd in rr)


def step_standby(sat, knot, ub):
    """Step 8: sb.test. keeps a standby KSK; its DS goes to the parent first,
    and a KSK roll then waits only for the DNSKEY TTL."""
    api = sat.api
    z = SB
    label = z.split(".")[0]
    iv = CHECK_INTERVAL
    tl, loop = start_query_loop(sat, ub, z)
    t_first_ds = None
    try:
        time.sleep(1)
        r = api.post(z, "enable")
        expect(f"8 [{z}] enable: 200", r, 200, {"ksk", "zsk", "ds_records"})
        g = api.status(z)
        ds1 = (g or {}).get("ds_records") or []
        if not check(f"8 [{z}] pending_ds, one KSK and no standby yet",
                     g and g["status"] == "pending_ds" and len(ds1) == 1 and len(g["ksk"]) == 1
                     and g["ksk"][0].get("standby") is False, key_summary(g)):
            return
        k1, z1 = g["ksk"][0]["key_tag"], g["zsk"][0]["key_tag"]
        knot.set_ds([ds_text(d) for d in ds1], label)
        t_first_ds = time.time()
        tl.mark(f"parent publishes DS {k1}")

        # ---- active, and a standby KSK appears (ds_submit): CDS yes, DNSKEY no
        def standby_of(s):
            return next((k for k in (s or {}).get("ksk") or [] if k.get("standby")), None)
        g = wait_state(api, z, lambda s: s["status"] == "active" and standby_of(s), iv + 6)
        sb = standby_of(g)
        if not check(f"8 [{z}] active by itself, then a standby KSK in ds_submit (standby: true, active: false)",
                     g and g["status"] == "active" and sb and sb["state"] == "ds_submit" and sb["active"] is False
                     and (key_by_tag(g, k1) or {}).get("state") == "active", key_summary(g)):
            return
        ks = sb["key_tag"]
        tl.mark(f"active; standby KSK {ks} ds_submit")
        ds_ks = [d for d in g["ds_records"] if d["key_tag"] == ks]
        check(f"8 [{z}] GET ds_records = DS {k1} + standby DS {ks}",
              sorted(d["key_tag"] for d in g["ds_records"]) == sorted([k1, ks]) and len(ds_ks) == 1
              and not ds_problems(z, g["ds_records"], g["ksk"]), repr(g["ds_records"]))
        want_cds = sorted(ds_text(d).upper() for d in g["ds_records"])
        check(f"8 [{z}] served CDS names {k1} and the standby {ks}; CDNSKEY has both KSKs",
              wait_until(lambda: served_set(sat.port, z, "CDS") == want_cds
                         and len(served_set(sat.port, z, "CDNSKEY") or []) == 2, 5),
              f"CDS {served_set(sat.port, z, 'CDS')}, want {want_cds}")
        check(f"8 [{z}] served DNSKEY = {k1} + {z1} only (the standby is not published), signed by {k1}",
              tags_of(served_dnskey(sat.port, z)) == {k1, z1}
              and sig_tags(ask(sat.port, z, "DNSKEY"), T.DNSKEY) == {k1}, show(ask(sat.port, z, "DNSKEY")))
        wait = 2 * iv + 0.5
        ok, g = holds(api, z, lambda s: s["status"] == "active" and (key_by_tag(s, ks) or {}).get("state")
                      == "ds_submit", wait)
        check(f"8 [{z}] the standby stays ds_submit for {wait:.1f} s while the parent has only DS {k1}", ok,
              key_summary(g))

        # ---- the parent takes the standby's DS: ds_publish, then ds_ready
        knot.set_ds([ds_text(d) for d in ds1 + ds_ks], label)
        t_both = time.time()
        tl.mark(f"parent publishes DS {k1} + standby {ks}")
        seen = watch_keys(api, z, lambda s: (key_by_tag(s, ks) or {}).get("state") == "ds_ready",
                          iv + 4 + FAST["ds_ttl"] + FAST["delay"] + 4)
        t_pub = first_seen(seen, lambda s: (key_by_tag(s, ks) or {}).get("state") == "ds_publish")
        t_ready = first_seen(seen, lambda s: (key_by_tag(s, ks) or {}).get("state") == "ds_ready")
        check(f"8 [{z}] standby {ks}: ds_publish by itself within {iv + 4} s of the parent publishing its DS, "
              f"ds_ready no sooner than DS TTL + delay ({FAST['ds_ttl'] + FAST['delay']} s) later",
              t_pub and t_ready and t_pub - t_both <= iv + 4
              and t_ready - t_pub >= FAST["ds_ttl"] + FAST["delay"] - 1.3,
              f"ds_publish {fmt(t_pub, t_both)}, ds_ready {fmt(t_ready, t_both)}; "
              f"{key_summary(seen[-1][1] if seen else None)}")
        check(f"8 [{z}] status active and KSK {k1} active all along; the standby never published",
              seen and all(g["status"] == "active" and (key_by_tag(g, k1) or {}).get("state") == "active"
                           and (key_by_tag(g, ks) or {}).get("standby") is True for _, g in seen)
              and tags_of(served_dnskey(sat.port, z)) == {k1, z1},
              key_summary(next((g for _, g in seen if g["status"] != "active"), None)))
        tl.mark_at(t_pub, f"standby {ks} ds_publish")
        tl.mark_at(t_ready, f"standby {ks} ds_ready")
        g = api.status(z)
        check(f"8 [{z}] ds_ready waits for no timed move (next_transition null)",
              g and (key_by_tag(g, ks) or {}).get("next_transition") is None, repr(key_by_tag(g, ks)))

        # ---- the roll: key_publish, then active, without a change at the parent
        mark_roll = sat.log.mark()
        parent_ds = knot.served_ds(label)
        r = api.post(z, "rotate-ksk")
        t_roll = time.time()
        expect(f"8 [{z}] rotate-ksk: 200 with new_key and ds_records", r, 200, {"new_key", "ds_records"})
        e = r.json if isinstance(r.json, dict) else {}
        check(f"8 [{z}] rotate-ksk reply: new_key = the standby {ks}, old_key = {k1}, ds_records = its DS",
              (e.get("new_key") or {}).get("key_tag") == ks and (e.get("old_key") or {}).get("key_tag") == k1
              and [d["key_tag"] for d in e.get("ds_records") or []] == [ks], repr(r))
        tl.mark(f"rotate-ksk: standby {ks} key_publish")
        g = api.status(z)
        check(f"8 [{z}] rotating_ksk; {ks} key_publish (no longer standby), {k1} active",
              g and g["status"] == "rotating_ksk" and (key_by_tag(g, ks) or {}).get("state") == "key_publish"
              and (key_by_tag(g, ks) or {}).get("standby") is False
              and (key_by_tag(g, k1) or {}).get("state") == "active", key_summary(g))
        check(f"8 [{z}] served DNSKEY = {k1} + {ks} + {z1}, signed by both KSKs",
              wait_until(lambda: tags_of(served_dnskey(sat.port, z)) == {k1, ks, z1}
                         and sig_tags(ask(sat.port, z, "DNSKEY"), T.DNSKEY) == {k1, ks}, 5),
              show(ask(sat.port, z, "DNSKEY")))
        budget = FAST["soa_ttl"] + FAST["delay"] + FAST["soa_ttl"] + FAST["delay"] + 6
        seen = watch_keys(api, z, lambda s: key_by_tag(s, k1) is None and standby_of(s), budget)
        t_active = first_seen(seen, lambda s: (key_by_tag(s, ks) or {}).get("state") == "active")
        t_gone = first_seen(seen, lambda s: key_by_tag(s, k1) is None)
        t_next = first_seen(seen, standby_of)
        check(f"8 [{z}] {ks} active no sooner than DNSKEY TTL + delay ({FAST['soa_ttl'] + FAST['delay']} s) after "
              f"rotate-ksk; {k1} retired, then gone; status active",
              t_active and t_gone and t_active - t_roll >= FAST["soa_ttl"] + FAST["delay"] - 1.3 and t_gone > t_active
              and seen[-1][1]["status"] == "active",
              f"active {fmt(t_active, t_roll)}, {k1} gone {fmt(t_gone, t_roll)}; "
              f"{key_summary(seen[-1][1] if seen else None)}")
        tl.mark_at(t_active, f"{ks} active, {k1} retire")
        tl.mark_at(t_gone, f"{k1} gone")
        check(f"8 [{z}] the roll needed no change at the parent and no DS confirmation",
              knot.served_ds(label) == parent_ds and not log_lines(sat, z, "DS publication confirmed", mark_roll),
              f"parent DS {knot.served_ds(label)}")
        g = seen[-1][1] if seen else None
        nxt = standby_of(g)
        check(f"8 [{z}] the next standby KSK appears once the old KSK is gone (ds_submit), in CDS",
              nxt and t_next and t_next >= t_gone and nxt["key_tag"] not in (k1, ks) and nxt["state"] == "ds_submit"
              and sorted(d["key_tag"] for d in g["ds_records"]) == sorted([ks, nxt["key_tag"]]), key_summary(g))
        if nxt:
            want_cds = sorted(ds_text(d).upper() for d in g["ds_records"])
            check(f"8 [{z}] served CDS = DS {ks} + the next standby; DNSKEY = {ks} + {z1}, signed by {ks}",
                  wait_until(lambda: served_set(sat.port, z, "CDS") == want_cds
                             and tags_of(served_dnskey(sat.port, z)) == {ks, z1}
                             and sig_tags(ask(sat.port, z, "DNSKEY"), T.DNSKEY) == {ks}, 5),
                  f"CDS {served_set(sat.port, z, 'CDS')}, DNSKEY {sorted(tags_of(served_dnskey(sat.port, z)))}")
        knot.set_ds([ds_text(d) for d in ds_ks], label)
        tl.mark(f"parent drops DS {k1} (DS {ks} only)")
        time.sleep(3)
    finally:
        loop.stopping = True
        loop.join(timeout=15)
        tl.mark("query loop stopped")
    judge_loop(loop, tl, t_first_ds, time.time(), None, ub, step="8")


class FakeParent(threading.Thread):
    """A parent's authoritative server over TCP that answers every query as
    `mode` says: servfail, refused, nodata, nxdomain, or ds (the DS RRset
    `ds`, text lines). Each query is kept: (time, qname, qtype)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOOP, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.mode, self.ds = "servfail", []
        self.proxy_port = None  # DNSKEY queries (all, in mode "proxy") go there
        self.queries = []
        self.errors = []
        self.stopping = False

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        try:
            conn.settimeout(3)
            while not self.stopping:
                hdr = recv_exact(conn, 2)
                if hdr is None:
                    return
                wire = recv_exact(conn, struct.unpack("!H", hdr)[0])
                if wire is None:
                    return
                q = dns.message.from_wire(wire)
                qn, qt = q.question[0].name, q.question[0].rdtype
                self.queries.append((time.time(), qn.to_text(), T.to_text(qt)))
                mode = self.mode
                if self.proxy_port and (qt == T.DNSKEY or mode == "proxy"):
                    out = dns.query.tcp(q, LOOP, port=self.proxy_port, timeout=3).to_wire()
                    conn.sendall(struct.pack("!H", len(out)) + out)
                    continue
                r = dns.message.make_response(q)
                r.flags |= dns.flags.AA
                if mode == "servfail":
                    r.set_rcode(dns.rcode.SERVFAIL)
                elif mode == "refused":
                    r.set_rcode(dns.rcode.REFUSED)
                elif mode == "nxdomain":
                    r.set_rcode(dns.rcode.NXDOMAIN)
                elif mode == "ds" and qt == T.DS:
                    r.answer.append(dns.rrset.from_text_list(qn, 2, "IN", "DS", list(self.ds)))
                out = r.to_wire()
                conn.sendall(struct.pack("!H", len(out)) + out)
        except (OSError, dns.exception.DNSException) as e:
            self.errors.append(repr(e))
        finally:
            conn.close()

    def stop(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass


def step_forged_parent(sat, knot):
    """Step 9: forged.test. checks its DS at a stand-in parent with
    parent_trust_anchor = test.'s DS. The stand-in relays DNSKEY queries to
    Knot (the real, signed test. keys) and answers DS queries itself:
    unsigned answers, true or not, are refused; Knot's own answers, relayed,
    validate."""
    api = sat.api
    z = FORGED
    label = z.split(".")[0]
    iv = CHECK_INTERVAL
    g = api.status(z)
    ds1 = (g or {}).get("ds_records") or []
    if not check(f"9 [{z}] `enabled = true` with parent_trust_anchor: pending_ds, one DS to publish",
                 g and g["status"] == "pending_ds" and len(ds1) == 1, key_summary(g)):
        return
    try:
        fake = FakeParent(sat.forged_parent_port)
    except OSError as e:
        raise HarnessError(f"cannot listen on 127.0.0.1:{sat.forged_parent_port} for the stand-in parent: {e!r}")
    fake.proxy_port = knot.port
    fake.start()
    try:
        # Our true DS, but unsigned: a spoofed answer must not count.
        mark = sat.log.mark()
        n0 = len(fake.queries)
        fake.mode, fake.ds = "ds", [ds_text(ds1[0])]
        wait = 3 * iv + 0.5
        ok, g = holds(api, z, lambda s: s["status"] == "pending_ds", wait)
        lines = log_lines(sat, z, "does not validate", mark)
        check(f"9 [{z}] the stand-in answers our true DS unsigned: stays pending_ds for {wait:.1f} s, logged "
              f"\"does not validate\"", ok and lines and not log_lines(sat, z, "DS publication confirmed", mark),
              f"{key_summary(g)}; " + ("\n      ".join(lines[:2]) or sat.log.tail(8, mark)))
        if lines:
            info(lines[0])
        qs = {(q[1].lower(), q[2]) for q in fake.queries[n0:]}
        check(f"9 [{z}] satellited asked for test. DNSKEY (relayed to Knot) and {z} DS",
              qs == {("test.", "DNSKEY"), (z, "DS")}, f"{qs}")
        # Knot's own answer, relayed: NODATA with its NSEC proof, then the DS.
        mark = sat.log.mark()
        fake.mode = "proxy"
        time.sleep(2 * iv + 0.5)
        g = api.status(z)
        check(f"9 [{z}] Knot's signed NODATA (relayed) validates: no \"does not validate\" since, still pending_ds",
              g and g["status"] == "pending_ds" and not log_lines(sat, z, "does not validate", mark),
              f"{key_summary(g)}; " + "\n      ".join(log_lines(sat, z, "does not validate", mark)[:2]))
        knot.set_ds([ds_text(d) for d in ds1], label)
        t0 = time.time()
        g = wait_state(api, z, lambda s: s["status"] == "active", iv + 5)
        check(f"9 [{z}] Knot publishes the DS (signed, relayed): active by itself",
              g and g["status"] == "active", f"after {time.time() - t0:.1f} s: {key_summary(g)}")

        # Removal: an unsigned NXDOMAIN is not a proof; Knot's NSEC NODATA is.
        r = api.post(z, "disable")
        expect(f"9 [{z}] disable: 200", r, 200)
        mark = sat.log.mark()
        fake.mode = "nxdomain"
        wait = 3 * iv + 0.5
        ok, g = holds(api, z, lambda s: s["status"] == "pending_disabled", wait)
        check(f"9 [{z}] the stand-in answers an unsigned NXDOMAIN: stays pending_disabled for {wait:.1f} s",
              ok and log_lines(sat, z, "does not validate", mark)
              and not log_lines(sat, z, "DS removal confirmed", mark), key_summary(g))
        fake.mode = "proxy"
        ok, g = holds(api, z, lambda s: s["status"] == "pending_disabled", 2 * iv + 0.5)
        check(f"9 [{z}] Knot still has the DS (relayed, signed): stays pending_disabled", ok, key_summary(g))
        mark = sat.log.mark()
        knot.set_ds([], label)
        lines = wait_until(lambda: log_lines(sat, z, "parent DS check: DS removal confirmed", mark), iv + 5)
        check(f"9 [{z}] Knot drops the DS: its NSEC proof of no DS (relayed) validates, \"DS removal confirmed\"",
              lines, sat.log.tail(8, mark))
        g = wait_state(api, z, lambda s: s["status"] == "disabled", iv + 4 + FAST["ds_ttl"] + FAST["delay"] + 3)
        check(f"9 [{z}] then disabled", g and g["status"] == "disabled", key_summary(g))
        if fake.errors:
            info(f"stand-in parent: {len(fake.errors)} connections ended oddly: {'; '.join(fake.errors[:3])}")
    finally:
        fake.stop()


def step_parent_failing(sat):
    """Step 7: down.test. (`enabled = true`) has parent_ds_check at a port
    where nothing listens, then a stand-in parent that answers SERVFAIL,
    REFUSED, NODATA, a wrong DS, our DS, then NXDOMAIN."""
    api = sat.api
    z = DOWN
    port = sat.fake_parent_port
    iv = CHECK_INTERVAL
    g = api.status(z)
    check(f"7 [{z}] `enabled = true`, parent_ds_check at a closed port (127.0.0.1:{port}): still pending_ds, "
          f"KSK ds_submit", g and g["status"] == "pending_ds" and [k["state"] for k in g["ksk"]] == ["ds_submit"],
          key_summary(g))
    ds1 = (g or {}).get("ds_records") or []
    lines = log_lines(sat, z, "parent DS check failed", 0)
    check(f"7 [{z}] log: \"parent DS check failed\" naming 127.0.0.1:{port}",
          any(f"{LOOP}:{port}" in l for l in lines), "\n      ".join(lines[:3]) or sat.log.tail(10))
    if lines:
        info(lines[0])
    www = ask(sat.port, f"www.{z}", "A")
    n, p, uns = rrsig_problems(www, z, served_dnskey(sat.port, z)) if www else (0, ["no response"], [])
    plain = ask(sat.port, PLAIN, "SOA", do=False)
    check(f"7 [{z}] the daemon keeps serving: www.{z} A signed and valid, {PLAIN} SOA, /healthz 200",
          sat.alive() and n > 0 and not p and not uns and plain is not None and plain.rcode() == dns.rcode.NOERROR
          and api.call("GET", "/healthz", None).status == 200, "; ".join(p + uns) + show(www))
    if not check(f"7 [{z}] one DS to publish", len(ds1) == 1, key_summary(g)):
        return
    try:
        fake = FakeParent(port)
    except OSError as e:
        raise HarnessError(f"cannot listen on 127.0.0.1:{port} for the stand-in parent: {e!r}")
    fake.start()
    try:
        for mode, what in (("servfail", "SERVFAIL"), ("refused", "REFUSED")):
            mark = sat.log.mark()
            n0 = len(fake.queries)
            fake.mode = mode
            lines = wait_until(lambda: log_lines(sat, z, "parent DS check failed", mark), iv + 4)
            g = api.status(z)
            check(f"7 [{z}] the parent answers {what}: asked again, logged as \"parent DS check failed\", "
                  f"still pending_ds", lines and len(fake.queries) > n0 and g and g["status"] == "pending_ds",
                  f"{len(fake.queries) - n0} queries; {key_summary(g)}; " + ("\n      ".join(lines[:2]) or
                                                                             sat.log.tail(8, mark)))
            if lines:
                info(lines[0])
        wrong = dict(ds1[0])
        wrong["digest"] = ("0" if wrong["digest"][0] != "0" else "1") + wrong["digest"][1:]
        other = dict(ds1[0], key_tag=(ds1[0]["key_tag"] + 1) % 65536)
        for mode, ds, what in (("nodata", [], "NODATA"), ("ds", [ds_text(wrong), ds_text(other)],
                                                          "a DS set with neither our KSK's digest nor its tag")):
            n0 = len(fake.queries)
            fake.mode, fake.ds = mode, ds
            wait = 2 * iv + 0.5
            ok, g = holds(api, z, lambda s: s["status"] == "pending_ds", wait)
            check(f"7 [{z}] the parent answers {what}: asked again, stays pending_ds for {wait:.1f} s",
                  ok and len(fake.queries) - n0 >= 2, f"{len(fake.queries) - n0} queries; {key_summary(g)}")
        qs = {(q[1].lower(), q[2]) for q in fake.queries}
        check(f"7 [{z}] the stand-in parent was asked (over TCP) for {z} DS only", qs == {(z, "DS")}, f"{qs}")

        mark = sat.log.mark()
        fake.mode, fake.ds = "ds", [ds_text(ds1[0]), ds_text(other)]
        t0 = time.time()
        g = wait_state(api, z, lambda s: s["status"] == "active", iv + 4)
        check(f"7 [{z}] the parent answers our DS (and another): active by itself within {iv + 4} s",
              g and g["status"] == "active" and [k["state"] for k in keys_of(g)] == ["active", "active"],
              f"after {time.time() - t0:.1f} s: {key_summary(g)}")
        check(f"7 [{z}] log: \"parent DS check: DS publication confirmed\"",
              wait_until(lambda: log_lines(sat, z, "parent DS check: DS publication confirmed", mark), 2),
              sat.log.tail(8, mark))

        r = api.post(z, "disable")
        expect(f"7 [{z}] disable: 200", r, 200)
        wait = 2 * iv + 0.5
        ok, g = holds(api, z, lambda s: s["status"] == "pending_disabled", wait)
        check(f"7 [{z}] stays pending_disabled for {wait:.1f} s while the parent answers our DS", ok, key_summary(g))
        mark = sat.log.mark()
        fake.mode = "nxdomain"
        t0 = time.time()
        g = wait_state(api, z, lambda s: s["status"] == "disabled" and not keys_of(s),
                       iv + 4 + FAST["ds_ttl"] + FAST["delay"] + 2)
        check(f"7 [{z}] the parent answers NXDOMAIN: DS removal confirmed by itself, then disabled",
              g and g["status"] == "disabled" and not keys_of(g)
              and log_lines(sat, z, "parent DS check: DS removal confirmed", mark),
              f"after {time.time() - t0:.1f} s: {key_summary(g)}; {sat.log.tail(6, mark)}")
        n0 = len(fake.queries)
        time.sleep(iv + 1)
        check(f"7 [{z}] once disabled the parent is not asked any more", len(fake.queries) - n0 <= 1,
              f"{len(fake.queries) - n0} queries in {iv + 1} s")
        if fake.errors:
            info(f"stand-in parent: {len(fake.errors)} connections ended oddly: {'; '.join(fake.errors[:3])}")
    finally:
        fake.stop()


# ================================================================ step 3 ====
def step_restarts(sat, notify):
    api = sat.api
    z = ROLL
    g = wait_state(api, z, lambda s: s["status"] == "pending_ds", 5)
    check(f"3 [{z}] `enabled = true` with nothing stored: pending_ds, KSK ds_submit + ZSK active",
          g and g["status"] == "pending_ds" and [k["state"] for k in g["ksk"]] == ["ds_submit"]
          and [k["state"] for k in g["zsk"]] == ["active"], key_summary(g))
    if not g or not g["ds_records"]:
        return
    k1, z1 = g["ksk"][0]["key_tag"], g["zsk"][0]["key_tag"]
    r = api.post(z, "confirm-ds-published", ds_body(g["ds_records"]))
    expect(f"3 [{z}] confirm-ds-published: 200", r, 200)
    ds1 = g["ds_records"]

    def restart(label, margin_keys):
        before = api.status(z)
        dk_before = tags_of(served_dnskey(sat.port, z))
        nts = [iso(k["next_transition"]) for k in keys_of(before) if k.get("next_transition")]
        t0 = time.time()
        nmark = notify.mark()
        pid = sat.proc.pid
        rc = sat.stop()
        stopping = notify.wait(nmark, "STOPPING", pid=pid, timeout=2)
        check(f"3 [{label}] SIGTERM: exit 0", rc == 0, f"exit {rc}{sat.log.tail(10)}")
        check(f"3 [{label}] SIGTERM: STOPPING=1 sent", stopping, f"notifications {notify.since(nmark)}")
        try:
            mark, ready, answered, _ = sat.start(notify)
        except StartFailure as e:
            check(f"3 [{label}] satellited starts again on the same state_dir", False, str(e))
            raise
        check(f"3 [{label}] restart: READY=1 again", ready, f"notifications {[m[3] for m in notify.since(nmark)]}")
        after = api.status(z)
        zi = api.call("GET", f"/api/v1/zones/{z.rstrip('.')}", READER).json or {}
        took = time.time() - t0
        in_time = all(nt > time.time() for nt in nts)
        check(f"3 [{label}] restart took {took:.1f} s, before the next key event", in_time,
              f"next transitions {[iso_text(t) for t in nts]}, now {iso_text(time.time())}")
        check(f"3 [{label}] GET after the restart = GET before ({key_summary(before)})",
              before is not None and after == before,
              f"before {json.dumps(before, sort_keys=True)}\n      after  {json.dumps(after, sort_keys=True)}")
        check(f"3 [{label}] /api/v1/zones/{z.rstrip('.')} dnssec_status after the restart = {after and after['status']}",
              after is not None and zi.get("dnssec_status") == after["status"], f"{zi}")
        dk_after = wait_until(lambda: (lambda t: t if t == dk_before else None)(tags_of(served_dnskey(sat.port, z))),
                              5)
        check(f"3 [{label}] served DNSKEY after the restart = before {sorted(dk_before)}", dk_after,
              f"now {sorted(tags_of(served_dnskey(sat.port, z)))}")
        www = ask(sat.port, f"www.{z}", "A")
        n, p, uns = rrsig_problems(www, z, served_dnskey(sat.port, z)) if www else (0, ["no response"], [])
        check(f"3 [{label}] www A signed and valid after the restart", n > 0 and not p and not uns,
              "; ".join(p + uns) + show(www))
        return after

    # ZSK roll with two restarts
    r = api.post(z, "rotate-zsk")
    expect(f"3 [{z}] rotate-zsk: 200", r, 200)
    z2 = ((r.json or {}).get("new_key") or {}).get("key_tag") if isinstance(r.json, dict) else None
    g = api.status(z)
    check(f"3 [{z}] rotating_zsk, new ZSK {z2} publish", g and g["status"] == "rotating_zsk" and
          (key_by_tag(g, z2) or {}).get("state") == "publish", key_summary(g))
    restart("rotating_zsk, new ZSK published", True)
    g = wait_state(api, z, lambda s: (key_by_tag(s, z2) or {}).get("state") == "active", 20)
    check(f"3 [{z}] after the restart the new ZSK {z2} becomes active by itself, old {z1} retire",
          g and (key_by_tag(g, z2) or {}).get("state") == "active" and (key_by_tag(g, z1) or {}).get("state")
          == "retire", key_summary(g))
    restart("rotating_zsk, old ZSK retiring", True)
    g = wait_state(api, z, lambda s: s["status"] == "active" and key_by_tag(s, z1) is None, 25)
    check(f"3 [{z}] the ZSK roll completes by itself after the restarts: active, ZSK {z2} only",
          g and g["status"] == "active" and only_states(g, "zsk", {z2: "active"}), key_summary(g))
    check(f"3 [{z}] served DNSKEY = {k1} + {z2}",
          wait_until(lambda: tags_of(served_dnskey(sat.port, z)) == {k1, z2}, 5),
          f"{sorted(tags_of(served_dnskey(sat.port, z)))}")

    # KSK roll with three restarts
    r = api.post(z, "rotate-ksk")
    expect(f"3 [{z}] rotate-ksk: 200", r, 200)
    e = r.json if isinstance(r.json, dict) else {}
    k2 = (e.get("new_key") or {}).get("key_tag")
    ds2 = e.get("ds_records") or []
    restart("rotating_ksk, before confirm", False)
    g = wait_ds_submit(api, z, k2, SLOW["soa_ttl"] + SLOW["delay"] + 5)  # its DNSKEY first (issue 15)
    check(f"3 [{z}] still rotating_ksk, new KSK {k2} ds_submit", g and g["status"] == "rotating_ksk" and
          (key_by_tag(g, k2) or {}).get("state") == "ds_submit", key_summary(g))
    r = api.post(z, "confirm-ds-published", ds_body(ds1 + ds2))
    expect(f"3 [{z}] confirm-ds-published after the restart: 200", r, 200)
    g = api.status(z)
    check(f"3 [{z}] new KSK {k2} ds_publish", (key_by_tag(g, k2) or {}).get("state") == "ds_publish", key_summary(g))
    restart("KSK ds_publish (after confirm)", True)
    g = wait_state(api, z, lambda s: (key_by_tag(s, k1) or {}).get("state") == "retire", 20)
    check(f"3 [{z}] after the restart {k2} becomes active, {k1} retire by themselves",
          g and only_states(g, "ksk", {k2: "active", k1: "retire"}), key_summary(g))
    restart("old KSK retiring", True)
    g = wait_state(api, z, lambda s: key_by_tag(s, k1) is None, 25)
    check(f"3 [{z}] the KSK roll completes by itself: active, KSK {k2} only, DS {k2}",
          g and g["status"] == "active" and only_states(g, "ksk", {k2: "active"})
          and [d["key_tag"] for d in g["ds_records"]] == [k2], key_summary(g))
    dkr = ask(sat.port, z, "DNSKEY")
    check(f"3 [{z}] served DNSKEY = {k2} + {z2}, signed by {k2}",
          wait_until(lambda: tags_of(served_dnskey(sat.port, z)) == {k2, z2}
                     and sig_tags(ask(sat.port, z, "DNSKEY"), T.DNSKEY) == {k2}, 5), show(dkr))
    files = sorted(os.listdir(os.path.join(sat.state, "keys"))) if os.path.isdir(os.path.join(sat.state, "keys")) \
        else []
    kdir = [d for d in files if d.rstrip(".").lower() == z.rstrip(".")]
    if kdir:
        keyfiles = sorted(f for f in os.listdir(os.path.join(sat.state, "keys", kdir[0])) if f.endswith(".key"))
        check(f"3 [{z}] key files on disk: only the two live keys", len(keyfiles) == 2
              and all(str(t) in " ".join(keyfiles) for t in (k2, z2)), f"{keyfiles}")


# ================================================================ step 5 ====
class Load(threading.Thread):
    def __init__(self, port, names):
        super().__init__(daemon=True)
        self.port, self.names = port, names
        self.stopping = False
        self.n = 0
        self.bad = []

    def run(self):
        i = 0
        while not self.stopping:
            name, qt, want = self.names[i % len(self.names)]
            i += 1
            q = dns.message.make_query(name, qt, want_dnssec=True, payload=1232)
            q.flags &= ~dns.flags.RD
            t = time.time()
            try:
                r = dns.query.udp(q, LOOP, port=self.port, timeout=1.0)
                ok = r.rcode() == dns.rcode.NOERROR and any(rr.rdtype == T.from_text(qt) for rr in r.answer)
                if ok and want and not any(want in rd.to_text() for rr in r.answer for rd in rr):
                    ok = False
                if not ok:
                    self.bad.append((t, f"{name} {qt}: {dns.rcode.to_text(r.rcode())} {show(r, 400)}"))
            except (dns.exception.DNSException, OSError) as e:
                self.bad.append((t, f"{name} {qt}: {type(e).__name__}"))
            self.n += 1


class ApiLoad(threading.Thread):
    """API calls in a loop during the reloads: GET zones, GET roll.test.'s
    dnssec, POST refresh of roll.test."""

    def __init__(self, api):
        super().__init__(daemon=True)
        self.api = api
        self.stopping = False
        self.n = 0
        self.bad = []

    def run(self):
        calls = [("GET", "/api/v1/zones", READER, (200,)), ("GET", Api.dpath(ROLL), ADMIN, (200,)),
                 ("POST", f"/api/v1/zones/{ROLL.rstrip('.')}/refresh", ADMIN, (200, 202))]
        i = 0
        while not self.stopping:
            method, path, token, ok = calls[i % len(calls)]
            i += 1
            t = time.time()
            r = self.api.call(method, path, token)
            self.n += 1
            if r.status not in ok:
                self.bad.append((t, f"{method} {path}: {r!r}"))
            time.sleep(0.02)


def step_reload(sat, notify):
    api = sat.api
    roll_before = api.status(ROLL)
    names = [(f"www.{PLAIN}", "A", "192.0.2.10"), (PLAIN, "SOA", None), (f"www.{ROLL}", "A", "192.0.2.10"),
             (ROLL, "DNSKEY", None), (f"mail.{PLAIN}", "A", "192.0.2.25")]
    loads = [Load(sat.port, names[i:] + names[:i]) for i in range(2)]
    apiload = ApiLoad(api)
    loads.append(apiload)
    for l in loads:
        l.start()
    t0 = time.time()
    pid = sat.proc.pid

    def hup(label, expect_reloaded=True):
        mark = sat.log.mark()
        nmark = notify.mark()
        sat.proc.send_signal(signal.SIGHUP)
        rl = notify.wait(nmark, "RELOADING", pid=pid, timeout=10)
        rd = notify.wait(nmark, "READY", pid=pid, timeout=15, after=rl[0] if rl else None) if rl else None
        check(f"4 SIGHUP ({label}): RELOADING=1, then READY=1", rl and rd,
              f"notifications since: {[m[3] for m in notify.since(nmark)]}")
        if expect_reloaded:
            ok = wait_until(lambda: "reloaded" in sat.log.text(mark), 5)
            check(f"5 SIGHUP ({label}): log says reloaded", ok, sat.log.tail(8, mark))
        else:
            ok = wait_until(lambda: "reload refused" in sat.log.text(mark), 5)
            check(f"5 SIGHUP ({label}): reload refused, running config kept (logged)", ok, sat.log.tail(8, mark))
        time.sleep(2.5)

    try:
        time.sleep(2)
        check(f"5 before the reloads {NEW} is REFUSED",
              (lambda r: r is not None and r.rcode() == dns.rcode.REFUSED)(ask(sat.port, f"www.{NEW}", "A")), "")
        sat.zones.append(NEW)
        sat.write_config()
        hup("add new.test.")
        r = ask(sat.port, f"www.{NEW}", "A", do=False)
        check(f"5 added zone {NEW} answers www A", r is not None and r.rcode() == dns.rcode.NOERROR and r.answer,
              show(r))
        sat.zones.remove(GONE)
        sat.write_config()
        hup("remove gone.test.")
        r = ask(sat.port, f"www.{GONE}", "A", do=False)
        check(f"5 removed zone {GONE} is REFUSED", r is not None and r.rcode() == dns.rcode.REFUSED, show(r))
        sat.chg_file = sat.files["chg2.test."]
        sat.write_config()
        hup("chg.test. file changed")
        r = ask(sat.port, f"www.{CHG}", "A", do=False)
        check(f"5 {CHG} serves the new file (www A 192.0.2.2, serial 2)",
              r is not None and any("192.0.2.2" == rd.to_text() for rr in r.answer for rd in rr)
              and (lambda s: s is not None and s.answer and s.answer[0][0].serial == 2)(
                  ask(sat.port, CHG, "SOA", do=False)), show(r))
        with open(sat.chg_file, "w") as f:  # the same path, new content
            f.write(zone_text(CHG, 30, 60, www="192.0.2.3", serial=3))
        hup("chg.test.'s file edited in place")
        r = ask(sat.port, f"www.{CHG}", "A", do=False)
        check(f"5 {CHG} serves the edited file (www A 192.0.2.3)",
              r is not None and any("192.0.2.3" == rd.to_text() for rr in r.answer for rd in rr), show(r))
        hup("no change")
        sat.write_config(broken=True)
        hup("broken config", expect_reloaded=False)
        sat.write_config()
        r = ask(sat.port, f"www.{CHG}", "A", do=False)
        rn = ask(sat.port, f"www.{NEW}", "A", do=False)
        check("5 after the refused reload the running config still serves (chg.test. edited, new.test.)",
              r is not None and any("192.0.2.3" == rd.to_text() for rr in r.answer for rd in rr)
              and rn is not None and rn.rcode() == dns.rcode.NOERROR and rn.answer, show(r) + show(rn))
        left = 20 - (time.time() - t0)
        if left > 0:
            time.sleep(left)
    finally:
        for l in loads:
            l.stopping = True
        for l in loads:
            l.join(timeout=10)
    loads.remove(apiload)
    check(f"5 the REST API answers throughout the reloads ({apiload.n} calls: zones, dnssec GET, refresh)",
          apiload.n > 50 and not apiload.bad, f"{len(apiload.bad)} bad: " +
          "; ".join(f"{iso_text(t)} {d}" for t, d in apiload.bad[:5]))
    n = sum(l.n for l in loads)
    bad = sorted(b for l in loads for b in l.bad)
    print(f"      reload load: {n} queries in {time.time() - t0:.0f} s from 2 threads", flush=True)
    check(f"5 no failed or timed-out query for the stable zones {PLAIN} {ROLL} during 6 reloads ({n} queries)",
          n > 1000 and not bad, f"{len(bad)} bad: " + "; ".join(f"{iso_text(t)} {d}" for t, d in bad[:5]))
    roll_after = api.status(ROLL)
    check(f"5 {ROLL}'s DNSSEC state is unchanged by the reloads", roll_before == roll_after,
          f"{key_summary(roll_before)} -> {key_summary(roll_after)}")
    r = api.call("GET", "/api/v1/zones", READER)
    names = sorted(x.get("name") for x in (r.json or []) if isinstance(x, dict))
    check("5 /api/v1/zones after the reloads lists new.test. and not gone.test.",
          NEW in names and GONE not in names, f"{names}")


# ================================================================= main ====
def main():
    global VERBOSE
    ap = arg_parser("DNSSEC lifecycle end to end", HERE)
    args = ap.parse_args()
    VERBOSE = args.verbose
    add_sbin_to_path()
    binary = os.path.abspath(args.satellited)
    why = skip_reason(["knotd", "knotc", "unbound"], binary)
    if why:
        return skip(why, "0 passed, 0 failed")
    ctl = os.path.join(os.path.dirname(binary), "satellitectl")
    if not os.access(ctl, os.X_OK):
        print(f"note: {ctl} not found; the satellitectl checks are skipped", flush=True)
        ctl = None

    interrupt_on_sigterm()

    workdir = tempfile.mkdtemp(prefix="satellite-lifecycle-")
    print(f"work directory: {workdir}; satellited: {binary}", flush=True)
    t0 = time.monotonic()
    harness_error = False
    notify = None
    try:
        notify = Notify(os.path.join(workdir, "notify.sock"))
        notify.start()
        knot = Knot(workdir)
        knot.start()
        print(f"knot up on {knot.port}: parent test. anchor DS {knot.anchor} ({time.monotonic() - t0:.1f} s)",
              flush=True)
        sat = Satellited(binary, workdir, knot.port, notify.path)
        sat.parent_anchor = knot.anchor
        sat.write_config()
        mark, ready, answered, nmark = sat.start(notify)
        print(f"satellited up on {sat.port}, API {sat.api_port} ({time.monotonic() - t0:.1f} s)", flush=True)
        print("--- 4: systemd notify at start", flush=True)
        msgs = notify.since(nmark, sat.proc.pid)
        check("4 start: READY=1 received from satellited's pid", ready, f"received {[m[3] for m in msgs]}")
        check("4 start: STATUS= sent", any("STATUS" in m[2] and m[2]["STATUS"] for m in msgs),
              f"received {[m[3] for m in msgs]}")
        check("4 start: the DNS port answers when READY=1 arrives", answered, "no answer for plain.test. SOA")
        check(f"0 {ROLL} transferred from Knot and signed",
              wait_until(lambda: served_dnskey(sat.port, ROLL) is not None, 15), sat.log.tail(10))

        print("--- 1: API contract", flush=True)
        step_api(sat, ctl)

        print("--- 2: the full life of lc.test. under a validating resolver", flush=True)
        ub = Unbound(workdir, knot.anchor, knot.port, sat.port)
        ub.start()
        r = ask(ub.port, f"www.{LC}", "A", rd=True)
        check(f"2 unbound resolves www.{LC} (insecure: no DS at the parent yet)",
              r is not None and r.rcode() == dns.rcode.NOERROR and not (r.flags & dns.flags.AD), show(r))
        step_life(sat, knot, ub, workdir)

        print("--- 6: auto.test.: satellited checks the parent's DS itself (parent_ds_check)", flush=True)
        r = ask(ub.port, f"www.{AUTO}", "A", rd=True)
        check(f"6 unbound resolves www.{AUTO} (insecure: no DS at the parent yet)",
              r is not None and r.rcode() == dns.rcode.NOERROR and not (r.flags & dns.flags.AD), show(r))
        t6 = time.monotonic()
        step_parent_check(sat, knot, ub)
        print("--- 8: sb.test.: a standby KSK (ds_submit, ds_publish, ds_ready, key_publish)", flush=True)
        step_standby(sat, knot, ub)
        ub.stop()
        print("--- 7: down.test.: parent_ds_check at a closed port, then a parent that fails", flush=True)
        step_parent_failing(sat)
        print("--- 9: forged.test.: parent_trust_anchor refuses what does not validate", flush=True)
        step_forged_parent(sat, knot)
        info(f"steps 6 to 9 took {time.monotonic() - t6:.0f} s")

        print("--- 3: restarts in the middle of each rollover", flush=True)
        step_restarts(sat, notify)

        print("--- 5: SIGHUP reloads under load (and 4: RELOADING/READY)", flush=True)
        step_reload(sat, notify)

        print("--- 4: SIGTERM", flush=True)
        nmark = notify.mark()
        pid = sat.proc.pid
        rc = sat.stop()
        check("4 SIGTERM: exit 0", rc == 0, f"exit {rc}{sat.log.tail(10)}")
        check("4 SIGTERM: STOPPING=1 sent", notify.wait(nmark, "STOPPING", pid=pid, timeout=2),
              f"received {[m[3] for m in notify.since(nmark)]}")
        crit = sat.log.lines(lambda l: " critical " in l or "AddressSanitizer" in l or "runtime error" in l)
        check("satellited log has no critical/sanitizer lines", not crit, "\n      ".join(crit[:10]))
    except (Exception, KeyboardInterrupt) as e:
        harness_error = record_abort(e, "0 satellited starts")
    finally:
        stop_all()
        if notify:
            notify.stop()
        finish_workdir(workdir, t0, args.keep)
    CHECKS.print_failures()
    if harness_error:
        print("harness error (see above)")
    print(f"{CHECKS.passed} passed, {CHECKS.failed} failed")
    return 0 if CHECKS.failed == 0 and not harness_error else 1


if __name__ == "__main__":
    sys.exit(main())
