# A scripted primary for the transfer tests (NSD's tpkg idea): a TCP server on
# loopback that answers AXFR/IXFR for a few zones, well or badly, and SOA
# queries (over TCP, and over UDP on the same port number). What it does is
# chosen per zone by `mode` (set between transfers); every AXFR/IXFR request
# is recorded in `requests` so a test can tell an IXFR from an AXFR and count
# attempts, every SOA query in `soa_queries` (the same tuple shape).
#
# Records are kept as ready-made wire bytes (owner uncompressed), so large
# zones (hundreds of thousands of records) are cheap to build and send.
#
#   p = FakePrimary(port)                  # not started yet
#   z = p.add_zone("bad.test.", refresh=3600, ...)
#   z.publish(serial, [("www", 300, "A", "192.0.2.1"), ...])   # a new version
#   z.restore(1000, [...])                 # restored from a backup: a LOWER serial is
#                                          # current, no history (IXFR -> whole zone)
#   z.restore(1000, [...], after_next_soa=True)  # the same, as the next SOA answer is
#                                          # made (a rollback between probe and transfer)
#   p.mode["bad.test."] = "cut"            # misbehave from now on
#   p.start(); ...; p.stop()               # stop: closes the listener and every connection
#
# SOA queries get the current SOA (AA, TSIG-signed when the zone has a key;
# NOTAUTH when it has one and the query is not signed) in every mode except
# `refused` (REFUSED) and `silent` (never answered); `soa_mode[zone]` =
# "honest" | "refused" | "silent" overrides that for one zone (e.g. a primary
# that answers SOA queries but refuses transfers).
#
# Modes (for both AXFR and IXFR requests unless said otherwise):
#   good            AXFR: the current version; IXFR: one difference sequence
#                   per version published since the client's serial when that
#                   one is known (else AXFR-style), one SOA when it is current
#   nojournal       like good, but IXFR is always answered AXFR-style (the
#                   whole current version), as by a primary without a journal
#   slow            like good but AXFR-style, `slow_delay` seconds between messages
#   cut             two full messages, then half of a third, then close
#   badsoa          the final SOA carries another serial
#   nosoa           the stream starts with an NS record
#   outofzone       one record owned by a name outside the zone
#   badclass        one record of class CH
#   toomany         `toomany_count` distinct records (plus SOA/NS)
#   hugerrset       `huge_count` A records at one name
#   comploop_owner  a record whose owner is a compression pointer to itself
#   comploop_rdata  an NS record whose RDATA name points to itself
#   garbage         a plausible header (right ID, QR) followed by random bytes
#   wrongid         a good stream with another message ID
#   trailing        records after the final SOA, in the same message
#   refused         rcode REFUSED
#   silent          accepts, reads the request, never answers
#   ixfr_inconsistent  IXFR: deletes a record no one ever had; AXFR: good
import hashlib
import hmac
import random
import socket
import struct
import threading
import time

import dns.exception
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
from harness import recv_exact  # tests/integration/lib, on the path of xfr_test.py

MAX_MSG = 16000  # bytes of records per message (well under 64 KiB)
SILENT_LIMIT = 60.0  # a silent connection is held at most this long


def rr_wire(origin, owner, ttl, rdtype, text, rdclass=dns.rdataclass.IN):
    """One record as wire bytes: uncompressed owner, type, class, TTL, RDATA."""
    name = dns.name.from_text(owner, origin)
    rt = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
    rd = dns.rdata.from_text(dns.rdataclass.IN, rt, text, origin, relativize=False)
    w = rd.to_wire()
    return name.to_wire() + struct.pack("!HHIH", rt, rdclass, ttl, len(w)) + w


