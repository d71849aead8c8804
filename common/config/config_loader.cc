#include "common/config/config_loader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "common/config/schema.h"
#include "common/config/validation.h"

namespace linegate::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Where something was written, 1-based. Line 0 means "no position": the message then
// names the file alone.
struct Position {
  int line = 0;
  int column = 0;
};

Position PositionOf(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

std::string Join(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

// A key as it appears in a field path: bare when it looks like a field name, quoted
// otherwise, so that odd keys cannot break the one-line message format.
std::string KeyText(std::string_view key) {
  if (key.empty()) return schema::Quote(key);
  for (char c : key) {
    const bool plain =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!plain) return schema::Quote(key);
  }
  return std::string(key);
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Scalar:
      return schema::Quote(node.Scalar());
    default:
      return "an empty value";
  }
}

std::string FieldList(const Descriptor& type) {
  std::string names;
  for (int i = 0; i < type.field_count(); ++i) {
    if (i > 0) names += ", ";
    names += type.field(i)->name();
  }
  return names;
}

// Walks a YAML tree against a message descriptor, filling the message and recording the
// position of every field the operator wrote. Stops at the first problem: the walk
// follows the file from top to bottom, so the first problem is the one nearest the top.
class Walker {
 public:
  explicit Walker(std::string_view file_name) : file_name_(file_name) {}

  bool WalkMessage(const YAML::Node& node, Message& message, const std::string& path, Position where,
                   bool null_is_empty) {
    if (node.IsNull() && null_is_empty) return true;  // "media:" with every key commented out
    if (!node.IsMap()) {
      const Position at = node.IsNull() ? where : PositionOf(node.Mark());
      return Fail(at, path, "expected a mapping, got " + Describe(node));
    }
    const Descriptor& type = *message.GetDescriptor();
    std::map<std::string, int, std::less<>> first_line_of_key;
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies, not references: the iterator's operator-> hands out a temporary pair.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      const Position key_at = PositionOf(key.Mark());
      if (!key.IsScalar()) return Fail(key_at, path, "expected a field name, got " + Describe(key));
      const std::string& name = key.Scalar();
      const std::string field_path = Join(path, KeyText(name));
      auto [seen, inserted] = first_line_of_key.emplace(name, key_at.line);
      if (!inserted) {
        return Fail(key_at, field_path, fmt::format("duplicate key (first at line {})", seen->second));
      }
      const FieldDescriptor* field = type.FindFieldByName(name);
      if (field == nullptr) {
        return Fail(key_at, field_path, fmt::format("unknown field (known fields: {})", FieldList(type)));
      }
      if (!WalkField(value, message, *field, field_path, key_at)) return false;
    }
    return true;
  }

  // The position to report for a path: where the operator wrote it, else where they
  // wrote the nearest enclosing section, else the top of the file.
  Position Locate(std::string path) const {
    while (true) {
      auto it = positions_.find(path);
      if (it != positions_.end()) return it->second;
      const size_t cut = path.find_last_of(".[");
      if (cut == std::string::npos) return {1, 1};
      path.resize(cut);
    }
  }

  bool Written(const std::string& path) const { return positions_.count(path) != 0; }

  bool Fail(Position at, std::string_view path, std::string_view what) {
    error_ = FormatError(file_name_, at, path, what);
    return false;
  }

  static std::string FormatError(std::string_view file, Position at, std::string_view path,
                                 std::string_view what) {
    std::string message(file);
    if (at.line > 0) message += fmt::format(":{}:{}", at.line, at.column);
    message += ": ";
    if (!path.empty()) message += fmt::format("{}: ", path);
    message += what;
    return message;
  }

  const std::string& error() const { return error_; }

 private:
  bool WalkField(const YAML::Node& value, Message& message, const FieldDescriptor& field,
                 const std::string& path, Position key_at) {
    if (!schema::IsSupported(field)) return Fail(key_at, path, "field type is not supported by the loader");
    if (const auto* oneof = field.containing_oneof()) {
      const FieldDescriptor* set = message.GetReflection()->GetOneofFieldDescriptor(message, oneof);
      if (set != nullptr) {
        return Fail(key_at, path,
                    fmt::format("conflicts with {} (set only one of {})", set->name(), oneof->name()));
      }
    }
    const Reflection& reflection = *message.GetReflection();
    if (field.is_repeated()) {
      positions_[path] = key_at;
      if (value.IsNull()) return true;  // "cards:" with nothing under it is an empty list
      if (!value.IsSequence())
        return Fail(PositionOf(value.Mark()), path, "expected a sequence, got " + Describe(value));
      size_t i = 0;
      for (auto it = value.begin(); it != value.end(); ++it, ++i) {
        const YAML::Node element = *it;
        const std::string element_path = fmt::format("{}[{}]", path, i);
        // yaml-cpp marks an empty element at the next token, so it is reported at the key.
        const Position element_at = element.IsNull() ? key_at : PositionOf(element.Mark());
        if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          positions_[element_path] = element_at;
          Message& child = *reflection.AddMessage(&message, &field);
          if (!WalkMessage(element, child, element_path, element_at, /*null_is_empty=*/false)) return false;
        } else if (!StoreScalar(element, message, field, element_path, element_at)) {
          return false;
        }
      }
      return true;
    }
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      positions_[path] = key_at;
      return WalkMessage(value, *reflection.MutableMessage(&message, &field), path, key_at,
                         /*null_is_empty=*/true);
    }
    return StoreScalar(value, message, field, path, key_at);
  }

  bool StoreScalar(const YAML::Node& value, Message& message, const FieldDescriptor& field,
                   const std::string& path, Position fallback) {
    // yaml-cpp marks an empty value at the next token, so it is reported where the key is.
    const Position at = value.IsNull() ? fallback : PositionOf(value.Mark());
    if (!value.IsScalar()) {
      return Fail(at, path, fmt::format("expected {}, got {}", schema::Expected(field), Describe(value)));
    }
    positions_[path] = at;
    Status stored = schema::StoreText(value.Scalar(), field, message);
    if (!stored.ok()) return Fail(at, path, stored.error());
    return true;
  }

  std::string file_name_;
  std::map<std::string, Position, std::less<>> positions_;
  std::string error_;
};

