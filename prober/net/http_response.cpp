#include "prober/net/http_response.hpp"

#include <ctime>

#include "prober/net/gzip.hpp"

namespace sonde::net {
namespace {

// An IMF-fixdate (RFC 9110 §5.6.7), as Go's server sends in Date.
std::string http_date() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buffer[64] = {};
    const std::size_t n = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(buffer, n);
}

void append_status_and_headers(std::string& out, const HttpResponse& response) {
    out += "HTTP/1.1 ";
    out += std::to_string(response.status);
    out += ' ';
    out += http_reason_phrase(response.status);
    out += "\r\n";
    for (const auto& field : response.headers.fields()) {
        out += field.name;
        out += ": ";
        out += field.value;
        out += "\r\n";
    }
    out += "Date: " + http_date() + "\r\n";
}

void append_connection(std::string& out, const ResponseFraming& framing) {
    if (framing.close) {
        out += "Connection: close\r\n";
    } else if (framing.keep_alive_10) {
        out += "Connection: keep-alive\r\n";
    }
}

bool status_has_body(int status) {
    return status >= 200 && status != 204 && status != 304;
}

}  // namespace

HttpResponse HttpResponse::text(int status, std::string body) {
    HttpResponse response;
    response.status = status;
    response.headers.add("Content-Type", "text/plain; charset=utf-8");
    response.body = std::move(body);
    return response;
}

std::string_view http_reason_phrase(int status) {
    switch (status) {
        case 100:
            return "Continue";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 204:
            return "No Content";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 406:
            return "Not Acceptable";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 411:
            return "Length Required";
        case 413:
            return "Request Entity Too Large";
        case 414:
            return "Request URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 417:
            return "Expectation Failed";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

std::string encode_response(HttpResponse response, const ResponseFraming& framing) {
    auto& headers = response.headers;
    for (std::string_view owned : {"Content-Length", "Connection", "Transfer-Encoding", "Date"}) {
        headers.remove(owned);
    }
    if (!status_has_body(response.status)) {
        response.body.clear();
    } else {
        if (!response.body.empty() && !headers.contains("Content-Type")) {
            headers.add("Content-Type", "text/plain; charset=utf-8");
        }
        if (response.body.size() >= framing.gzip_min_bytes &&
            !headers.contains("Content-Encoding")) {
            headers.add("Vary", "Accept-Encoding");
            if (framing.allow_gzip) {
                // A zlib failure (only on OOM) leaves the body as it was: still a valid reply.
                if (auto compressed = gzip_compress(response.body)) {
                    response.body = std::move(*compressed);
                    headers.add("Content-Encoding", "gzip");
                }
            }
        }
    }

    std::string out;
    out.reserve(256 + response.body.size());
    append_status_and_headers(out, response);
    if (response.status != 204 && response.status >= 200) {
        out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    }
    append_connection(out, framing);
    out += "\r\n";
    if (!framing.head_request) {
        out += response.body;
    }
    return out;
}

std::string encode_stream_head(HttpResponse response, const ResponseFraming& framing, bool chunked,
                               bool gzip) {
    auto& headers = response.headers;
    for (std::string_view owned : {"Content-Length", "Connection", "Transfer-Encoding", "Date",
                                   "Content-Encoding", "Vary"}) {
        headers.remove(owned);
    }
    if (!headers.contains("Content-Type")) {
        headers.add("Content-Type", "text/plain; charset=utf-8");
    }
    headers.add("Vary", "Accept-Encoding");
    if (gzip) {
        headers.add("Content-Encoding", "gzip");
    }
    std::string out;
    append_status_and_headers(out, response);
    if (chunked) {
        out += "Transfer-Encoding: chunked\r\n";
    }
    append_connection(out, framing);
    out += "\r\n";
    return out;
}

}  // namespace sonde::net
