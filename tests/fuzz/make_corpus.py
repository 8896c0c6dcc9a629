#!/usr/bin/env python3
"""Writes the hand-made seeds of tests/fuzz/corpus/<fuzzer>/ (python3 and libbrotlienc only).

The seeds are committed; this script only documents how they were made and remakes them
(python3 tests/fuzz/make_corpus.py). Inputs that fuzzers found are kept beside them as
crash-<sha1> files and are not touched here. The config corpus also gets the conformance
files of tests/testdata/conformance (blackbox_exporter's own test configs).
"""
import ctypes
import ctypes.util
import hashlib
import os
import shutil
import struct
import zlib

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(ROOT))


def write(fuzzer, name, data):
    directory = os.path.join(ROOT, "corpus", fuzzer)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def brotli(data):
    lib = ctypes.CDLL(ctypes.util.find_library("brotlienc") or "libbrotlienc.so.1")
    out = ctypes.create_string_buffer(len(data) + 1024)
    size = ctypes.c_size_t(len(out))
    ok = lib.BrotliEncoderCompress(11, 22, 0, ctypes.c_size_t(len(data)), data,
                                   ctypes.byref(size), out)
    assert ok == 1
    return out.raw[:size.value]


def gzip(data):
    c = zlib.compressobj(6, zlib.DEFLATED, 16 + 15)
    return c.compress(data) + c.flush()


