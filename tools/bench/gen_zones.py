#!/usr/bin/python3
"""Helper of tools/bench/zones.sh (many small zones).

  gen_zones.py gen --out-dir DIR --zones N [--serial S]
      writes DIR/zones/z<i>.zones.test.zone for i in 0..N-1 (five records:
      SOA, NS, two A, one TXT) and the per-server zone lists that zones.sh
      appends to its configs:
        DIR/lists/sat-files.toml     [[zone]] name + file
        DIR/lists/sat-secondary.toml [[zone]] name + primaries + tsig_key
                                     (placeholders @PRIMARY@ and @KEY@)
        DIR/lists/knot-files.conf    zone: entries with file
        DIR/lists/knot-primary.conf  the same, with acl: xfr
        DIR/lists/knot-secondary.conf zone: entries with master: primary
        DIR/lists/nsd-files.conf     zone: entries with zonefile
      and DIR/lists/names (one zone name a line).
  gen_zones.py zone --out FILE --index I --serial S
      writes one zone (the same shape) with serial S.
  gen_zones.py waitall --port P --names FILE [--count K] [--serial S]
                       [--sample 100] [--timeout T] [--pidfile F] [--ready F]
      the time every zone (the first K names) answers its SOA with AA (and
      serial S): first a sample (the last name and 100 spread over the list)
      polled one zone at a time while the server starts, then every zone in
      passes over the ones still missing (unanswered queries are retried at
      once; only a zone that answered "not served" and is served in a later
      pass moves the time). Prints "t_sample t_all answered total" (wall
      clock, time.time()); exits 1 on timeout or when the pid in F is gone.
  gen_zones.py trigger --port P --name NAME [--serial S | --refused]
                       [--notify [--key-name K --key-secret B64] | --kill PID
                       [--signal HUP] | --cmd "shell command"] [--interval MS]
      does one thing (a TSIG-signed NOTIFY over UDP, a signal, a command),
      then polls NAME SOA until it is served (with serial S), or with
      --refused until it is no longer (REFUSED/NOTAUTH, or AA clear); prints
      the seconds from the trigger to that answer.
Deterministic, standard library plus dnspython (Debian's python3-dnspython).
"""
import argparse
import os
import signal
import socket
import struct
import sys
import time


def zone_name(i):
    return "z%d.zones.test." % i


def zone_text(i, serial):
    name = zone_name(i)
    return ("$ORIGIN %s\n$TTL 300\n"
            "@ IN SOA ns1 hostmaster %d 3600 600 864000 60\n"
            "@ IN NS ns1\n"
            "ns1 IN A 127.0.0.1\n"
            "www IN A 192.0.2.%d\n"
            "@ IN TXT \"zone %d serial %d\"\n") % (name, serial, i % 254 + 1, i, serial)


def cmd_gen(a):
    zdir = os.path.join(a.out_dir, "zones")
    ldir = os.path.join(a.out_dir, "lists")
    os.makedirs(zdir, exist_ok=True)
    os.makedirs(ldir, exist_ok=True)
    names = [zone_name(i) for i in range(a.zones)]
    paths = [os.path.join(zdir, n + "zone") for n in names]
    for i, p in enumerate(paths):
        with open(p, "w") as f:
            f.write(zone_text(i, a.serial))
    with open(os.path.join(ldir, "names"), "w") as f:
        f.write("".join(n + "\n" for n in names))
    with open(os.path.join(ldir, "sat-files.toml"), "w") as f:
        for n, p in zip(names, paths):
            f.write('[[zone]]\nname = "%s"\nfile = "%s"\n' % (n, p))
    with open(os.path.join(ldir, "sat-secondary.toml"), "w") as f:
        for n in names:
            f.write('[[zone]]\nname = "%s"\nprimaries = ["@PRIMARY@"]\ntsig_key = "@KEY@"\n' % n)
    with open(os.path.join(ldir, "knot-files.conf"), "w") as f:
        f.write("zone:\n")
        for n, p in zip(names, paths):
            f.write("  - domain: %s\n    file: %s\n" % (n, p))
    with open(os.path.join(ldir, "knot-primary.conf"), "w") as f:
        f.write("zone:\n")
        for n, p in zip(names, paths):
            f.write("  - domain: %s\n    file: %s\n    acl: xfr\n" % (n, p))
    with open(os.path.join(ldir, "knot-secondary.conf"), "w") as f:
        f.write("zone:\n")
        for n in names:
            f.write("  - domain: %s\n    master: primary\n    acl: notify\n" % n)
    with open(os.path.join(ldir, "nsd-files.conf"), "w") as f:
        for n, p in zip(names, paths):
            f.write('zone:\n    name: "%s"\n    zonefile: "%s"\n' % (n, p))


