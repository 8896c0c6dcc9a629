#include "modules/tls/starttls_dialog.hpp"

#include <utility>

namespace sonde::modules::tls {
namespace {

// The PostgreSQL SSLRequest: Int32 length 8, Int32 code 80877103 (0x04D2162F), big-endian.
constexpr char kPostgresSslRequest[] = {0, 0, 0, 8, 4, static_cast<char>(0xD2), 0x16, 0x2F};

// The EHLO name: any domain is accepted by the servers this probes, and no real host is
// claimed (RFC 2606's reserved .invalid would be refused by some as not resolvable).
constexpr const char* kEhlo = "EHLO sonde\r\n";

char starttls_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (starttls_lower(text[i]) != starttls_lower(prefix[i])) {
            return false;
        }
    }
    return true;
}

// The line as shown in a message: quoted, cut short, control bytes escaped.
std::string quoted(std::string_view line) {
    constexpr std::size_t kShown = 120;
    std::string out = "\"";
    for (std::size_t i = 0; i < line.size() && i < kShown; ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
            static const char* const kHex = "0123456789abcdef";
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (line.size() > kShown) {
        out += "...";
    }
    return out + "\"";
}

bool is_reply_code(std::string_view line) {
    return line.size() >= 3 && line[0] >= '0' && line[0] <= '9' && line[1] >= '0' &&
           line[1] <= '9' && line[2] >= '0' && line[2] <= '9';
}

}  // namespace

StartTlsDialog::StartTlsDialog(config::StartTls protocol) : name_(config::starttls_name(protocol)) {
    using config::StartTls;
    switch (protocol) {
        case StartTls::Smtp:
            steps_ = {{Op::Reply, "220", "greeting"},
                      {Op::Send, kEhlo, ""},
                      {Op::Reply, "250", "EHLO reply", true},
                      {Op::Send, "STARTTLS\r\n", ""},
                      {Op::Reply, "220", "STARTTLS reply"}};
            break;
        case StartTls::Imap:
            steps_ = {{Op::Line, "* OK", "greeting"},
                      {Op::Send, "a001 STARTTLS\r\n", ""},
                      {Op::Tagged, "a001 OK", "STARTTLS reply"}};
            break;
        case StartTls::Pop3:
            steps_ = {{Op::Line, "+OK", "greeting"},
                      {Op::Send, "STLS\r\n", ""},
                      {Op::Line, "+OK", "STLS reply"}};
            break;
        case StartTls::Ftp:
            steps_ = {{Op::Reply, "220", "greeting"},
                      {Op::Send, "AUTH TLS\r\n", ""},
                      {Op::Reply, "234", "AUTH TLS reply"}};
            break;
        case StartTls::Postgres:
            steps_ = {{Op::Send, std::string(kPostgresSslRequest, sizeof kPostgresSslRequest), ""},
                      {Op::Byte, "S", "SSLRequest answer"}};
            break;
        case StartTls::None:
            break;
    }
    steps_.push_back({Op::Upgrade, "", ""});
}

void StartTlsDialog::on_data(std::string_view data) {
    received_ += data.size();
    // Lines are taken by moving pos_, and the buffer is compacted once per chunk here: erasing
    // each line from the front was quadratic in a chunk of many short lines.
    buffer_.erase(0, pos_);
    pos_ = 0;
    buffer_.append(data);
}

void StartTlsDialog::on_end(std::string error) {
    ended_ = true;
    end_error_ = std::move(error);
}

StartTlsDialog::Action StartTlsDialog::fail(std::string reason) {
    failed_ = true;
    reason_ = "starttls " + std::string(name_) + ": " + std::move(reason);
    return {Kind::Failed, reason_};
}

bool StartTlsDialog::reject(std::string reason) {
    (void)fail(std::move(reason));
    return false;
}

bool StartTlsDialog::take_line(std::string& line) {
    const std::size_t end = buffer_.find('\n', pos_);
    if (end == std::string::npos) {
        return false;
    }
    line.assign(buffer_, pos_, end - pos_);
    pos_ = end + 1;
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    return true;
}