def deflate(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


# --- http_response: byte 0 flags (kind | 4 small caps | 8 EOF), byte 1 chunk size ------------
def http(name, response, flags=0, chunk=0):
    if isinstance(response, str):
        response = response.encode()
    write("http_response", name, bytes([flags, chunk]) + response)


def http_seeds():
    http("content_length", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
         "Set-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 5\r\n\r\nhello")
    http("content_length_bytewise", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
         chunk=1)
    http("chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n", chunk=7)
    http("interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    http("close_delimited", "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody until EOF", flags=8)
    http("head", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", flags=1)
    http("connect_tunnel", "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01tls",
         flags=2)
    http("no_content", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n")
    http("not_modified", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n")
    http("switching", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\n\r\n\x81\x00")
    http("small_caps", "HTTP/1.1 200 OK\r\nX-Long: " + "a" * 80 + "\r\nContent-Length: 40\r\n\r\n"
         + "b" * 40, flags=4)
    http("pipelined", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n\r\n")
    http("cut_in_body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", flags=8)
    http("bad_status", "HTTP/1.1 2000 OK\r\n\r\n")
    http("obs_fold", "HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n")
    for i, location in enumerate([
            "/next?x=1", "../up/../x?y#frag", "//other.example.com/p", "https://[::1]:8443/x",
            "http://user:pass@host.example.com:80/a%20b", "?only=query", "", "x", ".",
            "http://[fe80::1%25eth0]/", "ftp://example.com/", "HTTPS://EXAMPLE.COM", "//[::1",
            "http://a b/", "/%zz", "http://h:99999/"]):
        status = [301, 302, 303, 307, 308][i % 5]
        http(f"redirect_{i}", f"HTTP/1.1 {status} Moved\r\nLocation: {location}\r\n"
             "Content-Length: 0\r\n\r\n")
    body = b"the quick brown fox jumps over the lazy dog\n" * 20
    for encoding, data in [("gzip", gzip(body)), ("deflate", deflate(body)), ("br", brotli(body)),
                           ("gzip", gzip(b"a") + gzip(b"b")), ("gzip", gzip(body)[:-6]),
                           ("identity", body), ("GZip", gzip(b"")),
                           ("br", brotli(b"\0" * 100000))]:
        name = "encoded_" + hashlib.sha1(encoding.encode() + data).hexdigest()[:8]
        http(name, f"HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}\r\n"
             f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    data = gzip(body)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 50]), data[i:i + 50])
                      for i in range(0, len(data), 50))
    http("chunked_gzip", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
         b"Content-Encoding: gzip\r\n\r\n" + chunks + b"0\r\n\r\n", chunk=13)


# --- dns_message: raw DNS messages ------------------------------------------------------------
def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(id_, flags, qd, an, ns, ar):
    return struct.pack(">HHHHHH", id_, flags, qd, an, ns, ar)


def rr(owner, type_, rdata, class_=1, ttl=300):
    return owner + struct.pack(">HHIH", type_, class_, ttl, len(rdata)) + rdata


def dns_seeds():
    q = name("example.com") + struct.pack(">HH", 1, 1)
    ptr = b"\xc0\x0c"  # the question's name
    answers = [
        rr(ptr, 1, bytes([93, 184, 216, 34])),
        rr(ptr, 28, bytes(range(16))),
        rr(ptr, 5, b"\x03www" + ptr),
        rr(ptr, 15, struct.pack(">H", 10) + b"\x04mail" + ptr),
        rr(ptr, 16, b"\x05hello\x0bwith \"quote\x03\x00\x01\xff"),
        rr(ptr, 6, b"\x02ns" + ptr + b"\x05admin" + ptr + struct.pack(">IIIII", 2024, 7200, 3600,
                                                                         1209600, 300)),
        rr(ptr, 33, struct.pack(">HHH", 1, 2, 443) + name("srv.example.com")),
        rr(ptr, 257, b"\x00\x05issueletsencrypt.org"),
        rr(ptr, 2, name("ns1.example.com")),
        rr(ptr, 12, name("host.example.com")),
        rr(ptr, 99, b"\x0av=spf1 -all"),
        rr(ptr, 43, struct.pack(">HBB", 12345, 8, 2) + bytes(32)),
        rr(ptr, 48, struct.pack(">HBB", 257, 3, 13) + bytes(64)),
        rr(ptr, 46, struct.pack(">HBBIIIH", 1, 13, 2, 300, 1700000000, 1690000000, 12345)
           + ptr + bytes(64)),
        rr(ptr, 47, name("next.example.com") + b"\x00\x06\x40\x01\x00\x00\x00\x03"),
        rr(ptr, 52, b"\x03\x01\x01" + bytes(32)),
        rr(ptr, 44, b"\x01\x01" + bytes(20)),
        rr(ptr, 35, struct.pack(">HH", 100, 10) + b"\x01S\x07SIP+D2U\x00" + name("_sip._udp")),
        rr(ptr, 29, bytes(16)),
        rr(ptr, 65, struct.pack(">H", 1) + b"\x00" + struct.pack(">HH", 1, 3) + b"\x02h2"),
        rr(ptr, 64, struct.pack(">H", 0) + name("alias.example.com")),
        rr(ptr, 0xff00, b"\x01\x02\x03"),
        rr(ptr, 1, b"", class_=254),
        rr(ptr, 39, name("target.example.net")),
        rr(b"\x01*" + ptr, 1, bytes([10, 0, 0, 1]), class_=3),
        rr(b"\x04a\\b.\x03x y" + ptr, 1, bytes([1, 2, 3, 4])),
    ]
    for i, answer in enumerate(answers):
        write("dns_message", f"answer_{i:02d}",
              header(0x1234, 0x8180, 1, 1, 0, 0) + q + answer)
    write("dns_message", "all_answers",
          header(7, 0x8580, 1, len(answers), 0, 0) + q + b"".join(answers))
    opt = b"\x00" + struct.pack(">HHIH", 41, 1232, 0x01000000, 0)
    write("dns_message", "edns_badvers", header(1, 0x8180, 1, 0, 0, 1) + q + opt)
    soa = rr(ptr, 6, b"\x02ns" + ptr + b"\x05admin" + ptr + bytes(20))
    write("dns_message", "nxdomain_authority", header(2, 0x8183, 1, 0, 1, 0) + q + soa)
    write("dns_message", "refused_bare_header", header(3, 0x8105, 1, 0, 0, 0))
    write("dns_message", "truncated", header(4, 0x8380, 1, 2, 0, 0) + q + answers[0][:-2])
    write("dns_message", "pointer_forward", header(5, 0x8180, 1, 1, 0, 0) + q +
          rr(b"\xc0\x40", 1, bytes(4)))
    write("dns_message", "pointer_self", header(6, 0x8180, 1, 0, 0, 0) + b"\xc0\x0c" + b"\0\1\0\1")
    write("dns_message", "query_name", b"\x00\x01example.com")
    write("dns_message", "query_name_escaped", b"\x00\x10a\\.b.\\065\\000.")


# --- config_loader: YAML ----------------------------------------------------------------------
def config_seeds():
    source = os.path.join(REPO, "tests", "testdata", "conformance")
    for dirpath, _, files in os.walk(source):
        for f in sorted(files):
            if f.endswith(".yml"):
                rel = os.path.relpath(os.path.join(dirpath, f), source).replace("/", "_")
                shutil.copyfile(os.path.join(dirpath, f),
                                os.path.join(ROOT, "corpus", "config_loader", "conformance_" + rel))
    for f in ["deploy/sonde.yml", "deploy/blackbox.yml", "deploy/kubernetes/namespaced/sonde.yml"]:
        shutil.copyfile(os.path.join(REPO, f), os.path.join(
            ROOT, "corpus", "config_loader", "deploy_" + f.replace("/", "_")))
    write("config_loader", "every_prober", """modules:
  http_full:
    prober: http
    timeout: 2.5s
    http:
      method: POST
      valid_status_codes: [200, 2xx]
      valid_http_versions: [HTTP/1.1, HTTP/2.0]
      headers: {Host: example.com, Accept-Encoding: "gzip, br;q=0.5"}
      body: '{"a": 1}'
      compression: gzip
      body_size_limit: 1MiB
      follow_redirects: false
      fail_if_ssl: false
      fail_if_body_matches_regexp: ['(?i)error', 'a+b*']
      fail_if_body_not_matches_regexp: ['ok']
      fail_if_header_matches: [{header: Server, regexp: 'nginx/1\\..*', allow_missing: true}]
      fail_if_header_not_matches: [{header: Content-Type, regexp: 'text/.*'}]
      basic_auth: {username: u, password: secret}
      tls_config: {insecure_skip_verify: true, server_name: x, min_version: TLS12}
      proxy_url: http://127.0.0.1:3128
      no_proxy: localhost,127.0.0.1
      preferred_ip_protocol: ip6
      ip_protocol_fallback: false
  oauth:
    prober: http
    http:
      oauth2: {client_id: c, client_secret: s, token_url: 'http://127.0.0.1/t', scopes: [a]}
      bearer_token: tok
  tcp_qr:
    prober: tcp
    timeout: 1m30s
    tcp:
      tls: true
      query_response:
        - expect: '^SSH-2.0-(.+)'
        - send: 'QUIT ${1}'
        - expect: '^\\+OK'
          starttls: true
  dns_full:
    prober: dns
    dns:
      transport_protocol: tcp
      dns_over_tls: true
      query_name: example.com
      query_type: MX
      query_class: CH
      recursion_desired: false
      valid_rcodes: [NOERROR, NXDOMAIN]
      validate_answer_rrs:
        fail_if_matches_regexp: ['.*127.0.0.1']
        fail_if_all_match_regexp: ['.*']
        fail_if_none_matches_regexp: ['example']
      validate_authority_rrs: {fail_if_not_matches_regexp: ['ns']}
      validate_additional_rrs: {fail_if_matches_regexp: ['x']}
  icmp_full:
    prober: icmp
    icmp: {preferred_ip_protocol: ip4, source_ip_address: 127.0.0.1, dont_fragment: true,
           payload_size: 1200, ttl: 64}
  grpc:
    prober: grpc
    grpc: {service: s, tls: true, preferred_ip_protocol: ip4}
targets:
  - module: tcp_qr
    interval: 15s
    labels: {team: web}
    targets: ['127.0.0.1:22', 'localhost:2222']
discovery:
  kubernetes:
    kubeconfig: /nonexistent/config
    namespaces: [a, b]
    label_selector: tier=web
    roles: [service, ingress]
    probe_all: true
    interval: 1m
    service_module: tcp_qr
    ingress_module: http_full
""")
    write("config_loader", "anchors", """defaults: &d
  prober: http
  timeout: 3s
modules:
  a: *d
  b:
    <<: *d
    http: {method: HEAD}
""")
    write("config_loader", "flow", '{modules: {t: {prober: tcp, timeout: "500ms"}}}')
    write("config_loader", "bad_duration", "modules:\n  t:\n    prober: tcp\n    timeout: 1d\n")
    write("config_loader", "bad_size",
          "modules:\n  h:\n    prober: http\n    http: {body_size_limit: 1kB}\n")
    write("config_loader", "duration_scalar", "1h2m3.5s")
    write("config_loader", "size_scalar", "1GiB512KiB")
    write("config_loader", "negative_duration", "-1.5µs")


# --- kube_watch: byte 0 flags (1 probe_all), byte 1 chunk size, then the watch stream ---------
SERVICE = ('{"kind":"Service","metadata":{"name":"web","namespace":"shop","resourceVersion":"7",'
           '"annotations":{"prometheus.io/probe":"true","sonde.io/port":"http,9102",'
           '"sonde.io/scheme":"https","sonde.io/path":"/healthz","sonde.io/interval":"1m30s",'
           '"sonde.io/module":"http_2xx"}},"spec":{"ports":[{"name":"http","port":80},'
           '{"name":"metrics","port":9102,"targetPort":"metrics"}]}}')
INGRESS = ('{"kind":"Ingress","metadata":{"name":"storefront","namespace":"shop",'
           '"resourceVersion":"48220","annotations":{"prometheus.io/probe":"true"}},'
           '"spec":{"tls":[{"hosts":["shop.example.com","*.api.example.com"]}],'
           '"rules":[{"host":"shop.example.com","http":{"paths":[{"path":"/"},'
           '{"path":"/checkout"}]}},{"host":"v2.api.example.com","http":{"paths":[{}]}},'
           '{"http":{"paths":[{"path":"/nohost"}]}}]}}')


def kube(name, stream, flags=0, chunk=0):
    write("kube_watch", name, bytes([flags, chunk]) + stream.encode())


def kube_seeds():
    kube("service_added", '{"type":"ADDED","object":' + SERVICE + '}\n')
    kube("ingress_modified", '{"type":"MODIFIED","object":' + INGRESS + '}\n', chunk=17)
    kube("events_mixed",
         '{"type":"ADDED","object":' + SERVICE + '}\n{"type":"DELETED","object":' + INGRESS +
         '}\n{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"99"}}}\n'
         '{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired",'
         '"message":"too old resource version"}}\n', chunk=5)
    kube("list_page", '{"kind":"ServiceList","metadata":{"resourceVersion":"5","continue":"c"},'
         '"items":[' + SERVICE + ',' + INGRESS + ']}', flags=1)
    kube("probe_all", '{"type":"ADDED","object":{"kind":"Service","metadata":{"name":"a",'
         '"namespace":"b","resourceVersion":"1","annotations":{"prometheus.io/probe":"false"}},'
         '"spec":{"ports":[{"port":443}]}}}', flags=1, chunk=1)
    kube("bad_annotations", '{"type":"ADDED","object":{"kind":"Service","metadata":{"name":"a",'
         '"namespace":"b","resourceVersion":"1","annotations":{"prometheus.io/probe":"true",'
         '"sonde.io/port":"nope,0,70000","sonde.io/interval":"0s","sonde.io/path":"x",'
         '"sonde.io/module":"unknown"}},"spec":{"ports":[{"port":"80"}]}}}')
    kube("strings_with_braces", '{"type":"ADDED","object":{"metadata":{"name":"}\\"{[",'
         '"resourceVersion":"1"}}} [1,[2,{"a":"]"}]]')
    kube("garbage_between", '{"type":"ADDED"} x {"type":"ADDED"}')
    kube("status_body", '{"kind":"Status","code":403,"reason":"Forbidden","message":"no"}')
    kube("duration", '1y2w3d4h5m6s7ms')


# --- probe_request: a request-target ----------------------------------------------------------
def request_seeds():
    for i, target in enumerate([
            "/probe?target=example.com&module=http_2xx",
            "/probe?target=https%3A%2F%2Fexample.com%2Fpath%3Fa%3Db&module=http_2xx&debug=true",
            "/probe?target=https%253A%252F%252Fexample.com&module=http_2xx",
            "/probe?target=a+b&target=second&hostname=h.example.com",
            "/probe?target=%zz", "/probe?target=x;y", "/probe?&&=&a&=b&c==d",
            "http://sonde.example:9115/probe?target=x", "*", "/%2Fprobe%3F?x=%E2%82%AC",
            "/logs?id=12&target=t&module=m", "/-/reload", "/probe?target=%", "/probe?target=%4",
            "//probe", "/probe#frag?target=x", "probe?target=x", "/a/../probe?target=x",
    ]):
        write("probe_request", f"target_{i:02d}", target)


if __name__ == "__main__":
    http_seeds()
    dns_seeds()
    os.makedirs(os.path.join(ROOT, "corpus", "config_loader"), exist_ok=True)
    config_seeds()
    kube_seeds()
    request_seeds()
