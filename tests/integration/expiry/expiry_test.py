#!/usr/bin/python3
"""The signature-expiry guard (issue 15), judged by a validating unbound and
by reading every RRSIG satellited sends.

A scripted primary (tests/integration/xfr/fake_primary.py) serves exp.test.,
pre-signed by ldns-signzone with signatures that expire EXPIRE_IN seconds
after the start, SOA expire one day (so only the signatures can end it).
satellited runs with signature_safety_margin = MARGIN:

  1. serial 1 is served: the load warns that the signatures live shorter than
     SOA expire; the API zone body and /metrics show the earliest expiration,
     the RRset holding it and the effective expiry; unbound validates (AD);
     an SOA query with EDNS EXPIRE (RFC 7314) gets the remaining effective
     expiry (the signatures' limit, not SOA expire).
  2. queried every QUERY_EVERY s until the signatures have expired: every
     RRSIG in every answer is unexpired when it arrives; the answers turn
     SERVFAIL, with Extended DNS Error 7, before the signatures expire and stay
     SERVFAIL (the primary still answers SOA queries "up to date"); unbound
     says SERVFAIL.
  3. the primary re-signs (serial 2): served again, unbound validates.
  4. serial 3, signed to expire inside the margin: refused (the log names the
     RRset and the time); serial 2 keeps serving.
  5. serial 4, NSEC3 with 150 iterations: refused (RFC 9276); serial 2 keeps
     serving.
"""
import calendar
import os
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "xfr"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import dns.edns  # noqa: E402
import dns.exception  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.flags  # noqa: E402
import dns.name  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.zone  # noqa: E402
from fake_primary import FakePrimary  # noqa: E402
from harness import (cannot_run, CHECKS, LOOP, Api, LogFile, add_sbin_to_path, arg_parser, ask, ask_resolver, check,  # noqa: E402
                     finish_workdir, free_port, interrupt_on_sigterm, record_abort, run, skip, skip_reason,
                     spawn, spawn_unbound, stop_all, stub_zone, unbound_conf, wait_until)

ZONE = "exp.test."
MARGIN = 20          # signature_safety_margin, seconds
EXPIRE_IN = 50       # serial 1's signatures expire this long after the start
QUERY_EVERY = 0.3    # seconds between queries in step 2
TOKEN = "expiry-test-token"
PEERS = ["unbound", "ldns-signzone", "ldns-keygen"]
TIMERS = dict(refresh=3600, retry=2, expire=86400, minimum=60)
NAMES = [f"n{i}" for i in range(8)]  # fresh names for unbound (nothing cached)


