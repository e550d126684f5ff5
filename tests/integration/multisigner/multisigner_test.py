#!/usr/bin/python3
# Multi-signer DNSSEC, RFC 8901 model 2, end to end (DESIGN.md §3
# "multi-signer", §4, §5 peer-keys), against the real satellited over real
# sockets. Two satellited instances play two DNS providers that serve the
# same zone, each signing it with its own KSK and ZSK; each publishes the
# other's keys in its DNSKEY RRset, so a resolver may take the DNSKEY RRset
# from one provider and the answers from the other.
#
# Set-up (all on loopback, ports picked at run time):
#   Knot (127.0.0.1): the hidden primary, unsigned zones
#     ms.test.   ~45 names: apex SOA/NS/A/MX/TXT, www A/AAAA/TXT, a wildcard
#                *.wild (TXT, A), CNAMEs, the empty non-terminals c and b.c
#                under a.b.c, _sip._tcp SRV (ENT _tcp), host01..host24, a
#                secure delegation `sec` (NS + glue + DS) and an insecure one
#                `insec` (NS + glue). SOA TTL 4 (= the DNSKEY TTL), other TTLs
#                4-8, SOA MINIMUM 4: every rollover wait is a few seconds
#     ms2.test.  a small zone whose data carries a "third provider's" KSK and
#                ZSK (alg 13, made here with `cryptography`); later removed
#   satellited A (127.0.0.21) and B (127.0.0.22): own state_dir, API port,
#     dump dir (SATELLITE_DUMP_DIR), an admin token (every permission) and a
#     reader token (zone:read, dnssec:read); both secondaries of Knot for
#     ms.test. and ms2.test., mode "multi-signer", `peers` = the other one,
#     algorithm 13, NSEC, propagation_delay 1s, parent_ds_ttl 1s,
#     peer_publish_delay 2s; ms2.test. has peer_keys_from_primary = true on A
#     and false on B. A also serves plain.test. (a presigned file zone).
#   unbound x3 (validating, trust anchor = the union DS set of both KSKs,
#     aggressive-nsec off): ubA stubs ms.test. to A only, ubB to B only,
#     ubAB to both addresses.
#
# Steps (numbered as in the issue; run in the order 1 2 3 4 6 5 7 8 9):
#   1  Knot serves both zones; A and B start and each serve its own KSK + ZSK
#   2  key exchange through the API: GET A's peer-keys (fields, key tags,
#      `keys` = A's published keys) and POST the same body to B (200, added
#      2); B -> A likewise. Then both serve the same 4-key DNSKEY RRset
#      (signed by the serving provider's KSK only; data signed by its ZSK
#      only), identical CDS and CDNSKEY naming both KSKs (CDS = SHA-256 DS of
#      each KSK), and GET .../dnssec ds_records on A and on B = that CDS set;
#      confirm-ds-published with the union set: 200 on both, status active
#   3  the three unbounds (trust anchor = the union DS set) answer every case
#      with the expected rcode/data and AD, no SERVFAIL: apex SOA NS DNSKEY
#      CDS CDNSKEY MX TXT, www A/AAAA, NODATA, ENTs, a.b.c, CNAME, wildcard
#      answer and wildcard NODATA, NXDOMAIN (a fresh name each time), DS at
#      the secure cut, no DS at the insecure cut; nothing logged as bogus
#   4  dnspython: the DNSKEY RRset of one provider (itself validated from the
#      trust anchor) validates every RRSIG in the other provider's answers
#      (answer and authority: data, CNAME, wildcard expansions, NSEC denial
#      records, the DS / NSEC at the cuts), in both directions, and the
#      denial proofs are complete (NXDOMAIN: the name and the wildcard
#      covered; NODATA: the NSEC at the name; ENT; wildcard NODATA; no DS at
#      the insecure cut; referrals)
#   6  refusals, each 400 with an error body, GET peer-keys and the served
#      DNSKEY RRset unchanged: algorithm 8 and 14 (not the zone's), 5
#      (unsupported), wrong owner (another zone, a name below the apex),
#      flags 0 and 385 (revoked), protocol 2, a malformed public key, one of
#      the instance's own keys (its own GET body), a batch with one good and
#      one bad key (nothing added), a body that is no JSON; 401 without a
#      token, 403 for POST/DELETE with the reader token, 404 for a presigned
#      zone and an unknown zone. The other body forms: {"dnskey": ...} and
#      {"keys": [...]} add (a peer KSK appears in CDS/CDNSKEY and
#      ds_records), DELETE .../peer-keys/{tag} and DELETE with a {"dnskey"}
#      body remove (404 when gone); re-posting a peer's body adds nothing
#   5  ZSK roll on A while B stays: rotate-zsk on A; the new ZSK is published
#      at once (A's DNSKEY, A's GET peer-keys `keys`, state "publish") but
#      for 3x (DNSKEY TTL + propagation_delay + peer_publish_delay) it never
#      becomes active and signs nothing, because B does not serve it; then
#      A's peer-keys are synced to B (GET A -> POST B, added 1); A activates
#      the new ZSK within a bounded time, and not before B has served it for
#      a DNSKEY TTL (RFC 8901: a new ZSK signs only once every provider's
#      DNSKEY RRset with it has had time to replace the copies resolvers
#      cached); the same judged as a resolver would see it: a copy of B's
#      DNSKEY RRset fetched just before the sync, held for its TTL, validates
#      every answer A gives meanwhile (www A, fresh NXDOMAINs); the old ZSK
#      retires and, no sooner than max TTL + propagation delay later, leaves
#      A's DNSKEY RRset and A's GET keys; then DELETE of the old tag on B
#      (200) and the two DNSKEY RRsets are equal again. All through the roll
#      a background loop runs step 3 (three unbounds, fresh NXDOMAIN names)
#      and step 4 (both directions) about once a second: all green at every
#      round
#   7  restart of B (SIGTERM: exit 0, same state_dir): its peer keys, own
#      keys and served DNSKEY RRset are the same; steps 3 and 4 green again
#   8  peer_keys_from_primary: A serves the third provider's KSK + ZSK from
#      ms2.test.'s primary data, lists them in GET peer_keys with source
#      "primary", their KSK in CDS/CDNSKEY and ds_records; A's answers
#      validate; B (flag false) serves only its own keys. A key added
#      through the API meanwhile has source "api". The primary drops the keys
#      (serial 2, knotc zone-reload, POST /api/v1/zones/ms2.test/refresh):
#      they leave A's DNSKEY, CDS and GET peer_keys; the API key stays
#   9  ldns-verify-zone on the zones A and B dump (SATELLITE_DUMP_DIR), and
#      the dumps carry the DNSKEY RRset served
#  10  the consistency probe (RFC 8901 §8): after a check, A's zone body says
#      B serves A's keys and the same CDS/CDNSKEY; B drops A's ZSK (DELETE
#      peer-keys on B), a check of A flags B (zone body `multi_signer`:
#      "lacks our ZSK <tag>", the metrics 0 / 1, a log line); A's keys
#      posted to B again, the next check clears it
#  11  [zone.signing] algorithm changed to 8 on A (SIGHUP): refused with an
#      error naming both algorithms (an algorithm rollover of a multi-signer
#      zone needs every provider in step); A keeps serving algorithm 13 keys
#      and signatures; set back
#
# Run through run.sh. Exit 0 when no check failed (1 otherwise, 77 a peer
# binary missing); the last line is `N checks, M failed`.
import base64
import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

try:
    import dns.dnssec
    import dns.flags
    import dns.name
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
except ImportError:
    sys.stderr.write("SKIP: dnspython/cryptography missing: run with /usr/bin/python3 "
                     "(python3-dnspython, python3-cryptography)\n")
    print("0 checks, 0 failed")
    sys.exit(77)

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import harness  # noqa: E402
from harness import (CHECKS, HarnessError, LOOP, LogFile, N, StartFailure, add_sbin_to_path, arg_parser,  # noqa: E402
                     ask_resolver, check, check_config, ds_body, finish_workdir, free_port, info, interrupt_on_sigterm,
                     key_by_tag, key_summary, keys_of, record_abort, rrsets, show, sig_tags, skip, skip_reason, spawn,
                     spawn_unbound, stop_all, stop_proc, stub_zone, tags_of, unbound_conf, validation_failures,
                     wait_until)
from harness import expect_http as expect  # noqa: E402

ADDR_A, ADDR_B = "127.0.0.21", "127.0.0.22"
VERBOSE = False
T = dns.rdatatype

ADMIN, READER = "admin-5e81c0", "reader-93ab4f"
PERMS_ALL = ["zone:read", "zone:refresh", "dnssec:read", "dnssec:enable", "dnssec:disable", "dnssec:rotate",
             "dnssec:peer-keys"]

MS, MS2, PLAIN = "ms.test.", "ms2.test.", "plain.test."
SOA_TTL = 4       # = the DNSKEY TTL
MAX_TTL = 8
PROP = 1          # propagation_delay
PEER_DELAY = 2    # peer_publish_delay
DS_TTL = 1        # parent_ds_ttl
ALG = 13


# --------------------------------------------------------------- queries ----
def ask(addr, port, name, rdtype, **kw):
    """harness.ask with the server's address first: the providers listen on
    their own addresses."""
    return harness.ask(port, name, rdtype, addr=addr, **kw)


def kid(rd):
    """A DNSKEY's identity (flags, protocol, algorithm, key)."""
    return rd.to_digestable()


def ktag(rd):
    return dns.dnssec.key_id(rd)


def served_dnskey(srv, zone):
    """The DNSKEY RRset `srv` serves for `zone` (None: none, or no answer)."""
    s = rrsets(ask(srv.addr, srv.port, zone, "DNSKEY"), "answer", T.DNSKEY)
    return s[0] if s else None


def ids_of(rrset):
    return set() if rrset is None else {kid(rd) for rd in rrset}


def b64(rd):
    return base64.b64encode(rd.key).decode()


def dnskey_text(zone, rd, ttl=SOA_TTL):
    """Presentation format with the key in one piece."""
    return f"{zone} {ttl} IN DNSKEY {rd.flags} {rd.protocol} {rd.algorithm} {b64(rd)}"


def parse_dnskey_text(text):
    """(owner Name, rdata) of a presentation DNSKEY record."""
    tok = text.split()
    i = [t.upper() for t in tok].index("DNSKEY")
    return N(tok[0]), dns.rdata.from_text("IN", "DNSKEY", " ".join(tok[i + 1:]))


def ds_of(zone, rd):
    return dns.dnssec.make_ds(zone, rd, "SHA256")


def ds_key(tag, alg, dt, digest):
    return (int(tag), int(alg), int(dt), digest.upper())


def ds_rd_key(rd):
    return ds_key(rd.key_tag, rd.algorithm, rd.digest_type, rd.digest.hex())


def ds_json_key(d):
    return ds_key(d["key_tag"], d["algorithm"], d["digest_type"], d["digest"])


# ------------------------------------------------------------------- API ----
class Api(harness.Api):
    token = ADMIN

    def pk_get(self, zone, token=ADMIN):
        return self.call("GET", self.dpath(zone, "peer-keys"), token)

    def pk(self, zone):
        r = self.pk_get(zone)
        return r.json if r.status == 200 and isinstance(r.json, dict) else None

    def pk_post(self, zone, body=None, raw=None, token=ADMIN):
        return self.call("POST", self.dpath(zone, "peer-keys"), token, body=body, raw=raw)

    def pk_delete(self, zone, tag=None, body=None, token=ADMIN):
        path = self.dpath(zone, "peer-keys") + (f"/{tag}" if tag is not None else "")
        return self.call("DELETE", path, token, body=body)


