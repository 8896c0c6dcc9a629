#pragma once

// StartTlsDialog: the plaintext exchange that asks a server to switch to TLS, for the tls
// prober's `starttls` option. Pure (no I/O, no loop): the prober feeds what it receives and asks
// next() what to do, as with QueryResponseDialog.
//
//   smtp      220 greeting; EHLO; a 250 reply that lists STARTTLS; STARTTLS; 220
//   imap      "* OK" greeting; "a001 STARTTLS" (untagged lines skipped); "a001 OK"
//   pop3      "+OK" greeting; STLS; "+OK"
//   ftp       220 greeting; AUTH TLS; 234
//   postgres  SSLRequest (length 8, code 80877103); one byte 'S' (TLS) or 'N' (refused)
//
// Replies may span lines (SMTP/FTP "NNN-" continuations). Every line is bounded (kMaxLine)
// and so is all plaintext before TLS (kMaxPlaintext): a server sending endless bytes fails the
// dialog, it cannot make the prober buffer without end. Bytes after the server's go-ahead are
// an error too: they would be read as TLS, and a server (or a man in the middle) injecting
// plaintext there is exactly what STARTTLS implementations must refuse.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace sonde::modules::tls {

class StartTlsDialog {
public:
    static constexpr std::size_t kMaxLine = 4096;
    static constexpr std::size_t kMaxPlaintext = 64 * 1024;

    enum class Kind {
        WaitForData,  // feed more with on_data() / on_end(), then ask again
        Send,         // write `bytes`, then ask again
        Upgrade,      // start the TLS handshake on this connection now
        Failed,       // `bytes` says why; final
    };
    struct Action {
        Kind kind = Kind::WaitForData;
        std::string bytes;
    };

    explicit StartTlsDialog(config::StartTls protocol);

    void on_data(std::string_view data);
    // The read side ended: error "" for EOF, else the socket's error text.
    void on_end(std::string error = {});
    Action next();

private:
    enum class Op { Send, Reply, Line, Tagged, Byte, Upgrade };
    struct Step {
        Op op;
        std::string text;             // Send: the bytes; Reply: the code; Line/Tagged: the prefix
        const char* what;             // for messages: "greeting", "EHLO reply", ...
        bool needs_starttls = false;  // Reply: a line must announce STARTTLS
    };

    Action fail(std::string reason);
    bool reject(std::string reason);  // fail(), returning false
    // Takes the next complete line (without "\r\n") into `line`; false when none is complete.
    bool take_line(std::string& line);
    // Why the step waits in vain: the connection ended, or the server talks too much.
    Action starved();
    // One line of an SMTP/FTP reply; advances past the step after its last line. False when
    // the dialog failed (reason_ says why).
    bool on_reply_line(const Step& step, const std::string& line);

    const char* name_;
    std::vector<Step> steps_;
    std::size_t step_ = 0;
    std::string buffer_;
    std::size_t pos_ = 0;  // where the unread part of buffer_ starts
    std::size_t received_ = 0;
    bool ended_ = false;
    std::string end_error_;
    bool failed_ = false;
    std::string reason_;
    // The reply being read (Reply steps).
    bool in_reply_ = false;
    bool saw_starttls_ = false;
};

}  // namespace sonde::modules::tls
