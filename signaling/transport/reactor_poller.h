#pragma once
// Nests an EpollPoller in the process's bus::Reactor: the Reactor watches the epoll fd
// for readability (all it can report) and the poller dispatches read and write events
// to the transports. The Reactor is also the Scheduler the transports take.

#include "common/bus/reactor.h"
#include "signaling/transport/epoll_poller.h"

namespace linegate::signaling::transport {

// Both must outlive the attachment; DetachFromReactor before destroying the poller.
void AttachToReactor(bus::Reactor& reactor, EpollPoller& poller);
void DetachFromReactor(bus::Reactor& reactor, EpollPoller& poller);

}  // namespace linegate::signaling::transport
