#!/usr/bin/python3
# Differential test: the same few thousand queries to a reference server and
# to the server under test, both serving tests/integration/zones/ on loopback;
# every difference in the answers is reported, and the test passes when each
# one is covered by expected_differences.txt (beside this file).
#
# Signed zones (RFC 4035 DNSSEC-aware answers): at run time, copies of
# example.test. and sub.example.test. are renamed to nsec.test./sub.nsec.test.
# and nsec3.test./sub.nsec3.test. and signed by ldns-signzone with fresh ECDSA
# P-256 keys (NSEC; NSEC3 with 0 iterations and no salt, RFC 9276), valid for
# 30 days; both servers serve them (satellited with allow_nsec3 = true for the
# NSEC3 pair) and get ~5,400 more queries, DO=1 and DO=0, of every category
# (existing, missing, NODATA, ENT, wildcard, CNAME, DNAME, secure and insecure
# delegations, DS, DNSKEY, NSEC/NSEC3/RRSIG/ANY qtypes, NSEC3 owner names).
# Signed files live in the temporary work directory only (signatures expire).
# --no-signed leaves them out (the unsigned queries are the same either way).
#
# How to run (entry point is run.sh beside this file, which calls this script):
#   tests/integration/differential/run.sh                    # NSD vs build/bin/satellited
#   tests/integration/differential/run.sh --satellited PATH  # another satellited binary
#   tests/integration/differential/run.sh --ref nsd --sut knot   # two real servers
#   tests/integration/differential/run.sh --sut cmd --sut-cmd 'valgrind PATH --config {config}'
#   options: --seed N, --list-queries, --verbose, --report FILE, --keep, --only CAT,
#            --no-signed
# Needs /usr/bin/python3 with dnspython (Debian python3-dnspython), the
# servers' binaries (nsd, knotd, named), and ldns-keygen/ldns-signzone
# (Debian ldnsutils) unless --no-signed. Exit: 0 pass, 1 unexplained
# differences, 2 harness error (a server would not start), 77 a binary is
# missing (ctest SKIP). The last line is always `N passed, M failed`
# (N + M = queries sent; a query fails when one of its differences is not
# covered by an expected-difference rule).
#
# Network: loopback only (127.0.0.1 and ::1), ports picked at run time. Every
# wait is bounded (--start-timeout, per-query timeouts, --max-time overall;
# 25 queries in a row that the server under test leaves unanswered end the run).

import argparse
import dataclasses
import fnmatch
import json
import os
import random
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

try:
    import dns.edns
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.opcode
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset
    import dns.zone
except ImportError:
    sys.stderr.write("error: dnspython is missing: run with /usr/bin/python3 "
                     "(Debian package python3-dnspython)\n")
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
ZONES_DIR = os.path.join(HERE, "..", "zones")
DEFAULT_ZONES = ["example.test.", "other.test.", "sub.example.test."]
EXIT_SKIP = 77

# --------------------------------------------------------------------------
# Servers


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


class SkipError(Exception):
    """A binary the run needs is not installed (exit 77)."""


