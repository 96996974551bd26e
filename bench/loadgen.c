/*
 * loadgen: a fan-out load generator speaking GuiGui or IRC (bench/README in fanout.py).
 *
 *   loadgen guigui|irc HOST PORT CLIENTS SENDERS RATE SECONDS
 *
 * One process, one epoll loop, non-blocking sockets. Every client logs in and
 * joins one room (GuiGui "Général", IRC "#bench"); then SENDERS of them send
 * RATE messages per second in total, each text starting with t<CLOCK_MONOTONIC
 * nanoseconds>. Every client counts the messages it receives and their latency
 * (CLOCK_MONOTONIC is shared by all processes of the machine). At the end it
 * prints one JSON object. Written in C so that the generator's own hot loop is
 * not what the benchmark measures.
 *
 * GuiGui users are registered by the generator (REGISTER, then LOGIN) as
 * b<index>; the server must run with a low bcrypt cost for that to be quick.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { GUIGUI, IRC };
enum { CONNECTING, REGISTERING, LOGGING_IN, READY };
#define BUCKET_US 10            /* latency histogram: 10 µs buckets ... */
#define BUCKETS 1000000         /* ... up to 10 s */

typedef struct {
    int fd, state;
    char *in;                   /* unparsed input */
    size_t in_len, in_cap;
    char *out;                  /* unsent output */
    size_t out_len, out_cap;
} client_t;

static int proto;
static client_t *clients;
static int n_clients, n_ready;
static uint64_t deliveries, sent;
static uint32_t *histogram;
static uint64_t latency_max_us;
static int epfd;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) { perror(what); exit(2); }

