#!/usr/bin/env python3
"""An RTP test peer for tests of the gateway's media plane (python3 standard library only).

What a test needs on the far side of a call's RTP:

- G.711 mu-law and A-law, the same mapping from 16-bit linear as media/dsp/g711.h
  (test_rtp_peer.py checks every input against digests of the C++ tables);
- RTP headers (RFC 3550 5.1) and RFC 4733 telephone-event payloads, pack and parse;
- tones at a frequency and a level in dBm0 on the convention of media/dsp/levels.h
  (0 dBm0 = a sine whose peak is 3.14 dB below 16-bit full scale, 22827.06), and the
  measurement of a received tone's frequency (Hann-windowed DFT, refined to < 0.01 Hz
  on a clean 1 s tone) and level;
- RtpPeer: a UDP socket that sends tones and digit sequences paced in real time,
  with seeded loss and jitter (which reorders), reports exactly what it dropped and
  when it sent the rest, and records what it receives with arrival times (kernel
  timestamps where the socket gives them);
- RFC 3550 A.8 interarrival jitter of a send schedule or of received packets, and
  RFC 4733 event decoding with the receiver rules of media/rtp/telephone_event.h.

Integration tests import it with tests/tools on sys.path; the command line (see
`rtp_peer.py --help`) sends a tone or digits, or listens and prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

# --- Levels (media/dsp/levels.h) ----------------------------------------------------

SAMPLE_RATE = 8000
FULL_SCALE = 32768.0
# dB from a full-scale sine's peak down to a 0 dBm0 sine (the G.711 A-law load capacity).
FULL_SCALE_ABOVE_DBM0 = 3.14
ZERO_DBM0_PEAK = 22827.06  # 32768 * 10 ** (-3.14 / 20)
ZERO_DBM0_MEAN_SQUARE = ZERO_DBM0_PEAK * ZERO_DBM0_PEAK / 2.0
SILENCE_DBM0 = -120.0


def dbm0_to_peak(dbm0: float) -> float:
    """Peak amplitude of a sine at `dbm0`."""
    return ZERO_DBM0_PEAK * 10.0 ** (dbm0 / 20.0)


def mean_square_to_dbm0(mean_square: float) -> float:
    """Level of a signal of the given mean square; SILENCE_DBM0 at or below that level."""
    floor = ZERO_DBM0_MEAN_SQUARE * 10.0 ** (SILENCE_DBM0 / 10.0)
    return SILENCE_DBM0 if mean_square <= floor else 10.0 * math.log10(mean_square / ZERO_DBM0_MEAN_SQUARE)


# --- G.711 (media/dsp/g711.h) -------------------------------------------------------
#
# The laws are defined on 14-bit (mu-law) and 13-bit (A-law) magnitudes; a 16-bit sample
# loses its 2 (mu) or 3 (A) low bits of magnitude, -32768 counts as -32767, and a code
# decodes to the middle of its decision interval, scaled back to 16 bits.

LAWS = ("ulaw", "alaw")
PAYLOAD_TYPE_OF_LAW = {"ulaw": 0, "alaw": 8}  # PCMU, PCMA (RFC 3551 6)
LAW_OF_PAYLOAD_TYPE = {0: "ulaw", 8: "alaw"}
# What digital silence encodes to: mu-law +0, A-law +8 (there is no zero code).
SILENCE_CODE = {"ulaw": 0xFF, "alaw": 0xD5}


def _magnitude(sample: int) -> int:
    return min(32767, -sample if sample < 0 else sample)


def encode_ulaw(sample: int) -> int:
    """One 16-bit sample to a mu-law code (G.711 Table 2a; codes are sent inverted)."""
    sign = 0x80 if sample < 0 else 0
    # Biased 14-bit magnitude b = m + 33 lies in [32 << s, 64 << s) for segment s.
    biased = min(_magnitude(sample) >> 2, 8158) + 33
    segment = biased.bit_length() - 6
    interval = (biased >> (segment + 1)) & 0x0F
    return ~(sign | (segment << 4) | interval) & 0xFF


def decode_ulaw(code: int) -> int:
    c = ~code & 0xFF
    segment = (c >> 4) & 7
    interval = c & 0x0F
    magnitude = (((2 * interval + 33) << segment) - 33) << 2
    return -magnitude if c & 0x80 else magnitude


def encode_alaw(sample: int) -> int:
    """One 16-bit sample to an A-law code (G.711 Table 1a; even bits inverted)."""
    positive = 0x80 if sample >= 0 else 0
    m = _magnitude(sample) >> 3
    width = m.bit_length()
    segment = width - 5 if width > 5 else 0
    interval = (m >> max(segment, 1)) & 0x0F
    return (positive | (segment << 4) | interval) ^ 0x55


def decode_alaw(code: int) -> int:
    c = code ^ 0x55
    segment = (c >> 4) & 7
    interval = c & 0x0F
    magnitude = (2 * interval + 1 if segment == 0 else (2 * interval + 33) << (segment - 1)) << 3
    return magnitude if c & 0x80 else -magnitude


_DECODE_TABLES = {
    "ulaw": tuple(decode_ulaw(c) for c in range(256)),
    "alaw": tuple(decode_alaw(c) for c in range(256)),
}
_ENCODE_TABLES: dict = {}  # law -> bytes indexed by sample & 0xFFFF, built on first use


def _encode_table(law: str) -> bytes:
    table = _ENCODE_TABLES.get(law)
    if table is None:
        encode = {"ulaw": encode_ulaw, "alaw": encode_alaw}[law]
        table = bytes(encode(i - 65536 if i >= 32768 else i) for i in range(65536))
        _ENCODE_TABLES[law] = table
    return table


def encode(samples: Iterable[int], law: str) -> bytes:
    """16-bit samples (clipped to the int16 range) to G.711 octets."""
    table = _encode_table(law)
    return bytes(table[max(-32768, min(32767, int(s))) & 0xFFFF] for s in samples)


def decode(octets: bytes, law: str) -> list:
    table = _DECODE_TABLES[law]
    return [table[o] for o in octets]


# --- RTP (RFC 3550 5.1) ---------------------------------------------------------------

RTP_VERSION = 2
RTP_HEADER_SIZE = 12


@dataclass
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple = ()
    extension_profile: Optional[int] = None  # None: no header extension (X = 0)
    extension_data: bytes = b""  # a multiple of 4 octets
    padding_length: int = 0  # parse only: padding octets including the count octet

    def pack(self) -> bytes:
        return pack_rtp(self.payload_type, self.sequence, self.timestamp, self.ssrc, self.payload,
                        marker=self.marker, csrcs=self.csrcs, extension_profile=self.extension_profile,
                        extension_data=self.extension_data)


def pack_rtp(payload_type: int, sequence: int, timestamp: int, ssrc: int, payload: bytes = b"",
             marker: bool = False, csrcs: Sequence[int] = (), extension_profile: Optional[int] = None,
             extension_data: bytes = b"") -> bytes:
    """An RTP packet (never padded). Raises ValueError on fields that do not fit."""
    if not 0 <= payload_type <= 127:
        raise ValueError("payload type must be 0..127")
    if len(csrcs) > 15:
        raise ValueError("at most 15 CSRCs")
    if len(extension_data) % 4 != 0:
        raise ValueError("extension data must be a multiple of 4 octets")
    extension = extension_profile is not None
    first = (RTP_VERSION << 6) | (0x10 if extension else 0) | len(csrcs)
    second = (0x80 if marker else 0) | payload_type
    out = bytearray(struct.pack("!BBHII", first, second, sequence & 0xFFFF, timestamp & 0xFFFFFFFF,
                                ssrc & 0xFFFFFFFF))
    for csrc in csrcs:
        out += struct.pack("!I", csrc & 0xFFFFFFFF)
    if extension:
        out += struct.pack("!HH", extension_profile & 0xFFFF, len(extension_data) // 4) + extension_data
    return bytes(out + payload)


def parse_rtp(data: bytes) -> RtpPacket:
    """Parses and validates an RTP packet; raises ValueError naming what is wrong."""
    if len(data) < RTP_HEADER_SIZE:
        raise ValueError("truncated: shorter than the fixed header")
    first, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", data)
    if first >> 6 != RTP_VERSION:
        raise ValueError("bad version")
    if 192 <= second <= 223:
        raise ValueError("RTCP packet type (RFC 5761 4)")
    offset = RTP_HEADER_SIZE
    csrc_count = first & 0x0F
    if len(data) < offset + 4 * csrc_count:
        raise ValueError("CSRC list overflows")
    csrcs = struct.unpack_from("!%dI" % csrc_count, data, offset)
    offset += 4 * csrc_count
    extension_profile = None
    extension_data = b""
    if first & 0x10:
        if len(data) < offset + 4:
            raise ValueError("extension header overflows")
        extension_profile, words = struct.unpack_from("!HH", data, offset)
        if len(data) < offset + 4 + 4 * words:
            raise ValueError("extension overflows")
        extension_data = bytes(data[offset + 4:offset + 4 + 4 * words])
        offset += 4 + 4 * words
    end = len(data)
    padding_length = 0
    if first & 0x20:
        padding_length = data[-1]
        if padding_length == 0 or padding_length > end - offset:
            raise ValueError("bad padding")
        end -= padding_length
    return RtpPacket(payload_type=second & 0x7F, sequence=sequence, timestamp=timestamp, ssrc=ssrc,
                     payload=bytes(data[offset:end]), marker=bool(second & 0x80), csrcs=tuple(csrcs),
                     extension_profile=extension_profile, extension_data=extension_data,
                     padding_length=padding_length)


# --- RFC 4733 telephone-events --------------------------------------------------------

EVENT_DIGITS = "0123456789*#ABCD!"  # RFC 4734 codes 0-16; '!' is flash (16)
FLASH_EVENT = 16
MAX_SEGMENT_DURATION = 0xFFFF


def digit_to_event(digit: str) -> int:
    """Event code of '0'-'9', '*', '#', 'A'-'D' (any case) or '!' (flash)."""
    index = EVENT_DIGITS.find(digit.upper())
    if len(digit) != 1 or index < 0:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return index


def event_to_digit(event: int) -> str:
    """'0'-'9', '*', '#', 'A'-'D', '!' for codes 0-16; '' for other codes."""
    return EVENT_DIGITS[event] if 0 <= event < len(EVENT_DIGITS) else ""


@dataclass(frozen=True)
class EventPayload:
    event: int
    end: bool
    volume: int  # 0..63: 0 to -63 dBm0
    duration: int  # timestamp units


def pack_event(event: int, end: bool = False, volume: int = 10, duration: int = 0) -> bytes:
    """One 4-octet event block (RFC 4733 2.3), R = 0."""
    if not 0 <= event <= 255 or not 0 <= volume <= 63 or not 0 <= duration <= 0xFFFF:
        raise ValueError("event 0..255, volume 0..63, duration 0..65535")
    return struct.pack("!BBH", event, (0x80 if end else 0) | volume, duration)


def parse_event(payload: bytes) -> EventPayload:
    """The first event block of a payload (the R bit is ignored)."""
    if len(payload) < 4:
        raise ValueError("telephone-event payload shorter than 4 octets")
    event, flags, duration = struct.unpack_from("!BBH", payload)
    return EventPayload(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)


@dataclass
class DecodedEvent:
    event: int
    digit: str
    timestamp: int  # RTP timestamp of the event's start
    duration: int  # samples, over all segments
    duration_ms: int
    cause: str  # 'end_bit', 'timeout', 'next_event', 'source_changed'
    marker_seen: bool  # the event's first (marked) packet arrived
    volume: int = 0


class EventDecoder:
    """RFC 4733 receiver with the rules of TelephoneEventReceiver (media/rtp/telephone_event.h).

    Events are told apart by RTP timestamp (serial-number comparison), never by the
    marker; a later timestamp ends the running event; a timestamp 0xFFFF after the
    running one with the same event is its next segment (RFC 4733 2.5.2.3); repeated
    finals and older updates change nothing; packets of older events are stale; an event
    with no packet for `timeout_s` ends with the last duration known.
    """

    def __init__(self, clock_rate: int = SAMPLE_RATE, timeout_s: float = 0.2):
        self.clock_rate = clock_rate
        self.timeout_s = timeout_s
        self.events: list = []  # DecodedEvent, in the order they ended
        self.verdicts: dict = {}
        self._ssrc = None
        self._latest = None  # timestamp of the latest event's current segment
        self._active = False
        self._last_arrival = 0.0
        # The running event.
        self._start = 0  # timestamp of its first segment
        self._event = 0
        self._volume = 0
        self._earlier = 0  # samples in the segments before the current one
        self._segment_duration = 0
        self._marker_seen = False

    def _count(self, verdict: str) -> str:
        self.verdicts[verdict] = self.verdicts.get(verdict, 0) + 1
        return verdict

    def _begin(self, ssrc, timestamp, marker, block, arrival):
        self._ssrc = ssrc
        self._latest = timestamp
        self._start = timestamp
        self._event = block.event
        self._volume = block.volume
        self._earlier = 0
        self._segment_duration = block.duration
        self._marker_seen = marker
        self._last_arrival = arrival
        self._active = True
        if block.end:
            self._end("end_bit")

    def _end(self, cause: str):
        duration = self._earlier + self._segment_duration
        self.events.append(DecodedEvent(event=self._event, digit=event_to_digit(self._event), timestamp=self._start,
                                        duration=duration, duration_ms=duration * 1000 // self.clock_rate,
                                        cause=cause, marker_seen=self._marker_seen, volume=self._volume))
        self._active = False

    def poll(self, now: float):
        if self._active and now - self._last_arrival >= self.timeout_s:
            self._end("timeout")

    def feed(self, packet: RtpPacket, arrival: float) -> str:
        """One telephone-event packet arrived at `arrival` (seconds); returns the verdict."""
        self.poll(arrival)
        try:
            block = parse_event(packet.payload)
        except ValueError:
            return self._count("malformed")
        if self._latest is not None and packet.ssrc != self._ssrc:
            if self._active:
                self._end("source_changed")
            self._latest = None
        if self._latest is None:
            self._begin(packet.ssrc, packet.timestamp, packet.marker, block, arrival)
            return self._count("began")
        age = (packet.timestamp - self._latest) & 0xFFFFFFFF
        age = age - (1 << 32) if age >= 1 << 31 else age
        if age < 0:
            return self._count("stale")
        if age == 0:
            if not self._active:
                return self._count("duplicate")
            if block.event != self._event:
                return self._count("malformed")
            self._last_arrival = arrival
            if block.end:
                self._segment_duration = block.duration  # the sender's last word
                self._end("end_bit")
                return self._count("ended")
            if block.duration > self._segment_duration:
                self._segment_duration = block.duration
                return self._count("updated")
            return self._count("duplicate" if block.duration == self._segment_duration else "reordered")
        if self._active and block.event == self._event and age == MAX_SEGMENT_DURATION:
            self._earlier += MAX_SEGMENT_DURATION
            self._latest = packet.timestamp
            self._segment_duration = block.duration
            self._last_arrival = arrival
            if block.end:
                self._end("end_bit")
                return self._count("ended")
            return self._count("segment")
        if self._active:
            self._end("next_event")
        self._begin(packet.ssrc, packet.timestamp, packet.marker, block, arrival)
        return self._count("began")

    def finish(self):
        """No more packets: a running event ends as if timed out."""
        if self._active:
            self._end("timeout")
        return self.events


def decode_events(arrivals: Iterable, clock_rate: int = SAMPLE_RATE, timeout_s: float = 0.2) -> list:
    """DecodedEvents of (RtpPacket, arrival seconds) pairs, taken in arrival order."""
    decoder = EventDecoder(clock_rate, timeout_s)
    for packet, arrival in arrivals:
        decoder.feed(packet, arrival)
    return decoder.finish()


# --- Signals and their measurement ----------------------------------------------------


def tone(frequency_hz: float, level_dbm0: float, samples: int, start: int = 0,
         sample_rate: int = SAMPLE_RATE) -> list:
    """A sine at `level_dbm0` (levels.h convention), rounded to int16, from sample `start`."""
    peak = dbm0_to_peak(level_dbm0)
    w = 2.0 * math.pi * frequency_hz / sample_rate
    return [max(-32768, min(32767, round(peak * math.sin(w * (start + i))))) for i in range(samples)]


def level_dbm0(samples: Sequence[int]) -> float:
    """RMS level of the whole signal in dBm0 (SILENCE_DBM0 for silence or nothing)."""
    if not samples:
        return SILENCE_DBM0
    return mean_square_to_dbm0(sum(s * s for s in samples) / len(samples))


def _hann(values: Sequence[float]) -> tuple:
    n = len(values)
    if n < 2:
        return list(values), float(n)
    scale = 2.0 * math.pi / (n - 1)
    window = [0.5 - 0.5 * math.cos(scale * i) for i in range(n)]
    return [v * w for v, w in zip(values, window)], sum(window)


def _amplitude(windowed: Sequence[float], window_sum: float, frequency_hz: float,
               sample_rate: int = SAMPLE_RATE) -> float:
    """Amplitude of the component at `frequency_hz` (Goertzel on windowed samples)."""
    w = 2.0 * math.pi * frequency_hz / sample_rate
    coeff = 2.0 * math.cos(w)
    s1 = s2 = 0.0
    for x in windowed:
        s1, s2 = x + coeff * s1 - s2, s1
    re = s1 - math.cos(w) * s2
    im = math.sin(w) * s2
    return 2.0 * math.hypot(re, im) / window_sum


MAX_ANALYSIS_SAMPLES = 16000  # 2 s at 8 kHz: enough for 0.01 Hz, bounded cost


def dominant_frequency(samples: Sequence[int], sample_rate: int = SAMPLE_RATE, low_hz: float = 20.0,
                       high_hz: Optional[float] = None) -> float:
    """Frequency of the strongest component, 0.0 for silence.

    A Hann-windowed DFT scan over the first 512 samples finds the bin; windows 4 times
    longer each time (up to the whole signal, at most MAX_ANALYSIS_SAMPLES) narrow it
    down on grids of a quarter of their main-lobe half-width; a golden-section search
    on the longest window then finds the maximum of its spectrum, which for one
    sinusoid is its frequency.
    """
    n = min(len(samples), MAX_ANALYSIS_SAMPLES)
    if n < 16:
        return 0.0
    mean = sum(samples[:n]) / n
    x = [s - mean for s in samples[:n]]
    if not any(abs(v) > 0.5 for v in x):
        return 0.0
    high_hz = high_hz if high_hz is not None else sample_rate / 2.0 - low_hz

    length = min(512, n)
    windowed, window_sum = _hann(x[:length])
    bin_hz = sample_rate / length
    bins = range(max(1, math.ceil(low_hz / bin_hz)), int(high_hz / bin_hz) + 1)
    best = max(bins, key=lambda k: _amplitude(windowed, window_sum, k * bin_hz, sample_rate))
    frequency = best * bin_hz
    span = bin_hz
    while length < n:
        length = min(n, length * 4)
        windowed, window_sum = _hann(x[:length])
        step = sample_rate / (2.0 * length)
        count = int(math.ceil(span / step))
        grid = [frequency + i * step for i in range(-count, count + 1)]
        frequency = max(grid, key=lambda f: _amplitude(windowed, window_sum, f, sample_rate))
        span = step
    # Golden-section search for the maximum within one grid step either side.
    a, b = frequency - span, frequency + span
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc = _amplitude(windowed, window_sum, c, sample_rate)
    fd = _amplitude(windowed, window_sum, d, sample_rate)
    while b - a > 1e-4:
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = _amplitude(windowed, window_sum, c, sample_rate)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = _amplitude(windowed, window_sum, d, sample_rate)
    return (a + b) / 2.0


def tone_level_dbm0(samples: Sequence[int], frequency_hz: float, sample_rate: int = SAMPLE_RATE) -> float:
    """Level (dBm0) of the component at `frequency_hz` (Hann window: components more than
    about 2 * rate / N away do not contribute)."""
    n = min(len(samples), MAX_ANALYSIS_SAMPLES)
    if n < 2:
        return SILENCE_DBM0
    mean = sum(samples[:n]) / n
    windowed, window_sum = _hann([s - mean for s in samples[:n]])
    amplitude = _amplitude(windowed, window_sum, frequency_hz, sample_rate)
    return mean_square_to_dbm0(amplitude * amplitude / 2.0)


@dataclass
class ToneMeasurement:
    frequency_hz: float
    tone_level_dbm0: float  # the component at frequency_hz
    level_dbm0: float  # the whole signal (RMS)


def measure_tone(samples: Sequence[int], sample_rate: int = SAMPLE_RATE) -> ToneMeasurement:
    frequency = dominant_frequency(samples, sample_rate)
    tone_level = tone_level_dbm0(samples, frequency, sample_rate) if frequency else SILENCE_DBM0
    return ToneMeasurement(frequency_hz=frequency, tone_level_dbm0=tone_level, level_dbm0=level_dbm0(samples))


# --- Interarrival jitter (RFC 3550 6.4.1, A.8) ----------------------------------------


def rfc3550_jitter(arrivals: Iterable, clock_rate: int = SAMPLE_RATE, integer: bool = False) -> float:
    """Interarrival jitter, in timestamp units, of (arrival seconds, RTP timestamp) pairs
    taken in arrival order: J += (|D| - J) / 16, D being the difference of the transit
    times of consecutive arrivals (RFC 3550 6.4.1). Timestamps may wrap. `integer` runs
    A.8's fixed-point form instead (arrival truncated to whole units, J scaled by 16),
    which ReceiveStatistics implements; the two differ by about a unit."""
    jitter = 0.0
    jitter_q4 = 0
    origin = None
    previous = None  # (arrival, timestamp, arrival units)
    for arrival, timestamp in arrivals:
        if origin is None:
            origin = arrival
        # Truncated like a receiver's clock; the nudge keeps 0.14 * 8000 from becoming 1119.
        units = math.floor((arrival - origin) * clock_rate + 1e-6)
        if previous is not None:
            timestamp_step = _signed32(timestamp - previous[1])
            if integer:
                jitter_q4 += abs(units - previous[2] - timestamp_step) - ((jitter_q4 + 8) >> 4)
            else:
                d = (arrival - previous[0]) * clock_rate - timestamp_step
                jitter += (abs(d) - jitter) / 16.0
        previous = (arrival, timestamp, units)
    return float(jitter_q4 >> 4) if integer else jitter


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


# --- Impairment ------------------------------------------------------------------------


@dataclass
class Impairment:
    """Seeded impairment of a send: each packet is dropped with probability `loss`,
    and each kept one delayed by a uniform draw from [0, jitter_ms] ms, so that
    packets overtake each other when jitter_ms exceeds the packet time. Both draws are
    made for every packet, so the delays do not depend on which packets were lost."""
    loss: float = 0.0
    jitter_ms: float = 0.0
    seed: int = 0

    def plan(self, count: int) -> list:
        """Per packet: its delay in seconds, or None if it is dropped."""
        rng = random.Random(self.seed)
        out = []
        for _ in range(count):
            lost = rng.random() < self.loss
            delay = rng.uniform(0.0, self.jitter_ms) / 1000.0
            out.append(None if lost else delay)
        return out


# --- The peer ---------------------------------------------------------------------------


@dataclass
class SentPacket:
    index: int  # position in the nominal schedule
    sequence: int
    timestamp: int
    payload_type: int
    nominal: float  # seconds from the start of the send, before impairment
    planned: Optional[float]  # nominal + jitter delay; None if dropped
    actual: Optional[float] = None  # time.time() just before sendto(); None if dropped
    data: bytes = b""  # the datagram

    @property
    def dropped(self) -> bool:
        return self.planned is None


@dataclass
class SendReport:
    packets: list  # SentPacket, in schedule order

    @property
    def sent(self) -> list:
        """The packets that went out, in the order they went out."""
        return sorted((p for p in self.packets if not p.dropped), key=lambda p: (p.actual, p.index))

    @property
    def dropped(self) -> list:
        return [p for p in self.packets if p.dropped]

    @property
    def reordered(self) -> int:
        """Packets sent after a packet that followed them in the schedule."""
        highest = -1
        count = 0
        for p in self.sent:
            if p.index < highest:
                count += 1
            highest = max(highest, p.index)
        return count

    def expected_jitter(self, payload_types: Optional[Iterable[int]] = (0, 8), clock_rate: int = SAMPLE_RATE,
                        integer: bool = False, planned: bool = False) -> float:
        """RFC 3550 jitter (timestamp units) a receiver should measure if every packet
        sent arrived after the same delay: computed on the actual send times (or the
        planned ones), in sending order, over the audio packets (None: every packet;
        telephone-events carry their event's start, not their sampling instant)."""
        kinds = set(payload_types) if payload_types is not None else None
        chosen = [p for p in self.sent if kinds is None or p.payload_type in kinds]
        if planned:
            chosen.sort(key=lambda p: (p.planned, p.index))
        return rfc3550_jitter(((p.planned if planned else p.actual, p.timestamp) for p in chosen), clock_rate,
                              integer)


@dataclass
class ReceivedPacket:
    data: bytes
    arrival: float  # seconds on time.time()'s clock; the kernel's receive time if known
    source: tuple
    rtp: Optional[RtpPacket]  # None if it did not parse
    error: str = ""


# Linux: SO_TIMESTAMPNS (asm-generic/socket.h); the control message has the same type.
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


class RtpPeer:
    """One RTP endpoint on a UDP socket: sends G.711 and RFC 4733 packets of one
    stream (one SSRC, sequence and timestamp continuing across sends) and records
    every datagram it receives, once start() has been called.

    `law` chooses PCMU (0) or PCMA (8) unless `payload_type` is given; telephone-events
    use `event_payload_type`. `seed` fixes SSRC, first sequence and timestamp offset.
    """

    def __init__(self, law: str = "ulaw", bind: tuple = ("127.0.0.1", 0), payload_type: Optional[int] = None,
                 event_payload_type: int = 101, seed: Optional[int] = None, ptime_ms: int = 20):
        if law not in LAWS:
            raise ValueError(f"law must be one of {LAWS}")
        self.law = law
        self.payload_type = PAYLOAD_TYPE_OF_LAW[law] if payload_type is None else payload_type
        self.event_payload_type = event_payload_type
        self.ptime_ms = ptime_ms
        rng = random.Random(seed)
        self.ssrc = rng.getrandbits(32)
        self.next_sequence = rng.getrandbits(16)
        self.timestamp_offset = rng.getrandbits(32)
        self.sample_clock = 0  # where the next send starts on the stream's sample clock
        self.sock = socket.socket(socket.AF_INET6 if ":" in bind[0] else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(bind)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            self.kernel_timestamps = True
        except OSError:
            self.kernel_timestamps = False
        self.received: list = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # -- life cycle

    @property
    def address(self) -> tuple:
        return self.sock.getsockname()[:2]

    def start(self):
        """Starts recording received datagrams (a background thread)."""
        if self._thread is None:
            self._stop.clear()
            self.sock.settimeout(0.05)
            self._thread = threading.Thread(target=self._receive_loop, name="rtp-peer-rx", daemon=True)
            self._thread.start()
        return self

    def stop(self):
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def close(self):
        self.stop()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _receive_loop(self):
        while not self._stop.is_set():
            try:
                data, ancillary, _flags, source = self.sock.recvmsg(65536, 64)
            except socket.timeout:
                continue
            except OSError:
                return
            arrival = None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(payload) >= 16:
                    seconds, nanoseconds = struct.unpack_from("@qq", payload)
                    arrival = seconds + nanoseconds / 1e9
            if arrival is None:
                arrival = time.time()
            try:
                rtp, error = parse_rtp(data), ""
            except ValueError as e:
                rtp, error = None, str(e)
            with self._lock:
                self.received.append(ReceivedPacket(data=data, arrival=arrival, source=source, rtp=rtp, error=error))

    # -- building packets (no network)

    def _packet(self, payload_type: int, timestamp_clock: int, payload: bytes, marker: bool) -> tuple:
        sequence = self.next_sequence
        self.next_sequence = (self.next_sequence + 1) & 0xFFFF
        timestamp = (self.timestamp_offset + timestamp_clock) & 0xFFFFFFFF
        return sequence, timestamp, pack_rtp(payload_type, sequence, timestamp, self.ssrc, payload, marker=marker)

    def tone_schedule(self, frequency_hz: float, level_dbm0: float, seconds: float,
                      ptime_ms: Optional[int] = None) -> list:
        """[(nominal seconds, payload type, sequence, timestamp, datagram)] of a tone send."""
        ptime_ms = ptime_ms or self.ptime_ms
        per_packet = ptime_ms * SAMPLE_RATE // 1000
        count = int(round(seconds * 1000 / ptime_ms))
        signal = tone(frequency_hz, level_dbm0, count * per_packet)
        octets = encode(signal, LAW_OF_PAYLOAD_TYPE.get(self.payload_type, self.law))
        out = []
        for k in range(count):
            clock = self.sample_clock + k * per_packet
            sequence, timestamp, data = self._packet(self.payload_type, clock,
                                                     octets[k * per_packet:(k + 1) * per_packet], k == 0)
            # Sent when its audio is complete: at the end of the packet time.
            out.append(((k + 1) * ptime_ms / 1000.0, self.payload_type, sequence, timestamp, data))
        self.sample_clock += count * per_packet
        return out

    def digit_schedule(self, digits: str, on_ms=100, off_ms=100, ptime_ms: Optional[int] = None,
                       volume: int = 10, audio: bool = True) -> list:
        """[(nominal seconds, payload type, sequence, timestamp, datagram)] of a digit send,
        by the rules of TelephoneEventSender. `on_ms` and `off_ms` are one duration for
        every digit or a sequence of one per digit. A digit starts when the previous
        one's off time ends; updates every packet time carry the duration so far, the
        first with the marker; the final (E, duration = on time) goes at the first packet
        time at or after key-up, then twice more. With `audio`, silence packets fill the
        packet times when no event is being sent, one before the first digit and one after
        the last, and the first audio packet after events carries the marker."""
        ptime_ms = ptime_ms or self.ptime_ms
        per_packet = ptime_ms * SAMPLE_RATE // 1000
        on_list = list(on_ms) if isinstance(on_ms, (list, tuple)) else [on_ms] * len(digits)
        off_list = list(off_ms) if isinstance(off_ms, (list, tuple)) else [off_ms] * len(digits)
        if len(on_list) != len(digits) or len(off_list) != len(digits):
            raise ValueError("one on and one off duration per digit")
        lead = 2 * per_packet if audio else 0
        entries = []  # (send clock, order, kind, args): finals of older events before updates
        busy = []
        start = lead
        for d, digit in enumerate(digits):
            event = digit_to_event(digit)
            event_volume = 0 if event == FLASH_EVENT else volume
            on = on_list[d] * SAMPLE_RATE // 1000
            if d > 0:
                start += (on_list[d - 1] + off_list[d - 1]) * SAMPLE_RATE // 1000
            k = 1
            while k * per_packet < on:
                entries.append((start + k * per_packet, 1, "event", (event, event_volume, start, k * per_packet,
                                                                     False, k == 1)))
                k += 1
            first_final = start + math.ceil(on / per_packet) * per_packet if on > 0 else start
            for i in range(3):
                entries.append((first_final + i * per_packet, 0, "event",
                                (event, event_volume, start, on, True, k == 1 and i == 0)))
            busy.append((start, first_final + 2 * per_packet))
        if audio:
            last = max((end for _, end in busy), default=0) + 2 * per_packet
            silence = bytes([SILENCE_CODE[LAW_OF_PAYLOAD_TYPE.get(self.payload_type, self.law)]]) * per_packet
            for clock in range(per_packet, last + 1, per_packet):
                if not any(start < clock <= end for start, end in busy):
                    entries.append((clock, 2, "audio", silence))
        entries.sort(key=lambda e: (e[0], e[1]))
        out = []
        audio_continues = False
        for clock, _order, kind, args in entries:
            if kind == "audio":
                sequence, timestamp, data = self._packet(self.payload_type, self.sample_clock + clock - per_packet,
                                                         args, not audio_continues)
                payload_type = self.payload_type
                audio_continues = True
            else:
                event, event_volume, start, duration, end, marker = args
                sequence, timestamp, data = self._packet(self.event_payload_type, self.sample_clock + start,
                                                         pack_event(event, end, event_volume, duration), marker)
                payload_type = self.event_payload_type
                audio_continues = False
            out.append((clock / SAMPLE_RATE, payload_type, sequence, timestamp, data))
        self.sample_clock += (entries[-1][0] if entries else 0)
        return out

    # -- sending

    def send_schedule(self, destination: tuple, schedule: list, impairment: Optional[Impairment] = None,
                      start_delay: float = 0.005) -> SendReport:
        """Sends a schedule in real time: each packet at its nominal time plus its
        impairment delay (dropped ones not at all), in the order of those times."""
        plan = (impairment or Impairment()).plan(len(schedule))
        packets = [SentPacket(index=i, sequence=seq, timestamp=ts, payload_type=pt, nominal=nominal,
                              planned=None if delay is None else nominal + delay, data=data)
                   for i, ((nominal, pt, seq, ts, data), delay) in enumerate(zip(schedule, plan))]
        order = sorted((p for p in packets if not p.dropped), key=lambda p: (p.planned, p.index))
        t0 = time.monotonic() + start_delay
        for p in order:
            wait = t0 + p.planned - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            p.actual = time.time()
            self.sock.sendto(p.data, destination)
        return SendReport(packets=packets)

    def send_tone(self, destination: tuple, frequency_hz: float, level_dbm0: float, seconds: float,
                  ptime_ms: Optional[int] = None, impairment: Optional[Impairment] = None) -> SendReport:
        """A sine at `frequency_hz` and `level_dbm0` as G.711 packets of `ptime_ms` for
        `seconds`, paced in real time."""
        return self.send_schedule(destination, self.tone_schedule(frequency_hz, level_dbm0, seconds, ptime_ms),
                                  impairment)

    def send_digits(self, destination: tuple, digits: str, on_ms=100, off_ms=100,
                    ptime_ms: Optional[int] = None, volume: int = 10, audio: bool = True,
                    impairment: Optional[Impairment] = None) -> SendReport:
        """RFC 4733 events for `digits` (on_ms each, off_ms after each; either may be a
        sequence of one per digit), paced in real time."""
        return self.send_schedule(destination,
                                  self.digit_schedule(digits, on_ms, off_ms, ptime_ms, volume, audio), impairment)

    # -- what was received

    def packets(self, payload_types: Optional[Iterable[int]] = None, ssrc: Optional[int] = None) -> list:
        """Received RTP packets (parsed), in arrival order, optionally of some payload
        types and of one source."""
        kinds = set(payload_types) if payload_types is not None else None
        with self._lock:
            snapshot = list(self.received)
        return [p for p in snapshot if p.rtp is not None and (kinds is None or p.rtp.payload_type in kinds)
                and (ssrc is None or p.rtp.ssrc == ssrc)]

    def ssrcs(self, payload_types: Optional[Iterable[int]] = None) -> list:
        """The sources heard, in the order they were first heard."""
        out = []
        for p in self.packets(payload_types):
            if p.rtp.ssrc not in out:
                out.append(p.rtp.ssrc)
        return out

    def _audio_source(self, payload_types: Iterable[int], ssrc: Optional[int]) -> Optional[int]:
        if ssrc is not None:
            return ssrc
        heard = self.ssrcs(payload_types)
        return heard[0] if heard else None

    def clear(self):
        with self._lock:
            self.received.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return True
            time.sleep(0.01)
        return False

    def wait_idle(self, idle: float = 0.3, timeout: float = 10.0) -> bool:
        """Waits until nothing has arrived for `idle` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.received[-1].arrival if self.received else None
            if last is not None and time.time() - last >= idle:
                return True
            time.sleep(0.02)
        return False

    def received_audio(self, payload_types: Iterable[int] = (0, 8), ssrc: Optional[int] = None,
                       max_seconds: float = 600.0) -> list:
        """Decoded received G.711 of one source (the first heard unless `ssrc` is given),
        by each packet's payload type, placed by RTP timestamp relative to the earliest:
        duplicates count once, missing samples are 0. Raises ValueError if the
        timestamps span more than `max_seconds` (a timestamp jump: split the stream)."""
        source = self._audio_source(payload_types, ssrc)
        packets = [p.rtp for p in self.packets(payload_types, source)]
        if not packets:
            return []
        base = min(packets, key=lambda r: _signed32(r.timestamp - packets[0].timestamp)).timestamp
        seen = set()
        placed = []
        for r in packets:
            if r.sequence in seen:
                continue
            seen.add(r.sequence)
            placed.append(((r.timestamp - base) & 0xFFFFFFFF, decode(r.payload, LAW_OF_PAYLOAD_TYPE[r.payload_type])))
        length = max(offset + len(samples) for offset, samples in placed)
        if length > max_seconds * SAMPLE_RATE:
            raise ValueError(f"received audio spans {length / SAMPLE_RATE:.0f} s of timestamps")
        out = [0] * length
        for offset, samples in placed:
            out[offset:offset + len(samples)] = samples
        return out

    def measure_received_tone(self, skip_ms: int = 0, ssrc: Optional[int] = None) -> ToneMeasurement:
        audio = self.received_audio(ssrc=ssrc)
        return measure_tone(audio[skip_ms * SAMPLE_RATE // 1000:])

    def received_events(self, event_payload_type: Optional[int] = None, timeout_s: float = 0.2) -> list:
        """DecodedEvents of the received telephone-event packets (EventDecoder rules)."""
        pt = self.event_payload_type if event_payload_type is None else event_payload_type
        return decode_events(((p.rtp, p.arrival) for p in self.packets([pt])), timeout_s=timeout_s)

    def received_digits(self, event_payload_type: Optional[int] = None, timeout_s: float = 0.2) -> list:
        """[(digit, duration_ms)] of the received events."""
        return [(e.digit, e.duration_ms) for e in self.received_events(event_payload_type, timeout_s)]

    def measured_jitter(self, payload_types: Iterable[int] = (0, 8), ssrc: Optional[int] = None,
                        integer: bool = False) -> float:
        """RFC 3550 interarrival jitter (timestamp units) of the received packets of one
        source (the first heard unless `ssrc` is given). Telephone-event packets are
        left out by default: their timestamp is the event's start, not their sampling
        instant, so they would count as jitter."""
        source = self._audio_source(payload_types, ssrc)
        return rfc3550_jitter(((p.arrival, p.rtp.timestamp) for p in self.packets(payload_types, source)),
                              integer=integer)


# --- Command line -----------------------------------------------------------------------


def _address(text: str) -> tuple:
    host, _, port = text.rpartition(":")
    return (host.strip("[]") or "127.0.0.1", int(port))


def _report_summary(report: SendReport) -> dict:
    return {"scheduled": len(report.packets), "sent": len(report.sent), "dropped": len(report.dropped),
            "dropped_sequences": [p.sequence for p in report.dropped], "reordered": report.reordered,
            "expected_jitter_units": round(report.expected_jitter(), 3)}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("tone", "digits"):
        p = sub.add_parser(name)
        p.add_argument("--to", required=True, type=_address, help="destination host:port")
        p.add_argument("--bind", default="127.0.0.1:0", type=_address)
        p.add_argument("--law", choices=LAWS, default="ulaw")
        p.add_argument("--ptime", type=int, default=20, help="packet time, ms")
        p.add_argument("--loss", type=float, default=0.0, help="probability a packet is dropped")
        p.add_argument("--jitter", type=float, default=0.0, help="each packet delayed by U[0, J] ms")
        p.add_argument("--seed", type=int, default=0)
        if name == "tone":
            p.add_argument("--frequency", type=float, default=1004.0)
            p.add_argument("--level", type=float, default=-10.0, help="dBm0")
            p.add_argument("--seconds", type=float, default=1.0)
        else:
            p.add_argument("--digits", required=True)
            p.add_argument("--on", type=int, default=100, help="ms per digit")
            p.add_argument("--off", type=int, default=100, help="ms between digits")
            p.add_argument("--volume", type=int, default=10, help="0..63 (-dBm0)")
            p.add_argument("--event-pt", type=int, default=101)
    listen = sub.add_parser("listen", help="record for a while, then print what arrived")
    listen.add_argument("--bind", required=True, type=_address)
    listen.add_argument("--seconds", type=float, default=5.0)
    listen.add_argument("--event-pt", type=int, default=101)
    args = parser.parse_args(argv)

    if args.command == "listen":
        with RtpPeer(bind=args.bind, event_payload_type=args.event_pt) as peer:
            peer.start()
            time.sleep(args.seconds)
            peer.stop()
            sources = []
            for ssrc in peer.ssrcs():
                audio = peer.received_audio(ssrc=ssrc)
                events = decode_events((p.rtp, p.arrival) for p in peer.packets([args.event_pt], ssrc))
                sources.append({
                    "ssrc": ssrc,
                    "packets": len(peer.packets(ssrc=ssrc)),
                    "audio_samples": len(audio),
                    "tone": measure_tone(audio).__dict__ if audio else None,
                    "digits": [(e.digit, e.duration_ms) for e in events],
                    "jitter_units": round(peer.measured_jitter(ssrc=ssrc), 3),
                })
            print(json.dumps({"datagrams": len(peer.received), "sources": sources}, indent=2))
        return 0

    impairment = Impairment(loss=args.loss, jitter_ms=args.jitter, seed=args.seed)
    event_pt = getattr(args, "event_pt", 101)
    with RtpPeer(law=args.law, bind=args.bind, event_payload_type=event_pt, ptime_ms=args.ptime,
                 seed=args.seed) as peer:
        if args.command == "tone":
            report = peer.send_tone(args.to, args.frequency, args.level, args.seconds, impairment=impairment)
        else:
            report = peer.send_digits(args.to, args.digits, args.on, args.off, volume=args.volume,
                                      impairment=impairment)
        print(json.dumps(_report_summary(report), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
