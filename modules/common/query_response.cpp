#include "modules/common/query_response.hpp"

#include <map>

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <re2/re2.h>

#include "modules/common/regex_expand.hpp"

namespace sonde::modules {
namespace {

constexpr std::size_t kMaxLineBytes = 64 * 1024;

std::string printable(std::string_view bytes) {
    std::string out;
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
            out += c;
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", u);
            out += hex;
        }
    }
    return out;
}

}  // namespace

QueryResponseDialog::QueryResponseDialog(const std::vector<config::QueryResponse>& steps,
                                         prometheus::Registry& registry, ProbeLog& log)
    : steps_(steps), registry_(registry), log_(log) {
    failed_due_to_regex_ = &prometheus::BuildGauge()
                                .Name("probe_failed_due_to_regex")
                                .Help("Indicates if probe failed due to regex")
                                .Register(registry_)
                                .Add({});
    failed_due_to_bytes_ = &prometheus::BuildGauge()
                                .Name("probe_failed_due_to_bytes")
                                .Help("Indicates if probe failed due to bytes")
                                .Register(registry_)
                                .Add({});
}

void QueryResponseDialog::on_data(std::string_view data) {
    buffer_.append(data);
}

void QueryResponseDialog::on_end(std::string error) {
    ended_ = true;
    end_error_ = std::move(error);
}

void QueryResponseDialog::tls_started() {
    if (phase_ == Phase::AwaitTls) {
        phase_ = Phase::NextStep;
    }
}

QueryResponseDialog::Action QueryResponseDialog::fail(std::string reason) {
    finished_ = true;
    return Action{Kind::Failed, {}, std::move(reason)};
}

QueryResponseDialog::Action QueryResponseDialog::next() {
    if (finished_) {
        return Action{Kind::Failed, {}, "query_response dialog already finished"};
    }
    while (step_ < steps_.size()) {
        const auto& step = steps_[step_];
        switch (phase_) {
            case Phase::Expect: {
                log_.debug("Processing query response entry",
                           {{"entry_number", std::to_string(step_)}});
                expanded_send_ = step.send.value_or("");
                if (step.expect) {
                    if (auto action = run_expect(step)) {
                        return *action;
                    }
                }
                phase_ = Phase::ExpectBytes;
                break;
            }
            case Phase::ExpectBytes:
                if (step.expect_bytes && !step.expect_bytes->empty()) {
                    if (auto action = run_expect_bytes(step)) {
                        return *action;
                    }
                }
                phase_ = Phase::Send;
                break;
            case Phase::Send:
                phase_ = Phase::StartTls;
                if (!expanded_send_.empty()) {
                    log_.debug("Sending line", {{"line", expanded_send_}});
                    return Action{Kind::Send, expanded_send_ + "\n", {}};
                }
                break;
            case Phase::StartTls:
                if (step.starttls) {
                    phase_ = Phase::AwaitTls;
                    // Bytes the server sent before the handshake are not TLS records; the
                    // exporter discards its reader here too.
                    buffer_.clear();
                    partial_line_.clear();
                    return Action{Kind::StartTls, {}, {}};
                }
                phase_ = Phase::NextStep;
                break;
            case Phase::AwaitTls:
                return Action{Kind::WaitForData, {}, {}};
            case Phase::NextStep:
                ++step_;
                phase_ = Phase::Expect;
                expanded_send_.clear();
                break;
        }
    }
    finished_ = true;
    return Action{Kind::Succeeded, {}, {}};
}