class HarnessError(Exception):
    """The harness cannot go on (exit 2)."""


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port(ipv6):
    """A port free for UDP and TCP on 127.0.0.1 (and ::1): bind port 0, check the rest."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            socks = []
            try:
                specs = [(socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1")]
                if ipv6:
                    specs += [(socket.AF_INET6, socket.SOCK_DGRAM, "::1"),
                              (socket.AF_INET6, socket.SOCK_STREAM, "::1")]
                for fam, typ, addr in specs:
                    s = socket.socket(fam, typ)
                    socks.append(s)
                    if fam == socket.AF_INET6:
                        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s.bind((addr, port))
            except OSError:
                continue
            finally:
                for s in socks:
                    s.close()
            return port
    raise HarnessError("no free loopback port found in 100 tries")


def need_binary(path, what):
    found = shutil.which(path) if os.sep not in path else (path if os.access(path, os.X_OK) else None)
    if not found:
        raise SkipError("%s binary not found: %s" % (what, path))
    return found


class Server:
    """One DNS server process on loopback, configured for the test zones."""

    def __init__(self, kind, role, workdir, zones, ipv6, binary=None, cmd=None, nsec3_zones=()):
        self.kind = kind            # nsd | knot | bind | satellited | cmd
        self.role = role            # ref | sut
        self.label = "%s(%s)" % (role, kind)
        self.dir = os.path.join(workdir, role + "-" + kind)
        os.makedirs(self.dir, exist_ok=True)
        self.zones = zones          # [(name, abs path)]
        self.nsec3_zones = set(nsec3_zones)   # zones signed with NSEC3 (satellited: allow_nsec3)
        self.ipv6 = ipv6
        self.binary = binary
        self.cmd = cmd
        self.port = None
        self.proc = None
        self.logpath = os.path.join(self.dir, "server.log")

    # -- configs -------------------------------------------------------------
    def _listen(self, sep):
        out = ["127.0.0.1%s%d" % (sep, self.port)]
        if self.ipv6:
            out.append("::1%s%d" % (sep, self.port))
        return out

    def config_nsd(self):
        # NSD 4.6.1 settings, chosen for determinism:
        #   rrl-ratelimit 0 + rrl-whitelist-ratelimit 0: response rate limiting is
        #     compiled in (--enable-ratelimit) and ON by default at 200 qps/source;
        #     a few thousand queries from one address would be dropped/slipped.
        #   round-robin: no (the default): RRset order as loaded.
        #   minimal-responses: no (the default, kept): NSD fills the additional
        #     section with A/AAAA of NS/MX/SRV targets when they fit. The Debian
        #     build has no --enable-minimal-responses configure option either.
        #   refuse-any: no (the default): ANY gets every RRset of the name.
        #   server-count 1, database "" (no nsd.db), no remote control,
        #   username "" (no privilege drop), verbosity 1.
        conf = os.path.join(self.dir, "nsd.conf")
        lines = ["server:"]
        for l in self._listen("@"):
            lines.append("    ip-address: %s" % l)
        lines += [
            "    port: %d" % self.port,
            "    server-count: 1",
            "    username: \"\"",
            "    chroot: \"\"",
            "    zonesdir: \"%s\"" % self.dir,
            "    database: \"\"",
            "    zonelistfile: \"%s/zone.list\"" % self.dir,
            "    xfrdfile: \"%s/xfrd.state\"" % self.dir,
            "    xfrdir: \"%s\"" % self.dir,
            "    pidfile: \"%s/nsd.pid\"" % self.dir,
            "    verbosity: 1",
            "    hide-version: no",
            "    rrl-ratelimit: 0",
            "    rrl-whitelist-ratelimit: 0",
            "    round-robin: no",
            "    minimal-responses: no",
            "    refuse-any: no",
            "    tcp-count: 100",
            "remote-control:",
            "    control-enable: no",
        ]
        for name, path in self.zones:
            lines += ["zone:", "    name: \"%s\"" % name, "    zonefile: \"%s\"" % path]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return [self.binary, "-d", "-c", conf]

    def config_knot(self):
        # Knot 3.2.6: one UDP and one TCP worker; answer-rotation off (default);
        # zone files loaded whole, never written back, no journal; semantic
        # checks off (the zones test edge cases on purpose).
        conf = os.path.join(self.dir, "knot.conf")
        listen = ", ".join(self._listen("@"))
        lines = [
            "server:",
            "    rundir: \"%s\"" % self.dir,
            "    listen: [ %s ]" % listen,
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            "    answer-rotation: off",
            "log:",
            "  - target: stderr",
            "    any: warning",
            "database:",
            "    storage: \"%s/db\"" % self.dir,
            "template:",
            "  - id: default",
            "    storage: \"%s\"" % self.dir,
            "    zonefile-sync: -1",
            "    zonefile-load: whole",
            "    journal-content: none",
            "    semantic-checks: off",
            "zone:",
        ]
        for name, path in self.zones:
            lines += ["  - domain: \"%s\"" % name, "    file: \"%s\"" % path]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return [self.binary, "-c", conf]

    def config_bind(self):
        # BIND 9.18: authoritative only, no rndc, minimal-responses no (as NSD).
        conf = os.path.join(self.dir, "named.conf")
        lines = [
            "options {",
            "    directory \"%s\";" % self.dir,
            "    pid-file \"%s/named.pid\";" % self.dir,
            "    listen-on port %d { 127.0.0.1; };" % self.port,
            ("    listen-on-v6 port %d { ::1; };" % self.port) if self.ipv6 else "    listen-on-v6 { none; };",
            "    recursion no;",
            "    allow-query { any; };",
            "    minimal-responses no;",
            "    dnssec-validation no;",
            "    notify no;",
            "    session-keyfile none;",
            "};",
            "controls { };",
        ]
        for name, path in self.zones:
            lines.append("zone \"%s\" { type primary; file \"%s\"; };" % (name, path))
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return [self.binary, "-g", "-n", "1", "-c", conf]

    def config_satellited(self):
        conf = os.path.join(self.dir, "satellite.toml")
        listen = ", ".join('"%s"' % a for a in
                           ["127.0.0.1:%d" % self.port] + (["[::1]:%d" % self.port] if self.ipv6 else []))
        lines = [
            "# written by tests/integration/differential/differential.py",
            "[server]",
            "listen = [%s]" % listen,
            "threads = 1",
            "state_dir = \"%s/state\"" % self.dir,
            "",
            "[log]",
            "level = \"warn\"",
        ]
        for name, path in self.zones:
            lines += ["", "[[zone]]", "name = \"%s\"" % name, "file = \"%s\"" % path]
            if name in self.nsec3_zones:
                # pre-signed with NSEC3: refused unless opted in (issue 4)
                lines.append("allow_nsec3 = true")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        return conf

    def argv(self):
        if self.kind == "nsd":
            return self.config_nsd()
        if self.kind == "knot":
            return self.config_knot()
        if self.kind == "bind":
            return self.config_bind()
        if self.kind == "satellited":
            return [self.binary, "--config", self.config_satellited()]
        if self.kind == "cmd":
            # Placeholders: {port} {workdir} {config} (a satellited TOML) {zones}
            # (a file of "name path" lines).
            conf = self.config_satellited()
            zl = os.path.join(self.dir, "zones.txt")
            with open(zl, "w") as f:
                for name, path in self.zones:
                    f.write("%s %s\n" % (name, path))
            text = self.cmd.format(port=self.port, workdir=self.dir, config=conf, zones=zl)
            return ["/bin/sh", "-c", "exec " + text]
        raise HarnessError("unknown server kind %r" % self.kind)

    # -- lifecycle -------------------------------------------------------------
    def start(self, timeout):
        self.port = free_port(self.ipv6)
        argv = self.argv()
        log("starting %s on port %d: %s" % (self.label, self.port, " ".join(argv)))
        self.logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir,
                                     start_new_session=True)
        self.wait_ready(timeout)

    def log_tail(self, n=15):
        try:
            with open(self.logpath, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join("    | " + l for l in lines[-n:])
        except OSError:
            return ""

    def wait_ready(self, timeout):
        """Every zone answers SOA (AA, NOERROR) over UDP and TCP, within `timeout` s."""
        deadline = time.monotonic() + timeout
        pending = [name for name, _ in self.zones]
        while pending:
            if self.proc.poll() is not None:
                raise HarnessError("%s exited with status %s before it answered:\n%s"
                                   % (self.label, self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                raise HarnessError("%s did not answer SOA for %s within %.0f s:\n%s"
                                   % (self.label, ", ".join(pending), timeout, self.log_tail()))
            name = pending[0]
            q = dns.message.make_query(name, "SOA")
            q.flags = 0
            ok = False
            for tr in ("udp", "tcp"):
                w = q.to_wire()
                r = udp_exchange("127.0.0.1", self.port, w, 0.3, q.id) if tr == "udp" else \
                    (tcp_exchange("127.0.0.1", self.port, [w], 0.5) or [None])[0]
                try:
                    m = dns.message.from_wire(r) if r else None
                except Exception:
                    m = None
                ok = bool(m and m.rcode() == 0 and m.flags & dns.flags.AA and m.answer)
                if not ok:
                    break
            if ok:
                pending.pop(0)
            else:
                time.sleep(0.1)
        log("%s is ready" % self.label)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # NSD forks server/xfrd children into our session: end that group only.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None
        self.logf.close()


# --------------------------------------------------------------------------
# Transport


def udp_exchange(addr, port, wire, timeout, msgid):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.connect((addr, port))
        s.send(wire)
        deadline = time.monotonic() + timeout
        while True:
            rem = deadline - time.monotonic()
            if rem <= 0:
                return None
            s.settimeout(rem)
            try:
                data = s.recv(65535)
            except (socket.timeout, ConnectionRefusedError):
                return None
            if msgid is None or (len(data) >= 2 and struct.unpack("!H", data[:2])[0] == msgid):
                return data


def tcp_exchange(addr, port, wires, timeout, framed=None):
    """Send `wires` (each with its 2-octet length, or `framed` raw bytes) on one
    connection; read up to len(wires) messages until timeout/EOF."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    out = []
    try:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((addr, port))
    except OSError:
        return [None] * len(wires)
    with s:
        try:
            s.sendall(framed if framed is not None else
                      b"".join(struct.pack("!H", len(w)) + w for w in wires))
        except OSError:
            return [None] * len(wires)
        buf = b""
        deadline = time.monotonic() + timeout
        while len(out) < len(wires):
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                n = struct.unpack("!H", buf[:2])[0]
                out.append(buf[2:2 + n])
                buf = buf[2 + n:]
            if len(out) >= len(wires):
                break
            rem = deadline - time.monotonic()
            if rem <= 0:
                break
            s.settimeout(rem)
            try:
                chunk = s.recv(65535)
            except (socket.timeout, OSError):
                break
            if not chunk:
                break
            buf += chunk
    return (out + [None] * len(wires))[:len(wires)]


# --------------------------------------------------------------------------
# Queries

TYPES_ALL = ["A", "AAAA", "MX", "TXT", "NS", "SOA", "CNAME", "DNAME", "SRV", "PTR",
             "ANY", "DS", "RRSIG", "NSEC", "NSEC3", "DNSKEY", "TYPE65280", "TYPE65281",
             "CAA", "HINFO", "NAPTR", "SSHFP", "NULL"]
TYPES_SHORT = ["A", "AAAA", "TXT", "MX", "NS", "DS", "SOA", "CNAME", "ANY", "NSEC"]


@dataclasses.dataclass
class Query:
    n: int                  # index in the run
    cat: str                # category (see generate())
    qname: str              # as sent (case variants included); '' for some raw queries
    qtype: str
    qclass: str = "IN"
    transport: str = "udp"  # udp udp6 tcp tcp6 tcp-reuse
    edns: object = None     # None (no OPT) or the advertised payload size
    ednsver: int = 0
    do: bool = False
    rd: bool = False
    cd: bool = False
    ad: bool = False
    msgid: int = 0
    raw: bytes = None       # hand-made wire (malformed queries)
    framed: bytes = None    # hand-made TCP stream (length prefix included)
    timeout: float = 1.0
    note: str = ""
    zone: str = ""          # the served zone the qname falls in ('' for none), set by run()
    dnssec: str = "none"    # how that zone is signed: none nsec nsec3

    def wire(self):
        if self.raw is not None:
            return self.raw
        flags = 0
        if self.rd:
            flags |= dns.flags.RD
        if self.cd:
            flags |= dns.flags.CD
        if self.ad:
            flags |= dns.flags.AD
        # OPT set explicitly: make_query() adds one whenever given a payload, and
        # (dnspython 2.3) loses an EDNS version other than 0
        q = dns.message.make_query(dns.name.from_text(self.qname), self.qtype, self.qclass,
                                   use_edns=False, flags=flags)
        if self.edns is not None:
            q.use_edns(edns=self.ednsver, ednsflags=dns.flags.DO if self.do else 0, payload=self.edns)
        q.id = self.msgid
        return q.to_wire()

    def describe(self):
        parts = ["#%d" % self.n, self.cat, self.transport,
                 "edns=%s" % ("none" if self.edns is None else self.edns),
                 "do=%d" % self.do]
        if self.ednsver:
            parts.append("ednsver=%d" % self.ednsver)
        for f in ("rd", "cd", "ad"):
            if getattr(self, f):
                parts.append(f)
        parts.append("%s/%s" % (self.qname or "-", self.qtype) +
                     ("/%s" % self.qclass if self.qclass != "IN" else ""))
        if self.note:
            parts.append("(%s)" % self.note)
        return " ".join(parts)

    def attrs(self):
        """The query's side of what expected-difference rules match."""
        return {
            "n": str(self.n), "cat": self.cat,
            "qname": self.qname.lower() if self.qname else "",
            "qtype": self.qtype, "qclass": self.qclass, "transport": self.transport,
            "edns": "none" if self.edns is None else str(self.edns),
            "do": "1" if self.do else "0", "rd": "1" if self.rd else "0",
            "note": self.note, "zone": self.zone, "dnssec": self.dnssec,
        }


