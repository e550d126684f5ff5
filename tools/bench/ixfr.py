#!/usr/bin/env python3
"""IXFR benchmark: NOTIFY -> served for one-record changes, and a burst.

Satellite, Knot and NSD run as secondaries of one Knot primary, in the same
run. Each change is a DNS UPDATE to the primary (Knot bumps the serial,
keeps the difference in its journal and NOTIFYs every secondary at once);
the time from the primary's UPDATE answer to each secondary answering the
new name is measured by polling all secondaries every 0.5 ms. Medians and
worst of --changes changes, then a burst of --burst-records records in
--burst-updates updates: time until the last is served everywhere, and
the peak PSS of each secondary during the burst against its steady PSS.

  tools/bench/ixfr.sh                               # 100,000 names, 20 changes
  tools/bench/ixfr.sh --records 1000000 --changes 20
  options: --servers satellite,knot,nsd --satellited PATH --mode presigned|live-nsec|live-nsec3
           --burst-records 1000 --burst-updates 100 --keep

Transfers are unsigned (TSIG would cost all three the same). Knot sends
its own NOTIFY about a second after an UPDATE, so the benchmark sends each
secondary a NOTIFY itself the moment the primary serves the change: the
figure is NOTIFY -> served.
CPU: the primary on CPU 0, secondaries on CPU 1 (they are idle between
changes). Loopback only; every wait is bounded; daemons are stopped on exit.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ZONE = "bench.test."


def wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def query(port, name, qtype=1, timeout=0.5, sock=None):
    """Returns (rcode, ancount) or None."""
    qid = random.randrange(65536)
    msg = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + wire(name) + struct.pack("!HH", qtype, 1)
    own = sock is None
    if own:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.sendto(msg, ("127.0.0.1", port))
        while True:
            data, _ = sock.recvfrom(4096)
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                flags, _, an = struct.unpack("!HHH", data[2:8])
                return flags & 15, an
    except OSError:
        return None
    finally:
        if own:
            sock.close()


def soa_serial(port, timeout=0.5):
    qid = random.randrange(65536)
    msg = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + wire(ZONE) + struct.pack("!HH", 6, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(msg, ("127.0.0.1", port))
            data, _ = s.recvfrom(4096)
        except OSError:
            return None
    if len(data) < 12 or struct.unpack("!H", data[6:8])[0] == 0:
        return None

    def skip_name(off):
        while True:
            n = data[off]
            if n >= 0xC0:
                return off + 2
            if n == 0:
                return off + 1
            off += 1 + n

    try:
        off = skip_name(12) + 4           # the question
        off = skip_name(off)              # the answer's owner
        rtype = struct.unpack("!H", data[off:off + 2])[0]
        off += 10                         # type class ttl rdlength
        if rtype != 6:
            return None
        off = skip_name(skip_name(off))   # MNAME RNAME
        return struct.unpack("!I", data[off:off + 4])[0]
    except (IndexError, struct.error):
        return None


def notify(port):
    """NOTIFY (RFC 1996) for the zone, as the primary would send it."""
    msg = struct.pack("!HHHHHH", random.randrange(65536), (4 << 11) | 0x0400, 1, 0, 0, 0) + wire(ZONE) + \
        struct.pack("!HH", 6, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(msg, ("127.0.0.1", port))


def update(port, records, timeout=5.0):
    """DNS UPDATE (RFC 2136): add A records [(name, ip)]. Returns rcode."""
    qid = random.randrange(65536)
    msg = struct.pack("!HHHHHH", qid, 5 << 11, 1, 0, len(records), 0) + wire(ZONE) + struct.pack("!HH", 6, 1)
    for name, ip in records:
        msg += wire(name) + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(ip)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(msg, ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
    return struct.unpack("!H", data[2:4])[0] & 15


def pss_tree(pid):
    total = 0
    pids = [pid]
    try:
        pids += [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="satellite-ixfrbench.")
        self.procs = []
        self.secret = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE="

    def stop(self):
        for p in self.procs:
            try:
                p.terminate()
            except OSError:
                pass
        time.sleep(0.3)
        for p in self.procs:
            try:
                p.kill()
            except OSError:
                pass
        if self.args.keep:
            print("kept", self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def spawn(self, cpu, argv, log):
        p = subprocess.Popen(["taskset", "-c", str(cpu)] + argv, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def zone_file(self, path):
        names = self.args.records // 2 if self.args.records > 200000 else self.args.records
        with open(path, "w") as f:
            f.write(f"$ORIGIN {ZONE}\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 864000 60\n  NS ns1\nns1 A 127.0.0.1\n")
            if self.args.records > 200000:  # A + TXT per name: records = 2 x names
                for i in range(names):
                    f.write(f"h{i} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\nh{i} TXT \"record number {i}\"\n")
            else:
                for i in range(names):
                    f.write(f"h{i} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n")
        return names

    def primary(self, ports):
        d = os.path.join(self.work, "primary")
        os.makedirs(os.path.join(d, "db"))
        self.zone_file(os.path.join(self.work, "bench.test.zone"))
        remotes = "".join(f"  - id: {n}\n    address: 127.0.0.1@{p}\n" for n, p in ports.items())
        notify = ", ".join(ports)
        conf = f"""server:
    rundir: {d}
    listen: 127.0.0.1@{self.pport}
    background-workers: 1
