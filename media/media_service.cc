#include "media/media_service.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include "common/bus/dispatcher.h"
#include "common/log.h"
#include "media/packetio/kernel_socket_io.h"
#include "media/tdm/tdm_service.h"
#ifdef LINEGATE_HAVE_DPDK
#include "media/packetio/dpdk_io.h"
#endif

namespace linegate::media {

MediaService::MediaService(int shard, bus::Reactor& reactor, Publish publish)
    : shard_(shard), reactor_(reactor), publish_(std::move(publish)) {}

MediaService::~MediaService() {
  if (engine_) {
    if (!polled_) reactor_.RemoveFd(engine_->wait_fd());
    // An orderly stop says goodbye on every session (RTCP BYE).
    (void)engine_->DeleteSession(0);
  }
  if (timer_fd_ >= 0) {
    reactor_.RemoveFd(timer_fd_);
    ::close(timer_fd_);
  }
}

Status MediaService::Configure(const config::v1::Config& config) {
  if (shard_ < 0 || static_cast<uint32_t>(shard_) >= config.media().process_count()) {
    return Error{"shard " + std::to_string(shard_) + " does not exist: media.process_count is " +
                 std::to_string(config.media().process_count())};
  }
  const bool has_entry = shard_ < config.media().shards_size();
  const config::v1::PacketIoBackend backend =
      has_entry ? config.media().shards(shard_).backend() : config.media().backend();
  if (engine_) return Status::Ok();  // control re-sent the configuration: carry on
  media_ = config.media();
  std::unique_ptr<packetio::PacketIo> io;
  if (backend == config::v1::PACKET_IO_BACKEND_DPDK) {
    auto dpdk = MakeDpdk(config);
    if (!dpdk) return Error{dpdk.error()};
    io = std::move(*dpdk);
    polled_ = true;
  } else {
    packetio::KernelSocketConfig io_config;
    io_config.address = config.media().rtp_address();
    auto kernel = packetio::KernelSocketIo::Create(io_config);
    if (!kernel) return Error{kernel.error()};
    io = std::move(*kernel);
  }
  auto engine = engine::MediaEngine::Create(config, static_cast<uint32_t>(shard_), std::move(io), *this);
  if (!engine) return Error{engine.error()};
  engine_ = std::move(*engine);
  backend_name_ = config::v1::PacketIoBackend_Name(backend);

  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0) return Error{"timerfd_create failed"};
  itimerspec period{};
  period.it_interval.tv_nsec = static_cast<long>(config.tdm().frame_ms()) * 1000000L;
  period.it_value = period.it_interval;
  ::timerfd_settime(timer_fd_, 0, &period, nullptr);
  reactor_.AddFd(timer_fd_, [this] {
    uint64_t expirations = 0;
    if (::read(timer_fd_, &expirations, sizeof(expirations)) != sizeof(expirations)) return;
    engine_->Poll();
  });
  // Statistics of every session to control's publisher, at the RTCP interval.
  reactor_.AddPeriodic(std::chrono::milliseconds(engine::RtpSession::kRtcpIntervalMs), [this] {
    v1::ListSessionsReply list;
    engine_->ListSessions(list);
    for (const v1::SessionStats& stats : list.sessions()) publish_(stats);
  });
  if (polled_) {
    // A poll-mode driver has no descriptor to wait on: the media core spins on the
    // port, leaving the reactor (bus, timers) a turn every millisecond.
    reactor_.AddPeriodic(std::chrono::milliseconds(1), [this] {
      const TimePoint until = SteadyClock::Instance().Now() + std::chrono::microseconds(900);
      do {
        engine_->Poll();
      } while (SteadyClock::Instance().Now() < until);
    });
  } else {
    // Packets are taken as they arrive (the jitter buffer wants true arrival times), not
    // only once per frame.
    reactor_.AddFd(engine_->wait_fd(), [this] { engine_->Poll(); });
  }
  engine_->Poll();
  log::Info("shard configured", {{"shard", shard_},
                                 {"shards", media_.process_count()},
                                 {"backend", backend_name_},
                                 {"rtp_address", media_.rtp_address()}});
  return Status::Ok();
}

