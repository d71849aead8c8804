#pragma once
// The transaction user (TU, RFC 3261 section 5): the core above the transaction layer
// (a UA core with its dialogs and registrations, or a proxy core). The layer calls it
// for everything that is not absorbed by a transaction.
//
// Messages passed here are views into the receive buffer and are valid only during the
// call. The TU may call back into the TransactionLayer from any of these (answer a
// request at once, send a new one); transactions stay valid until the call returns.

#include <string_view>

#include "signaling/sip/sip_message.h"
#include "signaling/transaction/transaction_types.h"
#include "signaling/transport/transport.h"

namespace linegate::signaling::transaction {

struct IncomingRequest {
  // The server transaction created for the request; answer it with
  // TransactionLayer::Respond.
  TransactionId transaction = 0;
  TransactionKind kind = TransactionKind::kNonInviteServer;
  const sip::Message& message;
  const transport::Received& received;
  // For CANCEL: the INVITE server transaction it matches (RFC 3261 9.2), 0 if none.
  // The TU answers the CANCEL itself (200, or 481 when 0) and then the INVITE (487).
  TransactionId cancelled_invite = 0;
};

class TransactionUser {
 public:
  virtual ~TransactionUser() = default;

  // A request that matched no server transaction; one was created for it.
  virtual void OnRequest(const IncomingRequest& request) = 0;
  // An ACK that matched no INVITE server transaction: the ACK for a 2xx, which belongs
  // to the dialog, not to a transaction (RFC 3261 17.2.3, 13.3.1.4).
  virtual void OnStrayAck(const sip::Message& ack, const transport::Received& received) = 0;
  // A response that matched no client transaction (RFC 3261 17.1.3, 18.1.2): the
  // retransmissions of a 2xx to INVITE, which the UA core answers with the ACK again.
  virtual void OnStrayResponse(const sip::Message& response, const transport::Received& received) = 0;

  // Client transaction: a response passed up (RFC 3261 17.1.1.2, 17.1.2.2). Not called
  // for retransmissions of a final response.
  virtual void OnResponse(TransactionId transaction, const sip::Message& response) = 0;
  // Timer B or F: the request got no (final) response; treat it as a 408 (RFC 3261
  // 8.1.3.1). Timer H: a server INVITE transaction never got its ACK (17.2.1).
  virtual void OnTimeout(TransactionId transaction, TransactionKind kind) = 0;
  // RFC 3261 17.1.4, 17.2.4: a send failed on a timer or network event. (A send that
  // fails inside a TU call is returned by that call instead.) The transaction is
  // terminated.
  virtual void OnTransportError(TransactionId transaction, TransactionKind kind, std::string_view error) = 0;
};

}  // namespace linegate::signaling::transaction
