#pragma once

// NginxServer: a real nginx (Debian's /usr/sbin/nginx) as a test peer, started in the
// foreground (`daemon off`) with its own configuration, logs, pid file and document root in a
// fresh temporary directory, listening on two free 127.0.0.1 ports: plain HTTP and HTTPS with
// a certificate for localhost/127.0.0.1 signed by a CA made for this server (HTTP/1.1 only: no
// http2, so that the reference exporter, which negotiates h2, speaks HTTP/1.1 to it too).
//
// Both servers have these locations:
//   /ok              200 "healthy\n" (text/plain)
//   /status/404      404
//   /status/503      503
//   /redirect        301 to /ok
//   /chain/1         302 /chain/2, 302 /chain/3, 302 /ok (three redirects)
//   /to-https        302 to https://localhost:<https port>/ok (plain server only)
//   /big.txt         about 256 KiB of text, gzip-compressed when the request accepts gzip
//   /static.html     a file whose mtime is kStaticMtime (Last-Modified)
//   /private/        basic auth (user "prober", password "s3cret"), then 200 "secret\n"
//   /headers         200 with X-Sonde: nginx-peer
//
// Started in the constructor (REQUIREs that both ports accept within 10 s); the destructor
// stops nginx (SIGTERM, then SIGKILL if it lingers) and reaps it. Blocking; no loop. As root
// the workers run as root (`user root`), because the temporary directory is private.

#include <cstdint>
#include <ctime>
#include <string>

#include <sys/types.h>

#include "tests/support/temp_dir.hpp"

namespace sonde::test {

class NginxServer {
public:
    static constexpr std::time_t kStaticMtime = 1700000000;  // 2023-11-14T22:13:20Z
    static constexpr const char* kBinary = "/usr/sbin/nginx";

    NginxServer();
    // On the given ports (0: a free one), e.g. 80 and 443 for URLs without a port (as root).
    NginxServer(std::uint16_t http_port, std::uint16_t https_port);
    ~NginxServer();
    NginxServer(const NginxServer&) = delete;
    NginxServer& operator=(const NginxServer&) = delete;

    // Whether nginx is installed here (tests skip with a message when it is not).
    static bool available();

    std::uint16_t http_port() const { return http_port_; }
    std::uint16_t https_port() const { return https_port_; }
    // The same site over TLS with `http2` on the listener: ALPN selects h2.
    std::uint16_t h2_port() const { return h2_port_; }
    // "http://127.0.0.1:<port><path>" and "https://localhost:<port><path>".
    std::string http_url(const std::string& path) const;
    std::string https_url(const std::string& path) const;
    // "https://localhost:<h2 port><path>".
    std::string h2_url(const std::string& path) const;
    // The CA that signed the HTTPS certificate, as a PEM file (for tls_config.ca_file).
    const std::string& ca_file() const { return ca_file_; }
    // The certificate's notAfter, Unix seconds (probe_ssl_earliest_cert_expiry).
    std::time_t cert_not_after() const { return cert_not_after_; }
    const std::string& dir() const { return dir_.path(); }
    // nginx's error log so far (for INFO when something fails).
    std::string error_log() const;

private:
    TempDir dir_;
    std::uint16_t http_port_ = 0;
    std::uint16_t https_port_ = 0;
    std::uint16_t h2_port_ = 0;
    std::string ca_file_;
    std::time_t cert_not_after_ = 0;
    pid_t pid_ = -1;
};

}  // namespace sonde::test
