#include "signaling/auth/digest_response.h"

namespace linegate::signaling::auth {
namespace {

bool IsControl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

// Appends name="value" with RFC 3261 25.1 quoted-pair escaping of '"' and '\'.
Status AppendQuoted(std::string& out, std::string_view name, std::string_view value) {
  for (char c : value) {
    if (IsControl(static_cast<unsigned char>(c))) {
      return Error{"authorization: control character in " + std::string(name)};
    }
  }
  out.append(name);
  out.append("=\"");
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return Status::Ok();
}

bool IsToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("-.!%*_+`'~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace

std::string FormatNonceCount(uint32_t nonce_count) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(8, '0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kHex[nonce_count & 0x0f];
    nonce_count >>= 4;
  }
  return out;
}

Result<DigestValues> ComputeDigest(const Credentials& credentials, const DigestInputs& inputs) {
  const DigestAlgorithm algorithm = inputs.algorithm;
  if (inputs.qop == Qop::kNone && IsSessionAlgorithm(algorithm)) {
    // RFC 7616 3.4.2: the -sess HA1 covers the cnonce, which exists only with qop.
    return Error{"digest: " + std::string(AlgorithmName(algorithm)) + " needs a qop (it hashes the cnonce)"};
  }
  if (inputs.qop != Qop::kNone && inputs.nonce_count == 0) return Error{"digest: nonce count starts at 1"};
  if (!IsToken(inputs.request.method)) return Error{"digest: method is not a token"};

  DigestValues values;
  // RFC 7616 3.4.2: A1 = unq(username) ":" unq(realm) ":" passwd, plus for -sess
  // ":" unq(nonce) ":" unq(cnonce) hashed over H(...) of the former.
  Result<std::string> base_ha1 = credentials.BaseHa1(algorithm, inputs.realm);
  if (!base_ha1.ok()) return Error{base_ha1.error()};
  if (IsSessionAlgorithm(algorithm)) {
    Result<std::string> session_ha1 = HashHex(algorithm, {*base_ha1, inputs.nonce, inputs.cnonce});
    if (!session_ha1.ok()) return Error{session_ha1.error()};
    values.ha1 = std::move(*session_ha1);
  } else {
    values.ha1 = std::move(*base_ha1);
  }

  // RFC 7616 3.4.3: A2 = Method ":" request-uri [":" H(entity-body)] for auth-int.
  Result<std::string> ha2 = Error{};
  if (inputs.qop == Qop::kAuthInt) {
    Result<std::string> body_hash = HashHex(algorithm, {inputs.request.body});
    if (!body_hash.ok()) return Error{body_hash.error()};
    ha2 = HashHex(algorithm, {inputs.request.method, inputs.request.uri, *body_hash});
  } else {
    ha2 = HashHex(algorithm, {inputs.request.method, inputs.request.uri});
  }
  if (!ha2.ok()) return Error{ha2.error()};
  values.ha2 = std::move(*ha2);

  // RFC 7616 3.4.1 (qop present) and RFC 2617 3.2.2.1 (RFC 2069 compatibility, no qop).
  Result<std::string> response = Error{};
  if (inputs.qop == Qop::kNone) {
    response = HashHex(algorithm, {values.ha1, inputs.nonce, values.ha2});
  } else {
    const std::string nc = FormatNonceCount(inputs.nonce_count);
    response =
        HashHex(algorithm, {values.ha1, inputs.nonce, nc, inputs.cnonce, QopName(inputs.qop), values.ha2});
  }
  if (!response.ok()) return Error{response.error()};
  values.response = std::move(*response);
  return values;
}

Result<std::string> FormatAuthorization(const AuthorizationFields& fields) {
  std::string out;
  out.reserve(256 + fields.nonce.size() + fields.uri.size() + fields.response.size());
  out.append("Digest ");
  Status status = AppendQuoted(out, "username", fields.username);
  for (auto [name, value] : {std::pair<std::string_view, std::string_view>{"realm", fields.realm},
                             {"nonce", fields.nonce},
                             {"uri", fields.uri},
                             {"response", fields.response}}) {
    if (!status.ok()) break;
    out.append(", ");
    status = AppendQuoted(out, name, value);
  }
  if (!status.ok()) return Error{status.error()};
  out.append(", algorithm=");
  out.append(AlgorithmName(fields.algorithm));
  if (fields.qop != Qop::kNone) {
    out.append(", ");
    status = AppendQuoted(out, "cnonce", fields.cnonce);
    if (!status.ok()) return Error{status.error()};
  }
  if (fields.opaque) {
    out.append(", ");
    status = AppendQuoted(out, "opaque", *fields.opaque);
    if (!status.ok()) return Error{status.error()};
  }
  if (fields.qop != Qop::kNone) {
    // RFC 7616 3.4 and RFC 3261 25.1: message-qop and nonce-count are unquoted tokens.
    out.append(", qop=");
    out.append(QopName(fields.qop));
    out.append(", nc=");
    out.append(FormatNonceCount(fields.nonce_count));
  }
  if (fields.userhash) out.append(", userhash=true");
  return out;
}

Result<std::string> AnswerChallenge(const DigestChallenge& challenge, const Credentials& credentials,
                                    const DigestRequest& request, std::string_view cnonce,
                                    uint32_t nonce_count) {
  if (!challenge.algorithm) {
    return Error{"digest: unsupported algorithm \"" + challenge.algorithm_token + "\""};
  }
  const std::optional<Qop> qop = ChooseQop(challenge);
  if (!qop) return Error{"digest: none of the offered qop values is supported"};

  DigestInputs inputs;
  inputs.algorithm = *challenge.algorithm;
  inputs.realm = challenge.realm;
  inputs.nonce = challenge.nonce;
  inputs.cnonce = cnonce;
  inputs.nonce_count = nonce_count;
  inputs.qop = *qop;
  inputs.request = request;
  Result<DigestValues> values = ComputeDigest(credentials, inputs);
  if (!values.ok()) return Error{values.error()};

  std::string hashed_username;
  if (challenge.userhash) {
    // RFC 7616 3.4.4: username = H(unq(username) ":" unq(realm)).
    Result<std::string> hashed = HashHex(*challenge.algorithm, {credentials.username(), challenge.realm});
    if (!hashed.ok()) return Error{hashed.error()};
    hashed_username = std::move(*hashed);
  }

  AuthorizationFields fields;
  fields.username = challenge.userhash ? std::string_view(hashed_username) : credentials.username();
  fields.realm = challenge.realm;
  fields.nonce = challenge.nonce;
  fields.uri = request.uri;
  fields.response = values->response;
  fields.algorithm = *challenge.algorithm;
  fields.cnonce = cnonce;
  if (challenge.opaque) fields.opaque = *challenge.opaque;
  fields.qop = *qop;
  fields.nonce_count = nonce_count;
  fields.userhash = challenge.userhash;
  return FormatAuthorization(fields);
}

}  // namespace linegate::signaling::auth
