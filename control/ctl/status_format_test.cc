#include "control/ctl/status_format.h"

#include <gtest/gtest.h>

namespace linegate::control::ctl {
namespace {

TEST(FormatCalls, NoCalls) { EXPECT_EQ(FormatCalls(signaling::v1::CallListReply()), "no calls\n"); }

TEST(FormatCalls, OneRowPerCall) {
  signaling::v1::CallListReply list;
  signaling::v1::CallSummary* call = list.add_calls();
  call->set_call_ref("c-1");
  call->set_line(1);
  call->set_direction("tel-to-ip");
  call->set_state("connected");
  call->set_calling_number("201");
  call->set_called_number("5551234");
  call->set_duration_ms(12400);
  call->set_codec("PCMU");
  call->set_remote_media("192.0.2.10:30000");
  signaling::v1::CallSummary* ringing = list.add_calls();
  ringing->set_call_ref("s-3");
  ringing->set_line(4);
  ringing->set_direction("ip-to-tel");
  ringing->set_state("ringing");
  ringing->set_calling_number("5550001");
  ringing->set_called_number("500");
  EXPECT_EQ(
      FormatCalls(list),
      "CALL       LINE  DIRECTION  STATE                  CALLING          CALLED           DURATION  CODEC  "
      "REMOTE\n"
      "c-1           1  tel-to-ip  connected              201              5551234             12.4s  PCMU   "
      "192.0.2.10:30000\n"
      "s-3           4  ip-to-tel  ringing                5550001          500                     -  -      "
      "-\n");
}

}  // namespace
}  // namespace linegate::control::ctl