key:
  - id: xfr-key
    algorithm: hmac-sha256
    secret: {self.secret}
remote:
{remotes}acl:
  - id: xfr
    address: 127.0.0.1
    action: transfer
  - id: upd
    address: 127.0.0.1
    action: update
database:
    storage: {d}/db
template:
  - id: default
    storage: {self.work}
    zonefile-sync: -1
    journal-content: changes
    journal-max-depth: 100000
    serial-policy: increment
zone:
  - domain: bench.test
    file: bench.test.zone
    acl: [xfr, upd]
    notify: [{notify}]
log:
  - target: {d}/knot.log
    any: notice
"""
        with open(os.path.join(d, "knot.conf"), "w") as f:
            f.write(conf)
        self.spawn(0, ["knotd", "-c", os.path.join(d, "knot.conf")], os.path.join(d, "out"))

    def secondary(self, name, port):
        d = os.path.join(self.work, name)
        os.makedirs(os.path.join(d, "db"))
        a = self.args
        if name == "satellite":
            mode = {"presigned": 'mode = "presigned"\n',
                    "live-nsec": 'mode = "live"\n[zone.signing]\nenabled = true\nalgorithm = 13\ndenial = "nsec"\n',
                    "live-nsec3": 'mode = "live"\n[zone.signing]\nenabled = true\nalgorithm = 13\ndenial = "nsec3"\n'}[a.mode]
            conf = f"""[server]
