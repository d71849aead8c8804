#pragma once
// The configuration loader: maps an operator's YAML file onto linegate.config.v1.Config by
// walking the proto descriptor, so that config.proto is the one place where a setting, its
// type, its default and its limits are declared. See README.md in this folder.

#include <string>
#include <string_view>

#include "common/result.h"
#include "linegate/config/v1/config.pb.h"

namespace linegate::config {

// Files larger than this are rejected before parsing: a real configuration is a few KiB,
// and the cap bounds the work an accidental or hostile input can cause.
inline constexpr size_t kMaxConfigBytes = 16 * 1024 * 1024;  // 10,000 accounts take ~1.5 MiB

// Reads and loads a configuration file. On success the config is complete: every
// default applied, derived values filled, cross-field rules checked. On failure the
// message is one line, "<file>:<line>:<column>: <field.path>: <what is wrong>".
// Never throws.
Result<v1::Config> LoadFile(const std::string& path);

// Same as LoadFile for text already in memory; file_name only labels the messages.
Result<v1::Config> LoadString(std::string_view yaml_text, std::string_view file_name);

// The configuration reference in Markdown (docs/configuration.md is this text; a unit
// test keeps the two equal). Generated from the descriptor, so it cannot drift.
std::string DescribeSchema();

// A small file that loads with defaults everywhere else; shown in the reference and
// loaded by the tests, so the documented minimum is known to work.
extern const std::string_view kMinimalExample;

}  // namespace linegate::config
