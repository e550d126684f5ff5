# The harness the end-to-end suites share (multisigner, live, presigned, xfr,
# lifecycle): counting checks, ports, the daemons a suite starts and their
# logs, DNS queries and the reading of answers, NSEC/NSEC3 denial proofs,
# a validating unbound's configuration, delv, the satellited REST API client,
# and the parts of main() every suite has (arguments, skips, SIGTERM, the
# exception that ended a run, the work directory). Standard library and
# dnspython only; what one suite alone needs stays in that suite.
#
# A suite puts this folder on sys.path (sys.dont_write_bytecode first, so no
# __pycache__ lands in the source tree) and imports the names it uses:
#
#   sys.dont_write_bytecode = True
#   sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
#   from harness import CHECKS, check, wait_until, ...  # noqa: E402
#
# Where suites differ (a default, an extra parameter) the function here takes
# a parameter and the suite passes its own value, so no suite changes what it
# does. There is one process-wide check counter (CHECKS) and one list of
# started processes (stop_all).
import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

LOOP = "127.0.0.1"
NSEC, NSEC3 = dns.rdatatype.NSEC, dns.rdatatype.NSEC3


# ---------------------------------------------------------------- checks ----
class Checks:
    """PASS/FAIL lines and their counts; thread-safe. A check given `xfail`
    (a FIXME naming a known bug) that fails is an expected failure (XFAIL),
    counted in neither number; one that passes is an XPASS (counted passed)."""

    def __init__(self):
        self.passed = self.failed = self.xfailed = 0
        self.failures = []
        self.xfails = []
        self.lock = threading.Lock()

    def check(self, name, ok, detail="", xfail=None):
        ok = bool(ok)
        with self.lock:
            if ok and xfail:
                print(f"XPASS {name}  (expected failure did not happen: remove the marker '{xfail}')", flush=True)
                self.passed += 1
            elif ok:
                print(f"PASS  {name}", flush=True)
                self.passed += 1
            elif xfail:
                print(f"XFAIL {name}: {detail}\n      FIXME: {xfail}", flush=True)
                self.xfailed += 1
                self.xfails.append(name)
            else:
                print(f"FAIL  {name}: {detail}", flush=True)
                self.failed += 1
                self.failures.append(name)
        return ok

    def print_failures(self, most=40):
        """`failed (N): name; name; ...` (the first `most`), when any failed."""
        if self.failures:
            print(f"failed ({len(self.failures)}): " + "; ".join(self.failures[:most])
                  + (" ..." if len(self.failures) > most else ""))


CHECKS = Checks()
check = CHECKS.check


class HarnessError(RuntimeError):
    """Something the test needs (not the server under test) did not work."""


class StartFailure(Exception):
    """satellited itself did not start: a failed check, not a harness error."""


def info(text):
    print(f"      {text}", flush=True)


def wait_until(fn, timeout, interval=0.2):
    """Polls fn() until it returns a true value or `timeout` seconds pass;
    returns the last value."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= end:
            return v
        time.sleep(interval)


# ----------------------------------------------------------------- ports ----
_used_ports = set()


def free_port(addr=LOOP):
    """A port free for TCP and UDP on `addr`, never handed out twice."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind((addr, 0))
            port = t.getsockname()[1]
            u.bind((addr, port))
        except OSError:
            continue
        finally:
            t.close()
            u.close()
        if port not in _used_ports and port >= 1024:
            _used_ports.add(port)
            return port
    raise HarnessError(f"no free port found on {addr}")


# ------------------------------------------------------------- processes ----
_procs = []  # every process spawn() started: stop_all() stops them


def spawn(argv, log_path, **kw):
    """Starts argv with stdout and stderr appended to log_path (kw: Popen's, e.g. env)."""
    with open(log_path, "ab") as logf:
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kw)
    _procs.append(p)
    return p


def stop_proc(p, timeout=15, report_kill=True):
    """SIGTERM, then SIGKILL after `timeout` s. Returns the exit status (None
    for no process); when it had to be killed, a text saying so if
    `report_kill`, else the status after the kill."""
    if p is None or p.poll() is not None:
        return None if p is None else p.returncode
    try:
        p.send_signal(signal.SIGTERM)
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait(timeout=5)
        return "killed (did not exit within %d s of SIGTERM)" % timeout if report_kill else rc