// Gives every field the operator did not write its (rules).default_value, through the
// whole tree: absent sections are created so that their fields get defaults too.
bool ApplyDefaults(Message& message, const std::string& path, Walker& walker) {
  const Descriptor& type = *message.GetDescriptor();
  const Reflection& reflection = *message.GetReflection();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const std::string field_path = Join(path, field.name());
    // A default for one member of a oneof would choose the member; only the operator does.
    if (field.containing_oneof() != nullptr && !reflection.HasField(message, &field)) continue;
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!field.is_repeated()) {
        if (!ApplyDefaults(*reflection.MutableMessage(&message, &field), field_path, walker)) return false;
        continue;
      }
      for (int j = 0; j < reflection.FieldSize(message, &field); ++j) {
        Message& element = *reflection.MutableRepeatedMessage(&message, &field, j);
        if (!ApplyDefaults(element, fmt::format("{}[{}]", field_path, j), walker)) return false;
      }
      continue;
    }
    const std::string& text = schema::RulesOf(field).default_value();
    if (text.empty() || walker.Written(field_path)) continue;
    Status stored = Status::Ok();
    if (field.is_repeated()) {
      // A list default is written "a,b" in the schema.
      size_t start = 0;
      while (stored.ok() && start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        stored = schema::StoreText(std::string_view(text).substr(start, comma - start), field, message);
        start = comma + 1;
      }
    } else {
      stored = schema::StoreText(text, field, message);
    }
    if (!stored.ok()) {
      // Only a broken schema gets here; the schema unit test keeps every default valid.
      return walker.Fail(
          {}, field_path,
          fmt::format("invalid default {} in the schema: {}", schema::Quote(text), stored.error()));
    }
  }
  return true;
}

// Notes where each document of a stream starts, and nothing else.
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
  }
  void OnMapEnd() override {}

  std::vector<YAML::Mark> marks;
};

