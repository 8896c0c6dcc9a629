#include "tests/support/raw_http_client.hpp"

#include <charconv>

namespace sonde::test {

void RawHttpClient::connect(std::uint16_t port, std::string first_bytes) {
    connect(*net::IpAddress::parse("127.0.0.1"), port, std::move(first_bytes));
}

void RawHttpClient::connect(const net::IpAddress& address, std::uint16_t port,
                            std::string first_bytes) {
    queued_ += first_bytes;
    stream_ = std::make_unique<net::TcpStream>(loop_);
    auto started = stream_->connect(address, port, nullptr, [this](int status, std::uint64_t) {
        connect_status_ = status;
        if (status != 0) {
            ended_ = true;
            end_status_ = status;
            return;
        }
        connected_ = true;
        stream_->start_reading([this](std::string_view data) { received_.append(data); },
                               [this](int end) {
                                   ended_ = true;
                                   end_status_ = end;
                               });
        if (!queued_.empty()) {
            stream_->write(std::exchange(queued_, {}));
        }
    });
    if (!started) {
        ended_ = true;
        end_status_ = -1;
    }
}

void RawHttpClient::send(std::string bytes) {
    if (connected_ && stream_) {
        stream_->write(std::move(bytes));
    } else {
        queued_ += bytes;
    }
}

void RawHttpClient::close() {
    if (stream_) {
        stream_->close();
    }
}

std::vector<RawResponse> RawHttpClient::responses() const {
    std::vector<RawResponse> out;
    std::string_view rest = received_;
    for (;;) {
        const auto head_end = rest.find("\r\n\r\n");
        if (head_end == std::string_view::npos) {
            break;
        }
        std::string_view head = rest.substr(0, head_end);
        RawResponse response;
        const auto line_end = head.find("\r\n");
        const std::string_view status_line = head.substr(0, line_end);
        if (status_line.size() < 12) {
            break;
        }
        (void)std::from_chars(status_line.data() + 9, status_line.data() + 12, response.status);
        head = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
        while (!head.empty()) {
            const auto eol = head.find("\r\n");
            const std::string_view line = head.substr(0, eol);
            head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
            const auto colon = line.find(':');
            if (colon == std::string_view::npos) {
                continue;
            }
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') {
                value.remove_prefix(1);
            }
            response.headers.add(std::string(line.substr(0, colon)), std::string(value));
        }
        std::size_t length = 0;
        if (const auto* cl = response.headers.find("content-length")) {
            (void)std::from_chars(cl->data(), cl->data() + cl->size(), length);
        }
        const std::size_t total = head_end + 4 + length;
        if (rest.size() < total) {
            break;
        }
        response.body = std::string(rest.substr(head_end + 4, length));
        rest.remove_prefix(total);
        if (response.status >= 200) {
            out.push_back(std::move(response));
        }
    }
    return out;
}

std::string get_request(const std::string& target, const std::string& extra_headers) {
    return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n";
}

}  // namespace sonde::test
