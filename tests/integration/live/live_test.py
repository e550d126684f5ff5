#!/usr/bin/python3
# Live signing end to end (DESIGN.md §3 "live"): satellited pulls UNSIGNED
# zones from a Knot primary (AXFR, then IXFR from Knot's journal after a zone
# file edit + `knotc zone-reload` + NOTIFY), signs them itself, and serves
# them. Independent judges: ldns-verify-zone (on the zone satellited dumps
# through SATELLITE_DUMP_DIR), a validating unbound, delv, dnssec-dsfromkey,
# and direct DO=1 queries checked with dnspython. Everything is built at run
# time in a temporary directory on 127.0.0.1 ports picked at run time.
#
# Zones (one satellited, one Knot):
#   a<alg>-<denial>.test.   alg 8 10 13 14 15 x denial nsec nsec3, and compact
#                           for 13 and 15 only (the config refuses compact
#                           denial with others: it signs at query time)
#                           (12 zones; a10-nsec3 uses 5 iterations and a salt)
#     each: apex SOA/NS/A/MX/TXT, www A/AAAA, mail A, *.wild TXT, a.b.c TXT
#     (b.c and c are empty non-terminals), alias CNAME www, old TXT (removed
#     later), `sec` secure delegation (NS + glue + a made-up DS), `insec`
#     insecure delegation (NS + glue). The alg-13 zones also carry stray
#     DNSSEC records (a foreign DNSKEY, CDS, CDNSKEY, an RRSIG over www A by
#     that key, an NSEC at www, an NSEC3) that must be dropped and replaced.
#   refresh.test.           alg 13 NSEC, signature_validity 60s, refresh 40s
#
# Steps (numbered in the output):
#   0  harness: Knot serves the unsigned zones; satellited starts and logs
#      `zone Z: signed serial 1 (M signatures made, K kept)` for every zone
#   1  keys and DS: DNSKEY = one KSK (257) + one ZSK (256) of the configured
#      algorithm, no stray key; DS by dnssec-dsfromkey (the trust anchor)
#      equals dnspython's and the served CDS; CDNSKEY = the KSK; SOA serial =
#      the primary's; NSEC3PARAM = the configured parameters
#   2  direct DO=1 queries: every answer/authority RRset has RRSIGs by our
#      keys that validate (dnspython) with the contract's times (inception =
#      now - 1 h, expiration within validity and after refresh); denial proofs
#      (NSEC, NSEC3, compact "black lies" RFC 9824); stray records gone;
#      DO=0 answers carry no RRSIG/NSEC/NSEC3
#   3  ldns-verify-zone on the dumped zone (nsec, nsec3)
#   4  unbound (validating, one trust anchor per zone, stub-zones to
#      satellited): existing, missing, wildcard, NODATA, ENT, CNAME names and
#      the DS / no-DS at the cuts: expected rcode, AD, never SERVFAIL
#   5  delv +root=<zone>: "fully validated" / "negative response, fully validated"
#   6  IXFR (a13-nsec, a14-nsec3, a15-compact): a changed record, an added
#      name, a removed name; each re-signs only a few RRsets (M <= 10, K > M),
#      Knot's log shows an IXFR, the new data is served and validates
#   7  refresh.test. (validity 60s / refresh 40s), polled for ~80 s while
#      steps 1-6 run: no RRSIG ever outside inception..expiration, every RRSIG
#      validates, and re-signing happened (log lines, expiration moves)
#   8  keys on disk: <state_dir>/keys/<zone>/<ksk|zsk>-<alg>-<tag>.key, 0600
#      in a 0700 directory, tags = the served ones; SIGTERM (exit 0) +
#      restart: same tags, no key file added; then three key files damaged (a
#      base64 character changed inside an EC private scalar, one in the
#      middle of an RSA key, a file cut in half): "damaged" + path logged, no
#      new key file, daemon alive, the other zones unchanged, the damaged
#      zones serve no DNSKEY with a new tag and are not served signed
#      (SERVFAIL or unsigned)
#
# Run through run.sh. Exit 0 when no check failed (1 otherwise, 2 harness
# error, 77 a peer binary missing); the last line is `N passed, M failed`.
import concurrent.futures
import hashlib
import os
import re
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback

try:
    import dns.dnssec
    import dns.flags
    import dns.message
    import dns.query
    import dns.name
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError:
    sys.stderr.write("error: dnspython/cryptography missing: run with /usr/bin/python3 "
                     "(python3-dnspython, python3-cryptography)\n")
    sys.exit(2)

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import (CHECKS, HarnessError, LOOP, LogFile, N, Nsec3Set, NsecSet, StartFailure,  # noqa: E402
                     add_sbin_to_path, arg_parser, ask, ask_resolver, bitmap, check, check_config, delv, delv_ok,
                     delv_summary, denial_ent, denial_nodata, denial_nxdomain, finish_workdir, free_port,
                     interrupt_on_sigterm, record_abort, response_problems, run, sets, show, skip, skip_reason, spawn,
                     spawn_unbound, stop_all, stop_proc, stub_zone, unbound_conf, validation_failures, wait_until)

VERBOSE = False

T = dns.rdatatype
RRSIG, NSEC, NSEC3 = T.RRSIG, T.NSEC, T.NSEC3
DNSSEC_ONLY = (RRSIG, NSEC, NSEC3)

ALGS = [8, 10, 13, 14, 15]
DENIALS = ["nsec", "nsec3", "compact"]
ZONES = [f"a{a}-{d}.test." for a in ALGS for d in DENIALS if d != "compact" or a in (13, 15)]
STRAY_ZONES = [z for z in ZONES if z.startswith("a13-")]
REFRESH_ZONE = "refresh.test."
ALL_ZONES = ZONES + [REFRESH_ZONE]
VALIDITY, REFRESH = 14 * 86400, 7 * 86400
IXFR_ZONES = ["a13-nsec.test.", "a14-nsec3.test.", "a15-compact.test."]
# Step 8 damages three key files (the daemon is stopped while it happens):
#   a13-nsec KSK    one base64 character inside the P-256 private scalar: the
#                   PEM and the DER still parse, the key no longer matches
#   a8-nsec ZSK     one base64 character in the middle of the PEM body (RSA)
#   a15-nsec3 ZSK   the file cut to half its size
DAMAGE = [("a13-nsec.test.", "ksk", "scalar"), ("a8-nsec.test.", "zsk", "middle"),
          ("a15-nsec3.test.", "zsk", "truncate")]


def zone_alg(z):
    return 13 if z == REFRESH_ZONE else int(z.split("-")[0][1:])


def zone_denial(z):
    return "nsec" if z == REFRESH_ZONE else z.split("-")[1].rstrip(".").split(".")[0]


def nsec3_params(z):
    """(iterations, salt hex) configured for an nsec3 zone."""
    return (5, "c0ffee") if z == "a10-nsec3.test." else (0, "")


def signed_re(zone):
    """The contract's log line after each signing: (serial, made, kept)."""
    z = re.escape(zone.rstrip("."))
    return re.compile(rf"zone {z}\.?: signed serial (\d+) \((\d+) signatures? made, (\d+) kept\)")


def signed_lines(log, zone, since=0):
    rx = signed_re(zone)
    return [tuple(int(x) for x in m.groups()) for m in rx.finditer(log.text(since))]


# --------------------------------------------------------------- queries ----
def soa_serial(port, zone, do=False):
    r = ask(port, zone, "SOA", do=do)
    if r is None or r.rcode() != dns.rcode.NOERROR:
        return None
    for rr in r.answer:
        if rr.rdtype == T.SOA:
            return rr[0].serial
    return None


def rdata_texts(port, name, rdtype):
    r = ask(port, name, rdtype, do=False)
    if r is None:
        return "no answer"
    if r.rcode() != dns.rcode.NOERROR:
        return dns.rcode.to_text(r.rcode())
    return sorted(rd.to_text() for rr in r.answer if rr.rdtype == T.from_text(rdtype) for rd in rr)


# ------------------------------------------------------------ zone build ----
ZONE = """$ORIGIN {z}
$TTL 300
@        SOA   ns1 hostmaster {serial} 3600 600 86400 300
@        NS    ns1
@        A     192.0.2.1
@        MX    10 mail
@        TXT   "apex of {z}"
ns1      A     127.0.0.1
mail     A     192.0.2.25
www      A     {www}
www      AAAA  2001:db8::10
*.wild   TXT   "wildcard"
a.b.c    TXT   "below two empty non-terminals"
alias    CNAME www
sec      NS    ns.sec
sec      DS    {ds}
ns.sec   A     192.0.2.53
insec    NS    ns.insec
ns.insec A     192.0.2.54
"""


