#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_query into tests/fuzz/corpus/query/.

Valid queries of several types against the fuzz catalog, EDNS variants, and
malformed messages. Rerun after changing it; crash reproducers saved in the
same folder (crash-*, by hand) are left alone.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "query")

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, DNAME, OPT, DS = 1, 2, 5, 6, 12, 15, 16, 28, 33, 39, 41, 43
RRSIG, NSEC, DNSKEY, TSIG, IXFR, AXFR, MAILB, ANY = 46, 47, 48, 250, 251, 252, 253, 255
RD, CD, QR = 0x0100, 0x0010, 0x8000


def name(text):
    out = b""
    for label in [l for l in text.split(".") if l]:
        b = label.encode()
        out += bytes([len(b)]) + b
    return out + b"\x00"


def header(id_, flags, qd, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", id_, flags, qd, an, ns, ar)


def opt(payload=1232, version=0, do=False, rdata=b""):
    return b"\x00" + struct.pack(">HHBBHH", OPT, payload, 0, version, 0x8000 if do else 0, len(rdata)) + rdata


def query(qname, qtype=A, qclass=1, flags=RD, id_=0x1234, edns=None):
    ar = 1 if edns is not None else 0
    m = header(id_, flags, 1, 0, 0, ar) + name(qname) + struct.pack(">HH", qtype, qclass)
    if edns is not None:
        m += edns
    return m


SEEDS = {
    # Valid queries, one per lookup rule of the fuzz catalog.
    "a-apex": query("example.com"),
    "a-web": query("web.example.com"),
    "a-case": query("WeB.ExAmPlE.CoM"),
    "aaaa-apex": query("example.com", AAAA),
    "ns-apex": query("example.com", NS),
    "mx-apex": query("example.com", MX),
    "soa-apex": query("example.com", SOA),
    "srv": query("_sip._tcp.example.com", SRV),
    "cname-www": query("www.example.com"),
    "cname-qtype": query("www.example.com", CNAME),
    "cname-ext": query("ext.example.com"),
    "cname-loop": query("loop1.example.com"),
    "cname-cross-zone": query("tochild.example.com"),
    "cname-cross-loop": query("xloop.example.com", TXT),
    "dname-cross-zone": query("www.dnchild.example.com"),
    "ent": query("b.c.example.com"),
    "nxdomain": query("nope.example.com"),
    "nodata": query("web.example.com", MX),
    "wild-a": query("foo.wild.example.com"),
    "wild-deep": query("a.b.wild.example.com", TXT),
    "wild-sub": query("sub.wild.example.com"),
    "wild-below-sub": query("x.sub.wild.example.com"),
    "wild-cname": query("x.cname.example.com"),
    "wild-literal": query("*.wild.example.com", TXT),
    "dname": query("a.dn.example.com"),
    "dname-inzone": query("x.dn2.example.com"),
    "dname-owner": query("dn.example.com", DNAME),
    "dname-yxdomain": query("a" * 60 + ".dnlong.example.com"),
    "dname-apex": query("www.apexdname.test"),
    "referral": query("host.deleg.example.com"),
    "referral-cut": query("deleg.example.com", NS),
    "ds-cut": query("deleg.example.com", DS),
    "ds-child-apex": query("child.example.com", DS),
    "child-a": query("www.child.example.com"),
    "refused-nozone": query("example.org"),
    "servfail": query("www.broken.test"),
    "any-apex": query("example.com", ANY),
    "big-txt": query("big.example.com", TXT),
    "axfr": query("example.com", AXFR),
    "ixfr": query("example.com", IXFR),
    "mailb": query("example.com", MAILB),
    "class-ch": query("example.com", TXT, qclass=3),
    "class-any": query("example.com", A, qclass=255),
    "root": query(".", NS),
    # EDNS.
    "edns": query("web.example.com", edns=opt()),
    "edns-do": query("example.com", DNSKEY, edns=opt(4096, do=True)),
    "edns-small": query("big.example.com", TXT, edns=opt(100)),
    "edns-big": query("big.example.com", TXT, edns=opt(65535)),
    "edns-v1": query("web.example.com", edns=opt(version=1)),
    "edns-cookie": query("web.example.com", edns=opt(rdata=struct.pack(">HH", 10, 8) + b"\x01" * 8)),
    "edns-badopt": query("web.example.com", edns=opt(rdata=struct.pack(">HH", 10, 20))),
    "notify": query("example.com", SOA, flags=(4 << 11) | 0x0400),
    "update": query("example.com", SOA, flags=5 << 11),
    "status": header(1, 2 << 11, 0),
    # Malformed.
    "empty": b"",
    "short": b"\x12\x34\x01\x00\x00\x01",
    "header-only": header(7, RD, 0),
    "response": query("web.example.com", flags=QR | RD),
    "two-questions": header(1, 0, 2) + name("a.example.com") + b"\x00\x01\x00\x01"
    + name("b.example.com") + b"\x00\x01\x00\x01",
    "truncated-question": query("web.example.com")[:-3],
    "compressed-qname": header(1, 0, 1) + b"\xc0\x0c\x00\x01\x00\x01",
    "label-64": header(1, 0, 1) + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",
    "name-too-long": header(1, 0, 1) + (b"\x3f" + b"a" * 63) * 4 + b"\x00\x00\x01\x00\x01",
    "opt-in-answer": header(1, 0, 1, 1, 0, 0) + name("web.example.com") + b"\x00\x01\x00\x01" + opt(),
    "two-opts": header(1, 0, 1, 0, 0, 2) + name("web.example.com") + b"\x00\x01\x00\x01" + opt() + opt(),
    "opt-not-root": header(1, 0, 1, 0, 0, 1) + name("web.example.com") + b"\x00\x01\x00\x01"
    + name("x") + opt()[1:],
    "tsig-last": header(1, 0, 1, 0, 0, 1) + name("web.example.com") + b"\x00\x01\x00\x01"
    + name("key") + struct.pack(">HHIH", TSIG, 255, 0, 4) + b"\x00" * 4,
    "tsig-not-last": header(1, 0, 1, 0, 0, 2) + name("web.example.com") + b"\x00\x01\x00\x01"
    + name("key") + struct.pack(">HHIH", TSIG, 255, 0, 0) + opt(),
    "rdlen-past-end": header(1, 0, 1, 0, 0, 1) + name("web.example.com") + b"\x00\x01\x00\x01"
    + b"\x00" + struct.pack(">HHIH", OPT, 1232, 0, 200),
    "huge-counts": header(1, 0, 1, 0xFFFF, 0xFFFF, 0xFFFF) + name("web.example.com") + b"\x00\x01\x00\x01",
    "pointer-loop-answer": header(1, 0, 1, 1, 0, 0) + name("web.example.com") + b"\x00\x01\x00\x01"
    + b"\xc0\x21" + struct.pack(">HHIH", A, 1, 0, 4) + b"\x7f\x00\x00\x01",
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for fname, data in SEEDS.items():
        with open(os.path.join(OUT, fname), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {OUT}")


if __name__ == "__main__":
    main()
