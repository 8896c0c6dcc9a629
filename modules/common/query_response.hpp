#pragma once

// QueryResponseDialog: the exporter's query_response conversation (tcp, unix, websocket) as a
// state machine with no I/O of its own, so that it is tested without sockets and shared by
// every module that talks line protocols.
//
// The module feeds received plaintext with on_data()/on_end() and asks next() what to do:
// write bytes, upgrade to TLS, wait for more data, or stop with success or failure. Semantics
// follow the exporter's probeQueryResponses, step by step:
//  - expect: read lines (split on \n, one trailing \r removed) until one matches; a partial
//    line without newline is also tried, so prompts without a newline match. EOF without a
//    match fails and sets probe_failed_due_to_regex 1.
//  - expect_bytes: the next len(expect_bytes) bytes must equal it (else
//    probe_failed_due_to_bytes 1); EOF before that many bytes fails without the metric.
//    Unlike the exporter's single read, sonde waits for all the bytes: a server whose reply
//    arrives in two segments is not a failure.
//  - send: written followed by "\n", after ${1}/$name expansion from this step's expect.
//  - starttls: the module performs the TLS handshake, then calls tls_started().
// A line longer than 64 KiB without a newline fails the probe: a hostile peer cannot grow it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>

#include "config/config.hpp"
#include "prober/core/probe_log.hpp"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Gauge;
}  // namespace prometheus

namespace sonde::modules {

class QueryResponseDialog {
public:
    enum class Kind { WaitForData, Send, StartTls, Succeeded, Failed };
    struct Action {
        Kind kind = Kind::WaitForData;
        std::string bytes;   // for Send
        std::string reason;  // for Failed
    };

    // Registers probe_failed_due_to_regex and probe_failed_due_to_bytes (both 0), as the
    // exporter does once the connection is up.
    QueryResponseDialog(const std::vector<config::QueryResponse>& steps,
                        prometheus::Registry& registry, ProbeLog& log);

    void on_data(std::string_view data);
    // The read side ended; error is empty for an orderly EOF.
    void on_end(std::string error = {});
    // The module finished the handshake asked for by a StartTls action.
    void tls_started();

    // What to do now. After Send or StartTls, call next() again (after tls_started() for the
    // latter); after WaitForData, call it again when data or the end arrives.
    Action next();

private:
    enum class Phase { Expect, ExpectBytes, Send, StartTls, AwaitTls, NextStep };
    Action fail(std::string reason);
    std::optional<Action> run_expect(const config::QueryResponse& step);
    std::optional<Action> run_expect_bytes(const config::QueryResponse& step);
    void record_labels(const config::QueryResponse& step,
                       const std::vector<re2::StringPiece>& groups);

    const std::vector<config::QueryResponse>& steps_;
    prometheus::Registry& registry_;
    ProbeLog& log_;
    prometheus::Gauge* failed_due_to_regex_ = nullptr;
    prometheus::Gauge* failed_due_to_bytes_ = nullptr;
    prometheus::Family<prometheus::Gauge>* expect_info_ = nullptr;

    std::size_t step_ = 0;
    Phase phase_ = Phase::Expect;
    std::string buffer_;        // received, not yet consumed
    std::string partial_line_;  // consumed bytes of a line not yet ended by \n
    std::string expanded_send_;
    bool ended_ = false;
    std::string end_error_;
    bool finished_ = false;
};

}  // namespace sonde::modules