StartTlsDialog::Action StartTlsDialog::starved() {
    const Step& step = steps_[step_];
    if (buffer_.size() - pos_ > kMaxLine) {
        return fail("the server's " + std::string(step.what) + " has a line longer than " +
                    std::to_string(kMaxLine) + " bytes");
    }
    if (received_ > kMaxPlaintext) {
        return fail("the server sent more than " + std::to_string(kMaxPlaintext) +
                    " bytes before TLS");
    }
    if (ended_) {
        return fail("connection closed by the server while waiting for its " +
                    std::string(step.what) + (end_error_.empty() ? "" : ": " + end_error_));
    }
    return {Kind::WaitForData, {}};
}

bool StartTlsDialog::on_reply_line(const Step& step, const std::string& line) {
    if (!is_reply_code(line)) {
        // FTP allows free text inside a multi-line reply; outside one it is an error.
        if (in_reply_ && std::string_view(name_) == "ftp") {
            return true;
        }
        return reject("expected a " + step.text + " " + step.what + ", got " + quoted(line));
    }
    const std::string_view code(line.data(), 3);
    if (!in_reply_ && code != step.text) {
        return reject("expected a " + step.text + " " + step.what + ", got " + quoted(line));
    }
    if (in_reply_ && code != step.text) {
        // A continuation of another code is free text (FTP) or a malformed reply (SMTP).
        if (std::string_view(name_) == "ftp") {
            return true;
        }
        return reject("malformed " + std::string(step.what) + " line " + quoted(line));
    }
    in_reply_ = true;
    const std::string_view text = line.size() > 4 ? std::string_view(line).substr(4) : "";
    if (starts_with_nocase(text, "STARTTLS") &&
        (text.size() == 8 || text[8] == ' ' || text[8] == '\t')) {
        saw_starttls_ = true;
    }
    const bool last = line.size() == 3 || line[3] == ' ';
    if (!last) {
        return true;  // more lines of this reply follow
    }
    in_reply_ = false;
    if (step.needs_starttls && !saw_starttls_) {
        return reject("the server does not offer STARTTLS (no STARTTLS in its " +
                      std::string(step.what) + ")");
    }
    ++step_;
    return true;
}

StartTlsDialog::Action StartTlsDialog::next() {
    while (!failed_) {
        const Step& step = steps_[step_];
        switch (step.op) {
            case Op::Send:
                ++step_;
                return {Kind::Send, step.text};
            case Op::Upgrade:
                if (buffer_.size() > pos_) {
                    return fail("the server sent " + std::to_string(buffer_.size() - pos_) +
                                " bytes of plaintext after agreeing to TLS");
                }
                return {Kind::Upgrade, {}};
            case Op::Byte: {
                if (buffer_.size() <= pos_) {
                    return starved();
                }
                const char answer = buffer_[pos_++];
                if (answer == 'S') {
                    ++step_;
                    continue;
                }
                if (answer == 'N') {
                    return fail("the server refuses TLS (it answered 'N' to the SSLRequest)");
                }
                return fail("unexpected answer " + quoted(std::string_view(&answer, 1)) +
                            " to the SSLRequest");
            }
            case Op::Reply:
            case Op::Line:
            case Op::Tagged: {
                std::string line;
                if (!take_line(line)) {
                    return starved();
                }
                if (line.size() > kMaxLine) {
                    return fail("the server's " + std::string(step.what) +
                                " has a line longer than " + std::to_string(kMaxLine) + " bytes");
                }
                if (step.op == Op::Reply) {
                    if (!on_reply_line(step, line)) {
                        return {Kind::Failed, reason_};
                    }
                    continue;
                }
                if (step.op == Op::Tagged && line.rfind("* ", 0) == 0) {
                    continue;  // untagged data before the tagged answer
                }
                if (!starts_with_nocase(line, step.text)) {
                    return fail("expected " + quoted(step.text) + " (" + step.what + "), got " +
                                quoted(line));
                }
                ++step_;
                continue;
            }
        }
    }
    return {Kind::Failed, reason_};
}

}  // namespace sonde::modules::tls
