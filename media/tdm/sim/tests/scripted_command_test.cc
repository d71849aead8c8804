// Operator commands: a table of texts and what they parse to (or the error), then the
// commands run against the lines of a card.

#include "media/tdm/sim/scripted_command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "media/dsp/caller_id.h"
#include "media/dsp/dtmf_detector.h"
#include "media/tdm/sim/sim_card.h"
#include "media/tdm/sim/tests/fake_card_audio.h"
#include "media/tdm/sim/tests/test_util.h"

namespace linegate::media::tdm::sim {
namespace {

struct ParseCase {
  std::string text;
  bool ok;
  ScriptedVerb verb = ScriptedVerb::kStatus;
  std::string argument = "";
  std::optional<double> number = std::nullopt;
  std::optional<double> level = std::nullopt;
  std::string error = "";  // a substring of the message
};

ParseCase Bad(std::string text, std::string error) {
  ParseCase c{std::move(text), false};
  c.error = std::move(error);
  return c;
}

TEST(ScriptedCommandTest, ParsesTheOperatorGrammar) {
  const std::vector<ParseCase> cases = {
      {"offhook", true, ScriptedVerb::kOffHook},
      {"  OnHook \r\n", true, ScriptedVerb::kOnHook},
      {"flash", true, ScriptedVerb::kFlash},
      {"flash 250", true, ScriptedVerb::kFlash, "", 250.0},
      Bad("flash 2.5", "not a whole number of ms"),
      Bad("flash -3", "not a whole number of ms"),
      {"dial 123*#", true, ScriptedVerb::kDial, "123*#"},
      Bad("dial", "'dial' takes 1 argument"),
      Bad("dial 1 2", "'dial' takes 1 argument"),
      {"pulse 0911", true, ScriptedVerb::kPulse, "0911"},
      {"busy", true, ScriptedVerb::kBusy},
      Bad("busy 1", "'busy' takes no arguments"),
      {"play /tmp/a.wav", true, ScriptedVerb::kPlay, "/tmp/a.wav"},
      {"tone 1000", true, ScriptedVerb::kTone, "", 1000.0},
      {"tone 1000 -13.5", true, ScriptedVerb::kTone, "", 1000.0, -13.5},
      {"tone 1000 +3", true, ScriptedVerb::kTone, "", 1000.0, 3.0},
      Bad("tone abc", "frequency 'abc' is not a number"),
      Bad("tone 1000 loud", "level 'loud' is not a number"),
      Bad("tone nan", "is not a number"),
      Bad("tone", "'tone' takes 1 to 2 arguments"),
      {"tone off", true, ScriptedVerb::kToneOff},
      {"record /tmp/r.wav", true, ScriptedVerb::kRecord, "/tmp/r.wav"},
      {"record /tmp/r.wav 2.5", true, ScriptedVerb::kRecord, "/tmp/r.wav", 2.5},
      Bad("record /tmp/r.wav 0", "must be > 0 s"),
      {"record stop", true, ScriptedVerb::kRecordStop},
      {"listen", true, ScriptedVerb::kListen},
      {"listen 200", true, ScriptedVerb::kListen, "", 200.0},
      {"status", true, ScriptedVerb::kStatus},
      Bad("status now", "'status' takes no arguments"),
      {"stop", true, ScriptedVerb::kStop},
      {"ring", true, ScriptedVerb::kRing},
      {"ring stop", true, ScriptedVerb::kRingStop},
      {"answer", true, ScriptedVerb::kAnswer},
      {"hangup", true, ScriptedVerb::kHangUp},
      {"reverse", true, ScriptedVerb::kReverse},
      {"loopback on", true, ScriptedVerb::kLoopback},
      Bad("loopback sideways", "loopback takes 'on' or 'off'"),
      Bad("", "empty command"),
      Bad("   ", "empty command"),
      Bad("explode", "unknown command 'explode'"),
      Bad(std::string(2000, 'x'), "longer than 1024 bytes"),
  };
  for (const ParseCase& c : cases) {
    Result<ScriptedCommand> r = ParseScriptedCommand(c.text);
    ASSERT_EQ(r.ok(), c.ok) << "'" << c.text << "': " << (r.ok() ? "accepted" : r.error());
    if (!c.ok) {
      EXPECT_NE(r.error().find(c.error), std::string::npos) << c.text << ": " << r.error();
      continue;
    }
    EXPECT_EQ(r->verb, c.verb) << c.text;
    EXPECT_EQ(r->argument, c.argument) << c.text;
    EXPECT_EQ(r->number, c.number) << c.text;
    EXPECT_EQ(r->level, c.level) << c.text;
  }
  EXPECT_TRUE(ParseScriptedCommand("loopback OFF").ok());
  EXPECT_FALSE(ParseScriptedCommand("loopback OFF")->on);
  EXPECT_TRUE(ParseScriptedCommand("loopback on")->on);
}

TEST(ScriptedCommandTest, ParsesRingWithCallerId) {
  {
    Result<ScriptedCommand> r =
        ParseScriptedCommand("ring --cid-number 5551234 --cid-name \"LINE GATE\" --cid-standard v23");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->verb, ScriptedVerb::kRing);
    ASSERT_TRUE(r->caller_id);
    EXPECT_EQ(r->caller_id->number.view(), "5551234");
    EXPECT_EQ(r->caller_id->name.view(), "LINE GATE");
    EXPECT_EQ(r->caller_id_standard, dsp::CallerIdStandard::kV23);
  }
  {
    // Any order, case-insensitive options and standard; a one-word name needs no quotes;
    // the default standard is bell202.
    Result<ScriptedCommand> r = ParseScriptedCommand("RING --CID-NAME Linegate\t--cid-number +4930*1#");
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_TRUE(r->caller_id);
    EXPECT_EQ(r->caller_id->number.view(), "+4930*1#");
    EXPECT_EQ(r->caller_id->name.view(), "Linegate");
    EXPECT_EQ(r->caller_id_standard, dsp::CallerIdStandard::kBell202);
    r = ParseScriptedCommand("ring --cid-standard DTMF --cid-number 0123456789");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->caller_id->number.view(), "0123456789");
    EXPECT_TRUE(r->caller_id->name.empty());
    EXPECT_EQ(r->caller_id_standard, dsp::CallerIdStandard::kDtmf);
    r = ParseScriptedCommand("ring --cid-name Say\"Hi\"");  // a quote inside a word is ordinary
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->caller_id->name.view(), "Say\"Hi\"");
  }
  {
    // Plain ring: no caller ID. Quoting works for every command (a file with a blank).
    Result<ScriptedCommand> r = ParseScriptedCommand("ring");
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->caller_id);
    r = ParseScriptedCommand("play \"/tmp/my file.wav\"");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->argument, "/tmp/my file.wav");
  }
  const std::vector<std::pair<std::string, std::string>> errors = {
      {"ring --cid-number", "--cid-number needs a value"},
      {"ring --cid-number --cid-name X", "--cid-number needs a value"},
      {"ring --cid-number 1 --cid-number 2", "--cid-number given twice"},
      {"ring --cid-nmber 1",
       "'ring' does not take '--cid-nmber'; its options are --cid-number N, --cid-name NAME and "
       "--cid-standard bell202|v23|dtmf"},
      {"ring 5551234", "'ring' does not take '5551234'"},
      {"ring stop --cid-number 1", "'ring stop' takes no arguments"},
      {"ring --cid-standard v23", "--cid-standard needs --cid-number or --cid-name"},
      {"ring --cid-number 1 --cid-standard v22", "caller ID standard 'v22' is not bell202, v23 or dtmf"},
      {"ring --cid-number 555-1234", "caller ID number '555-1234' may hold only 0-9 * # +"},
      {"ring --cid-number 555*1 --cid-standard dtmf",
       "caller ID number '555*1' may hold only 0-9 with --cid-standard dtmf"},
      {"ring --cid-number 123456789012345678901", "is longer than 20 characters"},
      {"ring --cid-number 1 --cid-name LINEGATE --cid-standard dtmf",
       "DTMF caller ID carries no name: drop --cid-name, or use bell202 or v23"},
      {"ring --cid-name " + std::string(51, 'x'), "caller ID name is longer than 50 characters"},
      {"ring --cid-name \"A\tB\"", "caller ID name may hold only printable ASCII characters"},
      {"ring --cid-name \"LINE GATE", "unterminated quote at byte 16"},
      {"ring --cid-name \"LINE\"GATE", "closing quote at byte 21 must be followed by a blank"},
      {"ring --cid-name \"\"", "empty quoted word at byte 16"},
  };
  for (const auto& [text, error] : errors) {
    Result<ScriptedCommand> r = ParseScriptedCommand(text);
    ASSERT_FALSE(r.ok()) << "'" << text << "' accepted";
    EXPECT_NE(r.error().find(error), std::string::npos) << text << ": " << r.error();
  }
}