def random_case(rng, name):
    return "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c.lower() for c in name)


def random_label(rng, lo=1, hi=12):
    alpha = "abcdefghijklmnopqrstuvwxyz"
    n = rng.randint(lo, hi)
    return rng.choice(alpha) + "".join(rng.choice(alpha + "0123456789-") for _ in range(n - 1)).rstrip("-")


def zone_names(zones):
    """Existing owner names per zone, and the zone cuts (non-apex NS owners)."""
    owners = {}
    cuts = set()
    for name, path in zones:
        z = dns.zone.from_file(path, origin=name, relativize=False, check_origin=True)
        apex = dns.name.from_text(name)
        owners[apex] = {}
        for n, node in z.nodes.items():
            types = {dns.rdatatype.to_text(r.rdtype) for r in node.rdatasets}
            owners[apex][n] = types
            if n != apex and "NS" in types:
                cuts.add(n)
    return owners, cuts


class Generator:
    def __init__(self, seed, zones, ipv6, queries=None):
        self.rng = random.Random(seed)
        self.zones = zones
        self.ipv6 = ipv6
        self.queries = queries if queries is not None else []

    def add(self, cat, qname, qtype, **kw):
        q = Query(n=len(self.queries), cat=cat, qname=qname, qtype=qtype,
                  msgid=self.rng.randrange(1, 65536), **kw)
        self.queries.append(q)
        return q

    def flavoured(self, cat, qname, qtype, case=0.3, **kw):
        """A query with random (seeded) transport, EDNS, DO, RD/CD/AD and case."""
        r = self.rng
        tr = r.choices(["udp", "udp6", "tcp", "tcp6", "tcp-reuse"], [70, 10, 12, 3, 5])[0]
        if not self.ipv6:
            tr = tr.replace("6", "")
        edns = r.choices([None, 512, 1232, 4096], [25, 15, 35, 25])[0]
        do = edns is not None and r.random() < 0.4
        if r.random() < case:
            qname = random_case(r, qname)
        kw.setdefault("transport", tr)
        kw.setdefault("edns", edns)
        kw.setdefault("do", do)
        kw.setdefault("rd", r.random() < 0.3)
        kw.setdefault("cd", r.random() < 0.1)
        kw.setdefault("ad", r.random() < 0.05)
        return self.add(cat, qname, qtype, **kw)

    def generate(self):
        r = self.rng
        owners, cuts = zone_names(self.zones)
        apexes = sorted(owners)
        all_names = set()
        for apex in apexes:
            all_names |= set(owners[apex])

        def below_cut(n, apex):
            return any(n.is_subdomain(c) and c.is_subdomain(apex) and c != apex for c in cuts)

        dnames = [n for a in apexes for n, t in owners[a].items() if "DNAME" in t]
        ents = set()
        for apex in apexes:
            for n in owners[apex]:
                p = n.parent()
                while p != apex and p.is_subdomain(apex):
                    if p not in all_names:
                        ents.add(p)
                    p = p.parent()

        # 1. every existing name (and zone apex) x many types
        for apex in apexes:
            for n in sorted(owners[apex]):
                text = n.to_text()
                if n == apex:
                    cat = "apex"
                elif below_cut(n, apex):
                    cat = "deleg"
                elif n.labels[0] == b"*":
                    cat = "wildlit"
                elif "DNAME" in owners[apex][n]:
                    cat = "dname"
                elif "CNAME" in owners[apex][n]:
                    cat = "cname"
                else:
                    cat = "exist"
                for t in TYPES_ALL:
                    self.flavoured(cat, text, t)

        # 2. empty non-terminals
        for n in sorted(ents):
            for t in TYPES_SHORT:
                self.flavoured("ent", n.to_text(), t)

        # 3. missing names: under each apex, under existing leaves, under ENTs
        for apex in apexes:
            for _ in range(25):
                self.flavoured("missing", "%s.%s" % (random_label(r), apex), r.choice(TYPES_SHORT))
        leaves = sorted(n for n in all_names if not any(n.is_subdomain(c) for c in cuts)
                        and n.labels[0] != b"*" and n not in dnames)
        for _ in range(60):
            n = r.choice(leaves)
            self.flavoured("missing", "%s.%s" % (random_label(r), n), r.choice(TYPES_SHORT))
        for n in sorted(ents):
            self.flavoured("missing", "%s.%s" % (random_label(r), n), r.choice(TYPES_SHORT))
        # edge-shaped names: 63-octet label, near-255-octet name, escaped octets
        self.flavoured("missing", "%s.example.test." % ("a" * 63), "A")
        long_name = ".".join(["b" * 50] * 4) + ".example.test."   # 218 octets + labels
        self.flavoured("missing", long_name, "A")
        self.flavoured("missing", ".".join(["c" * 60] * 4)[:236] + ".example.test.", "TXT")
        self.flavoured("missing", "a\\.b.example.test.", "A")
        self.flavoured("missing", "\\000\\255x.example.test.", "A")
        self.flavoured("missing", "\\@.example.test.", "TXT", case=0)

        # 4. wildcard: names below *.wild, beside/below explicit.wild, the ENT block
        for _ in range(60):
            self.flavoured("wild", "%s.wild.example.test." % random_label(r),
                           r.choice(["A", "TXT", "MX", "AAAA", "ANY", "NS", "CNAME", "DS", "SOA"]))
        for _ in range(25):
            self.flavoured("wild", "%s.%s.wild.example.test." % (random_label(r), random_label(r)),
                           r.choice(["A", "TXT", "AAAA"]))
        for _ in range(15):
            self.flavoured("wild", "%s.explicit.wild.example.test." % random_label(r), r.choice(["A", "TXT"]))
            self.flavoured("wild", "%s.ent.wild.example.test." % random_label(r), r.choice(["A", "TXT"]))
            self.flavoured("wild", "%s.other.test." % random_label(r), r.choice(["TXT", "A", "ANY"]))
            self.flavoured("wild", "%s.under.other.test." % random_label(r), r.choice(["TXT", "A"]))

        # 5. DNAME: names below each DNAME owner (RFC 6672 synthesis)
        below_dname = ["www", "deep.www", "nothere", "x.y.z.w", "back", "alias", "ns1",
                       "deep.name.under", "name.under"]
        for d in dnames:
            for b in below_dname:
                for t in ["A", "AAAA", "TXT", "CNAME", "DNAME", "ANY", "NS"]:
                    self.flavoured("dname-below", "%s.%s" % (b, d.to_text()), t)
            for _ in range(10):
                self.flavoured("dname-below", "%s.%s" % (random_label(r), d.to_text()),
                               r.choice(["A", "TXT"]))
        # long qnames: 251 octets (254 after substitution), and 255 octets, which
        # would exceed 255 after substitution (YXDOMAIN, RFC 6672 2.2)
        self.flavoured("dname-below", ".".join(["d" * 60] * 4)[:230] + ".dname.example.test.", "A")
        self.flavoured("dname-below", ".".join(["d" * 63] * 3 + ["d" * 42]) + ".dname.example.test.", "A")
        self.flavoured("dname-below", ".".join(["d" * 63] * 3 + ["d" * 42]) + ".dname.example.test.", "TXT",
                       transport="tcp")

        # 6. delegations: at and below each cut, DS at the cut
        for c in sorted(cuts):
            for b in ["", "www.", "a.b.", "ns1.", "ns2.", "ns.", "host.", "nx."]:
                for t in ["A", "AAAA", "NS", "DS", "TXT", "ANY", "SOA"]:
                    self.flavoured("deleg", b + c.to_text(), t)

        # 7. names in no served zone: REFUSED expected
        for n in ["example.org.", "www.example.org.", "test.", ".", "com.", "example.test.evil.",
                  "xexample.test.", "nx.test.", "example.tes.", "ther.test."]:
            for t in ["A", "SOA", "NS", "ANY"]:
                self.flavoured("nozone", n, t)

        # 8. other classes
        for c in ["CH", "HS", "ANY", "NONE", "CLASS42"]:
            for n, t in [("example.test.", "SOA"), ("www.example.test.", "A")]:
                self.flavoured("class", n, t, qclass=c)
        self.flavoured("class", "version.bind.", "TXT", qclass="CH")
        self.flavoured("class", "id.server.", "TXT", qclass="CH")

        # 9. large RRsets: every size x transport x DO
        for n in ["big.example.test.", "bigtxt.example.test."]:
            for t in ["A", "TXT", "ANY"]:
                for edns in [None, 512, 1232, 4096, 65535]:
                    for tr in ["udp", "tcp"]:
                        for do in ([False] if edns is None else [False, True]):
                            self.flavoured("big", n, t, transport=tr, edns=edns, do=do, case=0.5)

        # 10. malformed and odd messages
        self.malformed()
        return self.queries

    def malformed(self):
        def hdr(msgid, flags=0, qd=1, an=0, ns=0, ar=0):
            return struct.pack("!HHHHHH", msgid, flags, qd, an, ns, ar)

        def qname_wire(text):
            return dns.name.from_text(text).to_wire()

        def question(text, qtype="A", qclass=1):
            return qname_wire(text) + struct.pack("!HH", dns.rdatatype.from_text(qtype), qclass)

        def opt(payload=1232, ver=0, do=False, options=b"", owner=b"\x00"):
            return owner + struct.pack("!HHBBHH", 41, payload, 0, ver, 0x8000 if do else 0,
                                       len(options)) + options

        def raw(note, build, transport="udp", qname="", qtype="-", timeout=0.6, edns=None):
            q = self.add("malformed", qname, qtype, transport=transport, note=note,
                         timeout=timeout, edns=edns)
            q.raw = build(q.msgid)
            return q

        www = "www.example.test."
        raw("qdcount0", lambda i: hdr(i, qd=0))
        raw("qdcount0-edns", lambda i: hdr(i, qd=0, ar=1) + opt(), edns=1232)
        raw("qdcount0-tcp", lambda i: hdr(i, qd=0), transport="tcp")
        raw("truncated-qname", lambda i: hdr(i) + b"\x03www\x07exam")
        raw("truncated-qtype", lambda i: hdr(i) + qname_wire(www) + b"\x00")
        raw("no-qtype-qclass", lambda i: hdr(i) + qname_wire(www), qname=www)
        raw("qdcount2", lambda i: hdr(i, qd=2) + question(www) + question("mail.example.test."), qname=www, qtype="A")
        raw("qr-set", lambda i: hdr(i, flags=0x8000) + question(www), qname=www, qtype="A")
        raw("tc-set", lambda i: hdr(i, flags=0x0200) + question(www), qname=www, qtype="A")
        raw("z-bit-set", lambda i: hdr(i, flags=0x0040) + question(www), qname=www, qtype="A")
        raw("ra-set", lambda i: hdr(i, flags=0x0080) + question(www), qname=www, qtype="A")
        raw("rcode-set", lambda i: hdr(i, flags=0x0005) + question(www), qname=www, qtype="A")
        raw("opcode-iquery", lambda i: hdr(i, flags=1 << 11) + question(www), qname=www, qtype="A")
        raw("opcode-status", lambda i: hdr(i, flags=2 << 11) + question(www), qname=www, qtype="A")
        raw("opcode-3", lambda i: hdr(i, flags=3 << 11) + question(www), qname=www, qtype="A")
        raw("opcode-notify", lambda i: hdr(i, flags=(4 << 11) | 0x0400) + question("example.test.", "SOA"),
            qname="example.test.", qtype="SOA")
        raw("opcode-notify-tcp", lambda i: hdr(i, flags=(4 << 11) | 0x0400) + question("example.test.", "SOA"),
            qname="example.test.", qtype="SOA", transport="tcp")
        raw("opcode-update", lambda i: hdr(i, flags=5 << 11) + question("example.test.", "SOA"),
            qname="example.test.", qtype="SOA")
        raw("opcode-6", lambda i: hdr(i, flags=6 << 11) + question(www), qname=www, qtype="A")
        raw("opcode-15", lambda i: hdr(i, flags=15 << 11) + question(www), qname=www, qtype="A")
        raw("two-opt", lambda i: hdr(i, ar=2) + question(www) + opt() + opt(), qname=www, qtype="A", edns=1232)
        raw("opt-owner-not-root", lambda i: hdr(i, ar=1) + question(www) + opt(owner=qname_wire("example.")),
            qname=www, qtype="A", edns=1232)
        raw("opt-in-answer", lambda i: hdr(i, an=1) + question(www) + opt(), qname=www, qtype="A")
        raw("opt-unknown-option", lambda i: hdr(i, ar=1) + question(www) +
            opt(options=struct.pack("!HH", 65001, 4) + b"abcd"), qname=www, qtype="A", edns=1232)
        raw("opt-bad-option-length", lambda i: hdr(i, ar=1) + question(www) +
            opt(options=struct.pack("!HH", 10, 40) + b"abcd"), qname=www, qtype="A", edns=1232)
        raw("opt-cookie", lambda i: hdr(i, ar=1) + question(www) +
            opt(options=struct.pack("!HH", 10, 8) + b"\x01\x02\x03\x04\x05\x06\x07\x08"),
            qname=www, qtype="A", edns=1232)
        raw("opt-payload-100", lambda i: hdr(i, ar=1) + question("big.example.test.") + opt(payload=100),
            qname="big.example.test.", qtype="A", edns=100)
        raw("opt-payload-0", lambda i: hdr(i, ar=1) + question(www) + opt(payload=0),
            qname=www, qtype="A", edns=0)
        raw("trailing-garbage", lambda i: hdr(i) + question(www) + b"\xde\xad\xbe\xef\x00",
            qname=www, qtype="A")
        raw("answer-rr-in-query", lambda i: hdr(i, an=1) + question(www) + qname_wire(www) +
            struct.pack("!HHIH", 1, 1, 60, 4) + b"\x01\x02\x03\x04", qname=www, qtype="A")
        raw("arcount-too-big", lambda i: hdr(i, ar=3) + question(www), qname=www, qtype="A")
        raw("compression-loop", lambda i: hdr(i) + b"\xc0\x0c" + struct.pack("!HH", 1, 1))
        raw("compression-to-header", lambda i: hdr(i) + b"\x03www\xc0\x00" + struct.pack("!HH", 1, 1))
        raw("label-type-01", lambda i: hdr(i) + b"\x43abc\x00" + struct.pack("!HH", 1, 1))
        raw("label-bitstring", lambda i: hdr(i) + b"\x41\x08\xff\x00" + struct.pack("!HH", 1, 1))
        raw("name-over-255", lambda i: hdr(i) + (b"\x3f" + b"a" * 63) * 4 + b"\x00" + struct.pack("!HH", 1, 1))
        raw("short-header-udp", lambda i: struct.pack("!HH", i, 0) + b"\x00")
        raw("qtype-0", lambda i: hdr(i) + question(www, "TYPE0"), qname=www, qtype="TYPE0")
        raw("qtype-opt", lambda i: hdr(i) + question(www, "OPT"), qname=www, qtype="OPT")
        raw("qtype-tkey", lambda i: hdr(i) + question(www, "TKEY"), qname=www, qtype="TKEY")
        raw("qtype-tsig", lambda i: hdr(i) + question(www, "TSIG"), qname=www, qtype="TSIG")
        raw("qtype-maila", lambda i: hdr(i) + question(www, "MAILA"), qname=www, qtype="MAILA")
        raw("qtype-mailb", lambda i: hdr(i) + question(www, "MAILB"), qname=www, qtype="MAILB")
        raw("axfr-udp", lambda i: hdr(i) + question("example.test.", "AXFR"),
            qname="example.test.", qtype="AXFR")
        raw("ixfr-udp", lambda i: hdr(i) + question("example.test.", "IXFR"),
            qname="example.test.", qtype="IXFR")
        raw("axfr-tcp", lambda i: hdr(i) + question("example.test.", "AXFR"),
            qname="example.test.", qtype="AXFR", transport="tcp")
        raw("axfr-nozone-tcp", lambda i: hdr(i) + question("example.org.", "AXFR"),
            qname="example.org.", qtype="AXFR", transport="tcp")
        # TCP framing edge cases
        q = self.add("malformed", "", "-", transport="tcp", note="tcp-zero-length", timeout=0.6)
        q.raw = b""
        q.framed = b"\x00\x00"
        q = self.add("malformed", "", "-", transport="tcp", note="tcp-short-message", timeout=0.6)
        q.raw = hdr(q.msgid)[:5]
        q = self.add("malformed", www, "A", transport="tcp", note="tcp-two-byte-writes", timeout=1.0)
        q.raw = hdr(q.msgid) + question(www)
        q.framed = struct.pack("!H", len(q.raw)) + q.raw   # sent byte by byte (see exchange())
        # EDNS version 1 -> BADVERS (RFC 6891 6.1.3), via dnspython
        for t in ["A", "SOA"]:
            self.add("malformed", www, t, edns=1232, ednsver=1, note="badvers")
            self.add("malformed", www, t, edns=1232, ednsver=1, do=True, note="badvers")
            self.add("malformed", "www.example.org.", t, edns=1232, ednsver=1, note="badvers-nozone")
        self.add("malformed", www, "A", edns=1232, ednsver=1, transport="tcp", note="badvers")