class Zone:
    """Versions of one zone: serial -> frozenset of record wires (no SOA)."""

    def __init__(self, origin, refresh=3600, retry=3600, expire=86400, minimum=60):
        self.origin = dns.name.from_text(origin)
        self.key = self.origin.to_text().lower()
        self.timers = (refresh, retry, expire, minimum)
        self.versions = {}
        self.serial = None
        self.tsig = None  # a dns.tsig.Key: requests must be signed, every answer is
        self.pending_restore = None  # (serial, records) applied with the next SOA answer
        # Reentrant: a test may hold it around publish() + restore() so that no
        # SOA answer comes in between.
        self.lock = threading.RLock()

    def soa(self, serial):
        r, rt, e, m = self.timers
        return rr_wire(self.origin, "@", 300, "SOA", f"ns1 hostmaster {serial} {r} {rt} {e} {m}")

    def rr(self, owner, ttl, rdtype, text):
        return rr_wire(self.origin, owner, ttl, rdtype, text)

    def base_records(self):
        return [self.rr("@", 300, "NS", "ns1"), self.rr("ns1", 300, "A", "127.0.0.1")]

    def publish(self, serial, records=(), raw=()):
        """A new current version: NS/ns1 + `records` (tuples) + `raw` (wire bytes)."""
        recs = self.base_records() + [self.rr(*r) for r in records] + list(raw)
        with self.lock:
            self.versions[serial] = recs
            self.serial = serial

    def restore(self, serial, records=(), raw=(), after_next_soa=False):
        """The primary restored from a backup: `serial` (may be LOWER than the
        current one) becomes the current version and the only one known, so an
        IXFR from any other serial is answered with the whole zone. With
        `after_next_soa`, this happens as the next SOA answer for the zone is
        made (that answer has the old serial, every later request gets this)."""
        recs = self.base_records() + [self.rr(*r) for r in records] + list(raw)
        with self.lock:
            if after_next_soa:
                self.pending_restore = (serial, recs)
                return
            self.versions = {serial: recs}
            self.serial = serial
            self.pending_restore = None

    def serial_for_soa_answer(self):
        """The serial an SOA answer gives: the current one. A pending restore
        takes effect at the same moment (before the answer is even sent), so
        a transfer asked for after that answer always gets the restored zone."""
        with self.lock:
            serial = self.serial
            if self.pending_restore is not None:
                rserial, recs = self.pending_restore
                self.versions = {rserial: recs}
                self.serial = rserial
                self.pending_restore = None
            return serial

    def current(self):
        with self.lock:
            return self.serial, self.versions[self.serial]


def _question(origin, qtype):
    return origin.to_wire() + struct.pack("!HH", qtype, 1)


def messages(qid, origin, qtype, rrs, rcode=0, max_size=MAX_MSG):
    """Packs record wires into as many response messages as needed."""
    q = _question(origin, qtype)
    out, cur, size = [], [], 0
    for r in rrs:
        if cur and size + len(r) > max_size:
            out.append((cur, size))
            cur, size = [], 0
        cur.append(r)
        size += len(r)
    if cur or not out:
        out.append((cur, size))
    return [struct.pack("!HHHHHH", qid, 0x8400 | rcode, 1, len(c), 0, 0) + q + b"".join(c)
            for c, _ in out]


class TsigSigner:
    """Signs each message of one response stream (RFC 8945 §4.3, §5.3.1)."""

    HASHES = {"hmac-sha256.": hashlib.sha256, "hmac-sha384.": hashlib.sha384,
              "hmac-sha512.": hashlib.sha512}

    def __init__(self, key, request_mac):
        self.key = key
        self.hash = self.HASHES[key.algorithm.to_text().lower()]
        self.prior = request_mac
        self.first = True
        self.name = key.name.canonicalize().to_wire()
        self.alg = key.algorithm.canonicalize().to_wire()

    def sign(self, msg):
        now = int(time.time())
        t48 = struct.pack("!HI", now >> 32, now & 0xFFFFFFFF)
        fudge = 300
        h = hmac.new(self.key.secret, digestmod=self.hash)
        h.update(struct.pack("!H", len(self.prior)) + self.prior)
        h.update(msg)
        if self.first:
            h.update(self.name + struct.pack("!HI", 255, 0) + self.alg + t48 + struct.pack("!HHH", fudge, 0, 0))
        else:
            h.update(t48 + struct.pack("!H", fudge))
        mac = h.digest()
        self.prior, self.first = mac, False
        rdata = self.alg + t48 + struct.pack("!HH", fudge, len(mac)) + mac + msg[0:2] + struct.pack("!HH", 0, 0)
        rr = self.name + struct.pack("!HHIH", 250, 255, 0, len(rdata)) + rdata
        arcount = struct.unpack_from("!H", msg, 10)[0] + 1
        return msg[:10] + struct.pack("!H", arcount) + msg[12:] + rr