class Stray:
    """A foreign key and DNSSEC records made with it, put in the unsigned zone."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.dnskey = dns.dnssec.make_dnskey(self.key.public_key(), dns.dnssec.Algorithm.ECDSAP256SHA256, flags=257)
        self.tag = dns.dnssec.key_id(self.dnskey)
        self.now = int(time.time())
        self.cache = {}

    def records(self, zone, www):
        """The same text for the same (zone, www): a rewrite changes nothing else."""
        if (zone, www) not in self.cache:
            self.cache[(zone, www)] = self._records(zone, www)
        return self.cache[(zone, www)]

    def _records(self, zone, www):
        now = self.now
        rr = dns.rrset.from_text(f"www.{zone}", 300, "IN", "A", www)
        sig = dns.dnssec.sign(rr, self.key, N(zone), self.dnskey, inception=now - 3600,
                              expiration=now + 30 * 86400)
        ds = dns.dnssec.make_ds(zone, self.dnskey, "SHA256")
        return "\n".join([
            f"@ DNSKEY {self.dnskey.to_text()}",
            f"@ CDNSKEY {self.dnskey.to_text()}",
            f"@ CDS {ds.to_text()}",
            f"www RRSIG {sig.to_text()}",
            f"www NSEC stray.{zone} A AAAA RRSIG NSEC",
            "0123456789abcdefghijklmnopqrstuv NSEC3 1 0 0 - 0123456789ABCDEFGHIJKLMNOPQRSTUV A RRSIG",
        ]) + "\n"


def sec_ds(zone):
    return "4711 13 2 " + hashlib.sha256(("sec." + zone).encode()).hexdigest().upper()


class Version:
    """What the unsigned zone holds at one serial (step 6 changes it)."""

    def __init__(self, serial=1, www="192.0.2.10", new=False, old=True):
        self.serial, self.www, self.new, self.old = serial, www, new, old


def zone_text(zone, v, stray):
    text = ZONE.format(z=zone, serial=v.serial, www=v.www, ds=sec_ds(zone))
    if v.old:
        text += 'old      TXT   "removed in a later serial"\n'
    if v.new:
        text += "new      A     192.0.2.60\n"
    if stray is not None and zone in STRAY_ZONES:
        text += stray.records(zone, v.www)
    return text


# --------------------------------------------------------------- servers ----
class Knot:
    """The hidden primary: unsigned zones, IXFR from the journal, NOTIFY to satellited."""

    def __init__(self, workdir, sat_port, stray):
        self.dir = os.path.join(workdir, "knot")
        os.makedirs(os.path.join(self.dir, "db"))  # `database: storage` must exist
        os.makedirs(os.path.join(self.dir, "zones"))
        self.port = free_port()
        self.sat_port = sat_port
        self.conf = os.path.join(self.dir, "knot.conf")
        self.log = LogFile(os.path.join(self.dir, "knot.log"))
        self.stray = stray
        self.versions = {z: Version() for z in ALL_ZONES}
        self.proc = None

    def file(self, z):
        return os.path.join(self.dir, "zones", z.rstrip(".") + ".zone")

    def write(self, z):
        with open(self.file(z), "w") as f:
            f.write(zone_text(z, self.versions[z], self.stray))

    def start(self):
        for z in ALL_ZONES:
            self.write(z)
        c = [f"server:\n    rundir: {self.dir}\n    listen: {LOOP}@{self.port}\n    background-workers: 2",
             f"log:\n  - target: {self.log.path}\n    any: info",
             f"database:\n    storage: {self.dir}/db",
             f"remote:\n  - id: sat\n    address: {LOOP}@{self.sat_port}",
             "acl:\n  - id: xfr\n    address: 127.0.0.0/8\n    action: transfer",
             # Unsigned zones as they are; every zone file edit + zone-reload
             # becomes a journal changeset (IXFR) and a NOTIFY.
             "template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: difference\n"
             "    journal-content: changes\n    semantic-checks: off\n    dnssec-signing: off\n"
             "    notify: sat\n    acl: xfr",
             "zone:"]
        for z in ALL_ZONES:
            c.append(f"  - domain: {z}\n    file: {self.file(z)}")
        with open(self.conf, "w") as f:
            f.write("\n".join(c) + "\n")
        self.proc = spawn(["knotd", "-c", self.conf], os.path.join(self.dir, "knotd.out"))
        for z in ALL_ZONES:
            if not wait_until(lambda: soa_serial(self.port, z) == 1, 15):
                raise HarnessError(f"knotd does not serve {z}: {self.log.tail(30)}"
                                   f"\n{LogFile(os.path.join(self.dir, 'knotd.out')).tail(10)}")

    def publish(self, z, **changes):
        v = self.versions[z]
        self.versions[z] = Version(serial=v.serial + 1, www=changes.get("www", v.www),
                                   new=changes.get("new", v.new), old=changes.get("old", v.old))
        self.write(z)
        r = subprocess.run(["knotc", "-c", self.conf, "-t", "10", "zone-reload", z],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise HarnessError(f"knotc zone-reload {z}: {r.stdout}{r.stderr}")
        serial = self.versions[z].serial
        if not wait_until(lambda: soa_serial(self.port, z) == serial, 10):
            raise HarnessError(f"knotd did not load {z} serial {serial}: {self.log.tail(10)}")
        return serial

    def stop(self):
        stop_proc(self.proc)


class Satellited:
    def __init__(self, binary, workdir, knot_port):
        self.binary = binary
        self.dir = os.path.join(workdir, "sat")
        os.makedirs(self.dir)
        self.port = free_port()
        self.state = os.path.join(self.dir, "state")
        self.dump = os.path.join(self.dir, "dump")
        os.makedirs(self.dump)
        self.config = os.path.join(self.dir, "satellite.toml")
        self.log = LogFile(os.path.join(self.dir, "satellited.log"))
        self.knot_port = knot_port
        self.proc = None

    def write_config(self):
        out = ["[server]", f'listen = ["{LOOP}:{self.port}"]', "threads = 1", f'state_dir = "{self.state}"',
               f'provide_xfr = ["{LOOP}"]', "",
               "[log]", 'level = "info"', ""]
        for z in ALL_ZONES:
            out += ["[[zone]]", f'name = "{z}"', f'primaries = ["{LOOP}:{self.knot_port}"]',
                    f'notify_allow = ["{LOOP}"]', 'mode = "live"', "[zone.signing]", "enabled = true",
                    f"algorithm = {zone_alg(z)}", f'denial = "{zone_denial(z)}"']
            if zone_denial(z) == "nsec3":
                it, salt = nsec3_params(z)
                out += [f"nsec3_iterations = {it}", f'nsec3_salt = "{salt}"', "nsec3_opt_out = false"]
            if z == REFRESH_ZONE:
                out += ['signature_validity = "60s"', 'signature_refresh = "40s"']
            else:
                out += ['signature_validity = "14d"', 'signature_refresh = "7d"']
            out.append("")
        with open(self.config, "w") as f:
            f.write("\n".join(out))

    def check_config(self):
        return check_config(self.binary, self.config)

    def start(self):
        mark = self.log.mark()
        env = dict(os.environ, SATELLITE_DUMP_DIR=self.dump)
        self.proc = spawn([self.binary, "--config", self.config], self.log.path, env=env)
        ok = wait_until(lambda: "listening on" in self.log.text(mark) or self.proc.poll() is not None, 15)
        if not ok or self.proc.poll() is not None:
            raise StartFailure(f"satellited did not start: {self.log.tail(30, mark)}")
        return mark

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        return stop_proc(self.proc)


class Unbound:
    def __init__(self, workdir, anchors, auth_port):
        self.dir = os.path.join(workdir, "unbound")
        os.makedirs(self.dir)
        self.port = free_port()
        self.log = LogFile(os.path.join(self.dir, "unbound.log"))
        self.anchors = anchors  # zone -> DS text line
        self.auth_port = auth_port
        self.proc = None

    def start(self):
        anchor = os.path.join(self.dir, "anchors.ds")
        with open(anchor, "w") as f:
            f.write("\n".join(self.anchors.values()) + "\n")
        lines = unbound_conf(self.dir, self.port, self.log.path, trust_anchor_file=anchor)
        for z in self.anchors:
            lines += stub_zone(z, f"{LOOP}@{self.auth_port}")
        self.proc = spawn_unbound(self.dir, lines)
        probe = next(iter(self.anchors))
        if not wait_until(lambda: ask(self.port, probe, "SOA", rd=True, timeout=1) is not None
                          or self.proc.poll() is not None, 15) or self.proc.poll() is not None:
            raise HarnessError(f"unbound did not start: {self.log.tail(20)}"
                               f"{LogFile(os.path.join(self.dir, 'unbound.out')).tail(10)}")

    def stop(self):
        stop_proc(self.proc)


# ------------------------------------------------------- proof checkers ----
# (NSEC/NSEC3 sets and the NXDOMAIN, NODATA and ENT proofs: the harness.)
def denial_no_ds(r, kind, cut):
    s = NsecSet(r) if kind == "nsec" else Nsec3Set(r)
    m = s.at(cut) if kind == "nsec" else s.matching(cut)
    if not m:
        return [f"no {'NSEC' if kind == 'nsec' else 'NSEC3'} at the cut {cut}"], s.text()
    t = m[0][2] if kind == "nsec" else m[0]["types"]
    return ([] if "NS" in t and "DS" not in t and "SOA" not in t
            else [f"the record at {cut} has types {sorted(t)}"]), s.text()


def compact_nxname(r, qname):
    """RFC 9824 §3.2: NOERROR, an NSEC at qname whose next name is \\000.qname
    and whose bitmap is exactly RRSIG NSEC NXNAME."""
    s = NsecSet(r)
    m = s.at(qname)
    if not m:
        return [f"no NSEC at {qname}"], s.text()
    owner, nxt, types = m[0]
    probs = []
    want = dns.name.Name((b"\x00",) + qname.labels)
    if nxt != want:
        probs.append(f"next name {nxt}, want {want}")
    if types != {"RRSIG", "NSEC", "NXNAME"}:
        probs.append(f"bitmap {sorted(types)}, want NSEC NXNAME RRSIG")
    return probs, s.text()


def compact_nodata(r, qname, real_types, qtype):
    """NODATA: the NSEC at qname lists the name's real types (plus RRSIG NSEC), not qtype, not NXNAME."""
    s = NsecSet(r)
    m = s.at(qname)
    if not m:
        return [f"no NSEC at {qname}"], s.text()
    types = m[0][2]
    probs = []
    want = set(real_types) | {"RRSIG", "NSEC"}
    if types != want:
        probs.append(f"bitmap {sorted(types)}, want {sorted(want)}")
    if qtype in types or "NXNAME" in types:
        probs.append(f"bitmap lists {qtype} or NXNAME")
    return probs, s.text()


