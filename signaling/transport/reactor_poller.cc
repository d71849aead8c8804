#include "signaling/transport/reactor_poller.h"

namespace linegate::signaling::transport {

void AttachToReactor(bus::Reactor& reactor, EpollPoller& poller) {
  reactor.AddFd(poller.fd(), [&poller] { poller.Dispatch(Duration::zero()); });
}

void DetachFromReactor(bus::Reactor& reactor, EpollPoller& poller) { reactor.RemoveFd(poller.fd()); }

}  // namespace linegate::signaling::transport
