#pragma once

// Certificate fields rendered exactly as the Go exporter renders them in its TLS metrics, so
// that dashboards and alerts written against blackbox_exporter keep matching sonde's labels.

#include <string>

#include <openssl/x509.h>

namespace sonde::modules {

// time.Time{}.Unix(): what Go reports when there is no certificate or no verified chain.
inline constexpr double kGoZeroTimeUnix = -62135596800.0;

// Go's pkix.Name.String() (crypto/x509/pkix): RDNs in reverse order, e.g. "CN=localhost,O=Acme
// Co,C=US". Like Go it flattens the name into its known fields (C, ST, L, STREET, POSTALCODE, O,
// OU, CN, SERIALNUMBER; several values of one field become one "+"-joined RDN, the last CN and
// SERIALNUMBER win), puts other attributes first as "<oid>=#<DER hex>" (so they print last), and
// escapes , + " \ < > ; anywhere, a leading '#' and a leading or trailing space with '\'.
std::string go_name_string(const X509_NAME* name);

// fmt.Sprintf("%x", cert.SerialNumber.Bytes()): lowercase hex of the minimal big-endian
// magnitude, two digits per byte (so 0x0BFF... prints "0bff..."; DER's sign byte 00 is not
// part of it).
std::string go_serial_hex(const X509* cert);

// hex.EncodeToString(sha256.Sum256(cert.Raw)).
std::string sha256_fingerprint(const X509* cert);

// strings.Join(cert.DNSNames, ","): dNSName SANs in certificate order; IP SANs are not included.
std::string dns_names_joined(const X509* cert);

// cert.NotAfter.Unix().
double not_after_unix(const X509* cert);

}  // namespace sonde::modules