# --------------------------------------------------------------------------
# Signed zones (RFC 4035 answers with DO=1): signed at run time, never stored
#
# Two families, each a parent copied from example.test.zone and a child copied
# from sub.example.test.zone (names rewritten), signed by ldns-signzone with
# ECDSA P-256 keys made for this run (KSK + ZSK per zone), signatures valid from
# an hour ago to now + 30 days:
#   nsec.test.  + sub.nsec.test.    NSEC
#   nsec3.test. + sub.nsec3.test.   NSEC3, SHA-1, 0 iterations, no salt (RFC 9276 §3.1)
# The child's DS (from its KSK) goes into the parent before the parent is signed,
# so sub.<parent> is a secure delegation to a served zone; deleg-ds.<parent> is a
# secure delegation with a DS for a key nobody has; deleg, deleg-ext and
# deleg-mixed are insecure delegations (NSEC/NSEC3 proves no DS).

SIGNED_FAMILIES = [("nsec.test.", "nsec"), ("nsec3.test.", "nsec3")]
SIGN_VALIDITY = 30 * 86400   # RRSIG expiry: now + 30 days (ldns prints dates past 2106 wrongly)


def run_tool(argv, cwd, what):
    try:
        p = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
    except subprocess.TimeoutExpired:
        raise HarnessError("%s timed out: %s" % (what, " ".join(argv)))
    if p.returncode != 0:
        raise HarnessError("%s failed (status %d): %s\n%s" % (what, p.returncode, " ".join(argv),
                                                              p.stderr.decode("utf-8", "replace")))
    return p.stdout.decode("utf-8", "replace").strip()


