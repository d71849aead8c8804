#pragma once
// Counters of one transport, declared once as a list so that metrics export and tests
// walk the same names. Plain integers: a transport lives on one thread.

#include <cstdint>
#include <string_view>

namespace linegate::signaling::transport {

// X(name, help). UDP counts datagrams as messages; the connection counters stay 0 there.
#define LINEGATE_TRANSPORT_COUNTERS(X)                                                             \
  X(messages_received, "framed messages or datagrams delivered to the receive handler")            \
  X(messages_sent, "messages written or queued on a connection")                                   \
  X(bytes_received, "octets read from sockets")                                                    \
  X(bytes_sent, "octets written to sockets")                                                       \
  X(receive_batches, "UDP recvmmsg calls that returned datagrams")                                 \
  X(keepalives_received, "RFC 5626 double-CRLF pings read (UDP: CRLF-only datagrams)")             \
  X(pongs_sent, "RFC 5626 single-CRLF pongs written")                                              \
  X(connections_accepted, "inbound connections accepted")                                          \
  X(connections_opened, "outbound connections started")                                            \
  X(connections_closed, "connections closed for any reason")                                       \
  X(drop_oversize, "datagrams or stream messages over the size limit (stream: connection closed)") \
  X(drop_framing_error, "streams closed on unframeable input (RFC 3261 18.3)")                     \
  X(drop_too_many_connections, "connections refused over the total or per-peer limit")             \
  X(idle_closes, "connections closed after the idle timeout")                                      \
  X(tls_handshake_failures, "TLS handshakes that failed or timed out, either side")                \
  X(connect_failures, "outbound TCP connects refused, failed or timed out")                        \
  X(send_errors, "messages that could not be sent or were lost with their connection")             \
  X(receive_errors, "socket read errors other than would-block")

struct TransportCounters {
#define LINEGATE_TRANSPORT_COUNTER_FIELD(name, help) uint64_t name = 0;
  LINEGATE_TRANSPORT_COUNTERS(LINEGATE_TRANSPORT_COUNTER_FIELD)
#undef LINEGATE_TRANSPORT_COUNTER_FIELD

  // f(std::string_view name, std::string_view help, uint64_t value) for each counter.
  template <typename F>
  void ForEach(F&& f) const {
#define LINEGATE_TRANSPORT_COUNTER_VISIT(name, help) f(std::string_view(#name), std::string_view(help), name);
    LINEGATE_TRANSPORT_COUNTERS(LINEGATE_TRANSPORT_COUNTER_VISIT)
#undef LINEGATE_TRANSPORT_COUNTER_VISIT
  }
};

}  // namespace linegate::signaling::transport
