#!/usr/bin/python3
# The example config as a new operator meets it: etc/satellite.toml (with
# its zone file) copied to a temporary directory, only the ports (DNS and
# API, picked at run time) and state_dir changed; satellited started on it.
#   1  the demo zone answers signed: www.example.test. CNAME + A with
#      RRSIGs that verify against the zone's DNSKEY RRset, NXDOMAIN with NSEC
#   2  satellitectl (beside satellited) with the demo token from the config
#      in SATELLITE_TOKEN: `dnssec status example.test` shows a KSK, a ZSK
#      and the DS for the parent; `zone show` and `status` (ready, exit 0)
#   3  /readyz answers 200 without a token; /healthz 200
#   4  SIGHUP with [log] format = "json", level = "debug", threads changed
#      and a new serial in the zone file: the new serial is served (signed);
#      every log line after the reload is one JSON object, the zone's lines
#      carry "zone": "example.test."; one line says threads needs a restart
#   5  SIGTERM: exit 0
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import dns.dnssec
import dns.rdataclass
import dns.name
import dns.rcode
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import (CHECKS, LOOP, Api, LogFile, arg_parser, ask, check, finish_workdir, free_port,  # noqa: E402
                     info, interrupt_on_sigterm, spawn, stop_all, stop_proc, wait_until)

T = dns.rdatatype
ETC = os.path.join(HERE, "..", "..", "..", "etc")
ZONE = "example.test."


def config_with_ports(text, port, api_port, state_dir):
    """The example config with our ports and state_dir; nothing else touched."""
    text, n1 = re.subn(r'(?m)^listen\s*=\s*\[.*\]', f'listen    = ["{LOOP}:{port}"]', text, count=1)
    text, n2 = re.subn(r'(?m)^listen\s*=\s*"127\.0\.0\.1:8053"', f'listen = "{LOOP}:{api_port}"', text, count=1)
    text, n3 = re.subn(r'(?m)^state_dir\s*=\s*".*"', f'state_dir = "{state_dir}"', text, count=1)
    if (n1, n2, n3) != (1, 1, 1):
        raise RuntimeError(f"etc/satellite.toml changed shape (listen/api listen/state_dir found {n1}/{n2}/{n3})")
    return text


def token_of(text):
    m = re.search(r'(?m)^secret\s*=\s*"([^"]+)"', text)
    return m.group(1) if m else None


def validates(r, name, rdtype, keys):
    """Every RRset of `rdtype` at `name` in r's answer has an RRSIG that verifies with `keys`."""
    owner = dns.name.from_text(name)
    rrset = r.find_rrset(r.answer, owner, dns.rdataclass.IN, rdtype)
    sig = r.find_rrset(r.answer, owner, dns.rdataclass.IN, T.RRSIG, rdtype)
    dns.dnssec.validate(rrset, sig, {dns.name.from_text(ZONE): keys})
    return True