def sign_zones(workdir, zones_dir, keygen, signzone):
    """Sign the zone families; returns ([(name, path)], {name: 'nsec'|'nsec3'}, [families])."""
    sdir = os.path.join(workdir, "signed")
    os.makedirs(sdir, exist_ok=True)
    now = int(time.time())
    stamp = lambda t: time.strftime("%Y%m%d%H%M%S", time.gmtime(t))   # noqa: E731
    inception, expiry = stamp(now - 3600), stamp(now + SIGN_VALIDITY)
    with open(os.path.join(zones_dir, "example.test.zone")) as f:
        parent_text = f.read()
    with open(os.path.join(zones_dir, "sub.example.test.zone")) as f:
        child_text = f.read()
    zones, kinds, families = [], {}, []
    t0 = time.monotonic()

    def sign(name, text, kind):
        src = os.path.join(sdir, name + "zone.src")
        out = os.path.join(sdir, name + "zone.signed")
        with open(src, "w") as f:
            f.write(text)
        ksk = run_tool([keygen, "-a", "ECDSAP256SHA256", "-k", name], sdir, "ldns-keygen")
        zsk = run_tool([keygen, "-a", "ECDSAP256SHA256", name], sdir, "ldns-keygen")
        argv = [signzone, "-i", inception, "-e", expiry, "-f", out]
        if kind == "nsec3":
            argv += ["-n", "-a", "1", "-t", "0", "-s", ""]
        run_tool(argv + [src, ksk, zsk], sdir, "ldns-signzone")
        with open(os.path.join(sdir, ksk + ".ds")) as f:
            ds = f.read().strip()
        return out, ds

    for parent, kind in SIGNED_FAMILIES:
        child = "sub." + parent
        child_path, child_ds = sign(child, child_text.replace("sub.example.test.", child), kind)
        ptext = parent_text.replace("example.test.", parent)
        ptext += "\n; DS of the served child zone, added by differential.py\n%s\n" % child_ds
        parent_path, _ = sign(parent, ptext, kind)
        family = [(parent, parent_path), (child, child_path)]
        families.append((family, kind))
        for n, path in family:
            zones.append((n, path))
            kinds[n] = kind
    log("signed %s with ldns-signzone (ECDSA P-256, expiry %s) in %.1f s"
        % (", ".join(n for n, _ in zones), expiry, time.monotonic() - t0))
    return zones, kinds, families


TYPES_SIGNED = TYPES_ALL + ["NSEC3PARAM"]
TYPES_SIGNED_DO0 = ["A", "TXT", "NS", "DS", "DNSKEY", "NSEC", "NSEC3", "RRSIG", "ANY", "SOA"]
TYPES_SIGNED_SHORT = TYPES_SHORT + ["NSEC3", "RRSIG", "DNSKEY"]


