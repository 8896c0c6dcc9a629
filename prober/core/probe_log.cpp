#include "prober/core/probe_log.hpp"

#include <array>
#include <chrono>
#include <cstring>
#include <ctime>
#include <ostream>
#include <span>
#include <vector>

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

std::string timestamp(std::chrono::system_clock::time_point now) {
    // RFC 3339 with milliseconds and the local offset, like the exporter's slog output. The
    // date and zone only change once a second: keep them instead of asking the time zone
    // database for every log line.
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

// The one formatter behind every line, eager or lazy.
void append_line(std::string& out, std::chrono::system_clock::time_point time, LogLevel level,
                 std::string_view msg, std::span<const LogField> context,
                 std::span<const LogField> fields, bool json) {
    if (json) {
        out += '{';
    }
    append_field(out, "time", timestamp(time), json, true);
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
    append_logfmt_line_at(out, std::chrono::system_clock::now(), level, msg, context, fields, json);
}

void append_logfmt_line_at(std::string& out, std::chrono::system_clock::time_point time,
                           LogLevel level, std::string_view msg,
                           std::initializer_list<LogField> context,
                           std::initializer_list<LogField> fields, bool json) {
    append_line(out, time, level, msg, {context.begin(), context.size()},
                {fields.begin(), fields.size()}, json);
}

void ProbeLogLines::push(std::string_view text) {
    const auto size = static_cast<std::uint32_t>(text.size());
    char length[sizeof size];
    std::memcpy(length, &size, sizeof size);
    storage_.append(length, sizeof length);
    storage_.append(text);
}

std::string_view ProbeLogLines::pop(std::size_t& offset) const {
    std::uint32_t size = 0;
    std::memcpy(&size, storage_.data() + offset, sizeof size);
    offset += sizeof size;
    const std::string_view text(storage_.data() + offset, size);
    offset += size;
    return text;
}

void ProbeLogLines::add(std::chrono::system_clock::time_point time, LogLevel level,
                        std::string_view msg, std::initializer_list<LogField> fields) {
    entries_.push_back(Entry{time, level, static_cast<std::uint32_t>(storage_.size()),
                             static_cast<std::uint32_t>(fields.size())});
    push(msg);
    for (const auto& [key, value] : fields) {
        push(key);
        push(value);
    }
}

void ProbeLogLines::append_line(std::string& out, std::size_t index) const {
    const Entry& entry = entries_[index];
    std::size_t offset = entry.offset;
    const std::string_view msg = pop(offset);
    // A line has few fields: kept on the stack, spilling to the heap only past eight.
    std::array<LogField, 8> small;
    std::vector<LogField> large;
    LogField* fields = small.data();
    if (entry.fields > small.size()) {
        large.resize(entry.fields);
        fields = large.data();
    }
    for (std::uint32_t i = 0; i < entry.fields; ++i) {
        fields[i].first = pop(offset);
        fields[i].second = pop(offset);
    }
    const std::array<LogField, 2> context{{{"module", module_}, {"target", target_}}};
    // The same formatter as an eager line, fed the same values: the output cannot drift.
    sonde::append_line(out, entry.time, entry.level, msg, context, {fields, entry.fields}, false);
}

std::string ProbeLogLines::text() const {
    std::string out;
    out.reserve(storage_.size() * 2 + entries_.size() * 96);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        append_line(out, i);
    }
    return out;
}

std::ostream& operator<<(std::ostream& out, const ProbeLogLines& lines) {
    return out << lines.text();
}

ProbeLog::ProbeLog(std::string module, std::string target, LogLevel buffer_level, std::FILE* mirror,
                   LogLevel mirror_level, bool mirror_json)
    : module_(std::move(module)),
      target_(std::move(target)),
      buffer_level_(buffer_level),
      mirror_(mirror),
      mirror_level_(mirror_level),
      mirror_json_(mirror_json),
      lines_(module_, target_) {
}

ProbeLogLines ProbeLog::take_lines() {
    ProbeLogLines taken = std::move(lines_);
    lines_ = ProbeLogLines(module_, target_);
    return taken;
}

void ProbeLog::log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
    const bool to_buffer = level >= buffer_level_;
    const bool to_mirror = mirror_ != nullptr && level >= mirror_level_;
    if (!to_buffer && !to_mirror) {
        return;
    }
    const auto now = std::chrono::system_clock::now();
    if (to_buffer) {
        lines_.add(now, level, msg, fields);
    }
    if (to_mirror) {
        std::string line;
        append_logfmt_line_at(line, now, level, msg, {{"module", module_}, {"target", target_}},
                              fields, mirror_json_);
        std::fwrite(line.data(), 1, line.size(), mirror_);
    }
}

}  // namespace sonde