# ----------------------------------------------------- zone key material ----
class ZoneKeys:
    """What satellited serves for one zone: DNSKEY RRset, KSK/ZSK tags, DS (anchor)."""

    def __init__(self, zone, dnskey_rrset):
        self.zone = zone
        self.rrset = dnskey_rrset
        self.ksk = [rd for rd in dnskey_rrset if rd.flags == 257]
        self.zsk = [rd for rd in dnskey_rrset if rd.flags == 256]
        self.tags = {dns.dnssec.key_id(rd) for rd in dnskey_rrset}
        self.ksk_tags = {dns.dnssec.key_id(rd) for rd in self.ksk}
        self.zsk_tags = {dns.dnssec.key_id(rd) for rd in self.zsk}
        self.keys = {N(zone): dnskey_rrset}
        self.ds_lines = []  # from dnssec-dsfromkey


def fetch_keys(port, zone):
    r = ask(port, zone, "DNSKEY", do=True)
    if r is None or r.rcode() != dns.rcode.NOERROR:
        return None, r
    rr = sets(r, "answer", T.DNSKEY, N(zone))
    if not rr:
        return None, r
    return ZoneKeys(zone, rr[0]), r


def rrsig_problems(r, zk, t_start, validity, refresh, referral=False, strict_signer=True):
    """Every answer/authority RRset has RRSIGs; each validates with the zone's
    served DNSKEYs, is made by one of them (algorithm, key tag, signer), and
    has the contract's times."""
    probs = []
    now = time.time()
    alg = zone_alg(zk.zone)
    for sec in ("answer", "authority"):
        rrs = getattr(r, sec)
        for rr in rrs:
            if rr.rdtype == RRSIG:
                if not any(x.name == rr.name and x.rdtype == rr.covers for x in rrs if x.rdtype != RRSIG):
                    probs.append(f"{sec}: RRSIG({T.to_text(rr.covers)}) at {rr.name} covers no RRset")
                continue
            sigs = [x for x in rrs if x.rdtype == RRSIG and x.name == rr.name and x.covers == rr.rdtype]
            if referral and sec == "authority" and rr.rdtype == T.NS:
                if sigs:
                    probs.append(f"referral NS at {rr.name} carries an RRSIG")
                continue
            what = f"{sec}: {rr.name} {T.to_text(rr.rdtype)}"
            if not sigs:
                probs.append(f"{what} has no RRSIG")
                continue
            tags = set()
            for sig in sigs[0]:
                tags.add(sig.key_tag)
                if sig.key_tag not in zk.tags:
                    probs.append(f"{what}: RRSIG by key tag {sig.key_tag}, not a served key {sorted(zk.tags)}")
                if sig.algorithm != alg:
                    probs.append(f"{what}: RRSIG algorithm {sig.algorithm}, want {alg}")
                if strict_signer and sig.signer != N(zk.zone):
                    probs.append(f"{what}: RRSIG signer {sig.signer}")
                try:
                    dns.dnssec.validate_rrsig(rr, sig, zk.keys)
                except dns.dnssec.ValidationFailure as e:
                    probs.append(f"{what}: RRSIG (tag {sig.key_tag}) does not validate ({e})")
                # inception = now - 1 h at signing time (signing happened after t_start)
                if not (t_start - 3600 - 120 <= sig.inception <= now - 3600 + 120):
                    probs.append(f"{what}: inception {sig.inception} is not 'signing time - 1 h' "
                                 f"(now {int(now)}, now-1h {int(now) - 3600})")
                if not (now + refresh < sig.expiration <= now + validity + 120):
                    probs.append(f"{what}: expiration {sig.expiration} not in (now + refresh, now + validity] "
                                 f"= ({int(now + refresh)}, {int(now + validity)}]")
            if rr.rdtype == T.DNSKEY and not (tags & zk.ksk_tags):
                probs.append(f"{what}: not signed by the KSK {sorted(zk.ksk_tags)} (tags {sorted(tags)})")
            if rr.rdtype not in (T.DNSKEY, T.CDS, T.CDNSKEY) and not (tags & zk.zsk_tags):
                probs.append(f"{what}: not signed by the ZSK {sorted(zk.zsk_tags)} (tags {sorted(tags)})")
    return probs


# --------------------------------------------------- 1: keys, DS, CDS ----
def dsfromkey(zk, workdir):
    path = os.path.join(workdir, "dnskey-" + zk.zone.rstrip(".") + ".txt")
    with open(path, "w") as f:
        f.write(zk.rrset.to_text() + "\n")
    out = run(["dnssec-dsfromkey", "-2", "-f", path, zk.zone], timeout=30)
    return [l.strip() for l in out.splitlines() if " DS " in l]


def ds_tuple(text_or_rd):
    """(tag, alg, digest type, digest lower-case hex) from a DS/CDS line or rdata."""
    if not isinstance(text_or_rd, str):
        return (text_or_rd.key_tag, text_or_rd.algorithm, text_or_rd.digest_type, text_or_rd.digest.hex())
    f = text_or_rd.split()
    i = f.index("DS") if "DS" in f else f.index("CDS")
    return (int(f[i + 1]), int(f[i + 2]), int(f[i + 3]), "".join(f[i + 4:]).lower())


