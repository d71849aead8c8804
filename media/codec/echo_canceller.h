#pragma once
// Line echo canceller for the TDM side (the G.168 case: the 2-wire/4-wire hybrid of
// an analog line returns part of what we send to it, delayed by a few ms and filtered).
// One instance per channel; frames are 8 kHz linear 16-bit.
//
// Built on speexdsp's echo canceller rather than spandsp's echo_can, because:
//  - spandsp 0.0.6 as packaged in Debian 12 prints two debug lines to stdout for every
//    sample in echo_can_update() (160,000 lines for 10 s of one channel): a system call
//    per sample on the media path;
//  - spandsp's is a per-sample time-domain NLMS, O(tail) multiply-adds per sample
//    (1024 per sample at 128 ms); speexdsp's is a frequency-domain multi-delay block
//    filter (MDF) whose cost grows with tail/frame FFT blocks per frame;
//  - in a trial on one echo path (G.168 model D.2 behind 40 ms of bulk delay, 6 dB
//    ERL, coloured-noise far end) speexdsp's ERLE passed 20 dB between 1.0 and 1.5 s
//    and spandsp's stayed below 1 dB for 10 s (spandsp did converge on white noise).
// speexdsp's MDF adapts with a step size that follows its own estimate of how well the
// filter matches (robust to double talk without a separate detector). It filters the
// near-end input with a DC notch that also takes off low voice frequencies (measured:
// -0.7 dB at 300 Hz, -2.4 dB at 200 Hz, -10 dB at 100 Hz; within 0.2 dB from 500 Hz).
// It has no non-linear processor (NLP) of its own: this class cancels linearly and
// does not suppress the residual.
//
// Per frame: no allocation, lock or system call (the state is allocated by Create;
// echo_canceller_test checks that Process() does not call malloc).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "common/result.h"

struct SpeexEchoState_;

namespace linegate::media::codec {

struct EchoCancellerConfig {
  // Longest echo the filter models: the hybrid's bulk delay plus its dispersion.
  // Analog lines behind a local card need a few ms to ~40 ms; 64 ms covers them with
  // margin, 128 ms covers long loops and extra delay in the TDM path.
  int tail_ms = 64;
  // Samples per Process() call, fixed for the instance (the MDF works on fixed blocks).
  // 10 ms is the usual media tick; shorter frames cost more per second (more FFT
  // blocks for the same tail).
  size_t frame_samples = 80;
};

struct EchoCancellerStats {
  uint64_t frames_cancelled = 0;  // processed while enabled
  uint64_t frames_bypassed = 0;   // passed through while disabled
  uint64_t frames_refused = 0;    // wrong span sizes
};

class EchoCanceller {
 public:
  static constexpr int kMinTailMs = 8;
  static constexpr int kMaxTailMs = 128;
  static constexpr size_t kMinFrameSamples = 8;    // 1 ms
  static constexpr size_t kMaxFrameSamples = 320;  // 40 ms

  // Allocates the filter state; errors name the offending setting.
  static Result<EchoCanceller> Create(const EchoCancellerConfig& config = {});

  EchoCanceller(EchoCanceller&&) noexcept;
  EchoCanceller& operator=(EchoCanceller&&) noexcept;
  ~EchoCanceller();

  // far_end_ref: the frame we sent to the line; near_end: the frame that came back from
  // the line at the same tick (our echo plus the line's own talker); out: near_end with
  // the echo removed. All three exactly config().frame_samples long; `out` may be the
  // same buffer as `near_end`. While disabled, out = near_end bit for bit. Returns
  // false, leaving `out` untouched, when a size is wrong.
  bool Process(std::span<const int16_t> far_end_ref, std::span<const int16_t> near_end,
               std::span<int16_t> out);

  // Fax and modem pass-through: on CED (2100 Hz) or CNG the caller disables the
  // canceller so that the modem signals cross untouched (ITU-T G.168 tone disabler,
  // T.30). Enable() after Disable() starts from a reset filter: the echo path learnt
  // before the data call is not trusted after it (the far-end history has a gap), and
  // re-convergence takes well under a second.
  void Enable();
  void Disable();
  bool enabled() const { return enabled_; }

  // Forget the learnt echo path (a new call on the line).
  void Reset();

  const EchoCancellerConfig& config() const { return config_; }
  const EchoCancellerStats& stats() const { return stats_; }

 private:
  struct StateDeleter {
    void operator()(SpeexEchoState_* state) const;
  };

  EchoCanceller(const EchoCancellerConfig& config, std::unique_ptr<SpeexEchoState_, StateDeleter> state);

  EchoCancellerConfig config_;
  std::unique_ptr<SpeexEchoState_, StateDeleter> state_;
  bool enabled_ = true;
  bool reset_pending_ = false;
  EchoCancellerStats stats_;
};

}  // namespace linegate::media::codec
