#!/usr/bin/python3
# Pre-signed DNSSEC end to end (issue 4): does the authority under test give
# DNSSEC-aware answers (RFC 4035 §3.1, RFC 5155 §7.2) for zones a primary
# signed? Everything is built at run time in a temporary directory:
#
#   test.                 signed (NSEC), served by the authority from a file;
#                         its DS is the trust anchor; holds the children's DS
#   nsec.test.            NSEC        } pulled by AXFR from Knot (which serves
#   nsec3.test.           NSEC3       } the signed files as they are: no
#   optout.test.          NSEC3 opt-out } dnssec-signing) by the authority
#     each child: apex SOA/NS/A/MX/TXT, www A/AAAA/TXT, *.wild, an empty
#     non-terminal (a.b.c: b.c and c are empty), alias CNAME www, dangling
#     CNAME to a missing name, `sec` (secure delegation: NS + glue + DS),
#     `insec` (insecure delegation: NS + glue, no DS); optout.test. adds the
#     insecure delegations ins1, ins2, ins3
#   sec.<child>           signed grandchildren  } served by a helper NSD on its
#   insec.<child>, ins1.optout.test. unsigned   } own port (unbound reaches them
#                         through stub-zones: glue cannot carry a port)
#   flip.test.            not delegated; NSEC at serial 1, NSEC3 at serial 2
#                         (the allow_nsec3 = false run, satellited only)
#
# Checks (numbered in the output):
#   0  harness: signed zones verify (ldns-verify-zone), every zone served
#   1  unbound (validating, trust anchor = DS of test., stub-zones to the
#      authority) answers existing, missing, wildcard, NODATA, ENT, CNAME and
#      delegated names with the expected rcode and AD, never SERVFAIL; its log
#      has no validation failure
#   2  delv against the authority: "fully validated" / "negative response,
#      fully validated"
#   3  direct DO=1 queries to the authority: every answer/authority RRset
#      carries an RRSIG that validates; NSEC/NSEC3 denial proofs checked by
#      name arithmetic (covering, matching, closest encloser, opt-out flag);
#      referrals with DS+RRSIG or the proof of no DS; DO bit echoed. DO=0 and
#      no-EDNS queries carry no RRSIG/NSEC/NSEC3 unless asked for by type
#   4  satellited only: allow_nsec3 = false -> NSEC3 zones not served
#      (SERVFAIL), a log line names the zone, NSEC3 and allow_nsec3; a zone
#      that turns NSEC3 in a later transfer keeps its previous copy
#
# Run through run.sh. --authority nsd runs the same checks against NSD 4.6 as
# the authority (the reference: it must pass); step 4 is satellited-only.
# Exit 0 when no check failed; the last line is `N passed, M failed`.
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import dns.dnssec
    import dns.flags
    import dns.name
    import dns.rcode
    import dns.rdatatype
    import dns.rrset
except ImportError:
    sys.stderr.write("error: dnspython is missing: run with /usr/bin/python3 (python3-dnspython)\n")
    sys.exit(2)

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import harness  # noqa: E402
from harness import (CHECKS, HarnessError, LOOP, LogFile, N, Nsec3Set, NsecSet, StartFailure,  # noqa: E402
                     add_sbin_to_path, arg_parser, ask, ask_resolver, check, closest_encloser_problems, delv, delv_ok,
                     delv_summary, denial_ent, denial_nodata, denial_nxdomain, finish_workdir, free_port,
                     interrupt_on_sigterm, next_closer, record_abort, response_problems, run, sets, skip, skip_reason,
                     spawn, spawn_unbound, stop_all, stub_zone, toml_zone, unbound_conf, validation_failures,
                     wildcard_of)

VERBOSE = False

T = dns.rdatatype
RRSIG, NSEC, NSEC3 = T.RRSIG, T.NSEC, T.NSEC3
DNSSEC_ONLY = (RRSIG, NSEC, NSEC3)


# The shared harness with this suite's defaults: polls every 0.1 s, 10 s
# for a daemon to stop (then its status after SIGKILL), responses cut at
# 1800 characters.
def wait_until(fn, timeout, interval=0.1):
    return harness.wait_until(fn, timeout, interval)


def stop_proc(p, timeout=10):
    return harness.stop_proc(p, timeout, report_kill=False)


def show(r, limit=1800):
    return harness.show(r, limit)


def soa_serial(port, zone):
    r = ask(port, zone, "SOA", do=False)
    if r is None or r.rcode() != dns.rcode.NOERROR:
        return None
    for rr in r.answer:
        if rr.rdtype == T.SOA:
            return rr[0].serial
    return None


# ------------------------------------------------------------ zone build ----
CHILD = """$ORIGIN {z}
$TTL 300
@        SOA   ns1 hostmaster {serial} {refresh} {retry} 86400 300
@        NS    ns1
@        A     192.0.2.1
@        MX    10 mail
@        TXT   "apex of {z}"
ns1      A     127.0.0.1
www      A     192.0.2.10
www      AAAA  2001:db8::10
www      TXT   "www"
mail     A     192.0.2.25
*.wild   A     192.0.2.99
*.wild   TXT   "wildcard"
a.b.c    A     192.0.2.30
alias    CNAME www
dangling CNAME nothere
sec      NS    ns.sec
ns.sec   A     127.0.0.1
insec    NS    ns.insec
ns.insec A     127.0.0.1
"""
OPTOUT_EXTRA = "".join(f"ins{i}     NS    ns.ins{i}\nns.ins{i}  A     127.0.0.1\n" for i in (1, 2, 3))
GRANDCHILD = """$ORIGIN {z}
$TTL 300
@    SOA ns hostmaster 1 3600 600 86400 300
@    NS  ns
ns   A   127.0.0.1
host A   192.0.2.77
"""
PARENT = """$ORIGIN test.
$TTL 300
@    SOA ns hostmaster 1 3600 600 86400 300
@    NS  ns
ns   A   127.0.0.1
"""
CHILDREN = ["nsec.test.", "nsec3.test.", "optout.test."]
DENIAL = {"nsec.test.": "nsec", "nsec3.test.": "nsec3", "optout.test.": "optout", "test.": "nsec"}