PK_FIELDS = {"dnskey", "key_tag", "key_type", "flags", "protocol", "algorithm", "public_key"}
PK_PEER_FIELDS = PK_FIELDS | {"source", "added_at"}


def pk_entry_problems(zone, k, peer):
    """One entry of `keys` / `peer_keys` is consistent: the record parses, its
    owner is the zone, the fields are the record's."""
    if not isinstance(k, dict):
        return [f"entry is {k!r}"]
    p = []
    miss = (PK_PEER_FIELDS if peer else PK_FIELDS) - set(k)
    if miss:
        p.append(f"entry lacks {sorted(miss)}: {k}")
    try:
        owner, rd = parse_dnskey_text(k.get("dnskey", ""))
    except Exception as e:
        return p + [f"dnskey {k.get('dnskey')!r} does not parse: {e!r}"]
    if owner != N(zone):
        p.append(f"dnskey owner {owner}, want {zone}")
    want = {"key_tag": ktag(rd), "flags": rd.flags, "protocol": rd.protocol, "algorithm": rd.algorithm,
            "public_key": b64(rd), "key_type": "KSK" if rd.flags & 1 else "ZSK"}
    for f, v in want.items():
        if f in k and k[f] != v:
            if f == "public_key" and isinstance(k[f], str):
                try:
                    if base64.b64decode(k[f]) == rd.key:
                        continue
                except ValueError:
                    pass
            p.append(f"{f} {k[f]!r} but the record says {v!r}")
    if peer and k.get("source") not in ("api", "primary"):
        p.append(f"source {k.get('source')!r}")
    return p


def pk_problems(zone, body):
    if not isinstance(body, dict):
        return [f"body is not an object: {body!r}"]
    p = []
    if body.get("zone") != zone:
        p.append(f"zone {body.get('zone')!r}, want {zone!r}")
    if body.get("algorithm") != ALG:
        p.append(f"algorithm {body.get('algorithm')!r}, want {ALG}")
    for f in ("keys", "peer_keys"):
        if not isinstance(body.get(f), list):
            p.append(f"{f} is not a list")
    for k in body.get("keys") or []:
        p += pk_entry_problems(zone, k, False)
    for k in body.get("peer_keys") or []:
        p += pk_entry_problems(zone, k, True)
    return p


def pk_ids(body, field):
    """{key identity: entry} of body[field]."""
    out = {}
    for k in (body or {}).get(field) or []:
        try:
            out[kid(parse_dnskey_text(k["dnskey"])[1])] = k
        except Exception:
            pass
    return out


def pk_tags(body, field):
    return sorted(k.get("key_tag") for k in (body or {}).get(field) or [])


def pk_view(body):
    """What must stay unchanged after a refused call: keys and peer keys with their source."""
    if not isinstance(body, dict):
        return None
    return (sorted(pk_ids(body, "keys")), sorted((i, k.get("source")) for i, k in pk_ids(body, "peer_keys").items()))


# ------------------------------------------------------------ zone data ----
def sec_ds():
    return f"4711 13 2 {'AB' * 32}"


def ms_zone(serial=1):
    hosts = "".join(f"host{i:02d}  A     192.0.2.{100 + i}\n" for i in range(1, 25))
    return (f"$ORIGIN {MS}\n"
            f"$TTL {MAX_TTL}\n"
            f"@        {SOA_TTL} SOA ns1 hostmaster {serial} 3600 600 86400 {SOA_TTL}\n"
            f"@        6 NS    ns1\n"
            f"@        6 NS    ns2\n"
            f"@        A     192.0.2.1\n"
            f"@        MX    10 mail\n"
            f'@        5 TXT   "apex of {MS}"\n'
            f"ns1      A     {ADDR_A}\n"
            f"ns2      A     {ADDR_B}\n"
            f"mail     A     192.0.2.25\n"
            f"www      A     192.0.2.10\n"
            f"www      AAAA  2001:db8::10\n"
            f'www      5 TXT   "www"\n'
            f"alias    CNAME www\n"
            f"ftp      6 CNAME mail\n"
            f'*.wild   TXT   "wildcard"\n'
            f"*.wild   A     192.0.2.77\n"
            f'a.b.c    TXT   "below two empty non-terminals"\n'
            f"_sip._tcp SRV  0 5 5060 www\n"
            f"sec      NS    ns.sec\n"
            f"sec      DS    {sec_ds()}\n"
            f"ns.sec   A     192.0.2.53\n"
            f"insec    NS    ns.insec\n"
            f"ns.insec A     192.0.2.54\n"
            + hosts)


class ThirdProvider:
    """A third provider's KSK and ZSK for ms2.test. (its primary data)."""

    def __init__(self):
        self.ksk = dns.dnssec.make_dnskey(ec.generate_private_key(ec.SECP256R1()).public_key(), ALG, flags=257)
        self.zsk = dns.dnssec.make_dnskey(ec.generate_private_key(ec.SECP256R1()).public_key(), ALG, flags=256)


def ms2_zone(third, serial, with_keys):
    text = (f"$ORIGIN {MS2}\n"
            f"$TTL 6\n"
            f"@        {SOA_TTL} SOA ns1 hostmaster {serial} 3600 600 86400 {SOA_TTL}\n"
            f"@        NS    ns1\n"
            f"ns1      A     {ADDR_A}\n"
            f"www      A     192.0.2.20\n"
            f'@        TXT   "serial {serial}"\n')
    if with_keys:
        text += f"@        {SOA_TTL} DNSKEY {third.ksk.flags} 3 {ALG} {b64(third.ksk)}\n"
        text += f"@        {SOA_TTL} DNSKEY {third.zsk.flags} 3 {ALG} {b64(third.zsk)}\n"
    return text


