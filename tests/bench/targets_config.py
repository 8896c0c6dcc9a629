#!/usr/bin/env python3
"""The `targets:` section of a sonde config with N distinct loopback targets 127.x.y.z, from
127.1.0.1 on, 1,000 a group, for the scheduled-scale benchmarks.

    targets_config.py N INTERVAL_SECONDS MODULE PORT

tcp_connect targets are 127.x.y.z:PORT; other modules (icmp) take the bare address.
"""
import sys

count, interval, module, port = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def address(i):
    n = (1 << 16) + 1 + i
    return "127.%d.%d.%d" % (n >> 16, (n >> 8) & 255, n & 255)


print("targets:")
for start in range(0, count, 1000):
    group = [address(i) + (":" + port if module == "tcp_connect" else "")
             for i in range(start, min(count, start + 1000))]
    print("  - {module: %s, interval: %ss, targets: [%s]}" % (module, interval, ", ".join(group)))
