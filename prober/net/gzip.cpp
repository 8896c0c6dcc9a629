#include "prober/net/gzip.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include <zlib.h>

namespace sonde::net {
namespace {

constexpr std::size_t kDeflateChunk = 16 * 1024;

std::string zlib_error(const char* step, int rc, const z_stream& z) {
    return std::string(step) + ": " + (z.msg != nullptr ? z.msg : zError(rc));
}

}  // namespace

Result<std::string> gzip_compress(std::string_view data) {
    if (data.size() > std::numeric_limits<uInt>::max()) {
        return unexpected("gzip: input too large");
    }
    z_stream z{};
    int rc =
        deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        return unexpected(zlib_error("deflateInit2", rc, z));
    }
    std::string out;
    out.resize(deflateBound(&z, static_cast<uLong>(data.size())));
    // zlib's API is not const-correct; deflate never writes through next_in.
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    // deflateBound guarantees one Z_FINISH call completes.
    rc = deflate(&z, Z_FINISH);
    const std::size_t produced = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        return unexpected(zlib_error("deflate", rc, z));
    }
    out.resize(produced);
    return out;
}

struct GzipStream::State {
    z_stream z{};
    int init_rc = Z_OK;
    bool finished = false;
};

GzipStream::GzipStream(int level) : state_(std::make_unique<State>()) {
    state_->init_rc =
        deflateInit2(&state_->z, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY);
}

GzipStream::~GzipStream() {
    if (state_->init_rc == Z_OK) {
        deflateEnd(&state_->z);
    }
}

Result<void> GzipStream::write(std::string_view data, bool finish, std::string& out) {
    z_stream& z = state_->z;
    if (state_->init_rc != Z_OK) {
        return unexpected(zlib_error("deflateInit2", state_->init_rc, z));
    }
    if (state_->finished) {
        return unexpected("gzip: write after finish");
    }
    if (data.size() > std::numeric_limits<uInt>::max()) {
        return unexpected("gzip: input too large");
    }
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    const int flush = finish ? Z_FINISH : Z_NO_FLUSH;
    for (;;) {
        const std::size_t before = out.size();
        const std::size_t room = std::max<std::size_t>(kDeflateChunk, data.size() / 4);
        out.resize(before + room);
        z.next_out = reinterpret_cast<Bytef*>(out.data() + before);
        z.avail_out = static_cast<uInt>(room);
        const int rc = deflate(&z, flush);
        out.resize(before + room - z.avail_out);
        if (rc == Z_STREAM_END) {
            state_->finished = true;
            return {};
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return unexpected(zlib_error("deflate", rc, z));
        }
        // Without finish, zlib is done with this input once it has taken it all and left room.
        if (!finish && z.avail_in == 0 && z.avail_out != 0) {
            return {};
        }
    }
}

}  // namespace sonde::net