def stamp(t):
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(t))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Signer:
    """exp.test. signed by ldns-signzone, as wire records for the fake primary
    (which makes the SOA, apex NS and ns1 A itself: those RRsets are left out,
    their signatures kept)."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "keys")
        os.makedirs(self.dir)
        self.ksk = run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", ZONE.rstrip(".")], cwd=self.dir).strip()
        self.zsk = run(["ldns-keygen", "-a", "ECDSAP256SHA256", ZONE.rstrip(".")], cwd=self.dir).strip()
        self.anchor = os.path.join(self.dir, self.ksk + ".key")

    def sign(self, serial, expiration, inception, nsec3_iterations=None):
        r, rt, e, m = (TIMERS[k] for k in ("refresh", "retry", "expire", "minimum"))
        text = [f"$ORIGIN {ZONE}", f"@ 300 IN SOA ns1 hostmaster {serial} {r} {rt} {e} {m}",
                "@ 300 IN NS ns1", "ns1 300 IN A 127.0.0.1", "www 300 IN A 192.0.2.1"]
        text += [f'{n} 300 IN TXT "{n} v{serial}"' for n in NAMES]
        src = os.path.join(self.dir, f"z{serial}.zone")
        out = src + ".signed"
        with open(src, "w") as f:
            f.write("\n".join(text) + "\n")
        argv = ["ldns-signzone", "-e", stamp(expiration), "-i", stamp(inception), "-f", out]
        if nsec3_iterations is not None:
            argv += ["-n", "-t", str(nsec3_iterations)]
        run(argv + [src, self.ksk, self.zsk], cwd=self.dir)
        z = dns.zone.from_file(out, origin=ZONE, relativize=False, check_origin=False)
        origin = dns.name.from_text(ZONE)
        ns1 = dns.name.from_text("ns1", origin)
        raw = []
        for name, node in z.nodes.items():
            for rds in node.rdatasets:
                if (name == origin and rds.rdtype in (dns.rdatatype.SOA, dns.rdatatype.NS)) or \
                        (name == ns1 and rds.rdtype == dns.rdatatype.A):
                    continue  # the fake primary's own
                for rd in rds:
                    w = rd.to_wire()
                    raw.append(name.to_wire() + struct.pack("!HHIH", rds.rdtype, 1, rds.ttl, len(w)) + w)
        return raw


class Satellited:
    def __init__(self, binary, workdir, primary_port):
        self.dir = os.path.join(workdir, "sat")
        os.makedirs(self.dir)
        self.port, self.api_port = free_port(), free_port()
        self.api = Api(self.api_port)
        self.api.token = TOKEN
        self.log = LogFile(os.path.join(self.dir, "satellited.log"))
        self.config = os.path.join(self.dir, "satellite.toml")
        with open(self.config, "w") as f:
            f.write("\n".join([
                "[server]", f'listen = ["{LOOP}:{self.port}"]', "threads = 1",
                f'state_dir = "{self.dir}/state"', "",
                "[api]", f'listen = "{LOOP}:{self.api_port}"', "[[api.token]]", 'name = "t"',
                f'secret = "{TOKEN}"', 'permissions = ["zone:read", "zone:refresh"]', "",
                "[log]", 'level = "info"', "",
                "[[zone]]", f'name = "{ZONE}"', f'primaries = ["{LOOP}:{primary_port}"]',
                "allow_nsec3 = true", 'presigned_verify = "full"',
                f'signature_safety_margin = "{MARGIN}s"', ""]))
        self.proc = spawn([binary, "--config", self.config], self.log.path)

    def serial(self):
        r = ask(self.port, ZONE, "SOA")
        if r is None or r.rcode() != dns.rcode.NOERROR or not r.answer:
            return None
        return r.answer[0][0].serial

    def zone_body(self):
        r = self.api.call("GET", f"/api/v1/zones/{ZONE.rstrip('.')}")
        return r.json if r.status == 200 and isinstance(r.json, dict) else {}

    def refresh(self):
        return self.api.call("POST", f"/api/v1/zones/{ZONE.rstrip('.')}/refresh").status

    def metric(self, name):
        r = self.api.call("GET", "/metrics")
        for line in (r.text if r.status == 200 else "").splitlines():
            if line.startswith(f'{name}{{zone="{ZONE}"}} '):
                return int(float(line.split()[-1]))
        return None


def rrsig_expirations(r):
    return [rd.expiration for sect in (r.answer, r.authority, r.additional) for rrs in sect
            if rrs.rdtype == dns.rdatatype.RRSIG for rd in rrs]


def edns_expire(port):
    """The EXPIRE option's value in the answer to an SOA query carrying it (RFC 7314), or None."""
    q = dns.message.make_query(ZONE, "SOA", use_edns=0, payload=1232, options=[dns.edns.GenericOption(9, b"")])
    q.flags &= ~dns.flags.RD
    try:
        r = dns.query.udp(q, LOOP, port=port, timeout=2)
    except (dns.exception.DNSException, OSError):
        return None
    for o in r.options:
        if o.otype == 9 and len(o.to_wire()) == 4:
            return struct.unpack("!I", o.to_wire())[0]
    return None


def ede_codes(r):
    return [o.code for o in r.options if isinstance(o, dns.edns.EDEOption)]


def ad(r):
    return r is not None and r.rcode() == dns.rcode.NOERROR and bool(r.flags & dns.flags.AD)


