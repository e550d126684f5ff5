#!/usr/bin/python3
# Satellite feeds a fleet (issue 16, first slice): outgoing AXFR/IXFR with
# TSIG, the provide_xfr ACL, NOTIFY out.
#
#   Knot (hidden primary, unsigned fleet.test.) --AXFR/IXFR, NOTIFY--> satellited (live, alg 13)
#   satellited --NOTIFY (signed with xfr-key)--> NSD, Knot2, BIND --SOA probe, AXFR/IXFR with xfr-key--> satellited
#
# Steps:
#   1  NSD and Knot2 each serve fleet.test. with satellited's signed serial,
#      its DNSKEY and RRSIGs (they were notified and transferred with TSIG)
#   2  unbound with satellited's KSK as trust anchor, stub to NSD (then to
#      Knot2): www.fleet.test. A validates (AD)
#   3  a change on the primary: satellited re-signs, NOTIFYs, and both
#      replicas serve the new signed serial and the new record
#   4  /metrics: satellite_notify_out_total acknowledged for both targets
#   5  refusals: AXFR from 127.0.0.3 (outside provide_xfr) REFUSED; unsigned
#      from 127.0.0.1 where a key is required REFUSED; a wrong secret NOTAUTH
#      with TSIG error BADSIG; IXFR from an older unknown serial: an
#      AXFR-style reply (SOA then non-SOA) that verifies with the key; IXFR
#      from the current serial: one SOA; AXFR over UDP refused
#   6  dnspython's AXFR with the key (every message's TSIG checked) gets the
#      whole zone, SOA first and last
#   8  (run before 7) [server] catalog: the produced RFC 9432 catalog transfers
#      with the key, lists both zones with version "2" and fleet.test.'s
#      group; Knot (catalog-role interpret) provisions big.test. from it
#   7  a client that sends AXFR of a ~13 MB zone and never reads is dropped
#      after the write timeout (log line), and satellited still answers
#   9  (last) IXFR out survives restarts: relay.test. (presigned mode, from
#      the primary) changes, satellited is killed (SIGKILL, then SIGTERM the
#      second time) and started again; Knot2, still at the serial before,
#      refreshes and gets the change by IXFR (its log: no AXFR), answered
#      from the stored journal (satellited's log); dnspython's IXFR from the
#      first serial gets both steps, from a serial older than the journal
#      an AXFR-style reply
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time

try:
    import dns.dnssec
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.rrset
    import dns.tsigkeyring
    import dns.zone
except ImportError:
    sys.stderr.write("error: dnspython missing: run with /usr/bin/python3 (python3-dnspython)\n")
    sys.exit(2)

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import (cannot_run, CHECKS, Api, HarnessError, LOOP, LogFile, StartFailure, add_sbin_to_path,  # noqa: E402
                     arg_parser, ask, check, check_config, finish_workdir, free_port, interrupt_on_sigterm,
                     record_abort, skip, skip_reason, spawn, spawn_unbound, stop_all, stop_proc, stub_zone,
                     unbound_conf, wait_until)

ZONE = "fleet.test."
BIG = "big.test."
RELAY = "relay.test."  # presigned mode: satellited passes the primary's versions on
KEY_NAME = "xfr-key."
KEY_SECRET = "c2F0ZWxsaXRlLWZsZWV0LWtleS0wMTIzNDU2Nzg5YWI="  # base64
WRONG_SECRET = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE="
TOKEN = "fleet-token"
OUTSIDE = "127.0.0.3"
CATALOG = "catalog.example."  # an address outside provide_xfr (still loopback)


def zone_text(serial, extra="", origin=ZONE):
    return (f"$ORIGIN {origin}\n$TTL 300\n"
            f"@ IN SOA ns1 hostmaster {serial} 3600 600 86400 60\n"
            "@ IN NS ns1\n@ IN NS ns2\nns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\n"
            "www IN A 192.0.2.80\nmail IN A 192.0.2.25\n@ IN MX 10 mail\n" + extra)


def soa_serial(port, zone, addr=LOOP):
    r = ask(port, zone, "SOA", do=False, addr=addr)
    if r is None or r.rcode() != dns.rcode.NOERROR:
        return None
    for rr in r.answer:
        if rr.rdtype == dns.rdatatype.SOA:
            return rr[0].serial
    return None


