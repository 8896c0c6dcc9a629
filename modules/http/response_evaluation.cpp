#include "modules/http/response_evaluation.hpp"

#include "modules/http/body_decoder.hpp"
#include "modules/http/http_date.hpp"

namespace sonde::modules::http {
namespace {

// Go's fmt of a []int, as slog prints the valid status codes: "[200 404]".
std::string format_codes(const std::vector<int>& codes) {
    std::string out = "[";
    for (std::size_t i = 0; i < codes.size(); ++i) {
        out += (i == 0 ? "" : " ") + std::to_string(codes[i]);
    }
    return out + "]";
}

class Evaluation {
public:
    explicit Evaluation(Verdict& verdict) : verdict_(verdict) {}

    void set(const CheckResult& check) {
        verdict_.success = check.ok;
        verdict_.message = check.message;
        verdict_.fields = check.fields;
    }
    void fail(std::string message, LogFields fields = {}) {
        set(CheckResult::fail(std::move(message), std::move(fields)));
    }
    bool ok() const { return verdict_.success; }
    void log(LogLevel level, std::string msg, LogFields fields = {}) {
        verdict_.log.push_back({level, std::move(msg), std::move(fields)});
    }

private:
    Verdict& verdict_;
};

}  // namespace

Verdict evaluate_response(const config::HttpProbe& cfg, const FinalResponse& response) {
    Verdict verdict;
    Evaluation eval(verdict);

    eval.log(LogLevel::Info, "Received HTTP response",
             {{"status_code", std::to_string(response.status_code)}});
    const CheckResult status = check_status(cfg, response.status_code);
    if (!status.ok && !cfg.valid_status_codes.empty()) {
        eval.log(LogLevel::Info, "Valid status codes",
                 {{"codes", format_codes(cfg.valid_status_codes)}});
    }
    eval.set(status);

    if (eval.ok() &&
        (!cfg.fail_if_header_matches.empty() || !cfg.fail_if_header_not_matches.empty())) {
        eval.set(check_headers(cfg, response.headers));
        verdict.failed_due_to_regex = !eval.ok();
    }

    // With `compression` set the body is decoded whatever Content-Encoding says; when the
    // decoder cannot be made, the exporter goes on with the raw body.
    Compression compression = Compression::Identity;
    if (!cfg.compression.empty()) {
        auto chosen = compression_from_config(cfg.compression);
        Result<void> started = chosen ? start_decoder(*chosen, response.raw_body)
                                      : Result<void>(unexpected(chosen.error()));
        if (started) {
            compression = *chosen;
        } else {
            eval.log(LogLevel::Error, started.error());
            eval.fail("Failed to get decompressor for HTTP response body");
        }
    }
    const BodyRead body = read_body(compression, response.raw_body, cfg.body_size_limit);

    if (eval.ok() && (!cfg.fail_if_body_matches_regexp.empty() ||
                      !cfg.fail_if_body_not_matches_regexp.empty())) {
        if (!body.error.empty()) {
            eval.log(LogLevel::Error, body.error);
            eval.fail("Error reading HTTP body");
        } else {
            eval.set(check_body(cfg, body.body));
        }
        verdict.failed_due_to_regex = !eval.ok();
    }

    if (eval.ok() && has_cel(cfg)) {
        eval.set(check_cel(cfg));
        verdict.failed_due_to_cel = !eval.ok();
    }

    if (!response.redirect_not_followed) {
        if (!body.error.empty()) {
            eval.log(LogLevel::Error, body.error);
            eval.fail("Failed to read HTTP response body");
        }
        verdict.uncompressed_body_length = static_cast<std::int64_t>(body.body.size());
    }

    if (const std::string* last_modified = response.headers.find("Last-Modified")) {
        verdict.last_modified = parse_http_date(*last_modified);
    }

    if (const auto version = http_version_number(response.proto)) {
        verdict.http_version = *version;
    } else {
        eval.log(
            LogLevel::Error, "Error parsing version number from HTTP version",
            {{"err", "strconv.ParseFloat: parsing \"" + response.proto + "\": invalid syntax"}});
    }
    if (const CheckResult version = check_http_version(cfg, response.proto); !version.ok) {
        eval.set(version);
    }

    if (const CheckResult tls = check_tls(cfg, response.over_tls, eval.ok()); !tls.ok) {
        eval.set(tls);
    }
    return verdict;
}

void write_log(ProbeLog& log, const LogLine& line) {
    const auto& f = line.fields;
    switch (f.size()) {
        case 0:
            log.log(line.level, line.msg);
            break;
        case 1:
            log.log(line.level, line.msg, {{f[0].first, f[0].second}});
            break;
        case 2:
            log.log(line.level, line.msg, {{f[0].first, f[0].second}, {f[1].first, f[1].second}});
            break;
        default:
            log.log(
                line.level, line.msg,
                {{f[0].first, f[0].second}, {f[1].first, f[1].second}, {f[2].first, f[2].second}});
            break;
    }
}

}  // namespace sonde::modules::http
