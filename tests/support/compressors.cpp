#include "tests/support/compressors.hpp"

#include <cstdint>

#include <brotli/encode.h>
#include <catch2/catch.hpp>
#include <zlib.h>

#include "prober/net/gzip.hpp"

namespace sonde::test {

std::string deflate_raw(const std::string& data) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) ==
            Z_OK);
    std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
    // zlib's API is not const-correct; deflate never writes through next_in.
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string brotli_compress(const std::string& data) {
    std::size_t size = BrotliEncoderMaxCompressedSize(data.size()) + 16;
    std::string out(size, '\0');
    REQUIRE(BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW,
                                  BROTLI_DEFAULT_MODE, data.size(),
                                  reinterpret_cast<const std::uint8_t*>(data.data()), &size,
                                  reinterpret_cast<std::uint8_t*>(out.data())) == BROTLI_TRUE);
    out.resize(size);
    return out;
}

std::string gzip_compress(const std::string& data) {
    auto compressed = net::gzip_compress(data);
    REQUIRE(compressed.has_value());
    return *compressed;
}

}  // namespace sonde::test
