#!/usr/bin/python3
# `cmake --install` of the build tree satellited comes from, into a temporary
# prefix, then the daemon started from what was installed:
#   1  the layout: bin/satellited and satellitectl, share/man/man{8,1,5},
#      lib/systemd/system/satellited.service (ExecStart at the installed
#      binary and config), lib/sysusers.d/satellite.conf (its user),
#      etc/satellite/satellite.toml (state_dir = var/lib/satellite), the demo
#      zone, var/lib/satellite (0700)
#   2  the man pages render with groff without a warning
#   3  systemd-analyze verify accepts the unit, and `security --offline`
#      rates its exposure at most 2.5 (when systemd-analyze is here)
#   4  the installed satellited on the installed config (only its ports
#      changed) passes --check-config, answers the demo zone signed, keeps
#      its keys in the installed state directory; the installed
#      satellitectl with the demo token shows the zone's DS
#   5  a second install keeps the edited config and puts satellite.toml.dist beside it
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import (CHECKS, LOOP, Api, LogFile, arg_parser, ask, cannot_run, check, finish_workdir,  # noqa: E402
                     free_port, info, interrupt_on_sigterm, spawn, stop_all, stop_proc, wait_until)

ZONE = "example.test."


def main():
    ap = arg_parser(__doc__, HERE, verbose=False)
    args = ap.parse_args()
    binary = os.path.abspath(args.satellited)
    build = os.path.dirname(os.path.dirname(binary))
    cmake = shutil.which("cmake")
    if not cmake or not os.path.exists(os.path.join(build, "cmake_install.cmake")):
        return cannot_run(f"cmake or {build}/cmake_install.cmake missing")
    workdir = tempfile.mkdtemp(prefix="satellite-install-")
    interrupt_on_sigterm()
    t0 = time.monotonic()
    try:
        prefix = os.path.join(workdir, "prefix")
        r = subprocess.run([cmake, "--install", build, "--prefix", prefix], capture_output=True, text=True,
                           timeout=60)
        check("1.0 cmake --install into a temporary prefix", r.returncode == 0, r.stdout + r.stderr)
        p = lambda *a: os.path.join(prefix, *a)  # noqa: E731
        want = ["bin/satellited", "bin/satellitectl", "share/man/man8/satellited.8", "share/man/man1/satellitectl.1",
                "share/man/man5/satellite.toml.5", "lib/systemd/system/satellited.service",
                "lib/sysusers.d/satellite.conf", "etc/satellite/satellite.toml", "etc/satellite/zones/example.test.zone"]
        missing = [f for f in want if not os.path.isfile(p(f))]
        check("1.1 binaries, man pages, unit, sysusers, config and demo zone installed", not missing, missing)
        state = p("var", "lib", "satellite")
        check("1.2 the state directory exists, 0700", os.path.isdir(state)
              and stat.S_IMODE(os.stat(state).st_mode) == 0o700, state)
        with open(p("lib/systemd/system/satellited.service")) as f:
            unit = f.read()
        check("1.3 the unit runs the installed binary on the installed config as the user 'satellite'",
              f"ExecStart={p('bin/satellited')} --config {p('etc/satellite/satellite.toml')}\n" in unit
              and "User=satellite\n" in unit and "Type=notify\n" in unit, unit[:600])
        with open(p("etc/satellite/satellite.toml")) as f:
            conf = f.read()
        check("1.4 the installed config's state_dir is the installed state directory",
              re.search(rf'(?m)^state_dir = "{re.escape(state)}"$', conf), conf[:1200])

        groff = shutil.which("groff")
        if groff:
            bad = []
            for page in want[2:5]:
                g = subprocess.run([groff, "-man", "-ww", "-z", p(page)], capture_output=True, text=True, timeout=20)
                if g.returncode != 0 or g.stderr.strip():
                    bad.append((page, g.stderr.strip()))
            check("2.1 the man pages render with groff -man -ww, no warning", not bad, bad)
        else:
            info("groff not installed: man pages not rendered")

        sa = shutil.which("systemd-analyze")
        if sa:
            v = subprocess.run([sa, "verify", p("lib/systemd/system/satellited.service")], capture_output=True,
                               text=True, timeout=30)
            check("3.1 systemd-analyze verify accepts the unit", v.returncode == 0 and not v.stderr.strip(),
                  v.stdout + v.stderr)
            s = subprocess.run([sa, "security", "--offline=true", p("lib/systemd/system/satellited.service")],
                               capture_output=True, text=True, timeout=30)
            m = re.search(r"Overall exposure level for satellited.service: ([\d.]+)", s.stdout + s.stderr)
            check("3.2 systemd-analyze security: exposure at most 2.5", m and float(m.group(1)) <= 2.5,
                  (s.stdout + s.stderr)[-800:])
        else:
            info("systemd-analyze not installed: unit not verified")

        # 4: the installed daemon, ports changed in the installed config.
        port, api_port = free_port(), free_port()
        conf = re.sub(r'(?m)^listen\s*=\s*\[.*\]', f'listen    = ["{LOOP}:{port}"]', conf, count=1)
        conf = re.sub(r'(?m)^listen\s*=\s*"127\.0\.0\.1:8053"', f'listen = "{LOOP}:{api_port}"', conf, count=1)
        with open(p("etc/satellite/satellite.toml"), "w") as f:
            f.write(conf)
        rc = subprocess.run([p("bin/satellited"), "--check-config", "--config", p("etc/satellite/satellite.toml")],
                            capture_output=True, text=True, timeout=30)
        check("4.1 the installed satellited accepts the installed config (--check-config)", rc.returncode == 0,
              rc.stdout + rc.stderr)
        log = LogFile(os.path.join(workdir, "satellited.log"))
        proc = spawn([p("bin/satellited"), "--config", p("etc/satellite/satellite.toml")], log.path)
        api = Api(api_port)
        up = wait_until(lambda: proc.poll() is not None or api.call("GET", "/healthz", None).status == 200, 20)
        if not up or proc.poll() is not None:
            raise RuntimeError(f"the installed satellited did not start: {log.tail(30)}")
        soa = wait_until(lambda: ask(port, ZONE, "SOA", do=True), 10)
        check("4.2 the demo zone answers signed (SOA with RRSIG)",
              soa is not None and any(rr.rdtype == 46 for rr in soa.answer), soa)
        keydir = os.path.join(state, "keys")
        check("4.3 its keys are in the installed state directory", os.path.isdir(keydir) and any(
            files for _, _, files in os.walk(keydir)), keydir)
        token = re.search(r'(?m)^secret\s*=\s*"([^"]+)"', conf).group(1)
        env = dict(os.environ, SATELLITE_TOKEN=token, SATELLITE_API=f"http://{LOOP}:{api_port}")
        c = subprocess.run([p("bin/satellitectl"), "dnssec", "status", "example.test"], env=env, capture_output=True,
                           text=True, timeout=30)
        check("4.4 the installed satellitectl shows the zone's DS", c.returncode == 0
              and re.search(r"IN DS \d+ 13 2 [0-9A-F]+", c.stdout), c.stdout + c.stderr)
        check("4.5 SIGTERM: exit 0", stop_proc(proc, 15, report_kill=False) == 0, log.tail(10))

        r = subprocess.run([cmake, "--install", build, "--prefix", prefix], capture_output=True, text=True,
                           timeout=60)
        with open(p("etc/satellite/satellite.toml")) as f:
            kept = f.read() == conf
        check("5.1 a second install keeps the edited config and writes satellite.toml.dist beside it",
              r.returncode == 0 and kept and os.path.isfile(p("etc/satellite/satellite.toml.dist")), r.stdout[-600:])
    except KeyboardInterrupt as e:
        check("harness interrupted", False, str(e))
    except Exception:
        check("harness set-up", False, traceback.format_exc())
    finally:
        stop_all(gentle=False)
        finish_workdir(workdir, t0, args.keep or CHECKS.failed)
    CHECKS.print_failures()
    print(f"{CHECKS.passed} passed, {CHECKS.failed} failed")
    return 0 if CHECKS.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