def main():
    ap = arg_parser(__doc__, HERE, verbose=False)
    args = ap.parse_args()
    binary = os.path.abspath(args.satellited)
    ctl = os.path.join(os.path.dirname(binary), "satellitectl")
    workdir = tempfile.mkdtemp(prefix="satellite-example-")
    interrupt_on_sigterm()
    t0 = time.monotonic()
    try:
        etc = os.path.join(workdir, "etc")
        shutil.copytree(ETC, etc)
        with open(os.path.join(etc, "satellite.toml")) as f:
            original = f.read()
        port, api_port = free_port(), free_port()
        with open(os.path.join(etc, "satellite.toml"), "w") as f:
            f.write(config_with_ports(original, port, api_port, os.path.join(workdir, "state")))
        token = token_of(original)
        check("0.1 the example config has an API token", token is not None)
        log = LogFile(os.path.join(workdir, "satellited.log"))
        proc = spawn([binary, "--config", os.path.join(etc, "satellite.toml")], log.path)
        api = Api(api_port)
        up = wait_until(lambda: proc.poll() is not None or api.call("GET", "/healthz", None).status == 200, 30)
        if not up or proc.poll() is not None:
            raise RuntimeError(f"satellited did not start: {log.tail(30)}")

        keys_r = wait_until(lambda: ask(port, ZONE, "DNSKEY", do=True, tcp=True), 10)
        keys = keys_r.find_rrset(keys_r.answer, dns.name.from_text(ZONE), dns.rdataclass.IN, T.DNSKEY) \
            if keys_r else None
        check("1.1 DNSKEY RRset served (a KSK and a ZSK)",
              keys is not None and sorted(k.flags for k in keys) == [256, 257], keys_r)
        r = ask(port, "www." + ZONE, "A", do=True)
        ok = False
        try:
            ok = r is not None and validates(r, "www." + ZONE, T.CNAME, keys) and \
                validates(r, "web." + ZONE, T.A, keys)
        except Exception as e:  # dns.dnssec.ValidationFailure, KeyError
            info(f"validation: {e!r}")
        check("1.2 www.example.test. CNAME + A, each RRSIG verifies with the zone's DNSKEY", ok, r)
        r = ask(port, "nothere." + ZONE, "A", do=True)
        check("1.3 NXDOMAIN with NSEC", r is not None and r.rcode() == dns.rcode.NXDOMAIN
              and any(rr.rdtype == T.NSEC for rr in r.authority), r)

        env = dict(os.environ, SATELLITE_TOKEN=token or "", SATELLITE_API=f"http://{LOOP}:{api_port}")
        def run_ctl(*a):  # noqa: E306
            p = subprocess.run([ctl, *a], env=env, capture_output=True, text=True, timeout=30)
            return p.returncode, p.stdout + p.stderr
        rc, out = run_ctl("dnssec", "status", "example.test")
        check("2.1 satellitectl dnssec status example.test: exit 0, a KSK, a ZSK and a DS",
              rc == 0 and "KSK" in out and "ZSK" in out and re.search(r"IN DS \d+ 13 2 [0-9A-F]+", out), out)
        rc, out = run_ctl("zone", "show", "example.test")
        check("2.2 satellitectl zone show: phase ok, served, ready",
              rc == 0 and re.search(r"(?m)^phase\s+ok$", out) and re.search(r"(?m)^ready\s+yes$", out), out)
        rc, out = run_ctl("status")
        check("2.3 satellitectl status: ready, exit 0", rc == 0 and out.startswith("ready: 1 zones"), out)

        check("3.1 /readyz 200 without a token", api.call("GET", "/readyz", None).status == 200)
        check("3.2 /healthz 200", api.call("GET", "/healthz", None).status == 200)

        conf_path = os.path.join(etc, "satellite.toml")
        with open(conf_path) as f:
            conf = f.read()
        conf = re.sub(r'(?m)^format\s*=\s*"text"', 'format = "json"', conf, count=1)
        conf = re.sub(r'(?m)^level\s*=\s*"info"', 'level  = "debug"', conf, count=1)
        conf = re.sub(r'(?m)^threads\s*=\s*0', 'threads = 1', conf, count=1)
        with open(conf_path, "w") as f:
            f.write(conf)
        zfile = os.path.join(etc, "zones", "example.test.zone")
        with open(zfile) as f:
            ztext = f.read()
        old_serial = re.search(r"(\d+)\s*; serial", ztext).group(1)
        new_serial = int(old_serial) + 1
        with open(zfile, "w") as f:
            f.write(ztext.replace(old_serial, str(new_serial), 1))
        mark = log.mark()
        proc.send_signal(signal.SIGHUP)

        def serial_now():
            r = ask(port, ZONE, "SOA", do=True)
            return r is not None and any(rr.rdtype == T.SOA and rr[0].serial == new_serial for rr in r.answer) \
                and any(rr.rdtype == T.RRSIG for rr in r.answer)
        check("4.1 after SIGHUP the zone file's new serial is served, signed", wait_until(serial_now, 15))
        wait_until(lambda: "reloaded" in log.text(mark), 10)
        api.call("GET", "/readyz", None)  # an API request: logged at debug
        wait_until(lambda: '"level":"debug"' in log.text(mark), 5)
        lines = [l for l in log.text(mark).splitlines() if l.strip()]
        bad, objs = [], []
        for l in lines:
            try:
                objs.append(json.loads(l))
            except ValueError:
                bad.append(l)
        check("4.2 every log line after the reload is one JSON object", lines and not bad, "\n".join(bad[:5]))
        zone_lines = [o for o in objs if o.get("zone") == ZONE]
        check("4.3 the zone's lines carry \"zone\": \"example.test.\"",
              zone_lines and all(o.get("msg", "").startswith("zone " + ZONE) for o in zone_lines),
              "\n".join(lines[:10]))
        check("4.4 one line says [server] threads changes only on restart",
              sum("[server] threads changes only on restart" in o.get("msg", "") for o in objs) == 1,
              "\n".join(lines[:10]))
        check("4.5 debug lines appear after the reload (level debug)", any(o.get("level") == "debug" for o in objs),
              "\n".join(lines[:10]))

        rc = stop_proc(proc, 15, report_kill=False)
        check("5.1 SIGTERM: exit 0", rc == 0, log.tail(10))
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