class Zones:
    """Keys, signed zone files, the trust anchor, and the DNSKEYs to validate with."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "zones")
        self.keydir = os.path.join(self.dir, "keys")
        os.makedirs(self.keydir)
        self.signed = {}      # zone -> signed file
        self.unsigned = {}    # zone -> unsigned file (grandchildren served as they are)
        self.keys = {}        # dns.name.Name -> DNSKEY rrset (for dns.dnssec.validate)
        self.ksk = {}         # zone -> KSK basename
        self.anchor_ds = None  # DS text of test.

    def keygen(self, zone):
        ksk = run(["dnssec-keygen", "-q", "-a", "ECDSAP256SHA256", "-f", "KSK", "-K", self.keydir, zone]).strip()
        zsk = run(["dnssec-keygen", "-q", "-a", "ECDSAP256SHA256", "-K", self.keydir, zone]).strip()
        self.ksk[zone] = ksk
        rrs = []
        for base in (ksk, zsk):
            with open(os.path.join(self.keydir, base + ".key")) as f:
                rrs += [l.split(None, 3)[3] for l in f if l.strip() and not l.startswith(";")]
        self.keys[dns.name.from_text(zone)] = dns.rrset.from_text_list(zone, 300, "IN", "DNSKEY", rrs)
        return [os.path.join(self.keydir, b + ".key") for b in (ksk, zsk)]

    def ds(self, zone):
        return run(["dnssec-dsfromkey", "-2", os.path.join(self.keydir, self.ksk[zone] + ".key")]).strip()

    def sign(self, zone, text, denial, out_name=None):
        keyfiles = self.keygen(zone) if zone not in self.ksk else None
        if keyfiles is None:  # second version of a zone: same keys
            keyfiles = [os.path.join(self.keydir, f) for f in os.listdir(self.keydir)
                        if f.startswith("K" + zone) and f.endswith(".key")]
        base = out_name or zone.rstrip(".")
        src = os.path.join(self.dir, base + ".unsigned")
        with open(src, "w") as f:
            f.write(text)
            for k in keyfiles:
                f.write(f"$INCLUDE {k}\n")
        out = os.path.join(self.dir, base + ".signed")
        argv = ["dnssec-signzone", "-q", "-K", self.keydir, "-d", self.dir, "-O", "full", "-o", zone, "-f", out]
        if denial in ("nsec3", "optout"):
            argv += ["-3", "-", "-H", "0"]  # RFC 9276: no salt, no extra iterations
        if denial == "optout":
            argv += ["-A"]
        run(argv + [src], cwd=self.dir)
        r = subprocess.run(["ldns-verify-zone", out], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise HarnessError(f"ldns-verify-zone {out}: {r.stdout}{r.stderr}")
        return out

    def build(self):
        """Grandchildren, then children (with the DS of sec.<child>), then test."""
        t0 = time.monotonic()
        for child in CHILDREN:
            sec, insec = "sec." + child, "insec." + child
            self.signed[sec] = self.sign(sec, GRANDCHILD.format(z=sec), "nsec")
            self.unsigned[insec] = self._write(insec, GRANDCHILD.format(z=insec))
        self.unsigned["ins1.optout.test."] = self._write("ins1.optout.test.",
                                                          GRANDCHILD.format(z="ins1.optout.test."))
        parent = PARENT
        for child in CHILDREN:
            text = CHILD.format(z=child, serial=1, refresh=3600, retry=600)
            if child == "optout.test.":
                text += OPTOUT_EXTRA
            text += self.ds("sec." + child) + "\n"
            self.signed[child] = self.sign(child, text, DENIAL[child])
            label = child.split(".")[0]
            parent += f"{label} NS ns1.{label}\nns1.{label} A 127.0.0.1\n{self.ds(child)}\n"
        self.signed["test."] = self.sign("test.", parent, "nsec")
        self.anchor_ds = self.ds("test.")
        # flip.test.: NSEC at serial 1, NSEC3 at serial 2 (same keys).
        flip = lambda serial: CHILD.format(z="flip.test.", serial=serial, refresh=2, retry=2)  # noqa: E731
        self.signed["flip.test.v1"] = self.sign("flip.test.", flip(1), "nsec", "flip.test.v1")
        self.signed["flip.test.v2"] = self.sign("flip.test.", flip(2), "nsec3", "flip.test.v2")
        print(f"signed {len(self.signed)} zone versions in {time.monotonic() - t0:.1f} s "
              f"(all verified by ldns-verify-zone)")

    def _write(self, zone, text):
        path = os.path.join(self.dir, zone.rstrip(".") + ".zone")
        with open(path, "w") as f:
            f.write(text)
        return path


# --------------------------------------------------------------- servers ----
class Knot:
    """The hidden primary: serves the signed files as they are (no signing)."""

    def __init__(self, workdir, zones):
        self.dir = os.path.join(workdir, "knot")
        os.makedirs(os.path.join(self.dir, "db"))
        self.port = free_port()
        self.conf = os.path.join(self.dir, "knot.conf")
        self.log = LogFile(os.path.join(self.dir, "knot.log"))
        self.zones = zones
        self.files = {}
        self.proc = None

    def start(self, notify_port=None):
        for z in CHILDREN + ["flip.test."]:
            self.files[z] = os.path.join(self.dir, z.rstrip(".") + ".zone")
            shutil.copy(self.zones.signed[z if z != "flip.test." else "flip.test.v1"], self.files[z])
        c = [f"server:\n    rundir: {self.dir}\n    listen: {LOOP}@{self.port}\n    background-workers: 1",
             f"log:\n  - target: {self.log.path}\n    any: info",
             f"database:\n    storage: {self.dir}/db",
             "acl:\n  - id: xfr\n    address: 127.0.0.0/8\n    action: transfer"]
        if notify_port:
            c.append(f"remote:\n  - id: sat2\n    address: {LOOP}@{notify_port}")
        c.append("template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: whole\n"
                 "    journal-content: none\n    semantic-checks: off\n    dnssec-signing: off\n    acl: xfr")
        c.append("zone:")
        for z in CHILDREN:
            c.append(f"  - domain: {z}\n    file: {self.files[z]}")
        c.append(f"  - domain: flip.test.\n    file: {self.files['flip.test.']}" +
                 ("\n    notify: sat2" if notify_port else ""))
        with open(self.conf, "w") as f:
            f.write("\n".join(c) + "\n")
        self.proc = spawn(["knotd", "-c", self.conf], os.path.join(self.dir, "knotd.out"))
        for z in CHILDREN + ["flip.test."]:
            if not wait_until(lambda: soa_serial(self.port, z) is not None, 10):
                raise HarnessError(f"knotd does not serve {z}: {self.log.text()[-2000:]}")

    def publish_flip_v2(self):
        shutil.copy(self.zones.signed["flip.test.v2"], self.files["flip.test."])
        r = subprocess.run(["knotc", "-c", self.conf, "-t", "10", "zone-reload", "flip.test."],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise HarnessError(f"knotc zone-reload: {r.stdout}{r.stderr}")
        if not wait_until(lambda: soa_serial(self.port, "flip.test.") == 2, 10):
            raise HarnessError("knotd did not load flip.test. serial 2")

    def stop(self):
        stop_proc(self.proc)


class Nsd:
    """NSD 4.6: file zones and secondary zones (AXFR from Knot)."""

    def __init__(self, workdir, name, files, secondaries=(), primary_port=None):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.files = files  # zone -> file
        self.secondaries = list(secondaries)
        self.primary_port = primary_port
        self.log = LogFile(os.path.join(self.dir, "nsd.log"))
        self.proc = None

    def start(self):
        conf = os.path.join(self.dir, "nsd.conf")
        lines = ["server:", f"    ip-address: {LOOP}", f"    port: {self.port}", "    server-count: 1",
                 '    username: ""', '    chroot: ""', f'    zonesdir: "{self.dir}"', '    database: ""',
                 f'    zonelistfile: "{self.dir}/zone.list"', f'    xfrdfile: "{self.dir}/xfrd.state"',
                 f'    xfrdir: "{self.dir}"', f'    pidfile: "{self.dir}/nsd.pid"',
                 f'    logfile: "{self.log.path}"', "    verbosity: 2", "    do-ip6: no",
                 "    rrl-ratelimit: 0", "    rrl-whitelist-ratelimit: 0", "    minimal-responses: no",
                 "remote-control:", "    control-enable: no"]
        for z, path in self.files.items():
            lines += ["zone:", f'    name: "{z}"', f'    zonefile: "{path}"']
        for z in self.secondaries:
            lines += ["zone:", f'    name: "{z}"', f'    zonefile: "{self.dir}/{z}xfr"',
                      f"    request-xfr: AXFR {LOOP}@{self.primary_port} NOKEY",
                      f"    allow-notify: {LOOP} NOKEY"]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = spawn(["nsd", "-d", "-c", conf], os.path.join(self.dir, "nsd.out"))

    def stop(self):
        stop_proc(self.proc)


class Satellited:
    def __init__(self, binary, workdir, name, port=None):
        self.binary = binary
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.port = port or free_port()
        self.config = os.path.join(self.dir, "satellite.toml")
        self.log = LogFile(os.path.join(self.dir, "satellited.log"))
        self.zones = []  # dicts of zone settings
        self.proc = None

    def start(self):
        out = ["[server]", f'listen = ["{LOOP}:{self.port}"]', "threads = 1",
               f'state_dir = "{self.dir}/state"', "", "[log]", 'level = "info"', ""]
        for z in self.zones:
            out += toml_zone(z)
        with open(self.config, "w") as f:
            f.write("\n".join(out))
        self.proc = spawn([self.binary, "--config", self.config], self.log.path)
        ok = wait_until(lambda: "listening on" in self.log.text() or self.proc.poll() is not None, 10)
        if not ok or self.proc.poll() is not None:
            raise StartFailure(f"satellited did not start: {self.log.text()[-2000:]}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        return stop_proc(self.proc)


class Unbound:
    def __init__(self, workdir, zones, auth_port, helper_port):
        self.dir = os.path.join(workdir, "unbound")
        os.makedirs(self.dir)
        self.port = free_port()
        self.log = LogFile(os.path.join(self.dir, "unbound.log"))
        self.zones = zones
        self.auth_port = auth_port
        self.helper_port = helper_port
        self.proc = None

    def start(self):
        anchor = os.path.join(self.dir, "test.ds")
        with open(anchor, "w") as f:
            f.write(self.zones.anchor_ds + "\n")
        stubs = [("test.", self.auth_port)] + [(z, self.auth_port) for z in CHILDREN]
        stubs += [(z, self.helper_port) for z in list(self.zones.unsigned) + [f"sec.{c}" for c in CHILDREN]]
        lines = unbound_conf(self.dir, self.port, self.log.path, trust_anchor_file=anchor)
        for z, p in stubs:
            lines += stub_zone(z, f"{LOOP}@{p}")
        self.proc = spawn_unbound(self.dir, lines)
        if not wait_until(lambda: ask(self.port, "ns.test.", "A", rd=True, timeout=1) is not None
                          or self.proc.poll() is not None, 10) or self.proc.poll() is not None:
            raise HarnessError(f"unbound did not start: {self.log.text()[-2000:]}")

    def stop(self):
        stop_proc(self.proc)


# ------------------------------------------------------- proof checkers ----
def dnssec_records(r):
    """(section, name, type) of every RRSIG/NSEC/NSEC3 in a response."""
    return [(s, rr.name.to_text(), T.to_text(rr.rdtype)) for s in ("answer", "authority", "additional")
            for rr in getattr(r, s) if rr.rdtype in DNSSEC_ONLY]


def signatures_problems(r, keys, referral=False):
    """Every answer/authority RRset has an RRSIG (same owner, type covered)
    that validates with the signer's DNSKEYs (RFC 4035 §3.1.1); the NS RRset
    of a referral is not signed (§3.1.4: it is not authoritative)."""
    probs = []
    for sec in ("answer", "authority"):
        rrs = getattr(r, sec)
        for rr in rrs:
            if rr.rdtype == RRSIG:
                if not any(x.name == rr.name and x.rdtype == rr.covers for x in rrs if x.rdtype != RRSIG):
                    probs.append(f"{sec}: RRSIG({T.to_text(rr.covers)}) at {rr.name} covers no RRset")
                continue
            sig = [x for x in rrs if x.rdtype == RRSIG and x.name == rr.name and x.covers == rr.rdtype]
            if referral and sec == "authority" and rr.rdtype == T.NS:
                if sig:
                    probs.append(f"referral NS at {rr.name} carries an RRSIG (RFC 4035 §2.2: cuts' NS is unsigned)")
                continue
            if not sig:
                probs.append(f"{sec}: {rr.name} {T.to_text(rr.rdtype)} has no RRSIG")
                continue
            try:
                dns.dnssec.validate(rr, sig[0], keys)
            except dns.dnssec.ValidationFailure as e:
                probs.append(f"{sec}: RRSIG over {rr.name} {T.to_text(rr.rdtype)} does not validate ({e})")
    return probs


def denial_wildcard_answer(r, kind, qname, ce):
    """RFC 4035 §3.1.3.3 / RFC 5155 §7.2.6: prove no closer match."""
    if kind == "nsec":
        s = NsecSet(r)
        return ([] if s.covering(qname) else [f"no NSEC covers {qname}"]), s.text()
    s = Nsec3Set(r)
    nc = next_closer(qname, ce)
    return ([] if s.covering(nc) else [f"no NSEC3 covers the next closer name {nc}"]), s.text()


def denial_wildcard_nodata(r, kind, qname, ce, qtype):
    """RFC 4035 §3.1.3.4 / RFC 5155 §7.2.5."""
    wc = wildcard_of(ce)
    probs = []
    if kind == "nsec":
        s = NsecSet(r)
        if not s.covering(qname):
            probs.append(f"no NSEC covers {qname}")
        m = s.at(wc)
        if not m:
            probs.append(f"no NSEC at the wildcard {wc}")
        elif any(qtype in x[2] or "CNAME" in x[2] for x in m):
            probs.append(f"the NSEC at {wc} lists {qtype}")
        return probs, s.text()
    s = Nsec3Set(r)
    probs += closest_encloser_problems(s, qname, ce)
    m = s.matching(wc)
    if not m:
        probs.append(f"no NSEC3 matches the wildcard {wc}")
    elif any(qtype in x["types"] for x in m):
        probs.append(f"the NSEC3 of {wc} lists {qtype}")
    return probs, s.text()


def denial_no_ds(r, kind, cut, apex):
    """No DS at an insecure cut (RFC 4035 §3.1.4.1; RFC 5155 §7.2.7 and
    §7.2.4): the NSEC/NSEC3 at the cut with NS and without DS/SOA, or, in an
    opt-out zone without an NSEC3 for the cut, the closest provable encloser
    proof whose next-closer NSEC3 has the opt-out flag."""
    if kind == "nsec":
        s = NsecSet(r)
        m = s.at(cut)
        if not m:
            return [f"no NSEC at the cut {cut}"], s.text()
        t = m[0][2]
        return ([] if "NS" in t and "DS" not in t and "SOA" not in t
                else [f"NSEC at {cut} has types {sorted(t)}"]), s.text()
    s = Nsec3Set(r)
    m = s.matching(cut)
    if m:
        t = m[0]["types"]
        return ([] if "NS" in t and "DS" not in t and "SOA" not in t
                else [f"NSEC3 of {cut} has types {sorted(t)}"]), s.text()
    probs = []
    if kind != "optout":
        probs.append(f"no NSEC3 matches the cut {cut} (the zone is not opt-out)")
    ce = cut.parent()
    while ce != apex and not s.matching(ce):
        ce = ce.parent()
    if not s.matching(ce):
        probs.append(f"no NSEC3 matches a closest provable encloser of {cut}")
    cov = s.covering(next_closer(cut, ce))
    if not cov:
        probs.append(f"no NSEC3 covers the next closer name {next_closer(cut, ce)}")
    elif not any(x["flags"] & 1 for x in cov):
        probs.append(f"the NSEC3 covering {next_closer(cut, ce)} has no opt-out flag")
    return probs, s.text()


# ------------------------------------------------- 1: through unbound ----
def resolver_cases(zone):
    """(qname, qtype, rcode, AD expected, answer type expected or None, why)."""
    kind = DENIAL[zone]
    z = lambda s: f"{s}.{zone}" if s != "@" else zone  # noqa: E731
    secure = True
    cases = [
        (z("@"), "SOA", "NOERROR", secure, "SOA", "apex SOA"),
        (z("@"), "DNSKEY", "NOERROR", secure, "DNSKEY", "apex DNSKEY"),
        (z("www"), "A", "NOERROR", secure, "A", "existing name"),
        (z("www"), "AAAA", "NOERROR", secure, "AAAA", "existing name, AAAA"),
        (z("www"), "MX", "NOERROR", secure, None, "NODATA"),
        (z("b.c"), "A", "NOERROR", secure, None, "empty non-terminal NODATA"),
        (z("alias"), "A", "NOERROR", secure, "A", "CNAME to an existing name"),
        (z("sec"), "DS", "NOERROR", secure, "DS", "DS at the secure cut"),
        (z("host.sec"), "A", "NOERROR", secure, "A", "below the secure delegation (DS proven)"),
        (z("host.insec"), "A", "NOERROR", False, "A", "below the insecure delegation (no DS proven)"),
    ]
    # RFC 5155 §9.2: a next-closer NSEC3 with the opt-out flag only proves
    # that no *signed* name exists there (an unsigned delegation may), so
    # validators (unbound and BIND alike) call NXDOMAIN, wildcard answers and
    # wildcard NODATA proven that way insecure: right rcode, no AD. The same
    # holds for the NODATA of a DS query at an opt-out cut. In the NSEC and
    # plain NSEC3 zones all of these are secure.
    nx_secure = kind != "optout"
    cases += [
        (z("foo.wild"), "A", "NOERROR", nx_secure, "A", "wildcard answer"),
        (z("foo.wild"), "MX", "NOERROR", nx_secure, None, "wildcard NODATA"),
        (z("nope"), "A", "NXDOMAIN", nx_secure, None, "missing name"),
        (z("x.y.www"), "A", "NXDOMAIN", nx_secure, None, "missing name below an existing one"),
        (z("dangling"), "A", "NXDOMAIN", nx_secure, "CNAME", "CNAME to a missing name"),
        (z("insec"), "DS", "NOERROR", nx_secure, None, "DS at the insecure cut (NODATA)"),
    ]
    if kind == "optout":
        cases += [(z("host.ins1"), "A", "NOERROR", False, "A", "below an opt-out insecure delegation")]
    return cases


def step_resolver(unbound, auth_label):
    print(f"--- 1: unbound validating through {auth_label}", flush=True)
    cases = [("test.", "SOA", "NOERROR", True, "SOA", "parent apex"),
             ("nsec.test.", "DS", "NOERROR", True, "DS", "child DS from the parent")]
    for zone in CHILDREN:
        cases += resolver_cases(zone)

    mark = unbound.log.mark()
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as ex:
        results = list(ex.map(lambda c: ask_resolver(unbound.port, c[0], c[1]), cases))
    for (qname, qtype, rcode, ad, ans, why), r in zip(cases, results):
        name = f"1 unbound {qname} {qtype} ({why}): {rcode}{', AD' if ad else ', no AD'}"
        if r is None:
            check(name, False, "no answer from unbound")
            continue
        probs = []
        got = dns.rcode.to_text(r.rcode())
        if got != rcode:
            probs.append(f"rcode {got}")
        if bool(r.flags & dns.flags.AD) != ad:
            probs.append("AD set" if not ad else "AD not set")
        if ans and not sets(r, "answer", T.from_text(ans)):
            probs.append(f"no {ans} in the answer")
        check(name, not probs, ", ".join(probs) + show(r) if VERBOSE or probs else "")
    fails = validation_failures(unbound.log, mark)
    check("1 unbound logged no validation failure", not fails,
          "\n      " + "\n      ".join(fails[:15]) + (f"\n      ... {len(fails)} lines" if len(fails) > 15 else ""))


# ----------------------------------------------------------- 2: delv ----
def step_delv(auth_port, anchor_file):
    print("--- 2: delv against the authority", flush=True)
    cases = []
    for zone in CHILDREN:
        nx = "negative response, fully validated"
        cases += [(f"www.{zone}", "A", "fully validated"), (f"alias.{zone}", "A", "fully validated"),
                  (f"sec.{zone}", "DS", "fully validated"), (f"www.{zone}", "MX", nx), (f"b.c.{zone}", "A", nx)]
        if zone != "optout.test.":
            cases += [(f"nope.{zone}", "A", nx), (f"insec.{zone}", "DS", nx),
                      (f"foo.wild.{zone}", "A", "fully validated")]
        else:
            # Proven by an opt-out NSEC3 (RFC 5155 §9.2): validators differ on
            # whether that is secure (delv 9.18 says "fully validated" for the
            # NXDOMAIN and the DS NODATA, "unsigned answer" for the wildcard;
            # unbound says insecure for all three); either way never bogus.
            nxu = nx + "|negative response, unsigned answer"
            cases += [(f"nope.{zone}", "A", nxu), (f"insec.{zone}", "DS", nxu),
                      (f"foo.wild.{zone}", "A", "fully validated|unsigned answer")]

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as ex:
        outs = list(ex.map(lambda c: delv(auth_port, anchor_file, "test.", c[0], c[1]), cases))
    for (qname, qtype, want), out in zip(cases, outs):
        check(f"2 delv {qname} {qtype}: {want.replace('|', ' or ')}", delv_ok(out, want), delv_summary(out))


# ---------------------------------------------------- 3: direct checks ----
class Direct:
    def __init__(self, port, keys):
        self.port = port
        self.keys = keys

    def q(self, name, rdtype, **kw):
        r = ask(self.port, name, rdtype, **kw)
        if VERBOSE:
            print(f"      >>> {name} {rdtype} {kw}{show(r)}")
        return r

    def expect(self, label, r, rcode="NOERROR", aa=True, answer=(), referral=False, soa=None, proof=None):
        """One check of a DO=1 response: rcode, AA, answer types, signatures,
        DO echoed, SOA in authority for negative answers, and the denial proof."""
        if r is None:
            return check(label, False, "no response")
        probs = response_problems(r, rcode, aa, answer, not_echoed="DO bit not echoed (RFC 3225 §3)")
        if soa is not None:
            if not sets(r, "authority", T.SOA, N(soa)):
                probs.append(f"no SOA {soa} in the authority section")
        if soa is None and not referral and not sets(r, "answer") and rcode == "NOERROR":
            probs.append("empty answer")
        probs += signatures_problems(r, self.keys, referral)
        extra = ""
        if proof is not None:
            p, extra = proof(r)
            probs += p
        return check(label, not probs, "; ".join(probs) + (f"\n      records: {extra}" if extra else "") + show(r))

    def plain(self, label, r, allowed=(), edns=True):
        """DO=0 (or no EDNS): no RRSIG/NSEC/NSEC3 unless the query asked for that type."""
        if r is None:
            return check(label, False, "no response")
        bad = [x for x in dnssec_records(r) if x[2] not in allowed]
        probs = [f"{s} has {n} {t}" for s, n, t in bad]
        if edns and r.edns >= 0 and r.ednsflags & dns.flags.DO:
            probs.append("DO bit set in the response to a DO=0 query")
        if r.rcode() == dns.rcode.SERVFAIL:
            probs.append("SERVFAIL")
        return check(label, not probs, "; ".join(probs) + show(r))


def step_direct(auth_port, zones):
    print("--- 3: direct queries to the authority", flush=True)
    d = Direct(auth_port, zones.keys)
    # The parent: its own data signed, a child's DS answered from the parent
    # side of the cut even though the same server serves the child (RFC 4035
    # §3.1.4.1), with an NSEC denial in the parent.
    d.expect("3 test. SOA: signed", d.q("test.", "SOA"), answer=["SOA"])
    d.expect("3 test. DNSKEY: signed by the KSK", d.q("test.", "DNSKEY"), answer=["DNSKEY"])
    for child in CHILDREN:
        r = d.q(child, "DS")
        ok = d.expect(f"3 {child} DS: answered from the parent test. (AA, DS + RRSIG by test.)", r, answer=["DS"])
        if ok:
            sig = sets(r, "answer", RRSIG, N(child), T.DS)
            check(f"3 {child} DS: RRSIG signer is test.", sig and sig[0][0].signer == N("test."),
                  show(r))
    d.expect("3 nope.test. A: NXDOMAIN in the parent with NSEC proof", d.q("nope.test.", "A"), rcode="NXDOMAIN",
             soa="test.", proof=lambda r: denial_nxdomain(r, "nsec", N("nope.test."), N("test.")))
    for zone in CHILDREN:
        direct_zone(d, zone)


def direct_zone(d, zone):
    kind = DENIAL[zone]
    apex = N(zone)
    n = lambda s: N(f"{s}.{zone}") if s != "@" else apex  # noqa: E731
    z = f"[{zone}]"
    d.expect(f"3 {z} SOA", d.q(zone, "SOA"), answer=["SOA"])
    d.expect(f"3 {z} DNSKEY", d.q(zone, "DNSKEY"), answer=["DNSKEY"])
    d.expect(f"3 {z} apex MX (answer signed; additional may be)", d.q(zone, "MX"), answer=["MX"])
    d.expect(f"3 {z} www A", d.q(n("www"), "A"), answer=["A"])
    d.expect(f"3 {z} www TXT", d.q(n("www"), "TXT"), answer=["TXT"])
    if kind == "nsec3" or kind == "optout":
        d.expect(f"3 {z} NSEC3PARAM", d.q(zone, "NSEC3PARAM"), answer=["NSEC3PARAM"])

    # NXDOMAIN: SOA + RRSIG, denial of the name and of the wildcard.
    for q, ce in (("nope", "@"), ("x.y.www", "www"), ("deeper.x.b.c", "b.c")):
        d.expect(f"3 {z} {q} A: NXDOMAIN, closest encloser {ce}", d.q(n(q), "A"), rcode="NXDOMAIN", soa=zone,
                 proof=lambda r, q=q, ce=ce: denial_nxdomain(r, kind, n(q), n(ce)))
    d.expect(f"3 {z} www MX: NODATA", d.q(n("www"), "MX"), soa=zone,
             proof=lambda r: denial_nodata(r, kind, n("www"), "MX"))
    d.expect(f"3 {z} @ AAAA: NODATA at the apex", d.q(zone, "AAAA"), soa=zone,
             proof=lambda r: denial_nodata(r, kind, apex, "AAAA"))
    for ent in ("b.c", "c"):
        d.expect(f"3 {z} {ent} A: empty non-terminal NODATA", d.q(n(ent), "A"), soa=zone,
                 proof=lambda r, ent=ent: denial_ent(r, kind, n(ent)))

    # Wildcards: the expanded answer's RRSIG has the wildcard's label count
    # (RFC 4035 §3.1.3.3) and comes with the proof that no closer name exists.
    r = d.q(n("foo.wild"), "A")
    if d.expect(f"3 {z} foo.wild A: wildcard answer + no-closer-match proof", r, answer=["A"],
                proof=lambda r: denial_wildcard_answer(r, kind, n("foo.wild"), n("wild"))):
        sig = sets(r, "answer", RRSIG, n("foo.wild"), T.A)
        check(f"3 {z} foo.wild A: RRSIG labels = {len(n('wild').labels) - 1} (wildcard)",
              sig and sig[0][0].labels == len(n("wild").labels) - 1, show(r))
    d.expect(f"3 {z} foo.wild MX: wildcard NODATA", d.q(n("foo.wild"), "MX"), soa=zone,
             proof=lambda r: denial_wildcard_nodata(r, kind, n("foo.wild"), n("wild"), "MX"))
    d.expect(f"3 {z} *.wild TXT: the wildcard itself", d.q(n("*.wild"), "TXT"), answer=["TXT"])

    # CNAMEs: each RRset signed; a CNAME to a missing name is NXDOMAIN with
    # the denial of the target (RFC 4035 §3.1.3 applies to the last name).
    d.expect(f"3 {z} alias A: CNAME + target, both signed", d.q(n("alias"), "A"), answer=["CNAME", "A"])
    d.expect(f"3 {z} dangling A: CNAME to a missing name", d.q(n("dangling"), "A"), rcode="NXDOMAIN",
             answer=["CNAME"], soa=zone, proof=lambda r: denial_nxdomain(r, kind, n("nothere"), apex))

    # Referrals (RFC 4035 §3.1.4): AA clear, unsigned NS, DS + RRSIG for a
    # secure child, the proof of no DS for an insecure one; DS queries at the
    # cut are answered by the parent side.
    def referral(r, cut, secure):
        probs = []
        if r is None:
            return ["no response"], ""
        if not sets(r, "authority", T.NS, cut):
            probs.append(f"no NS {cut} in the authority section")
        if sets(r, "authority", T.SOA):
            probs.append("SOA in a referral")
        ds = sets(r, "authority", T.DS, cut)
        if secure and not ds:
            probs.append(f"no DS {cut} in the referral")
        if not secure:
            if ds:
                probs.append("DS in an insecure referral")
            p, text = denial_no_ds(r, kind, cut, apex)
            return probs + p, text
        return probs, ""

    d.expect(f"3 {z} host.sec A: referral to a secure child (NS, DS + RRSIG)", d.q(n("host.sec"), "A"),
             aa=False, referral=True, proof=lambda r: referral(r, n("sec"), True))
    insecure = ["insec"] + (["ins1", "ins2", "ins3"] if kind == "optout" else [])
    for cut in insecure:
        d.expect(f"3 {z} host.{cut} A: referral to an insecure child (NS + proof of no DS)",
                 d.q(n(f"host.{cut}"), "A"), aa=False, referral=True,
                 proof=lambda r, cut=cut: referral(r, n(cut), False))
    d.expect(f"3 {z} sec DS: authoritative DS answer", d.q(n("sec"), "DS"), answer=["DS"])
    for cut in insecure[:2]:
        d.expect(f"3 {z} {cut} DS: NODATA with the proof of no DS", d.q(n(cut), "DS"), soa=zone,
                 proof=lambda r, cut=cut: denial_no_ds(r, kind, n(cut), apex))

    # DO=0 and no EDNS: no DNSSEC records unless asked for by type.
    plain = [("www", "A"), ("nope", "A"), ("www", "MX"), ("foo.wild", "A"), ("foo.wild", "MX"), ("b.c", "A"),
             ("alias", "A"), ("dangling", "A"), ("host.sec", "A"), ("host.insec", "A"), ("insec", "DS"),
             ("@", "DNSKEY"), ("@", "MX")]
    for q, t in plain:
        d.plain(f"3 {z} {q} {t} DO=0: no RRSIG/NSEC/NSEC3", d.q(n(q), t, do=False))
    for q, t in (("nope", "A"), ("foo.wild", "A"), ("host.sec", "A")):
        d.plain(f"3 {z} {q} {t} without EDNS: no RRSIG/NSEC/NSEC3", d.q(n(q), t, do=False, edns=False), edns=False)
    r = d.q(n("host.sec"), "A", do=False)
    check(f"3 {z} host.sec A DO=0: referral without DS (RFC 4035 §3.1.4: DS only with DO)",
          r is not None and not sets(r, "authority", T.DS) and sets(r, "authority", T.NS), show(r))
    if kind == "nsec":
        r = d.q(n("www"), "NSEC", do=False)
        d.plain(f"3 {z} www NSEC DO=0: the NSEC is given when asked for", r, allowed=("NSEC",))
        check(f"3 {z} www NSEC DO=0: answer holds the NSEC of www", r is not None and sets(r, "answer", NSEC, n("www")),
              show(r))
    else:
        r = d.q(zone, "NSEC3PARAM", do=False)
        check(f"3 {z} NSEC3PARAM DO=0: answered, no RRSIG",
              r is not None and sets(r, "answer", T.NSEC3PARAM) and not dnssec_records(r), show(r))
    r = d.q(zone, "DNSKEY", do=False)
    check(f"3 {z} DNSKEY DO=0: DNSKEY without RRSIG",
          r is not None and sets(r, "answer", T.DNSKEY) and not dnssec_records(r), show(r))


# ------------------------------------------- 4: allow_nsec3 = false ----
def step_optin(binary, workdir, knot, sat2_port):
    print("--- 4: satellited with allow_nsec3 = false", flush=True)
    sat = Satellited(binary, workdir, "sat-optin", port=sat2_port)
    kp = [f"{LOOP}:{knot.port}"]
    sat.zones = [dict(name="nsec.test.", primaries=kp),
                 dict(name="nsec3.test.", primaries=kp, allow_nsec3=False),
                 dict(name="optout.test.", primaries=kp),  # allow_nsec3 left at its default (false)
                 dict(name="flip.test.", primaries=kp, allow_nsec3=False)]
    try:
        sat.start()
    except StartFailure as e:
        check("4 satellited starts with allow_nsec3 = false on NSEC3 zones", False, str(e))
        return
    try:
        served = wait_until(lambda: soa_serial(sat.port, "nsec.test.") == 1
                            and soa_serial(sat.port, "flip.test.") == 1, 10)
        check("4 control: nsec.test. and flip.test. (NSEC) served with allow_nsec3 = false", served,
              sat.log.text()[-1500:])

        def refusal_lines(zone):
            return sat.log.lines(lambda l: zone in l and "allow_nsec3" in l
                                 and re.search(r"nsec3(?!\.test)", l, re.I) is not None)
        wait_until(lambda: refusal_lines("nsec3.test") and refusal_lines("optout.test"), 8)
        for zone in ("nsec3.test.", "optout.test."):
            r = ask(sat.port, zone, "SOA", do=False)
            check(f"4 {zone} (NSEC3, not allowed) not served: SERVFAIL",
                  r is not None and r.rcode() == dns.rcode.SERVFAIL, show(r))
            r = ask(sat.port, f"www.{zone}", "A", do=True)
            check(f"4 www.{zone} A (NSEC3, not allowed): SERVFAIL",
                  r is not None and r.rcode() == dns.rcode.SERVFAIL, show(r))
            lines = refusal_lines(zone.rstrip("."))
            check(f"4 {zone}: a log line names the zone, NSEC3 and allow_nsec3", lines,
                  "satellited log:\n      " + "\n      ".join(sat.log.text().splitlines()[-15:]))
        # flip.test. turns NSEC3 at serial 2: refused, serial 1 keeps serving.
        mark = sat.log.mark()
        knot.publish_flip_v2()
        refused = wait_until(lambda: sat.log.lines(lambda l: "flip.test" in l and "allow_nsec3" in l, mark), 10)
        check("4 flip.test. serial 2 (NSEC3): refusal logged (names allow_nsec3)", refused,
              "satellited log since the change:\n      " + "\n      ".join(sat.log.text(mark).splitlines()[-10:]))
        if not refused:
            time.sleep(2)
        r = ask(sat.port, "flip.test.", "SOA", do=False)
        serial = r.answer[0][0].serial if r is not None and r.answer else None
        check("4 flip.test.: the previous copy (serial 1, NSEC) is still served", serial == 1,
              f"serial {serial}" + show(r))
        r = ask(sat.port, "flip.test.", "NSEC3PARAM", do=True)
        check("4 flip.test.: no NSEC3PARAM served", r is not None and r.rcode() == dns.rcode.NOERROR
              and not sets(r, "answer", T.NSEC3PARAM), show(r))
        check("4 satellited still running", sat.alive(), sat.log.text()[-1500:])
    finally:
        sat.stop()


# ================================================================= main ====
def main():
    global VERBOSE
    ap = arg_parser("pre-signed DNSSEC end to end", HERE, verbose_help="print every direct response")
    ap.add_argument("--authority", choices=["satellited", "nsd"], default="satellited")
    args = ap.parse_args()
    VERBOSE = args.verbose
    add_sbin_to_path()
    tools = ["knotd", "knotc", "nsd", "unbound", "dnssec-keygen", "dnssec-signzone", "dnssec-dsfromkey", "delv",
             "ldns-verify-zone"]
    binary = os.path.abspath(args.satellited) if args.authority == "satellited" else None
    why = skip_reason(tools, binary)
    if why:
        return skip(why, "0 passed, 0 failed")
    interrupt_on_sigterm()

    workdir = tempfile.mkdtemp(prefix="satellite-presigned-")
    print(f"work directory: {workdir}; authority: {args.authority}"
          + (f" ({binary})" if binary else ""), flush=True)
    t0 = time.monotonic()
    harness_error = False
    try:
        zones = Zones(workdir)
        zones.build()
        check("0 zones signed and verified by ldns-verify-zone (NSEC, NSEC3, NSEC3 opt-out)", True)
        sat2_port = free_port() if binary else None
        knot = Knot(workdir, zones)
        knot.start(notify_port=sat2_port)
        grandchildren = {f"sec.{c}": zones.signed[f"sec.{c}"] for c in CHILDREN}
        grandchildren.update(zones.unsigned)
        helper = Nsd(workdir, "helper-nsd", grandchildren)
        helper.start()
        if args.authority == "nsd":
            auth = Nsd(workdir, "authority-nsd", {"test.": zones.signed["test."]}, CHILDREN, knot.port)
            auth.start()
        else:
            auth = Satellited(binary, workdir, "sat")
            kp = [f"{LOOP}:{knot.port}"]
            auth.zones = ([dict(name="test.", file=zones.signed["test."])]
                          + [dict(name=c, primaries=kp, allow_nsec3=True) for c in CHILDREN])
            auth.start()
        for z in ["test."] + CHILDREN:
            ok = wait_until(lambda: soa_serial(auth.port, z) == 1, 10)
            check(f"0 authority serves {z} (serial 1{', by AXFR from Knot' if z != 'test.' else ', from a file'})",
                  ok, auth.log.text()[-1500:])
        for z in [f"sec.{c}" for c in CHILDREN] + list(zones.unsigned):
            if not wait_until(lambda: soa_serial(helper.port, z) == 1, 10):
                raise HarnessError(f"helper NSD does not serve {z}: {helper.log.text()[-1500:]}")
        print(f"servers up ({time.monotonic() - t0:.1f} s): knot {knot.port}, authority {auth.port}, "
              f"helper nsd {helper.port}", flush=True)

        unbound = Unbound(workdir, zones, auth.port, helper.port)
        unbound.start()
        anchor_file = os.path.join(workdir, "delv-anchor.conf")
        f = zones.anchor_ds.split()
        with open(anchor_file, "w") as fh:
            fh.write(f'trust-anchors {{ "{f[0]}" static-ds {f[3]} {f[4]} {f[5]} "{"".join(f[6:])}"; }};\n')
        step_resolver(unbound, args.authority)
        step_delv(auth.port, anchor_file)
        step_direct(auth.port, zones)
        if binary:
            check("3 satellited still running after the direct queries", auth.alive(), auth.log.text()[-1500:])
            auth.stop()
            step_optin(binary, workdir, knot, sat2_port)
        else:
            print("--- 4: skipped (allow_nsec3 is satellited's setting)")
    except (Exception, KeyboardInterrupt) as e:
        harness_error = record_abort(e, "0 satellited starts with the test's configuration")
    finally:
        stop_all()
        finish_workdir(workdir, t0, args.keep or CHECKS.failed, kept="logs kept in")
    CHECKS.print_failures()
    print(f"{CHECKS.passed} passed, {CHECKS.failed} failed")
    if harness_error:
        return 2
    return 0 if CHECKS.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
