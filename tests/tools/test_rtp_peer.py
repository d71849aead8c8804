"""Self-test of rtp_peer: formats and decoders offline, then two peers on loopback
(tone send and measurement in both laws, DTMF round trip, impairment statistics).
About 10 s, mostly real-time sending."""
import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rtp_peer as rp  # noqa: E402

# SHA-256 of the C++ fast path (media/dsp/g711.h) over every input: the encoders'
# codes for int16 samples -32768..32767 in order, one octet each; the decoders' values
# for codes 0..255, int16 little-endian. Regenerate with a few lines of C++:
#   for (int s = -32768; s <= 32767; ++s) fputc(EncodeUlaw((int16_t)s), f);   // etc.
CPP_DIGESTS = {
    "ulaw": ("5ee7cf5f273f842d2234121e4cb0c98d6b20a99ac29026f94e05b36955b195be",
             "3dab54339e520bb2c924826e3b72a917a2b612e9fd12fc867500f1d983a75827"),
    "alaw": ("61ab4ea19c31b12928e2b51176bd343304bde4314e26a84aa52a71e46942b893",
             "e04788d110e58ff8c70c93b8480190d973e3b67876b6119abbaec766cc75c174"),
}


class G711Test(unittest.TestCase):
    def test_every_input_matches_the_cpp_tables(self):
        for law, (encode_digest, decode_digest) in CPP_DIGESTS.items():
            encoded = rp.encode(range(-32768, 32768), law)
            decoded = b"".join(rp.decode(bytes([c]), law)[0].to_bytes(2, "little", signed=True) for c in range(256))
            self.assertEqual(hashlib.sha256(encoded).hexdigest(), encode_digest, law)
            self.assertEqual(hashlib.sha256(decoded).hexdigest(), decode_digest, law)

    def test_digital_milliwatt_is_0_dbm0_on_the_levels_h_scale(self):
        # G.711 Tables 5 and 6; levels.h: A-law decodes to 0.00 dBm0, mu-law to -0.07.
        ulaw = bytes([0x1E, 0x0B, 0x0B, 0x1E, 0x9E, 0x8B, 0x8B, 0x9E]) * 1000
        alaw = bytes([0x34, 0x21, 0x21, 0x34, 0xB4, 0xA1, 0xA1, 0xB4]) * 1000
        self.assertAlmostEqual(rp.level_dbm0(rp.decode(alaw, "alaw")), 0.0, delta=0.01)
        self.assertAlmostEqual(rp.level_dbm0(rp.decode(ulaw, "ulaw")), -0.07, delta=0.01)
        self.assertAlmostEqual(rp.measure_tone(rp.decode(alaw, "alaw")).frequency_hz, 1000.0, delta=0.01)

    def test_zero_and_extremes(self):
        self.assertEqual(rp.encode([0], "ulaw"), b"\xff")
        self.assertEqual(rp.encode([0], "alaw"), b"\xd5")
        self.assertEqual(rp.decode(b"\x7f\xff", "ulaw"), [0, 0])  # -0 and +0
        self.assertEqual(rp.decode(b"\x00\x80", "ulaw"), [-32124, 32124])
        self.assertEqual(rp.decode(b"\x2a\xaa", "alaw"), [-32256, 32256])
        self.assertEqual(rp.encode([-32768, 40000], "ulaw"), rp.encode([-32767, 32767], "ulaw"))

    def test_tone_level_follows_levels_h(self):
        self.assertAlmostEqual(rp.dbm0_to_peak(0.0), 32768 * 10 ** (-3.14 / 20), delta=0.01)
        samples = rp.tone(1004, -10.0, 8000)
        self.assertAlmostEqual(max(samples), rp.dbm0_to_peak(-10.0), delta=1.0)
        self.assertAlmostEqual(rp.level_dbm0(samples), -10.0, delta=0.01)


