# Public-facing hardening (issue 17), each attack on loopback, bounded in
# count and time, and each showing that satellited keeps serving:
#
#   1. TCP (RFC 7766 §6.2.3): 2,000 slow connections from 127.0.0.2 (one
#      byte every 2 s) do not keep a TCP query from 127.0.0.3 from being
#      answered within 1 s, and the server closes them although they keep
#      sending (the idle deadline is not re-armed per byte); idle clients are
#      evicted near the global cap; zero-length and runt frames close the
#      connection while UDP answers keep coming (counted, not timed);
#      pipelined queries beyond one read's budget are all answered.
#   2. A hostile primary sending ~60 KiB records past max_zone_bytes: the
#      transfer is refused, the old version serves, the daemon lives.
#   3. API: a token removed from the config + SIGHUP -> 401.
#   4. NOTIFY refusals are counted in /metrics and their log lines bounded.
#   5. Response rate limiting: a burst of UDP queries from one address gets
#      at most `rate` full answers a second (plus one second's burst), every
#      2nd limited one truncated; an exempt address is not limited.
#   6. DNS cookies (RFC 7873, RFC 9018 server cookies): `dig +cookie` gets a
#      server cookie, and sending it back gets a valid one again; a burst
#      with a valid server cookie is not rate limited while the same burst
#      with only a client cookie is, its slipped answers BADCOOKIE with our
#      cookie; a malformed cookie is FORMERR; a query for a cookie alone
#      (QDCOUNT 0) is NOERROR, or BADCOOKIE with a forged server cookie;
#      SIGHUP rolls the secret over (the previous one still validates, then
#      not once it is dropped).
#   7. Listen addresses on SIGHUP (issue 18), on a second satellited with
#      two workers (each owns its sockets): an added address is bound
#      (UDP and TCP answer there), a removed one is closed, the unchanged
#      one keeps its very socket (same inode in /proc/net/udp, and a TCP
#      connection opened before the reload is answered after it); an
#      address that cannot be bound (held by another socket, or not on this
#      host) is a clear error that changes nothing, and the next reload
#      once it is free binds it.
#
# Run through run.sh (--satellited PATH). Exit 0 when no check failed.
import os
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "xfr"))
from fake_primary import FakePrimary  # noqa: E402
from harness import (cannot_run, CHECKS, LOOP, Api, LogFile, arg_parser, check, finish_workdir, free_port,  # noqa: E402
                     interrupt_on_sigterm, skip, skip_reason, spawn, stop_all, stop_proc, toml_zone, wait_until)

TOKEN = "hardening-admin-secret"
COOKIE_SECRET_A = "e5e973e5a6b2a43f48e7dc849e37bfcf"
COOKIE_SECRET_B = "445536bcd2513298075a5d379663c962"
RELOADED = "hardening-revoked-secret"
IDLE_MS = 3000
RRL_RATE = 10
SLOW_CONNECTIONS = 2000

ZONE = "hard.test."
ZONE_TEXT = """$ORIGIN hard.test.
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 127.0.0.1
www A 192.0.2.1
"""