// A configuration is one document. The documents are counted with the event parser,
// two at most, rather than with YAML::LoadAll: on a stray "," at the top of a document
// yaml-cpp 0.7 returns an empty document without consuming the token, so LoadAll never
// ends and allocates until the process dies (found by config_loader_fuzz). A second
// document that starts where the first did is that case.
Status CheckOneDocument(std::string_view yaml_text, std::string_view file_name) {
  std::istringstream stream{std::string(yaml_text)};
  YAML::Parser parser(stream);
  DocumentStarts starts;
  while (starts.marks.size() < 2 && parser.HandleNextDocument(starts)) {
  }
  if (starts.marks.size() < 2) return Status::Ok();
  const YAML::Mark& second = starts.marks[1];
  if (second.pos == starts.marks[0].pos) {
    const std::string_view token = second.pos >= 0 && static_cast<size_t>(second.pos) < yaml_text.size()
                                       ? yaml_text.substr(second.pos, 1)
                                       : "";
    return Error{Walker::FormatError(
        file_name, PositionOf(second), "",
        fmt::format("unexpected {} where a YAML value should start", schema::Quote(token)))};
  }
  return Error{Walker::FormatError(file_name, PositionOf(second), "",
                                   "more than one YAML document; a configuration is one document")};
}

Result<v1::Config> Load(std::string_view yaml_text, std::string_view file_name) {
  if (yaml_text.size() > kMaxConfigBytes) {
    return Error{fmt::format("{}: file is larger than {} bytes", file_name, kMaxConfigBytes)};
  }
  YAML::Node root;
  try {
    Status one_document = CheckOneDocument(yaml_text, file_name);
    if (!one_document.ok()) return Error{one_document.error()};
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    // Covers syntax errors and yaml-cpp's own nesting limit (YAML::DeepRecursion).
    std::string what = e.msg;
    for (char& c : what) {
      if (c == '\n' || c == '\r') c = ' ';  // keep the one-line promise whatever yaml-cpp says
    }
    return Error{Walker::FormatError(file_name, PositionOf(e.mark), "", what)};
  }

  v1::Config config;
  Walker walker(file_name);
  if (!root.IsNull() && !root.IsMap()) {
    return Error{Walker::FormatError(file_name, PositionOf(root.Mark()), "",
                                     "expected a mapping of configuration sections, got " + Describe(root))};
  }
  if (!walker.WalkMessage(root, config, "", {1, 1}, /*null_is_empty=*/true)) return Error{walker.error()};
  if (!ApplyDefaults(config, "", walker)) return Error{walker.error()};

  const auto written = [&walker](const std::string& path) { return walker.Written(path); };
  if (auto finding = validation::DeriveAndValidate(config, written)) {
    return Error{Walker::FormatError(file_name, walker.Locate(finding->path), finding->path, finding->what)};
  }
  return config;
}

}  // namespace

Result<v1::Config> LoadString(std::string_view yaml_text, std::string_view file_name) {
  try {
    return Load(yaml_text, file_name);
  } catch (const std::exception& e) {
    // yaml-cpp documents YAML::Exception only, but an allocation failure or a surprise
    // from a dependency must not take a process down while it reads its configuration.
    return Error{fmt::format("{}: cannot load configuration: {}", file_name, e.what())};
  } catch (...) {
    return Error{fmt::format("{}: cannot load configuration: unknown error", file_name)};
  }
}

Result<v1::Config> LoadFile(const std::string& path) {
  const auto fail = [&path](int error_number) {
    return Error{fmt::format("{}: cannot read file: {}", path, std::strerror(error_number))};
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error_number = errno;
    ::close(fd);
    return fail(error_number);
  }
  if (S_ISDIR(info.st_mode)) {
    ::close(fd);
    return fail(EISDIR);
  }
  // Read at most one byte past the cap: enough to know the file is too large without
  // reading all of it (the size from stat is not trusted: /dev/stdin, FIFOs, procfs).
  std::string text;
  char buffer[16384];
  while (text.size() <= kMaxConfigBytes) {
    const ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error_number = errno;
      ::close(fd);
      return fail(error_number);
    }
    if (got == 0) break;
    text.append(buffer, static_cast<size_t>(got));
  }
  ::close(fd);
  if (text.size() > kMaxConfigBytes) {
    return Error{fmt::format("{}: file is larger than {} bytes", path, kMaxConfigBytes)};
  }
  return LoadString(text, path);
}

}  // namespace linegate::config
