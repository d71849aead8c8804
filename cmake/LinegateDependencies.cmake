# Every dependency comes from a Debian package; the messages say which one is missing.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

find_package(Protobuf REQUIRED)
if(NOT Protobuf_PROTOC_EXECUTABLE)
  message(FATAL_ERROR "protoc not found: apt-get install protobuf-compiler libprotobuf-dev")
endif()

pkg_check_modules(ZMQ REQUIRED IMPORTED_TARGET libzmq)
find_path(CPPZMQ_INCLUDE_DIR zmq.hpp)
if(NOT CPPZMQ_INCLUDE_DIR)
  message(FATAL_ERROR "cppzmq header zmq.hpp not found: apt-get install cppzmq-dev")
endif()

find_package(OpenSSL REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(GTest REQUIRED)
if(LINEGATE_BENCH)
  find_package(benchmark REQUIRED)
endif()

# DPDK is optional until the fast-path backend lands: found when present, skipped
# with a clear message when not.
pkg_check_modules(DPDK IMPORTED_TARGET libdpdk)
if(DPDK_FOUND)
  message(STATUS "linegate: DPDK ${DPDK_VERSION} found; the DPDK packet I/O backend can be built")
  set(LINEGATE_HAVE_DPDK ON)
else()
  message(STATUS "linegate: DPDK not found (apt-get install libdpdk-dev); building with kernel sockets only")
  set(LINEGATE_HAVE_DPDK OFF)
endif()

# Media codecs and the line echo canceller (media/codec). Required: scripts/deps.sh
# installs them. Checked one by one so that the message names the missing package.
foreach(codec_dep
    "SPANDSP;spandsp;libspandsp-dev (G.722)"
    "BCG729;libbcg729;libbcg729-dev (G.729)"
    "OPUS;opus;libopus-dev (Opus)"
    "SPEEXDSP;speexdsp;libspeexdsp-dev (echo canceller)")
  list(GET codec_dep 0 prefix)
  list(GET codec_dep 1 module)
  list(GET codec_dep 2 package)
  pkg_check_modules(${prefix} IMPORTED_TARGET ${module})
  if(NOT ${prefix}_FOUND)
    message(FATAL_ERROR "linegate: pkg-config module ${module} not found: apt-get install ${package}, "
                        "or run scripts/deps.sh")
  endif()
endforeach()