def step_keys(port, zone, workdir, stray):
    """Step 1 for one zone; the ZoneKeys (with DS lines) or None."""
    z = f"[{zone}]"
    alg = zone_alg(zone)
    zk, r = fetch_keys(port, zone)
    if not check(f"1 {z} DNSKEY answered", zk is not None, show(r)):
        return None
    flags = sorted(rd.flags for rd in zk.rrset)
    algs = {rd.algorithm for rd in zk.rrset}
    check(f"1 {z} DNSKEY = one KSK (257) + one ZSK (256), algorithm {alg}",
          flags == [256, 257] and algs == {alg}, f"flags {flags}, algorithms {sorted(algs)}" + show(r))
    if zone in STRAY_ZONES:
        check(f"1 {z} the transferred stray DNSKEY (tag {stray.tag}) is not served",
              all(rd != stray.dnskey for rd in zk.rrset), show(r))
    try:
        zk.ds_lines = dsfromkey(zk, workdir)
    except HarnessError as e:
        check(f"1 {z} dnssec-dsfromkey makes the DS of the served KSK", False, str(e))
        return zk
    mine = [ds_tuple(dns.dnssec.make_ds(zone, k, "SHA256")) for k in zk.ksk]
    theirs = [ds_tuple(l) for l in zk.ds_lines]
    check(f"1 {z} DS of the KSK: dnssec-dsfromkey = dnspython", len(theirs) == 1 and sorted(theirs) == sorted(mine),
          f"dnssec-dsfromkey {zk.ds_lines}, dnspython {mine}")
    r = ask(port, zone, "CDS", do=True)
    cds = [ds_tuple(rd) for rr in (sets(r, "answer", T.CDS, N(zone)) if r else []) for rd in rr]
    check(f"1 {z} served CDS = the DS (digest type 2) of the KSK", sorted(cds) == sorted(theirs) and cds,
          f"CDS {cds}, DS {theirs}" + show(r))
    r = ask(port, zone, "CDNSKEY", do=True)
    cdnskey = [rd.to_text() for rr in (sets(r, "answer", T.CDNSKEY, N(zone)) if r else []) for rd in rr]
    check(f"1 {z} served CDNSKEY = the KSK", cdnskey and sorted(cdnskey) == sorted(k.to_text() for k in zk.ksk),
          f"CDNSKEY {cdnskey}" + show(r))
    serial = soa_serial(port, zone)
    check(f"1 {z} SOA serial = the primary's (1)", serial == 1, f"serial {serial}")
    if zone_denial(zone) == "nsec3":
        it, salt = nsec3_params(zone)
        r = ask(port, zone, "NSEC3PARAM", do=True)
        got = [(rd.algorithm, rd.flags, rd.iterations, rd.salt.hex()) for rr in
               (sets(r, "answer", T.NSEC3PARAM) if r else []) for rd in rr]
        check(f"1 {z} NSEC3PARAM = 1 0 {it} {salt or '-'}", got == [(1, 0, it, salt)], f"got {got}" + show(r))
    else:
        r = ask(port, zone, "NSEC3PARAM", do=True)
        check(f"1 {z} no NSEC3PARAM ({zone_denial(zone)})",
              r is not None and r.rcode() == dns.rcode.NOERROR and not sets(r, "answer", T.NSEC3PARAM), show(r))
    return zk


# ------------------------------------------------------ 2: direct DO=1 ----
def step_direct(port, zone, zk, t_start):
    kind = zone_denial(zone)
    apex = N(zone)
    n = lambda s: N(f"{s}.{zone}") if s != "@" else apex  # noqa: E731
    z = f"[{zone}]"

    def q(name, t):
        r = ask(port, n(name) if not isinstance(name, dns.name.Name) else name, t, do=True)
        if VERBOSE:
            print(f"      >>> {name} {t}{show(r)}")
        return r

    def expect(label, r, rcode="NOERROR", answer=(), aa=True, referral=False, soa=False, proof=None):
        if r is None:
            return check(label, False, "no response")
        probs = response_problems(r, rcode, aa, answer)
        if soa and not sets(r, "authority", T.SOA, apex):
            probs.append("no SOA in the authority section")
        probs += rrsig_problems(r, zk, t_start, VALIDITY, REFRESH, referral=referral)
        extra = ""
        if proof is not None and r.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            p, extra = proof(r)
            probs += p
        return check(label, not probs, "; ".join(probs) + (f"\n      records: {extra}" if extra else "") + show(r))

    for name, t in (("@", "SOA"), ("@", "NS"), ("@", "A"), ("@", "MX"), ("@", "TXT"), ("@", "DNSKEY"),
                    ("@", "CDS"), ("@", "CDNSKEY"), ("www", "A"), ("www", "AAAA"), ("mail", "A"), ("old", "TXT"),
                    ("a.b.c", "TXT"), ("*.wild", "TXT")):
        expect(f"2 {z} {name} {t}: signed by our keys", q(name, t), answer=[t])
    expect(f"2 {z} alias A: CNAME + A, both signed", q("alias", "A"), answer=["CNAME", "A"])
    r = q("foo.wild", "TXT")
    if kind == "compact":
        # RFC 9824 §3.4: no proof of no closer match needed beyond the signature labels.
        ok = expect(f"2 {z} foo.wild TXT: wildcard answer", r, answer=["TXT"])
    elif kind == "nsec":
        ok = expect(f"2 {z} foo.wild TXT: wildcard answer + NSEC covering foo.wild", r, answer=["TXT"],
                    proof=lambda r: ((["no NSEC covers foo.wild"] if not NsecSet(r).covering(n("foo.wild")) else []),
                                     NsecSet(r).text()))
    else:
        ok = expect(f"2 {z} foo.wild TXT: wildcard answer + NSEC3 covering the next closer", r, answer=["TXT"],
                    proof=lambda r: ((["no NSEC3 covers foo.wild"] if not Nsec3Set(r).covering(n("foo.wild")) else []),
                                     Nsec3Set(r).text()))
    if ok:
        sig = sets(r, "answer", RRSIG, n("foo.wild"), T.TXT)
        want = len(n("wild").labels) - 1
        if kind == "compact":
            # An online signer may sign the expanded answer as the name itself
            # (labels = the qname's): valid without a no-closer-match proof.
            full = len(n("foo.wild").labels) - 1
            check(f"2 {z} foo.wild TXT: RRSIG labels = {want} (the wildcard's) or {full} (signed as expanded)",
                  sig and sig[0][0].labels in (want, full), show(r))
        else:
            check(f"2 {z} foo.wild TXT: RRSIG labels = {want} (the wildcard's)", sig and sig[0][0].labels == want,
                  show(r))

    # DO=0: no DNSSEC records; a missing name is NXDOMAIN (compact: NXDOMAIN
    # or NOERROR, RFC 9824 black lies are for DNSSEC-aware queries).
    for name, t in (("www", "A"), ("nope", "A"), ("www", "MX"), ("foo.wild", "TXT"), ("host.insec", "A")):
        r = ask(port, n(name), t, do=False)
        bad = [] if r is None else [f"{sec}: {rr.name} {T.to_text(rr.rdtype)}" for sec in ("answer", "authority")
                                    for rr in getattr(r, sec) if rr.rdtype in DNSSEC_ONLY]
        rc = None if r is None else dns.rcode.to_text(r.rcode())
        want_rc = (("NXDOMAIN", "NOERROR") if kind == "compact" else ("NXDOMAIN",)) if name == "nope" else ("NOERROR",)
        check(f"2 {z} {name} {t} DO=0: {' or '.join(want_rc)}, no RRSIG/NSEC/NSEC3", r is not None and not bad
              and rc in want_rc and not (r.ednsflags & dns.flags.DO), f"rcode {rc}; {bad}" + show(r))

    # Referrals: NS unsigned, DS + RRSIG at the secure cut, proof of no DS at the insecure one.
    r = q("host.sec", "A")
    expect(f"2 {z} host.sec A: referral with DS + RRSIG", r, aa=False, referral=True,
           proof=lambda r: ((["no NS sec in the authority"] if not sets(r, "authority", T.NS, n("sec")) else [])
                            + (["no DS sec in the authority"] if not sets(r, "authority", T.DS, n("sec")) else []), ""))
    expect(f"2 {z} sec DS: the made-up DS, signed", q("sec", "DS"), answer=["DS"])

    if kind == "compact":
        for name, t in (("nope", "A"), ("x.y.www", "A"), ("deep.x.b.c", "TXT")):
            expect(f"2 {z} {name} {t}: compact denial (NOERROR, NSEC at the name, NXNAME)", q(name, t),
                   soa=True, proof=lambda r, name=name: compact_nxname(r, n(name)))
        expect(f"2 {z} www MX: NODATA, NSEC at www with its real types", q("www", "MX"), soa=True,
               proof=lambda r: compact_nodata(r, n("www"), ["A", "AAAA"], "MX"))
        expect(f"2 {z} @ AAAA: NODATA at the apex", q("@", "AAAA"), soa=True,
               proof=lambda r: compact_nodata(r, apex, ["SOA", "NS", "A", "MX", "TXT", "DNSKEY", "CDS",
                                                        "CDNSKEY"], "AAAA"))
        for ent in ("b.c", "c"):
            expect(f"2 {z} {ent} A: empty non-terminal, NSEC with RRSIG NSEC only", q(ent, "A"), soa=True,
                   proof=lambda r, ent=ent: compact_nodata(r, n(ent), [], "A"))
        expect(f"2 {z} insec DS: NODATA, NSEC at the cut lists NS, not DS", q("insec", "DS"), soa=True,
               proof=lambda r: compact_nodata(r, n("insec"), ["NS"], "DS"))
        r = q("host.insec", "A")
        expect(f"2 {z} host.insec A: referral with the proof of no DS", r, aa=False, referral=True,
               proof=lambda r: ((["DS in an insecure referral"] if sets(r, "authority", T.DS) else [])
                                + (["no NS insec"] if not sets(r, "authority", T.NS, n("insec")) else [])
                                + compact_nodata(r, n("insec"), ["NS"], "DS")[0], NsecSet(r).text()))
        return

    for name, ce in (("nope", "@"), ("x.y.www", "www"), ("deep.x.b.c", "b.c")):
        expect(f"2 {z} {name} A: NXDOMAIN, closest encloser {ce}", q(name, "A"), rcode="NXDOMAIN", soa=True,
               proof=lambda r, name=name, ce=ce: denial_nxdomain(r, kind, n(name), n(ce)))
    expect(f"2 {z} www MX: NODATA", q("www", "MX"), soa=True, proof=lambda r: denial_nodata(r, kind, n("www"), "MX"))
    expect(f"2 {z} @ AAAA: NODATA at the apex", q("@", "AAAA"), soa=True,
           proof=lambda r: denial_nodata(r, kind, apex, "AAAA"))
    for ent in ("b.c", "c"):
        expect(f"2 {z} {ent} A: empty non-terminal NODATA", q(ent, "A"), soa=True,
               proof=lambda r, ent=ent: denial_ent(r, kind, n(ent)))
    expect(f"2 {z} insec DS: NODATA with the proof of no DS", q("insec", "DS"), soa=True,
           proof=lambda r: denial_no_ds(r, kind, n("insec")))
    r = q("host.insec", "A")
    expect(f"2 {z} host.insec A: referral with the proof of no DS", r, aa=False, referral=True,
           proof=lambda r: ((["DS in an insecure referral"] if sets(r, "authority", T.DS) else [])
                            + denial_no_ds(r, kind, n("insec"))[0], ""))
    if kind == "nsec":
        r = q("www", "NSEC")
        nsec = [(rr.name, rd.next, bitmap(rd)) for rr in (sets(r, "answer", NSEC, n("www")) if r else []) for rd in rr]
        check(f"2 {z} www NSEC: our NSEC (A AAAA RRSIG NSEC, next name in the zone)",
              len(nsec) == 1 and nsec[0][2] == {"A", "AAAA", "RRSIG", "NSEC"} and nsec[0][1] != n("stray"),
              f"{nsec}" + show(r))
    else:
        r = q("www", "NSEC")
        check(f"2 {z} www NSEC: no NSEC in an NSEC3 zone (a transferred stray is dropped)",
              r is not None and r.rcode() == dns.rcode.NOERROR and not sets(r, "answer", NSEC)
              and not sets(r, "authority", NSEC), show(r))
        r = q("nope", "A")
        s = Nsec3Set(r) if r else None
        it, salt = nsec3_params(zone)
        bad = [x for x in (s.recs if s else []) if x["iters"] != it or x["salt"].hex() != salt or x["flags"] != 0]
        check(f"2 {z} nope A: every NSEC3 has iterations {it}, salt {salt or '-'}, flags 0",
              s and s.recs and not bad, (s.text() if s else "") + show(r))
    if zone in STRAY_ZONES:
        r = q("www", "A")
        tags = [sig.key_tag for rr in (sets(r, "answer", RRSIG) if r else []) for sig in rr]
        check(f"2 {z} www A: the transferred stray RRSIG is not served", r is not None and tags
              and all(t in zk.tags for t in tags), f"RRSIG key tags {tags}, ours {sorted(zk.tags)}" + show(r))