# --------------------------------------------------------------- servers ----
class Knot:
    def __init__(self, workdir, third):
        self.dir = os.path.join(workdir, "knot")
        os.makedirs(os.path.join(self.dir, "db"))
        self.port = free_port()
        self.conf = os.path.join(self.dir, "knot.conf")
        self.log = LogFile(os.path.join(self.dir, "knot.log"))
        self.third = third
        self.ms2_serial = 1
        self.proc = None

    def file(self, z):
        return os.path.join(self.dir, z.rstrip(".") + ".zone")

    def start(self, sats):
        with open(self.file(MS), "w") as f:
            f.write(ms_zone())
        with open(self.file(MS2), "w") as f:
            f.write(ms2_zone(self.third, 1, True))
        remotes = "\n".join(f"  - id: sat-{s.name}\n    address: {s.addr}@{s.port}" for s in sats)
        c = [f"server:\n    rundir: {self.dir}\n    listen: {LOOP}@{self.port}\n    background-workers: 1",
             f"log:\n  - target: {self.log.path}\n    any: info",
             f"database:\n    storage: {self.dir}/db",
             f"remote:\n{remotes}",
             "acl:\n  - id: xfr\n    address: 127.0.0.0/8\n    action: transfer",
             "template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: difference\n"
             "    journal-content: changes\n    semantic-checks: off\n    dnssec-signing: off\n"
             f"    notify: [{', '.join('sat-' + s.name for s in sats)}]\n    acl: xfr",
             "zone:",
             f"  - domain: {MS}\n    file: {self.file(MS)}",
             f"  - domain: {MS2}\n    file: {self.file(MS2)}"]
        with open(self.conf, "w") as f:
            f.write("\n".join(c) + "\n")
        self.proc = spawn(["knotd", "-c", self.conf], os.path.join(self.dir, "knotd.out"))
        for z in (MS, MS2):
            if not wait_until(lambda: self.serial(z) == 1, 15):
                raise HarnessError(f"knotd does not serve {z}: {self.log.tail(20)}"
                                   f"{LogFile(os.path.join(self.dir, 'knotd.out')).tail(10)}")

    def serial(self, z):
        r = ask(LOOP, self.port, z, "SOA", do=False)
        s = rrsets(r, "answer", T.SOA)
        return s[0][0].serial if s else None

    def ms2_drop_keys(self):
        self.ms2_serial += 1
        with open(self.file(MS2), "w") as f:
            f.write(ms2_zone(self.third, self.ms2_serial, False))
        r = subprocess.run(["knotc", "-c", self.conf, "-t", "10", "zone-reload", MS2], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise HarnessError(f"knotc zone-reload {MS2}: {r.stdout}{r.stderr}")
        if not wait_until(lambda: self.serial(MS2) == self.ms2_serial, 10):
            raise HarnessError(f"knotd did not load {MS2} serial {self.ms2_serial}: {self.log.tail(10)}")

    def stop(self):
        stop_proc(self.proc)


class Satellited:
    def __init__(self, name, addr, binary, workdir, knot_port):
        self.name, self.addr, self.binary = name, addr, binary
        self.dir = os.path.join(workdir, f"sat-{name}")
        os.makedirs(self.dir)
        self.port = free_port(addr)
        self.api_port = free_port(addr)
        self.api = Api(self.api_port, addr)
        self.state = os.path.join(self.dir, "state")
        self.dump = os.path.join(self.dir, "dump")
        os.makedirs(self.dump)
        self.config = os.path.join(self.dir, "satellite.toml")
        self.log = LogFile(os.path.join(self.dir, "satellited.log"))
        self.knot_port = knot_port
        self.plain = os.path.join(self.dir, "plain.test.zone")
        with open(self.plain, "w") as f:
            f.write(f"$ORIGIN {PLAIN}\n@ 30 SOA ns1 hostmaster 1 3600 600 86400 30\n@ 30 NS ns1\nns1 30 A {addr}\n")
        self.peer = None
        self.from_primary = False
        self.algorithm = ALG
        self.proc = None

    def __str__(self):
        return self.name

    def write_config(self):
        out = ["[server]", f'listen = ["{self.addr}:{self.port}"]', "threads = 1", f'state_dir = "{self.state}"', "",
               "[api]", f'listen = "{self.addr}:{self.api_port}"',
               "[[api.token]]", 'name = "admin"', f'secret = "{ADMIN}"',
               "permissions = [" + ", ".join(f'"{p}"' for p in PERMS_ALL) + "]",
               "[[api.token]]", 'name = "reader"', f'secret = "{READER}"',
               'permissions = ["zone:read", "dnssec:read"]', "",
               "[log]", 'level = "info"', ""]
        for z in (MS, MS2):
            out += ["[[zone]]", f'name = "{z}"', f'primaries = ["{LOOP}:{self.knot_port}"]',
                    'mode = "multi-signer"', f'peers = ["{self.peer.addr}:{self.peer.port}"]',
                    f"peer_keys_from_primary = {'true' if z == MS2 and self.from_primary else 'false'}",
                    "[zone.signing]", "enabled = true", f"algorithm = {self.algorithm}", 'denial = "nsec"',
                    f'propagation_delay = "{PROP}s"', f'parent_ds_ttl = "{DS_TTL}s"',
                    f'peer_publish_delay = "{PEER_DELAY}s"', 'signature_validity = "1d"',
                    'signature_refresh = "12h"', ""]
        out += ["[[zone]]", f'name = "{PLAIN}"', f'file = "{self.plain}"', ""]
        with open(self.config, "w") as f:
            f.write("\n".join(out))

    def check_config(self):
        return check_config(self.binary, self.config)

    def start(self):
        mark = self.log.mark()
        env = dict(os.environ, SATELLITE_DUMP_DIR=self.dump)
        self.proc = spawn([self.binary, "--config", self.config], self.log.path, env=env)
        ok = wait_until(lambda: ("listening on" in self.log.text(mark)
                                 and self.api.call("GET", "/healthz", None).status == 200)
                        or self.proc.poll() is not None, 20)
        if not ok or self.proc.poll() is not None:
            raise StartFailure(f"satellited {self.name} did not start: {self.log.tail(30, mark)}")
        return mark

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def hup(self, timeout=10):
        """Rewrites the config, SIGHUP; the "reloaded"/"reload refused" line or None."""
        self.write_config()
        mark = self.log.mark()
        self.proc.send_signal(signal.SIGHUP)
        return self.log.wait(r"reloaded |reload refused", since=mark, timeout=timeout)

    def stop(self):
        return stop_proc(self.proc)


class Unbound:
    def __init__(self, workdir, name, stubs, anchors):
        self.name = name
        self.dir = os.path.join(workdir, f"unbound-{name}")
        os.makedirs(self.dir)
        self.port = free_port()
        self.log = LogFile(os.path.join(self.dir, "unbound.log"))
        self.stubs = stubs      # [(addr, port)]
        self.anchors = anchors  # DS lines "ms.test. DS ..."
        self.proc = None

    def start(self):
        anchor = os.path.join(self.dir, "anchors.ds")
        with open(anchor, "w") as f:
            f.write("\n".join(self.anchors) + "\n")
        lines = unbound_conf(self.dir, self.port, self.log.path, trust_anchor_file=anchor,
                             extra=["    prefetch: no", "    serve-expired: no", "    trust-anchor-signaling: no"])
        lines += stub_zone(MS, *[f"{a}@{p}" for a, p in self.stubs])
        self.proc = spawn_unbound(self.dir, lines)

        def up():
            r = ask(LOOP, self.port, MS, "SOA", rd=True, timeout=1)
            return (r is not None and r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AD) or \
                self.proc.poll() is not None
        ok = wait_until(up, 15)
        return ok and self.proc.poll() is None

    def stop(self):
        stop_proc(self.proc)


# ------------------------------------------------------------ the cases ----
def n(rel):
    return MS if rel == "@" else f"{rel}.{MS}"


# (relative name, qtype, expected rcode, kind); kind:
#   answer     the qtype in the answer (or a CNAME chain when `cname`)
#   cname      CNAME + the target's records
#   wildcard   a wildcard expansion (+ NSEC proving qname does not exist)
#   nodata     NOERROR, nothing; NSEC at qname without qtype
#   ent        NOERROR, nothing; an NSEC covering qname whose next name is below it
#   wildnodata NOERROR, nothing; NSEC at the wildcard without qtype + NSEC covering qname
#   nxdomain   NSEC covering qname and NSEC covering the wildcard at the closest encloser
#   nods       NOERROR, no DS at a cut: NSEC at the cut with NS, without DS/SOA
#   referral   NS at a cut in authority (not AA); `insec` with the NSEC proof, `sec` with DS
CASES = [
    ("@", "SOA", "NOERROR", "answer"),
    ("@", "NS", "NOERROR", "answer"),
    ("@", "DNSKEY", "NOERROR", "answer"),
    ("@", "CDS", "NOERROR", "answer"),
    ("@", "CDNSKEY", "NOERROR", "answer"),
    ("@", "MX", "NOERROR", "answer"),
    ("@", "TXT", "NOERROR", "answer"),
    ("www", "A", "NOERROR", "answer"),
    ("www", "AAAA", "NOERROR", "answer"),
    ("host17", "A", "NOERROR", "answer"),
    ("_sip._tcp", "SRV", "NOERROR", "answer"),
    ("www", "MX", "NOERROR", "nodata"),
    ("c", "TXT", "NOERROR", "ent"),
    ("b.c", "A", "NOERROR", "ent"),
    ("_tcp", "SRV", "NOERROR", "ent"),
    ("a.b.c", "TXT", "NOERROR", "answer"),
    ("alias", "A", "NOERROR", "cname"),
    ("ftp", "A", "NOERROR", "cname"),
    ("foo.wild", "TXT", "NOERROR", "wildcard"),
    ("x.y.wild", "A", "NOERROR", "wildcard"),
    ("foo.wild", "MX", "NOERROR", "wildnodata"),
    ("*.wild", "TXT", "NOERROR", "answer"),
    ("nope", "A", "NXDOMAIN", "nxdomain"),
    ("x.y.www", "A", "NXDOMAIN", "nxdomain"),
    ("zzz", "TXT", "NXDOMAIN", "nxdomain"),
    ("sec", "DS", "NOERROR", "answer"),
    ("insec", "DS", "NOERROR", "nods"),
]
# Only asked directly (a resolver would follow the referral to 192.0.2.x).
DIRECT_ONLY = [
    ("host.insec", "A", "NOERROR", "referral"),
    ("host.sec", "A", "NOERROR", "referral"),
]


# ------------------------------------------------- 4: dnspython judging ----
def nsec_types(rd):
    return set(rd.to_text().split()[1:])


def nsecs(r):
    return [(rr.name, rd) for rr in r.authority if rr.rdtype == T.NSEC for rd in rr]


def covers(owner, nxt, name):
    """owner < name < next in canonical order (the last NSEC wraps to the apex)."""
    if owner < nxt:
        return owner < name < nxt
    return name > owner or name < nxt


def denial_problems(r, qname, qtype, kind):
    qn = N(qname)
    ns = nsecs(r)
    p = []
    if kind == "nxdomain":
        cov = [(o, rd) for o, rd in ns if covers(o, rd.next, qn)]
        if not cov:
            return [f"no NSEC covers {qn}"]
        o, rd = cov[0]
        depth = max(qn.fullcompare(o)[2], qn.fullcompare(rd.next)[2])
        ce = qn.split(depth)[1]
        wc = dns.name.Name((b"*",) + ce.labels)
        if not any(covers(o2, rd2.next, wc) for o2, rd2 in ns):
            p.append(f"no NSEC covers the wildcard {wc} (closest encloser {ce})")
    elif kind == "nodata":
        at = [rd for o, rd in ns if o == qn]
        if not at:
            p.append(f"no NSEC at {qn}")
        elif qtype in nsec_types(at[0]) or "CNAME" in nsec_types(at[0]):
            p.append(f"the NSEC at {qn} lists {qtype} or CNAME: {at[0].to_text()}")
    elif kind == "ent":
        if not any(covers(o, rd.next, qn) and rd.next.is_subdomain(qn) for o, rd in ns):
            p.append(f"no NSEC covering {qn} with a next name below it (empty non-terminal proof)")
    elif kind == "wildnodata":
        wild = [rd for o, rd in ns if o.labels[0] == b"*" and qn.is_subdomain(o.parent())]
        if not wild:
            p.append("no NSEC at the wildcard")
        elif qtype in nsec_types(wild[0]):
            p.append(f"the wildcard's NSEC lists {qtype}")
        if not any(covers(o, rd.next, qn) for o, rd in ns):
            p.append(f"no NSEC covers {qn} (the wildcard is not proven to apply)")
    elif kind == "nods":
        at = [rd for o, rd in ns if o == qn]
        if not at:
            p.append(f"no NSEC at the cut {qn}")
        else:
            t = nsec_types(at[0])
            if "NS" not in t or "DS" in t or "SOA" in t:
                p.append(f"the NSEC at the cut {qn} does not prove 'NS, no DS': {at[0].to_text()}")
    elif kind == "wildcard":
        if not any(covers(o, rd.next, qn) for o, rd in ns):
            p.append(f"wildcard answer without an NSEC covering {qn}")
    return p


def signed_problems(r, keys, zone):
    """(RRSIGs validated, problems): every RRset of answer and authority (but
    the NS of a referral) carries RRSIGs and every one validates with `keys`."""
    zn = N(zone)
    probs, n = [], 0
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
                        dns.dnssec.validate_rrsig(target[0], sig, {zn: keys})
                    except dns.dnssec.ValidationFailure as e:
                        probs.append(f"{sec}: {rr.name} RRSIG({T.to_text(rr.covers)}) by tag {sig.key_tag} does not "
                                     f"validate with the other provider's DNSKEY tags {sorted(tags_of(keys))} ({e})")
                continue
            if sec == "authority" and rr.rdtype == T.NS and rr.name != zn:
                continue  # the NS RRset of a referral is not signed (RFC 4035 §2.2)
            if not any(x.rdtype == T.RRSIG and x.covers == rr.rdtype and x.name == rr.name for x in rrs):
                probs.append(f"{sec}: {rr.name} {T.to_text(rr.rdtype)} has no RRSIG")
    return n, probs


def case_problems(r, rel, qtype, rcode, kind):
    """The response has the expected shape (before any signature check)."""
    qname = n(rel)
    if r is None:
        return ["no response"]
    p = []
    if dns.rcode.to_text(r.rcode()) != rcode:
        p.append(f"rcode {dns.rcode.to_text(r.rcode())}, want {rcode}")
    qt = T.from_text(qtype)
    ans = rrsets(r, "answer", qt)
    if kind in ("answer", "wildcard"):
        if not ans:
            p.append(f"no {qtype} in the answer")
        if kind == "wildcard":
            sigs = [s for rr in rrsets(r, "answer", T.RRSIG, qt) for s in rr]
            if sigs and all(s.labels >= len(N(qname).labels) - 1 for s in sigs):
                p.append("the RRSIG labels field does not show a wildcard expansion")
    elif kind == "cname":
        if not rrsets(r, "answer", T.CNAME) or not ans:
            p.append(f"want CNAME + {qtype} in the answer")
    elif kind == "referral":
        if r.flags & dns.flags.AA:
            p.append("AA set on a referral")
        if not rrsets(r, "authority", T.NS):
            p.append("no NS in the authority section")
        if rel == "host.sec" and not rrsets(r, "authority", T.DS):
            p.append("no DS in the secure referral")
        if rel == "host.insec":
            p += denial_problems(r, n("insec"), "DS", "nods")
    else:
        if ans:
            p.append(f"{qtype} in the answer")
        p += denial_problems(r, qname, qtype, kind)
    return p


def dnskey_chain_problems(r_keys, anchors):
    """The DNSKEY response validates from the trust anchors (a KSK whose DS is
    anchored signs the RRset)."""
    dk = rrsets(r_keys, "answer", T.DNSKEY)
    if not dk:
        return None, ["no DNSKEY RRset"]
    dk = dk[0]
    sigs = [s for rr in rrsets(r_keys, "answer", T.RRSIG, T.DNSKEY) for s in rr]
    ok = False
    why = []
    for s in sigs:
        for rd in dk:
            if ktag(rd) != s.key_tag or rd.algorithm != s.algorithm:
                continue
            if ds_rd_key(ds_of(MS, rd)) not in anchors:
                why.append(f"RRSIG by {s.key_tag}: that key's DS is not a trust anchor")
                continue
            try:
                dns.dnssec.validate_rrsig(dk, s, {N(MS): dk})
                ok = True
            except dns.dnssec.ValidationFailure as e:
                why.append(f"RRSIG by {s.key_tag}: {e}")
    return dk, [] if ok else ["DNSKEY RRset not validated from the trust anchors: " + ("; ".join(why) or "no RRSIG")]


def cross(keys_srv, ans_srv, anchors, cases, extra_nx=None):
    """keys_srv's DNSKEY RRset (validated from the anchors) judges the
    responses of ans_srv: [(case label, [problems])], RRSIGs validated."""
    out = []
    r_keys = ask(keys_srv.addr, keys_srv.port, MS, "DNSKEY")
    if r_keys is None:
        return [("DNSKEY", [f"no DNSKEY response from {keys_srv}"])], 0
    dk, p = dnskey_chain_problems(r_keys, anchors)
    out.append((f"{keys_srv} DNSKEY from the anchors", p))
    if dk is None:
        return out, 0
    total = 0
    all_cases = list(cases) + ([(extra_nx, "A", "NXDOMAIN", "nxdomain")] if extra_nx else [])
    for rel, qtype, rcode, kind in all_cases:
        r = ask(ans_srv.addr, ans_srv.port, n(rel), qtype)
        p = case_problems(r, rel, qtype, rcode, kind)
        if r is not None:
            k, sp = signed_problems(r, dk, MS)
            total += k
            p += sp
            if k == 0:
                p.append("no RRSIG at all in the response")
            if p:
                p.append("response:" + show(r, 1500))
        out.append((f"{n(rel)} {qtype} ({kind})", p))
    return out, total


def step_cross(label, sats, anchors, cases=None):
    a, b = sats
    for keys_srv, ans_srv in ((a, b), (b, a)):
        res, total = cross(keys_srv, ans_srv, anchors, cases or (CASES + DIRECT_ONLY))
        for what, p in res:
            check(f"{label} {keys_srv}'s DNSKEY + {ans_srv}'s answer: {what}", not p, "; ".join(p))
        info(f"{keys_srv}-keys + {ans_srv}-answers: {total} RRSIGs validated")


# --------------------------------------------------- 3: unbound judging ----
UB_CASES = [c for c in CASES]


def ub_problems(ub, rel, qtype, rcode, kind):
    r = ask_resolver(ub.port, n(rel), qtype, timeout=4)
    if r is None:
        return ["no answer from unbound"], None
    p = []
    got = dns.rcode.to_text(r.rcode())
    if got != rcode:
        p.append(f"rcode {got}")
    if not r.flags & dns.flags.AD:
        p.append("AD not set")
    qt = T.from_text(qtype)
    if kind in ("answer", "wildcard", "cname") and not rrsets(r, "answer", qt):
        p.append(f"no {qtype} in the answer")
    if kind == "cname" and not rrsets(r, "answer", T.CNAME):
        p.append("no CNAME in the answer")
    if kind in ("nodata", "ent", "wildnodata", "nods", "nxdomain") and rrsets(r, "answer", qt):
        p.append(f"{qtype} in the answer")
    return p, r


def step_unbound(label, ubs, tag):
    for ub in ubs:
        mark = ub.log.mark()
        cases = UB_CASES + [(f"nx-{tag}-{ub.name}-{os.getpid()}", "A", "NXDOMAIN", "nxdomain")]
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
            results = list(ex.map(lambda c: ub_problems(ub, *c), cases))
        for (rel, qtype, rcode, kind), (p, r) in zip(cases, results):
            check(f"{label} unbound-{ub.name} {n(rel)} {qtype} ({kind}): {rcode}, AD", not p,
                  ", ".join(p) + (show(r, 1500) if p else ""))
        bogus = validation_failures(ub.log, mark)
        check(f"{label} unbound-{ub.name} logged no validation failure", not bogus,
              "\n      " + "\n      ".join(bogus[:10]))


# ------------------------------------------------------- the roll loop ----
class JudgeLoop(threading.Thread):
    """About once a second: every case through each unbound (plus a fresh
    NXDOMAIN name), and the dnspython cross-check in both directions. Bounded
    by `max_rounds` and `max_seconds`."""

    def __init__(self, sats, ubs, anchors_fn, max_rounds=200, max_seconds=180):
        super().__init__(daemon=True)
        self.sats, self.ubs, self.anchors_fn = sats, ubs, anchors_fn
        self.max_rounds, self.max_seconds = max_rounds, max_seconds
        self.stopping = False
        self.rounds = []  # dicts: t, phase, ub: {name: [(case, problems)]}, cross: {dir: [(case, problems)]}, sigs
        self.phase = "start"
        self.ub_marks = {ub.name: ub.log.mark() for ub in ubs}

    def run(self):
        t_end = time.monotonic() + self.max_seconds
        i = 0
        while not self.stopping and i < self.max_rounds and time.monotonic() < t_end:
            t0 = time.monotonic()
            i += 1
            try:
                self.round(i)
            except Exception:
                self.rounds.append(dict(t=time.time(), phase=self.phase, ub={}, cross={"loop": [
                    ("exception", [traceback.format_exc()])]}, sigs=0))
            time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))

    def round(self, i):
        rec = dict(t=time.time(), phase=self.phase, ub={}, cross={}, sigs=0)
        for ub in self.ubs:
            res = []
            for c in UB_CASES + [(f"nx-r{i}-{ub.name}-{os.getpid()}", "A", "NXDOMAIN", "nxdomain")]:
                p, r = ub_problems(ub, *c)
                if p:
                    p = p + [show(r, 800)]
                res.append((f"{n(c[0])} {c[1]}", p))
            rec["ub"][ub.name] = res
        a, b = self.sats
        anchors = self.anchors_fn()
        for keys_srv, ans_srv in ((a, b), (b, a)):
            res, k = cross(keys_srv, ans_srv, anchors, CASES + DIRECT_ONLY, extra_nx=f"nx-r{i}-direct")
            rec["cross"][f"{keys_srv}-keys+{ans_srv}-answers"] = res
            rec["sigs"] += k
        self.rounds.append(rec)

    def judge(self, label):
        rounds = self.rounds
        n_sigs = sum(r["sigs"] for r in rounds)
        info(f"judge loop: {len(rounds)} rounds, {n_sigs} RRSIGs validated across providers")
        phases = []
        for r in rounds:
            if not phases or phases[-1][0] != r["phase"]:
                phases.append([r["phase"], 0])
            phases[-1][1] += 1
        info("rounds per phase: " + "; ".join(f"{p}: {c}" for p, c in phases))
        check(f"{label} the judge loop ran (>= 20 rounds)", len(rounds) >= 20, f"{len(rounds)} rounds")
        for ub in self.ubs:
            bad = [(r["phase"], case, p) for r in rounds for case, p in r["ub"].get(ub.name, []) if p]
            nq = sum(len(r["ub"].get(ub.name, [])) for r in rounds)
            sf = sum(1 for _, _, p in bad if any("SERVFAIL" in x for x in p))
            check(f"{label} unbound-{ub.name}: every answer as expected with AD, no SERVFAIL, in every round "
                  f"({nq} queries)", nq > 0 and not bad,
                  f"{len(bad)} bad ({sf} SERVFAIL): " + " | ".join(f"[{ph}] {c}: {'; '.join(p)[:900]}"
                                                                   for ph, c, p in bad[:4]))
            lines = ub.log.lines(lambda l: "validation failure" in l or "bogus" in l.lower(),
                                 self.ub_marks[ub.name])
            check(f"{label} unbound-{ub.name} logged no validation failure during the loop", not lines,
                  "\n      " + "\n      ".join(lines[:10]))
        dirs = sorted({d for r in rounds for d in r["cross"]})
        for d in dirs:
            bad = [(r["phase"], case, p) for r in rounds for case, p in r["cross"].get(d, []) if p]
            nr = sum(1 for r in rounds if d in r["cross"])
            check(f"{label} {d}: every RRSIG validates and every denial proof is complete in every round "
                  f"({nr} rounds)", nr > 0 and not bad,
                  f"{len(bad)} bad: " + " | ".join(f"[{ph}] {c}: {'; '.join(p)[:1200]}" for ph, c, p in bad[:3]))


