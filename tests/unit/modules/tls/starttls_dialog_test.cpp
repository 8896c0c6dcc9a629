// The STARTTLS dialogs of the tls prober, fed byte by byte and in odd chunks: what is sent, when
// it upgrades, and why it fails.

#include "modules/tls/starttls_dialog.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace {

using sonde::config::StartTls;
using sonde::modules::tls::StartTlsDialog;

// Drives the dialog: feeds `server` replies one at a time whenever it waits, collects what it
// sends, and returns the final action (Upgrade or Failed).
StartTlsDialog::Action run_dialog(StartTlsDialog& dialog, std::vector<std::string> server,
                                  std::vector<std::string>* sent) {
    std::size_t next_reply = 0;
    for (int guard = 0; guard < 1000; ++guard) {
        auto action = dialog.next();
        switch (action.kind) {
            case StartTlsDialog::Kind::Send:
                sent->push_back(action.bytes);
                continue;
            case StartTlsDialog::Kind::WaitForData:
                if (next_reply == server.size()) {
                    dialog.on_end();
                } else {
                    // Byte by byte: nothing may depend on how TCP splits the replies.
                    for (char c : server[next_reply++]) {
                        dialog.on_data(std::string(1, c));
                    }
                }
                continue;
            default:
                return action;
        }
    }
    FAIL("the dialog did not end");
    return {};
}

}  // namespace

TEST_CASE("starttls dialogs send the protocol's commands and upgrade", "[unit][tls-prober]") {
    struct Case {
        StartTls protocol;
        std::vector<std::string> server;
        std::vector<std::string> expected_sent;
    };
    const Case c = GENERATE(
        Case{StartTls::Smtp,
             {"220-mail ESMTP\r\n220 hi\r\n", "250-mail\r\n250-starttls\r\n250 SIZE 10\r\n",
              "220 go ahead\r\n"},
             {"EHLO sonde\r\n", "STARTTLS\r\n"}},
        Case{StartTls::Imap,
             {"* OK ready\r\n", "* CAPABILITY IMAP4rev1\r\na001 OK begin\r\n"},
             {"a001 STARTTLS\r\n"}},
        Case{StartTls::Pop3, {"+OK hi\n", "+OK go\n"}, {"STLS\r\n"}},
        Case{StartTls::Ftp,
             {"220-welcome\r\n text\r\n220 ready\r\n", "234 AUTH TLS ok\r\n"},
             {"AUTH TLS\r\n"}},
        Case{StartTls::Postgres, {"S"}, {std::string("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8)}});
    StartTlsDialog dialog(c.protocol);
    std::vector<std::string> sent;
    const auto end = run_dialog(dialog, c.server, &sent);
    INFO(end.bytes);
    CHECK(end.kind == StartTlsDialog::Kind::Upgrade);
    CHECK(sent == c.expected_sent);
}

TEST_CASE("starttls dialogs fail with a reason", "[unit][tls-prober]") {
    const auto [protocol, server,
                reason] = GENERATE(table<StartTls, std::vector<std::string>, std::string>({
        {StartTls::Smtp,
         {"421 busy\r\n"},
         "starttls smtp: expected a 220 greeting, got \"421 busy\""},
        {StartTls::Smtp,
         {"220 hi\r\n", "250-mail\r\n250-STARTTLSX\r\n250 OK\r\n"},
         "starttls smtp: the server does not offer STARTTLS (no STARTTLS in its EHLO reply)"},
        {StartTls::Smtp,
         {"220 hi\r\n", "250-mail\r\n251 odd\r\n"},
         "starttls smtp: malformed EHLO reply line \"251 odd\""},
        {StartTls::Imap,
         {"* OK hi\r\n", "a001 NO no tls\r\n"},
         "starttls imap: expected \"a001 OK\" (STARTTLS reply), got \"a001 NO no tls\""},
        {StartTls::Pop3, {"-ERR\r\n"}, "starttls pop3: expected \"+OK\" (greeting), got \"-ERR\""},
        {StartTls::Ftp,
         {"220 hi\r\n", "500 no\r\n"},
         "starttls ftp: expected a 234 AUTH TLS reply, got \"500 no\""},
        {StartTls::Postgres, {"E"}, "starttls postgres: unexpected answer \"E\" to the SSLRequest"},
        {StartTls::Postgres,
         {"N"},
         "starttls postgres: the server refuses TLS (it answered 'N' to the SSLRequest)"},
        {StartTls::Postgres,
         {"SX"},
         "starttls postgres: the server sent 1 bytes of plaintext after agreeing to TLS"},
        {StartTls::Pop3,
         {},
         "starttls pop3: connection closed by the server while waiting for its greeting"},
        {StartTls::Imap,
         {"* OK\x01\r\n", "a001 OK\r\njunk"},
         "starttls imap: the server sent 4 bytes of plaintext after agreeing to TLS"},
    }));
    StartTlsDialog dialog(protocol);
    std::vector<std::string> sent;
    const auto end = run_dialog(dialog, server, &sent);
    CHECK(end.kind == StartTlsDialog::Kind::Failed);
    CHECK(end.bytes == reason);
    // Failure is final.
    CHECK(dialog.next().kind == StartTlsDialog::Kind::Failed);
}

TEST_CASE("starttls dialogs bound lines and the whole exchange", "[unit][tls-prober]") {
    StartTlsDialog long_line(StartTls::Smtp);
    long_line.on_data(std::string(StartTlsDialog::kMaxLine + 1, 'x'));
    auto action = long_line.next();
    CHECK(action.kind == StartTlsDialog::Kind::Failed);
    CHECK(action.bytes == "starttls smtp: the server's greeting has a line longer than 4096 bytes");

    StartTlsDialog chatty(StartTls::Ftp);
    std::string lines = "220-a\r\n";
    while (lines.size() <= StartTlsDialog::kMaxPlaintext) {
        lines += "220-more\r\n";
    }
    chatty.on_data(lines);
    action = chatty.next();
    CHECK(action.kind == StartTlsDialog::Kind::Failed);
    CHECK(action.bytes == "starttls ftp: the server sent more than 65536 bytes before TLS");
}
