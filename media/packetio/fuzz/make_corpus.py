#!/usr/bin/env python3
"""Writes the seed corpus of frame_parser_fuzz: one file per frame, first byte the
receiver's setup (see frame_parser_fuzz.cc). Run from this directory."""
import os
import struct


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


OUR_MAC = bytes.fromhex("020000000001")
PEER_MAC = bytes.fromhex("020000000099")
OUR_V4 = bytes([192, 0, 2, 1])
PEER_V4 = bytes([192, 0, 2, 50])
OUR_V6 = bytes.fromhex("20010db8000000000000000000000001")
PEER_V6 = bytes.fromhex("20010db8000000000000000000000050")


def ethernet(ether_type: int, vlan: int = -1, dst: bytes = OUR_MAC) -> bytes:
    if vlan >= 0:
        return dst + PEER_MAC + struct.pack("!HHH", 0x8100, vlan, ether_type)
    return dst + PEER_MAC + struct.pack("!H", ether_type)


def ipv4(protocol: int, payload: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, protocol, 0, PEER_V4, OUR_V4)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def udp4(payload: bytes) -> bytes:
    header = struct.pack("!HHHH", 40000, 20000, 8 + len(payload), 0)
    pseudo = PEER_V4 + OUR_V4 + struct.pack("!BBH", 0, 17, 8 + len(payload))
    value = checksum(pseudo + header + payload) or 0xFFFF
    return header[:6] + struct.pack("!H", value) + payload


def ipv6(next_header: int, payload: bytes, hop: int = 64, dst: bytes = OUR_V6) -> bytes:
    return struct.pack("!IHBB", 6 << 28, len(payload), next_header, hop) + PEER_V6 + dst + payload


def l4_6(next_header: int, body: bytes, offset: int, dst: bytes = OUR_V6) -> bytes:
    pseudo = PEER_V6 + dst + struct.pack("!IxxxB", len(body), next_header)
    value = checksum(pseudo + body)
    return body[:offset] + struct.pack("!H", value) + body[offset + 2:]


rtp = bytes([0x80, 0]) + bytes(170)
seeds = {
    "udp4.bin": bytes([0]) + ethernet(0x0800) + ipv4(17, udp4(rtp)),
    "udp4-vlan.bin": bytes([1]) + ethernet(0x0800, 100) + ipv4(17, udp4(rtp)),
    "udp6.bin": bytes([2]) + ethernet(0x86DD)
    + ipv6(17, l4_6(17, struct.pack("!HHHH", 40000, 20000, 8 + len(rtp), 0) + rtp, 6)),
    "arp.bin": bytes([0]) + ethernet(0x0806, dst=b"\xff" * 6)
    + struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, PEER_MAC, PEER_V4, bytes(6), OUR_V4),
    "icmp4.bin": bytes([0]) + ethernet(0x0800)
    + ipv4(1, (lambda body: body[:2] + struct.pack("!H", checksum(body)) + body[4:])(
        struct.pack("!BBHHH", 8, 0, 0, 1, 1) + bytes(16))),
    "ns6.bin": bytes([2]) + ethernet(0x86DD, dst=bytes.fromhex("3333ff000001"))
    + ipv6(58, l4_6(58, struct.pack("!BBHI", 135, 0, 0, 0) + OUR_V6 + bytes([1, 1]) + PEER_MAC, 2,
                    bytes.fromhex("ff0200000000000000000001ff000001")),
           255, bytes.fromhex("ff0200000000000000000001ff000001")),
}
os.makedirs("corpus", exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join("corpus", name), "wb") as f:
        f.write(data)
