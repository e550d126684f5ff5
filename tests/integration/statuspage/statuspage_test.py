#!/usr/bin/python3
# The status page (GET /, GET /zones/{zone}) as a browser shows it: headless
# Chromium (Debian's `chromium`) against satellited serving
#   example.test.  the demo zone file, signed live (a ZSK roll started over
#                  the API, so three keys: KSK in ds_submit, ZSK active, new
#                  ZSK in publish)
#   plain.test.    an unsigned file zone (presigned mode)
#   gone.test.     a secondary whose primary does not answer (a last error)
#   1  a page without a login is the login form (401), no zone shown
#   2  logging in through the form (a local page posting the token, as a
#      person would); the session cookie serves the next Chromium run from
#      the same profile: the all-zones table, one row per zone
#   3  the zone page: the DNSSEC status and DS as the JSON API says; the key
#      timeline has one lane per key of GET .../dnssec, each lane's state at
#      "now" is that key's state, both as the lane says and as the segment
#      drawn up to the "now" line says
#   4  the filter link ?problems=1 lists gone.test. alone; no secret in any page
#   5  [server] nsid and identity: kdig +nsid shows the NSID (RFC 5001), dig
#      CH TXT id.server. the identity; version.bind. (not set) is REFUSED
# Screenshots: <build>/test-artifacts/status-overview.png, status-zone.png.
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import (CHECKS, LOOP, Api, LogFile, arg_parser, cannot_run, check, finish_workdir, free_port,  # noqa: E402
                     info, interrupt_on_sigterm, spawn, stop_all, stop_proc, wait_until)

ETC = os.path.join(HERE, "..", "..", "..", "etc")
ZONE = "example.test."
SECRET = "status-page-test-secret"


class Dom(html.parser.HTMLParser):
    """The parts of a dumped DOM the checks read: zone rows, the timeline's
    lanes with their segments, the "now" line, the DNSSEC status."""

    def __init__(self, text):
        super().__init__()
        self.rows, self.lanes, self.now, self.status, self.forms, self.ds = [], [], None, None, [], []
        self._lane, self._in_ds_code = None, False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-zone" in a:
            self.rows.append(a["data-zone"])
        elif tag == "g" and a.get("class") == "lane":
            self._lane = {"tag": int(a["data-key-tag"]), "type": a["data-key-type"], "now": a["data-state-now"],
                          "segments": []}
            self.lanes.append(self._lane)
        elif tag == "g" and a.get("class") == "now":
            self.now = int(a["data-time"])
        elif tag == "rect" and a.get("class") == "segment" and self._lane is not None:
            self._lane["segments"].append({"state": a["data-state"], "planned": a["data-planned"] == "true",
                                           "from": int(a["data-from"]), "to": int(a["data-to"])})
        elif "data-status" in a:
            self.status = a["data-status"]
        elif tag == "form":
            self.forms.append(a.get("action"))
        elif tag == "code":
            self._in_ds_code = True

    def handle_endtag(self, tag):
        if tag == "g":
            self._lane = None
        if tag == "code":
            self._in_ds_code = False

    def handle_data(self, data):
        if self._in_ds_code and " IN DS " in data:
            self.ds.append(data.strip())


