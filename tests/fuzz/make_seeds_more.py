#!/usr/bin/python3
# Seeds for the fuzz targets added in issue 17 (fuzz_notify, fuzz_xfr_tsig,
# fuzz_api, fuzz_config); corpus/store comes from real files (save_zone,
# append_journal, save_zone_state) and a hand-written DNSSEC state.
#   tests/fuzz/make_seeds_more.py     (writes into tests/fuzz/corpus/)
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def write(corpus, fname, data):
    d = os.path.join(HERE, "corpus", corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def opt(options=b""):
    return b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(options)) + options


def cookie(data):
    return struct.pack("!HH", 10, len(data)) + data


# fuzz_notify: first byte = sender (0 allowed IPv4, 1 IPv6, 2 not allowed), then the message.
soa_q = name("example.com.") + struct.pack("!HH", 6, 1)
notify = struct.pack("!HHHHHH", 0x1111, 0x2400, 1, 0, 0, 0) + soa_q
soa_rr = name("example.com.") + struct.pack("!HHIH", 6, 1, 300, 22) + b"\x02ns\x00\x01h\x00" + struct.pack("!IIIII", 9, 3600, 600, 86400, 300)
notify_serial = struct.pack("!HHHHHH", 0x1112, 0x2400, 1, 1, 0, 0) + soa_q + soa_rr
write("notify", "plain-allowed", b"\x00" + notify)
write("notify", "with-serial", b"\x00" + notify_serial)
write("notify", "v6-refused", b"\x01" + notify)
write("notify", "not-allowed", b"\x02" + notify)
signed_q = name("signed.example.") + struct.pack("!HH", 6, 1)
write("notify", "unsigned-for-tsig-zone", b"\x00" + struct.pack("!HHHHHH", 0x1113, 0x2400, 1, 0, 0, 0) + signed_q)
write("notify", "unknown-zone", b"\x00" + struct.pack("!HHHHHH", 0x1114, 0x2400, 1, 0, 0, 0) + name("nope.test.") + struct.pack("!HH", 6, 1))
q = struct.pack("!HHHHHH", 0x2222, 0x0100, 1, 0, 0, 1) + name("www.example.com.") + struct.pack("!HH", 1, 1)
write("notify", "cookie-client", b"\x00" + q + opt(cookie(bytes.fromhex("2464c4abcf10c957"))))
write("notify", "cookie-server", b"\x00" + q + opt(cookie(bytes.fromhex("2464c4abcf10c957010000005cf79f111f8130c3eee29480"))))
write("notify", "cookie-short", b"\x00" + q + opt(cookie(b"\x01\x02\x03")))
write("notify", "cookie-two", b"\x00" + q + opt(cookie(bytes(8)) + cookie(bytes(24))))
write("notify", "cookie-empty-question", b"\x00" + struct.pack("!HHHHHH", 0x2223, 0, 0, 0, 0, 1) + opt(cookie(bytes(8))))

# fuzz_xfr_tsig: fuzz_xfr's streams with a signing mask after the mode byte.
for f in sorted(os.listdir(os.path.join(HERE, "corpus", "xfr"))):
    with open(os.path.join(HERE, "corpus", "xfr", f), "rb") as fh:
        data = fh.read()
    if not data:
        continue
    write("xfr_tsig", f + "-all-signed", data[:1] + b"\xff" + data[1:])
    write("xfr_tsig", f + "-first-only", data[:1] + b"\x01" + data[1:])

# fuzz_api: byte 0 = method (low 3 bits: GET POST DELETE PUT ...) | auth << 3
# (0 valid token, 1 wrong, 2 none); then "target\nbody".
def api(fname, method, auth, target, body=""):
    write("api", fname, bytes([method | auth << 3]) + target.encode() + b"\n" + body.encode())


api("zones", 0, 0, "/api/v1/zones")
api("zone", 0, 0, "/api/v1/zones/example.com")
api("refresh", 1, 0, "/api/v1/zones/example.com/refresh")
api("dnssec-get", 0, 0, "/api/v1/domains/example.com/dnssec")
api("dnssec-enable", 1, 0, "/api/v1/domains/example.com/dnssec/enable", '{"algorithm": 13}')
api("confirm-ds", 1, 0, "/api/v1/domains/example.com/dnssec/confirm-ds-published",
    '{"ds": ["12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]}')
api("peer-keys-post", 1, 0, "/api/v1/domains/example.com/dnssec/peer-keys",
    '{"keys": [{"dnskey": "example.com. 3600 IN DNSKEY 256 3 13 AAAA"}]}')
api("peer-keys-delete", 2, 0, "/api/v1/domains/example.com/dnssec/peer-keys/12345")
api("bad-json", 1, 0, "/api/v1/domains/example.com/dnssec/enable", '{"algorithm": ')
api("no-token", 0, 2, "/api/v1/zones")
api("wrong-token", 0, 1, "/api/v1/zones")
api("metrics", 0, 0, "/metrics")
api("status", 0, 0, "/?x=%zz")
api("readyz", 0, 2, "/readyz")

# fuzz_config: the shipped example and the unit tests' full config.
os.makedirs(os.path.join(HERE, "corpus", "config"), exist_ok=True)
shutil.copy(os.path.join(ROOT, "etc", "satellite.toml"), os.path.join(HERE, "corpus", "config", "example.toml"))
shutil.copy(os.path.join(ROOT, "tests", "unit", "config", "data", "full.toml"),
            os.path.join(HERE, "corpus", "config", "full.toml"))
write("config", "cookies-rrl", b'[server]\ncookie_secret = "e5e973e5a6b2a43f48e7dc849e37bfcf"\n'
      b'cookie_secret_previous = "445536bcd2513298075a5d379663c962"\nonline_signing_budget = 10\n'
      b'[server.rrl]\nrate = 5\nexempt = ["127.0.0.0/8"]\n')
write("config", "live-compact", b'[[zone]]\nname = "example.com."\nprimaries = ["192.0.2.1:53"]\nmode = "live"\n'
      b'[zone.signing]\nalgorithm = 15\ndenial = "compact"\n')
write("config", "bad-compact", b'[[zone]]\nname = "example.com."\nprimaries = ["192.0.2.1"]\nmode = "live"\n'
      b'[zone.signing]\nalgorithm = 8\ndenial = "compact"\n')
write("config", "empty", b"")