Result<std::unique_ptr<packetio::PacketIo>> MediaService::MakeDpdk(const config::v1::Config& config) {
#ifdef LINEGATE_HAVE_DPDK
  const config::v1::Dpdk& settings = config.media().shards(shard_).dpdk();
  packetio::DpdkConfig dpdk;
  dpdk.lcores = settings.lcores();
  dpdk.no_huge = settings.no_huge();
  dpdk.memory_mb = settings.memory_mb();
  dpdk.vdevs.assign(settings.vdevs().begin(), settings.vdevs().end());
  dpdk.pci_allow.assign(settings.pci_allow().begin(), settings.pci_allow().end());
  dpdk.no_pci = dpdk.pci_allow.empty() && !dpdk.vdevs.empty();
  dpdk.extra_eal_args.assign(settings.extra_eal_args().begin(), settings.extra_eal_args().end());
  // One prefix per gateway and shard: its telemetry socket is then its own.
  dpdk.file_prefix = tdm::TdmBusPrefix(config) + "." + MediaProcessName(static_cast<uint32_t>(shard_));
  dpdk.telemetry = true;
  dpdk.port = settings.port();
  dpdk.ipv4_address = settings.ipv4_address();
  dpdk.ipv4_prefix = static_cast<uint8_t>(settings.ipv4_prefix());
  dpdk.ipv4_gateway = settings.ipv4_gateway();
  dpdk.mac = settings.mac();
  dpdk.vlan_id = settings.vlan_id() == 0 ? -1 : static_cast<int>(settings.vlan_id());
  if (settings.mempool_size() != 0) dpdk.mempool_size = settings.mempool_size();
  dpdk.checksum_offload = settings.checksum_offload();
  auto io = packetio::DpdkPacketIo::Create(dpdk);
  if (!io) return Error{"media.shards[" + std::to_string(shard_) + "].dpdk: " + io.error()};
  log::Info("DPDK port ready", {{"port", settings.port()}, {"address", settings.ipv4_address()}});
  return std::unique_ptr<packetio::PacketIo>(std::move(*io));
#else
  (void)config;
  return Error{"media.shards[" + std::to_string(shard_) +
               "]: this build has no DPDK (libdpdk-dev was missing at build time); use kernel_sockets"};
#endif
}

void MediaService::RegisterHandlers(bus::Dispatcher& dispatcher) {
  auto not_ready = [](const bus::Replier& replier) {
    replier.Fail(bus::v1::ERROR_CODE_UNAVAILABLE, "media process not configured yet");
  };
  dispatcher.OnRequest<v1::CreateSessionRequest>([this, not_ready](const v1::CreateSessionRequest& request,
                                                                   const bus::v1::Envelope&,
                                                                   const bus::Replier& replier) {
    if (!engine_) return not_ready(replier);
    auto reply = engine_->CreateSession(request.params());
    if (!reply) return replier.Fail(bus::v1::ERROR_CODE_INVALID_ARGUMENT, reply.error());
    replier.Reply(*reply);
  });
  dispatcher.OnRequest<v1::ModifySessionRequest>([this, not_ready](const v1::ModifySessionRequest& request,
                                                                   const bus::v1::Envelope&,
                                                                   const bus::Replier& replier) {
    if (!engine_) return not_ready(replier);
    if (Status modified = engine_->ModifySession(request.params()); !modified) {
      return replier.Fail(bus::v1::ERROR_CODE_INVALID_ARGUMENT, modified.error());
    }
    replier.Reply(v1::ModifySessionReply());
  });
  dispatcher.OnRequest<v1::DeleteSessionRequest>([this, not_ready](const v1::DeleteSessionRequest& request,
                                                                   const bus::v1::Envelope&,
                                                                   const bus::Replier& replier) {
    if (!engine_) return not_ready(replier);
    auto reply = engine_->DeleteSession(request.line(), request.leg(), request.all_legs());
    if (!reply) return replier.Fail(bus::v1::ERROR_CODE_NOT_FOUND, reply.error());
    replier.Reply(*reply);
  });
  dispatcher.OnRequest<v1::ListSessionsRequest>([this, not_ready](const v1::ListSessionsRequest&,
                                                                  const bus::v1::Envelope&,
                                                                  const bus::Replier& replier) {
    if (!engine_) return not_ready(replier);
    v1::ListSessionsReply reply;
    engine_->ListSessions(reply);
    replier.Reply(reply);
  });
  dispatcher.OnRequest<v1::PlayToneRequest>([this, not_ready](const v1::PlayToneRequest& request,
                                                              const bus::v1::Envelope&,
                                                              const bus::Replier& replier) {
    if (!engine_) return not_ready(replier);
    if (Status played = engine_->PlayTone(request); !played) {
      return replier.Fail(bus::v1::ERROR_CODE_INVALID_ARGUMENT, played.error());
    }
    replier.Reply(v1::PlayToneReply());
  });
  dispatcher.OnRequest<v1::DigitDetectionRequest>([this, not_ready](const v1::DigitDetectionRequest& request,
                                                                    const bus::v1::Envelope&,
                                                                    const bus::Replier& replier) {
    if (!engine_) return not_ready(replier);
    if (Status set = engine_->SetDigitDetection(request.line(), request.enable()); !set) {
      return replier.Fail(bus::v1::ERROR_CODE_INVALID_ARGUMENT, set.error());
    }
    replier.Reply(v1::DigitDetectionReply());
  });
  dispatcher.OnRequest<v1::SendCallerIdRequest>([this, not_ready](const v1::SendCallerIdRequest& request,
                                                                  const bus::v1::Envelope&,
                                                                  const bus::Replier& replier) {
    if (!engine_) return not_ready(replier);
    if (Status sent = engine_->SendCallerId(request); !sent) {
      return replier.Fail(bus::v1::ERROR_CODE_INVALID_ARGUMENT, sent.error());
    }
    replier.Reply(v1::SendCallerIdReply());
  });
  dispatcher.OnRequest<v1::SendDigitsRequest>([this, not_ready](const v1::SendDigitsRequest& request,
                                                                const bus::v1::Envelope&,
                                                                const bus::Replier& replier) {
    if (!engine_) return not_ready(replier);
    if (Status sent = engine_->SendDigits(request); !sent) {
      return replier.Fail(bus::v1::ERROR_CODE_INVALID_ARGUMENT, sent.error());
    }
    replier.Reply(v1::SendDigitsReply());
  });
}