def cmd_zone(a):
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(zone_text(a.index, a.serial))
    os.replace(tmp, a.out)


# --- a small, fast SOA client (raw wire: the sweep sends 100k queries) ---

def qname_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def soa_query(name, qid):
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + qname_wire(name) + b"\x00\x06\x00\x01"


def skip_name(b, i):
    while True:
        n = b[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n


def judge(resp, serial=None, refused=False):
    """True when the answer is what we wait for: authoritative NOERROR with
    an SOA (of serial, if given); with refused, no longer authoritative."""
    try:
        flags = struct.unpack("!H", resp[2:4])[0]
        rcode, aa = flags & 0xF, bool(flags & 0x0400)
        if refused:
            return rcode in (5, 9) or not aa
        if rcode != 0 or not aa:
            return False
        qd, an = struct.unpack("!HH", resp[4:8])
        i = 12
        for _ in range(qd):
            i = skip_name(resp, i) + 4
        for _ in range(an):
            i = skip_name(resp, i)
            rtype, _, _, rdlen = struct.unpack("!HHIH", resp[i:i + 10])
            i += 10
            if rtype == 6:
                j = skip_name(resp, skip_name(resp, i))
                got = struct.unpack("!I", resp[j:j + 4])[0]
                return serial is None or got == serial
            i += rdlen
    except (IndexError, struct.error):
        return False
    return False


class Client:
    def __init__(self, port):
        self.addr = ("127.0.0.1", port)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        self.s.bind(("127.0.0.1", 0))
        self.qid = 0

    def one(self, name, timeout, serial=None, refused=False):
        """One query; the wall-clock time of a good answer, or None."""
        self.qid = (self.qid + 1) & 0xFFFF
        qid = self.qid
        try:
            self.s.sendto(soa_query(name, qid), self.addr)
        except OSError:
            return None
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                data = self.s.recv(65535)
            except (socket.timeout, OSError):
                return None
            now = time.time()
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                return now if judge(data, serial, refused) else None

    def batch(self, names, serial=None, window=128, timeout=0.2, retries=3):
        """Asks every name; returns (the names answered but not served, the
        names never answered (after `retries` more tries), time of the last
        good answer or None)."""
        not_served, last = [], None
        todo = names
        for attempt in range(1 + retries):
            silent = []
            for k in range(0, len(todo), window):
                ids = {}
                for n in todo[k:k + window]:
                    self.qid = (self.qid + 1) & 0xFFFF
                    ids[self.qid] = n
                    try:
                        self.s.sendto(soa_query(n, self.qid), self.addr)
                    except OSError:
                        pass
                end = time.monotonic() + timeout
                while ids:
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    self.s.settimeout(left)
                    try:
                        data = self.s.recv(65535)
                    except (socket.timeout, OSError):
                        break
                    now = time.time()
                    if len(data) < 12:
                        continue
                    n = ids.pop(struct.unpack("!H", data[:2])[0], None)
                    if n is None:
                        continue
                    if judge(data, serial):
                        last = now
                    else:
                        not_served.append(n)
                silent.extend(ids.values())
            todo = silent
            if not todo:
                break
        return not_served, todo, last


def alive(pidfile):
    if not pidfile:
        return True
    try:
        pid = int(open(pidfile).read().split()[0])
    except (OSError, ValueError, IndexError):
        return True  # not written yet
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def cmd_waitall(a):
    """Time until every zone answers. Phase 1 (cheap while the server
    starts): one zone at a time from a sample (the last name and `sample`
    spread over the list), every interval ms. Phase 2: every zone, in
    passes over those still missing. Prints: t_sample t_all answered total."""
    names = [l.strip() for l in open(a.names) if l.strip()]
    if a.count:
        names = names[:a.count]
    c = Client(a.port)
    if a.ready:
        open(a.ready, "w").close()
    deadline = time.monotonic() + a.timeout
    step = max(1, len(names) // max(1, a.sample))
    sample = [names[-1]] + names[::step]
    t_sample = None
    while sample and time.monotonic() < deadline:
        if not alive(a.pidfile):
            print("waitall: the server is gone", file=sys.stderr)
            return 1
        t = c.one(sample[0], 0.05, a.serial)
        if t is None:
            time.sleep(a.interval / 1000.0)
            continue
        t_sample = t
        sample.pop(0)
        not_served, silent, last = c.batch(sample, a.serial)
        if last is not None:
            t_sample = max(t_sample, last)
        sample = not_served + silent
    if sample:
        print("waitall: %d sample zones not served within %s s" % (len(sample), a.timeout), file=sys.stderr)
        return 1
    t_all, todo, passes = t_sample, names, 0
    while todo and time.monotonic() < deadline:
        if not alive(a.pidfile):
            print("waitall: the server is gone", file=sys.stderr)
            return 1
        passes += 1
        not_served, silent, last = c.batch(todo, a.serial)
        todo = not_served + silent
        if passes > 1 and last is not None:
            t_all = max(t_all, last)  # a straggler: served after the sample
        if todo:
            time.sleep(0.05)
    print("%.6f %.6f %d %d" % (t_sample, t_all, len(names) - len(todo), len(names)))
    return 0 if not todo else 1


def cmd_trigger(a):
    """Does one thing (a signal, a NOTIFY, a command) and polls NAME until
    it answers as wanted; prints the seconds in between."""
    c = Client(a.port)
    if a.notify:
        import dns.flags
        import dns.message
        import dns.opcode
        import dns.rdatatype
        import dns.tsigkeyring
        m = dns.message.make_query(a.name, dns.rdatatype.SOA)
        m.flags = dns.flags.AA  # the opcode lives in the flags: set it after
        m.set_opcode(dns.opcode.NOTIFY)
        if a.key_name:
            ring = dns.tsigkeyring.from_text({a.key_name: a.key_secret})
            m.use_tsig(ring, keyname=a.key_name, algorithm="hmac-sha256")
        wire = m.to_wire()
        ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t0 = time.time()
        ns.sendto(wire, ("127.0.0.1", a.port))
    elif a.kill:
        t0 = time.time()
        os.kill(a.kill, getattr(signal, "SIG" + a.signal))
    elif a.cmd:
        import subprocess
        t0 = time.time()
        subprocess.run(a.cmd, shell=True, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        t0 = time.time()
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        t = c.one(a.name, 0.05, a.serial, a.refused)
        if t is not None:
            print("%.6f" % (t - t0))
            return 0
        time.sleep(a.interval / 1000.0)
    print("trigger: %s not as wanted within %s s" % (a.name, a.timeout), file=sys.stderr)
    return 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--out-dir", required=True)
    g.add_argument("--zones", type=int, required=True)
    g.add_argument("--serial", type=int, default=2026120101)
    z = sub.add_parser("zone")
    z.add_argument("--out", required=True)
    z.add_argument("--index", type=int, required=True)
    z.add_argument("--serial", type=int, required=True)
    w = sub.add_parser("waitall")
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--names", required=True)
    w.add_argument("--count", type=int, default=0, help="only the first COUNT names")
    w.add_argument("--serial", type=int)
    w.add_argument("--sample", type=int, default=100)
    w.add_argument("--timeout", type=float, default=120)
    w.add_argument("--interval", type=float, default=10, help="ms between polls")
    w.add_argument("--pidfile")
    w.add_argument("--ready", help="touched once the client is ready")
    t = sub.add_parser("trigger")
    t.add_argument("--port", type=int, required=True)
    t.add_argument("--name", required=True)
    t.add_argument("--serial", type=int)
    t.add_argument("--refused", action="store_true")
    t.add_argument("--notify", action="store_true")
    t.add_argument("--key-name")
    t.add_argument("--key-secret")
    t.add_argument("--kill", type=int, help="send --signal to this pid")
    t.add_argument("--signal", default="HUP")
    t.add_argument("--cmd")
    t.add_argument("--timeout", type=float, default=60)
    t.add_argument("--interval", type=float, default=1, help="ms between polls")
    a = p.parse_args()
    return {"gen": cmd_gen, "zone": cmd_zone, "waitall": cmd_waitall, "trigger": cmd_trigger}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())