class FakePrimary:
    def __init__(self, port, host="127.0.0.1"):
        self.host, self.port = host, port
        self.zones = {}
        self.mode = {}
        self.requests = []  # (time, zone, "AXFR"|"IXFR", client serial or None, connection number)
        # (time, zone, "SOA", serial in the query's authority section or None,
        # connection number; 0 for a query over UDP)
        self.soa_queries = []
        self.other_queries = []  # any other question (answered NOTAUTH), same shape
        self.soa_mode = {}  # zone -> "honest" | "refused" | "silent": overrides what `mode` implies
        self.sent = {}  # connection number -> messages sent
        self.slow_delay = 0.03
        self.slow_msg_size = MAX_MSG
        self.toomany_count = 100_000
        self.huge_count = 70_000
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = None
        self._thread = None
        self._udp = None
        self._udp_thread = None
        self._conns = set()
        self._nconn = 0

    # ---- control -------------------------------------------------------
    def add_zone(self, origin, **timers):
        z = Zone(origin, **timers)
        self.zones[z.key] = z
        self.mode[z.key] = "good"
        return z

    def start(self):
        self._stop.clear()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, self.port))
        s.listen(16)
        s.settimeout(0.1)
        self._sock = s
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((self.host, self.port))
        u.settimeout(0.1)
        self._udp = u
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        self._udp_thread = threading.Thread(target=self._udp_loop, daemon=True)
        self._udp_thread.start()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._thread = None
        if self._udp_thread:
            self._udp_thread.join(timeout=5)
        self._udp_thread = None
        if self._sock:
            self._sock.close()
            self._sock = None
        if self._udp:
            self._udp.close()
            self._udp = None
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def requests_since(self, t, zone=None):
        with self._lock:
            return [r for r in self.requests if r[0] >= t and (zone is None or r[1] == zone)]

    def soa_queries_since(self, t, zone=None):
        with self._lock:
            return [r for r in self.soa_queries if r[0] >= t and (zone is None or r[1] == zone)]

    def open_connections(self):
        """TCP connections being served now."""
        with self._lock:
            return len(self._conns)

    def sent_on(self, n):
        with self._lock:
            return self.sent.get(n, 0)

    def max_sent(self):
        with self._lock:
            return max(self.sent.values(), default=0)

    # ---- serving ---------------------------------------------------------
    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                c, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self._conns.add(c)
                self._nconn += 1
                n = self._nconn
            threading.Thread(target=self._serve, args=(c, n), daemon=True).start()

    def _parse(self, wire):
        """(query, key of the zone asked for, qtype, client serial)."""
        keyring = {z.tsig.name: z.tsig for z in self.zones.values() if z.tsig}
        q = dns.message.from_wire(wire, keyring=keyring or None)
        qname = q.question[0].name
        client_serial = None
        for rrset in q.authority:
            if rrset.rdtype == dns.rdatatype.SOA:
                client_serial = rrset[0].serial
        return q, qname.to_text().lower(), q.question[0].rdtype, client_serial

    def _record(self, n, key, qtype, client_serial):
        kind = dns.rdatatype.to_text(qtype)
        entry = (time.monotonic(), key, kind, client_serial, n)
        with self._lock:
            if qtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
                self.requests.append(entry)
            elif qtype == dns.rdatatype.SOA:
                self.soa_queries.append(entry)
            else:
                self.other_queries.append(entry)
            self.sent[n] = 0

    def soa_behaviour(self, key):
        """What an SOA query for zone `key` gets: "honest", "refused" or "silent"."""
        if key in self.soa_mode:
            return self.soa_mode[key]
        m = self.mode.get(key, "good")
        return m if m in ("refused", "silent") else "honest"

    def _soa_reply(self, q, key):
        """The answer to an SOA query (wire bytes, signed when the zone has a
        key), or None to stay silent."""
        qname = q.question[0].name
        zone = self.zones.get(key)
        if zone is None:
            return messages(q.id, qname, dns.rdatatype.SOA, [], rcode=9)[0]
        if zone.tsig is not None and not q.had_tsig:
            return messages(q.id, qname, dns.rdatatype.SOA, [], rcode=9)[0]
        how = self.soa_behaviour(key)
        if how == "silent":
            return None
        signer = TsigSigner(zone.tsig, q.mac) if zone.tsig is not None else None
        if how == "refused":
            m = messages(q.id, qname, dns.rdatatype.SOA, [], rcode=5)[0]
            return signer.sign(m) if signer else m
        m = messages(q.id, qname, dns.rdatatype.SOA, [zone.soa(zone.serial_for_soa_answer())])[0]
        return signer.sign(m) if signer else m

    def _udp_loop(self):
        while not self._stop.is_set():
            try:
                wire, peer = self._udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                q, key, qtype, client_serial = self._parse(wire)
                self._record(0, key, qtype, client_serial)
                if qtype == dns.rdatatype.SOA:
                    reply = self._soa_reply(q, key)
                else:  # transfers are TCP only
                    reply = messages(q.id, q.question[0].name, qtype, [], rcode=9)[0]
                if reply is not None:
                    self._udp.sendto(reply, peer)
            except (OSError, ValueError, IndexError, dns.exception.DNSException):
                continue

    def _hold_silently(self, c):
        """Keeps a connection open without answering until the client closes
        it, the server stops, or SILENT_LIMIT passes."""
        end = time.monotonic() + SILENT_LIMIT
        c.settimeout(0.2)
        while not self._stop.is_set() and time.monotonic() < end:
            try:
                if not c.recv(512):
                    return  # the client gave up
            except socket.timeout:
                continue

    def _serve(self, c, n):
        try:
            c.settimeout(10)
            hdr = recv_exact(c, 2)
            if hdr is None:
                return
            wire = recv_exact(c, struct.unpack("!H", hdr)[0])
            if wire is None:
                return
            q, key, qtype, client_serial = self._parse(wire)
            qname = q.question[0].name
            self._record(n, key, qtype, client_serial)
            if qtype == dns.rdatatype.SOA:
                reply = self._soa_reply(q, key)
                if reply is None:
                    return self._hold_silently(c)
                self._send(c, n, [reply])
                return
            zone = self.zones.get(key)
            if zone is None or qtype not in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
                self._send(c, n, messages(q.id, qname, qtype, [], rcode=9))
                return
            signer = None
            if zone.tsig is not None:
                if not q.had_tsig:
                    self._send(c, n, messages(q.id, qname, qtype, [], rcode=9))
                    return
                signer = TsigSigner(zone.tsig, q.mac)
            self._respond(c, n, q.id, zone, qtype, client_serial, self.mode.get(key, "good"), signer)
        except (OSError, ValueError, IndexError, dns.exception.DNSException):
            pass
        finally:
            with self._lock:
                self._conns.discard(c)
            try:
                c.close()
            except OSError:
                pass

    def _send(self, c, n, msgs, delay=0.0, signer=None):
        for m in msgs:
            if self._stop.is_set():
                return
            if signer is not None:
                m = signer.sign(m)
            c.sendall(struct.pack("!H", len(m)) + m)
            with self._lock:
                self.sent[n] = self.sent.get(n, 0) + 1
            if delay:
                time.sleep(delay)

    def _respond(self, c, n, qid, zone, qtype, client_serial, mode, signer=None):
        def send(msgs, delay=0.0):
            self._send(c, n, msgs, delay, signer)

        o = zone.origin
        serial, recs = zone.current()
        soa = zone.soa(serial)
        full = [soa] + recs + [soa]

        if mode == "silent":
            return self._hold_silently(c)
        if mode == "refused":
            return send(messages(qid, o, qtype, [], rcode=5))
        if mode == "slow":
            msgs = messages(qid, o, qtype, full, max_size=self.slow_msg_size)
            return send(msgs, delay=self.slow_delay)
        if mode == "ixfr_inconsistent" and qtype == dns.rdatatype.IXFR and client_serial is not None:
            ghost = zone.rr("ghost-never-existed", 300, "A", "10.6.6.6")
            body = [soa, zone.soa(client_serial), ghost, soa, zone.rr("added-by-bad-ixfr", 300, "A", "10.6.6.7"), soa]
            return send(messages(qid, o, qtype, body))
        if mode == "nojournal":
            return send(messages(qid, o, qtype, full))
        if mode in ("good", "ixfr_inconsistent"):
            if qtype == dns.rdatatype.IXFR and client_serial is not None:
                if client_serial == serial:
                    return send(messages(qid, o, qtype, [soa]))
                if client_serial in zone.versions and client_serial < serial:
                    # One difference sequence per version published since the client's.
                    chain = [client_serial] + sorted(v for v in zone.versions if client_serial < v <= serial)
                    body = [soa]
                    for a, b in zip(chain, chain[1:]):
                        old, nxt = zone.versions[a], zone.versions[b]
                        olds, news = set(old), set(nxt)
                        body += ([zone.soa(a)] + [r for r in old if r not in news] +
                                 [zone.soa(b)] + [r for r in nxt if r not in olds])
                    return send(messages(qid, o, qtype, body + [soa]))
            return send(messages(qid, o, qtype, full))
        if mode == "cut":
            msgs = messages(qid, o, qtype, full, max_size=200)
            send(msgs[:2])
            third = msgs[2] if len(msgs) > 2 else msgs[-1]
            c.sendall(struct.pack("!H", len(third)) + third[: len(third) // 2])
            time.sleep(0.05)
            c.shutdown(socket.SHUT_RDWR)
            return
        if mode == "badsoa":
            return send(messages(qid, o, qtype, [soa] + recs + [zone.soa(serial + 1000)]))
        if mode == "nosoa":
            return send(messages(qid, o, qtype, recs + [soa]))
        if mode == "outofzone":
            evil = rr_wire(dns.name.from_text("example.org."), "evil", 300, "A", "10.6.6.6")
            return send(messages(qid, o, qtype, [soa] + recs + [evil, soa]))
        if mode == "badclass":
            ch = rr_wire(o, "chaos", 300, "TXT", '"class CH"', rdclass=dns.rdataclass.CH)
            return send(messages(qid, o, qtype, [soa] + recs + [ch, soa]))
        if mode == "toomany":
            suffix = o.to_wire()
            fixed = struct.pack("!HHIH", 1, 1, 300, 4)
            many = [bytes([7]) + b"n%06d" % i + suffix + fixed + struct.pack("!I", 0x0A000000 + i)
                    for i in range(self.toomany_count)]
            return send(messages(qid, o, qtype, [soa] + recs + many + [soa], max_size=60000))
        if mode == "hugerrset":
            owner = dns.name.from_text("huge", o).to_wire()
            fixed = owner + struct.pack("!HHIH", 1, 1, 300, 4)
            many = [fixed + struct.pack("!I", 0x0A000000 + i) for i in range(self.huge_count)]
            return send(messages(qid, o, qtype, [soa] + recs + many + [soa], max_size=60000))
        if mode == "comploop_owner":
            # A header, the question at offset 12, the SOA, then a record whose
            # owner is a pointer to its own offset.
            first = messages(qid, o, qtype, [soa] + recs[:1])[0]
            body = bytearray(first)
            struct.pack_into("!H", body, 6, 2 + 1)
            off = len(body)
            body += struct.pack("!H", 0xC000 | off) + struct.pack("!HHIH", 1, 1, 300, 4) + b"\x0a\x06\x06\x06"
            return send([bytes(body)])
        if mode == "comploop_rdata":
            first = messages(qid, o, qtype, [soa])[0]
            body = bytearray(first)
            struct.pack_into("!H", body, 6, 2)
            body += o.to_wire() + struct.pack("!HHIH", 2, 1, 300, 2)
            off = len(body)
            body += struct.pack("!H", 0xC000 | off)
            return send([bytes(body)])
        if mode == "garbage":
            rnd = random.Random(1234)
            junk = bytes(rnd.getrandbits(8) for _ in range(600))
            body = struct.pack("!HHHHHH", qid, 0x8400, 1, 40, 0, 0) + _question(o, qtype) + junk
            return send([body])
        if mode == "wrongid":
            return send(messages(qid ^ 0x5A5A, o, qtype, full))
        if mode == "trailing":
            extra = zone.rr("after-the-end", 300, "A", "10.6.6.8")
            return send(messages(qid, o, qtype, full + [extra]))
        raise ValueError("unknown mode " + mode)