def main():
    ap = arg_parser(__doc__, HERE, verbose=False)
    args = ap.parse_args()
    binary = os.path.abspath(args.satellited)
    add_sbin_to_path()
    why = skip_reason(PEERS, binary)
    if why:
        return cannot_run(why)
    workdir = tempfile.mkdtemp(prefix="satellite-expiry-")
    print(f"work directory: {workdir}", flush=True)
    interrupt_on_sigterm()
    t_begin = time.monotonic()
    harness_error = False
    fake = None
    try:
        signer = Signer(workdir)
        t0 = int(time.time())
        expiry1 = t0 + EXPIRE_IN
        fake = FakePrimary(free_port())
        fz = fake.add_zone(ZONE, **TIMERS)
        fz.publish(1, raw=signer.sign(1, expiry1, t0 - 3600))
        fake.start()
        sat = Satellited(binary, workdir, fake.port)
        ub_port = free_port()
        ub_dir = os.path.join(workdir, "unbound")
        os.makedirs(ub_dir)
        ub_log = LogFile(os.path.join(ub_dir, "unbound.log"))
        spawn_unbound(ub_dir, unbound_conf(ub_dir, ub_port, ub_log.path, trust_anchor_file=signer.anchor)
                      + stub_zone(ZONE, f"{LOOP}@{sat.port}"))

        # 1. Serial 1 served, warned about, shown.
        if not wait_until(lambda: sat.serial() == 1, 20):
            raise RuntimeError("satellited does not serve serial 1: " + sat.log.tail(20))
        check("load warns that the signatures live shorter than SOA expire",
              sat.log.find(r"SIGNATURE VALIDITY SHORTER THAN SOA EXPIRE.*exp\.test\."), sat.log.tail(10))
        body = sat.zone_body()
        check("API zone body: the earliest signature expiration", body.get("signature_expiry") == iso(expiry1),
              f"{body.get('signature_expiry')} want {iso(expiry1)}")
        check("API zone body: the RRset holding it", (body.get("signature_expiry_rrset") or "").endswith(ZONE)
              or "exp.test." in (body.get("signature_expiry_rrset") or ""), str(body))
        check("API zone body: effective expiry = expiration - margin",
              body.get("effective_expiry") == iso(expiry1 - MARGIN), str(body))
        m1 = sat.metric("satellite_zone_signature_expiry_timestamp_seconds")
        m2 = sat.metric("satellite_zone_effective_expiry_timestamp_seconds")
        check("/metrics: signature expiry of a presigned zone", m1 == expiry1, f"{m1} want {expiry1}")
        check("/metrics: effective expiry", m2 == expiry1 - MARGIN, f"{m2} want {expiry1 - MARGIN}")
        r = ask_resolver(ub_port, f"{NAMES[0]}.{ZONE}", "TXT")
        check("before the margin: unbound validates (AD)", ad(r), str(r))
        v, now = edns_expire(sat.port), time.time()
        check("EDNS EXPIRE (RFC 7314): the remaining effective expiry, never past the signatures' limit",
              v is not None and expiry1 - MARGIN - now - 3 <= v <= expiry1 - MARGIN - now + 1,
              f"EXPIRE {v}, signatures' limit in {expiry1 - MARGIN - now:.1f} s")

        # 2. Every answer until the signatures have expired.
        answered = servfail = 0
        first_servfail = None
        expired_sent, no_ede, after_servfail = [], [], []
        deadline = expiry1 + 3
        for _ in range(int((deadline - time.time()) / QUERY_EVERY) + 2):
            if time.time() > deadline:
                break
            r = ask(sat.port, f"www.{ZONE}", "A")
            now = time.time()
            if r is not None:
                late = [e for e in rrsig_expirations(r) if e <= now]
                if late:
                    expired_sent.append(f"{iso(now)}: RRSIG expired at {iso(min(late))}")
                if r.rcode() == dns.rcode.SERVFAIL:
                    servfail += 1
                    first_servfail = first_servfail or now
                    if 7 not in ede_codes(r):
                        no_ede.append(f"{iso(now)}: options {r.options}")
                elif r.rcode() == dns.rcode.NOERROR:
                    answered += 1
                    if first_servfail is not None:
                        after_servfail.append(iso(now))
            time.sleep(QUERY_EVERY)
        check("answers with signatures before the margin", answered > 0, f"{answered} answered")
        check("never an expired RRSIG on the wire", not expired_sent, "; ".join(expired_sent[:5]))
        check("SERVFAIL before the signatures expire",
              first_servfail is not None and first_servfail < expiry1,
              f"first SERVFAIL {iso(first_servfail) if first_servfail else 'never'}, expiry {iso(expiry1)}")
        check("every SERVFAIL carries EDE 7 (Signature Expired)", servfail > 0 and not no_ede,
              f"{servfail} SERVFAIL; " + "; ".join(no_ede[:3]))
        check("no answer again until a fresher version (primary says 'up to date')", not after_servfail,
              ", ".join(after_servfail[:5]))
        check("the log names the RRset and time that expired the zone",
              sat.log.find(r"zone exp\.test\. expired: its earliest signature \(the RRSIG over .*\) expires at "
                           + iso(expiry1)), sat.log.tail(10))
        r = ask_resolver(ub_port, f"{NAMES[1]}.{ZONE}", "TXT")
        check("after the margin: unbound says SERVFAIL", r is not None and r.rcode() == dns.rcode.SERVFAIL, str(r))
        r = ask(sat.port, ZONE, "SOA", do=False, edns=False)
        check("without EDNS: SERVFAIL without OPT", r is not None and r.rcode() == dns.rcode.SERVFAIL
              and r.edns < 0, str(r))

        # 3. The primary re-signs: served again.
        now = int(time.time())
        fz.publish(2, raw=signer.sign(2, now + 3600, now - 3600))
        sat.refresh()
        check("a freshly signed serial is served again", wait_until(lambda: sat.serial() == 2, 20),
              sat.log.tail(10))
        r = ask_resolver(ub_port, f"{NAMES[2]}.{ZONE}", "TXT")
        check("re-signed: unbound validates (AD)", ad(r), str(r))

        # 4. A version already inside the margin: refused.
        mark = sat.log.mark()
        now = int(time.time())
        fz.publish(3, raw=signer.sign(3, now + MARGIN // 2, now - 3600))
        sat.refresh()
        line = sat.log.wait(r".*inside the signature_safety_margin.*", since=mark, timeout=15)
        check("a version inside the margin is refused, naming the RRset and time",
              line and "RRSIG over" in line and iso(now + MARGIN // 2) in line, f"{line!r}; {sat.log.tail(8, mark)}")
        check("the old version keeps serving", sat.serial() == 2, str(sat.serial()))
        r = ask_resolver(ub_port, f"{NAMES[3]}.{ZONE}", "TXT")
        check("refused version: unbound still validates serial 2 (AD)", ad(r) and "v2" in str(r), str(r))

        # 5. NSEC3 with 150 iterations: refused.
        mark = sat.log.mark()
        now = int(time.time())
        fz.publish(4, raw=signer.sign(4, now + 3600, now - 3600, nsec3_iterations=150))
        sat.refresh()
        line = sat.log.wait(r".*150 iterations.*", since=mark, timeout=15)
        check("NSEC3 with 150 iterations is refused (RFC 9276)", line and "RFC 9276" in line,
              f"{line!r}; {sat.log.tail(8, mark)}")
        check("the old version keeps serving after the NSEC3 refusal", sat.serial() == 2, str(sat.serial()))
        check("satellited still running", sat.proc.poll() is None, sat.log.tail(10))
    except BaseException as e:  # noqa: BLE001 -- every end is reported
        harness_error = record_abort(e, "satellited starts")
    finally:
        stop_all()
        if fake:
            fake.stop()
    CHECKS.print_failures()
    finish_workdir(workdir, t_begin, args.keep or CHECKS.failed > 0)
    print(f"{CHECKS.passed} passed, {CHECKS.failed} failed")
    return 2 if harness_error else (1 if CHECKS.failed else 0)


if __name__ == "__main__":
    sys.exit(main())