class FormatTest(unittest.TestCase):
    def test_rtp_header_bytes_and_round_trip(self):
        data = rp.pack_rtp(8, 0x1234, 0xDEADBEEF, 0x01020304, b"\xd5" * 4, marker=True)
        self.assertEqual(data[:12], bytes.fromhex("80881234deadbeef01020304"))
        full = rp.pack_rtp(101, 7, 8, 9, b"abcd", csrcs=(1, 2), extension_profile=0xBEDE,
                           extension_data=b"\x10\x20\x30\x40")
        packet = rp.parse_rtp(full)
        self.assertEqual((packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc), (101, 7, 8, 9))
        self.assertEqual(packet.csrcs, (1, 2))
        self.assertEqual(packet.extension_profile, 0xBEDE)
        self.assertEqual(packet.extension_data, b"\x10\x20\x30\x40")
        self.assertEqual(packet.payload, b"abcd")
        self.assertFalse(packet.marker)
        self.assertEqual(packet.pack(), full)

    def test_rtp_padding_is_removed_and_malformed_packets_are_refused(self):
        padded = bytearray(rp.pack_rtp(0, 1, 2, 3, b"xy\x00\x00\x03"))
        padded[0] |= 0x20
        self.assertEqual(rp.parse_rtp(bytes(padded)).payload, b"xy")
        cases = {
            "truncated": b"\x80\x00\x00",
            "version": b"\x40" + bytes(11),
            "RTCP": b"\x80\xc8" + bytes(10),
            "CSRC": b"\x82\x00" + bytes(10) + bytes(4),
            "padding": b"\xa0\x00" + bytes(10) + b"\x05",
            "extension": b"\x90\x00" + bytes(10) + b"\x00\x00\x00\x02" + bytes(4),
        }
        for name, data in cases.items():
            with self.assertRaises(ValueError, msg=name):
                rp.parse_rtp(data)

    def test_rfc4733_payload(self):
        self.assertEqual(rp.pack_event(11, True, 10, 0x320), bytes([0x0B, 0x8A, 0x03, 0x20]))
        block = rp.parse_event(bytes([0x10, 0x7F, 0xFF, 0xFF]))  # R bit set: ignored
        self.assertEqual(block, rp.EventPayload(event=16, end=False, volume=63, duration=0xFFFF))
        with self.assertRaises(ValueError):
            rp.parse_event(b"\x01\x02\x03")
        self.assertEqual([rp.digit_to_event(d) for d in "09*#AdD!"], [0, 9, 10, 11, 12, 15, 15, 16])
        self.assertEqual("".join(rp.event_to_digit(e) for e in range(17)), "0123456789*#ABCD!")
        self.assertEqual(rp.event_to_digit(32), "")


def event(ts, code, duration, end=False, marker=False, ssrc=1):
    return rp.RtpPacket(101, 0, ts, ssrc, rp.pack_event(code, end, 10, duration), marker=marker)


class EventDecoderTest(unittest.TestCase):
    def decode(self, packets, timeout_s=0.2):
        decoder = rp.EventDecoder(timeout_s=timeout_s)
        for packet, arrival in packets:
            decoder.feed(packet, arrival)
        return decoder

    def test_repeated_finals_are_one_event_and_a_lost_marker_does_not_matter(self):
        decoder = self.decode([(event(8000, 5, 320), 0.02), (event(8000, 5, 480), 0.04),
                               (event(8000, 5, 800, True), 0.1), (event(8000, 5, 800, True), 0.12),
                               (event(8000, 5, 800, True), 0.14)])
        events = decoder.finish()
        self.assertEqual([(e.digit, e.duration_ms, e.cause, e.marker_seen) for e in events],
                         [("5", 100, "end_bit", False)])
        self.assertEqual(decoder.verdicts["duplicate"], 2)

    def test_all_finals_lost_ends_after_the_timeout_with_the_last_duration(self):
        decoder = self.decode([(event(8000, 9, 160, marker=True), 0.0), (event(8000, 9, 320), 0.02),
                               (event(8000, 9, 800, True), 0.3)])  # a final after the timeout
        events = decoder.finish()
        self.assertEqual([(e.digit, e.duration, e.cause) for e in events], [("9", 320, "timeout")])
        self.assertEqual(decoder.verdicts["duplicate"], 1)

    def test_reordered_stale_and_back_to_back_identical_digits(self):
        events = self.decode([
            (event(8000, 7, 160, marker=True), 0.00), (event(8000, 7, 480), 0.02), (event(8000, 7, 320), 0.03),
            (event(8800, 7, 160), 0.10),  # the next '7': its marked packet lost; the first's finals too
            (event(8000, 7, 640, True), 0.11),  # the first's final, late: stale
            (event(8800, 7, 400, True), 0.14),
        ]).finish()
        self.assertEqual([(e.digit, e.timestamp, e.duration, e.cause) for e in events],
                         [("7", 8000, 480, "next_event"), ("7", 8800, 400, "end_bit")])

    def test_long_event_segments_add_up_across_a_timestamp_wrap(self):
        ts = 0xFFFFF000
        events = self.decode([(event(ts, 0, 65000, marker=True), 0.0), (event(ts, 0, 0xFFFF), 0.02),
                              (event((ts + 0xFFFF) & 0xFFFFFFFF, 0, 160), 0.04),
                              (event((ts + 0xFFFF) & 0xFFFFFFFF, 0, 14465, True), 0.06)]).finish()
        self.assertEqual([(e.digit, e.duration_ms, e.cause) for e in events], [("0", 10000, "end_bit")])


