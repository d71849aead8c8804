#pragma once
// Offers written in the style of common phones and soft switches (our own examples),
// shared by the parser and offer/answer tests.

#include <string>

namespace linegate::signaling::sdp::testing {

// A desk phone: every codec with an rtpmap, static and dynamic, G.722 first, a
// session-level c=, telephone-event 0-15, ptime and a media-level sendrecv.
inline const std::string kPolycomLike =
    "v=0\r\n"
    "o=- 1700000001 1700000001 IN IP4 192.0.2.51\r\n"
    "s=Polycom IP Phone\r\n"
    "c=IN IP4 192.0.2.51\r\n"
    "t=0 0\r\n"
    "a=sendrecv\r\n"
    "m=audio 2222 RTP/AVP 9 102 0 8 18 127\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:102 G7221/16000\r\n"
    "a=fmtp:102 bitrate=32000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:18 G729/8000\r\n"
    "a=fmtp:18 annexb=no\r\n"
    "a=rtpmap:127 telephone-event/8000\r\n"
    "a=fmtp:127 0-15\r\n"
    "a=ptime:20\r\n";

// A PBX: static types without rtpmap for PCMU, a b= line, maxptime, the codec line
// ending in telephone-event 101 with 0-16, and a=sendrecv at media level.
inline const std::string kAsteriskLike =
    "v=0\r\n"
    "o=root 1048573311 1048573311 IN IP4 198.51.100.7\r\n"
    "s=Asterisk PBX 20.5.0\r\n"
    "c=IN IP4 198.51.100.7\r\n"
    "b=CT:384\r\n"
    "t=0 0\r\n"
    "m=audio 17424 RTP/AVP 0 8 3 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:3 GSM/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=maxptime:150\r\n"
    "a=sendrecv\r\n";

// A soft phone: Opus first, a second (video) stream, rtcp port, LF line ends.
inline const std::string kBaresipLike =
    "v=0\n"
    "o=- 2748292931 1583293891 IN IP4 203.0.113.5\n"
    "s=-\n"
    "c=IN IP4 203.0.113.5\n"
    "t=0 0\n"
    "m=audio 10628 RTP/AVP 96 0 8 97\n"
    "b=AS:64\n"
    "a=rtpmap:96 opus/48000/2\n"
    "a=fmtp:96 stereo=0;sprop-stereo=0;useinbandfec=1\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:97 telephone-event/48000\n"
    "a=fmtp:97 0-15\n"
    "a=rtcp:10629\n"
    "a=sendrecv\n"
    "a=label:1\n"
    "a=ssrc:2749938271 cname:xyz\n"
    "m=video 10630 RTP/AVP 100\n"
    "a=rtpmap:100 VP8/90000\n";

// IPv6 with a media-level c=.
inline const std::string kIpv6 =
    "v=0\r\n"
    "o=alice 42 42 IN IP6 2001:db8::10\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "m=audio 30000 RTP/AVP 8 0 101\r\n"
    "c=IN IP6 2001:db8::10\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n";

}  // namespace linegate::signaling::sdp::testing
