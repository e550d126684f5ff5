#!/usr/bin/python3
"""Writes the seed corpus for fuzz_xfr into corpus/xfr/ (deterministic).

Each seed: one mode byte (bit 0: IXFR, bit 1: keep message IDs), then
length-framed response messages as a primary would send them over TCP.
"""
import os
import struct

import dns.message
import dns.name
import dns.rdatatype
import dns.rrset

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "xfr")
os.makedirs(out, exist_ok=True)
ZONE = dns.name.from_text("example.com.")


def soa(serial):
    return dns.rrset.from_text("example.com.", 300, "IN", "SOA",
                               f"ns1.example.com. host.example.com. {serial} 3600 600 86400 300")


def rr(owner, rtype, *rdata):
    return dns.rrset.from_text(owner, 300, "IN", rtype, *rdata)


def message(rrsets, qtype="AXFR", question=True):
    m = dns.message.Message(id=0x4242)
    m.flags = 0x8400
    if question:
        m.question = [dns.rrset.RRset(ZONE, dns.rdataclass.IN, dns.rdatatype.from_text(qtype))]
    m.answer = rrsets
    return m.to_wire(max_size=65535)


def stream(mode, messages):
    data = bytes([mode])
    for m in messages:
        data += struct.pack("!H", len(m)) + m
    return data


body = [rr("example.com.", "NS", "ns1.example.com."), rr("ns1.example.com.", "A", "192.0.2.1"),
        rr("www.example.com.", "A", "192.0.2.2"), rr("mail.example.com.", "MX", "10 ns1.example.com."),
        rr("*.w.example.com.", "TXT", '"wild"'), rr("alias.example.com.", "CNAME", "www.example.com.")]
seeds = {
    "axfr-one": stream(0, [message([soa(7)] + body + [soa(7)])]),
    "axfr-two": stream(0, [message([soa(7)] + body[:3]), message(body[3:] + [soa(7)], question=False)]),
    "axfr-bad-final": stream(0, [message([soa(7)] + body + [soa(8)])]),
    "axfr-out-of-zone": stream(0, [message([soa(7), rr("www.example.org.", "A", "192.0.2.9"), soa(7)])]),
    "ixfr-uptodate": stream(1, [message([soa(5)], "IXFR")]),
    "ixfr-incremental": stream(1, [message([soa(7), soa(5), rr("www.example.com.", "A", "192.0.2.2"),
                                            soa(6), rr("www.example.com.", "A", "192.0.2.3"),
                                            soa(6), soa(7), rr("new.example.com.", "A", "192.0.2.4"),
                                            soa(7)], "IXFR")]),
    "ixfr-missing-delete": stream(1, [message([soa(6), soa(5), rr("nope.example.com.", "A", "192.0.2.9"),
                                               soa(6), soa(6)], "IXFR")]),
    "ixfr-axfr-style": stream(1, [message([soa(8)] + body + [soa(8)], "IXFR")]),
    "wrong-id": stream(2, [message([soa(7)] + body + [soa(7)])]),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {out}")
