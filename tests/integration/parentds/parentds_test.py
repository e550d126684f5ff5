# The parent's DS seen from both sides (issue 18), with two Knot servers
# for the parent zone test. (A and B, each its own knotd, DS set by knotc):
#
#   1. `satellitectl dnssec confirm-ds ctl.test. --from-parent --parent A
#      --parent B` confirms only when every parent server serves the DS of
#      our KSK: refused (exit 1, zone still pending_ds) with no DS at the
#      parent, with a DS that is not ours, with ours at A only, and with a
#      parent server that does not answer; accepted (exit 0, active) once A
#      and B both serve it. Usage errors (no --parent, --ds with
#      --from-parent, a --parent that is not an address) exit 2.
#   2. auto.test. has parent_ds_check = [A, B]: the zone page (GET
#      /zones/auto.test, Bearer token) and GET /api/v1/zones/auto.test show
#      per server whether it serves our DS: A yes (with our KSK's tag) and
#      B no while only A has it; then both, and the daemon confirms itself.
#
# Run through run.sh (--satellited PATH). Exit 0 when no check failed.
import html.parser
import os
import subprocess
import sys
import tempfile
import time
import traceback

import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import (CHECKS, LOOP, Api, LogFile, arg_parser, ask, check, finish_workdir, free_port,  # noqa: E402
                     interrupt_on_sigterm, rrsets, skip, skip_reason, spawn, stop_all, stop_proc, toml_zone,
                     wait_until)

TOKEN = "parentds-admin-secret"
CTL_ZONE, AUTO_ZONE = "ctl.test.", "auto.test."
T = dns.rdatatype


def zone_text(zone):
    return (f"$ORIGIN {zone}\n$TTL 2\n@ SOA ns1 hostmaster 1 3600 600 86400 2\n@ NS ns1\n"
            "ns1 A 127.0.0.1\nwww A 192.0.2.1\n")


class KnotParent:
    """One knotd serving test. (unsigned), delegating ctl and auto; their DS
    sets change through knotc transactions."""

    def __init__(self, workdir, name):
        self.dir = os.path.join(workdir, name)
        os.makedirs(os.path.join(self.dir, "db"))
        self.port = free_port()
        self.conf = os.path.join(self.dir, "knot.conf")
        self.log = LogFile(os.path.join(self.dir, "knot.log"))
        self.ds = {}
        self.proc = None

    def start(self):
        with open(os.path.join(self.dir, "test.zone"), "w") as f:
            f.write("$ORIGIN test.\n$TTL 2\n@ SOA ns hostmaster 1 3600 600 86400 2\n@ NS ns\nns A 127.0.0.1\n"
                    "ctl NS ns1.ctl\nns1.ctl A 127.0.0.1\nauto NS ns1.auto\nns1.auto A 127.0.0.1\n")
        with open(self.conf, "w") as f:
            f.write(f"server:\n    rundir: {self.dir}\n    listen: {LOOP}@{self.port}\n    background-workers: 1\n"
                    f"log:\n  - target: {self.log.path}\n    any: info\n"
                    f"database:\n    storage: {self.dir}/db\n"
                    "template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: whole\n"
                    "    journal-content: changes\n    semantic-checks: off\n"
                    f"zone:\n  - domain: test.\n    file: {self.dir}/test.zone\n")
        self.proc = spawn(["knotd", "-c", self.conf], os.path.join(self.dir, "knotd.out"))
        if not wait_until(lambda: (ask(self.port, "test.", "SOA", do=False) or None) is not None, 20):
            raise RuntimeError(f"knotd does not serve test.: {self.log.tail(20)}")

    def knotc(self, *args):
        r = subprocess.run(["knotc", "-c", self.conf, "-t", "10"] + list(args), capture_output=True, text=True,
                           timeout=30)
        return r.returncode, (r.stdout + r.stderr).strip()

    def served_ds(self, label):
        r = ask(self.port, f"{label}.test.", "DS", do=False)
        if r is None:
            return None
        return sorted(rd.to_text().upper() for rr in rrsets(r, "answer", T.DS) for rd in rr)

    def set_ds(self, label, ds_lines):
        """The DS set at {label}.test. becomes `ds_lines` ("tag alg type HEX")."""
        steps = [("zone-begin", "test.")]
        if self.ds.get(label):
            steps.append(("zone-unset", "test.", label, "DS"))
        steps += [("zone-set", "test.", label, "2", "DS", *line.split()) for line in ds_lines]
        steps.append(("zone-commit", "test."))
        for s in steps:
            rc, out = self.knotc(*s)
            if rc != 0:
                self.knotc("zone-abort", "test.")
                raise RuntimeError(f"knotc {' '.join(s)}: {out}")
        self.ds[label] = list(ds_lines)
        want = sorted(line.upper() for line in ds_lines)
        if not wait_until(lambda: self.served_ds(label) == want, 10):
            raise RuntimeError(f"knotd serves DS {self.served_ds(label)} at {label}.test., want {want}")