# ================================================================ steps ====
def wait_served(srv, zone, want_ids, timeout=10):
    return wait_until(lambda: ids_of(served_dnskey(srv, zone)) == want_ids, timeout)


def step_exchange(a, b):
    """2: the key exchange; returns the union DS set (list of GET ds_records entries)."""
    own = {}
    for s in (a, b):
        r = s.api.pk_get(MS)
        expect(f"2 [{s}] GET peer-keys: 200", r, 200)
        body = r.json
        p = pk_problems(MS, body)
        check(f"2 [{s}] GET peer-keys body: zone, algorithm, keys/peer_keys entries consistent with their records",
              not p, "; ".join(p) + f"; {r!r}")
        g = s.api.status(MS)
        want = sorted(k.get("key_tag") for k in keys_of(g))
        check(f"2 [{s}] GET peer-keys: `keys` = its own KSK + ZSK ({want}), no peer keys yet",
              pk_tags(body, "keys") == want and len(want) == 2 and pk_tags(body, "peer_keys") == [],
              f"keys {pk_tags(body, 'keys')}, peer_keys {pk_tags(body, 'peer_keys')}; {key_summary(g)}")
        dk = served_dnskey(s, MS)
        check(f"2 [{s}] `keys` = its served DNSKEY RRset", dk is not None and ids_of(dk) == set(pk_ids(body, "keys")),
              f"served {sorted(tags_of(dk))}")
        own[s.name] = (r.text, body)
    for src, dst in ((a, b), (b, a)):
        text, body = own[src.name]
        r = dst.api.pk_post(MS, raw=text)
        expect(f"2 POST {src}'s GET peer-keys body, as it is, to {dst}: 200", r, 200)
        check(f"2 POST {src}'s body to {dst}: added 2", isinstance(r.json, dict) and r.json.get("added") == 2,
              repr(r))
    want = set(pk_ids(own["a"][1], "keys")) | set(pk_ids(own["b"][1], "keys"))
    for s in (a, b):
        ok = wait_served(s, MS, want, 10)
        check(f"2 [{s}] serves a DNSKEY RRset of 4 keys: both KSKs and both ZSKs", ok and len(want) == 4,
              f"served {sorted(tags_of(served_dnskey(s, MS)))}, want {sorted(ktag(parse_dnskey_text(k['dnskey'])[1]) for k in own['a'][1]['keys'] + own['b'][1]['keys'])}")
        body = s.api.pk(MS)
        other = b if s is a else a
        check(f"2 [{s}] GET peer-keys: peer_keys = {other}'s two keys, source api",
              body is not None and set(pk_ids(body, "peer_keys")) == set(pk_ids(own[other.name][1], "keys"))
              and all(k.get("source") == "api" for k in body["peer_keys"]),
              f"{body and body.get('peer_keys')}")
    da, db = served_dnskey(a, MS), served_dnskey(b, MS)
    check("2 A and B serve the same DNSKEY RRset", da is not None and ids_of(da) == ids_of(db),
          f"A {sorted(tags_of(da))}, B {sorted(tags_of(db))}")
    ksk = {s.name: [parse_dnskey_text(k["dnskey"])[1] for k in own[s.name][1]["keys"] if k.get("flags") == 257]
           for s in (a, b)}
    zsk = {s.name: [parse_dnskey_text(k["dnskey"])[1] for k in own[s.name][1]["keys"] if k.get("flags") == 256]
           for s in (a, b)}
    for s in (a, b):
        r = ask(s.addr, s.port, MS, "DNSKEY")
        st = sig_tags(r, T.DNSKEY)
        check(f"2 [{s}] DNSKEY RRset signed by its own KSK only ({[ktag(k) for k in ksk[s.name]]})",
              st == {ktag(k) for k in ksk[s.name]}, f"RRSIG tags {sorted(st)}")
        w = wait_until(lambda: (lambda r: r if sig_tags(r, T.A) else None)(ask(s.addr, s.port, n("www"), "A")), 10)
        check(f"2 [{s}] www A signed by its own ZSK only ({[ktag(k) for k in zsk[s.name]]})",
              sig_tags(w, T.A) == {ktag(k) for k in zsk[s.name]}, show(w))
    all_ksk = ksk["a"] + ksk["b"]
    want_cds = {ds_rd_key(ds_of(MS, k)) for k in all_ksk}
    want_cdnskey = {kid(k) for k in all_ksk}
    cds, cdnskey = {}, {}
    for s in (a, b):
        def got():
            c = rrsets(ask(s.addr, s.port, MS, "CDS"), "answer", T.CDS)
            k = rrsets(ask(s.addr, s.port, MS, "CDNSKEY"), "answer", T.CDNSKEY)
            cs = {ds_rd_key(rd) for rd in c[0]} if c else set()
            ks = {kid(rd) for rd in k[0]} if k else set()
            return (cs, ks) if (cs, ks) == (want_cds, want_cdnskey) else None
        wait_until(got, 5)
        c = rrsets(ask(s.addr, s.port, MS, "CDS"), "answer", T.CDS)
        k = rrsets(ask(s.addr, s.port, MS, "CDNSKEY"), "answer", T.CDNSKEY)
        cds[s.name] = {ds_rd_key(rd) for rd in c[0]} if c else set()
        cdnskey[s.name] = {kid(rd) for rd in k[0]} if k else set()
        check(f"2 [{s}] CDS = the SHA-256 DS of both KSKs", cds[s.name] == want_cds,
              f"CDS {sorted(cds[s.name])}, want {sorted(want_cds)}")
        check(f"2 [{s}] CDNSKEY = both KSKs", cdnskey[s.name] == want_cdnskey,
              f"CDNSKEY tags {sorted(ktag(rd) for rr in k for rd in rr)}")
    check("2 A and B serve identical CDS and CDNSKEY sets",
          cds["a"] == cds["b"] and cdnskey["a"] == cdnskey["b"] and cds["a"], f"{cds} {cdnskey}")
    ds = {}
    for s in (a, b):
        g = s.api.status(MS)
        ds[s.name] = (g or {}).get("ds_records") or []
        check(f"2 [{s}] GET dnssec ds_records = the DS of both KSKs = the CDS set",
              {ds_json_key(d) for d in ds[s.name]} == want_cds, f"{ds[s.name]}")
    check("2 A's and B's GET dnssec ds_records agree",
          {ds_json_key(d) for d in ds["a"]} == {ds_json_key(d) for d in ds["b"]}, f"A {ds['a']}, B {ds['b']}")
    union = ds["a"]
    for s in (a, b):
        r = s.api.post(MS, "confirm-ds-published", ds_body(union))
        expect(f"2 [{s}] confirm-ds-published with the union DS set: 200", r, 200)
        g = wait_until(lambda: (lambda g: g if g and g.get("status") == "active"
                                and all(k.get("state") == "active" for k in keys_of(g)) else None)(s.api.status(MS)),
                       DS_TTL + PROP + 10)
        check(f"2 [{s}] status active, its KSK and ZSK active", g, key_summary(s.api.status(MS)))
    return union, want_cds


