#pragma once
// proto3 string fields must hold UTF-8, or the receiver's parser drops the whole
// message. Text a peer wrote (a Latin-1 display name, %FF in a SIP URI user, a
// registrar's reason phrase...) goes through these before it is put on the bus: valid
// sequences are kept and every byte that is not part of one becomes U+FFFD.

#include <google/protobuf/message.h>

#include <string>

namespace linegate::bus {

// RFC 3629 well-formedness: no overlongs, surrogates or code points above U+10FFFF.
void MakeUtf8(std::string& text);
// MakeUtf8 on every string field of `message`, repeated and nested ones included.
void MakeUtf8Fields(google::protobuf::Message& message);

}  // namespace linegate::bus