class SignedGenerator(Generator):
    """Queries for the signed families: every category of the unsigned run, with
    DO=1 (most) and DO=0, plus the names and types only a signed zone has."""

    def dq(self, cat, qname, qtype, do=None, **kw):
        r = self.rng
        if do is None:
            do = r.random() < 0.75
        if do:
            kw.setdefault("edns", r.choices([512, 1232, 4096], [10, 50, 40])[0])
        else:
            kw.setdefault("edns", r.choices([None, 1232, 4096], [40, 35, 25])[0])
        kw["do"] = do
        return self.flavoured(cat, qname, qtype, **kw)

    def generate_signed(self, family):
        r = self.rng
        owners, cuts = zone_names(family)
        apex = dns.name.from_text(family[0][0])
        apexes = sorted(owners)
        nsec3_owners = set()
        all_names = set()
        for a in apexes:
            for n, types in list(owners[a].items()):
                if "NSEC3" in types:          # hashed owner names: not names of the zone
                    nsec3_owners.add(n)
                    del owners[a][n]
            all_names |= set(owners[a])

        def below_cut(n, a):
            return any(n.is_subdomain(c) and c.is_subdomain(a) and c != a for c in cuts)

        dnames = [n for a in apexes for n, t in owners[a].items() if "DNAME" in t]
        ents = set()
        for a in apexes:
            for n in owners[a]:
                p = n.parent()
                while p != a and p.is_subdomain(a):
                    if p not in all_names:
                        ents.add(p)
                    p = p.parent()
        P = apex.to_text()

        # 1. existing names: every type with DO=1, the DNSSEC-relevant ones with DO=0
        for a in apexes:
            for n in sorted(owners[a]):
                t = owners[a][n]
                cat = ("apex" if n == a else "deleg" if below_cut(n, a) else
                       "wildlit" if n.labels[0] == b"*" else "dname" if "DNAME" in t else
                       "cname" if "CNAME" in t else "exist")
                for qt in TYPES_SIGNED:
                    self.dq(cat, n.to_text(), qt, do=True)
                for qt in TYPES_SIGNED_DO0:
                    self.dq(cat, n.to_text(), qt, do=False)
        # 2. empty non-terminals (NODATA proofs; NSEC3 has a record for an ENT)
        for n in sorted(ents):
            for qt in TYPES_SIGNED_SHORT:
                self.dq("ent", n.to_text(), qt, do=True)
            for qt in ["A", "NSEC", "DS"]:
                self.dq("ent", n.to_text(), qt, do=False)
        # 3. missing names (NXDOMAIN proofs)
        for a in apexes:
            for _ in range(20 if a == apex else 6):
                self.dq("missing", "%s.%s" % (random_label(r), a), r.choice(TYPES_SIGNED_SHORT))
        leaves = sorted(n for n in all_names if not any(n.is_subdomain(c) for c in cuts)
                        and n.labels[0] != b"*" and n not in dnames)
        for _ in range(40):
            self.dq("missing", "%s.%s" % (random_label(r), r.choice(leaves)), r.choice(TYPES_SIGNED_SHORT))
        for n in sorted(ents):
            self.dq("missing", "%s.%s" % (random_label(r), n), r.choice(TYPES_SIGNED_SHORT))
        # names sorting just before/after the apex and existing names (NSEC edge cases)
        for n in ["0." + P, "zzzz." + P, "~." + P, "-." + P, "www0." + P, "wwv." + P,
                  "a." + P, "a.a.b.c." + P, "c0." + P, "\\000." + P]:
            self.dq("missing", n, "A", do=True)

        # 4. wildcard answers, wildcard NODATA, names the wildcard does not cover
        wild_types = ["A", "TXT", "MX", "AAAA", "ANY", "NS", "CNAME", "DS", "SOA", "NSEC", "RRSIG", "DNSKEY"]
        for _ in range(40):
            self.dq("wild", "%s.wild.%s" % (random_label(r), P), r.choice(wild_types))
        for _ in range(15):
            self.dq("wild", "%s.%s.wild.%s" % (random_label(r), random_label(r), P), r.choice(["A", "TXT", "AAAA"]))
        for _ in range(10):
            self.dq("wild", "%s.explicit.wild.%s" % (random_label(r), P), r.choice(["A", "TXT"]))
            self.dq("wild", "%s.ent.wild.%s" % (random_label(r), P), r.choice(["A", "TXT"]))
        # a wildcard name with DO: both wildcard answer and wildcard NODATA, with each transport
        for qt in ["A", "TXT", "AAAA", "NSEC", "RRSIG"]:
            for tr in ["udp", "tcp"]:
                self.dq("wild", "w%s.wild.%s" % (qt.lower(), P), qt, do=True, transport=tr, edns=4096)
        # 5. below a DNAME (synthesised CNAME, signed DNAME)
        for d in dnames:
            for b in ["www", "deep.www", "nothere"]:
                for qt in ["A", "TXT", "CNAME", "DNAME", "RRSIG"]:
                    self.dq("dname-below", "%s.%s" % (b, d.to_text()), qt)
        # 6. delegations: secure (DS) and insecure (no-DS proof), at and below the cut
        for c in sorted(cuts):
            for b in ["", "www.", "ns1.", "nx."]:
                for qt in ["A", "NS", "DS", "TXT", "ANY", "SOA", "NSEC", "DNSKEY", "RRSIG"]:
                    self.dq("deleg", b + c.to_text(), qt, do=True)
                for qt in ["A", "NS", "DS"]:
                    self.dq("deleg", b + c.to_text(), qt, do=False)
        # 7. NSEC3 owner names (RFC 5155 §7.2.8: not names of the zone) and names below them
        for n in sorted(nsec3_owners)[:12]:
            for qt in ["A", "NSEC3", "RRSIG", "ANY"]:
                self.dq("nsec3-owner", n.to_text(), qt, do=True)
            self.dq("nsec3-owner", n.to_text(), "NSEC3", do=False)
            self.dq("nsec3-owner", "x." + n.to_text(), "A", do=True)
        # 8. large RRsets with their signatures: every size x transport
        for n in ["big." + P, "bigtxt." + P]:
            for qt in ["A", "TXT", "RRSIG", "ANY"]:
                for edns in [512, 1232, 4096]:
                    for tr in ["udp", "tcp"]:
                        self.dq("big", n, qt, do=True, transport=tr, edns=edns, case=0.5)
        self.dq("big", "big." + P, "A", do=False, transport="udp", edns=None)
        return self.queries


# --------------------------------------------------------------------------
# Exchange and normalisation

SECTIONS = ("answer", "authority", "additional")
FLAG_NAMES = ["QR", "AA", "TC", "RD", "RA", "AD", "CD"]


def exchange(server, q):
    """Responses (bytes or None) for q: one, or two for tcp-reuse."""
    addr = "::1" if q.transport.endswith("6") else "127.0.0.1"
    wire = q.wire()
    msgid = struct.unpack("!H", wire[:2])[0] if len(wire) >= 2 else None
    if q.transport.startswith("udp"):
        return [udp_exchange(addr, server.port, wire, q.timeout, msgid)]
    if q.transport == "tcp-reuse":
        # the same question twice on one connection, back to back (RFC 7766 6.2.1)
        w2 = bytearray(wire)
        w2[0:2] = struct.pack("!H", (msgid + 1) & 0xFFFF)
        return tcp_exchange(addr, server.port, [wire, bytes(w2)], max(q.timeout, 2.0))
    if q.note == "tcp-two-byte-writes":
        return [tcp_slow(addr, server.port, q.framed, q.timeout)]
    return tcp_exchange(addr, server.port, [wire], max(q.timeout, 1.5 if not q.note else q.timeout),
                        framed=q.framed)


def tcp_slow(addr, port, framed, timeout):
    """Send one framed message in 1-octet writes (a server must reassemble it)."""
    try:
        s = socket.create_connection((addr, port), timeout=timeout)
    except OSError:
        return None
    with s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for i in range(len(framed)):
                s.send(framed[i:i + 1])
                time.sleep(0.002)
            buf = b""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                s.settimeout(max(deadline - time.monotonic(), 0.01))
                chunk = s.recv(65535)
                if not chunk:
                    break
                buf += chunk
                if len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                    return buf[2:2 + struct.unpack("!H", buf[:2])[0]]
        except OSError:
            return None
    return None


def canon_rdata(rd):
    # RFC 4034 6.2 canonical form: names inside well-known rdata lowercased.
    try:
        return rd.to_digestable()
    except Exception:
        return rd.to_wire()


def normalise(wire):
    """A comparable view of a response (or of its absence)."""
    if wire is None:
        return {"response": False}
    out = {"response": True}
    if len(wire) < 12:
        out["parse"] = "short message (%d octets)" % len(wire)
        return out
    flags = struct.unpack("!H", wire[2:4])[0]
    out["opcode"] = dns.opcode.to_text((flags >> 11) & 0xF)
    try:
        m = dns.message.from_wire(wire, ignore_trailing=True)
    except Exception as e:   # noqa: BLE001 - any parse failure is a finding
        out["parse"] = "%s: %s" % (type(e).__name__, e)
        out["rcode"] = dns.rcode.to_text(flags & 0xF)
        out["flags"] = frozenset(f for f in FLAG_NAMES if flags & dns.flags.from_text(f))
        return out
    out["rcode"] = dns.rcode.to_text(m.rcode())
    out["flags"] = frozenset(f for f in FLAG_NAMES if m.flags & dns.flags.from_text(f))
    out["question"] = tuple("%s %s %s" % (rr.name.to_text(), dns.rdataclass.to_text(rr.rdclass),
                                          dns.rdatatype.to_text(rr.rdtype)) for rr in m.question)
    for sec in SECTIONS:
        rrsets = {}
        for rrset in getattr(m, sec):
            key = (rrset.name.to_text().lower(), dns.rdataclass.to_text(rrset.rdclass),
                   dns.rdatatype.to_text(rrset.rdtype) +
                   ("(%s)" % dns.rdatatype.to_text(rrset.covers) if rrset.covers else ""))
            rd = {canon_rdata(x): x.to_text() for x in rrset}
            if key in rrsets:   # the same RRset twice in a section: merge
                rd.update(rrsets[key][1])
            rrsets[key] = (rrset.ttl, rd)
        out[sec] = rrsets
    out["opt"] = None if m.edns < 0 else (m.edns, bool(m.ednsflags & dns.flags.DO))
    return out


