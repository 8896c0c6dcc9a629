#include "tests/support/nginx_server.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include "tests/support/sonde_process.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde::test {
namespace {

// The locations both servers share; see the header.
constexpr const char* kLocations = R"conf(
    location = /ok { default_type text/plain; return 200 "healthy\n"; }
    location = /status/404 { return 404; }
    location = /status/503 { return 503; }
    location = /redirect { return 301 /ok; }
    location = /chain/1 { return 302 /chain/2; }
    location = /chain/2 { return 302 /chain/3; }
    location = /chain/3 { return 302 /ok; }
    location = /headers { add_header X-Sonde nginx-peer always; default_type text/plain;
                          return 200 "ok\n"; }
    location /private/ { auth_basic "sonde"; auth_basic_user_file @DIR@/htpasswd; }
)conf";

// `openssl passwd -apr1 -salt s0ndesal s3cret`: prober:s3cret.
constexpr const char* kHtpasswd = "prober:$apr1$s0ndesal$uFm1RysBzoJ4VDfjj.ISp0\n";

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

bool accepts(std::uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace

bool NginxServer::available() {
    return access(kBinary, X_OK) == 0;
}

NginxServer::NginxServer() : NginxServer(0, 0) {
}

NginxServer::NginxServer(std::uint16_t http_port, std::uint16_t https_port) {
    REQUIRE(available());
    const std::string d = dir_.path();
    http_port_ = http_port != 0 ? http_port : free_port();
    https_port_ = https_port != 0 ? https_port : free_port();
    h2_port_ = free_port();
    while (h2_port_ == http_port_ || h2_port_ == https_port_) {
        h2_port_ = free_port();
    }
    while (https_port_ == http_port_) {
        https_port_ = free_port();
    }

    const TestCert ca = make_ca("sonde nginx test CA");
    const TestCert leaf = make_signed(localhost_spec(), ca);
    ca_file_ = dir_.write("ca.pem", ca.cert_pem);
    cert_not_after_ = leaf.not_after;
    (void)dir_.write("cert.pem", leaf.cert_pem);
    (void)dir_.write("key.pem", leaf.key_pem);
    (void)dir_.write("htpasswd", kHtpasswd);

    std::filesystem::create_directories(d + "/www/private");
    std::filesystem::create_directories(d + "/tmp");
    std::filesystem::create_directories(d + "/logs");
    (void)dir_.write("www/private/index.html", "secret\n");
    const std::string static_file = dir_.write("www/static.html", "<p>static</p>\n");
    utimbuf times{kStaticMtime, kStaticMtime};
    REQUIRE(utime(static_file.c_str(), &times) == 0);
    std::string big;
    for (int i = 0; big.size() < 256 * 1024; ++i) {
        big += "line " + std::to_string(i) + " of a large text file that compresses well\n";
    }
    (void)dir_.write("www/big.txt", big);

    const std::string locations = replace_all(kLocations, "@DIR@", d);
    std::string conf;
    if (geteuid() == 0) {
        // The temporary directory is private to us; workers as nobody could not read it.
        conf += "user root;\n";
    }
    conf += "worker_processes 1;\n";
    conf += "pid " + d + "/nginx.pid;\n";
    conf += "error_log " + d + "/logs/error.log info;\n";
    conf += "events { worker_connections 256; }\n";
    conf += "http {\n";
    conf += "  access_log " + d + "/logs/access.log;\n";
    for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
        conf += "  " + std::string(temp) + "_temp_path " + d + "/tmp/" + temp + ";\n";
    }
    conf += "  types { text/plain txt; text/html html; }\n";
    conf += "  default_type application/octet-stream;\n";
    conf += "  gzip on;\n  gzip_types text/plain;\n  gzip_min_length 256;\n";
    conf += "  server {\n";
    conf += "    listen 127.0.0.1:" + std::to_string(http_port_) + ";\n";
    conf += "    server_name localhost;\n    root " + d + "/www;\n";
    conf +=
        "    location = /to-https { return 302 https://localhost:" + std::to_string(https_port_) +
        "/ok; }\n";
    conf += locations;
    conf += "  }\n";
    conf += "  server {\n";
    conf += "    listen 127.0.0.1:" + std::to_string(https_port_) + " ssl;\n";
    conf += "    server_name localhost;\n    root " + d + "/www;\n";
    conf += "    ssl_certificate " + d + "/cert.pem;\n";
    conf += "    ssl_certificate_key " + d + "/key.pem;\n";
    conf += "    ssl_protocols TLSv1.2 TLSv1.3;\n";
    conf += locations;
    conf += "  }\n";
    conf += "  server {\n";
    conf += "    listen 127.0.0.1:" + std::to_string(h2_port_) + " ssl http2;\n";
    conf += "    server_name localhost;\n    root " + d + "/www;\n";
    conf += "    ssl_certificate " + d + "/cert.pem;\n";
    conf += "    ssl_certificate_key " + d + "/key.pem;\n";
    conf += locations;
    conf += "  }\n";
    conf += "}\n";
    const std::string conf_file = dir_.write("nginx.conf", conf);

    // Everything the child needs is built before fork(): the test process has threads.
    std::vector<std::string> args = {
        kBinary, "-p", d + "/", "-c", conf_file, "-e", d + "/logs/error.log", "-g", "daemon off;"};
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const std::string out_path = d + "/logs/stdout.log";
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
        const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out >= 0) {
            dup2(out, STDOUT_FILENO);
            dup2(out, STDERR_FILENO);
        }
        execv(argv[0], argv.data());
        _exit(127);
    }

    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            FAIL("nginx exited at start:\n" << read_file(out_path) << error_log());
        }
        if (accepts(http_port_) && accepts(https_port_) && accepts(h2_port_)) {
            return;
        }
        if (std::chrono::steady_clock::now() > give_up) {
            FAIL("nginx did not accept within 10 s:\n" << error_log());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

NginxServer::~NginxServer() {
    if (pid_ <= 0) {
        return;
    }
    (void)kill(pid_, SIGTERM);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
        int status = 0;
        const pid_t done = waitpid(pid_, &status, WNOHANG);
        if (done == pid_ || (done < 0 && errno != EINTR)) {
            return;
        }
        if (std::chrono::steady_clock::now() > give_up) {
            (void)kill(pid_, SIGKILL);
            (void)waitpid(pid_, &status, 0);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

std::string NginxServer::http_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(http_port_) + path;
}

std::string NginxServer::https_url(const std::string& path) const {
    return "https://localhost:" + std::to_string(https_port_) + path;
}

std::string NginxServer::h2_url(const std::string& path) const {
    return "https://localhost:" + std::to_string(h2_port_) + path;
}

std::string NginxServer::error_log() const {
    return read_file(dir_.path() + "/logs/error.log");
}

}  // namespace sonde::test