def fresh_key(flags=256, alg=ALG):
    if alg == 13:
        pub = ec.generate_private_key(ec.SECP256R1()).public_key()
    elif alg == 14:
        pub = ec.generate_private_key(ec.SECP384R1()).public_key()
    else:
        pub = rsa.generate_private_key(65537, 2048 if alg == 8 else 1024).public_key()
    return dns.dnssec.make_dnskey(pub, alg, flags=flags)


def step_refusals(a, b):
    """6: refused peer keys; the other body forms; permissions."""
    k13 = fresh_key()
    bad = [
        ("algorithm 8 (RSASHA256, not the zone's 13)", dnskey_text(MS, fresh_key(256, 8))),
        ("algorithm 14 (not the zone's 13)", dnskey_text(MS, fresh_key(256, 14))),
        ("algorithm 5 (RSASHA1, unsupported)", dnskey_text(MS, fresh_key(256, 5))),
        ("wrong owner (other.test.)", dnskey_text("other.test.", k13)),
        ("wrong owner (a name below the apex)", dnskey_text(f"sub.{MS}", k13)),
        ("flags 0", f"{MS} {SOA_TTL} IN DNSKEY 0 3 {ALG} {b64(k13)}"),
        ("flags 385 (revoked KSK)", f"{MS} {SOA_TTL} IN DNSKEY 385 3 {ALG} {b64(k13)}"),
        ("flags 1 (SEP without the zone key bit)", f"{MS} {SOA_TTL} IN DNSKEY 1 3 {ALG} {b64(k13)}"),
        ("protocol 2", f"{MS} {SOA_TTL} IN DNSKEY 256 2 {ALG} {b64(k13)}"),
        ("a malformed public key (3 bytes for P-256)", f"{MS} {SOA_TTL} IN DNSKEY 256 3 {ALG} AAAA"),
        ("not a DNSKEY record", f"{MS} {SOA_TTL} IN A 192.0.2.1"),
    ]
    for s in (b, a):
        before = s.api.pk(MS)
        dk_before = ids_of(served_dnskey(s, MS))
        cases = [(what, {"dnskey": text}, None) for what, text in bad] if s is b else []
        own = s.api.pk_get(MS)
        cases.append(("its own GET body (its own keys)", None, own.text))
        for k in (own.json or {}).get("keys") or []:
            cases.append((f"its own {k.get('key_type')} {k.get('key_tag')} as {{\"dnskey\"}}",
                          {"dnskey": k.get("dnskey")}, None))
        if s is b:
            cases += [
                ("a batch: one good new key + one of algorithm 8", {"keys": [dnskey_text(MS, k13),
                                                                              bad[0][1]]}, None),
                ("a batch: one good new key + one of another zone", {"keys": [dnskey_text(MS, k13),
                                                                               bad[3][1]]}, None),
                ("a body that is not JSON", None, "{not json"),
                ("an empty object", {}, None),
                ("keys that is not a list", {"keys": "x"}, None),
            ]
        for what, body, raw in cases:
            r = s.api.pk_post(MS, body=body, raw=raw)
            expect(f"6 [{s}] POST peer-keys with {what}: 400", r, 400)
        after = s.api.pk(MS)
        check(f"6 [{s}] after the refused POSTs GET peer-keys is unchanged", before is not None
              and pk_view(before) == pk_view(after), f"before {pk_tags(before, 'peer_keys')}, "
              f"after {pk_tags(after, 'peer_keys')}")
        check(f"6 [{s}] after the refused POSTs the served DNSKEY RRset is unchanged",
              ids_of(served_dnskey(s, MS)) == dk_before, f"{sorted(tags_of(served_dnskey(s, MS)))}")

    # re-posting the peer's body: nothing new
    before = b.api.pk(MS)
    r = b.api.pk_post(MS, raw=a.api.pk_get(MS).text)
    expect("6 [b] POST A's body again: 200", r, 200)
    check("6 [b] re-posting A's body adds nothing (added 0, GET unchanged)",
          isinstance(r.json, dict) and r.json.get("added") == 0 and pk_view(b.api.pk(MS)) == pk_view(before),
          repr(r))

    # permissions, unknown zones
    r = b.api.pk_get(MS, token=READER)
    expect("6 [b] GET peer-keys with the dnssec:read token: 200", r, 200)
    for method, call in (("POST", lambda t: b.api.pk_post(MS, body={"dnskey": dnskey_text(MS, k13)}, token=t)),
                         ("DELETE", lambda t: b.api.pk_delete(MS, tag=ktag(k13), token=t))):
        expect(f"6 [b] {method} peer-keys with the dnssec:read token: 403", call(READER), 403)
        expect(f"6 [b] {method} peer-keys without a token: 401", call(None), 401)
    expect("6 [b] GET peer-keys without a token: 401", b.api.pk_get(MS, token=None), 401)
    expect(f"6 [b] GET peer-keys of the presigned zone {PLAIN}: 404", b.api.pk_get(PLAIN), 404)
    expect(f"6 [b] POST peer-keys to the presigned zone {PLAIN}: 404",
           b.api.pk_post(PLAIN, body={"dnskey": dnskey_text(PLAIN, k13)}), 404)
    expect("6 [b] GET peer-keys of an unknown zone: 404", b.api.pk_get("nosuch.test."), 404)
    check("6 [b] the refused calls added nothing", pk_view(b.api.pk(MS)) == pk_view(before), "")

    # the other body forms
    base_ids = ids_of(served_dnskey(b, MS))
    base_cdnskey = {kid(rd) for rr in rrsets(ask(b.addr, b.port, MS, "CDNSKEY"), "answer", T.CDNSKEY) for rd in rr}
    r = b.api.pk_post(MS, body={"dnskey": dnskey_text(MS, k13)})
    expect('6 [b] POST {"dnskey": <a new ZSK>}: 200', r, 200)
    check("6 [b] ... added 1", isinstance(r.json, dict) and r.json.get("added") == 1, repr(r))
    check("6 [b] ... the new key is served in B's DNSKEY RRset and listed with source api",
          wait_served(b, MS, base_ids | {kid(k13)}, 5) and
          (pk_ids(b.api.pk(MS), "peer_keys").get(kid(k13)) or {}).get("source") == "api",
          f"{sorted(tags_of(served_dnskey(b, MS)))}")
    r = b.api.pk_delete(MS, tag=ktag(k13))
    expect(f"6 [b] DELETE peer-keys/{ktag(k13)}: 200", r, 200)
    check("6 [b] ... the key leaves B's DNSKEY RRset and GET peer-keys",
          wait_served(b, MS, base_ids, 5) and kid(k13) not in pk_ids(b.api.pk(MS), "peer_keys"),
          f"{sorted(tags_of(served_dnskey(b, MS)))}")
    expect(f"6 [b] DELETE peer-keys/{ktag(k13)} again: 404", b.api.pk_delete(MS, tag=ktag(k13)), 404)
    pk_ksk, pk_zsk = fresh_key(257), fresh_key(256)
    r = b.api.pk_post(MS, body={"keys": [dnskey_text(MS, pk_ksk), dnskey_text(MS, pk_zsk)]})
    expect('6 [b] POST {"keys": [<a new KSK>, <a new ZSK>]}: 200', r, 200)
    check("6 [b] ... added 2", isinstance(r.json, dict) and r.json.get("added") == 2, repr(r))
    check("6 [b] ... both served in B's DNSKEY RRset", wait_served(b, MS, base_ids | {kid(pk_ksk), kid(pk_zsk)}, 5),
          f"{sorted(tags_of(served_dnskey(b, MS)))}")
    got = wait_until(lambda: {kid(rd) for rr in rrsets(ask(b.addr, b.port, MS, "CDNSKEY"), "answer", T.CDNSKEY)
                              for rd in rr} == base_cdnskey | {kid(pk_ksk)}, 5)
    cds = {ds_rd_key(rd) for rr in rrsets(ask(b.addr, b.port, MS, "CDS"), "answer", T.CDS) for rd in rr}
    check("6 [b] ... the peer KSK (not the peer ZSK) joins CDNSKEY and CDS", got and
          ds_rd_key(ds_of(MS, pk_ksk)) in cds and ds_rd_key(ds_of(MS, pk_zsk)) not in cds,
          f"CDS tags {sorted(c[0] for c in cds)}")
    g = b.api.status(MS)
    check("6 [b] ... and GET dnssec ds_records", ds_rd_key(ds_of(MS, pk_ksk)) in
          {ds_json_key(d) for d in (g or {}).get("ds_records") or []}, f"{(g or {}).get('ds_records')}")
    for k in (pk_ksk, pk_zsk):
        r = b.api.pk_delete(MS, body={"dnskey": dnskey_text(MS, k)})
        expect(f'6 [b] DELETE peer-keys with body {{"dnskey": <{ktag(k)}>}}: 200', r, 200)
    check("6 [b] ... both gone from B's DNSKEY RRset, CDNSKEY back to the two KSKs",
          wait_served(b, MS, base_ids, 5) and wait_until(
              lambda: {kid(rd) for rr in rrsets(ask(b.addr, b.port, MS, "CDNSKEY"), "answer", T.CDNSKEY)
                       for rd in rr} == base_cdnskey, 5),
          f"{sorted(tags_of(served_dnskey(b, MS)))}")
    r = b.api.pk_delete(MS, body={"dnskey": dnskey_text(MS, pk_ksk)})
    expect("6 [b] DELETE with the body of a key no longer there: 404", r, 404)
    check("6 [b] GET peer-keys back to A's two keys", pk_view(b.api.pk(MS)) == pk_view(before),
          f"{pk_tags(b.api.pk(MS), 'peer_keys')}")