def stop_all(gentle=True):
    """Stops every process still running: SIGTERM (5 s) then SIGKILL, or at
    once SIGKILL when not `gentle`."""
    for p in _procs:
        if p.poll() is not None:
            continue
        if gentle:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=5)
                continue
            except Exception:
                pass
        try:
            p.kill()
            p.wait(timeout=5)
        except Exception:
            pass


def check_config(binary, config):
    """satellited --check-config: (exit status, its output)."""
    r = subprocess.run([binary, "--check-config", "--config", config], capture_output=True, text=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).strip()


def toml_zone(settings):
    """A [[zone]] table of satellite.toml from a dict (strings and lists of
    strings quoted, booleans true/false, numbers as they are), then a blank line."""
    out = ["[[zone]]"]
    for k, v in settings.items():
        if isinstance(v, bool):
            out.append(f"{k} = {'true' if v else 'false'}")
        elif isinstance(v, str):
            out.append(f'{k} = "{v}"')
        elif isinstance(v, list):
            out.append(f"{k} = [" + ", ".join(f'"{x}"' for x in v) + "]")
        else:
            out.append(f"{k} = {v}")
    return out + [""]


def run(argv, cwd=None, timeout=60, input=None):
    """A helper tool's stdout; HarnessError when it fails."""
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, input=input)
    if r.returncode != 0:
        raise HarnessError(f"{' '.join(argv)} failed ({r.returncode}): {r.stdout}{r.stderr}")
    return r.stdout


