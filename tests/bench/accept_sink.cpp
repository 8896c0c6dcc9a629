// accept_sink: the TCP target of the scheduled-scale benchmark. It listens on the wildcard
// address bound to `lo` only (SO_BINDTODEVICE, so it takes connections to every 127/8 address
// and nothing from outside), accepts and closes, as fast as one thread can: a Python accept loop
// falls behind at a few thousand connections a second on a busy machine, and a full accept
// queue drops SYNs, which the prober sees as connect timeouts.
//
//   accept_sink PORT
//
// A benchmark tool, not part of sonde: Linux only, no dependencies, errors end the process.

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: accept_sink PORT\n");
        return 2;
    }
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(listener, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) != 0) {
        std::perror("accept_sink: cannot bind to lo only; refusing to listen on every interface");
        return 1;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<unsigned short>(std::atoi(argv[1])));
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener, 65535) != 0) {
        std::perror("accept_sink: bind/listen");
        return 1;
    }
    for (;;) {
        const int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
            close(fd);
        } else if (errno != EINTR && errno != ECONNABORTED && errno != EMFILE && errno != ENFILE) {
            std::perror("accept_sink: accept4");
            return 1;
        }
    }
}
