#!/usr/bin/env python3
"""Writes the seed corpora of rtcp_parser_fuzz (corpus/) and rtp_header_fuzz
(rtp_corpus/). Files named valid-* must parse, invalid-* must be rejected (rtp_test's
CorpusSeeds checks both). Crashes the fuzzer finds are added by hand as regress-*."""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def rtcp_header(count, ptype, body, padding=False):
    assert len(body) % 4 == 0
    return struct.pack("!BBH", 0x80 | (0x20 if padding else 0) | count, ptype, len(body) // 4) + body


def block(ssrc, fraction=0, lost=0, ext=0, jitter=0, lsr=0, dlsr=0):
    return struct.pack("!IIIIII", ssrc, (fraction << 24) | (lost & 0xFFFFFF), ext, jitter, lsr, dlsr)


def sr(ssrc, blocks, ntp=(0xE1234567, 0x89ABCDEF), rtp_ts=160, packets=10, octets=1600):
    body = struct.pack("!IIIIII", ssrc, ntp[0], ntp[1], rtp_ts, packets, octets) + b"".join(blocks)
    return rtcp_header(len(blocks), 200, body)


def rr(ssrc, blocks):
    return rtcp_header(len(blocks), 201, struct.pack("!I", ssrc) + b"".join(blocks))


def sdes(chunks):
    body = b""
    for ssrc, items in chunks:
        chunk = struct.pack("!I", ssrc)
        for t, text in items:
            chunk += bytes([t, len(text)]) + text
        chunk += b"\0"
        while len(chunk) % 4:
            chunk += b"\0"
        body += chunk
    return rtcp_header(len(chunks), 202, body)


def bye(ssrcs, reason=b""):
    body = b"".join(struct.pack("!I", s) for s in ssrcs)
    if reason:
        r = bytes([len(reason)]) + reason
        while len(r) % 4:
            r += b"\0"
        body += r
    return rtcp_header(len(ssrcs), 203, body)


RTCP = {
    "valid-rr-empty": rr(1, []),
    "valid-rr-one-block": rr(0x01020304, [block(5, 0x80, -2, 0x1000A, 16, 0x11121314, 0x15161718)]),
    "valid-sr-sdes-bye": sr(9, [block(1, 25, 5), block(2, 0, -3)])
    + sdes([(9, [(1, b"line17@gw1.example.net")])])
    + bye([9], b"hangup"),
    "valid-sr-sdes-items": sr(9, []) + sdes([(9, [(1, b"a@b"), (2, b"Line 17"), (6, b"linegate")]), (10, [(1, b"c@d")])]),
    "valid-rr-app-rtpfb": rr(9, []) + rtcp_header(0, 204, struct.pack("!I", 9) + b"name")
    + rtcp_header(1, 205, struct.pack("!II", 9, 1)),
    "valid-rr-bye-padded": rr(9, []) + rtcp_header(1, 203, struct.pack("!I", 5) + b"\0\0\0\x04", padding=True),
    "valid-two-rr-36-blocks": rr(1, [block(i) for i in range(31)]) + rr(1, [block(i) for i in range(31, 36)]),
    "valid-sr-profile-extension": rtcp_header(0, 200, struct.pack("!IIIIII", 9, 1, 2, 3, 4, 5) + b"EXTN"),
    "invalid-truncated": b"\x80\xc9\x00",
    "invalid-length-beyond": b"\x80\xc9\x00\x02\x00\x00\x00\x09",
    "invalid-version-1": b"\x40\xc9\x00\x01\x00\x00\x00\x09",
    "invalid-starts-with-sdes": sdes([(9, [(1, b"x")])]),
    "invalid-padding-first": b"\xa0\xc9\x00\x01\x00\x00\x00\x04",
    "invalid-rc-beyond-length": b"\x81\xc9\x00\x01\x00\x00\x00\x09",
    "invalid-sdes-item-overflow": rr(9, []) + b"\x81\xca\x00\x02\x00\x00\x00\x09\x01\x09ab",
    "invalid-bye-reason-overflow": rr(9, []) + b"\x81\xcb\x00\x02\x00\x00\x00\x09\x09abc",
}


def rtp(b0, b1, seq=0x1234, ts=0xA0, ssrc=0xDEADBEEF, rest=b""):
    return struct.pack("!BBHII", b0, b1, seq, ts, ssrc) + rest


RTP = {
    "valid-pcmu-20ms": rtp(0x80, 0x00, rest=b"\xff" * 160),
    "valid-pcma-marker": rtp(0x80, 0x88, rest=b"\xd5" * 80),
    "valid-csrc-extension-padding": rtp(0xB1, 0x00, rest=struct.pack("!I", 1) + b"\xbe\xde\x00\x01" + b"\x10\x20\x30\x40"
                                        + b"\x01\x02\x03\x04" + b"\x00\x02"),
    "valid-extension-only": rtp(0x90, 0x60, rest=b"\x10\x00\x00\x00"),
    "valid-empty-payload": rtp(0x80, 0x00),
    "valid-fifteen-csrcs": rtp(0x8F, 0x00, rest=b"\x00" * 60 + b"\xff" * 8),
    "invalid-truncated": rtp(0x80, 0x00)[:11],
    "invalid-version-1": rtp(0x40, 0x00, rest=b"\xff" * 4),
    "invalid-padding-overflow": rtp(0xA0, 0x00, rest=b"\x01\x02\x03\x04\x00\x07"),
    "invalid-csrc-overflow": rtp(0x8F, 0x00, rest=b"\x00" * 59),
    "invalid-extension-overflow": rtp(0x90, 0x00, rest=b"\xbe\xde\x00\x02\x01\x02\x03\x04"),
    "invalid-rtcp-sr-on-rtp-port": rtp(0x80, 200, rest=b"\x00" * 20),
}


def write(directory, seeds):
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(directory, name + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write(os.path.join(HERE, "corpus"), RTCP)
    write(os.path.join(HERE, "rtp_corpus"), RTP)