def main():
    ap = arg_parser(__doc__, HERE, verbose=False)
    args = ap.parse_args()
    binary = os.path.abspath(args.satellited)
    chromium = shutil.which("chromium")
    if not chromium:
        return cannot_run("chromium not installed (apt-get install chromium)")
    artifacts = os.path.join(os.path.dirname(os.path.dirname(binary)), "test-artifacts")
    os.makedirs(artifacts, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="satellite-statuspage-")
    interrupt_on_sigterm()
    t0 = time.monotonic()
    try:
        os.makedirs(os.path.join(workdir, "zones"))
        shutil.copy(os.path.join(ETC, "zones", "example.test.zone"), os.path.join(workdir, "zones"))
        with open(os.path.join(workdir, "zones", "plain.test.zone"), "w") as f:
            f.write("$ORIGIN plain.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 900 1209600 300\n"
                    "@ NS ns\nns A 192.0.2.1\n")
        port, api_port, dead = free_port(), free_port(), free_port()
        conf = os.path.join(workdir, "satellite.toml")
        with open(conf, "w") as f:
            f.write(f"""[server]
listen = ["{LOOP}:{port}"]
threads = 1
state_dir = "state"
nsid = "statuspage-nsid"
identity = "statuspage-id"
[api]
listen = "{LOOP}:{api_port}"
[[api.token]]
name = "viewer"
secret = "{SECRET}"
permissions = ["zone:read", "dnssec:read", "dnssec:enable", "dnssec:rotate"]
[log]
level = "info"
[[zone]]
name = "{ZONE}"
file = "zones/example.test.zone"
mode = "live"
[zone.signing]
enabled = true
algorithm = 13
[[zone]]
name = "plain.test."
file = "zones/plain.test.zone"
[[zone]]
name = "gone.test."
primaries = ["{LOOP}:{dead}"]
""")
        log = LogFile(os.path.join(workdir, "satellited.log"))
        proc = spawn([binary, "--config", conf], log.path)
        api = Api(api_port)
        api.token = SECRET
        up = wait_until(lambda: proc.poll() is not None or api.call("GET", "/healthz", None).status == 200, 20)
        if not up or proc.poll() is not None:
            raise RuntimeError(f"satellited did not start: {log.tail(30)}")
        wait_until(lambda: (api.status(ZONE) or {}).get("zsk"), 10)
        ds = (api.status(ZONE) or {}).get("ds_records", [])
        r = api.post(ZONE, "confirm-ds-published", {"ds_records": ds})
        check("0.1 confirm-ds-published: the zone is active", r.status == 200, r)
        r = api.post(ZONE, "rotate-zsk")
        check("0.2 rotate-zsk accepted (three keys to draw)", r.status == 200, r)
        wait_until(lambda: "gone.test" in (api.call("GET", "/api/v1/zones/gone.test").json or {}).get("last_error", "")
                   or (api.call("GET", "/api/v1/zones/gone.test").json or {}).get("last_error"), 15)

        profile = os.path.join(workdir, "chromium")

        def browse(url, screenshot=None, height=900):
            argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
                    f"--window-size=1280,{height}", "--dump-dom"]
            if screenshot:
                argv.append(f"--screenshot={screenshot}")
            p = subprocess.run(argv + [url], capture_output=True, text=True, timeout=40)
            return p.stdout

        # 1: no session yet.
        base = f"http://{LOOP}:{api_port}"
        dom = Dom(browse(base + "/"))
        check("1.1 without a login / is the login form, no zone shown", "/login" in dom.forms and not dom.rows,
              dom.forms)

        # 2: the login form, filled and sent as a person would (a local page
        # holding the token; nothing in a URL).
        login = os.path.join(workdir, "login.html")
        with open(login, "w") as f:
            f.write(f'<html><body onload="document.forms[0].submit()"><form method="post" action="{base}/login">'
                    f'<input type="hidden" name="token" value="{SECRET}"></form></body></html>')
        browse("file://" + login)  # its DOM is the local page's; the cookie is what counts
        shot = os.path.join(artifacts, "status-overview.png")
        text = browse(base + "/", shot)
        pages = text
        dom = Dom(text)
        check("2.1 logged in by the form, the next run (same profile, its cookie) shows one row per zone",
              sorted(dom.rows) == ["example.test.", "gone.test.", "plain.test."], text[:1500])
        check("2.2 screenshot of / kept", os.path.getsize(shot) > 10_000 if os.path.exists(shot) else False, shot)

        # 3: the zone page against the JSON API's keys.
        state = api.status(ZONE) or {}
        keys = state.get("ksk", []) + state.get("zsk", [])
        shot = os.path.join(artifacts, "status-zone.png")
        text = browse(base + "/zones/example.test", shot, height=1300)
        state_after = api.status(ZONE) or {}
        dom = Dom(text)
        check("3.1 DNSSEC status as the API says", dom.status == state.get("status") and dom.status is not None,
              f"page {dom.status}, api {state.get('status')}")
        want_ds = sorted(f"{ZONE} IN DS {d['key_tag']} {d['algorithm']} {d['digest_type']} {d['digest']}"
                         for d in state.get("ds_records", []))
        check("3.2 the DS records for the parent as the API gives them", want_ds and sorted(dom.ds) == want_ds,
              f"page {dom.ds}\napi {want_ds}")
        check("3.3 three keys (KSK, ZSK, new ZSK), one lane each",
              len(keys) == 3 and sorted((l["type"], l["tag"]) for l in dom.lanes) ==
              sorted((k["key_type"], k["key_tag"]) for k in keys), f"lanes {dom.lanes}\nkeys {keys}")
        steady = [(k["key_tag"], k["state"]) for k in keys] == \
            [(k["key_tag"], k["state"]) for k in state_after.get("ksk", []) + state_after.get("zsk", [])]
        by_tag = {k["key_tag"]: k["state"] for k in keys}
        wrong = []
        for lane in dom.lanes:
            at_now = [s for s in lane["segments"] if not s["planned"] and s["from"] <= dom.now <= s["to"]
                      and s["to"] == dom.now]
            if lane["now"] != by_tag.get(lane["tag"]) or len(at_now) != 1 or at_now[0]["state"] != lane["now"]:
                wrong.append((lane["tag"], lane["now"], by_tag.get(lane["tag"]), at_now))
        check("3.4 each lane's state at now is its key's state (the lane and the segment ending at the now line)",
              steady and dom.now is not None and not wrong, wrong or "keys moved during the render")
        new_zsk = [l for l in dom.lanes if l["now"] == "publish"]
        check("3.5 the new ZSK's lane plans its move to active",
              len(new_zsk) == 1 and any(s["planned"] and s["state"] == "active" for s in new_zsk[0]["segments"]),
              new_zsk)
        check("3.6 screenshot of the zone page kept",
              os.path.getsize(shot) > 10_000 if os.path.exists(shot) else False, shot)

        # 4: a filter link, and no secret on any page.
        pages += text
        text = browse(base + "/?problems=1")
        pages += text
        check("4.1 ?problems=1 lists the zone whose primary does not answer", Dom(text).rows == ["gone.test."],
              text[:1500])
        check("4.2 the token's secret appears on no page", SECRET not in pages, "")
        # 5: NSID (RFC 5001) and CHAOS id.server. (RFC 4892), as configured, seen by kdig and dig.
        kdig, dig = shutil.which("kdig"), shutil.which("dig")
        if kdig:
            out = subprocess.run([kdig, f"@{LOOP}", "-p", str(port), "+nsid", ZONE, "SOA"], capture_output=True,
                                 text=True, timeout=10).stdout
            check("5.1 kdig +nsid shows our NSID", re.search(r'NSID: [0-9a-fA-F ]+"statuspage-nsid"', out), out)
        if dig:
            out = subprocess.run([dig, f"@{LOOP}", "-p", str(port), "+short", "CH", "TXT", "id.server."],
                                 capture_output=True, text=True, timeout=10).stdout
            check("5.2 dig CH TXT id.server. answers the configured identity", out.strip() == '"statuspage-id"', out)
            out = subprocess.run([dig, f"@{LOOP}", "-p", str(port), "CH", "TXT", "version.bind."],
                                 capture_output=True, text=True, timeout=10).stdout
            check("5.3 version.bind. (not configured) is REFUSED", "status: REFUSED" in out, out)
        rc = stop_proc(proc, 15, report_kill=False)
        check("6.1 SIGTERM: exit 0", rc == 0, log.tail(10))
        info(f"screenshots in {artifacts}")
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