# -------------------------------------------------- 3: ldns-verify-zone ----
def dump_path(sat, zone):
    return os.path.join(sat.dump, zone.rstrip(".") + ".zone")


def zone_records(path):
    """(owner, type, rdata tokens) of each record in a presentation-format file
    with one record per line (what satellited dumps)."""
    out = []
    with open(path) as f:
        for line in f:
            p = line.split(";")[0].split() if not line.lstrip().startswith(";") else []
            if "IN" not in p[1:4]:
                continue
            i = p.index("IN", 1)
            if i + 1 < len(p):
                out.append((p[0].lower(), p[i + 1], p[i + 2:]))
    return out


def dump_serial(path):
    try:
        for owner, t, rdata in zone_records(path):
            if t == "SOA":
                return int(rdata[2])
    except (OSError, ValueError, IndexError):
        return None
    return None


def verify_dump(sat, zone, serial, label):
    path = dump_path(sat, zone)
    got = wait_until(lambda: dump_serial(path) == serial, 10)
    if not check(f"{label} dump {os.path.basename(path)} written at serial {serial}", got,
                 f"dump serial {dump_serial(path)}; files {sorted(os.listdir(sat.dump))}"):
        return
    r = subprocess.run(["ldns-verify-zone", "-V", "2", path], capture_output=True, text=True, timeout=120)
    out = (r.stdout + r.stderr).strip()
    check(f"{label} ldns-verify-zone {os.path.basename(path)}", r.returncode == 0, out[-1500:])
    if zone in STRAY_ZONES:
        recs = zone_records(path)
        n_keys = sum(1 for _, t, _ in recs if t == "DNSKEY")
        strays = [" ".join([o, t] + r) for o, t, r in recs
                  if "stray." in " ".join(r).lower() or o.startswith("0123456789abcdefghijklmnopqrstuv.")]
        check(f"{label} dump has 2 DNSKEYs and none of the stray NSEC/NSEC3 records",
              n_keys == 2 and not strays, f"{n_keys} DNSKEY records; strays {strays}")


# ---------------------------------------------------------- 4: unbound ----
def resolver_cases(zone):
    """(qname, qtype, rcode, answer type expected or None, why); all with AD."""
    compact = zone_denial(zone) == "compact"
    nx = "NOERROR" if compact else "NXDOMAIN"
    z = lambda s: f"{s}.{zone}" if s != "@" else zone  # noqa: E731
    return [
        (z("@"), "SOA", "NOERROR", "SOA", "apex SOA"),
        (z("@"), "DNSKEY", "NOERROR", "DNSKEY", "apex DNSKEY"),
        (z("@"), "CDS", "NOERROR", "CDS", "apex CDS"),
        (z("@"), "MX", "NOERROR", "MX", "apex MX"),
        (z("@"), "TXT", "NOERROR", "TXT", "apex TXT"),
        (z("www"), "A", "NOERROR", "A", "existing name"),
        (z("www"), "AAAA", "NOERROR", "AAAA", "existing name, AAAA"),
        (z("www"), "MX", "NOERROR", None, "NODATA"),
        (z("b.c"), "A", "NOERROR", None, "empty non-terminal"),
        (z("c"), "TXT", "NOERROR", None, "empty non-terminal"),
        (z("a.b.c"), "TXT", "NOERROR", "TXT", "below the empty non-terminals"),
        (z("alias"), "A", "NOERROR", "A", "CNAME to an existing name"),
        (z("foo.wild"), "TXT", "NOERROR", "TXT", "wildcard answer"),
        (z("foo.wild"), "A", "NOERROR", None, "wildcard NODATA"),
        (z("*.wild"), "TXT", "NOERROR", "TXT", "the wildcard itself"),
        (z("nope"), "A", nx, None, "missing name"),
        (z("x.y.www"), "A", nx, None, "missing name below an existing one"),
        (z("sec"), "DS", "NOERROR", "DS", "DS at the secure cut"),
        (z("insec"), "DS", "NOERROR", None, "no DS at the insecure cut"),
    ]


def step_resolver(unbound, zones):
    print("--- 4: unbound validating through satellited", flush=True)
    cases = [c for z in zones for c in resolver_cases(z)]

    mark = unbound.log.mark()
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as ex:
        results = list(ex.map(lambda c: ask_resolver(unbound.port, c[0], c[1]), cases))
    for (qname, qtype, rcode, ans, why), r in zip(cases, results):
        name = f"4 unbound {qname} {qtype} ({why}): {rcode}, AD"
        if r is None:
            check(name, False, "no answer from unbound")
            continue
        probs = []
        got = dns.rcode.to_text(r.rcode())
        if got != rcode:
            probs.append(f"rcode {got}")
        if not r.flags & dns.flags.AD:
            probs.append("AD not set")
        if ans and not sets(r, "answer", T.from_text(ans)):
            probs.append(f"no {ans} in the answer")
        if not ans and sets(r, "answer", T.from_text(qtype)):
            probs.append(f"{qtype} in the answer")
        check(name, not probs, ", ".join(probs) + show(r) if VERBOSE or probs else "")
    fails = validation_failures(unbound.log, mark)
    check("4 unbound logged no validation failure", not fails,
          "\n      " + "\n      ".join(fails[:15]) + (f"\n      ... {len(fails)} lines" if len(fails) > 15 else ""))


