#pragma once

// The modules the hostile-peer tests probe with: tcp (a banner, TLS), http, https and dns over
// udp, tcp and TLS, all IPv4, with the test CA's file for every TLS one.

#include <string>

namespace sonde::test {

inline std::string hostile_modules_yaml(const std::string& ca_file) {
    return R"(modules:
  tcp_banner:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
      query_response:
      - expect: "^220 "
  tcp_tls:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        ca_file: )" +
           ca_file + R"(
        server_name: localhost
  http:
    prober: http
    http:
      preferred_ip_protocol: ip4
  https:
    prober: http
    http:
      preferred_ip_protocol: ip4
      tls_config:
        ca_file: )" +
           ca_file + R"(
        server_name: localhost
  dns_udp:
    prober: dns
    dns:
      preferred_ip_protocol: ip4
      query_name: example.com
      transport_protocol: udp
  dns_tcp:
    prober: dns
    dns:
      preferred_ip_protocol: ip4
      query_name: example.com
      transport_protocol: tcp
  dns_tls:
    prober: dns
    dns:
      preferred_ip_protocol: ip4
      query_name: example.com
      transport_protocol: tcp
      dns_over_tls: true
      tls_config:
        ca_file: )" +
           ca_file + R"(
        server_name: localhost
)";
}

}  // namespace sonde::test