TEST(ScriptedCommandTest, RingsWithCallerIdAndShowsItInStatus) {
  ManualClock clock;
  Result<std::unique_ptr<SimCard>> created = SimCard::Create(clock, {.phones = 1, .exchange_lines = 1});
  ASSERT_TRUE(created.ok());
  SimCard& card = **created;
  testing::FakeCardAudio audio(2, 80);
  dsp::CallerIdReceiver gateway;  // the gateway's FXO receiver on channel 1
  std::optional<dsp::CallerIdResult> received;
  const auto run = [&](int ticks) {
    for (int i = 0; i < ticks; ++i) {
      card.Tick(audio, audio);
      if (gateway.Process(audio.from_line[1])) received = gateway.result();
      clock.Advance(testing::FrameDuration(80));
    }
  };

  EXPECT_EQ(card.Execute(0, "ring --cid-number 5551234"), "error: 'ring' does not apply to an FXS phone");
  EXPECT_EQ(card.Execute(1, "ring --cid-name LINEGATE --cid-standard dtmf"),
            "error: DTMF caller ID carries no name: drop --cid-name, or use bell202 or v23");
  EXPECT_EQ(card.Execute(1, "ring --cid-number 5551234 --cid-name \"LINE GATE\" --cid-standard v23"),
            "ok: ringing with caller ID number=5551234 name=\"LINE GATE\" standard=v23");
  EXPECT_EQ(card.Execute(1, "status"),
            "ok: fxo exchange line: ringing, polarity normal, ring voltage off, far-end audio idle, "
            "caller-id waiting: number=5551234 name=\"LINE GATE\" standard=v23");
  run(350);  // US ringing: the first ring ends at 2 s, the burst runs from 2.5 s
  ASSERT_TRUE(received);
  ASSERT_TRUE(received->accepted());
  EXPECT_EQ(received->info.number.view(), "5551234");
  EXPECT_EQ(received->info.name.view(), "LINE GATE");
  EXPECT_EQ(received->standard, dsp::CallerIdStandard::kV23);
  EXPECT_EQ(card.Execute(1, "status"),
            "ok: fxo exchange line: ringing, polarity normal, ring voltage off, far-end audio idle, "
            "caller-id sent: number=5551234 name=\"LINE GATE\" standard=v23");
  EXPECT_EQ(card.Execute(1, "ring stop"), "ok: stopped ringing");

  // The gateway answers before a DTMF caller ID has gone out: dropped.
  EXPECT_EQ(card.Execute(1, "ring --cid-standard dtmf --cid-number 5551234"),
            "ok: ringing with caller ID number=5551234 standard=dtmf");
  run(20);
  ASSERT_EQ(card.exchange_line(1)->Apply(LineCommand::Seize()), CommandResult::kOk);
  EXPECT_EQ(card.Execute(1, "status"),
            "ok: fxo exchange line: connected, polarity normal, ring voltage off, far-end audio idle, "
            "caller-id dropped: number=5551234 standard=dtmf");
}