class ScheduleTest(unittest.TestCase):
    def test_digit_schedule_follows_the_sender_rules(self):
        peer = rp.RtpPeer(seed=1)
        try:
            schedule = peer.digit_schedule("1", on_ms=100, off_ms=100, audio=False)
            packets = [rp.parse_rtp(entry[4]) for entry in schedule]
            blocks = [rp.parse_event(p.payload) for p in packets]
            self.assertEqual([b.duration for b in blocks], [160, 320, 480, 640, 800, 800, 800])
            self.assertEqual([b.end for b in blocks], [False] * 4 + [True] * 3)
            self.assertEqual([p.marker for p in packets], [True] + [False] * 6)
            self.assertEqual(len({p.timestamp for p in packets}), 1)
            self.assertEqual([round(e[0] * 1000) for e in schedule], [20, 40, 60, 80, 100, 120, 140])
            sequences = [p.sequence for p in packets]
            self.assertEqual(sequences, [(sequences[0] + i) & 0xFFFF for i in range(7)])

            with_audio = peer.digit_schedule("12", on_ms=40, off_ms=100)
            kinds = [(e[1], rp.parse_rtp(e[4]).marker) for e in with_audio]
            self.assertEqual(kinds[0], (0, True))  # leading audio starts a talk spurt
            first_after = next(i for i in range(1, len(kinds)) if kinds[i][0] == 0 and kinds[i - 1][0] == 101)
            self.assertTrue(kinds[first_after][1], "audio after events starts a talk spurt")
            arrivals = [(rp.parse_rtp(e[4]), e[0]) for e in with_audio if e[1] == 101]
            self.assertEqual([(e.digit, e.duration_ms) for e in rp.decode_events(arrivals)], [("1", 40), ("2", 40)])

            # One duration per digit; a zero off time puts the next start at key-up, and
            # the finals of one digit interleave with the next one's updates.
            per_digit = peer.digit_schedule("*#D", on_ms=[60, 200, 20], off_ms=[0, 100, 50], audio=False)
            arrivals = [(rp.parse_rtp(e[4]), e[0]) for e in per_digit]
            decoded = rp.decode_events(arrivals)
            self.assertEqual([(e.digit, e.duration_ms, e.cause) for e in decoded],
                             [("*", 60, "end_bit"), ("#", 200, "end_bit"), ("D", 20, "end_bit")])
            self.assertEqual(decoded[1].timestamp - decoded[0].timestamp, 480)
            self.assertEqual(decoded[2].timestamp - decoded[1].timestamp, 2400)
            with self.assertRaises(ValueError):
                peer.digit_schedule("12", on_ms=[60], off_ms=40)
        finally:
            peer.close()

    def test_impairment_plan_is_seeded(self):
        plan = rp.Impairment(loss=0.05, jitter_ms=40, seed=3).plan(1000)
        self.assertEqual(plan, rp.Impairment(loss=0.05, jitter_ms=40, seed=3).plan(1000))
        dropped = sum(d is None for d in plan)
        self.assertTrue(30 <= dropped <= 70, dropped)
        self.assertTrue(all(0 <= d <= 0.04 for d in plan if d is not None))

    def test_rfc3550_jitter_by_hand(self):
        regular = [(k * 0.02, k * 160) for k in range(10)]
        self.assertAlmostEqual(rp.rfc3550_jitter(regular), 0.0, places=9)
        # Packet 5 arrives 10 ms late (80 units): D = +80, then -80.
        late = [(t + (0.01 if k == 5 else 0.0), ts) for k, (t, ts) in enumerate(regular)]
        expected = 80 / 16
        expected += (80 - expected) / 16
        for _ in range(3):
            expected -= expected / 16
        self.assertAlmostEqual(rp.rfc3550_jitter(late), expected, places=6)
        # A.8 fixed point, J * 16: 80, 155, 145, 136, 127 -> 7.
        self.assertEqual(rp.rfc3550_jitter(late, integer=True), 7.0)
        wrapped = [(k * 0.02, (0xFFFFFF00 + k * 160) & 0xFFFFFFFF) for k in range(10)]
        self.assertAlmostEqual(rp.rfc3550_jitter(wrapped), 0.0, places=9)