class ParentTable(html.parser.HTMLParser):
    """The zone page's per-server table: server -> "yes" | "no" | "unknown"."""

    def __init__(self, text):
        super().__init__()
        self.rows, self._server, self._in_code = {}, None, False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "code":
            self._in_code = True
        if "data-parent-ds" in a and self._server:
            self.rows[self._server] = a["data-parent-ds"]

    def handle_endtag(self, tag):
        if tag == "code":
            self._in_code = False

    def handle_data(self, data):
        if self._in_code and data.startswith("127."):
            self._server = data


def ds_lines(state):
    return [f'{d["key_tag"]} {d["algorithm"]} {d["digest_type"]} {d["digest"]}' for d in state.get("ds_records", [])]


def main():
    ap = arg_parser("confirm-ds --from-parent and the parent's DS per server", HERE)
    args = ap.parse_args()
    binary = os.path.abspath(args.satellited)
    ctl_binary = os.path.join(os.path.dirname(binary), "satellitectl")
    reason = skip_reason(["knotd", "knotc"], binary)
    if reason:
        return skip(reason, "0 passed, 0 failed")
    if not os.access(ctl_binary, os.X_OK):
        return skip(f"{ctl_binary} not built", "0 passed, 0 failed")
    interrupt_on_sigterm()
    workdir = tempfile.mkdtemp(prefix="sat-parentds-")
    t0 = time.monotonic()
    try:
        a, b = KnotParent(workdir, "knot-a"), KnotParent(workdir, "knot-b")
        a.start()
        b.start()
        sat_dir = os.path.join(workdir, "sat")
        os.makedirs(sat_dir)
        port, api_port, dead = free_port(), free_port(), free_port()
        conf = os.path.join(sat_dir, "satellite.toml")
        lines = ["[server]", f'listen = ["{LOOP}:{port}"]', "threads = 1", f'state_dir = "{sat_dir}/state"', "",
                 "[api]", f'listen = "{LOOP}:{api_port}"', "[[api.token]]", 'name = "admin"',
                 f'secret = "{TOKEN}"', 'permissions = ["zone:read", "dnssec:read", "dnssec:enable"]', "",
                 "[log]", 'level = "info"', ""]
        for z in (CTL_ZONE, AUTO_ZONE):
            path = os.path.join(sat_dir, z + "zone")
            with open(path, "w") as f:
                f.write(zone_text(z))
            extra = {}
            if z == AUTO_ZONE:
                extra = dict(parent_ds_check=[f"{LOOP}:{a.port}", f"{LOOP}:{b.port}"], parent_ds_check_interval="1s")
            lines += toml_zone(dict(name=z, file=path, mode="live", **extra))[:-1]
            lines += ["[zone.signing]", "enabled = true", "algorithm = 13", 'propagation_delay = "1s"',
                      'parent_ds_ttl = "2s"', ""]
        with open(conf, "w") as f:
            f.write("\n".join(lines))
        log = LogFile(os.path.join(sat_dir, "satellited.log"))
        proc = spawn([binary, "--config", conf], log.path)
        api = Api(api_port)
        api.token = TOKEN
        if not wait_until(lambda: proc.poll() is not None or api.call("GET", "/healthz", None).status == 200, 20) \
                or proc.poll() is not None:
            raise RuntimeError(f"satellited did not start: {log.tail(30)}")

        def ksk_waits(zone):
            s = api.status(zone) or {}
            return s if s.get("status") == "pending_ds" and ds_lines(s) else None
        state = wait_until(lambda: ksk_waits(CTL_ZONE), 15)
        check("0.1 ctl.test. waits for its DS (pending_ds, one DS listed)", bool(state), api.status(CTL_ZONE))
        ours = ds_lines(state or {})
        auto_state = wait_until(lambda: ksk_waits(AUTO_ZONE), 15) or {}
        auto_ours = ds_lines(auto_state)
        auto_tag = auto_state.get("ds_records", [{}])[0].get("key_tag")

        def ctl(*argv):
            env = dict(os.environ, SATELLITE_TOKEN=TOKEN)
            r = subprocess.run([ctl_binary, "--server", f"http://{LOOP}:{api_port}"] + list(argv),
                               capture_output=True, text=True, timeout=60, env=env)
            return r.returncode, r.stdout + r.stderr

        parents = ["--parent", f"{LOOP}:{a.port}", "--parent", f"{LOOP}:{b.port}"]
        confirm = ["dnssec", "confirm-ds", "ctl.test", "--from-parent"]

        def pending():
            return (api.status(CTL_ZONE) or {}).get("status") == "pending_ds"

        # 1: satellitectl --from-parent.
        rc, out = ctl(*confirm)
        check("1.1 --from-parent without --parent: usage error naming --parent", rc == 2 and "--parent" in out, out)
        rc, out = ctl(*confirm, "--ds", ours[0] if ours else "1 13 2 AA", *parents)
        check("1.2 --from-parent with --ds: usage error", rc == 2 and "not both" in out, out)
        rc, out = ctl(*confirm, "--parent", "ns1.example:53")
        check("1.3 a --parent that is not an IP address: usage error", rc == 2 and "not an IP address" in out, out)
        rc, out = ctl(*confirm, *parents)
        check("1.4 no DS at the parent: not confirmed (exit 1), still pending_ds",
              rc == 1 and "not confirmed" in out and pending(), out)
        wrong = [f"{ours[0].split()[0]} 13 2 {'AB' * 32}"] if ours else []
        a.set_ds("ctl", wrong)
        b.set_ds("ctl", wrong)
        rc, out = ctl(*confirm, *parents)
        check("1.5 a DS that is not ours at both: not confirmed, said as not ours, still pending_ds",
              rc == 1 and "not one of our KSKs" in out and pending(), out)
        a.set_ds("ctl", ours)
        rc, out = ctl(*confirm, *parents)
        check("1.6 our DS at A only: not confirmed, still pending_ds",
              rc == 1 and "(ours)" in out and pending(), out)
        b.set_ds("ctl", ours)
        rc, out = ctl(*confirm, *parents, "--parent", f"{LOOP}:{dead}")
        check("1.7 a parent server that does not answer: not confirmed, named, still pending_ds",
              rc == 1 and f"{LOOP}:{dead}" in out and pending(), out)
        rc, out = ctl(*confirm, *parents)
        state = api.status(CTL_ZONE) or {}
        check("1.8 our DS at A and B: confirmed (exit 0), the zone leaves pending_ds",
              rc == 0 and "confirmed" in out and state.get("status") in ("active", "rotating_ksk"),
              f"{out}\nstatus {state.get('status')}")

        # 2: the daemon's own DS check, per server, on the zone page.
        def page():
            r = api.call("GET", "/zones/auto.test")
            return ParentTable(r.text).rows if r.status == 200 else {}

        sa, sb = f"{LOOP}:{a.port}", f"{LOOP}:{b.port}"
        rows = wait_until(lambda: (lambda p: p if p.get(sa) == "no" and p.get(sb) == "no" else None)(page()), 10)
        check("2.1 the zone page lists both parent servers, neither serving our DS yet", bool(rows), page())
        a.set_ds("auto", auto_ours)
        rows = wait_until(lambda: (lambda p: p if p.get(sa) == "yes" and p.get(sb) == "no" else None)(page()), 10)
        check("2.2 our DS at A only: the page shows A yes, B no", bool(rows), page())
        text = api.call("GET", "/zones/auto.test").text
        check("2.3 the page names our KSK's key tag for A", f"key tag {auto_tag}" in text, text[-1500:])
        z = api.call("GET", "/api/v1/zones/auto.test").json or {}
        servers = {s["server"]: s for s in (z.get("parent_ds") or {}).get("servers", [])}
        check("2.4 GET /api/v1/zones/auto.test: parent_ds per server (A our tag, B none)",
              servers.get(sa, {}).get("our_ds_key_tags") == [auto_tag] and
              servers.get(sb, {}).get("our_ds_key_tags") == [] and servers.get(sb, {}).get("answered") is True,
              z.get("parent_ds"))
        check("2.5 with B lacking it the zone still waits (pending_ds)",
              (api.status(AUTO_ZONE) or {}).get("status") == "pending_ds")
        b.set_ds("auto", auto_ours)
        active = wait_until(lambda: (api.status(AUTO_ZONE) or {}).get("status") == "active", 15)
        rows = page()
        check("2.6 our DS at both: the daemon confirms (active) and the page shows both yes",
              bool(active) and rows.get(sa) == "yes" and rows.get(sb) == "yes", f"{rows} {api.status(AUTO_ZONE)}")
        check("z satellited alive", proc.poll() is None)
        rc = stop_proc(proc)
        check("z SIGTERM stops satellited with exit status 0", rc == 0, f"exit status {rc}")
    except KeyboardInterrupt as e:
        check("harness interrupted", False, str(e))
    except Exception:
        check("harness set-up", False, traceback.format_exc())
    finally:
        stop_all(gentle=False)
        finish_workdir(workdir, t0, args.keep or CHECKS.failed, kept="logs kept in")
    if CHECKS.failures:
        print("failed: " + "; ".join(CHECKS.failures))
    print(f"{CHECKS.passed} passed, {CHECKS.failed} failed")
    return 0 if CHECKS.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