TEST(ScriptedCommandTest, RunsAgainstPhonesAndExchangeLines) {
  ManualClock clock;
  Result<std::unique_ptr<SimCard>> created = SimCard::Create(clock, {.phones = 1, .exchange_lines = 1});
  ASSERT_TRUE(created.ok());
  SimCard& card = **created;
  testing::FakeCardAudio audio(2, 80);
  const auto run = [&](int ticks) {
    for (int i = 0; i < ticks; ++i) {
      card.Tick(audio, audio);
      clock.Advance(testing::FrameDuration(80));
    }
  };

  EXPECT_EQ(card.Execute(0, "offhook"), "ok: off-hook");
  EXPECT_EQ(card.Execute(0, "offhook"), "error: phone is off-hook, not on-hook");
  EXPECT_EQ(card.Execute(0, "dial 12x"), "error: 'x' is not a DTMF digit (0-9 * # A-D)");
  EXPECT_EQ(card.Execute(0, "flash 1000"), "error: flash of 1000 ms out of range 100..900 ms");
  EXPECT_EQ(card.Execute(0, "tone 5000"), "error: tone frequency 5000 Hz out of range 1..3999 Hz");
  EXPECT_EQ(card.Execute(0, "ring"), "error: 'ring' does not apply to an FXS phone");
  EXPECT_EQ(card.Execute(0, "explode"),
            "error: unknown command 'explode'; expected offhook, onhook, flash, dial, pulse, ring, answer, "
            "hangup, busy, reverse, loopback, play, tone, record, listen, stop or status");

  // The phone dials DTMF; the gateway's detector hears it on the phone's channel.
  EXPECT_EQ(card.Execute(0, "dial 42"), "ok: dialling 42 (DTMF)");
  dsp::DtmfDetector detector;
  std::string digits;
  for (int i = 0; i < 50; ++i) {
    run(1);
    std::array<dsp::DtmfEvent, 4> events;
    const size_t n = detector.Process(audio.from_line[0], events);
    for (size_t k = 0; k < n; ++k) {
      if (events[k].type == dsp::DtmfEventType::kStart) digits += events[k].digit;
    }
  }
  EXPECT_EQ(digits, "42");

  // The gateway sends the phone a tone; "listen" reports it.
  dsp::ToneGenerator tone(dsp::ToneSpec::Single(1004, -16));
  for (int i = 0; i < 60; ++i) {
    tone.Generate(audio.to_line[0]);
    run(1);
  }
  const std::string heard = card.Execute(0, "listen 500");
  EXPECT_EQ(heard.rfind("ok: heard 100", 0), 0u) << heard;  // 1004 Hz to 0.1 Hz is 1003.x-1004.x
  EXPECT_NE(heard.find("at -16.0 dBm0"), std::string::npos) << heard;
  EXPECT_NE(heard.find("over 500 ms; no DTMF"), std::string::npos) << heard;
  EXPECT_NE(card.Execute(0, "status").find("ok: fxs phone: hook off-hook"), std::string::npos);
  EXPECT_EQ(card.Execute(0, "tone 800 -12"), "ok: playing 800 Hz at -12 dBm0");
  EXPECT_NE(card.Execute(0, "status").find("playing tone 800 Hz -12 dBm0"), std::string::npos);
  EXPECT_EQ(card.Execute(0, "stop"), "ok: stopped playing");
  EXPECT_EQ(card.Execute(0, "record stop"), "error: not recording");
  EXPECT_EQ(card.Execute(0, "pulse 1"), "ok: dialling 1 (pulse)");
  EXPECT_EQ(card.Execute(0, "onhook"), "ok: on-hook");

  // On-hook, the gateway sends a caller ID (Bell 202 MDMF); "status" shows it.
  std::fill(audio.to_line[0].begin(), audio.to_line[0].end(), int16_t{0});
  run(10);
  dsp::CallerIdInfo caller;
  ASSERT_TRUE(caller.number.Assign("5551234"));
  ASSERT_TRUE(caller.name.Assign("LINEGATE"));
  dsp::CallerIdGenerator cid;
  ASSERT_TRUE(cid.Start(caller, dsp::CallerIdFormat::kMdmf, dsp::CallerIdStandard::kBell202));
  while (!cid.done()) {
    cid.Generate(audio.to_line[0]);
    run(1);
  }
  std::fill(audio.to_line[0].begin(), audio.to_line[0].end(), int16_t{0});
  run(5);
  EXPECT_EQ(card.Execute(0, "status"),
            "ok: fxs phone: hook on-hook, ring idle (0 rings seen), polarity normal, mwi off, playing idle, "
            "caller-id: number=5551234 name=\"LINEGATE\" standard=bell202");
  ASSERT_TRUE(card.phone(0)->caller_id());
  EXPECT_EQ(card.phone(0)->caller_id()->result.info.name.view(), "LINEGATE");

  // The exchange line.
  EXPECT_EQ(card.Execute(1, "offhook"),
            "error: 'offhook' does not apply to an FXO exchange line (use it on a phone line)");
  EXPECT_EQ(card.Execute(1, "ring"), "ok: ringing");
  EXPECT_EQ(card.Execute(1, "ring"), "error: cannot ring: line is ringing");
  run(1);
  EXPECT_EQ(card.Execute(1, "status"),
            "ok: fxo exchange line: ringing, polarity normal, ring voltage on, far-end audio idle");
  EXPECT_EQ(card.Execute(1, "ring stop"), "ok: stopped ringing");
  EXPECT_EQ(card.Execute(1, "answer"), "error: far end cannot answer: line is idle, not ringback");
  EXPECT_EQ(card.Execute(1, "reverse"), "ok: polarity reversed");
  EXPECT_EQ(card.Execute(1, "loopback on"), "ok: loopback on");
  EXPECT_EQ(card.Execute(1, "record /tmp/x.wav"),
            "error: 'record' does not apply to an FXO exchange line (use it on a phone line)");
  EXPECT_EQ(card.Execute(1, "play /nonexistent.wav"),
            "error: cannot open /nonexistent.wav: No such file or directory");
}

}  // namespace
}  // namespace linegate::media::tdm::sim
