#include "prober/core/probe_log.hpp"

#include <chrono>
#include <ctime>

namespace sonde {
namespace {

// logfmt quoting: bare when the value has no space, quote, equals sign or control character.
void append_value(std::string& out, std::string_view value, bool json) {
    bool needs_quotes = json || value.empty();
    for (const char c : value) {
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
            needs_quotes = true;
            break;
        }
    }
    if (!needs_quotes) {
        out += value;
        return;
    }
    out += '"';
    for (const char c : value) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                    out += escaped;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

void append_field(std::string& out, std::string_view key, std::string_view value, bool json,
                  bool first) {
    if (json) {
        out += first ? "\"" : ",\"";
        out += key;
        out += "\":";
    } else {
        if (!first) {
            out += ' ';
        }
        out += key;
        out += '=';
    }
    append_value(out, value, json);
}

std::string timestamp() {
    // RFC 3339 with milliseconds and the local offset, like the exporter's slog output. The
    // date and zone only change once a second: keep them instead of asking the time zone
    // database for every log line.
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    thread_local std::time_t cached_secs = -1;
    thread_local char date[32];
    thread_local char zone[8];
    if (secs != cached_secs) {
        std::tm local{};
        localtime_r(&secs, &local);
        std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &local);
        char raw_zone[8];
        std::strftime(raw_zone, sizeof raw_zone, "%z", &local);  // +hhmm
        std::snprintf(zone, sizeof zone, "%.3s:%.2s", raw_zone, raw_zone + 3);
        cached_secs = secs;
    }
    char out[64];
    std::snprintf(out, sizeof out, "%s.%03d%s", date, static_cast<int>(millis), zone);
    return out;
}

}  // namespace

bool parse_log_level(std::string_view text, LogLevel& level) {
    if (text == "debug") {
        level = LogLevel::Debug;
    } else if (text == "info") {
        level = LogLevel::Info;
    } else if (text == "warn") {
        level = LogLevel::Warn;
    } else if (text == "error") {
        level = LogLevel::Error;
    } else {
        return false;
    }
    return true;
}

const char* log_level_name(LogLevel level) {
    switch (level) {
        case LogLevel::Debug:
            return "DEBUG";
        case LogLevel::Info:
            return "INFO";
        case LogLevel::Warn:
            return "WARN";
        case LogLevel::Error:
            return "ERROR";
    }
    return "INFO";
}

void append_logfmt_line(std::string& out, LogLevel level, std::string_view msg,
                        std::initializer_list<LogField> context,
                        std::initializer_list<LogField> fields, bool json) {
    if (json) {
        out += '{';
    }
    append_field(out, "time", timestamp(), json, true);
    append_field(out, "level", log_level_name(level), json, false);
    append_field(out, "msg", msg, json, false);
    for (const auto& [key, value] : context) {
        append_field(out, key, value, json, false);
    }
    for (const auto& [key, value] : fields) {
        append_field(out, key, value, json, false);
    }
    out += json ? "}\n" : "\n";
}

ProbeLog::ProbeLog(std::string module, std::string target, LogLevel buffer_level, std::FILE* mirror,
                   LogLevel mirror_level)
    : module_(std::move(module)),
      target_(std::move(target)),
      buffer_level_(buffer_level),
      mirror_(mirror),
      mirror_level_(mirror_level) {
}

void ProbeLog::log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
    const bool to_buffer = level >= buffer_level_;
    const bool to_mirror = mirror_ != nullptr && level >= mirror_level_;
    if (!to_buffer && !to_mirror) {
        return;
    }
    std::string line;
    append_logfmt_line(line, level, msg, {{"module", module_}, {"target", target_}}, fields);
    if (to_buffer) {
        buffer_ += line;
    }
    if (to_mirror) {
        std::fwrite(line.data(), 1, line.size(), mirror_);
    }
}

}  // namespace sonde
