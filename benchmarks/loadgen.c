/*
 * Echo load generator for trio_circuits' benchmarks (built by benchmarks/run.py).
 *
 *   loadgen HOST PORT CONNS SECONDS MODE SIZE [PROBE]
 *
 * MODE "rr": each connection sends SIZE bytes, waits for SIZE bytes back, records
 *            the round-trip latency and repeats (one request in flight per
 *            connection).
 * MODE "stream": each connection keeps up to 1 MiB in flight in SIZE-byte writes
 *            and counts the bytes echoed back.
 * MODE "connect": as "rr", but each connection is closed after its echo and a new
 *            one dialled (the accept path: CONNS connections in flight at a time).
 * PROBE = 1: half-way through, open one extra connection and time its first echo
 *            (accept starvation check).
 *
 * Prints one JSON line.  Single-threaded epoll: one core drives the load, leaving the
 * other to the server.  Only connects to the address it is given (loopback).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUCKET_US 10
#define NBUCKETS 200000 /* 2 s of 10 us buckets */
#define WINDOW (1 << 20)

typedef struct {
    int fd;
    size_t got;          /* rr: bytes of the current reply; stream: unused */
    size_t sent_part;    /* rr: bytes of the current request already sent */
    double sent_at;
    long long in_flight; /* stream: bytes sent and not yet echoed */
    int writing;
} conn_t;

static uint64_t hist[NBUCKETS];
static uint64_t completed;
static uint64_t bytes_back;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dial(const char *host, int port) {
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    int family;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        family = AF_INET;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        len = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        family = AF_INET6;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        len = sizeof *a6;
    } else {
        fprintf(stderr, "loadgen: not a numeric address: %s\n", host);
        exit(2);
    }
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
        perror("loadgen: connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void record(double seconds) {
    long b = (long)(seconds * 1e6 / BUCKET_US);
    if (b >= NBUCKETS) b = NBUCKETS - 1;
    hist[b]++;
}

static double percentile(double p) {
    uint64_t total = 0, seen = 0;
    for (long i = 0; i < NBUCKETS; i++) total += hist[i];
    if (!total) return 0;
    uint64_t want = (uint64_t)(p * total);
    for (long i = 0; i < NBUCKETS; i++) {
        seen += hist[i];
        if (seen > want) return (i + 0.5) * BUCKET_US;
    }
    return NBUCKETS * BUCKET_US;
}

/* rr: push the rest of the current request; returns 0 when fully sent. */
static void rr_send(conn_t *c, const char *buf, size_t size) {
    while (c->sent_part < size) {
        ssize_t n = send(c->fd, buf + c->sent_part, size - c->sent_part, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) return;
            perror("loadgen: send");
            exit(1);
        }
        c->sent_part += n;
    }
}

static double probe_first_echo(const char *host, int port, const char *buf, size_t size) {
    double start = now();
    int fd = dial(host, port);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (send(fd, buf, size, MSG_NOSIGNAL) != (ssize_t)size) return -1;
    char in[65536];
    size_t got = 0;
    while (got < size) {
        ssize_t n = recv(fd, in, sizeof in, 0);
        if (n <= 0) { close(fd); return -1; }
        got += n;
    }
    close(fd);
    return (now() - start) * 1e3;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: loadgen HOST PORT CONNS SECONDS rr|stream|connect SIZE [PROBE]\n");
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    int nconns = atoi(argv[3]);
    double seconds = atof(argv[4]);
    int stream = strcmp(argv[5], "stream") == 0;
    int reconnect = strcmp(argv[5], "connect") == 0;
    size_t size = (size_t)atol(argv[6]);
    int probe = argc > 7 && atoi(argv[7]);
    if (nconns < 1 || size < 1 || size > (1 << 20) || seconds <= 0) {
        fprintf(stderr, "loadgen: bad arguments\n");
        return 2;
    }
    char *out = malloc(size);
    char *in = malloc(1 << 16);
    memset(out, 'x', size);
    int ep = epoll_create1(0);
    conn_t *conns = calloc(nconns, sizeof *conns);
    for (int i = 0; i < nconns; i++) {
        conns[i].fd = dial(host, port);
        struct epoll_event ev = {.events = EPOLLIN | (stream ? EPOLLOUT : 0), .data.ptr = &conns[i]};
        conns[i].writing = stream;
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    double start = now(), end = start + seconds, probe_at = start + seconds / 2;
    double probe_ms = -2;
    if (!stream)
        for (int i = 0; i < nconns; i++) {
            conns[i].sent_at = now();
            rr_send(&conns[i], out, size);
        }
    struct epoll_event events[1024];
    while (1) {
        double t = now();
        if (t >= end) break;
        if (probe && probe_ms == -2 && t >= probe_at) probe_ms = probe_first_echo(host, port, out, size);
        int n = epoll_wait(ep, events, 1024, 50);
        for (int k = 0; k < n; k++) {
            conn_t *c = events[k].data.ptr;
            if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    ssize_t r = recv(c->fd, in, 1 << 16, 0);
                    if (r < 0) {
                        if (errno == EAGAIN) break;
                        perror("loadgen: recv");
                        exit(1);
                    }
                    if (r == 0) {
                        fprintf(stderr, "loadgen: server closed a connection\n");
                        exit(1);
                    }
                    bytes_back += r;
                    if (stream) {
                        c->in_flight -= r;
                        completed += 0;
                    } else {
                        c->got += r;
                        int echoed = 0;
                        while (c->got >= size) {
                            c->got -= size;
                            completed++;
                            echoed = 1;
                            record(now() - c->sent_at);
                            if (reconnect) break;
                            c->sent_at = now();
                            c->sent_part = 0;
                            rr_send(c, out, size);
                        }
                        if (reconnect && echoed) {
                            /* echoed whole: close it, dial the next one */
                            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                            close(c->fd);
                            c->fd = dial(host, port);
                            c->got = 0;
                            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
                            c->sent_at = now();
                            c->sent_part = 0;
                            rr_send(c, out, size);
                            break;
                        }
                    }
                }
            }
            if (!stream && c->sent_part < size) rr_send(c, out, size);
            if (stream) {
                while (c->in_flight < WINDOW) {
                    ssize_t w = send(c->fd, out, size, MSG_NOSIGNAL);
                    if (w < 0) {
                        if (errno == EAGAIN) break;
                        perror("loadgen: send");
                        exit(1);
                    }
                    c->in_flight += w;
                }
                int want = c->in_flight < WINDOW;
                if (want != c->writing) {
                    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                    c->writing = want;
                }
            }
        }
    }
    double elapsed = now() - start;
    printf("{\"mode\": \"%s\", \"conns\": %d, \"size\": %zu, \"seconds\": %.3f, "
           "\"msgs_per_sec\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"mb_per_sec\": %.2f, "
           "\"probe_first_echo_ms\": %.3f}\n",
           stream ? "stream" : reconnect ? "connect" : "rr", nconns, size, elapsed, completed / elapsed,
           percentile(0.50), percentile(0.99), bytes_back / elapsed / 1e6,
           probe ? probe_ms : -1.0);
    for (int i = 0; i < nconns; i++) close(conns[i].fd);
    return 0;
}