def raw_tcp(port, wire, source=LOOP, timeout=5.0):
    """Sends one length-framed message from `source`; the first reply message (bytes) or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((source, 0))
        s.connect((LOOP, port))
        s.sendall(struct.pack("!H", len(wire)) + wire)
        head = b""
        while len(head) < 2:
            chunk = s.recv(2 - len(head))
            if not chunk:
                return None
            head += chunk
        n = struct.unpack("!H", head)[0]
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                return None
            body += chunk
        return body
    except OSError:
        return None
    finally:
        s.close()


def keyring(secret=KEY_SECRET):
    return dns.tsigkeyring.from_text({KEY_NAME: ("hmac-sha256", secret)})


# --------------------------------------------------------------- servers ----
class KnotPrimary:
    def __init__(self, workdir, sat_port):
        self.dir = os.path.join(workdir, "primary")
        os.makedirs(os.path.join(self.dir, "db"))
        self.port = free_port()
        self.sat_port = sat_port
        self.conf = os.path.join(self.dir, "knot.conf")
        self.file = os.path.join(self.dir, "fleet.test.zone")
        self.relay_file = os.path.join(self.dir, "relay.test.zone")
        self.relay_serial = 1
        self.log = LogFile(os.path.join(self.dir, "knot.log"))
        self.serial = 1

    def start(self):
        with open(self.file, "w") as f:
            f.write(zone_text(1))
        with open(self.relay_file, "w") as f:
            f.write(zone_text(1, origin=RELAY))
        with open(self.conf, "w") as f:
            f.write(f"server:\n    rundir: {self.dir}\n    listen: {LOOP}@{self.port}\n    background-workers: 1\n"
                    f"log:\n  - target: {self.log.path}\n    any: info\n"
                    f"database:\n    storage: {self.dir}/db\n"
                    f"remote:\n  - id: sat\n    address: {LOOP}@{self.sat_port}\n"
                    "acl:\n  - id: xfr\n    address: 127.0.0.0/8\n    action: transfer\n"
                    "template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: difference\n"
                    "    journal-content: changes\n    semantic-checks: off\n    dnssec-signing: off\n"
                    "    notify: sat\n    acl: xfr\n"
                    f"zone:\n  - domain: {ZONE}\n    file: {self.file}\n"
                    f"  - domain: {RELAY}\n    file: {self.relay_file}\n")
        spawn(["knotd", "-c", self.conf], os.path.join(self.dir, "knotd.out"))
        if not wait_until(lambda: soa_serial(self.port, ZONE) == 1 and soa_serial(self.port, RELAY) == 1, 15):
            raise HarnessError(f"primary knotd does not serve {ZONE}: {self.log.tail(20)}")

    def change(self):
        self.serial += 1
        with open(self.file, "w") as f:
            f.write(zone_text(self.serial, f"new{self.serial} IN A 192.0.2.{self.serial}\n"))
        r = subprocess.run(["knotc", "-c", self.conf, "-t", "10", "zone-reload", ZONE],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise HarnessError(f"knotc zone-reload: {r.stdout}{r.stderr}")
        if not wait_until(lambda: soa_serial(self.port, ZONE) == self.serial, 10):
            raise HarnessError(f"primary did not load serial {self.serial}")
        return self.serial

    def change_relay(self):
        """relay.test.: the SOA serial and one name new<serial> (the one before goes)."""
        self.relay_serial += 1
        s = self.relay_serial
        with open(self.relay_file, "w") as f:
            f.write(zone_text(s, f"new{s} IN A 192.0.2.{s}\n", origin=RELAY))
        r = subprocess.run(["knotc", "-c", self.conf, "-t", "10", "zone-reload", RELAY],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise HarnessError(f"knotc zone-reload: {r.stdout}{r.stderr}")
        if not wait_until(lambda: soa_serial(self.port, RELAY) == s, 10):
            raise HarnessError(f"primary did not load {RELAY} serial {s}")
        return s


class Satellited:
    def __init__(self, binary, workdir, port, primary_port, nsd_port, knot2_port, bind_port):
        self.binary = binary
        self.dir = os.path.join(workdir, "sat")
        os.makedirs(self.dir)
        self.port = port
        self.api_port = free_port()
        self.config = os.path.join(self.dir, "satellite.toml")
        self.log = LogFile(os.path.join(self.dir, "satellited.log"))
        big = os.path.join(self.dir, "big.test.zone")
        with open(big, "w") as f:  # ~13 MB: more than the socket buffers hold
            f.write(f"$ORIGIN {BIG}\n$TTL 300\n@ IN SOA ns hm 1 3600 600 86400 60\n@ IN NS ns\nns IN A 192.0.2.1\n")
            pad = "x" * 200
            for i in range(60000):
                f.write(f"t{i} IN TXT \"{pad}\"\n")
        with open(self.config, "w") as f:
            f.write(f"""[server]