void MediaService::OnDtmf(uint32_t line, char digit, uint32_t duration_ms, bool from_rtp) {
  v1::DtmfDetected event;
  event.set_line(line);
  event.set_digit(std::string(1, digit));
  event.set_duration_ms(duration_ms);
  event.set_from_rtp(from_rtp);
  log::Info("dtmf", {{"line", line}, {"digit", event.digit()}, {"ms", duration_ms}, {"from_rtp", from_rtp}});
  publish_(event);
}

void MediaService::OnRtpTimeout(uint32_t line, uint32_t silent_ms) {
  v1::RtpTimeout event;
  event.set_line(line);
  event.set_silent_ms(silent_ms);
  log::Warn("rtp timeout", {{"line", line}, {"silent_ms", silent_ms}});
  publish_(event);
}

void MediaService::OnFaxTone(uint32_t line, const char* tone) {
  v1::FaxToneDetected event;
  event.set_line(line);
  event.set_tone(tone);
  log::Info("fax tone", {{"line", line}, {"tone", tone}});
  publish_(event);
}

void MediaService::OnCallerId(uint32_t line, const dsp::CallerIdResult& result) {
  v1::CallerIdReceived event;
  event.set_line(line);
  event.set_number(std::string(result.info.number.view()));
  event.set_name(std::string(result.info.name.view()));
  event.set_standard(std::string(dsp::CallerIdStandardName(result.standard)));
  event.set_absence(std::string(dsp::CallerIdAbsenceName(result.info.number_absence)));
  log::Info(
      "caller id received",
      {{"line", line}, {"number", event.number()}, {"name", event.name()}, {"standard", event.standard()}});
  publish_(event);
}

void MediaService::OnDigitsSent(uint32_t line) {
  v1::DigitsSent event;
  event.set_line(line);
  log::Info("digits sent", {{"line", line}});
  publish_(event);
}

void MediaService::OnBusyTone(uint32_t line, const char* tone) {
  v1::BusyToneDetected event;
  event.set_line(line);
  event.set_tone(tone);
  log::Info("busy tone from the exchange", {{"line", line}, {"tone", tone}});
  publish_(event);
}

void MediaService::FillDetail(process::v1::Heartbeat& heartbeat) const {
  process::v1::MediaDetail* detail = heartbeat.mutable_media();
  detail->set_shard_count(media_.process_count());
  detail->set_backend(backend_name_);
}

}  // namespace linegate::media