class LogFile:
    """A daemon's log file, read from a byte offset (`mark()`) on."""

    def __init__(self, path):
        self.path = path

    def text(self, since=0):
        try:
            with open(self.path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def mark(self):
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def lines(self, pred, since=0):
        """The lines for which pred(line) is true; `pred` may be a regex (re.search)."""
        if not callable(pred):
            regex = pred
            pred = lambda l: re.search(regex, l)  # noqa: E731
        return [l for l in self.text(since).splitlines() if pred(l)]

    def tail(self, n=15, since=0):
        return "\n      " + "\n      ".join(self.text(since).splitlines()[-n:])

    def find(self, regex, since=0):
        return re.findall(regex, self.text(since), re.M)

    def wait(self, regex, since=0, timeout=10.0, interval=0.1):
        """The first match (a string) of `regex` after offset `since`, or None."""
        def probe():
            m = re.search(regex, self.text(since), re.M)
            return m.group(0) if m else None
        return wait_until(probe, timeout, interval)


def recv_exact(sock, n):
    """Exactly n bytes from a stream socket, or None when it closes first."""
    buf = b""
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        if not part:
            return None
        buf += part
    return buf


# --------------------------------------------------------------- queries ----
def ask(port, name, rdtype, do=True, rd=False, timeout=2.0, tcp=False, edns=True, addr=LOOP):
    """One query over UDP (TCP when truncated, or only TCP); the response or
    None. EDNS0 with a 1232-byte payload and the DO bit when `do`; without DO
    (`do` false) still EDNS0 unless `edns` is false too. RD clear unless `rd`."""
    if do:
        q = dns.message.make_query(name, rdtype, want_dnssec=True, payload=1232)
    elif edns:
        q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
    else:
        q = dns.message.make_query(name, rdtype, use_edns=False)
    if not rd:
        q.flags &= ~dns.flags.RD
    try:
        if tcp:
            return dns.query.tcp(q, addr, port=port, timeout=timeout)
        r = dns.query.udp(q, addr, port=port, timeout=timeout)
        if r.flags & dns.flags.TC:
            r = dns.query.tcp(q, addr, port=port, timeout=timeout)
        return r
    except (dns.exception.DNSException, OSError):
        return None


def response_problems(r, rcode="NOERROR", aa=True, answer=(), not_echoed="DO bit not echoed"):
    """What is wrong with a DO=1 response's header and answer: the rcode, the
    AA flag, the DO bit echoed (`not_echoed` says it), the answer types."""
    probs = []
    got = dns.rcode.to_text(r.rcode())
    if got != rcode:
        probs.append(f"rcode {got}, want {rcode}")
    if bool(r.flags & dns.flags.AA) != aa:
        probs.append("AA set" if not aa else "AA not set")
    if r.edns < 0 or not (r.ednsflags & dns.flags.DO):
        probs.append(not_echoed)
    for t in answer:
        if not sets(r, "answer", dns.rdatatype.from_text(t)):
            probs.append(f"no {t} in the answer")
    return probs


def show(r, limit=2500):
    """A response as text for a failure's detail (indented, cut at `limit`)."""
    if r is None:
        return "no response (timeout)"
    t = r.to_text()
    return ("\n" + t if len(t) <= limit else "\n" + t[:limit] + "\n...").replace("\n", "\n      ")


def N(text):
    return dns.name.from_text(text)


def sets(r, section, rdtype=None, name=None, covers=None):
    """The RRsets of a response section, filtered by type, owner and covered type."""
    out = []
    for rr in getattr(r, section):
        if rdtype is not None and rr.rdtype != rdtype:
            continue
        if name is not None and rr.name != name:
            continue
        if covers is not None and rr.covers != covers:
            continue
        out.append(rr)
    return out


def rrsets(r, section, rdtype, covers=None, name=None):
    """sets() with the covered type third; [] for no response."""
    return [] if r is None else sets(r, section, rdtype, name, covers)


def tags_of(rrset):
    """The key tags of a DNSKEY RRset (none for None)."""
    return set() if rrset is None else {dns.dnssec.key_id(rd) for rd in rrset}


def sig_tags(r, rdtype, section="answer"):
    """The key tags of the RRSIGs over `rdtype` in a response section."""
    return {sig.key_tag for rr in rrsets(r, section, dns.rdatatype.RRSIG, rdtype) for sig in rr} \
        if r is not None else set()


# ------------------------------------------------ NSEC / NSEC3 denial proofs ----
def bitmap(rd):
    """Type names in an NSEC/NSEC3 rdata's type bitmap (NXNAME = type 128)."""
    words = rd.to_text().split()
    types = words[1:] if rd.rdtype == NSEC else words[5:]
    return {"NXNAME" if t in ("TYPE128", "NXNAME") else t for t in types}


class NsecSet:
    """The NSEC records of a response section: (owner, next, types)."""

    def __init__(self, r, section="authority"):
        self.recs = [(rr.name, rd.next, bitmap(rd)) for rr in sets(r, section, NSEC) for rd in rr]

    def covering(self, name):
        """The NSECs whose span has `name` strictly inside (RFC 4035 §5.4)."""
        out = []
        for owner, nxt, types in self.recs:
            if owner < nxt:
                inside = owner < name < nxt
            else:  # the last NSEC of the chain points back at the apex
                inside = name > owner or name < nxt
            if inside:
                out.append((owner, nxt, types))
        return out

    def at(self, name):
        return [(o, n, t) for o, n, t in self.recs if o == name]

    def text(self):
        return "; ".join(f"{o} -> {n} [{' '.join(sorted(t))}]" for o, n, t in self.recs) or "no NSEC"


B32HEX = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHIJKLMNOPQRSTUV")


class Nsec3Set:
    """The NSEC3 records of a response section, hashed with their own parameters."""

    def __init__(self, r, section="authority"):
        self.recs = []
        for rr in sets(r, section, NSEC3):
            for rd in rr:
                nxt = base64.b32encode(rd.next).decode().translate(B32HEX)
                self.recs.append(dict(owner=rr.name.labels[0].decode().upper(), next=nxt, flags=rd.flags,
                                      iters=rd.iterations, salt=rd.salt, types=bitmap(rd), name=rr.name))

    def hash(self, name):
        p = self.recs[0]
        return dns.dnssec.nsec3_hash(name, p["salt"] or None, p["iters"], 1)

    def matching(self, name):
        if not self.recs:
            return []
        h = self.hash(name)
        return [x for x in self.recs if x["owner"] == h]

    def covering(self, name):
        if not self.recs:
            return []
        h = self.hash(name)
        out = []
        for x in self.recs:
            o, n = x["owner"], x["next"]
            inside = (o < h < n) if o < n else (h > o or h < n)
            if inside:
                out.append(x)
        return out

    def text(self):
        return "; ".join(f"{x['owner'][:8]}..->{x['next'][:8]}.. flags={x['flags']} it={x['iters']} "
                         f"salt={x['salt'].hex() or '-'} [{' '.join(sorted(x['types']))}]"
                         for x in self.recs) or "no NSEC3"


def next_closer(qname, ce):
    return qname.split(len(ce.labels) + 1)[1]


def wildcard_of(ce):
    return dns.name.Name((b"*",) + ce.labels)


def closest_encloser_problems(s, qname, ce):
    """RFC 5155 §7.2.1 in the Nsec3Set `s`: an NSEC3 matches the closest
    encloser `ce` and one covers the next closer name of qname."""
    probs = []
    if not s.matching(ce):
        probs.append(f"no NSEC3 matches the closest encloser {ce}")
    if not s.covering(next_closer(qname, ce)):
        probs.append(f"no NSEC3 covers the next closer name {next_closer(qname, ce)}")
    return probs


def denial_nxdomain(r, kind, qname, ce):
    """RFC 4035 §3.1.3.2 (NSEC covering qname + NSEC proving no wildcard) or
    RFC 5155 §7.2.2 (closest encloser proof + NSEC3 covering the wildcard).
    `kind`: "nsec", else NSEC3. (problems, the records as text)."""
    probs = []
    if kind == "nsec":
        s = NsecSet(r)
        if not s.covering(qname):
            probs.append(f"no NSEC covers {qname}")
        if not s.covering(wildcard_of(ce)):
            probs.append(f"no NSEC covers the wildcard {wildcard_of(ce)}")
        return probs, s.text()
    s = Nsec3Set(r)
    probs += closest_encloser_problems(s, qname, ce)
    if not s.covering(wildcard_of(ce)):
        probs.append(f"no NSEC3 covers the wildcard {wildcard_of(ce)}")
    return probs, s.text()


def denial_nodata(r, kind, qname, qtype):
    """RFC 4035 §3.1.3.1 (NSEC at qname without qtype/CNAME) or RFC 5155
    §7.2.3 (the NSEC3 matching qname without qtype/CNAME)."""
    probs = []
    s = NsecSet(r) if kind == "nsec" else Nsec3Set(r)
    m = s.at(qname) if kind == "nsec" else s.matching(qname)
    if not m:
        probs.append(f"no {'NSEC' if kind == 'nsec' else 'NSEC3'} at {qname}")
    for x in m:
        types = x[2] if kind == "nsec" else x["types"]
        if qtype in types or "CNAME" in types:
            probs.append(f"the record at {qname} lists {qtype} or CNAME")
    return probs, s.text()


def denial_ent(r, kind, qname):
    """An empty non-terminal: NSEC whose span holds qname and whose next name
    is below it (RFC 4035 §3.1.3.2 note; RFC 4592 §3.1) / NSEC3 matching it
    (RFC 5155 §7.2.3: ENTs have NSEC3 records with empty bitmaps)."""
    if kind == "nsec":
        s = NsecSet(r)
        ok = [x for x in s.covering(qname) if x[1].is_subdomain(qname)]
        return ([] if ok else [f"no NSEC spans {qname} with a next name below it"]), s.text()
    s = Nsec3Set(r)
    m = s.matching(qname)
    probs = [] if m else [f"no NSEC3 matches the empty non-terminal {qname}"]
    probs += [f"NSEC3 for {qname} lists types {x['types']}" for x in m if x["types"]]
    return probs, s.text()


# ------------------------------------------------------- resolver, delv ----
def unbound_conf(dir, port, log_path, trust_anchor_file=None, trust_anchor=None, extra=()):
    """The server: and remote-control: clauses of a validating unbound on
    LOOP:port (working directory `dir`) that may query authorities on
    loopback, serves test. and logs validation failures to log_path; the
    trust anchor from a file or one DS line; `extra`: more server: lines.
    The caller adds its stub-zone: clauses (stub_zone())."""
    lines = ["server:", f"    interface: {LOOP}", f"    port: {port}", "    do-ip6: no",
             "    do-not-query-localhost: no", '    module-config: "validator iterator"']
    if trust_anchor_file is not None:
        lines.append(f'    trust-anchor-file: "{trust_anchor_file}"')
    if trust_anchor is not None:
        lines.append(f'    trust-anchor: "{trust_anchor}"')
    lines += ["    val-log-level: 2", f'    logfile: "{log_path}"',
              "    use-syslog: no", "    verbosity: 1", '    chroot: ""', '    username: ""',
              f'    directory: "{dir}"', f'    pidfile: "{dir}/unbound.pid"', "    num-threads: 1",
              "    access-control: 127.0.0.0/8 allow",
              # test. is one of unbound's default (RFC 6761) local zones: turn that off.
              '    local-zone: "test." nodefault',
              # Every query should reach the authority, not be synthesised from cached NSEC.
              "    aggressive-nsec: no"]
    return lines + list(extra) + ["remote-control:", "    control-enable: no"]


def stub_zone(name, *addrs):
    """A stub-zone: clause; addrs as "addr@port"."""
    return ["stub-zone:", f'    name: "{name}"'] + [f"    stub-addr: {a}" for a in addrs]


def spawn_unbound(dir, lines):
    """Writes dir/unbound.conf and starts unbound in the foreground (output in dir/unbound.out)."""
    conf = os.path.join(dir, "unbound.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return spawn(["unbound", "-d", "-c", conf], os.path.join(dir, "unbound.out"))


def ask_resolver(port, name, rdtype, timeout=5):
    """A DO=1 RD=1 query to a resolver, asked twice before it counts as no
    answer (the first query of a chain may wait on several fetches)."""
    r = ask(port, name, rdtype, do=True, rd=True, timeout=timeout)
    if r is None:
        r = ask(port, name, rdtype, do=True, rd=True, timeout=timeout)
    return r


def validation_failures(log, since=0):
    """A resolver's log lines about failed validation or bogus data."""
    return log.lines(lambda l: "validation failure" in l or "bogus" in l.lower(), since)


def delv(port, anchor, root, qname, qtype):
    """delv's output for qname/qtype asked of LOOP:port, validating from the
    trust-anchors file `anchor` for `root`."""
    argv = ["delv", "@" + LOOP, "-p", str(port), "-a", anchor, f"+root={root}", qname, qtype]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return "delv timed out"


def delv_ok(out, want):
    """delv said one of `want` ("a|b") on a line of its own."""
    return any(l.strip() == "; " + w for l in out.splitlines() for w in want.split("|"))


def delv_summary(out):
    first = [l for l in out.splitlines()
             if l.startswith(";") and ("validat" in l or "unsigned" in l or "resolution failed" in l)]
    return " | ".join(first) or out[-600:]


# ------------------------------------------------------------------- API ----
class Resp:
    def __init__(self, status, body, headers, repr_limit=700):
        self.status, self.text, self.headers = status, body, headers
        self.repr_limit = repr_limit
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"HTTP {self.status} {self.text[:self.repr_limit]}"


_TOKEN = object()  # "the client's own token"


class Api:
    """satellited's REST API over HTTP. Calls send `token` as a bearer token
    unless given another (None: no Authorization header) or a whole
    Authorization header (`auth`)."""
    token = None
    repr_limit = 700

    def __init__(self, port, addr=LOOP):
        self.addr, self.port = addr, port

    def call(self, method, path, token=_TOKEN, body=None, raw=None, auth=None):
        if token is _TOKEN:
            token = self.token
        headers = {}
        if auth is not None:
            headers["Authorization"] = auth
        elif token is not None:
            headers["Authorization"] = "Bearer " + token
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection(self.addr, self.port, timeout=20)
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            text = r.read().decode("utf-8", "replace")
            return Resp(r.status, text, {k.lower(): v for k, v in r.getheaders()}, self.repr_limit)
        except (OSError, http.client.HTTPException) as e:
            return Resp(None, f"connection failed: {e!r}", {}, self.repr_limit)
        finally:
            conn.close()

    @staticmethod
    def dpath(zone, action=""):
        return f"/api/v1/domains/{zone.rstrip('.')}/dnssec" + (f"/{action}" if action else "")

    def get(self, zone, token=_TOKEN):
        return self.call("GET", self.dpath(zone), token)

    def post(self, zone, action, body=None, *, token=_TOKEN, raw=None):
        return self.call("POST", self.dpath(zone, action), token, body=body, raw=raw)

    def status(self, zone):
        """The GET .../dnssec body (a dict), or None."""
        r = self.get(zone)
        return r.json if r.status == 200 and isinstance(r.json, dict) else None


def expect_http(name, r, status, fields=None, detail=""):
    """The check `name`: r has HTTP `status` (an int or a tuple), the
    top-level `fields` if given, and an error body {"error": ...} when 4xx/5xx."""
    want = status if isinstance(status, tuple) else (status,)
    probs = []
    if r.status not in want:
        probs.append(f"HTTP {r.status}, want {'/'.join(map(str, want))}")
    if fields is not None:
        if not isinstance(r.json, dict):
            probs.append("body is not a JSON object")
        else:
            miss = set(fields) - set(r.json)
            if miss:
                probs.append(f"body lacks {sorted(miss)}")
    if r.status is not None and r.status >= 400 and not (isinstance(r.json, dict) and r.json.get("error")):
        probs.append('error body is not JSON {"error": ...}')
    return check(name, not probs, "; ".join(probs) + f"; got {r!r}" + (f"; {detail}" if detail else ""))


def keys_of(g, kind=None):
    """The keys of a GET .../dnssec body: both kinds, or "ksk" / "zsk"."""
    if not isinstance(g, dict):
        return []
    out = []
    for t in ("ksk", "zsk"):
        if kind is None or kind == t:
            out += g.get(t) or []
    return out


def key_by_tag(g, tag):
    for k in keys_of(g):
        if k.get("key_tag") == tag:
            return k
    return None


def key_summary(g):
    if not isinstance(g, dict):
        return "no GET body"
    return f"status {g.get('status')}; " + ", ".join(
        f"{k.get('key_type')} {k.get('key_tag')} {k.get('state')}" for k in keys_of(g))


def ds_body(ds_list):
    """A confirm-ds-* body naming these DS records."""
    return {"ds_records": [{"key_tag": d["key_tag"], "algorithm": d["algorithm"], "digest_type": d["digest_type"],
                            "digest": d["digest"]} for d in ds_list]}


# ------------------------------------------------------------------ main ----
def arg_parser(description, here, keep_help="keep the work directory", verbose=True, verbose_help=None):
    """--satellited (default: the build tree's), --keep and, if `verbose`, --verbose."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--satellited", default=os.path.join(here, "..", "..", "..", "build", "bin", "satellited"))
    ap.add_argument("--keep", action="store_true", help=keep_help)
    if verbose:
        ap.add_argument("--verbose", action="store_true", help=verbose_help)
    return ap


def add_sbin_to_path():
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def skip_reason(tools, binary=None):
    """Why the suite cannot run here: a tool not on PATH, or `binary` (when
    given) not an executable; None when it can."""
    for tool in tools:
        if not shutil.which(tool):
            return f"{tool} not installed"
    if binary is not None and not os.access(binary, os.X_OK):
        return f"{binary} is not an executable (build satellited first)"
    return None


def skip(reason, last_line=None):
    """Says why on stderr (and `last_line`, the suite's zero counts, on stdout); 77 for ctest."""
    print(f"SKIP: {reason}", file=sys.stderr)
    if last_line is not None:
        print(last_line)
    return 77


def cannot_run(reason):
    """The suite cannot run here (a peer or resource missing): a skip (77),
    but with CI=true a failed check (1), so CI never hides a broken install."""
    if os.environ.get("CI") == "true":
        check("everything the suite needs is here (CI=true: a missing one is a failure)", False, reason)
        print(f"{CHECKS.passed} passed, {CHECKS.failed} failed")
        return 1
    return skip(reason, "0 passed, 0 failed")


def interrupt_on_sigterm():
    """SIGTERM (ctest's timeout, run.sh's `timeout`) raises KeyboardInterrupt,
    so the suite's finally: stops its daemons."""
    def on_signal(sig, _frame):
        raise KeyboardInterrupt(f"signal {sig}")
    signal.signal(signal.SIGTERM, on_signal)


def record_abort(e, start_check):
    """Records the exception that ended a run as a failed check (call it in
    the except: clause); returns whether it was a harness error rather than
    satellited failing to start (StartFailure: the check `start_check`)."""
    if isinstance(e, StartFailure):
        check(start_check, False, str(e))
        return False
    if isinstance(e, KeyboardInterrupt):
        check("harness interrupted", False, str(e))
    elif isinstance(e, HarnessError):
        check("harness set-up", False, str(e))
    else:
        check("harness", False, traceback.format_exc())
    return True


def finish_workdir(workdir, t0, keep, kept="work directory kept:"):
    """Prints the elapsed time; keeps the work directory (saying so) or removes it."""
    print(f"elapsed {time.monotonic() - t0:.0f} s")
    if keep:
        print(f"{kept} {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