class LoopbackTest(unittest.TestCase):
    """Two peers on 127.0.0.1, sending in real time."""

    def setUp(self):
        self.sender = rp.RtpPeer(seed=7)
        self.receiver = rp.RtpPeer(seed=8).start()

    def tearDown(self):
        self.sender.close()
        self.receiver.close()

    def test_tone_1004_hz_at_minus_10_dbm0_in_both_laws(self):
        for law in rp.LAWS:
            with self.subTest(law=law):
                self.receiver.clear()
                self.sender.law = law
                self.sender.payload_type = rp.PAYLOAD_TYPE_OF_LAW[law]
                report = self.sender.send_tone(self.receiver.address, 1004.0, -10.0, 1.0)
                self.assertTrue(self.receiver.wait_idle(0.2))
                self.assertEqual(len(self.receiver.packets([self.sender.payload_type])), 50)
                self.assertEqual(len(report.dropped), 0)
                audio = self.receiver.received_audio()
                self.assertEqual(len(audio), 8000)
                measured = rp.measure_tone(audio)
                self.assertAlmostEqual(measured.frequency_hz, 1004.0, delta=1.0)
                self.assertAlmostEqual(measured.tone_level_dbm0, -10.0, delta=0.2)
                self.assertAlmostEqual(measured.level_dbm0, -10.0, delta=0.2)

    def test_dtmf_round_trip(self):
        digits = "0123456789*#ABCD"
        self.sender.send_digits(self.receiver.address, digits, on_ms=60, off_ms=40)
        self.assertTrue(self.receiver.wait_idle(0.2))
        events = self.receiver.received_events(timeout_s=1.0)
        self.assertEqual("".join(e.digit for e in events), digits)
        self.assertEqual({e.duration_ms for e in events}, {60})
        self.assertEqual({e.cause for e in events}, {"end_bit"})
        self.assertTrue(all(e.marker_seen for e in events))
        # The audio between and around the digits is silence.
        self.assertEqual(rp.level_dbm0(self.receiver.received_audio()), rp.SILENCE_DBM0)

    def test_dtmf_with_loss_jitter_and_reordering(self):
        digits = "0123456789*#ABCD"
        impairment = rp.Impairment(loss=0.10, jitter_ms=30, seed=5)
        report = self.sender.send_digits(self.receiver.address, digits, on_ms=60, off_ms=40,
                                         impairment=impairment)
        self.assertTrue(self.receiver.wait_idle(0.2))
        self.assertGreater(len(report.dropped), 0)
        self.assertGreater(report.reordered, 0)
        self.assertEqual(len(self.receiver.packets()), len(report.sent))
        events = self.receiver.received_events(timeout_s=1.0)
        self.assertEqual("".join(e.digit for e in events), digits, "every digit once despite the loss")
        self.assertTrue(all(20 <= e.duration_ms <= 60 for e in events), [e.duration_ms for e in events])
        # What a receiver decodes equals what the send order predicts.
        sent = [(rp.parse_rtp(p.data), p.actual) for p in report.sent
                if p.payload_type == self.sender.event_payload_type]
        predicted = rp.decode_events(sent, timeout_s=1.0)
        self.assertEqual([(e.digit, e.duration) for e in events], [(e.digit, e.duration) for e in predicted])

    def test_impairment_statistics(self):
        impairment = rp.Impairment(loss=0.05, jitter_ms=40, seed=11)
        report = self.sender.send_tone(self.receiver.address, 1004.0, -10.0, 3.0, impairment=impairment)
        self.assertTrue(self.receiver.wait_idle(0.2))
        plan = impairment.plan(150)
        self.assertEqual(len(report.dropped), sum(d is None for d in plan))
        self.assertGreater(len(report.dropped), 0)
        received = self.receiver.packets()
        self.assertEqual(sorted(p.rtp.sequence for p in received), sorted(p.sequence for p in report.sent))
        self.assertEqual(len(received), 150 - len(report.dropped))
        arrival_order = [p.rtp.sequence for p in received]
        inversions = sum(1 for a, b in zip(arrival_order, arrival_order[1:]) if (b - a) & 0xFFFF > 0x8000)
        self.assertGreater(inversions, 0, "40 ms of jitter on 20 ms packets reorders")

        expected = report.expected_jitter()
        measured = self.receiver.measured_jitter()
        # Uniform delays in [0, 40 ms]: E|d1 - d2| = 13.3 ms = 107 units, give or take.
        self.assertTrue(60 < expected < 160, expected)
        # The sender stamps time.time() just before sendto() and the receiver reads the
        # kernel's receive time: they differ by the loopback latency (tens of us, 0.1-0.5
        # units) unless the sender is preempted between the two.
        self.assertAlmostEqual(measured, expected, delta=max(3.0, 0.04 * expected))
        self.assertAlmostEqual(self.receiver.measured_jitter(integer=True), measured, delta=1.5)
        # Not compared with expected_jitter(planned=True): on a loaded machine the pacing
        # slips by milliseconds (seen: planned 112, actual 121 units), which is why the
        # expectation uses the actual send times.


if __name__ == "__main__":
    unittest.main()