def show_rrset(key, val):
    ttl, rd = val
    return "%s %d %s %s [%s]" % (key[0], ttl, key[1], key[2], "; ".join(sorted(rd.values())))


def compare(ref, sut):
    """Differences between two normalised responses: a list of dicts with
    field, what, owner, rrtype, ref, sut."""
    diffs = []

    def d(field, what, refv, sutv, owner="", rrtype=""):
        diffs.append({"field": field, "what": what, "owner": owner, "rrtype": rrtype,
                      "ref": refv, "sut": sutv})

    if ref["response"] != sut["response"]:
        d("response", "missing-in-sut" if ref["response"] else "missing-in-ref",
          "response" if ref["response"] else "no response",
          "response" if sut["response"] else "no response")
        return diffs
    if not ref["response"]:
        return diffs
    if ("parse" in ref) != ("parse" in sut) or ref.get("parse") != sut.get("parse"):
        d("parse", "parse", ref.get("parse", "parsed"), sut.get("parse", "parsed"))
    for k in ("opcode", "rcode"):
        if ref.get(k) != sut.get(k):
            d(k, k, ref.get(k), sut.get(k))
    rf, sf = ref.get("flags", frozenset()), sut.get("flags", frozenset())
    for f in FLAG_NAMES:
        if (f in rf) != (f in sf):
            d("flags", f, int(f in rf), int(f in sf))
    if "parse" in ref or "parse" in sut:
        return diffs
    if ref["question"] != sut["question"]:
        d("question", "question", " ".join(ref["question"]) or "(empty)",
          " ".join(sut["question"]) or "(empty)")
    for sec in SECTIONS:
        a, b = ref[sec], sut[sec]
        for key in sorted(set(a) | set(b)):
            if key not in b:
                d(sec, "only-ref", show_rrset(key, a[key]), "-", key[0], key[2])
            elif key not in a:
                d(sec, "only-sut", "-", show_rrset(key, b[key]), key[0], key[2])
            else:
                if set(a[key][1]) != set(b[key][1]):
                    d(sec, "rdata", show_rrset(key, a[key]), show_rrset(key, b[key]), key[0], key[2])
                elif a[key][0] != b[key][0]:
                    d(sec, "ttl", a[key][0], b[key][0], key[0], key[2])
    ro, so = ref["opt"], sut["opt"]
    if (ro is None) != (so is None):
        d("opt", "presence", "OPT" if ro else "no OPT", "OPT" if so else "no OPT")
    elif ro is not None:
        if ro[0] != so[0]:
            d("opt", "version", ro[0], so[0])
        if ro[1] != so[1]:
            d("opt", "do", int(ro[1]), int(so[1]))
    return diffs


def same_response(a, b):
    return not compare(a, b)


# --------------------------------------------------------------------------
# Expected differences

RULE_KEYS = {"n", "cat", "qname", "qtype", "qclass", "transport", "edns", "do", "rd", "note", "zone", "dnssec",
             "field", "what", "owner", "rrtype", "apex", "tc", "ref", "sut"}


class Rule:
    def __init__(self, path, lineno, text):
        self.where = "%s:%d" % (os.path.basename(path), lineno)
        if "|" not in text:
            raise HarnessError("%s: a rule is `key=glob ... | reason`: no `|` in %r" % (self.where, text))
        terms, reason = text.split("|", 1)
        self.reason = reason.strip()
        if not self.reason:
            raise HarnessError("%s: the rule has no reason after `|`" % self.where)
        self.terms = []
        for t in terms.split():
            neg = "!=" in t
            k, _, v = t.partition("!=" if neg else "=")
            if k not in RULE_KEYS or not _:
                raise HarnessError("%s: bad term %r (keys: %s)" % (self.where, t, " ".join(sorted(RULE_KEYS))))
            self.terms.append((k, v.lower(), neg))
        if not self.terms:
            raise HarnessError("%s: the rule has no matcher" % self.where)
        self.text = terms.strip()
        self.used = 0

    def matches(self, attrs):
        for k, v, neg in self.terms:
            val = str(attrs.get(k, "")).lower()
            hit = any(fnmatch.fnmatchcase(val, alt) for alt in v.split(","))
            if hit == neg:
                return False
        return True


def load_rules(path):
    rules = []
    if not path or not os.path.exists(path):
        return rules
    with open(path) as f:
        for i, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            rules.append(Rule(path, i, s))
    return rules


# --------------------------------------------------------------------------
# Main


def parse_args():
    p = argparse.ArgumentParser(description="Differential DNS test: reference server vs server under test")
    p.add_argument("--ref", default="nsd", choices=["nsd", "knot", "bind"], help="reference server (default nsd)")
    p.add_argument("--sut", default="satellited", choices=["satellited", "nsd", "knot", "bind", "cmd"],
                   help="server under test (default satellited)")
    p.add_argument("--satellited", default=os.path.join(REPO, "build", "bin", "satellited"),
                   help="satellited binary (default build/bin/satellited)")
    p.add_argument("--sut-cmd", help="with --sut cmd: shell command; placeholders {port} {config} "
                   "(a satellited TOML) {zones} (file of 'name path' lines) {workdir}")
    p.add_argument("--nsd", default="/usr/sbin/nsd")
    p.add_argument("--knotd", default="/usr/sbin/knotd")
    p.add_argument("--named", default="/usr/sbin/named")
    p.add_argument("--zones-dir", default=ZONES_DIR)
    p.add_argument("--zone", action="append", help="zone name (repeat); file = ZONES_DIR/NAME.zone "
                   "(default: %s)" % " ".join(DEFAULT_ZONES))
    p.add_argument("--expected", default=os.path.join(HERE, "expected_differences.txt"),
                   help="expected-differences file ('' for none)")
    p.add_argument("--no-signed", dest="signed", action="store_false",
                   help="leave out the signed zones (nsec.test., nsec3.test. and their children)")
    p.add_argument("--ldns-keygen", default="ldns-keygen")
    p.add_argument("--ldns-signzone", default="ldns-signzone")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--only", action="append", help="run only queries of this category (repeat)")
    p.add_argument("--limit", type=int, default=0, help="send at most N queries")
    p.add_argument("--list-queries", action="store_true", help="print the generated queries and exit")
    p.add_argument("--start-timeout", type=float, default=10.0, help="seconds for a server to answer SOA")
    p.add_argument("--max-time", type=float, default=480.0, help="overall time budget for the queries (s)")
    p.add_argument("--no-ipv6", action="store_true", help="do not use ::1")
    p.add_argument("--verbose", "-v", action="store_true", help="also show expected differences")
    p.add_argument("--max-print", type=int, default=200, help="print at most N failing queries in full")
    p.add_argument("--report", help="write every difference as JSON lines to this file")
    p.add_argument("--keep", action="store_true", help="keep the work directory (configs, logs)")
    return p.parse_args()


