#include "modules/http/redirect_policy.hpp"

#include <array>

namespace sonde::modules::http {

RedirectDecision decide_redirect(int status, bool has_location, std::string_view method,
                                 bool body_has_content, bool body_replayable, int requests_sent,
                                 int redirects, bool follow_redirects) {
    RedirectDecision decision;
    decision.redirects = redirects;
    decision.method = std::string(method);
    switch (status) {
        case 301:
        case 302:
        case 303:
            // Go turns POST into GET on 301/302, and everything but HEAD into GET on 303.
            if (((status == 301 || status == 302) && method == "POST") ||
                (status == 303 && method != "HEAD")) {
                decision.method = "GET";
            }
            decision.keep_body = false;
            break;
        case 307:
        case 308:
            decision.keep_body = true;
            if (body_has_content && !body_replayable) {
                return decision;  // Final
            }
            break;
        default:
            return decision;  // Final
    }
    if (!has_location) {
        return decision;  // Go returns a 3xx without Location as the final response
    }
    decision.redirects = requests_sent;
    decision.action = requests_sent > kMaxRedirects || !follow_redirects
                          ? RedirectDecision::Action::Stop
                          : RedirectDecision::Action::Follow;
    return decision;
}

std::string redirect_referer(const HttpUrl& previous, const HttpUrl& next) {
    if (previous.is_https() && !next.is_https()) {
        return {};
    }
    HttpUrl copy = previous;
    copy.userinfo.clear();
    return copy.to_string();
}

bool is_domain_or_subdomain(std::string_view sub, std::string_view parent) {
    if (sub == parent) {
        return true;
    }
    if (sub.find_first_of(":%") != std::string_view::npos) {
        return false;
    }
    return sub.size() > parent.size() + 1 && sub.substr(sub.size() - parent.size()) == parent &&
           sub[sub.size() - parent.size() - 1] == '.';
}

HopInputs redirect_hop(const OutgoingRequest& initial, const net::HttpHeaders& initial_headers,
                       const OutgoingRequest& previous, const HttpUrl& next,
                       std::string_view location, const RedirectDecision& decision) {
    HopInputs hop;
    hop.method = decision.method;
    hop.url = next;
    const bool custom_host = initial.host_header != initial.url.authority();
    hop.host_header =
        custom_host && is_relative_reference(location) ? initial.host_header : next.authority();
    hop.headers = initial_headers;
    if (!is_domain_or_subdomain(next.host, initial.url.host)) {
        static constexpr std::array<std::string_view, 4> kSensitive = {
            "Authorization", "Www-Authenticate", "Cookie", "Cookie2"};
        for (const auto name : kSensitive) {
            hop.headers.remove(name);
        }
    }
    if (decision.keep_body) {
        hop.body = previous.body;
    }
    hop.referer = redirect_referer(previous.url, next);
    return hop;
}

}  // namespace sonde::modules::http