listen = ["{LOOP}:{port}"]
threads = 1
state_dir = "{self.dir}/state"
tcp_idle_timeout_ms = 3000
provide_xfr = ["127.0.0.1 key {KEY_NAME}"]
catalog = "{CATALOG}"

[api]
listen = "{LOOP}:{self.api_port}"
[[api.token]]
name = "t"
secret = "{TOKEN}"
permissions = ["zone:read"]

[log]
level = "info"

[[tsig_key]]
name = "{KEY_NAME}"
algorithm = "hmac-sha256"
secret = "{KEY_SECRET}"

[[zone]]
name = "{ZONE}"
primaries = ["{LOOP}:{primary_port}"]
notify_allow = ["{LOOP}"]
mode = "live"
catalog_group = "signed"
notify = ["{LOOP}:{nsd_port}", "{LOOP}:{knot2_port}", "{LOOP}:{bind_port}"]
[zone.signing]
enabled = true
algorithm = 13

[[zone]]
name = "{RELAY}"
primaries = ["{LOOP}:{primary_port}"]
notify_allow = ["{LOOP}"]

[[zone]]
name = "{BIG}"
file = "{big}"
provide_xfr = ["127.0.0.0/8", "127.0.0.1 key {KEY_NAME}"]
""")

    def start(self):
        mark = self.log.mark()
        self.proc = spawn([self.binary, "--config", self.config], self.log.path)
        if not wait_until(lambda: "listening on" in self.log.text(mark) or self.proc.poll() is not None, 30) \
                or self.proc.poll() is not None:
            raise StartFailure(f"satellited did not start: {self.log.tail(30, mark)}")
        return mark

    def kill(self):
        self.proc.kill()
        return self.proc.wait(10)

    def stop(self):
        return stop_proc(self.proc, 15, report_kill=False)

    def journal(self, zone):
        return os.path.join(self.dir, "state", "zones", zone.lower() + "journal")

    def alive(self):
        return self.proc.poll() is None


class Nsd:
    def __init__(self, workdir, port, sat_port):
        self.dir = os.path.join(workdir, "nsd")
        os.makedirs(self.dir)
        self.port = port
        conf = os.path.join(self.dir, "nsd.conf")
        self.log = LogFile(os.path.join(self.dir, "nsd.log"))
        with open(conf, "w") as f:
            f.write(f"""server:
    ip-address: {LOOP}
    port: {port}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{self.dir}"
    database: ""
    zonelistfile: "{self.dir}/zone.list"
    xfrdfile: "{self.dir}/xfrd.state"
    xfrdir: "{self.dir}"
    pidfile: "{self.dir}/nsd.pid"
    logfile: "{self.log.path}"
    verbosity: 2
remote-control:
    control-enable: no
key:
    name: "{KEY_NAME}"
    algorithm: hmac-sha256
    secret: "{KEY_SECRET}"
zone:
    name: "{ZONE}"
    request-xfr: AXFR {LOOP}@{sat_port} {KEY_NAME}
    allow-notify: {LOOP} {KEY_NAME}
""")
        self.argv = ["nsd", "-d", "-c", conf]

    def start(self):
        spawn(self.argv, os.path.join(self.dir, "nsd.out"))


class KnotReplica:
    def __init__(self, workdir, port, sat_port):
        self.dir = os.path.join(workdir, "knot2")
        os.makedirs(os.path.join(self.dir, "db"))
        self.port = port
        self.conf = os.path.join(self.dir, "knot.conf")
        self.log = LogFile(os.path.join(self.dir, "knot.log"))
        with open(self.conf, "w") as f:
            f.write(f"server:\n    rundir: {self.dir}\n    listen: {LOOP}@{port}\n    background-workers: 1\n"
                    f"log:\n  - target: {self.log.path}\n    any: info\n"
                    f"database:\n    storage: {self.dir}/db\n"
                    f"key:\n  - id: {KEY_NAME}\n    algorithm: hmac-sha256\n    secret: {KEY_SECRET}\n"
                    f"remote:\n  - id: sat\n    address: {LOOP}@{sat_port}\n    key: {KEY_NAME}\n"
                    f"acl:\n  - id: notify\n    address: {LOOP}\n    key: {KEY_NAME}\n    action: notify\n"
                    f"template:\n  - id: member\n    master: sat\n    acl: notify\n"
                    f"    file: {self.dir}/%s.zone\n    zonefile-sync: -1\n    journal-content: none\n"
                    f"zone:\n  - domain: {ZONE}\n    master: sat\n    acl: notify\n"
                    f"    file: {self.dir}/fleet.test.zone\n    zonefile-sync: -1\n    journal-content: none\n"
                    # Not notified for relay.test.: it refreshes when step 9 says (knotc zone-refresh).
                    f"  - domain: {RELAY}\n    master: sat\n"
                    f"    file: {self.dir}/relay.test.zone\n    zonefile-sync: -1\n    journal-content: none\n"
                    # RFC 9432 consumer: provisions the zones satellited's catalog lists.
                    f"  - domain: {CATALOG}\n    master: sat\n    acl: notify\n    catalog-role: interpret\n"
                    f"    catalog-template: member\n    file: {self.dir}/catalog.zone\n    zonefile-sync: -1\n"
                    "    journal-content: none\n")

    def start(self):
        spawn(["knotd", "-c", self.conf], os.path.join(self.dir, "knotd.out"))

    def refresh(self, zone):
        subprocess.run(["knotc", "-c", self.conf, "-t", "10", "zone-refresh", zone],
                       capture_output=True, text=True, timeout=20)


class BindReplica:
    """BIND 9 as a secondary: probes satellited's SOA signed with the key
    (the answer must be signed too), then transfers with it."""

    def __init__(self, workdir, port, sat_port):
        self.dir = os.path.join(workdir, "bind")
        os.makedirs(self.dir)
        self.port = port
        self.conf = os.path.join(self.dir, "named.conf")
        self.log = LogFile(os.path.join(self.dir, "named.log"))
        with open(self.conf, "w") as f:
            f.write(f"""