# ------------------------------------------------------------- 5: delv ----
def anchor_file(workdir, zk):
    path = os.path.join(workdir, "delv-" + zk.zone.rstrip(".") + ".conf")
    tag, alg, dt, digest = ds_tuple(zk.ds_lines[0])
    with open(path, "w") as f:
        f.write(f'trust-anchors {{ "{zk.zone}" static-ds {tag} {alg} {dt} "{digest.upper()}"; }};\n')
    return path


FULL, NEG = "fully validated", "negative response, fully validated"


def step_delv(port, anchors):
    print("--- 5: delv against satellited", flush=True)
    cases = []
    for zone, anchor in anchors.items():
        for s, t, want in (("@", "DNSKEY", FULL), ("www", "A", FULL), ("alias", "A", FULL),
                           ("foo.wild", "TXT", FULL), ("a.b.c", "TXT", FULL), ("sec", "DS", FULL),
                           ("nope", "A", NEG), ("www", "MX", NEG), ("b.c", "A", NEG), ("insec", "DS", NEG),
                           ("foo.wild", "A", NEG)):
            cases.append((zone, anchor, zone if s == "@" else f"{s}.{zone}", t, want))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        outs = list(ex.map(lambda c: delv(port, c[1], c[0], c[2], c[3]), cases))
    for (zone, _, qname, qtype, want), out in zip(cases, outs):
        check(f"5 delv {qname} {qtype}: {want}", delv_ok(out, want), delv_summary(out))


# ------------------------------------------------------------- 6: IXFR ----
def step_ixfr(sat, knot, anchors, keys, t_start):
    print("--- 6: IXFR re-signs only what changed", flush=True)
    zones = [z for z in IXFR_ZONES if z in keys and keys[z].ds_lines]
    for z in IXFR_ZONES:
        if z not in zones:
            check(f"6 [{z}] keys known (step 1 passed) for the IXFR checks", False, "skipped")
    steps = [("changed record (www A)", dict(www="192.0.2.11")),
             ("added name (new A)", dict(new=True)),
             ("removed name (old TXT)", dict(old=False))]
    for what, change in steps:
        marks = {}
        serials = {}
        for z in zones:
            marks[z] = (sat.log.mark(), knot.log.mark())
            serials[z] = knot.publish(z, **change)
        for z in zones:
            serial, label = serials[z], f"6 [{z}] serial {serials[z]}, {what}:"
            smark, kmark = marks[z]
            got = wait_until(lambda: [x for x in signed_lines(sat.log, z, smark) if x[0] == serial], 20)
            if not check(f"{label} satellited logs 'signed serial {serial} (M signatures made, K kept)'", got,
                         sat.log.tail(12, smark)):
                continue
            _, made, kept = got[0]
            check(f"{label} only the changes re-signed: M = {made} <= 10 and K = {kept} > M",
                  made <= 10 and kept > made, f"M = {made} signatures made, K = {kept} kept")
            ixfr = wait_until(lambda: re.search(
                rf"\[{re.escape(z)}\] IXFR, outgoing, remote [\d.]+@\d+, .*serial {serial - 1} -> {serial}",
                knot.log.text(kmark)), 5)
            check(f"{label} the transfer was an IXFR {serial - 1} -> {serial} (Knot's log)", ixfr,
                  "\n      ".join(l for l in knot.log.text(kmark).splitlines() if z in l)[-1500:])
            check(f"{label} served SOA serial {serial}", wait_until(lambda: soa_serial(sat.port, z) == serial, 5),
                  f"serial {soa_serial(sat.port, z)}")
            zk, r = fetch_keys(sat.port, z)
            check(f"{label} DNSKEY key tags unchanged", zk is not None and zk.tags == keys[z].tags,
                  f"tags {zk.tags if zk else None}, before {keys[z].tags}")
            compact = zone_denial(z) == "compact"
            if "www" in change:
                name, qt, want, data = f"www.{z}", "A", FULL, ["192.0.2.11"]
            elif "new" in change:
                name, qt, want, data = f"new.{z}", "A", FULL, ["192.0.2.60"]
            else:
                name, qt, want, data = f"old.{z}", "TXT", NEG, ("NOERROR" if compact else "NXDOMAIN")
            got_data = rdata_texts(sat.port, name, qt)
            if isinstance(data, str):  # DO=0; compact zones may say NXDOMAIN or NOERROR/empty
                ok = got_data == data or (compact and got_data in ("NXDOMAIN", []))
            else:
                ok = got_data == data
            check(f"{label} {name} {qt} DO=0 = {data}{' or NXDOMAIN' if compact and isinstance(data, str) else ''}",
                  ok, f"got {got_data}")
            r = ask(sat.port, name, qt, do=True)
            probs = ["no response"] if r is None else rrsig_problems(r, keys[z], t_start, VALIDITY, REFRESH)
            if r is not None and compact and isinstance(data, str):
                probs += compact_nxname(r, N(name))[0]
                if r.rcode() != dns.rcode.NOERROR:
                    probs.append(f"rcode {dns.rcode.to_text(r.rcode())}, want NOERROR (compact)")
            check(f"{label} {name} {qt} DO=1: every RRset signed by our keys, valid", not probs,
                  "; ".join(probs) + show(r))
            out = delv(sat.port, anchors[z], z, name, qt)
            check(f"{label} delv {name} {qt}: {want}", delv_ok(out, want), delv_summary(out))
            if "new" in change:  # the neighbours of an added name
                out = delv(sat.port, anchors[z], z, f"nope.{z}", "A")
                check(f"{label} delv nope.{z} A: {NEG}", delv_ok(out, NEG), delv_summary(out))
            if not compact:
                verify_dump(sat, z, serial, label)
            probs = ixfr_out_problems(sat.port, z, serial - 1, serial)
            check(f"{label} IXFR out from serial {serial - 1}: the signed difference (old SOA, removed, new SOA, "
                  f"added with new RRSIGs), not the whole zone", not probs, "; ".join(probs))


def ixfr_out_problems(port, zone, old, new):
    """What is wrong with satellited's answer to IXFR from serial `old` of a
    zone it signs (RFC 1995 §4: SOA new, SOA old, removed, SOA new, added,
    SOA new)."""
    q = dns.message.make_query(zone, dns.rdatatype.IXFR)
    q.authority.append(dns.rrset.from_text(zone, 0, "IN", "SOA", f". . {old} 0 0 0 0"))
    try:
        r = dns.query.tcp(q, LOOP, port=port, timeout=5, one_rr_per_rrset=True)
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        return [f"no answer: {e!r}"]
    if r.rcode() != dns.rcode.NOERROR:
        return [f"rcode {dns.rcode.to_text(r.rcode())}"]
    recs = [(rr.name, rr.rdtype, rd) for rr in r.answer for rd in rr]
    soas = [i for i, (_, t, _) in enumerate(recs) if t == dns.rdatatype.SOA]
    if len(recs) < 2 or recs[1][1] != dns.rdatatype.SOA:
        return [f"not incremental: {len(recs)} records, second {recs[1][1] if len(recs) > 1 else None}"]
    probs = []
    serials = [recs[i][2].serial for i in soas]
    if serials[:2] != [new, old] or serials[-1] != new or len(soas) != 4:
        probs.append(f"SOA serials {serials}, want [{new}, {old}, {new}, {new}]")
    added = recs[soas[2] + 1:soas[3]] if len(soas) == 4 else []
    if not any(t == dns.rdatatype.RRSIG for _, t, _ in added):
        probs.append("no RRSIG among the added records")
    if not any(t == dns.rdatatype.RRSIG and rd.type_covered == dns.rdatatype.SOA for _, t, rd in added):
        probs.append("no new RRSIG over the SOA")
    return probs