def make_server(kind, role, args, workdir, zones, ipv6, nsec3_zones=()):
    kw = {"nsec3_zones": nsec3_zones}
    if kind == "nsd":
        return Server(kind, role, workdir, zones, ipv6, binary=need_binary(args.nsd, "nsd"), **kw)
    if kind == "knot":
        return Server(kind, role, workdir, zones, ipv6, binary=need_binary(args.knotd, "knotd"), **kw)
    if kind == "bind":
        return Server(kind, role, workdir, zones, ipv6, binary=need_binary(args.named, "named"), **kw)
    if kind == "satellited":
        return Server(kind, role, workdir, zones, ipv6, binary=need_binary(args.satellited, "satellited"), **kw)
    if kind == "cmd":
        if not args.sut_cmd:
            raise HarnessError("--sut cmd needs --sut-cmd")
        return Server(kind, role, workdir, zones, ipv6, cmd=args.sut_cmd, **kw)
    raise HarnessError("unknown server kind %s" % kind)


def run(args):
    zones = []
    for name in (args.zone or DEFAULT_ZONES):
        name = name if name.endswith(".") else name + "."
        path = os.path.abspath(os.path.join(args.zones_dir, name[:-1] + ".zone"))
        if not os.path.exists(path):
            raise HarnessError("zone file missing: %s" % path)
        zones.append((name, path))
    ipv6 = have_ipv6() and not args.no_ipv6
    rules = load_rules(args.expected)
    if args.signed:
        keygen = need_binary(args.ldns_keygen, "ldns-keygen (ldnsutils; or --no-signed)")
        signzone = need_binary(args.ldns_signzone, "ldns-signzone (ldnsutils; or --no-signed)")

    workdir = tempfile.mkdtemp(prefix="satellite-diff-")
    servers = []
    try:
        # the unsigned queries come first and do not depend on the signed zones
        queries = Generator(args.seed, zones, ipv6).generate()
        kinds = {}
        if args.signed:
            signed, kinds, families = sign_zones(workdir, args.zones_dir, keygen, signzone)
            zones = zones + signed
            g = SignedGenerator(args.seed + 1, signed, ipv6, queries)
            for family, _ in families:
                g.generate_signed(family)
        served = sorted((dns.name.from_text(n) for n, _ in zones), key=len, reverse=True)
        for q in queries:
            try:
                qn = dns.name.from_text(q.qname) if q.qname else None
            except dns.exception.DNSException:
                qn = None
            z = next((a for a in served if qn is not None and qn.is_subdomain(a)), None)
            q.zone = z.to_text().lower() if z else ""
            q.dnssec = kinds.get(q.zone, "none")
        if args.only:
            queries = [q for q in queries if q.cat in args.only]
        if args.limit:
            queries = queries[:args.limit]
        if args.list_queries:
            for q in queries:
                print(q.describe())
            print("%d queries" % len(queries))
            return 0
        nsec3_zones = [n for n, k in kinds.items() if k == "nsec3"]
        ref = make_server(args.ref, "ref", args, workdir, zones, ipv6, nsec3_zones)
        sut = make_server(args.sut, "sut", args, workdir, zones, ipv6, nsec3_zones)
        servers = [ref, sut]
        for s in servers:
            s.start(args.start_timeout)
        apexes = {name.lower() for name, _ in zones}
        return compare_all(args, queries, ref, sut, rules, apexes)
    finally:
        for s in servers:
            s.stop()
        if args.keep:
            log("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def compare_all(args, queries, ref, sut, rules, apexes):
    t0 = time.monotonic()
    passed = failed = expected_only = 0
    by_field = {}
    printed = 0
    report = open(args.report, "w") if args.report else None
    sent = 0
    silent = 0
    for q in queries:
        if time.monotonic() - t0 > args.max_time:
            log("error: --max-time %.0f s exhausted after %d of %d queries" % (args.max_time, sent, len(queries)))
            failed += len(queries) - sent
            break
        for s in (ref, sut):
            if not s.alive():
                log("error: %s died (status %s) at query %s:\n%s" % (s.label, s.proc.returncode,
                                                                     q.describe(), s.log_tail()))
                print("%d passed, %d failed" % (passed, failed + len(queries) - sent))
                raise SystemExit(1)
        sent += 1
        rr = exchange(ref, q)
        sr = exchange(sut, q)
        rn, sn = normalise(rr[0]), normalise(sr[0])
        # a server under test that stopped answering would make every query wait
        # for its timeout: give up after a run of silent answers
        silent = silent + 1 if (rn["response"] and not sn["response"]) else 0
        if silent >= 25:
            log("error: the server under test has not answered the last %d queries "
                "(the reference did); giving up at %s" % (silent, q.describe()))
            print("%d passed, %d failed" % (passed, failed + len(queries) - sent + 1))
            raise SystemExit(1)
        diffs = compare(rn, sn)
        if q.transport == "tcp-reuse":
            for label, resp, norm in (("ref", rr, rn), ("sut", sr, sn)):
                second = normalise(resp[1])
                # the second answer must be the first one again (only IDs differ)
                if not same_response(norm, second):
                    diffs.append({"field": "tcp", "what": "second-response-%s" % label, "owner": "",
                                  "rrtype": "", "ref": "first answer", "sut": "second answer differs or missing"})
            # a difference seen only in the reference's own pair is not the SUT's fault
            diffs = [d for d in diffs if d["what"] != "second-response-ref"]
        rtc, stc = "TC" in rn.get("flags", ()), "TC" in sn.get("flags", ())
        tc = "both" if rtc and stc else "ref" if rtc else "sut" if stc else "none"
        unexplained = []
        explained = []
        for d in diffs:
            attrs = dict(q.attrs())
            attrs.update({k: str(v) for k, v in d.items()})
            attrs["apex"] = "1" if d["owner"] in apexes else "0"
            attrs["tc"] = tc
            rule = next((r for r in rules if r.matches(attrs)), None)
            if rule:
                rule.used += 1
                explained.append((d, rule))
            else:
                unexplained.append(d)
            if report:
                report.write(json.dumps({"query": q.describe(), **{k: str(v) for k, v in attrs.items()},
                                         "rule": rule.where if rule else None}) + "\n")
        if unexplained:
            failed += 1
            for d in unexplained:
                by_field[d["field"]] = by_field.get(d["field"], 0) + 1
            if printed < args.max_print:
                printed += 1
                print("FAIL %s" % q.describe())
                for d in unexplained:
                    # a TTL difference names its RRset (the values alone do not)
                    where = " (%s %s)" % (d["owner"], d["rrtype"]) if d["what"] == "ttl" else ""
                    print("    %-10s %-14s ref: %s%s" % (d["field"], d["what"], d["ref"], where))
                    print("    %-10s %-14s sut: %s%s" % ("", "", d["sut"], where))
                if args.verbose:
                    for d, r in explained:
                        print("    (expected %s %s: %s)" % (d["field"], d["what"], r.where))
        else:
            passed += 1
            if explained:
                expected_only += 1
                if args.verbose:
                    print("XDIFF %s" % q.describe())
                    for d, r in explained:
                        print("    %-10s %-14s ref: %s" % (d["field"], d["what"], d["ref"]))
                        print("    %-10s %-14s sut: %s" % ("", "", d["sut"]))
                        print("    %-10s %-14s %s: %s" % ("", "", r.where, r.reason))
    if report:
        report.close()
    elapsed = time.monotonic() - t0
    print()
    print("reference %s, server under test %s, seed %d, %d queries in %.1f s"
          % (ref.label, sut.label, args.seed, sent, elapsed))
    print("queries with only expected differences: %d" % expected_only)
    if printed < failed:
        print("(printed %d of %d failing queries; --max-print to see more)" % (printed, failed))
    if by_field:
        print("unexplained differences by field: " +
              ", ".join("%s=%d" % kv for kv in sorted(by_field.items())))
    for r in rules:
        if r.used:
            print("rule %s matched %d differences" % (r.where, r.used))
        else:
            print("rule %s matched nothing (stale?): %s" % (r.where, r.text))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))   # run the finally: cleanup
    try:
        return run(args)
    except SkipError as e:
        log("skip: %s" % e)
        print("0 passed, 0 failed")
        return EXIT_SKIP
    except HarnessError as e:
        log("error: %s" % e)
        print("0 passed, 1 failed")
        return 2


if __name__ == "__main__":
    sys.exit(main())