std::optional<QueryResponseDialog::Action> QueryResponseDialog::run_expect(
    const config::QueryResponse& step) {
    const re2::RE2& re = *step.expect->re;
    auto matched = [&](const std::string& line,
                       const std::vector<re2::StringPiece>& groups) -> std::optional<Action> {
        log_.debug("Regexp matched", {{"regexp", step.expect->pattern}, {"line", line}});
        failed_due_to_regex_->Set(0);
        if (step.send) {
            expanded_send_ = regex_expand(re, *step.send, groups);
        }
        if (!step.labels.empty()) {
            record_labels(step, groups);
        }
        partial_line_.clear();
        return std::nullopt;
    };
    // Consume complete lines first; each is tried on its own, as the exporter does.
    for (;;) {
        const auto newline = buffer_.find('\n');
        if (newline == std::string::npos) {
            break;
        }
        std::string line = partial_line_ + buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        partial_line_.clear();
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        log_.debug("Read line", {{"line", line}});
        if (auto groups = find_submatches(re, line)) {
            return matched(line, *groups);  // the groups point into `line`, alive here
        }
    }
    // A partial line (no newline yet) may already match: prompts often end without one.
    partial_line_ += buffer_;
    buffer_.clear();
    if (partial_line_.size() > kMaxLineBytes) {
        return fail("line longer than 64 KiB without a newline");
    }
    if (!partial_line_.empty()) {
        std::string candidate = partial_line_;
        if (ended_ && candidate.back() == '\r') {
            candidate.pop_back();
        }
        if (auto groups = find_submatches(re, candidate)) {
            return matched(candidate, *groups);
        }
    }
    if (ended_) {
        if (!end_error_.empty()) {
            log_.error("Error reading from connection", {{"err", end_error_}});
            return fail("error reading from connection: " + end_error_);
        }
        failed_due_to_regex_->Set(1);
        log_.error("Regexp did not match",
                   {{"regexp", step.expect->pattern}, {"line", partial_line_}});
        return fail("regexp " + step.expect->pattern + " did not match before EOF");
    }
    return Action{Kind::WaitForData, {}, {}};
}

std::optional<QueryResponseDialog::Action> QueryResponseDialog::run_expect_bytes(
    const config::QueryResponse& step) {
    const std::string& want = *step.expect_bytes;
    // Bytes left over from an earlier expect's partial line come first.
    if (!partial_line_.empty()) {
        buffer_.insert(0, partial_line_);
        partial_line_.clear();
    }
    if (buffer_.size() < want.size()) {
        if (!ended_) {
            return Action{Kind::WaitForData, {}, {}};
        }
        if (!end_error_.empty()) {
            log_.error("Error reading from connection", {{"err", end_error_}});
            return fail("error reading from connection: " + end_error_);
        }
        log_.error("Read less data than expected",
                   {{"expected", printable(want)}, {"bytes", printable(buffer_)}});
        return fail("read " + std::to_string(buffer_.size()) + " bytes, expected " +
                    std::to_string(want.size()));
    }
    const std::string got = buffer_.substr(0, want.size());
    buffer_.erase(0, want.size());
    if (got != want) {
        failed_due_to_bytes_->Set(1);
        log_.error("Bytes did not match",
                   {{"expected", printable(want)}, {"bytes", printable(got)}});
        return fail("bytes did not match: expected " + printable(want) + ", got " + printable(got));
    }
    log_.debug("Bytes matched", {{"expected", printable(want)}, {"bytes", printable(got)}});
    failed_due_to_bytes_->Set(0);
    return std::nullopt;
}

void QueryResponseDialog::record_labels(const config::QueryResponse& step,
                                        const std::vector<re2::StringPiece>& groups) {
    std::map<std::string, std::string> labels;
    for (const auto& label : step.labels) {
        labels[label.name] = regex_expand(*step.expect->re, label.value, groups);
    }
    // The exporter registers a new family per labelled step and panics on the second one;
    // sonde keeps one family and adds each step's label set to it.
    if (expect_info_ == nullptr) {
        expect_info_ = &prometheus::BuildGauge()
                            .Name("probe_expect_info")
                            .Help("Explicit content matched")
                            .Register(registry_);
    }
    expect_info_->Add(labels).Set(1);
}

}  // namespace sonde::modules