listen = ["127.0.0.1:{port}"]
threads = 1
state_dir = "{d}/state"
[log]
level = "info"
[[tsig_key]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret = "{self.secret}"
[[zone]]
name = "{ZONE}"
primaries = ["127.0.0.1:{self.pport}"]
max_zone_records = 20000000
{mode}"""
            with open(os.path.join(d, "satellite.toml"), "w") as f:
                f.write(conf)
            return self.spawn(1, [a.satellited, "--config", os.path.join(d, "satellite.toml")], os.path.join(d, "log"))
        if name == "knot":
            signing = ""
            if a.mode.startswith("live"):
                nsec3 = "on" if a.mode == "live-nsec3" else "off"
                signing = f"""policy:
  - id: sign
    algorithm: ecdsap256sha256
    nsec3: {nsec3}
    nsec3-iterations: 0
    nsec3-salt-length: 0
"""
            conf = f"""server:
    rundir: {d}
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
key:
  - id: xfr-key
    algorithm: hmac-sha256
    secret: {self.secret}
remote:
  - id: primary
    address: 127.0.0.1@{self.pport}
acl:
  - id: notify
    address: 127.0.0.1
    action: notify
{signing}database:
    storage: {d}/db
template:
  - id: default
    storage: {d}
    zonefile-sync: -1
    journal-content: changes
    journal-max-depth: 100000
zone:
  - domain: bench.test
    master: primary
    acl: notify
{"    dnssec-signing: on" + chr(10) + "    dnssec-policy: sign" + chr(10) if signing else ""}log:
  - target: {d}/log
    any: info
"""
            with open(os.path.join(d, "knot.conf"), "w") as f:
                f.write(conf)
            return self.spawn(1, ["knotd", "-c", os.path.join(d, "knot.conf")], os.path.join(d, "out"))
        conf = f"""server:
    ip-address: 127.0.0.1@{port}
    server-count: 1
    username: ""
    zonesdir: "{d}"
    database: ""
    pidfile: "{d}/nsd.pid"
    xfrdfile: "{d}/xfrd.state"
    zonelistfile: "{d}/zone.list"
    xfrd-reload-timeout: 0
    rrl-ratelimit: 0
    verbosity: 1
remote-control:
    control-enable: no
key:
    name: xfr-key
    algorithm: hmac-sha256
    secret: "{self.secret}"
zone:
    name: bench.test
    zonefile: "{d}/bench.test.zone"
    request-xfr: 127.0.0.1@{self.pport} NOKEY
    allow-notify: 127.0.0.1 NOKEY
"""
        with open(os.path.join(d, "nsd.conf"), "w") as f:
            f.write(conf)
        return self.spawn(1, ["/usr/sbin/nsd", "-d", "-c", os.path.join(d, "nsd.conf")], os.path.join(d, "log"))

    def served_at(self, port, name, timeout=30):
        end = time.perf_counter() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            while time.perf_counter() < end:
                r = query(port, name, sock=s, timeout=0.2)
                if r and r[0] == 0 and r[1] > 0:
                    return time.perf_counter()
                time.sleep(0.0005)
        sys.exit(f"the primary did not serve {name}")

    def wait_serial(self, ports, serial, timeout):
        deadline = time.time() + timeout
        left = dict(ports)
        while left and time.time() < deadline:
            for n, p in list(left.items()):
                s = soa_serial(p)
                if s is not None and s >= serial:
                    del left[n]
            time.sleep(0.05)
        return list(left)

    def run(self):
        a = self.args
        servers = a.servers.split(",")
        if a.mode.startswith("live") and "nsd" in servers:
            servers.remove("nsd")  # NSD does not sign
        ports = {n: free_port() for n in servers}
        self.pport = free_port()
        print(f"zone {ZONE}: {a.records} records; mode {a.mode}; secondaries {', '.join(servers)}")
        self.primary(ports)
        deadline = time.time() + 300
        while soa_serial(self.pport) != 1 and time.time() < deadline:
            time.sleep(0.1)
        if soa_serial(self.pport) != 1:
            sys.exit("primary did not load")
        pids = {n: self.secondary(n, ports[n]) for n in servers}
        slow = self.wait_serial(ports, 1, a.timeout)
        if slow:
            sys.exit(f"not serving serial 1 within {a.timeout}s: {slow}")
        time.sleep(2)
        steady = {n: pss_tree(pids[n].pid) for n in servers}

        # One-record changes.
        times = {n: [] for n in servers}
        socks = {n: socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for n in servers}
        for i in range(a.changes):
            name = f"chg{i}.{ZONE}"
            if update(self.pport, [(name, f"192.0.2.{i % 250 + 1}")]) != 0:
                sys.exit("UPDATE refused by the primary")
            # From the moment the primary serves the change (it NOTIFYs then;
            # Knot applies an UPDATE after a short batching delay).
            self.served_at(self.pport, name)
            # One secondary at a time, each alone on its CPU.
            for n in servers:
                t0 = time.perf_counter()
                notify(ports[n])
                end = t0 + a.timeout
                while time.perf_counter() < end:
                    r = query(ports[n], name, sock=socks[n], timeout=0.2)
                    if r and r[0] == 0 and r[1] > 0:
                        times[n].append((time.perf_counter() - t0) * 1000)
                        break
                    time.sleep(0.0002)
                else:
                    print(f"  change {i}: {n} did not serve it within {a.timeout}s")
                time.sleep(0.1)

        # The burst, with memory sampled throughout.
        peak = {n: 0 for n in servers}
        stop = threading.Event()

        trace = os.environ.get("IXFR_TRACE")

        def sample():
            while not stop.is_set():
                for n in servers:
                    v = pss_tree(pids[n].pid)
                    peak[n] = max(peak[n], v)
                    if trace:
                        print(f"  {time.perf_counter():.3f} {n} PSS {v / 1024:.1f} MiB")
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        per = max(1, a.burst_records // a.burst_updates)
        k = 0
        for u in range(a.burst_updates):
            recs = [(f"burst{k + j}.{ZONE}", f"198.51.100.{(k + j) % 250 + 1}") for j in range(per)]
            k += per
            update(self.pport, recs)
        last = f"burst{k - 1}.{ZONE}"
        self.served_at(self.pport, last)
        t0 = time.perf_counter()
        for p in ports.values():
            notify(p)
        burst = {}
        left = set(servers)
        end = t0 + a.timeout
        while left and time.perf_counter() < end:
            for n in list(left):
                r = query(ports[n], last, sock=socks[n], timeout=0.2)
                if r and r[0] == 0 and r[1] > 0:
                    burst[n] = time.perf_counter() - t0
                    left.discard(n)
            time.sleep(0.001)
        time.sleep(1)
        stop.set()
        sampler.join()

        print()
        print(f"NOTIFY -> served, one-record change ({a.changes} changes; ms from our NOTIFY)")
        print(f"{'server':<10} {'median':>8} {'p90':>8} {'worst':>8}")
        med = {}
        for n in servers:
            v = sorted(times[n])
            if not v:
                continue
            med[n] = statistics.median(v)
            print(f"{n:<10} {med[n]:8.1f} {v[int(len(v) * 0.9) - 1 if len(v) >= 10 else -1]:8.1f} {v[-1]:8.1f}")
        print()
        print(f"Burst: {a.burst_records} records in {a.burst_updates} updates (s from the NOTIFY after the last)")
        print(f"{'server':<10} {'last served (s)':>16} {'steady PSS MiB':>15} {'peak PSS MiB':>13} {'peak/steady':>12}")
        for n in servers:
            b = f"{burst[n]:.2f}" if n in burst else "timeout"
            print(f"{n:<10} {b:>16} {steady[n] / 1024:15.1f} {peak[n] / 1024:13.1f} {peak[n] / max(1, steady[n]):12.2f}")
        if "satellite" in med:
            for peer in ("knot", "nsd"):
                if peer in med:
                    print(f"Satellite/{peer}: median NOTIFY->served {med['satellite'] / med[peer]:.2f}")
        print("Goals (issue 14): median <= 5 ms on any zone size; burst peak PSS <= 1.1 x steady.")


def main():
    os.sched_setaffinity(0, {0})  # beside the primary; CPU 1 is the secondaries'
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=100000)
    p.add_argument("--changes", type=int, default=20)
    p.add_argument("--servers", default="satellite,knot,nsd")
    p.add_argument("--satellited", default=os.path.join(REPO, "build/bin/satellited"))
    p.add_argument("--mode", default="presigned", choices=["presigned", "live-nsec", "live-nsec3"])
    p.add_argument("--burst-records", type=int, default=1000)
    p.add_argument("--burst-updates", type=int, default=100)
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    for b in ("knotd", "/usr/sbin/nsd", "taskset", "pgrep"):
        if not shutil.which(b):
            sys.exit(f"ixfr.sh: {b} is missing (tools/deps.sh)")
    bench = Bench(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        bench.run()
        if os.environ.get("IXFR_HOLD"):
            print("holding; pids", [p.pid for p in bench.procs], flush=True)
            time.sleep(float(os.environ["IXFR_HOLD"]))
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