# ---------------------------------------------------------- 7: refresh ----
class RefreshWatcher(threading.Thread):
    """Polls refresh.test. (validity 60s, refresh 40s) for `duration` seconds."""

    def __init__(self, sat, duration=80, interval=3):
        super().__init__(daemon=True)
        self.sat, self.duration, self.interval = sat, duration, interval
        self.rounds = 0
        self.rrsigs = 0
        self.problems = []      # (time, text)
        self.soa_exp = []       # (time, expiration of the SOA's RRSIG)
        self.lines_before = 0
        self.lines_after = 0
        self.error = None

    def run(self):
        try:
            self._run()
        except Exception:
            self.error = traceback.format_exc()

    def _run(self):
        zone = REFRESH_ZONE
        self.lines_before = len(signed_lines(self.sat.log, zone))
        end = time.monotonic() + self.duration
        queries = [(zone, "SOA"), (zone, "DNSKEY"), (zone, "CDS"), (f"www.{zone}", "A"), (f"nope.{zone}", "A"),
                   (f"www.{zone}", "MX"), (f"foo.wild.{zone}", "TXT"), (f"b.c.{zone}", "A")]
        while time.monotonic() < end:
            self.rounds += 1
            dk = ask(self.sat.port, zone, "DNSKEY", do=True)
            keys = {N(zone): sets(dk, "answer", T.DNSKEY)[0]} if dk is not None and sets(dk, "answer", T.DNSKEY) \
                else None
            for qname, qtype in queries:
                t_send = time.time()
                r = ask(self.sat.port, qname, qtype, do=True)
                t_recv = time.time()
                if r is None:
                    self.problems.append((t_send, f"{qname} {qtype}: no response"))
                    continue
                if r.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                    self.problems.append((t_send, f"{qname} {qtype}: rcode {dns.rcode.to_text(r.rcode())}"))
                n_sigs = 0
                for sec in ("answer", "authority"):
                    rrs = getattr(r, sec)
                    for rr in rrs:
                        if rr.rdtype != RRSIG:
                            continue
                        covered = [x for x in rrs if x.name == rr.name and x.rdtype == rr.covers]
                        for sig in rr:
                            n_sigs += 1
                            self.rrsigs += 1
                            if sig.inception > int(t_send) + 1 or sig.expiration < int(t_recv):
                                self.problems.append((t_recv, f"{qname} {qtype}: RRSIG({T.to_text(rr.covers)}) "
                                                      f"inception {sig.inception} expiration {sig.expiration} at "
                                                      f"now {int(t_recv)} (outside the validity window)"))
                            if sig.expiration > int(t_send) + 60 + 5:
                                self.problems.append((t_recv, f"{qname} {qtype}: RRSIG expiration "
                                                      f"{sig.expiration - int(t_send)} s ahead (validity is 60s)"))
                            if keys and covered:
                                try:
                                    dns.dnssec.validate_rrsig(covered[0], sig, keys)
                                except dns.dnssec.ValidationFailure as e:
                                    self.problems.append((t_recv, f"{qname} {qtype}: RRSIG("
                                                          f"{T.to_text(rr.covers)}) does not validate: {e}"))
                            if qtype == "SOA" and rr.covers == T.SOA:
                                self.soa_exp.append((t_recv, sig.expiration))
                if n_sigs == 0:
                    self.problems.append((t_recv, f"{qname} {qtype}: no RRSIG in a DO=1 answer" + show(r, 600)))
            time.sleep(self.interval)
        self.lines_after = len(signed_lines(self.sat.log, zone))

    def report(self):
        z = f"[{REFRESH_ZONE}]"
        if self.error:
            check(f"7 {z} refresh watcher ran", False, self.error)
            return
        check(f"7 {z} {self.rounds} rounds over {self.duration} s: every RRSIG ({self.rrsigs}) inside its "
              f"validity window, valid, at most 60 s ahead", self.rrsigs > 0 and not self.problems,
              f"{len(self.problems)} problems:\n      "
              + "\n      ".join(f"t+{t - self.started:.0f}s {p}" for t, p in self.problems[:12]))
        exps = [e for _, e in self.soa_exp]
        check(f"7 {z} re-signed while watched: 'signed serial' lines {self.lines_before} -> {self.lines_after}",
              self.lines_after > self.lines_before, "no new signing line for refresh.test.")
        check(f"7 {z} SOA RRSIG expiration moved forward ({min(exps) if exps else None} -> "
              f"{max(exps) if exps else None}, {len(set(exps))} distinct values)",
              exps and exps[-1] > exps[0] and len(set(exps)) >= 2, f"{exps}")

    def start(self):
        self.started = time.time()
        super().start()


# ------------------------------------------------------------- 8: keys ----
KEYFILE = re.compile(r"^(ksk|zsk)-(\d+)-(\d+)\.key$")


def key_dir(sat, zone):
    return os.path.join(sat.state, "keys", zone.rstrip(".").lower())


def key_files(sat, zone):
    # The key files only: the directory also holds the DNSSEC lifecycle's `state`.
    d = key_dir(sat, zone)
    try:
        return sorted(f for f in os.listdir(d) if f.endswith(".key"))
    except OSError:
        return []


def step_key_files(sat, keys):
    print("--- 8: keys on disk, restart, damaged key files", flush=True)
    for zone in ALL_ZONES:
        z = f"[{zone}]"
        d = key_dir(sat, zone)
        files = key_files(sat, zone)
        try:
            mode = stat.S_IMODE(os.stat(d).st_mode)
        except OSError as e:
            check(f"8 {z} key directory {d} exists", False, str(e))
            continue
        check(f"8 {z} key directory mode 0700", mode == 0o700, f"mode {mode:04o}")
        parsed = [KEYFILE.match(f) for f in files]
        want = {("ksk", zone_alg(zone), t) for t in (keys[zone].ksk_tags if zone in keys else ())}
        want |= {("zsk", zone_alg(zone), t) for t in (keys[zone].zsk_tags if zone in keys else ())}
        got = {(m.group(1), int(m.group(2)), int(m.group(3))) for m in parsed if m}
        check(f"8 {z} key files = <ksk|zsk>-<alg>-<tag>.key of the served DNSKEYs",
              all(parsed) and got == want and len(files) == 2, f"files {files}, served {sorted(want)}")
        modes = {f: stat.S_IMODE(os.stat(os.path.join(d, f)).st_mode) for f in files}
        check(f"8 {z} key files mode 0600", modes and all(m == 0o600 for m in modes.values()),
              ", ".join(f"{f} {m:04o}" for f, m in modes.items()))


def wait_keys_served(sat, zones, timeout):
    def all_served():
        return all(fetch_keys(sat.port, z)[0] is not None for z in zones)
    wait_until(all_served, timeout, interval=0.5)
    return {z: fetch_keys(sat.port, z)[0] for z in zones}


def step_restart(sat, keys):
    rc = sat.stop()
    check("8 SIGTERM: satellited exits 0", rc == 0, f"exit status {rc}{sat.log.tail(8)}")
    files_before = {z: key_files(sat, z) for z in ALL_ZONES}
    try:
        sat.start()
    except StartFailure as e:
        check("8 satellited restarts on the same state_dir", False, str(e))
        return False
    served = wait_keys_served(sat, ALL_ZONES, 60)
    for zone in ALL_ZONES:
        zk = served[zone]
        before = keys[zone].tags if zone in keys else None
        check(f"8 [{zone}] after restart: same DNSKEY key tags {sorted(before) if before else None}",
              zk is not None and before is not None and zk.tags == before,
              f"served {sorted(zk.tags) if zk else None}" + ("" if zk else show(fetch_keys(sat.port, zone)[1])))
    new_files = {z: key_files(sat, z) for z in ALL_ZONES}
    check("8 after restart: no key file added or removed", new_files == files_before,
          "; ".join(f"{z}: {files_before[z]} -> {new_files[z]}" for z in ALL_ZONES if new_files[z] != files_before[z]))
    return True


