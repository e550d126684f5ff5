#!/usr/bin/python3
# Ask NSD, Knot, BIND and satellited the same questions and print their answers
# one under the other: a helper for reading a difference the differential test
# reported. Same zones and configs as differential.py (it imports its Server).
#
#   tests/integration/differential/probe.py 'www.example.test. A' 'example.test. ANY tcp'
#   tests/integration/differential/probe.py --servers nsd,satellited 'big.example.test. TXT edns=512 do'
#   tests/integration/differential/probe.py --signed 'nx.nsec3.test. A do'   # also the signed zones
# Each question: NAME TYPE [tcp] [edns[=SIZE]] [do] [rd] [cd] [class=CH].
# Loopback only; the servers are stopped on exit.

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import differential as D  # noqa: E402

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402


def main():
    p = argparse.ArgumentParser(description="one question to several servers, answers side by side")
    p.add_argument("--servers", default="nsd,knot,bind,satellited")
    p.add_argument("--satellited", default=os.path.join(D.REPO, "build", "bin", "satellited"))
    p.add_argument("--signed", action="store_true",
                   help="also sign and serve nsec.test., nsec3.test. and their children (as differential.py)")
    p.add_argument("questions", nargs="+")
    a = p.parse_args()
    zones = [(n, os.path.abspath(os.path.join(D.ZONES_DIR, n[:-1] + ".zone"))) for n in D.DEFAULT_ZONES]
    binaries = {"nsd": "/usr/sbin/nsd", "knot": "/usr/sbin/knotd", "bind": "/usr/sbin/named",
                "satellited": a.satellited}
    wd = tempfile.mkdtemp(prefix="satellite-probe-")
    servers = []
    nsec3_zones = []
    try:
        if a.signed:
            signed, kinds, _ = D.sign_zones(wd, D.ZONES_DIR, "ldns-keygen", "ldns-signzone")
            zones += signed
            nsec3_zones = [n for n, k in kinds.items() if k == "nsec3"]
        for kind in a.servers.split(","):
            if kind not in binaries:
                sys.exit("unknown server %s (%s)" % (kind, ", ".join(binaries)))
            if not os.access(binaries[kind], os.X_OK):
                D.log("skipping %s: %s not found" % (kind, binaries[kind]))
                continue
            servers.append(D.Server(kind, "p", wd, zones, False, binary=binaries[kind],
                                   nsec3_zones=nsec3_zones))
        for s in servers:
            s.start(10)
        for question in a.questions:
            name, qtype, *opts = question.split()
            edns = None
            qclass = "IN"
            flags = 0
            for o in opts:
                if o.startswith("edns"):
                    edns = int(o.split("=", 1)[1]) if "=" in o else 1232
                elif o.startswith("class="):
                    qclass = o.split("=", 1)[1]
                elif o in ("rd", "cd"):
                    flags |= dns.flags.from_text(o.upper())
            do = "do" in opts
            if do and edns is None:
                edns = 1232
            for s in servers:
                if edns is None:
                    q = dns.message.make_query(name, qtype, qclass, use_edns=False, flags=flags)
                else:
                    q = dns.message.make_query(name, qtype, qclass, use_edns=0, payload=edns,
                                               want_dnssec=do, flags=flags)
                try:
                    if "tcp" in opts:
                        r = dns.query.tcp(q, "127.0.0.1", port=s.port, timeout=2)
                    else:
                        r = dns.query.udp(q, "127.0.0.1", port=s.port, timeout=2, ignore_trailing=True)
                except Exception as e:  # noqa: BLE001 - show any failure
                    print("== %-10s %s: %s" % (s.kind, question, e))
                    continue
                print("== %-10s %s: %s %s%s" % (s.kind, question, dns.rcode.to_text(r.rcode()),
                                                dns.flags.to_text(r.flags),
                                                "" if r.edns < 0 else " edns%d%s" % (
                                                    r.edns, " do" if r.ednsflags & dns.flags.DO else "")))
                for sec in ("answer", "authority", "additional"):
                    for rrset in getattr(r, sec):
                        for line in rrset.to_text().splitlines():
                            print("   %-4s %s" % (sec[:4], line))
            print()
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