class Satellited:
    def __init__(self, binary, workdir, name="satellited", threads=1):
        self.binary = binary
        self.threads = threads
        self.idle_ms = IDLE_MS
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "satellite.toml")
        self.log = LogFile(os.path.join(self.dir, "satellited.log"))
        self.port = free_port()
        self.api_port = free_port()
        self.proc = None
        self.tokens = [("admin", TOKEN), ("revoked", RELOADED)]
        self.zones = []
        self.cookie_secret = COOKIE_SECRET_A
        self.cookie_secret_previous = None
        self.extra_listen = []  # "addr:port" besides LOOP:port (scenario 7)
        with open(os.path.join(self.dir, "hard.zone"), "w") as f:
            f.write(ZONE_TEXT)

    def write_config(self):
        listen = ", ".join(f'"{a}"' for a in [f"{LOOP}:{self.port}"] + self.extra_listen)
        out = ["[server]", f"listen = [{listen}]", f"threads = {self.threads}",
               f'state_dir = "{os.path.join(self.dir, "state")}"',
               "tcp_max_connections = 40", "tcp_max_connections_per_client = 16",
               f"tcp_idle_timeout_ms = {self.idle_ms}", f'cookie_secret = "{self.cookie_secret}"']
        if self.cookie_secret_previous:
            out += [f'cookie_secret_previous = "{self.cookie_secret_previous}"']
        out += ["",
               "[server.rrl]", f"rate = {RRL_RATE}", "slip = 2", 'exempt = ["127.0.0.1/32"]', "",
               "[api]", f'listen = "{LOOP}:{self.api_port}"']
        for name, secret in self.tokens:
            out += ["[[api.token]]", f'name = "{name}"', f'secret = "{secret}"',
                    'permissions = ["zone:read", "zone:refresh"]']
        out += ["", "[log]", 'level = "info"', ""]
        out += toml_zone(dict(name=ZONE, file=os.path.join(self.dir, "hard.zone")))
        for z in self.zones:
            out += toml_zone(z)
        with open(self.config, "w") as f:
            f.write("\n".join(out))

    def start(self, timeout=10):
        self.write_config()
        mark = self.log.mark()
        self.proc = spawn([self.binary, "--config", self.config], self.log.path)
        if not self.log.wait(r"listening on", since=mark, timeout=timeout) or self.proc.poll() is not None:
            raise RuntimeError(f"satellited did not start: {self.log.text(mark)[-2000:]}")

    def hup(self, timeout=5):
        self.write_config()
        mark = self.log.mark()
        self.proc.send_signal(signal.SIGHUP)
        return self.log.wait(r"reloaded |reload refused", since=mark, timeout=timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def metric(self, name):
        """The value of an unlabelled /metrics series, or None."""
        api = Api(self.api_port)
        api.token = TOKEN
        r = api.call("GET", "/metrics")
        if r.status != 200:
            return None
        m = re.search(rf"^{re.escape(name)} (\d+)$", r.text, re.M)
        return int(m.group(1)) if m else None


# ---------------------------------------------------------------- helpers ----
def query_wire(name="www.hard.test.", rdtype="A", qid=None):
    q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
    if qid is not None:
        q.id = qid
    return q.to_wire()


def tcp_answered(port, source, timeout=1.0):
    """A TCP query from `source`: answered (NOERROR with an answer) within `timeout`."""
    q = dns.message.make_query("www.hard.test.", "A")
    try:
        r = dns.query.tcp(q, LOOP, port=port, timeout=timeout, source=source)
        return r.rcode() == dns.rcode.NOERROR and len(r.answer) > 0
    except (dns.exception.DNSException, OSError):
        return False


def udp_answered(port, timeout=1.0):
    q = dns.message.make_query("www.hard.test.", "A")
    try:
        r = dns.query.udp(q, LOOP, port=port, timeout=timeout)
        return r.rcode() == dns.rcode.NOERROR
    except (dns.exception.DNSException, OSError):
        return False


def is_closed(sock):
    """The peer closed (FIN or RST) this non-blocking socket."""
    try:
        while True:
            data = sock.recv(65536, socket.MSG_DONTWAIT)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def wait_closed(sock, timeout):
    return wait_until(lambda: is_closed(sock), timeout, interval=0.05)


def connect_from(source, port, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect((LOOP, port))
    s.setblocking(False)
    return s


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ------------------------------------------------------------- scenario 1 ----
def scenario_1_tcp(sat):
    port = sat.port
    check("1.0 TCP query from 127.0.0.3 answered before the attack", tcp_answered(port, "127.0.0.3"))
    refused_before = sat.metric("satellite_tcp_connections_refused_total") or 0

    # 1a. Slow clients: one byte of a query every 2 s on each of 2,000
    # connections from 127.0.0.2, for 9 s (bounded), while 127.0.0.3 asks.
    frame = struct.pack("!H", len(query_wire())) + query_wire()
    slow = []
    t0 = time.monotonic()
    for _ in range(SLOW_CONNECTIONS):
        if time.monotonic() - t0 > 20:
            break
        try:
            slow.append(connect_from("127.0.0.2", port))
        except OSError:
            break
    check("1.1 2,000 TCP connections from 127.0.0.2 opened", len(slow) == SLOW_CONNECTIONS,
          f"{len(slow)} opened")
    answered, asked = 0, 0
    sent = 0
    start = time.monotonic()
    next_byte = start
    next_query = start + 0.5
    while time.monotonic() - start < 9.0:
        now = time.monotonic()
        if now >= next_byte and sent < len(frame) - 1:
            for s in slow:
                try:
                    s.send(frame[sent:sent + 1])
                except OSError:
                    pass
            sent += 1
            next_byte = now + 2.0
        if now >= next_query:
            asked += 1
            answered += tcp_answered(port, "127.0.0.3", timeout=1.0)
            next_query = time.monotonic() + 1.0
        time.sleep(0.05)
    check("1.2 every TCP query from 127.0.0.3 answered within 1 s during the slow-client attack",
          asked >= 5 and answered == asked, f"{answered} of {asked} answered")
    still_open = sum(1 for s in slow if not is_closed(s))
    check(f"1.3 the slow connections are closed by the server although they keep sending "
          f"(idle deadline {IDLE_MS} ms, not re-armed per byte)", still_open == 0,
          f"{still_open} of {len(slow)} still open after 9 s")
    for s in slow:
        s.close()
    refused = (sat.metric("satellite_tcp_connections_refused_total") or 0) - refused_before
    check("1.4 /metrics counts the connections refused by the per-client cap (16)",
          refused >= SLOW_CONNECTIONS - 16 - 40, f"refused {refused}")

    # 1b. Near the global cap (40) idle clients make room: 3 x 16 idle
    # connections from three addresses, then a query from a fourth.
    idle = {}
    for src in ("127.0.0.5", "127.0.0.6", "127.0.0.7"):
        idle[src] = [connect_from(src, port) for _ in range(16)]
    ok = tcp_answered(port, "127.0.0.3", timeout=1.0)
    check("1.5 at the global cap a TCP query from a new client is answered within 1 s", ok)
    time.sleep(0.3)
    evicted = sum(1 for s in idle["127.0.0.5"] if is_closed(s))
    check("1.6 the longest-idle connections were closed to make room", evicted >= 8,
          f"{evicted} of the 16 oldest closed (before the {IDLE_MS} ms idle deadline)")
    for conns in idle.values():
        for s in conns:
            s.close()

    # 1c. Zero-length and runt frames close the connection.
    s = connect_from("127.0.0.4", port)
    try:
        s.send(b"\x00\x00" * 1024)
    except OSError:
        pass
    check("1.7 a zero-length frame closes the connection", wait_closed(s, 2.0))
    s.close()
    s = connect_from("127.0.0.4", port)
    s.send(b"\x00\x05hello")
    check("1.8 a frame shorter than a DNS header closes the connection", wait_closed(s, 2.0))
    s.close()

    # A flood of zero-length frames (new connections, 3 s, at most 2,000)
    # while 200 UDP queries are asked: every one is answered.
    stop = threading.Event()
    flooded = [0]

    def flood():
        end = time.monotonic() + 3.0
        while not stop.is_set() and time.monotonic() < end and flooded[0] < 2000:
            try:
                c = connect_from("127.0.0.4", port)
                try:
                    c.send(b"\x00\x00" * 8192)
                except OSError:
                    pass
                c.close()
                flooded[0] += 1
            except OSError:
                time.sleep(0.01)

    th = threading.Thread(target=flood)
    th.start()
    udp_ok = sum(udp_answered(port, timeout=1.0) for _ in range(200))
    stop.set()
    th.join(10)
    check("1.9 UDP answers keep coming during a zero-length-frame flood", udp_ok == 200,
          f"{udp_ok} of 200 answered ({flooded[0]} flood connections)")

    # 1d. Pipelining past one read's budget (32 frames): all 100 answered in order.
    s = connect_from("127.0.0.3", port)
    s.setblocking(True)
    s.settimeout(5)
    ids = list(range(1000, 1100))
    blob = b"".join(struct.pack("!H", len(w)) + w for w in (query_wire(qid=i) for i in ids))
    s.sendall(blob)
    got = []
    try:
        while len(got) < len(ids):
            hdr = s.recv(2, socket.MSG_WAITALL)
            if len(hdr) < 2:
                break
            (n,) = struct.unpack("!H", hdr)
            body = s.recv(n, socket.MSG_WAITALL)
            got.append(struct.unpack("!H", body[:2])[0])
    except OSError:
        pass
    s.close()
    check("1.10 100 pipelined queries in one write are all answered, in order", got == ids,
          f"{len(got)} answered")
    check("1.11 satellited alive after the TCP attacks", sat.alive())


# ------------------------------------------------------------- scenario 2 ----
BIG = "big.test."
BIG_MAX_BYTES = 1 << 20


def big_record(i):
    """A TXT record of about 60 KiB (235 strings of 255 bytes), as wire bytes."""
    rdata = (bytes([255]) + b"x" * 255) * 235
    owner = dns.name.from_text(f"r{i}", dns.name.from_text(BIG))
    return owner.to_wire() + struct.pack("!HHIH", 16, 1, 300, len(rdata)) + rdata


def setup_big(ctx):
    fp = FakePrimary(free_port())
    ctx["fakes"].append(fp)
    z = fp.add_zone(BIG, refresh=3600, retry=3600, expire=86400)
    z.publish(1, [("www", 300, "A", "192.0.2.1")])
    fp.start()
    ctx["big"] = (fp, z)
    ctx["sat"].zones.append(dict(name=BIG, primaries=[f"127.0.0.1:{fp.port}"], max_zone_bytes=BIG_MAX_BYTES,
                                 transfer_timeout=20))


def serial_of(port, zone):
    try:
        r = dns.query.udp(dns.message.make_query(zone, "SOA"), LOOP, port=port, timeout=1.0)
        for rr in r.answer:
            if rr.rdtype == dns.rdatatype.SOA:
                return rr[0].serial
    except (dns.exception.DNSException, OSError):
        pass
    return None


def scenario_2_hostile_primary(ctx):
    sat = ctx["sat"]
    fp, z = ctx["big"]
    check("2.1 the zone from the fake primary is served (serial 1)",
          wait_until(lambda: serial_of(sat.port, BIG) == 1, 10), f"serial {serial_of(sat.port, BIG)}")
    # Serial 2: 64 records of ~60 KiB (~3.8 MB) against max_zone_bytes = 1 MiB.
    z.publish(2, [("www", 300, "A", "192.0.2.2")], raw=[big_record(i) for i in range(64)])
    mark = sat.log.mark()
    api = Api(sat.api_port)
    api.token = TOKEN
    r = api.call("POST", f"/api/v1/zones/{BIG.rstrip('.')}/refresh")
    check("2.2 refresh requested over the API", r.status in (200, 202), repr(r))
    refused = sat.log.wait(r"big\.test\..*exceeds max_zone_bytes", since=mark, timeout=15)
    check("2.3 the transfer past max_zone_bytes is refused, with zone and primary in the log", bool(refused),
          sat.log.tail(10, mark))
    check("2.4 the log line names the primary",
          bool(sat.log.find(rf"big\.test\..*127\.0\.0\.1:{fp.port}.*exceeds max_zone_bytes", since=mark)),
          sat.log.tail(10, mark))
    check("2.5 the old version (serial 1) still serves", serial_of(sat.port, BIG) == 1,
          f"serial {serial_of(sat.port, BIG)}")
    check("2.6 satellited alive after the hostile transfer", sat.alive())


# ------------------------------------------------------------- scenario 3 ----
def scenario_3_token_reload(ctx):
    sat = ctx["sat"]
    api = Api(sat.api_port)
    r = api.call("GET", "/api/v1/zones", token=RELOADED)
    check("3.1 the token to be revoked works before the reload", r.status == 200, repr(r))
    sat.tokens = [t for t in sat.tokens if t[1] != RELOADED]
    check("3.2 SIGHUP reloads the config", bool(sat.hup()), sat.log.tail(5))
    r = wait_until(lambda: api.call("GET", "/api/v1/zones", token=RELOADED).status == 401, 5, interval=0.1)
    check("3.3 a token removed from the config + SIGHUP -> 401", bool(r),
          repr(api.call("GET", "/api/v1/zones", token=RELOADED)))
    r = api.call("GET", "/api/v1/zones", token=TOKEN)
    check("3.4 the tokens still configured keep working", r.status == 200, repr(r))


# ------------------------------------------------------------- scenario 4 ----
def make_notify(zone):
    m = dns.message.make_query(zone, "SOA")
    m.set_opcode(dns.opcode.NOTIFY)
    m.flags |= dns.flags.AA
    return m


def scenario_4_notify_refusals(ctx):
    sat = ctx["sat"]
    before = metric_labelled(sat, "satellite_notify_refused_total", 'reason="not_allowed"') or 0
    mark = sat.log.mark()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.5", 0))
    s.settimeout(1.0)
    answered = 0
    t0 = time.monotonic()
    for i in range(500):  # bounded: 500 NOTIFYs, 20 s at most
        if time.monotonic() - t0 > 20:
            break
        m = make_notify(BIG)
        s.sendto(m.to_wire(), (LOOP, sat.port))
        try:
            data, _ = s.recvfrom(4096)
            r = dns.message.from_wire(data)
            answered += r.rcode() == dns.rcode.REFUSED
        except (OSError, dns.exception.DNSException):
            pass
    s.close()
    elapsed = time.monotonic() - t0
    check("4.1 NOTIFYs from an address not in notify_allow are REFUSED", answered >= 490, f"{answered} of 500")
    after = wait_until(lambda: (metric_labelled(sat, "satellite_notify_refused_total", 'reason="not_allowed"') or 0)
                       - before >= answered, 5)
    now = metric_labelled(sat, "satellite_notify_refused_total", 'reason="not_allowed"') or 0
    check("4.2 /metrics counts them by reason", bool(after), f"counted {now - before}, refused {answered}")
    sat.log.wait(r"NOTIFYs? refused since the last report", since=mark, timeout=3)
    time.sleep(1.5)  # the last summary line
    lines = sat.log.lines(lambda l: "NOTIFY" in l, mark)
    summaries = [l for l in lines if "refused since the last report" in l]
    check("4.3 the refusals are logged as at most one summary line a second",
          1 <= len(summaries) <= int(elapsed) + 3 and len(lines) == len(summaries),
          f"{len(lines)} NOTIFY lines ({len(summaries)} summaries) for {answered} refusals in {elapsed:.1f} s")
    check("4.4 a summary names the zone and the sender",
          any("NOTIFY for big.test. from 127.0.0.5 refused" in l for l in summaries), "\n".join(summaries[:3]))
    check("4.5 queries are still answered", udp_answered(sat.port))


# ------------------------------------------------------------- scenario 5 ----
def udp_burst(port, source, n):
    """n queries sent at once from `source`, then answers collected for 1.5 s:
    (full answers, truncated answers, seconds from the first send to the last answer)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    t0 = time.monotonic()
    for i in range(n):
        s.sendto(query_wire(qid=i), (LOOP, port))
    full = truncated = 0
    s.settimeout(0.2)
    end = time.monotonic() + 1.5
    last = t0
    while time.monotonic() < end:
        try:
            data, _ = s.recvfrom(4096)
        except OSError:
            continue
        last = time.monotonic()
        if len(data) >= 4 and data[2] & 0x02:
            truncated += 1
        else:
            full += 1
    s.close()
    return full, truncated, last - t0


def scenario_5_rrl(ctx):
    sat = ctx["sat"]
    full, truncated, took = udp_burst(sat.port, "127.0.0.6", 300)
    # The bucket starts full (one second's worth) and refills at `rate` a second.
    bound = RRL_RATE * (2 + int(took) + 1)
    check("5.1 a burst from one address gets at most rate x seconds (+ burst) full answers",
          1 <= full <= bound, f"{full} full answers of 300 in {took:.2f} s (bound {bound})")
    limited = 300 - full
    check("5.2 every 2nd limited answer goes out truncated (slip 2)",
          abs(truncated - limited // 2) <= 2, f"{truncated} truncated, {limited} limited")
    full_x, truncated_x, _ = udp_burst(sat.port, "127.0.0.1", 100)
    check("5.3 an exempt address is not limited", full_x == 100 and truncated_x == 0,
          f"{full_x} full, {truncated_x} truncated of 100")
    slipped = metric_labelled(sat, "satellite_rrl_limited_total", 'action="slipped"') or 0
    dropped = metric_labelled(sat, "satellite_rrl_limited_total", 'action="dropped"') or 0
    check("5.4 /metrics counts the limited responses", slipped >= truncated and slipped + dropped >= limited,
          f"slipped {slipped}, dropped {dropped}")
    check("5.5 TCP from the limited address is still answered", tcp_answered(sat.port, "127.0.0.6"))


def metric_labelled(sat, name, label):
    api = Api(sat.api_port)
    api.token = TOKEN
    r = api.call("GET", "/metrics")
    if r.status != 200:
        return None
    m = re.search(rf"^{re.escape(name)}{{{re.escape(label)}}} (\d+)$", r.text, re.M)
    return int(m.group(1)) if m else None


# ------------------------------------------------------------- scenario 6 ----
def cookie_query(cookie, qid=0, empty=False):
    """A query with a COOKIE option holding `cookie` (bytes); `empty`: no
    question (RFC 7873 §5.4)."""
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 4 + len(cookie)) + struct.pack("!HH", 10, len(cookie)) + cookie
    if empty:
        return struct.pack("!HHHHHH", qid, 0, 0, 0, 0, 1) + opt
    question = dns.name.from_text("www.hard.test.").to_wire() + struct.pack("!HH", 1, 1)
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1) + question + opt


def reply_cookie(wire):
    """(rcode with the extended bits, the COOKIE option's bytes or None, answer count)."""
    m = dns.message.from_wire(wire)
    cookie = None
    for o in m.options:
        if o.otype == 10:
            cookie = o.to_wire()
    return m.rcode(), cookie, len(m.answer)


def udp_exchange(port, wire, source=LOOP, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.sendto(wire, (LOOP, port))
        data, _ = s.recvfrom(4096)
        return data
    finally:
        s.close()


def cookie_burst(port, source, cookie, n):
    """n queries with `cookie` at once from `source`; (full answers, truncated, BADCOOKIE with our cookie)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    for i in range(n):
        s.sendto(cookie_query(cookie, qid=i), (LOOP, port))
    full = truncated = badcookie = 0
    s.settimeout(0.2)
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        try:
            data, _ = s.recvfrom(4096)
        except OSError:
            continue
        rcode, got, answers = reply_cookie(data)
        if rcode == dns.rcode.BADCOOKIE and got is not None and len(got) == 24:
            badcookie += 1
        elif data[2] & 0x02:
            truncated += 1
        elif answers == 1:
            full += 1
    s.close()
    return full, truncated, badcookie


def dig_cookie(port, cookie_arg):
    out = subprocess.run(["dig", f"@{LOOP}", "-p", str(port), "+norec", "+tries=1", "+time=2",
                          cookie_arg, "www.hard.test.", "A"], capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"; COOKIE: ([0-9a-f]+)(?: \((\w+)\))?", out)
    return (m.group(1), m.group(2)) if m else (None, None), out


def scenario_6_cookies(ctx):
    sat = ctx["sat"]
    client = "0123456789abcdef"
    (cookie, verdict), out = dig_cookie(sat.port, f"+cookie={client}")
    check("6.1 dig +cookie gets our server cookie (16 octets, RFC 9018 version 1) with its client cookie",
          cookie is not None and len(cookie) == 48 and cookie.startswith(client + "01000000") and verdict == "good",
          out[-1500:])
    (again, verdict2), out2 = dig_cookie(sat.port, f"+cookie={cookie}")
    check("6.2 the cookie sent back is valid: the same one returned (it is not half an hour old)",
          again == cookie and verdict2 == "good" and "status: NOERROR" in out2, out2[-1500:])
    full_bytes = bytes.fromhex(cookie) if cookie else b"\x00" * 24
    rc, _, _ = reply_cookie(udp_exchange(sat.port, cookie_query(full_bytes, empty=True)))
    check("6.3 a query for a cookie alone (QDCOUNT 0) with a valid server cookie: NOERROR", rc == dns.rcode.NOERROR,
          dns.rcode.to_text(rc))
    forged = full_bytes[:-1] + bytes([full_bytes[-1] ^ 1])
    rc, got, _ = reply_cookie(udp_exchange(sat.port, cookie_query(forged, empty=True)))
    check("6.4 ... with a forged server cookie: BADCOOKIE and a fresh cookie",
          rc == dns.rcode.BADCOOKIE and got is not None and got[:8] == full_bytes[:8], dns.rcode.to_text(rc))
    rc, got, _ = reply_cookie(udp_exchange(sat.port, cookie_query(b"\x01" * 9)))
    check("6.5 a 9-octet cookie is FORMERR (RFC 7873 §5.2.2)", rc == dns.rcode.FORMERR and got is None,
          dns.rcode.to_text(rc))

    # A valid server cookie exempts from RRL; the cookie is bound to the
    # client's address, so it is learned from the address that floods.
    source = "127.0.0.7"
    _, learned, _ = reply_cookie(udp_exchange(sat.port, cookie_query(bytes.fromhex(client)), source=source))
    full, truncated, bad = cookie_burst(sat.port, source, learned or b"", 200)
    check("6.6 a burst of 200 with a valid server cookie is not rate limited", full == 200 and truncated == 0 and bad == 0,
          f"{full} full, {truncated} truncated, {bad} BADCOOKIE")
    full, truncated, bad = cookie_burst(sat.port, "127.0.0.8", bytes.fromhex(client), 200)
    bound = RRL_RATE * 4
    check("6.7 the same burst with only a client cookie is limited; slipped answers are BADCOOKIE with our cookie",
          1 <= full <= bound and bad >= 20 and truncated == 0,
          f"{full} full (bound {bound}), {truncated} truncated, {bad} BADCOOKIE")
    _, stolen, _ = reply_cookie(udp_exchange(sat.port, cookie_query(learned or b"\x00" * 24), source="127.0.0.9"))
    check("6.8 a cookie learned by another address is not valid here (a fresh one comes back)",
          stolen is not None and learned is not None and stolen[8:] != learned[8:], "")

    # SIGHUP: roll to secret B keeping A as previous; then drop A.
    sat.cookie_secret, sat.cookie_secret_previous = COOKIE_SECRET_B, COOKIE_SECRET_A
    check("6.9 SIGHUP with a new cookie_secret and the old one as cookie_secret_previous reloads", sat.hup())
    rc, got, _ = reply_cookie(udp_exchange(sat.port, cookie_query(full_bytes, empty=True)))
    check("6.10 a cookie of the previous secret still validates, and a new-secret cookie comes back",
          rc == dns.rcode.NOERROR and got is not None and got[8:] != full_bytes[8:], dns.rcode.to_text(rc))
    sat.cookie_secret_previous = None
    check("6.11 SIGHUP dropping the previous secret reloads", sat.hup())
    rc, _, _ = reply_cookie(udp_exchange(sat.port, cookie_query(full_bytes, empty=True)))
    check("6.12 ... and the old cookie is BADCOOKIE now", rc == dns.rcode.BADCOOKIE, dns.rcode.to_text(rc))
    check("6.13 queries are still answered", udp_answered(sat.port))
    valid = metric_labelled(sat, "satellite_cookies_total", 'status="valid"') or 0
    malformed = metric_labelled(sat, "satellite_cookies_total", 'status="malformed"') or 0
    check("6.14 /metrics counts cookies by status", valid >= 200 and malformed >= 1,
          f"valid {valid}, malformed {malformed}")


# ------------------------------------------------------------- scenario 7 ----
def dig_answers(addr, port, tcp=False):
    """`dig` at addr:port: True when it gets www.hard.test.'s address."""
    argv = ["dig", f"@{addr}", "-p", str(port), "www.hard.test.", "A", "+short", "+time=1", "+tries=1"]
    if tcp:
        argv.append("+tcp")
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except subprocess.TimeoutExpired:
        return False
    return "192.0.2.1" in out


def udp_inodes(addr, port):
    """The inodes of the UDP sockets bound to addr:port (/proc/net/udp)."""
    want = "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(addr))[0], port)
    with open("/proc/net/udp") as f:
        return {line.split()[9] for line in f.readlines()[1:] if line.split()[1] == want}


def scenario_7_listen_reload(ctx):
    # A daemon of its own with two workers: each binds and closes its own
    # SO_REUSEPORT sockets, and the kernel spreads dig's queries over both.
    sat = Satellited(ctx["sat"].binary, ctx["workdir"], name="satellited-listen", threads=2)
    sat.idle_ms = 120_000  # the TCP connection held across the reloads is not closed as idle meanwhile
    sat.start()
    try:
        listen_reload_checks(sat)
    finally:
        rc = stop_proc(sat.proc)
        check("7.20 the two-worker daemon stops with exit status 0", rc == 0, f"exit status {rc}")


def listen_reload_checks(sat):
    added, later = "127.0.0.5", "127.0.0.6"
    p_added, p_later = free_port(added), free_port(later)
    kept_before = udp_inodes(LOOP, sat.port)
    held = socket.create_connection((LOOP, sat.port), timeout=2)  # open across the reloads
    try:
        sat.extra_listen = [f"{added}:{p_added}"]
        mark = sat.log.mark()
        check("7.1 SIGHUP adding a listen address reloads", bool(sat.hup()), sat.log.tail(5, mark))
        check("7.2 the reload logs the new listen list",
              bool(sat.log.find(rf"reload: listening on .*{re.escape(added)} port {p_added}", since=mark)),
              sat.log.tail(5, mark))
        check("7.3 dig over UDP at the added address is answered (8 queries, both workers)",
              all(dig_answers(added, p_added) for _ in range(8)))
        check("7.4 dig over TCP at the added address is answered", dig_answers(added, p_added, tcp=True))
        check("7.5 the unchanged address keeps its UDP socket (same inode)",
              bool(kept_before) and udp_inodes(LOOP, sat.port) == kept_before,
              f"before {kept_before}, after {udp_inodes(LOOP, sat.port)}")
        check("7.6 dig at the unchanged address is answered", dig_answers(LOOP, sat.port))

        # Replace the added address by another: one bound, one closed.
        sat.extra_listen = [f"{later}:{p_later}"]
        mark = sat.log.mark()
        check("7.7 SIGHUP replacing the added address reloads", bool(sat.hup()), sat.log.tail(5, mark))
        check("7.8 dig at the newly added address is answered", dig_answers(later, p_later))
        check("7.9 the removed address no longer answers (UDP socket gone)",
              not udp_inodes(added, p_added) and not dig_answers(added, p_added),
              f"sockets {udp_inodes(added, p_added)}")
        refused = False
        try:
            socket.create_connection((added, p_added), timeout=2).close()
        except OSError:
            refused = True
        check("7.10 the removed address refuses TCP connections", refused)

        # A TCP connection opened before both reloads still gets answers.
        wire = query_wire()
        held.sendall(struct.pack("!H", len(wire)) + wire)
        held.settimeout(3)
        try:
            n = struct.unpack("!H", held.recv(2))[0]
            reply = dns.message.from_wire(held.recv(n, socket.MSG_WAITALL))
            ok = reply.rcode() == dns.rcode.NOERROR and len(reply.answer) > 0
        except (OSError, struct.error, dns.exception.DNSException) as e:
            ok, reply = False, e
        check("7.11 a TCP connection to the unchanged address opened before the reloads is answered", ok,
              str(reply)[:300])
    finally:
        held.close()

    # An address held by another socket: a clear error, nothing changes.
    blocked = "127.0.0.7"
    p_blocked = free_port(blocked)
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind((blocked, p_blocked))
    try:
        sat.extra_listen = [f"{later}:{p_later}", f"{blocked}:{p_blocked}"]
        mark = sat.log.mark()
        sat.hup()
        line = sat.log.find(r"reload: \[server\] listen not changed.*", since=mark)
        check("7.12 a listen address in use is a clear reload error naming it",
              bool(line) and f"{blocked}:{p_blocked}" in line[0] and "in use" in line[0],
              sat.log.tail(5, mark))
        check("7.13 after the failed rebind the running addresses still answer",
              dig_answers(later, p_later) and dig_answers(LOOP, sat.port))
        check("7.14 satellited alive after the failed rebind", sat.alive())
    finally:
        blocker.close()
    mark = sat.log.mark()
    sat.hup()  # the same config, now that the address is free: tried again
    check("7.15 the next reload binds the address once it is free", dig_answers(blocked, p_blocked),
          sat.log.tail(5, mark))

    # An address not on this host (TEST-NET-1): EADDRNOTAVAIL, named.
    sat.extra_listen = [f"{later}:{p_later}", f"{blocked}:{p_blocked}", "192.0.2.1:53"]
    mark = sat.log.mark()
    sat.hup()
    line = sat.log.find(r"reload: \[server\] listen not changed.*", since=mark)
    check("7.16 an address not on this host is a clear reload error naming it",
          bool(line) and "192.0.2.1:53" in line[0], sat.log.tail(5, mark))
    check("7.17 every running address still answers after it",
          dig_answers(later, p_later) and dig_answers(blocked, p_blocked) and dig_answers(LOOP, sat.port))
    sat.extra_listen = []
    sat.hup()
    check("7.18 a reload back to one address closes the others",
          not udp_inodes(later, p_later) and not udp_inodes(blocked, p_blocked) and dig_answers(LOOP, sat.port))
    check("7.19 satellited alive after the listen reloads", sat.alive())


# --------------------------------------------------------------------- main ----
def main():
    ap = arg_parser("satellited public-facing hardening", HERE)
    args = ap.parse_args()
    binary = os.path.abspath(args.satellited)
    reason = skip_reason(["dig"], binary)
    if reason:
        return skip(reason, "0 passed, 0 failed")
    interrupt_on_sigterm()
    have = raise_nofile(SLOW_CONNECTIONS + 1000)
    if have < SLOW_CONNECTIONS + 200:
        return cannot_run(f"RLIMIT_NOFILE {have} is too low for {SLOW_CONNECTIONS} connections")
    workdir = tempfile.mkdtemp(prefix="sat-hardening-")
    t0 = time.monotonic()
    fakes = []
    try:
        sat = Satellited(binary, workdir)
        ctx = dict(sat=sat, fakes=fakes, workdir=workdir)
        setup_extra(ctx)
        sat.start()
        wait_until(lambda: udp_answered(sat.port), 10)
        for n, fn in SCENARIOS:
            print(f"--- scenario {n}: {fn.__name__} ({time.monotonic() - t0:.0f} s)", flush=True)
            try:
                fn(ctx)
            except Exception:
                check(f"{n}.x scenario ran to the end", False, traceback.format_exc())
            if not sat.alive():
                check(f"{n}.y satellited still running", False, sat.log.text()[-3000:])
                break
        check("z satellited never crashed", sat.alive(), f"exit {sat.proc.poll() if sat.proc else None}")
        rc = stop_proc(sat.proc)
        check("z SIGTERM stops satellited with exit status 0", rc == 0, f"exit status {rc}")
    except KeyboardInterrupt as e:
        check("harness interrupted", False, str(e))
    except Exception:
        check("harness set-up", False, traceback.format_exc())
    finally:
        stop_all(gentle=False)
        for f in fakes:
            f.stop()
        finish_workdir(workdir, t0, args.keep or CHECKS.failed, kept="logs kept in")
    if CHECKS.failures:
        print("failed: " + "; ".join(CHECKS.failures))
    print(f"{CHECKS.passed} passed, {CHECKS.failed} failed")
    return 0 if CHECKS.failed == 0 else 1


def setup_extra(ctx):
    """Zones and peers the later scenarios need, before satellited starts."""
    setup_big(ctx)


SCENARIOS = [(1, lambda ctx: scenario_1_tcp(ctx["sat"])), (2, scenario_2_hostile_primary),
             (3, scenario_3_token_reload), (4, scenario_4_notify_refusals), (5, scenario_5_rrl),
             (6, scenario_6_cookies), (7, scenario_7_listen_reload)]

if __name__ == "__main__":
    sys.exit(main())