options {{
    directory "{self.dir}";
    listen-on port {port} {{ {LOOP}; }};
    listen-on-v6 {{ none; }};
    pid-file "{self.dir}/named.pid";
    session-keyfile "{self.dir}/session.key";
    managed-keys-directory "{self.dir}";
    recursion no;
    dnssec-validation no;
    notify no;
}};
key "{KEY_NAME.rstrip('.')}" {{ algorithm hmac-sha256; secret "{KEY_SECRET}"; }};
logging {{
    channel main {{ file "{self.log.path}"; severity info; print-time yes; print-category yes; }};
    category default {{ main; }};
    category xfer-in {{ main; }};
    category notify {{ main; }};
}};
zone "{ZONE.rstrip('.')}" {{
    type secondary;
    file "{self.dir}/fleet.test.zone";
    primaries {{ {LOOP} port {sat_port} key {KEY_NAME.rstrip('.')}; }};
    allow-notify {{ key {KEY_NAME.rstrip('.')}; }};
}};
""")

    def start(self):
        spawn(["named", "-f", "-c", self.conf, "-n", "1"], os.path.join(self.dir, "named.out"))


# ----------------------------------------------------------------- steps ----
def signed_state(port):
    """(serial, DNSKEY count, has RRSIG over SOA) served at LOOP:port."""
    r = ask(port, ZONE, "SOA", do=True)
    if r is None or r.rcode() != dns.rcode.NOERROR:
        return None
    serial = next((rr[0].serial for rr in r.answer if rr.rdtype == dns.rdatatype.SOA), None)
    sig = any(rr.rdtype == dns.rdatatype.RRSIG for rr in r.answer)
    k = ask(port, ZONE, "DNSKEY", do=True)
    nkeys = sum(len(rr) for rr in (k.answer if k else []) if rr.rdtype == dns.rdatatype.DNSKEY)
    return serial, nkeys, sig


def ksk_ds(sat_port):
    r = ask(sat_port, ZONE, "DNSKEY", do=True)
    for rrset in (r.answer if r else []):
        if rrset.rdtype == dns.rdatatype.DNSKEY:
            for key in rrset:
                if key.flags == 257:
                    ds = dns.dnssec.make_ds(dns.name.from_text(ZONE), key, "SHA256")
                    return f"{ZONE} IN DS {ds.to_text()}"
    return None


def step_replicas(sat, replicas, label):
    want = signed_state(sat.port)
    check(f"{label} satellited serves {ZONE} signed", want and want[1] >= 2 and want[2], f"{want}")
    if not want:
        return None
    for name, port, log in replicas:
        got = [None]

        def same():
            got[0] = signed_state(port)
            return got[0] == want
        wait_until(same, 40, interval=0.5)
        check(f"{label} {name} serves the signed serial {want[0]} with satellited's DNSKEYs and RRSIGs",
              got[0] == want, f"replica {got[0]}, satellited {want}\n{log.tail(12)}")
    return want[0]


def step_validate(workdir, sat, replicas):
    ds = ksk_ds(sat.port)
    if not check("2 satellited's KSK gives a DS (the trust anchor)", ds is not None):
        return
    for name, port, _log in replicas:
        d = os.path.join(workdir, "unbound-" + name)
        os.makedirs(d)
        uport = free_port()
        lines = unbound_conf(d, uport, os.path.join(d, "unbound.log"), trust_anchor=ds) + \
            stub_zone(ZONE, f"{LOOP}@{port}")
        p = spawn_unbound(d, lines)
        r = [None]

        def answered():
            q = dns.message.make_query("www." + ZONE, "A", want_dnssec=True)
            q.flags |= dns.flags.RD
            try:
                r[0] = dns.query.udp(q, LOOP, port=uport, timeout=2)
            except Exception:  # noqa: BLE001 (still starting)
                return False
            return r[0].rcode() == dns.rcode.NOERROR
        wait_until(answered, 15, interval=0.3)
        ad = r[0] is not None and bool(r[0].flags & dns.flags.AD)
        check(f"2 unbound validates www.{ZONE} A fetched from {name}: NOERROR with AD", ad,
              f"{r[0]}" if r[0] is not None else "no answer")
        p.terminate()
        p.wait(10)


def step_metrics(sat, n_replicas):
    api = Api(sat.api_port)
    r = api.call("GET", "/metrics", token=TOKEN)
    text = r.text if r.status == 200 else ""
    acks = re.findall(r'satellite_notify_out_total\{zone="fleet\.test\.",target="([^"]+)",result="acknowledged"\} (\d+)',
                      text)
    check("4 /metrics counts NOTIFYs acknowledged by every replica", len(acks) == n_replicas and all(int(n) >= 1 for _, n in acks),
          f"{acks}\n" + "\n".join(l for l in text.splitlines() if "notify_out" in l))
    done = re.search(r'satellite_xfr_out_total\{result="completed"\} (\d+)', text)
    check("4 /metrics counts the completed outgoing transfers", done and int(done.group(1)) >= 3,
          "\n".join(l for l in text.splitlines() if "xfr_out" in l))


def step_refusals(sat):
    q = dns.message.make_query(ZONE, "AXFR")
    w = raw_tcp(sat.port, q.to_wire(), source=OUTSIDE)
    check("5 AXFR from 127.0.0.3 (outside provide_xfr): REFUSED", w is not None and (w[3] & 0xF) == dns.rcode.REFUSED,
          f"{w!r}"[:200])
    w = raw_tcp(sat.port, q.to_wire())
    check("5 unsigned AXFR from 127.0.0.1 where provide_xfr requires xfr-key: REFUSED",
          w is not None and (w[3] & 0xF) == dns.rcode.REFUSED, f"{w!r}"[:200])
    bad = dns.message.make_query(ZONE, "AXFR")
    bad.use_tsig(keyring(WRONG_SECRET), keyname=KEY_NAME)
    w = raw_tcp(sat.port, bad.to_wire())
    ok = w is not None and (w[3] & 0xF) == dns.rcode.NOTAUTH and struct.unpack("!H", w[-4:-2])[0] == 16
    check("5 AXFR signed with a wrong secret: NOTAUTH with TSIG error BADSIG (16)", ok, f"{w!r}"[:300])
    w = raw_tcp(sat.port, bad.to_wire(), source=OUTSIDE)
    check("5 signed AXFR from outside provide_xfr: REFUSED", w is not None and (w[3] & 0xF) == dns.rcode.REFUSED)

    serial = soa_serial(sat.port, ZONE)
    for label, client_serial, full in (("an older serial the journal does not hold", (serial - 1000) % 2**32, True),
                                       ("the current serial", serial, False)):
        ix = dns.message.make_query(ZONE, "IXFR")
        ix.authority.append(dns.rrset.from_text(ZONE, 0, "IN", "SOA", f"ns1.{ZONE} hostmaster.{ZONE} {client_serial} 1 1 1 1"))
        ix.use_tsig(keyring(), keyname=KEY_NAME)
        wire = ix.to_wire()
        w = raw_tcp(sat.port, wire)
        detail = f"{w!r}"[:300]
        try:
            m = dns.message.from_wire(w, keyring=keyring(), request_mac=ix.mac, xfr=True, multi=True)
            records = [rr for rrset in m.answer for rr in [(rrset.rdtype, x) for x in rrset]]
            detail = m.to_text()[:600]
        except Exception as e:  # noqa: BLE001
            records = None
            detail += f" ({e!r})"
        if full:
            ok = records is not None and len(records) >= 2 and records[0][0] == dns.rdatatype.SOA \
                and records[1][0] != dns.rdatatype.SOA
            check(f"5 IXFR from {label}: an AXFR-style reply, TSIG-verified", ok, detail)
        else:
            ok = records is not None and len(records) == 1 and records[0][0] == dns.rdatatype.SOA \
                and records[0][1].serial == serial
            check(f"5 IXFR from {label}: one SOA, TSIG-verified", ok, detail)
    u = dns.message.make_query(ZONE, "AXFR")
    try:
        r = dns.query.udp(u, LOOP, port=sat.port, timeout=3)
        rc = r.rcode()
    except Exception as e:  # noqa: BLE001
        rc = repr(e)
    check("5 AXFR over UDP: REFUSED", rc == dns.rcode.REFUSED, f"{rc}")


def step_axfr_dnspython(sat):
    try:
        msgs = list(dns.query.xfr(LOOP, ZONE, port=sat.port, keyring=keyring(), keyname=KEY_NAME, lifetime=20))
        rrs = [(rrset.rdtype, rrset.name) for m in msgs for rrset in m.answer]
        ok = len(msgs) >= 1 and rrs[0][0] == dns.rdatatype.SOA and rrs[-1][0] == dns.rdatatype.SOA
        types = {t for t, _ in rrs}
        ok = ok and dns.rdatatype.RRSIG in types and dns.rdatatype.DNSKEY in types and dns.rdatatype.NSEC in types
        check("6 dnspython AXFR with xfr-key (TSIG on every message verified): SOA first and last, signed zone", ok,
              f"{len(msgs)} messages, types {sorted(dns.rdatatype.to_text(t) for t in types)}")
    except Exception as e:  # noqa: BLE001
        check("6 dnspython AXFR with xfr-key", False, repr(e))


def step_catalog(sat, knot2_port, knot2_log):
    try:
        msgs = list(dns.query.xfr(LOOP, CATALOG, port=sat.port, keyring=keyring(), keyname=KEY_NAME, lifetime=20,
                                  relativize=False))
        z = {}
        for m in msgs:
            for rrset in m.answer:
                for rr in rrset:
                    z.setdefault((rrset.name.to_text(), rrset.rdtype), []).append(rr.to_text())
    except Exception as e:  # noqa: BLE001
        check("8 the produced catalog transfers with xfr-key", False, repr(e))
        return
    version = z.get((f"version.{CATALOG}", dns.rdatatype.TXT))
    ptrs = {tuple(v)[0]: k[0] for k, v in z.items() if k[1] == dns.rdatatype.PTR}
    check("8 the produced catalog has version \"2\" and one PTR per zone under zones.",
          version == ['"2"'] and set(ptrs) == {ZONE, BIG, RELAY} and all(o.endswith(f".zones.{CATALOG}") for o in ptrs.values()),
          f"{z}")
    group = z.get((f"group.{ptrs.get(ZONE, '?')}", dns.rdatatype.TXT))
    check(f"8 {ZONE}'s catalog_group is its group property", group == ['"signed"'], f"{z}")
    # Knot, with big.test. nowhere in its config, provisions it from the catalog.
    ok = wait_until(lambda: soa_serial(knot2_port, BIG) == 1, 60, interval=0.5)
    check(f"8 Knot provisions {BIG} from satellited's catalog and serves it", ok, knot2_log.tail(15))


def step_stalled_client(sat):
    mark = sat.log.mark()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect((LOOP, sat.port))
    q = dns.message.make_query(BIG, "AXFR").to_wire()
    s.sendall(struct.pack("!H", len(q)) + q)
    dropped = sat.log.wait(r"big\.test\.?: transfer to .* dropped", since=mark, timeout=30)
    check("7 a client that sends AXFR and never reads is dropped after the write timeout (log line)",
          dropped, sat.log.tail(10, mark))
    # Reading now ends early: the connection was closed before the zone was sent.
    total, closed = 0, False
    s.settimeout(2)
    try:
        while total < 64 * 1024 * 1024:
            chunk = s.recv(1 << 16)
            if not chunk:
                closed = True
                break
            total += len(chunk)
    except OSError:
        closed = True
    s.close()
    check("7 the stalled connection was closed before the whole zone was sent", closed and total < 12_000_000,
          f"read {total} bytes, closed {closed}")
    check("7 satellited still answers after the stalled client", soa_serial(sat.port, ZONE) is not None and sat.alive())
    w = raw_tcp(sat.port, dns.message.make_query(BIG, "AXFR").to_wire(), timeout=10)
    check("7 a new AXFR of big.test. starts afterwards (nothing left held)",
          w is not None and (w[3] & 0xF) == dns.rcode.NOERROR, f"{w!r}"[:100])


def relay_ixfr(sat_port, client_serial):
    """IXFR of relay.test. from `client_serial`, signed with the key: the
    first reply message's answer as ["SOA <serial>" | "<type> <owner>"], or
    an error text."""
    ix = dns.message.make_query(RELAY, "IXFR")
    ix.authority.append(dns.rrset.from_text(RELAY, 0, "IN", "SOA",
                                            f"ns1.{RELAY} hostmaster.{RELAY} {client_serial} 1 1 1 1"))
    ix.use_tsig(keyring(), keyname=KEY_NAME)
    w = raw_tcp(sat_port, ix.to_wire())
    try:
        m = dns.message.from_wire(w, keyring=keyring(), request_mac=ix.mac, xfr=True, multi=True,
                                  one_rr_per_rrset=True)
    except Exception as e:  # noqa: BLE001
        return f"{e!r} {w!r}"[:300]
    out = []
    for rrset in m.answer:
        for rr in rrset:
            out.append(f"SOA {rr.serial}" if rrset.rdtype == dns.rdatatype.SOA
                       else f"{dns.rdatatype.to_text(rrset.rdtype)} {rrset.name.to_text()}")
    return out


def step_restarts(sat, primary, knot2):
    """Step 9: outgoing IXFR of a presigned zone across restarts of satellited."""
    ok = wait_until(lambda: soa_serial(sat.port, RELAY) == 1, 20)
    check(f"9 satellited serves {RELAY} (presigned mode) from the primary", ok, sat.log.tail(10))
    ok = wait_until(lambda: knot2.refresh(RELAY) or soa_serial(knot2.port, RELAY) == 1, 40, interval=2)
    check(f"9 Knot2 transfers {RELAY} from satellited", ok, knot2.log.tail(10))
    if not ok:
        return
    for rnd, how in ((1, "SIGKILL"), (2, "SIGTERM")):
        before = soa_serial(knot2.port, RELAY)
        size = os.path.getsize(sat.journal(RELAY)) if os.path.exists(sat.journal(RELAY)) else 0
        mark = sat.log.mark()
        new = primary.change_relay()
        got = sat.log.wait(rf"zone relay\.test\.: serving serial {new} from 127", since=mark, timeout=20)
        check(f"9.{rnd} satellited gets serial {new} of {RELAY} from the primary", got, sat.log.tail(10, mark))
        check(f"9.{rnd} the difference is in the stored journal",
              wait_until(lambda: os.path.exists(sat.journal(RELAY)) and os.path.getsize(sat.journal(RELAY)) > size,
                         10), sat.log.tail(10, mark))
        rc = sat.kill() if how == "SIGKILL" else sat.stop()
        check(f"9.{rnd} satellited stopped ({how})", rc is not None, f"exit {rc}")
        smark = sat.start()
        check(f"9.{rnd} after the restart satellited serves serial {new}, the journal applied to the stored copy",
              soa_serial(sat.port, RELAY) == new and sat.log.find(r"zone relay\.test\.: journal brings", smark),
              sat.log.tail(15, smark))
        check(f"9.{rnd} Knot2 is still at serial {before}", soa_serial(knot2.port, RELAY) == before)
        dmark = knot2.log.mark()
        knot2.refresh(RELAY)
        got = wait_until(lambda: soa_serial(knot2.port, RELAY) == new, 20)
        r = ask(knot2.port, f"new{new}.{RELAY}", "A", do=False)
        check(f"9.{rnd} Knot2 serves serial {new} and its new record", got and r is not None and
              r.rcode() == dns.rcode.NOERROR, knot2.log.tail(10, dmark))
        gone = ask(knot2.port, f"new{new - 1}.{RELAY}", "A", do=False)
        check(f"9.{rnd} Knot2 no longer has the record the change removed", gone is not None and
              gone.rcode() == dns.rcode.NXDOMAIN, f"{gone}")
        lines = knot2.log.lines(r"\[relay\.test\.\] [AI]XFR, incoming", dmark)
        check(f"9.{rnd} Knot2's log says IXFR, with no AXFR",
              any("IXFR, incoming" in x and "finished" in x for x in lines) and
              not any("AXFR" in x or "fallback" in x for x in lines), "\n".join(lines) or knot2.log.tail(10, dmark))
        check(f"9.{rnd} satellited answered from the stored differences after the restart",
              sat.log.find(rf"zone relay\.test\.?: IXFR to .* started, serial {new} \(incremental", smark),
              sat.log.tail(10, smark))
    # Both steps are in the journal (1 -> 2 -> 3): RFC 1995 §4's sequence.
    got = relay_ixfr(sat.port, 1)
    want = ["SOA 3", "SOA 1", "SOA 2", f"A new2.{RELAY}", "SOA 2", f"A new2.{RELAY}", "SOA 3", f"A new3.{RELAY}",
            "SOA 3"]
    check("9 IXFR from serial 1 after the restarts: both steps from the journal", got == want, f"{got}")
    got = relay_ixfr(sat.port, (1 - 100) % 2**32)
    check("9 IXFR from a serial older than the journal: an AXFR-style reply",
          isinstance(got, list) and len(got) > 2 and got[0] == "SOA 3" and not got[1].startswith("SOA"), f"{got}")


# ================================================================= main ====
def main():
    ap = arg_parser("satellite feeds a fleet", HERE)
    args = ap.parse_args()
    add_sbin_to_path()
    binary = os.path.abspath(args.satellited)
    # In CI every peer must be there (tools/deps.sh installs them): a missing
    # one is a failure, BIND included; elsewhere BIND is a bonus replica.
    ci = os.environ.get("CI") == "true"
    why = skip_reason(["knotd", "knotc", "nsd", "unbound"] + (["named"] if ci else []), binary)
    if why:
        return cannot_run(why)
    have_bind = skip_reason(["named"], binary) is None
    interrupt_on_sigterm()
    workdir = tempfile.mkdtemp(prefix="satellite-fleet-")
    print(f"work directory: {workdir}; satellited: {binary}", flush=True)
    t0 = time.monotonic()
    harness_error = False
    try:
        sat_port, nsd_port, knot2_port, bind_port = free_port(), free_port(), free_port(), free_port()
        primary = KnotPrimary(workdir, sat_port)
        sat = Satellited(binary, workdir, sat_port, primary.port, nsd_port, knot2_port, bind_port)
        rc, out = check_config(binary, sat.config)
        if not check("0 --check-config accepts provide_xfr and notify", rc == 0, f"exit {rc}: {out}"):
            raise StartFailure("config refused")
        primary.start()
        nsd = Nsd(workdir, nsd_port, sat_port)
        knot2 = KnotReplica(workdir, knot2_port, sat_port)
        bind = BindReplica(workdir, bind_port, sat_port) if have_bind else None
        nsd.start()
        knot2.start()
        if bind:
            bind.start()
        sat.start()
        replicas = [("NSD", nsd_port, nsd.log), ("Knot", knot2_port, knot2.log)]
        if bind:
            replicas.append(("BIND", bind_port, bind.log))
        print("--- 1: replicas pull the signed zone", flush=True)
        first = step_replicas(sat, replicas, "1")
        print("--- 2: validation through the replicas", flush=True)
        step_validate(workdir, sat, replicas)
        print("--- 3: a change on the primary reaches the replicas", flush=True)
        mark = sat.log.mark()
        new = primary.change()
        wait_until(lambda: (signed_state(sat.port) or (first,))[0] != first, 30, interval=0.3)
        second = step_replicas(sat, replicas, "3")
        check("3 satellited's signed serial moved on", second is not None and second != first, f"{first} -> {second}")
        for name, port, log in replicas:
            r = ask(port, f"new{new}.{ZONE}", "A", do=True)
            ok = r is not None and r.rcode() == dns.rcode.NOERROR and any(
                rr.rdtype == dns.rdatatype.RRSIG for rr in r.answer)
            check(f"3 {name} serves the new record new{new}.{ZONE} signed", ok, f"{r}")
        # satellited NOTIFYs only once its listeners are open: no refresh
        # the NOTIFY started on Knot fails (its own start-up try may).
        k2 = knot2.log.text()
        after = k2[k2.find("notify, incoming"):] if "notify, incoming" in k2 else ""
        check("1 the first NOTIFY came once satellited listened: no failed refresh after it on Knot",
              after and not re.search(r"\[fleet\.test\.\] refresh.*failed", after), after[:1500])
        check("3 satellited logged the outgoing transfers", sat.log.find(r"fleet\.test\.?: [AI]XFR to .* done", mark),
              sat.log.tail(10, mark))
        print("--- 4: metrics", flush=True)
        step_metrics(sat, len(replicas))
        print("--- 5: refusals", flush=True)
        step_refusals(sat)
        print("--- 6: AXFR judged by dnspython", flush=True)
        step_axfr_dnspython(sat)
        print("--- 8: the produced catalog", flush=True)
        step_catalog(sat, knot2_port, knot2.log)
        print("--- 7: a client that never reads", flush=True)
        step_stalled_client(sat)
        check("7 satellited still running", sat.alive(), sat.log.tail(10))
        print("--- 9: IXFR out across restarts", flush=True)
        step_restarts(sat, primary, knot2)
        check("9 satellited still running at the end", sat.alive(), sat.log.tail(10))
    except (Exception, KeyboardInterrupt) as e:
        harness_error = record_abort(e, "0 satellited starts with provide_xfr and notify")
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