static void watch(client_t *c, int want_write) {
    struct epoll_event ev = {.events = EPOLLIN | (want_write ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
}

/* Queue bytes and try to write them at once; EPOLLOUT only while some remain. */
static void send_bytes(client_t *c, const char *data, size_t len) {
    if (c->out_len + len > c->out_cap) {
        c->out_cap = (c->out_len + len) * 2;
        c->out = realloc(c->out, c->out_cap);
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    ssize_t n = write(c->fd, c->out, c->out_len);
    if (n > 0) {
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    if (c->out_len) watch(c, 1);
}

static void send_frame(client_t *c, int type, const char *json) {
    size_t len = strlen(json);
    char header[5];
    uint32_t be = htonl((uint32_t)len + 1);
    memcpy(header, &be, 4);
    header[4] = (char)type;
    send_bytes(c, header, 5);
    send_bytes(c, json, len);
}

static void record(const char *stamp) {   /* stamp points at the digits after 't' */
    uint64_t then = strtoull(stamp, NULL, 10), now = now_ns();
    uint64_t us = now > then ? (now - then) / 1000 : 0;
    if (us > latency_max_us) latency_max_us = us;
    uint64_t bucket = us / BUCKET_US;
    histogram[bucket < BUCKETS ? bucket : BUCKETS - 1]++;
    deliveries++;
}

static void start_login(client_t *c, int index) {
    char buf[512];
    if (proto == GUIGUI) {
        send_frame(c, 0x01, "{\"id\":1,\"version\":1,\"client\":\"loadgen/1\"}");
        snprintf(buf, sizeof buf,
                 "{\"id\":2,\"login\":\"bench%d\",\"password\":\"bench password\","
                 "\"first_name\":\"Bench\",\"last_name\":\"Mark\",\"email\":\"b%d@bench.invalid\"}",
                 index, index);
        send_frame(c, 0x10, buf);
        c->state = REGISTERING;
    } else {
        snprintf(buf, sizeof buf, "NICK b%d\r\nUSER b%d 0 * :bench\r\n", index, index);
        send_bytes(c, buf, strlen(buf));
        c->state = LOGGING_IN;
    }
}

static void became_ready(client_t *c) {
    if (c->state != READY) {
        c->state = READY;
        n_ready++;
    }
}

static void on_guigui_frame(client_t *c, int index, int type, char *body) {
    if (type == 0x40) {                       /* MESSAGE */
        char *text = strstr(body, "\"text\":\"t");
        if (text) record(text + 9);
    } else if (type == 0x04) {                /* PING: PONG with the same body */
        send_frame(c, 0x05, body);
    } else if (type == 0x02 || type == 0x03) {
        if (c->state == REGISTERING && strstr(body, "\"id\":2")) {
            char buf[128];
            snprintf(buf, sizeof buf, "{\"id\":3,\"login\":\"bench%d\",\"password\":\"bench password\"}", index);
            send_frame(c, 0x11, buf);
            c->state = LOGGING_IN;
        } else if (c->state == LOGGING_IN && strstr(body, "\"id\":3")) {
            if (type == 0x03) { fprintf(stderr, "login failed: %s\n", body); exit(2); }
            became_ready(c);
        }
    }
}

static void on_irc_line(client_t *c, char *line) {
    if (strncmp(line, "PING ", 5) == 0) {
        line[1] = 'O';                        /* PING -> PONG */
        send_bytes(c, line, strlen(line));
        send_bytes(c, "\r\n", 2);
    } else if (strstr(line, " PRIVMSG ")) {
        char *text = strstr(line, " :t");
        if (text) record(text + 3);
    } else if (strstr(line, " 001 ")) {
        send_bytes(c, "JOIN #bench\r\n", 13);
    } else if (strstr(line, " 366 ")) {      /* end of NAMES: joined */
        became_ready(c);
    }
}

static void parse_input(client_t *c, int index) {
    size_t start = 0;
    if (proto == GUIGUI) {
        while (c->in_len - start >= 5) {
            uint32_t be;
            memcpy(&be, c->in + start, 4);
            size_t len = ntohl(be);
            if (c->in_len - start < 4 + len) break;
            int type = (unsigned char)c->in[start + 4];
            char saved = c->in[start + 4 + len];
            c->in[start + 4 + len] = '\0';     /* the buffer always has a spare byte */
            on_guigui_frame(c, index, type, c->in + start + 5);
            c->in[start + 4 + len] = saved;
            start += 4 + len;
        }
    } else {
        char *newline;
        while ((newline = memchr(c->in + start, '\n', c->in_len - start))) {
            *newline = '\0';
            if (newline > c->in + start && newline[-1] == '\r') newline[-1] = '\0';
            on_irc_line(c, c->in + start);
            start = (size_t)(newline - c->in) + 1;
        }
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
}

static void on_readable(client_t *c, int index) {
    for (;;) {
        if (c->in_cap - c->in_len < 65537) {
            c->in_cap = c->in_cap * 2 + 65537;
            c->in = realloc(c->in, c->in_cap);
        }
        ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1);
        if (n > 0) { c->in_len += (size_t)n; continue; }
        if (n == 0) { fprintf(stderr, "client %d: closed by the server\n", index); exit(2); }
        if (errno == EAGAIN) break;
        die("read");
    }
    parse_input(c, index);
}

static void on_writable(client_t *c) {
    ssize_t n = write(c->fd, c->out, c->out_len);
    if (n > 0) {
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    if (!c->out_len) watch(c, 0);
}

static void run_loop(int timeout_ms) {
    struct epoll_event events[512];
    int n = epoll_wait(epfd, events, 512, timeout_ms);
    for (int i = 0; i < n; i++) {
        client_t *c = events[i].data.ptr;
        int index = (int)(c - clients);
        if (events[i].events & EPOLLOUT) on_writable(c);
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c, index);
    }
}

static uint64_t percentile(double p) {
    uint64_t target = (uint64_t)(p * (double)deliveries), seen = 0;
    for (uint64_t b = 0; b < BUCKETS; b++) {
        seen += histogram[b];
        if (seen > target) return b * BUCKET_US;
    }
    return latency_max_us;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: loadgen guigui|irc HOST PORT CLIENTS SENDERS RATE SECONDS\n");
        return 2;
    }
    proto = strcmp(argv[1], "irc") == 0 ? IRC : GUIGUI;
    const char *host = argv[2];
    int port = atoi(argv[3]), senders = atoi(argv[5]);
    n_clients = atoi(argv[4]);
    double rate = atof(argv[6]), seconds = atof(argv[7]);
    clients = calloc((size_t)n_clients, sizeof *clients);
    histogram = calloc(BUCKETS, sizeof *histogram);
    epfd = epoll_create1(0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &address.sin_addr);

    uint64_t t0 = now_ns();
    for (int i = 0; i < n_clients; i++) {
        client_t *c = &clients[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0) die("socket");
        if (connect(c->fd, (struct sockaddr *)&address, sizeof address) < 0) die("connect");
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
        start_login(c, i);
        if (i % 50 == 49) run_loop(0);       /* keep answers flowing while connecting */
    }
    while (n_ready < n_clients) {
        run_loop(100);
        if ((now_ns() - t0) / 1e9 > 120) { fprintf(stderr, "only %d clients ready\n", n_ready); return 2; }
    }
    double ready_s = (double)(now_ns() - t0) / 1e9;

    struct rusage before;
    getrusage(RUSAGE_SELF, &before);
    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
    uint64_t request_id = 10;
    char buf[256];
    while (now_ns() < end) {
        uint64_t due = (uint64_t)((double)(now_ns() - start) / 1e9 * rate);
        while (sent < due) {                  /* senders take turns */
            client_t *c = &clients[sent % (uint64_t)senders];
            uint64_t stamp = now_ns();
            if (proto == GUIGUI)
                snprintf(buf, sizeof buf, "{\"id\":%llu,\"room\":\"G\xc3\xa9n\xc3\xa9ral\",\"text\":\"t%llu\"}",
                         (unsigned long long)request_id++, (unsigned long long)stamp);
            else
                snprintf(buf, sizeof buf, "PRIVMSG #bench :t%llu\r\n", (unsigned long long)stamp);
            if (proto == GUIGUI) send_frame(c, 0x24, buf); else send_bytes(c, buf, strlen(buf));
            sent++;
        }
        run_loop(1);
    }
    uint64_t drain_until = now_ns() + 2000000000ull, expected = sent * (uint64_t)(n_clients - 1);
    while (deliveries < expected && now_ns() < drain_until) run_loop(10);
    double elapsed = (double)(now_ns() - start) / 1e9;
    struct rusage after;
    getrusage(RUSAGE_SELF, &after);
    double cpu = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec + after.ru_stime.tv_sec - before.ru_stime.tv_sec)
               + (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec + after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
    printf("{\"protocol\":\"%s\",\"clients\":%d,\"senders\":%d,\"rate\":%.0f,\"seconds\":%.3f,"
           "\"ready_seconds\":%.3f,\"sent\":%llu,\"expected\":%llu,\"deliveries\":%llu,"
           "\"deliveries_per_second\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
           "\"loadgen_cpu_seconds\":%.3f}\n",
           argv[1], n_clients, senders, rate, elapsed, ready_s, (unsigned long long)sent,
           (unsigned long long)expected, (unsigned long long)deliveries,
           (double)deliveries / elapsed, percentile(0.5) / 1000.0, percentile(0.99) / 1000.0,
           latency_max_us / 1000.0, cpu);
    return 0;
}
