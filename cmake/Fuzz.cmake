# The libFuzzer targets (tests/fuzz), in a tree of their own: configure with clang and
# -DSONDE_FUZZ=ON (scripts/fuzz.sh does it in build-fuzz/). Only the sources the fuzzers reach
# are compiled, instrumented for libFuzzer's coverage and with ASan+UBSan, so this tree costs a
# fraction of a full clang build of sonde: the parsers have no libuv, no sockets and no loop.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SONDE_FUZZ needs clang (libFuzzer): "
        "cmake -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DSONDE_FUZZ=ON")
endif()

set(sonde_fuzz_flags -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer -O1 -g1)
# llhttp is third-party C, but its callbacks are what the HTTP fuzzer drives: its branches are
# worth libFuzzer's coverage feedback too.
target_compile_options(llhttp PRIVATE ${sonde_fuzz_flags})

# One library of every source a fuzzer reaches; each fuzzer links only the objects it uses.
# Adding a fuzzer for other code means naming its sources here (the linker says which).
# The whole config folder (every decoder the loader dispatches to), the rest by name.
file(GLOB sonde_fuzz_config_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/config/*.cpp)
add_library(sonde_fuzz_code STATIC ${sonde_fuzz_config_sources}
    prober/net/http_response_parser.cpp prober/net/http_request.cpp prober/net/decompress.cpp
    prober/net/http2_response_reader.cpp
    prober/net/url.cpp
    modules/http/http_url.cpp modules/http/redirect_policy.cpp modules/http/body_decoder.cpp
    modules/dns/dns_message.cpp modules/grpc/grpc_health.cpp
    modules/websocket/websocket_frame.cpp modules/websocket/websocket_handshake.cpp
    modules/common/base64.cpp modules/common/credentials.cpp modules/common/file_source.cpp
    modules/common/header_names.cpp
    discovery/target.cpp discovery/kubernetes/watch_events.cpp
    discovery/kubernetes/derive_targets.cpp)
target_include_directories(sonde_fuzz_code PUBLIC ${PROJECT_SOURCE_DIR})
# One object per source, so that a fuzzer links only what it reaches (a unity batch would pull
# its neighbours and their libraries in).
set_target_properties(sonde_fuzz_code PROPERTIES UNITY_BUILD OFF)
target_compile_options(sonde_fuzz_code PUBLIC ${sonde_fuzz_flags})
# The usual warnings, but not as errors: clang and GCC disagree on some, and a fuzz build
# exists to run the fuzzers, not to hold the code to a second compiler's opinions.
target_compile_options(sonde_fuzz_code PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion)
target_link_libraries(sonde_fuzz_code PUBLIC llhttp yaml-cpp PkgConfig::RE2 OpenSSL::Crypto
    ZLIB::ZLIB PkgConfig::BROTLI PkgConfig::NGHTTP2 nlohmann_json::nlohmann_json)

file(GLOB sonde_fuzzers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/fuzz/*_fuzzer.cpp)
foreach(source IN LISTS sonde_fuzzers)
    get_filename_component(name ${source} NAME_WE)
    add_executable(${name} ${source})
    target_link_libraries(${name} PRIVATE sonde_fuzz_code)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
endforeach()