def www_signers(s):
    return sig_tags(ask(s.addr, s.port, n("www"), "A"), T.A)


def step_roll(a, b, loop):
    """5: a ZSK roll on A gated on B; returns True when it completed."""
    g0 = a.api.status(MS)
    old = [k["key_tag"] for k in (g0 or {}).get("zsk") or []]
    if not check("5 [a] before the roll: one active ZSK", len(old) == 1, key_summary(g0)):
        return False
    old = old[0]
    dk = served_dnskey(a, MS)
    dk_ttl = dk.ttl if dk is not None else SOA_TTL
    check(f"5 [a] the DNSKEY TTL is the SOA TTL ({SOA_TTL})", dk_ttl == SOA_TTL, f"DNSKEY TTL {dk_ttl}")
    delays = dk_ttl + PROP + PEER_DELAY
    loop.phase = "rotate-zsk on A"
    t_rot = time.time()
    r = a.api.post(MS, "rotate-zsk")
    expect("5 [a] rotate-zsk: 200", r, 200)
    new = ((r.json or {}).get("new_key") or {}).get("key_tag") if isinstance(r.json, dict) else None
    if not check("5 [a] rotate-zsk reply names a new ZSK", new is not None and new != old, repr(r)):
        return False
    info(f"[{time.strftime('%H:%M:%S')}] rotate-zsk on A: old ZSK {old}, new ZSK {new}")
    g = a.api.status(MS)
    check(f"5 [a] rotating_zsk; new ZSK {new} state publish; old {old} active",
          g and g.get("status") == "rotating_zsk" and (key_by_tag(g, new) or {}).get("state") == "publish"
          and (key_by_tag(g, old) or {}).get("state") == "active", key_summary(g))
    pk = a.api.pk(MS)
    check(f"5 [a] GET peer-keys lists the new ZSK {new} in `keys` at once", new in pk_tags(pk, "keys"),
          f"keys {pk_tags(pk, 'keys')}")
    check(f"5 [a] A's DNSKEY RRset has the new ZSK {new} at once",
          wait_until(lambda: new in tags_of(served_dnskey(a, MS)), 3), f"{sorted(tags_of(served_dnskey(a, MS)))}")
    check("5 [b] B's DNSKEY RRset does not have it", new not in tags_of(served_dnskey(b, MS)),
          f"{sorted(tags_of(served_dnskey(b, MS)))}")

    # hold: B lacks the key; A must not activate it
    loop.phase = "new ZSK published on A only"
    hold = 3 * delays
    info(f"holding {hold} s (3 x (DNSKEY TTL {dk_ttl} + propagation {PROP} + peer_publish_delay {PEER_DELAY}))")
    states, signed_new, t_end = [], [], time.monotonic() + hold
    while time.monotonic() < t_end:
        g = a.api.status(MS)
        st = (key_by_tag(g, new) or {}).get("state")
        if not states or states[-1][1] != st:
            states.append((round(time.time() - t_rot, 1), st))
        sg = www_signers(a)
        if new in sg:
            signed_new.append(round(time.time() - t_rot, 1))
        time.sleep(0.5)
    check(f"5 [a] for {hold} s while B lacks the new ZSK it never becomes active",
          not any(s == "active" for _, s in states), f"states seen (s after rotate): {states}")
    check(f"5 [a] ... and signs nothing (www A still signed by {old} only)", not signed_new and www_signers(a) == {old},
          f"signed by the new ZSK at {signed_new[:5]} s; now {sorted(www_signers(a))}")
    g = a.api.status(MS)
    check("5 [a] ... its state is still publish (status rotating_zsk)",
          (key_by_tag(g, new) or {}).get("state") == "publish" and g.get("status") == "rotating_zsk",
          f"{key_summary(g)}; states seen {states}")
    check(f"5 [b] B still does not serve {new}", new not in tags_of(served_dnskey(b, MS)), "")

    # sync A -> B
    loop.phase = "A's keys synced to B"
    text = a.api.pk_get(MS).text
    # A resolver that asked B for the DNSKEY RRset just now keeps that copy
    # (without the new ZSK) for its TTL, and must still validate A's answers.
    cached = served_dnskey(b, MS)
    t_sync = time.time()
    r = b.api.pk_post(MS, raw=text)
    expect("5 sync: POST A's GET peer-keys body to B: 200", r, 200)
    check("5 sync: added 1 (the new ZSK)", isinstance(r.json, dict) and r.json.get("added") == 1, repr(r))
    t_b = wait_until(lambda: time.time() if new in tags_of(served_dnskey(b, MS)) else None, 5, interval=0.05)
    check(f"5 [b] B serves A's new ZSK {new}", t_b, f"{sorted(tags_of(served_dnskey(b, MS)))}")
    info(f"[{time.strftime('%H:%M:%S')}] B serves {new} {(t_b or t_sync) - t_sync:.2f} s after the POST")

    # A activates: watch GET and the signatures (and the cached copy of B's
    # DNSKEY RRset until it expires)
    t_get = t_sig = None
    seen, stale, n_stale = [], [], 0
    cache_end = t_sync + (cached.ttl if cached is not None else 0)
    end = time.monotonic() + 60
    while time.monotonic() < end and not (t_get and t_sig and time.time() > cache_end):
        g = a.api.status(MS)
        st = (key_by_tag(g, new) or {}).get("state")
        if not seen or seen[-1][1] != st:
            seen.append((round(time.time() - t_sync, 2), st))
        if t_get is None and st == "active":
            t_get = time.time()
        if t_sig is None and new in www_signers(a):
            t_sig = time.time()
        if cached is not None and time.time() < cache_end:
            for qn, qt in ((n("www"), "A"), (n(f"nx-stale-{n_stale}"), "A")):
                t_q = time.time()
                rr = ask(a.addr, a.port, qn, qt)
                if rr is not None and t_q < cache_end:
                    n_stale += 1
                    k, sp = signed_problems(rr, cached, MS)
                    if sp:
                        stale.append(f"+{t_q - t_sync:.1f} s {qn} {qt}: {sp[0]}")
        time.sleep(0.2)
    t_act = min(t for t in (t_get, t_sig) if t) if (t_get or t_sig) else None
    loop.phase = "new ZSK active on A"
    info(f"[{time.strftime('%H:%M:%S')}] new ZSK active (GET) {fmt(t_get, t_sync)}, "
         f"signing {fmt(t_sig, t_sync)} after the sync; states {seen}")
    check(f"5 [a] once B serves {new}, A makes it active and signs with it within 60 s",
          t_get and t_sig, f"GET states after the sync {seen}; www A signed by {sorted(www_signers(a))}")
    check(f"5 [a] A signs with {new} only after B has served it for the DNSKEY TTL ({dk_ttl} s; RFC 8901: "
          f"resolvers may hold B's DNSKEY RRset without it that long)",
          t_act and t_act - t_sync >= dk_ttl - 1.05,
          f"active/signing {fmt(t_act, t_sync)} after the POST to B ({fmt(t_act, t_b)} after B served it)")
    check(f"5 a resolver holding B's DNSKEY RRset fetched just before the sync (TTL "
          f"{cached.ttl if cached is not None else '?'} s) validates A's answers until that copy expires "
          f"({n_stale} answers)", cached is not None and n_stale > 0 and not stale,
          f"{len(stale)} answers do not validate: " + " | ".join(stale[:4]))
    check(f"5 [a] new ZSK active no sooner than DNSKEY TTL + propagation + peer_publish_delay ({delays} s) "
          f"after rotate-zsk", t_act and t_act - t_rot >= delays - 1.05, f"{fmt(t_act, t_rot)}")
    if not t_act:
        return False

    # old ZSK retires, then dies
    t_ret = t_gone = None
    seen = []
    end = time.monotonic() + MAX_TTL + PROP + 30
    while time.monotonic() < end:
        g = a.api.status(MS)
        st = (key_by_tag(g, old) or {}).get("state")
        if not seen or seen[-1][1] != st:
            seen.append((round(time.time() - t_act, 2), st))
        if t_ret is None and st == "retire":
            t_ret = time.time()
        gone = old not in tags_of(served_dnskey(a, MS)) and old not in pk_tags(a.api.pk(MS), "keys") \
            and st in (None, "dead")
        if gone:
            t_gone = time.time()
            break
        time.sleep(0.2)
    loop.phase = "old ZSK gone from A"
    info(f"[{time.strftime('%H:%M:%S')}] old ZSK {old}: states after activation {seen}")
    check(f"5 [a] the old ZSK {old} retires", t_ret or (t_gone and any(s == "retire" for _, s in seen)),
          f"states {seen}")
    check(f"5 [a] the old ZSK {old} leaves A's DNSKEY RRset and A's GET peer-keys `keys` (dead)", t_gone,
          f"states {seen}; DNSKEY {sorted(tags_of(served_dnskey(a, MS)))}")
    check(f"5 [a] ... no sooner than max TTL + propagation delay ({MAX_TTL + PROP} s) after {new} became active",
          t_gone and t_gone - t_act >= MAX_TTL + PROP - 1.05, f"gone {fmt(t_gone, t_act)} after activation")
    check(f"5 [a] www A signed by {new} only", www_signers(a) == {new}, f"{sorted(www_signers(a))}")
    check(f"5 [b] B still serves A's old ZSK {old} (until told otherwise)", old in tags_of(served_dnskey(b, MS)),
          f"{sorted(tags_of(served_dnskey(b, MS)))}")
    time.sleep(2)

    loop.phase = "old ZSK deleted on B"
    r = b.api.pk_delete(MS, tag=old)
    expect(f"5 [b] DELETE peer-keys/{old} (A's old ZSK): 200", r, 200)
    ok = wait_until(lambda: ids_of(served_dnskey(a, MS)) == ids_of(served_dnskey(b, MS)), 5)
    da = served_dnskey(a, MS)
    check("5 A and B serve the same DNSKEY RRset again: 4 keys with A's new ZSK",
          ok and len(da) == 4 and new in tags_of(da) and old not in tags_of(da),
          f"A {sorted(tags_of(da))}, B {sorted(tags_of(served_dnskey(b, MS)))}")
    g = a.api.status(MS)
    check(f"5 [a] status active, ZSK {new} only", g and g.get("status") == "active"
          and [k.get("key_tag") for k in g.get("zsk") or [] if k.get("state") != "dead"] == [new], key_summary(g))
    time.sleep(3)
    return True


