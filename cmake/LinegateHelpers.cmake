# One set of helpers for every target in the tree, so that warnings, sanitizers and
# test registration are decided in one place.

set(LINEGATE_WARNINGS -Wall -Wextra -Wnon-virtual-dtor)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND LINEGATE_WARNINGS -Wshadow=local)
  # GCC 12 at -O3 reports impossible overlaps inside std::string's operator+
  # (GCC bug 105329): keep the warning visible, but not fatal.
  list(APPEND LINEGATE_WARNINGS -Wno-error=restrict)
endif()
if(LINEGATE_WERROR)
  list(APPEND LINEGATE_WARNINGS -Werror)
endif()

if(LINEGATE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(LINEGATE_FUZZ)
  # Coverage instrumentation everywhere, so that libFuzzer sees inside the libraries a
  # fuzz target drives, not only the target's own file.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

function(_linegate_common target)
  target_compile_options(${target} PRIVATE ${LINEGATE_WARNINGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

# linegate_library(NAME SOURCES ... DEPS ...)
function(linegate_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  _linegate_common(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# linegate_executable(NAME SOURCES ... DEPS ...): installed binaries land in bin/.
function(linegate_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  _linegate_common(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
  install(TARGETS ${name} RUNTIME DESTINATION bin)
endfunction()

# linegate_test(NAME SOURCES ... DEPS ... [LABELS ...]): a GoogleTest binary whose
# tests are registered with ctest one by one.
function(linegate_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  _linegate_common(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  include(GoogleTest)
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 30)
endfunction()

# linegate_fuzzer(NAME SOURCES ... DEPS ... CORPUS dir...): a libFuzzer target when
# LINEGATE_FUZZ is on (clang); always a corpus-replay test otherwise, so that CI
# replays the seed corpus with any compiler.
function(linegate_fuzzer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;CORPUS" ${ARGN})
  if(LINEGATE_FUZZ)
    add_executable(${name} ${ARG_SOURCES})
    _linegate_common(${name})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${name} PRIVATE ${ARG_DEPS})
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/fuzz)
  endif()
  add_executable(${name}_replay ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz_replay_main.cc)
  _linegate_common(${name}_replay)
  target_link_libraries(${name}_replay PRIVATE ${ARG_DEPS})
  set_target_properties(${name}_replay PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/fuzz)
  add_test(NAME ${name}.corpus_replay COMMAND ${name}_replay ${ARG_CORPUS})
  set_tests_properties(${name}.corpus_replay PROPERTIES LABELS "unit;fuzz")
endfunction()

# linegate_benchmark(NAME SOURCES ... DEPS ...): a Google Benchmark binary in bench/.
function(linegate_benchmark name)
  if(NOT LINEGATE_BENCH)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  _linegate_common(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark benchmark::benchmark_main)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
endfunction()
