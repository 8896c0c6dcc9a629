# Every dependency comes from a Debian 12 package (scripts/install-deps.sh); nothing is fetched.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv>=1.44)
pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares>=1.18)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
find_package(OpenSSL 3 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED COMPONENTS core)
find_package(nlohmann_json 3 REQUIRED)
find_package(ZLIB REQUIRED)
pkg_check_modules(BROTLI REQUIRED IMPORTED_TARGET libbrotlidec libbrotlienc)
# HTTP/2 framing, HPACK and flow control for the http and grpc probers (Debian libnghttp2-dev).
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2>=1.43)
find_package(Threads REQUIRED)

# llhttp: Debian's node-llhttp ships the generated C sources, not a library. Build them as a
# static library of our own, with its header as a SYSTEM include so its code is not held to our
# warning flags.
set(SONDE_LLHTTP_DIR /usr/share/llhttp CACHE PATH "Directory holding llhttp's C sources")
set(SONDE_LLHTTP_INCLUDE /usr/share/include/llhttp CACHE PATH "Directory holding llhttp.h")
if(NOT EXISTS ${SONDE_LLHTTP_DIR}/llhttp.c OR NOT EXISTS ${SONDE_LLHTTP_INCLUDE}/llhttp.h)
    message(FATAL_ERROR "llhttp sources not found; install the Debian package node-llhttp")
endif()
add_library(llhttp STATIC
    ${SONDE_LLHTTP_DIR}/api.c ${SONDE_LLHTTP_DIR}/http.c ${SONDE_LLHTTP_DIR}/llhttp.c)
target_include_directories(llhttp SYSTEM PUBLIC ${SONDE_LLHTTP_INCLUDE})
# Its three files declare the same callbacks with different types: never one unity source.
set_target_properties(llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 11
    UNITY_BUILD OFF)
target_compile_options(llhttp PRIVATE -w)

# yaml-cpp's Debian CMake config names its target "yaml-cpp" without a namespace.
if(NOT TARGET yaml-cpp AND TARGET yaml-cpp::yaml-cpp)
    add_library(yaml-cpp ALIAS yaml-cpp::yaml-cpp)
endif()