def fmt(t, t0):
    return "never" if t is None or t0 is None else f"{t - t0:.1f} s"


def step_restart(b):
    before_pk = b.api.pk(MS)
    before_dk = ids_of(served_dnskey(b, MS))
    before_g = b.api.status(MS)
    rc = b.stop()
    check("7 [b] SIGTERM: exit 0", rc == 0, f"exit {rc}{b.log.tail(10)}")
    try:
        b.start()
    except StartFailure as e:
        check("7 [b] starts again on the same state_dir", False, str(e))
        raise
    ok = wait_until(lambda: ids_of(served_dnskey(b, MS)) == before_dk, 15)
    check(f"7 [b] after the restart the same DNSKEY RRset is served ({len(before_dk)} keys)", ok,
          f"now {sorted(tags_of(served_dnskey(b, MS)))}")
    after = b.api.pk(MS)
    check("7 [b] after the restart GET peer-keys lists the same peer keys (source api) and the same own keys",
          before_pk is not None and pk_view(after) == pk_view(before_pk),
          f"before {pk_tags(before_pk, 'peer_keys')} / {pk_tags(before_pk, 'keys')}, "
          f"after {pk_tags(after, 'peer_keys')} / {pk_tags(after, 'keys')}")
    g = b.api.status(MS)
    check("7 [b] after the restart GET dnssec: same status and keys",
          g is not None and before_g is not None and g.get("status") == before_g.get("status")
          and sorted(k.get("key_tag") for k in keys_of(g)) == sorted(k.get("key_tag") for k in keys_of(before_g)),
          f"before {key_summary(before_g)}; after {key_summary(g)}")


def step_primary_keys(a, b, knot, third):
    """8: peer_keys_from_primary on ms2.test. (true on A, false on B)."""
    tk, tz = kid(third.ksk), kid(third.zsk)
    ga = a.api.status(MS2)
    own_a = {kid(dns.rdata.from_text("IN", "DNSKEY", f"{257 if k.get('key_type') == 'KSK' else 256} 3 "
                                                     f"{k['algorithm']} {k['public_key']}")) for k in keys_of(ga)}
    got = wait_until(lambda: ids_of(served_dnskey(a, MS2)) == own_a | {tk, tz}, 20)
    check(f"8 [a] {MS2}: DNSKEY RRset = A's KSK + ZSK + the third provider's KSK {ktag(third.ksk)} and ZSK "
          f"{ktag(third.zsk)} from the primary", got and len(own_a) == 2,
          f"served {sorted(tags_of(served_dnskey(a, MS2)))}; A's own {key_summary(ga)}")
    pk = a.api.pk(MS2)
    peer = pk_ids(pk, "peer_keys")
    check(f"8 [a] {MS2}: GET peer-keys lists both with source primary",
          set(peer) == {tk, tz} and all(k.get("source") == "primary" for k in peer.values()),
          f"{(pk or {}).get('peer_keys')}")
    p = pk_problems(MS2, pk)
    check(f"8 [a] {MS2}: GET peer-keys body consistent", not p, "; ".join(p))
    c = {ds_rd_key(rd) for rr in rrsets(ask(a.addr, a.port, MS2, "CDS"), "answer", T.CDS) for rd in rr}
    k = {kid(rd) for rr in rrsets(ask(a.addr, a.port, MS2, "CDNSKEY"), "answer", T.CDNSKEY) for rd in rr}
    check(f"8 [a] {MS2}: CDNSKEY/CDS include the third provider's KSK, not its ZSK",
          tk in k and tz not in k and ds_rd_key(ds_of(MS2, third.ksk)) in c, f"CDNSKEY tags "
          f"{sorted(ktag(rd) for rr in rrsets(ask(a.addr, a.port, MS2, 'CDNSKEY'), 'answer', T.CDNSKEY) for rd in rr)}")
    g = a.api.status(MS2)
    check(f"8 [a] {MS2}: GET dnssec ds_records include the third provider's KSK",
          ds_rd_key(ds_of(MS2, third.ksk)) in {ds_json_key(d) for d in (g or {}).get("ds_records") or []},
          f"{(g or {}).get('ds_records')}")
    dk = served_dnskey(a, MS2)
    probs = []
    for name, qt in ((MS2, "SOA"), (f"www.{MS2}", "A"), (f"nope.{MS2}", "A"), (MS2, "DNSKEY"), (MS2, "TXT")):
        r = ask(a.addr, a.port, name, qt)
        if r is None:
            probs.append(f"{name} {qt}: no response")
            continue
        nsig, sp = signed_problems(r, dk, MS2)
        probs += [f"{name} {qt}: {x}" for x in sp] + ([f"{name} {qt}: no RRSIG"] if nsig == 0 else [])
    check(f"8 [a] {MS2}: answers signed and valid with the served DNSKEY RRset", dk is not None and not probs,
          "; ".join(probs))
    gb = b.api.status(MS2)
    own_b = {kid(dns.rdata.from_text("IN", "DNSKEY", f"{257 if k.get('key_type') == 'KSK' else 256} 3 "
                                                     f"{k['algorithm']} {k['public_key']}")) for k in keys_of(gb)}
    check(f"8 [b] {MS2} (peer_keys_from_primary = false): only B's own two keys served, no peer keys",
          wait_until(lambda: ids_of(served_dnskey(b, MS2)) == own_b, 10) and len(own_b) == 2
          and pk_tags(b.api.pk(MS2), "peer_keys") == [],
          f"served {sorted(tags_of(served_dnskey(b, MS2)))}; peer_keys {pk_tags(b.api.pk(MS2), 'peer_keys')}")

    api_key = fresh_key()
    r = a.api.pk_post(MS2, body={"dnskey": dnskey_text(MS2, api_key)})
    expect(f"8 [a] {MS2}: POST a key through the API as well: 200", r, 200)
    pk = a.api.pk(MS2)
    check(f"8 [a] {MS2}: the API key has source api, the primary's keys source primary",
          (pk_ids(pk, "peer_keys").get(kid(api_key)) or {}).get("source") == "api"
          and (pk_ids(pk, "peer_keys").get(tk) or {}).get("source") == "primary", f"{(pk or {}).get('peer_keys')}")

    knot.ms2_drop_keys()
    r = a.api.call("POST", f"/api/v1/zones/{MS2.rstrip('.')}/refresh")
    expect(f"8 [a] POST /api/v1/zones/{MS2.rstrip('.')}/refresh after the primary dropped the keys: 200/202", r,
           (200, 202))
    got = wait_until(lambda: ids_of(served_dnskey(a, MS2)) == own_a | {kid(api_key)}, 20)
    check(f"8 [a] {MS2}: the primary's keys leave A's DNSKEY RRset; the API key stays", got,
          f"served {sorted(tags_of(served_dnskey(a, MS2)))}{a.log.tail(8)}")
    pk = a.api.pk(MS2)
    check(f"8 [a] {MS2}: GET peer-keys: only the API key", set(pk_ids(pk, "peer_keys")) == {kid(api_key)},
          f"{(pk or {}).get('peer_keys')}")
    k = {kid(rd) for rr in rrsets(ask(a.addr, a.port, MS2, "CDNSKEY"), "answer", T.CDNSKEY) for rd in rr}
    g = a.api.status(MS2)
    check(f"8 [a] {MS2}: the third provider's KSK leaves CDNSKEY and ds_records",
          tk not in k and k and ds_rd_key(ds_of(MS2, third.ksk)) not in
          {ds_json_key(d) for d in (g or {}).get("ds_records") or []}, f"{(g or {}).get('ds_records')}")

    # zone retransfer: a whole-zone AXFR although the serial is current.
    kmark = knot.log.mark()
    r = a.api.call("POST", f"/api/v1/zones/{MS2.rstrip('.')}/retransfer")
    expect(f"8 [a] POST /api/v1/zones/{MS2.rstrip('.')}/retransfer: 202", r, 202)
    axfr = wait_until(lambda: knot.log.lines(lambda l: f"[{MS2}] AXFR, outgoing" in l and "started" in l, kmark), 15)
    check(f"8 [a] {MS2}: retransfer made Knot send an AXFR (its log)", axfr,
          f"knot log since: {knot.log.text(kmark)[-1500:]}")
    check(f"8 [a] {MS2}: after the retransfer the same keys are served",
          wait_until(lambda: ids_of(served_dnskey(a, MS2)) == own_a | {kid(api_key)}, 10),
          f"served {sorted(tags_of(served_dnskey(a, MS2)))}")


