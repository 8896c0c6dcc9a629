#include "prober/app/status_page.hpp"

#include "prober/app/version.hpp"

namespace sonde::app {

std::string html_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&#34;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string render_status_page(const std::string& route_prefix,
                               const std::vector<const ProbeHistoryEntry*>& recent) {
    const std::string base = route_prefix == "/" ? "" : route_prefix;
    std::string out = R"(<html>
<head><title>sonde</title>
<style>
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
</style>
</head>
<body>
<h1>sonde</h1>
<p>A blackbox prober compatible with Prometheus' blackbox_exporter, version )";
    out += kVersion;
    out +=
        "</p>\n<p><a href=\"" + base +
        "/probe?target=prometheus.io&module=http_2xx\">Probe prometheus.io for http_2xx</a></p>\n";
    out += "<p><a href=\"" + base +
           "/probe?target=prometheus.io&module=http_2xx&debug=true\">Debug probe prometheus.io "
           "for http_2xx</a></p>\n";
    out += "<p><a href=\"" + base + "/metrics\">Metrics</a></p>\n";
    out += "<p><a href=\"" + base + "/config\">Configuration</a></p>\n";
    out +=
        "<h2>Recent Probes</h2>\n<table>\n<tr><th>Module</th><th>Target</th><th>Result</th>"
        "<th>Debug</th></tr>\n";
    for (const auto* entry : recent) {
        out += "<tr><td>" + html_escape(entry->module_name) + "</td><td>" +
               html_escape(entry->target) + "</td><td>" +
               (entry->success ? "Success" : "<strong>Failure</strong>") + "</td><td><a href=\"" +
               base + "/logs?id=" + std::to_string(entry->id) + "\">Logs</a></td></tr>\n";
    }
    out += "</table>\n</body>\n</html>\n";
    return out;
}

}  // namespace sonde::app