def damage_flip(path, where):
    """Change one base64 character of the PEM body: `middle` = the middle of the
    body, `scalar` = base64 character 56 (DER byte 42: inside the private key
    octets of a P-256 PKCS#8 key, so the DER stays well-formed)."""
    with open(path) as f:
        lines = f.read().split("\n")
    begin = next(i for i, l in enumerate(lines) if l.startswith("-----BEGIN"))
    end = next(i for i, l in enumerate(lines) if l.startswith("-----END") and i > begin)
    chars = [(i, j) for i in range(begin + 1, end) for j in range(len(lines[i].rstrip()))]
    i, j = chars[56] if where == "scalar" else chars[len(chars) // 2]
    line = lines[i]
    c = line[j]
    new = "B" if c != "B" else "C"
    lines[i] = line[:j] + new + line[j + 1:]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return f"line {i + 1} column {j + 1}: {c!r} -> {new!r}"


def damage_truncate(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    return f"truncated from {size} to {size // 2} bytes"


def step_damaged(sat, keys):
    rc = sat.stop()
    check("8 SIGTERM before damaging key files: exit 0", rc == 0, f"exit status {rc}")
    damaged = {}
    for zone, kind, where in DAMAGE:
        files = [f for f in key_files(sat, zone) if f.startswith(kind + "-")]
        if not check(f"8 [{zone}] has a {kind} file to damage", len(files) == 1, f"files {key_files(sat, zone)}"):
            continue
        path = os.path.join(key_dir(sat, zone), files[0])
        try:
            how = damage_truncate(path) if where == "truncate" else damage_flip(path, where)
        except (OSError, StopIteration) as e:
            check(f"8 [{zone}] damage {path}", False, f"could not: {e!r} (is it a PEM file?)")
            continue
        print(f"      damaged {path}: {how}")
        damaged[zone] = path
    files_before = {z: key_files(sat, z) for z in ALL_ZONES}
    try:
        mark = sat.start()
    except StartFailure as e:
        check("8 satellited starts with damaged key files (and keeps running)", False, str(e))
        return
    others = [z for z in ALL_ZONES if z not in damaged]
    served = wait_keys_served(sat, others, 60)
    for zone, path in damaged.items():
        rel = os.path.relpath(path, sat.state)

        def logged():
            return sat.log.lines(lambda l: "damaged" in l and (path in l or rel in l), mark)
        got = wait_until(logged, 15)
        check(f"8 [{zone}] log line with 'damaged' and the path {path}", got,
              "log since start:" + sat.log.tail(25, mark))
    time.sleep(2)  # let any (wrong) key generation happen before looking
    check("8 damaged keys: satellited still running", sat.alive(), sat.log.tail(20, mark))
    for zone, path in damaged.items():
        now_files = key_files(sat, zone)
        check(f"8 [{zone}] no new key file created", now_files == files_before[zone],
              f"before {files_before[zone]}, now {now_files}")
        r = ask(sat.port, zone, "DNSKEY", do=True)
        tags = {dns.dnssec.key_id(rd) for rr in (sets(r, "answer", T.DNSKEY) if r else []) for rd in rr}
        new_tags = tags - keys[zone].tags if zone in keys else tags
        what = "no response" if r is None else f"rcode {dns.rcode.to_text(r.rcode())}, DNSKEY tags {sorted(tags)}"
        check(f"8 [{zone}] no DNSKEY with a new key tag served ({what})", r is not None and not new_tags,
              show(r))
        r = ask(sat.port, f"www.{zone}", "A", do=True)
        sigs = [rr for s in ("answer", "authority") for rr in (getattr(r, s) if r else []) if rr.rdtype == RRSIG]
        rc = dns.rcode.to_text(r.rcode()) if r else "no response"
        detail = show(r)
        if sigs and zone in keys:  # served signed after all: do those signatures even validate?
            dk = ask(sat.port, zone, "DNSKEY", do=True)
            for resp, what in ((dk, "DNSKEY"), (r, "www A")):
                p = ["no response"] if resp is None else rrsig_problems(resp, keys[zone], 0, 1, 0)
                p = [x for x in p if "inception" not in x and "expiration" not in x]
                detail += f"\n      {what} signatures: " + ("; ".join(p) if p else "all validate")
        check(f"8 [{zone}] www A DO=1: not served signed (SERVFAIL, or unsigned; got {rc}, "
              f"{len(sigs)} RRSIG sets)", r is not None and (r.rcode() == dns.rcode.SERVFAIL or not sigs), detail)
    for zone in others:
        zk = served[zone]
        check(f"8 [{zone}] (key intact) still served with the same keys",
              zk is not None and zone in keys and zk.tags == keys[zone].tags,
              f"served {sorted(zk.tags) if zk else None}")
    sample = [z for z in others if z in keys][:3]
    for zone in sample:
        r = ask(sat.port, f"www.{zone}", "A", do=True)
        probs = ["no response"] if r is None else rrsig_problems(r, keys[zone], 0, 
                                                                 60 if zone == REFRESH_ZONE else VALIDITY,
                                                                 0 if zone == REFRESH_ZONE else REFRESH)
        check(f"8 [{zone}] www A: signed and valid next to the damaged zones", not probs,
              "; ".join(probs) + show(r))


# ================================================================= main ====
def main():
    global VERBOSE
    ap = arg_parser("live signing end to end", HERE, verbose_help="print every direct response")
    args = ap.parse_args()
    VERBOSE = args.verbose
    add_sbin_to_path()
    binary = os.path.abspath(args.satellited)
    why = skip_reason(["knotd", "knotc", "unbound", "delv", "dnssec-dsfromkey", "ldns-verify-zone"], binary)
    if why:
        return skip(why, "0 passed, 0 failed")
    interrupt_on_sigterm()

    workdir = tempfile.mkdtemp(prefix="satellite-live-")
    print(f"work directory: {workdir}; satellited: {binary}", flush=True)
    t0 = time.monotonic()
    t_start = time.time()
    harness_error = False
    watcher = None
    try:
        stray = Stray()
        sat_port = free_port()
        knot = Knot(workdir, sat_port, stray)
        sat = Satellited(binary, workdir, knot.port)
        sat.port = sat_port
        sat.write_config()
        rc, out = sat.check_config()
        if not check("0 satellited --check-config accepts the live-mode configuration", rc == 0,
                     f"exit {rc}: {out}"):
            raise StartFailure("live mode not accepted by --check-config")
        knot.start()
        print(f"knot up on {knot.port} ({time.monotonic() - t0:.1f} s)", flush=True)
        sat.start()

        def pending():
            return [z for z in ALL_ZONES if not signed_lines(sat.log, z)]
        wait_until(lambda: not pending() or not sat.alive(), 120, interval=0.5)
        left = pending()
        check(f"0 satellited logs 'signed serial 1 (M signatures made, K kept)' for all {len(ALL_ZONES)} zones",
              not left, f"not signed: {left}" + sat.log.tail(30))
        for z in ALL_ZONES:
            lines = signed_lines(sat.log, z)
            if lines:
                s, m, k = lines[0]
                check(f"0 [{z}] first signing at serial 1 makes signatures (serial {s}, {m} made, {k} kept)",
                      s == 1 and m > 0, f"{lines[0]}")
        print(f"satellited up on {sat.port} ({time.monotonic() - t0:.1f} s)", flush=True)

        watcher = RefreshWatcher(sat)
        watcher.start()

        print("--- 1: keys, DS, CDS/CDNSKEY", flush=True)
        keys = {}
        for z in ALL_ZONES:
            zk = step_keys(sat.port, z, workdir, stray)
            if zk is not None:
                keys[z] = zk
        print("--- 2: direct DO=1 queries", flush=True)
        for z in ZONES:
            if z in keys:
                step_direct(sat.port, z, keys[z], t_start)
            else:
                check(f"2 [{z}] direct checks", False, "skipped: no DNSKEY served")
        print("--- 3: ldns-verify-zone on the dumped zones", flush=True)
        for z in ALL_ZONES:
            if zone_denial(z) != "compact":
                verify_dump(sat, z, 1, f"3 [{z}]")
        anchors = {z: anchor_file(workdir, keys[z]) for z in ZONES if z in keys and keys[z].ds_lines}
        if anchors:
            unbound = Unbound(workdir, {z: keys[z].ds_lines[0] for z in anchors}, sat.port)
            unbound.start()
            step_resolver(unbound, list(anchors))
            unbound.stop()
            step_delv(sat.port, anchors)
        else:
            check("4/5 trust anchors for unbound and delv", False, "no zone has a DS")
        step_ixfr(sat, knot, anchors, keys, t_start)

        left = watcher.duration - (time.time() - watcher.started)
        print(f"--- 7: refresh.test. watcher ({max(0, left):.0f} s to go)", flush=True)
        watcher.join(timeout=max(0, left) + 60)
        if watcher.is_alive():
            check("7 refresh watcher finished", False, "still running")
        else:
            watcher.report()
        if REFRESH_ZONE in keys and keys[REFRESH_ZONE].ds_lines:
            a = anchor_file(workdir, keys[REFRESH_ZONE])
            for qn, qt, want in ((f"www.{REFRESH_ZONE}", "A", FULL), (f"nope.{REFRESH_ZONE}", "A", NEG)):
                out = delv(sat.port, a, REFRESH_ZONE, qn, qt)
                check(f"7 delv {qn} {qt} after the watch: {want}", delv_ok(out, want), delv_summary(out))
        step_key_files(sat, keys)
        if step_restart(sat, keys):
            step_damaged(sat, keys)
        check("8 satellited still running at the end", sat.alive(), sat.log.tail(15))
    except (Exception, KeyboardInterrupt) as e:
        harness_error = record_abort(e, "0 satellited starts with the live-mode configuration")
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