# -------------------------------------------------- 9: ldns-verify-zone ----
def dump_records(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                p = line.split(";")[0].split()
                if "IN" not in p[1:4]:
                    continue
                i = p.index("IN", 1)
                if i + 1 < len(p):
                    out.append((p[0].lower(), p[i + 1].upper(), " ".join(p[i + 2:])))
    except OSError:
        return None
    return out


def dump_dnskeys(path):
    recs = dump_records(path)
    if recs is None:
        return None
    out = set()
    for o, t, rdata in recs:
        if t == "DNSKEY":
            try:
                out.add(kid(dns.rdata.from_text("IN", "DNSKEY", rdata)))
            except Exception:
                pass
    return out


def providers_of(srv, zone):
    """The zone body's `multi_signer` object, or None."""
    r = srv.api.call("GET", f"/api/v1/zones/{zone.rstrip('.')}")
    return (r.json or {}).get("multi_signer") if r.status == 200 else None


def metric_lines(srv, name):
    r = srv.api.call("GET", "/metrics")
    return [ln for ln in (r.text or "").splitlines() if ln.startswith(name + "{")] if r.status == 200 else []


def step_probe(a, b):
    server_b = f"{b.addr}:{b.port}"

    def refreshed_until(pred, timeout=15):
        """POST refresh on A (each check asks the providers) until pred(multi_signer) holds."""
        def once():
            a.api.call("POST", f"/api/v1/zones/{MS.rstrip('.')}/refresh")
            time.sleep(0.5)
            return pred(providers_of(a, MS))
        return wait_until(once, timeout, 0.2)

    def b_entry(m):
        return next((p for p in (m or {}).get("providers") or [] if p.get("server") == server_b), None)

    ok = refreshed_until(lambda m: m is not None and m.get("checked_at") and m.get("consistent") is True)
    check("10 [a] zone body multi_signer: B serves our keys and the same CDS/CDNSKEY (consistent)", ok,
          f"{providers_of(a, MS)}")
    check("10 [a] /metrics: B consistent (1), no inconsistent provider",
          any(ln.endswith(" 1") and f'provider="{server_b}"' in ln and f'zone="{MS}"' in ln
              for ln in metric_lines(a, "satellite_multisigner_provider_consistent"))
          and f'satellite_multisigner_inconsistent_providers{{zone="{MS}"}} 0' in
          metric_lines(a, "satellite_multisigner_inconsistent_providers"),
          f"{metric_lines(a, 'satellite_multisigner_provider_consistent')} "
          f"{metric_lines(a, 'satellite_multisigner_inconsistent_providers')}")

    own = a.api.pk(MS)
    zsks = [k for k in (own or {}).get("keys") or [] if k.get("key_type") == "ZSK"]
    if not check("10 [a] GET peer-keys lists A's ZSK", len(zsks) >= 1, f"{own}"):
        return
    tag = zsks[0]["key_tag"]
    mark = a.log.mark()
    r = b.api.pk_delete(MS, tag=tag)
    expect(f"10 [b] DELETE A's ZSK {tag} from B's peer keys: 200", r, 200)
    gone = wait_until(lambda: tag not in tags_of(served_dnskey(b, MS)), 10)
    check(f"10 [b] B's DNSKEY RRset no longer holds A's ZSK {tag}", gone, f"{sorted(tags_of(served_dnskey(b, MS)))}")

    def flagged(m):
        e = b_entry(m)
        return (m is not None and m.get("consistent") is False and e is not None and e.get("answered")
                and not e.get("consistent") and any(f"lacks our ZSK {tag}" in p for p in e.get("problems") or []))
    ok = refreshed_until(flagged)
    check(f"10 [a] after a check, zone body multi_signer flags B: lacks our ZSK {tag}", ok, f"{providers_of(a, MS)}")
    check("10 [a] /metrics: B inconsistent (0), one inconsistent provider",
          any(ln.endswith(" 0") and f'provider="{server_b}"' in ln and f'zone="{MS}"' in ln
              for ln in metric_lines(a, "satellite_multisigner_provider_consistent"))
          and f'satellite_multisigner_inconsistent_providers{{zone="{MS}"}} 1' in
          metric_lines(a, "satellite_multisigner_inconsistent_providers"),
          f"{metric_lines(a, 'satellite_multisigner_provider_consistent')} "
          f"{metric_lines(a, 'satellite_multisigner_inconsistent_providers')}")
    check("10 [a] the log says which provider disagrees and why",
          a.log.find(rf"zone ms\.test\.: provider {server_b} disagrees with our keys \(RFC 8901\): lacks our ZSK "
                     rf"{tag}", since=mark), a.log.tail(8, since=mark))

    r = b.api.pk_post(MS, body=own)
    expect("10 [b] A's peer-keys body posted to B again: 200", r, 200)
    ok = refreshed_until(lambda m: m is not None and m.get("consistent") is True)
    check("10 [a] the next check clears it: consistent again", ok, f"{providers_of(a, MS)}")


def step_algorithm_change(a):
    mark = a.log.mark()
    a.algorithm = 8
    reloaded = a.hup()
    a.algorithm = ALG
    check("11 [a] SIGHUP with zone.signing.algorithm = 8: reloaded", reloaded and "refused" not in reloaded, reloaded)
    said = a.log.wait(r"zone ms\.test\.: zone\.signing\.algorithm 8 refused: the zone is multi-signer and its keys "
                      r"use algorithm 13", since=mark, timeout=5)
    check("11 [a] the algorithm change is refused with an error that names both algorithms", said,
          a.log.tail(8, since=mark))
    time.sleep(1)  # the re-sign the reload asked for
    algs = {rd.algorithm for rd in served_dnskey(a, MS) or []}
    r = ask(a.addr, a.port, "www." + MS, "A")
    sig_algs = {rd.algorithm for rr in rrsets(r, "answer", T.RRSIG) for rd in rr}
    check("11 [a] A still serves only algorithm 13 keys and signatures", algs == {ALG} and sig_algs == {ALG},
          f"DNSKEY algorithms {algs}, RRSIG algorithms {sig_algs}")
    reloaded = a.hup()
    check("11 [a] config set back to algorithm 13: reloaded", reloaded and "refused" not in reloaded, reloaded)


def step_verify(sats):
    for s, z in [(sats[0], MS), (sats[1], MS), (sats[0], MS2)]:
        path = os.path.join(s.dump, z.rstrip(".") + ".zone")
        want = ids_of(served_dnskey(s, z))
        ok = wait_until(lambda: dump_dnskeys(path) == want, 10)
        if not check(f"9 [{s}] dump {os.path.basename(path)} written, with the served DNSKEY RRset "
                     f"({len(want)} keys)", ok,
                     f"dump keys {len(dump_dnskeys(path) or [])}; files {sorted(os.listdir(s.dump))}"):
            continue
        r = subprocess.run(["ldns-verify-zone", "-V", "2", path], capture_output=True, text=True, timeout=120)
        check(f"9 [{s}] ldns-verify-zone {os.path.basename(path)}", r.returncode == 0,
              (r.stdout + r.stderr).strip()[-1500:])


# ================================================================= main ====
def main():
    global VERBOSE
    ap = arg_parser("multi-signer (RFC 8901 model 2) end to end", HERE)
    args = ap.parse_args()
    VERBOSE = args.verbose
    add_sbin_to_path()
    binary = os.path.abspath(args.satellited)
    why = skip_reason(["knotd", "knotc", "unbound", "ldns-verify-zone"], binary)
    if why:
        return skip(why, "0 checks, 0 failed")
    for addr in (ADDR_A, ADDR_B):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((addr, 0))
            s.close()
        except OSError as e:
            return skip(f"cannot bind {addr} ({e}); the test needs 127.0.0.0/8 on lo", "0 checks, 0 failed")
    interrupt_on_sigterm()

    workdir = tempfile.mkdtemp(prefix="satellite-multisigner-")
    print(f"work directory: {workdir}; satellited: {binary}", flush=True)
    t0 = time.monotonic()
    harness_error = False
    loop = None
    sats = []
    try:
        third = ThirdProvider()
        knot = Knot(workdir, third)
        a = Satellited("a", ADDR_A, binary, workdir, knot.port)
        b = Satellited("b", ADDR_B, binary, workdir, knot.port)
        a.peer, b.peer = b, a
        a.from_primary = True
        sats = [a, b]
        for s in sats:
            s.write_config()
            rc, out = s.check_config()
            if not check(f"1 [{s}] satellited --check-config accepts the multi-signer configuration", rc == 0,
                         f"exit {rc}: {out}"):
                raise StartFailure(f"the multi-signer configuration is refused: {out}")
        print("--- 1: Knot primary, satellited A and B", flush=True)
        knot.start(sats)
        info(f"knot up on {LOOP}:{knot.port} ({time.monotonic() - t0:.1f} s)")
        for s in sats:
            s.start()
            info(f"satellited {s} up on {s.addr}:{s.port}, API {s.addr}:{s.api_port} ({time.monotonic() - t0:.1f} s)")
        for s in sats:
            for z in (MS, MS2):
                ok = wait_until(lambda: len(tags_of(served_dnskey(s, z))) >= 2, 20)
                g = s.api.status(z)
                check(f"1 [{s}] {z} transferred from Knot, DNSSEC enabled: serves its KSK + ZSK",
                      ok and g is not None and len(keys_of(g)) == 2 and
                      {k.get("key_tag") for k in keys_of(g)} <= tags_of(served_dnskey(s, z)),
                      f"served {sorted(tags_of(served_dnskey(s, z)))}; {key_summary(g)}{s.log.tail(10)}")
                check(f"1 [{s}] {z} status pending_ds (enabled = true, nothing confirmed)",
                      g is not None and g.get("status") == "pending_ds", key_summary(g))

        print("--- 2: key exchange through the API", flush=True)
        union, anchors = step_exchange(a, b)
        anchor_lines = [f"{MS} DS {d['key_tag']} {d['algorithm']} {d['digest_type']} {d['digest']}" for d in union]
        if len(anchors) != 2:
            raise HarnessError(f"no usable union DS set for the trust anchors: {union}")
        info("trust anchors: " + "; ".join(anchor_lines))

        print("--- 3: validating unbounds (A only, B only, both)", flush=True)
        ubs = [Unbound(workdir, "A", [(a.addr, a.port)], anchor_lines),
               Unbound(workdir, "B", [(b.addr, b.port)], anchor_lines),
               Unbound(workdir, "AB", [(a.addr, a.port), (b.addr, b.port)], anchor_lines)]
        for ub in ubs:
            up = ub.start()
            check(f"3 unbound-{ub.name} starts and validates {MS} SOA (AD)", up,
                  ub.log.tail(15) + LogFile(os.path.join(ub.dir, "unbound.out")).tail(5))
        step_unbound("3", ubs, "initial")

        print("--- 4: one provider's DNSKEY RRset judges the other's answers", flush=True)
        step_cross("4", sats, anchors)

        print("--- 6: refused peer keys, the other body forms, permissions", flush=True)
        step_refusals(a, b)

        print("--- 5: ZSK roll on A while B stays (steps 3 and 4 in a loop)", flush=True)
        loop = JudgeLoop(sats, ubs, lambda: anchors)
        loop.start()
        time.sleep(2)
        try:
            step_roll(a, b, loop)
        finally:
            loop.stopping = True
            loop.join(timeout=30)
        loop.judge("5")
        step_unbound("5 after the roll:", ubs, "after-roll")
        step_cross("5 after the roll:", sats, anchors)

        print("--- 7: restart of B", flush=True)
        step_restart(b)
        step_cross("7 after the restart:", sats, anchors)
        step_unbound("7 after the restart:", ubs, "after-restart")

        print("--- 8: peer keys from the primary's zone", flush=True)
        step_primary_keys(a, b, knot, third)

        print("--- 9: ldns-verify-zone on the dumps", flush=True)
        step_verify(sats)
        print("--- 10: the consistency probe (RFC 8901 §8)", flush=True)
        step_probe(a, b)
        print("--- 11: an algorithm change on a multi-signer zone", flush=True)
        step_algorithm_change(a)

        for s in sats:
            check(f"[{s}] satellited still running at the end", s.alive(), s.log.tail(15))
            crit = s.log.lines(lambda l: " critical " in l or "AddressSanitizer" in l or "runtime error" in l)
            check(f"[{s}] satellited log has no critical/sanitizer lines", not crit, "\n      ".join(crit[:10]))
    except (Exception, KeyboardInterrupt) as e:
        harness_error = record_abort(e, "1 satellited starts")
    finally:
        if loop is not None:
            loop.stopping = True
        stop_all()
        finish_workdir(workdir, t0, args.keep)
    CHECKS.print_failures()
    if harness_error:
        print("harness error (see above)")
    print(f"{CHECKS.passed + CHECKS.failed} checks, {CHECKS.failed} failed")
    return 0 if CHECKS.failed == 0 and not harness_error else 1


if __name__ == "__main__":
    sys.exit(main())
