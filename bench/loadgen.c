/*
 * loadgen: the load generator of bench/fanout.py, speaking GuiGui or IRC.
 *
 *   loadgen fanout    guigui|irc HOST PORTS CLIENTS SENDERS RATE SECONDS [IDLE]
 *   loadgen reconnect guigui|irc HOST PORTS CLIENTS
 *
 * PORTS is one port, or a comma-separated list of ports on HOST (the nodes of
 * a cluster): connection i (active clients first, then the idle ones) goes to
 * the (i mod n)-th port, round robin.
 *
 * One process, one epoll loop, non-blocking sockets; written in C so that the
 * generator's own hot loop is not what the benchmark measures. Each mode
 * prints its figures as one JSON object on standard output.
 *
 * fanout: every client logs in and joins one room (GuiGui "Général", IRC
 *   "#bench"); then SENDERS of them send RATE messages per second in total for
 *   SECONDS, each text starting with t<CLOCK_MONOTONIC nanoseconds>. Every
 *   client counts the messages it receives and their latency (CLOCK_MONOTONIC
 *   is shared by all processes of the machine). GuiGui senders also count the
 *   OKs of their SAYs: the server answers OK once the message is stored, so
 *   the OKs are the stored messages. After SECONDS it waits up to 20 s more for
 *   the last deliveries and OKs. A client the server closes while messages
 *   flow (e.g. as too slow a reader) is counted, not fatal; if every sender is
 *   closed, "offered" (messages due) exceeds "sent".
 *   With IDLE > 0, IDLE idle connections are opened first (GuiGui: connected
 *   and HELLO answered, not logged in; IRC: NICK/USER registered, 001
 *   received, no JOIN). Then loadgen prints "IDLE_READY" on standard output
 *   and waits for a line on standard input before it goes on, so that the
 *   driver can read the server's memory in between. Idle connections only
 *   answer PINGs; the JSON says how many of them were still open at the end.
 *   Around the traffic it also prints "READY" (every client logged in) and
 *   "DONE" (last deliveries drained, nobody disconnected yet), each time
 *   waiting for a line: the driver reads the server's CPU at those two points,
 *   so logging in and logging out (presence to everyone) are not counted.
 *   With several ports, each text also carries its sender's port index,
 *   t<CLOCK_MONOTONIC nanoseconds>p<index>, and every delivery is also counted
 *   as local (sender and reader connected to the same port: the same node) or
 *   remote (another node): the JSON then has each kind's count and latency.
 *   With one port the text is t<nanoseconds> alone and the JSON as it was.
 *
 * reconnect: CLIENTS clients log in (GuiGui: REGISTER and LOGIN, keeping the
 *   session token; IRC: NICK/USER and JOIN). Then loadgen prints "LOGGED_IN"
 *   and waits for a line on standard input, which the driver writes just
 *   before it restarts the server (the restart signal). Once the server has
 *   closed every connection, client 0 tries to connect every 10 ms; as soon as
 *   it gets in (the server is back), all the others connect at once. Each
 *   client then logs in again: GuiGui HELLO and RESUME with its token; IRC,
 *   which has no RESUME, NICK/USER and JOIN. The JSON gives the seconds from
 *   the server being back to the last client back, from the restart signal to
 *   the last client back, and how many clients did not make it within 60 s.
 *
 * Setting up (not the reconnect burst): at most MAX_UNANSWERED connections at
 * a time wait for the server's first bytes (they are in its accept queue or
 * being accepted), and at most MAX_SETTING_UP are connecting or logging in.
 * ngIRCd listens with a backlog of 10: a flood of connects overflows it, the
 * kernel drops the SYNs and resends them a second later, which would measure
 * the kernel's retransmission timer rather than the server.
 *
 * GuiGui users are registered by the generator as bench<index> (REGISTER, then
 * LOGIN; REGISTER's login_taken is fine); the server must run with a low
 * bcrypt cost for that to be quick. IRC nicks are b<index>, idle ones
 * i<index>. Every GuiGui PING is answered with a PONG of the same body, every
 * IRC PING with PONG. The soft limit on open files is raised to the hard one.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
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
/* Where a connection stands. */
enum {
    UNUSED,       /* not opened yet */
    CONNECTING,   /* non-blocking connect() in progress */
    REGISTERING,  /* GuiGui: waiting for REGISTER's reply */
    LOGGING_IN,   /* HELLO (idle), LOGIN or RESUME sent; IRC: NICK/USER or JOIN sent */
    READY,        /* logged in and in the room; idle: HELLO answered or 001 received */
    CLOSED,       /* closed by the server */
    FAILED,       /* a reconnect that did not make it */
};
/* What the run is doing: decides what a connection closed by the server means. */
enum {
    SETTING_UP,   /* an active client closed is fatal */
    SENDING,      /* fanout: an active client closed is counted (e.g. too slow a reader) */
    RESTARTING,   /* reconnect: the server is restarting, closes are expected */
    RECONNECTING, /* reconnect: a client closed before it is back has failed */
};
/* Request ids of the GuiGui requests; SAYs use 10 and up. */
enum { ID_HELLO = 1, ID_REGISTER = 2, ID_LOGIN = 3, ID_RESUME = 4, ID_FIRST_SAY = 10 };

#define BUCKET_US 10            /* latency histogram: 10 µs buckets ... */
#define BUCKETS 1000000         /* ... up to 10 s */
/* After SECONDS, how long to wait for the last deliveries and OKs: long enough for a
 * saturated server to work through its backlog, so that "delivered" and "stored"
 * say whether anything was lost, not whether it was late (latency says that). */
#define DRAIN_NS 20000000000ull
#define MAX_UNANSWERED 8        /* setting up: connections without an answer yet ... */
#define MAX_SETTING_UP 128      /* ... and connections not logged in yet, at a time */
#define SETUP_TIMEOUT_S 300
#define RECONNECT_TIMEOUT_S 60

typedef struct {
    int fd, state, idle, want_write;
    int answered;               /* the server has sent something on this connection */
    char *in;                   /* unparsed input (with one spare byte for a '\0') */
    size_t in_len, in_cap;
    char *out;                  /* unsent output */
    size_t out_len, out_cap;
    char *token;                /* GuiGui session token, from LOGIN's OK */
} client_t;

#define MAX_PORTS 64

static int proto, phase = SETTING_UP, epfd, got_line;
static struct sockaddr_in server_addresses[MAX_PORTS];   /* one per port, same host */
static int n_ports;
static client_t *clients;
static int n_clients, n_idle;   /* clients[0 .. n_clients-1] active, then the idle ones */
static int n_ready, n_idle_ready, n_open, n_unanswered, n_failed, idle_closed, active_closed;
static uint64_t deliveries, sent, stored, refused;
static uint64_t last_ok_ns, last_ready_ns;
/* Latency histograms: every delivery; with several ports also local and remote ones. */
typedef struct {
    uint32_t *buckets;
    uint64_t count, max_us;
} latencies_t;

static latencies_t all_latencies, local_latencies, remote_latencies;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double seconds_since(uint64_t start) { return (double)(now_ns() - start) / 1e9; }

static void die(const char *what) { perror(what); exit(2); }

static int index_of(client_t *c) { return (int)(c - clients); }

/* Which port (node) a client talks to: round robin over the list. */
static int port_of(client_t *c) { return index_of(c) % n_ports; }

static const struct sockaddr_in *address_of(client_t *c) { return &server_addresses[port_of(c)]; }

/* Grow a buffer so that it holds at least `need` bytes. */
static void reserve(char **buffer, size_t *cap, size_t need) {
    if (need <= *cap) return;
    size_t grown = *cap ? *cap : 4096;
    while (grown < need) grown *= 2;
    *buffer = realloc(*buffer, grown);
    if (!*buffer) die("realloc");
    *cap = grown;
}

/* EPOLLIN always; EPOLLOUT only while connecting or while output is pending. */
static void watch(client_t *c, int want_write) {
    if (c->want_write == want_write) return;
    struct epoll_event ev = {.events = EPOLLIN | (want_write ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
    c->want_write = want_write;
}

/* ---- connections ---------------------------------------------------------- */

static void start_session(client_t *c);

/* The connection is gone: what that means depends on the client and the phase. */
static void lost(client_t *c, const char *why) {
    if (c->fd < 0) return;
    close(c->fd);                             /* also removes it from the epoll set */
    c->fd = -1;
    c->in_len = c->out_len = 0;
    c->want_write = 0;
    n_open--;
    if (!c->answered) n_unanswered--;
    if (c->idle) {
        idle_closed++;
    } else if (phase == SETTING_UP) {
        fprintf(stderr, "client %d: %s\n", index_of(c), why);
        exit(2);
    } else if (phase == SENDING) {
        if (!active_closed) fprintf(stderr, "client %d: %s\n", index_of(c), why);
        active_closed++;
    } else if (phase == RECONNECTING && c->state != READY) {
        if (n_failed < 5) fprintf(stderr, "reconnect of client %d failed: %s\n", index_of(c), why);
        n_failed++;
        c->state = FAILED;
        return;
    }
    c->state = CLOSED;
}

/* Start a non-blocking connect; the session starts once it is done (EPOLLOUT). */
static void open_connection(client_t *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = CONNECTING;
    c->want_write = 1;
    c->answered = 0;
    n_open++;
    n_unanswered++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    if (connect(c->fd, (const struct sockaddr *)address_of(c), sizeof server_addresses[0]) < 0
        && errno != EINPROGRESS)
        lost(c, strerror(errno));
}

/* The connect finished (EPOLLOUT or an error): log in, or give up. */
static void connect_done(client_t *c) {
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0) error = errno;
    if (error) {
        lost(c, strerror(error));
        return;
    }
    watch(c, 0);
    start_session(c);
}

/* Write as much pending output as the kernel takes; EPOLLOUT while some remains. */
static void flush_out(client_t *c) {
    if (c->fd < 0 || c->state == CONNECTING) return;   /* sent once connected */
    while (c->out_len) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) break;
            lost(c, strerror(errno));
            return;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    watch(c, c->out_len > 0);
}

/* Append one GuiGui frame (header and body in one buffer) to the output. */
static void queue_frame(client_t *c, int type, const char *json) {
    size_t len = strlen(json);
    reserve(&c->out, &c->out_cap, c->out_len + 5 + len);
    uint32_t be = htonl((uint32_t)len + 1);
    memcpy(c->out + c->out_len, &be, 4);
    c->out[c->out_len + 4] = (char)type;
    memcpy(c->out + c->out_len + 5, json, len);
    c->out_len += 5 + len;
}

/* Append text (IRC lines) to the output. */
static void queue_text(client_t *c, const char *text) {
    size_t len = strlen(text);
    reserve(&c->out, &c->out_cap, c->out_len + len);
    memcpy(c->out + c->out_len, text, len);
    c->out_len += len;
}

/* ---- sessions ------------------------------------------------------------- */

/* Connected: say who we are. Idle: HELLO or NICK/USER only; back from a restart: RESUME. */
static void start_session(client_t *c) {
    char buf[512];
    int index = index_of(c);
    if (proto == GUIGUI) {
        snprintf(buf, sizeof buf, "{\"id\":%d,\"version\":1,\"client\":\"loadgen/1\"}", ID_HELLO);
        queue_frame(c, 0x01, buf);
        if (c->idle) {
            c->state = LOGGING_IN;
        } else if (c->token) {
            snprintf(buf, sizeof buf, "{\"id\":%d,\"token\":\"%s\"}", ID_RESUME, c->token);
            queue_frame(c, 0x12, buf);
            c->state = LOGGING_IN;
        } else {
            snprintf(buf, sizeof buf,
                     "{\"id\":%d,\"login\":\"bench%d\",\"password\":\"bench password\","
                     "\"first_name\":\"Bench\",\"last_name\":\"Mark\",\"email\":\"b%d@bench.invalid\"}",
                     ID_REGISTER, index, index);
            queue_frame(c, 0x10, buf);
            c->state = REGISTERING;
        }
    } else {
        const char *prefix = c->idle ? "i" : "b";
        snprintf(buf, sizeof buf, "NICK %s%d\r\nUSER %s%d 0 * :bench\r\n", prefix, index, prefix, index);
        queue_text(c, buf);
        c->state = LOGGING_IN;
    }
    flush_out(c);
}

static void became_ready(client_t *c) {
    if (c->state == READY) return;
    c->state = READY;
    last_ready_ns = now_ns();
    if (c->idle) n_idle_ready++; else n_ready++;
}

static void add_latency(latencies_t *l, uint64_t us) {
    if (us > l->max_us) l->max_us = us;
    uint64_t bucket = us / BUCKET_US;
    l->buckets[bucket < BUCKETS ? bucket : BUCKETS - 1]++;
    l->count++;
}

/* A delivery to c; stamp points at the digits after 't' (then "p<sender's port index>"). */
static void record(client_t *c, const char *stamp) {
    char *end;
    uint64_t then = strtoull(stamp, &end, 10), now = now_ns();
    uint64_t us = now > then ? (now - then) / 1000 : 0;
    add_latency(&all_latencies, us);
    deliveries++;
    if (n_ports > 1 && *end == 'p')
        add_latency(atoi(end + 1) == port_of(c) ? &local_latencies : &remote_latencies, us);
}

/* The request id of an OK or ERROR: its first key (the server writes compact JSON). */
static long reply_id(const char *body) {
    const char *id = strstr(body, "\"id\":");
    return id ? strtol(id + 5, NULL, 10) : -1;   /* "id":null gives 0 */
}

/* Keep the session token of LOGIN's OK, for RESUME after a restart. */
static void keep_token(client_t *c, const char *body) {
    const char *token = strstr(body, "\"token\":\"");
    if (!token) return;
    token += 9;
    const char *end = strchr(token, '"');
    if (!end) return;
    free(c->token);
    c->token = strndup(token, (size_t)(end - token));
}

static void on_reply(client_t *c, int ok, char *body) {
    long id = reply_id(body);
    char buf[128];
    if (id >= ID_FIRST_SAY) {                 /* a SAY: OK once stored */
        if (ok) {
            stored++;
            last_ok_ns = now_ns();
        } else {
            if (!refused) fprintf(stderr, "a SAY was refused: %s\n", body);
            refused++;
        }
    } else if (id == ID_HELLO) {
        if (!ok) { fprintf(stderr, "client %d: HELLO refused: %s\n", index_of(c), body); exit(2); }
        if (c->idle) became_ready(c);
    } else if (id == ID_REGISTER && c->state == REGISTERING) {   /* OK or login_taken */
        snprintf(buf, sizeof buf, "{\"id\":%d,\"login\":\"bench%d\",\"password\":\"bench password\"}",
                 ID_LOGIN, index_of(c));
        queue_frame(c, 0x11, buf);
        flush_out(c);
        c->state = LOGGING_IN;
    } else if (id == ID_LOGIN) {
        if (!ok) { fprintf(stderr, "client %d: login failed: %s\n", index_of(c), body); exit(2); }
        keep_token(c, body);
        became_ready(c);
    } else if (id == ID_RESUME) {
        if (ok) became_ready(c); else lost(c, body);
    } else if (!ok) {
        fprintf(stderr, "client %d: error: %s\n", index_of(c), body);
    }
}

static void on_guigui_frame(client_t *c, int type, char *body) {
    if (type == 0x40) {                       /* MESSAGE */
        char *text = strstr(body, "\"text\":\"t");
        if (text) record(c, text + 9);
    } else if (type == 0x04) {                /* PING: PONG with the same body */
        queue_frame(c, 0x05, body);
        flush_out(c);
    } else if (type == 0x02 || type == 0x03) {
        on_reply(c, type == 0x02, body);
    }                                         /* PRESENCE, SHUTDOWN...: nothing to do */
}

/* The command of an IRC line: the word after the ":prefix", if any. */
static const char *irc_command(const char *line) {
    if (*line != ':') return line;
    const char *space = strchr(line, ' ');
    return space ? space + 1 : "";
}

static void on_irc_line(client_t *c, char *line) {
    const char *command = irc_command(line);
    if (strncmp(command, "PING ", 5) == 0) {
        queue_text(c, "PONG ");
        queue_text(c, command + 5);
        queue_text(c, "\r\n");
        flush_out(c);
    } else if (strncmp(command, "PRIVMSG ", 8) == 0) {
        char *text = strstr(command, " :t");
        if (text) record(c, text + 3);
    } else if (strncmp(command, "001 ", 4) == 0) {   /* registered */
        if (c->idle) {
            became_ready(c);
        } else {
            queue_text(c, "JOIN #bench\r\n");
            flush_out(c);
        }
    } else if (strncmp(command, "366 ", 4) == 0) {   /* end of NAMES: joined */
        became_ready(c);
    } else if (strncmp(command, "433 ", 4) == 0) {   /* nickname in use */
        lost(c, line);
    }
}

static void parse_input(client_t *c) {
    size_t start = 0;
    if (proto == GUIGUI) {
        while (c->fd >= 0 && c->in_len - start >= 5) {
            uint32_t be;
            memcpy(&be, c->in + start, 4);
            size_t len = ntohl(be);
            if (c->in_len - start < 4 + len) break;
            int type = (unsigned char)c->in[start + 4];
            char saved = c->in[start + 4 + len];
            c->in[start + 4 + len] = '\0';     /* the buffer always has a spare byte */
            on_guigui_frame(c, type, c->in + start + 5);
            if (c->fd < 0) return;             /* closed while handling it */
            c->in[start + 4 + len] = saved;
            start += 4 + len;
        }
    } else {
        char *newline;
        while (c->fd >= 0 && (newline = memchr(c->in + start, '\n', c->in_len - start))) {
            *newline = '\0';
            if (newline > c->in + start && newline[-1] == '\r') newline[-1] = '\0';
            on_irc_line(c, c->in + start);
            start = (size_t)(newline - c->in) + 1;
        }
        if (c->fd < 0) return;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
}

static void on_readable(client_t *c) {
    for (;;) {
        reserve(&c->in, &c->in_cap, c->in_len + 2);
        size_t room = c->in_cap - c->in_len - 1;
        ssize_t n = read(c->fd, c->in + c->in_len, room);
        if (n > 0) {
            c->in_len += (size_t)n;
            if (!c->answered) {
                c->answered = 1;
                n_unanswered--;
            }
            if ((size_t)n < room) break;      /* drained, most likely: epoll says if not */
            reserve(&c->in, &c->in_cap, c->in_cap * 2);
            continue;
        }
        if (n == 0) { lost(c, "closed by the server"); return; }
        if (errno == EAGAIN) break;
        lost(c, strerror(errno));
        return;
    }
    parse_input(c);
}

/* Standard input (the driver's go-ahead): a line sets got_line; its end is fatal. */
static void on_stdin(void) {
    char buf[256];
    ssize_t n = read(0, buf, sizeof buf);
    if (n <= 0) { fprintf(stderr, "standard input closed: the driver is gone\n"); exit(2); }
    if (memchr(buf, '\n', (size_t)n)) got_line = 1;
}

static void run_loop(int timeout_ms) {
    struct epoll_event events[512];
    int n = epoll_wait(epfd, events, 512, timeout_ms);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) {
        client_t *c = events[i].data.ptr;
        if (!c) { on_stdin(); continue; }
        if (c->fd < 0) continue;              /* closed earlier in this round */
        if (c->state == CONNECTING) { connect_done(c); continue; }
        if (events[i].events & EPOLLOUT) flush_out(c);
        if (c->fd >= 0 && events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
    }
}

/* Say `announcement` on standard output; serve the connections until a line comes in. */
static void wait_for_driver(const char *announcement) {
    printf("%s\n", announcement);
    fflush(stdout);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev) < 0) die("epoll_ctl on standard input (a pipe or a terminal)");
    got_line = 0;
    while (!got_line) run_loop(100);
    epoll_ctl(epfd, EPOLL_CTL_DEL, 0, NULL);
}

/* Connect and log in clients[first .. last-1], a few at a time (see the top); the seconds it took. */
static double set_up(int first, int last, const int *ready) {
    uint64_t start = now_ns();
    int next = first, ready_before = *ready, count = last - first;
    for (;;) {
        int done = *ready - ready_before;
        while (next < last && n_unanswered < MAX_UNANSWERED && next - first - done < MAX_SETTING_UP)
            open_connection(&clients[next++]);
        if (done == count) break;
        run_loop(10);
        if (idle_closed) {
            fprintf(stderr, "%d idle connections closed by the server while setting up\n", idle_closed);
            exit(2);
        }
        if (seconds_since(start) > SETUP_TIMEOUT_S) {
            fprintf(stderr, "only %d of %d connections ready after %d s (%d idle ones closed)\n",
                    done, count, SETUP_TIMEOUT_S, idle_closed);
            exit(2);
        }
    }
    return seconds_since(start);
}

/* Soft limit on open files up to the hard one; fail clearly if that is not enough. */
static void raise_open_files(int needed) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0) die("getrlimit");
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);         /* may fail for RLIM_INFINITY: checked below */
    getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < (rlim_t)needed + 16) {
        fprintf(stderr, "%d connections need more open files than allowed (%llu)\n", needed,
                (unsigned long long)limit.rlim_cur);
        exit(2);
    }
}

static uint64_t percentile(const latencies_t *l, double p) {
    uint64_t target = (uint64_t)(p * (double)l->count), seen = 0;
    for (uint64_t b = 0; b < BUCKETS; b++) {
        seen += l->buckets[b];
        if (seen > target) return b * BUCKET_US;
    }
    return l->max_us;
}

/* `"NAME_deliveries":N,"NAME_p50_ms":...,"NAME_p99_ms":...,"NAME_max_ms":...` into json. */
static void latency_json(char *json, size_t size, const char *name, const latencies_t *l) {
    snprintf(json, size, "\"%s_deliveries\":%llu,\"%s_p50_ms\":%.3f,\"%s_p99_ms\":%.3f,\"%s_max_ms\":%.3f",
             name, (unsigned long long)l->count, name, percentile(l, 0.5) / 1000.0, name,
             percentile(l, 0.99) / 1000.0, name, l->max_us / 1000.0);
}

/* ---- the two modes -------------------------------------------------------- */

/* Whether one of clients[0 .. count-1] is still connected. */
static int any_open(int count) {
    for (int i = 0; i < count; i++)
        if (clients[i].fd >= 0) return 1;
    return 0;
}

static int fanout(const char *protocol, int senders, double rate, double seconds) {
    double idle_setup_s = 0;
    if (n_idle) {
        idle_setup_s = set_up(n_clients, n_clients + n_idle, &n_idle_ready);
        wait_for_driver("IDLE_READY");
    }
    double ready_s = set_up(0, n_clients, &n_ready);
    wait_for_driver("READY");                 /* the driver reads the server's CPU here ... */

    struct rusage before;
    getrusage(RUSAGE_SELF, &before);
    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
    uint64_t request_id = ID_FIRST_SAY, turn = 0, offered = 0;   /* offered: due so far */
    char buf[256];
    phase = SENDING;
    while (now_ns() < end) {
        uint64_t due = (uint64_t)((double)(now_ns() - start) / 1e9 * rate);
        offered = due;                        /* more than sent if every sender was closed */
        while (sent < due) {                  /* senders take turns */
            client_t *c = &clients[turn++ % (uint64_t)senders];
            if (c->fd < 0) {                  /* closed by the server: the others send */
                if (!any_open(senders)) break;
                continue;
            }
            uint64_t stamp = now_ns();
            char text[64];                    /* t<stamp>, and p<port index> with several ports */
            int length = snprintf(text, sizeof text, "t%llu", (unsigned long long)stamp);
            if (n_ports > 1) snprintf(text + length, sizeof text - (size_t)length, "p%d", port_of(c));
            if (proto == GUIGUI) {
                snprintf(buf, sizeof buf, "{\"id\":%llu,\"room\":\"G\xc3\xa9n\xc3\xa9ral\",\"text\":\"%s\"}",
                         (unsigned long long)request_id++, text);
                queue_frame(c, 0x24, buf);
            } else {
                snprintf(buf, sizeof buf, "PRIVMSG #bench :%s\r\n", text);
                queue_text(c, buf);
            }
            flush_out(c);
            sent++;
        }
        run_loop(1);
    }
    uint64_t drain_until = now_ns() + DRAIN_NS, expected = sent * (uint64_t)(n_clients - 1);
    while ((deliveries < expected || (proto == GUIGUI && stored + refused < sent))
           && now_ns() < drain_until)
        run_loop(10);
    double elapsed = seconds_since(start);
    struct rusage after;
    getrusage(RUSAGE_SELF, &after);
    wait_for_driver("DONE");                  /* ... and here, before anyone disconnects */
    double cpu = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec + after.ru_stime.tv_sec - before.ru_stime.tv_sec)
               + (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec + after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
    /* Stored messages per second: over the time until the last OK. */
    double stored_s = last_ok_ns > start ? (double)(last_ok_ns - start) / 1e9 : elapsed;
    char stored_json[128] = "\"stored\":null,\"refused\":null,\"stored_per_second\":null";
    if (proto == GUIGUI)
        snprintf(stored_json, sizeof stored_json, "\"stored\":%llu,\"refused\":%llu,\"stored_per_second\":%.0f",
                 (unsigned long long)stored, (unsigned long long)refused, (double)stored / stored_s);
    /* With several ports: each kind of delivery, local and remote (see the top). */
    char nodes_json[512] = "";
    if (n_ports > 1) {
        char local[240], remote[240];
        latency_json(local, sizeof local, "local", &local_latencies);
        latency_json(remote, sizeof remote, "remote", &remote_latencies);
        snprintf(nodes_json, sizeof nodes_json, ",\"ports\":%d,%s,%s", n_ports, local, remote);
    }
    printf("{\"protocol\":\"%s\",\"clients\":%d,\"senders\":%d,\"rate\":%.0f,\"seconds\":%.3f,"
           "\"ready_seconds\":%.3f,\"offered\":%llu,\"sent\":%llu,\"expected\":%llu,\"deliveries\":%llu,"
           "\"deliveries_per_second\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
           "\"loadgen_cpu_seconds\":%.3f,%s,\"closed\":%d,\"idle\":%d,\"idle_open\":%d,\"idle_setup_seconds\":%.3f%s}\n",
           protocol, n_clients, senders, rate, elapsed, ready_s, (unsigned long long)offered, (unsigned long long)sent,
           (unsigned long long)expected, (unsigned long long)deliveries,
           (double)deliveries / elapsed, percentile(&all_latencies, 0.5) / 1000.0,
           percentile(&all_latencies, 0.99) / 1000.0, all_latencies.max_us / 1000.0, cpu, stored_json,
           active_closed, n_idle, n_idle - idle_closed, idle_setup_s, nodes_json);
    return 0;
}

static int reconnect(const char *protocol) {
    double login_s = set_up(0, n_clients, &n_ready);
    wait_for_driver("LOGGED_IN");
    uint64_t signal_ns = now_ns();
    phase = RESTARTING;
    while (n_open > 0) {                      /* the stopping server closes everyone */
        run_loop(10);
        if (seconds_since(signal_ns) > RECONNECT_TIMEOUT_S) {
            fprintf(stderr, "%d connections still open %d s after the restart signal\n", n_open,
                    RECONNECT_TIMEOUT_S);
            exit(2);
        }
    }
    /* Client 0 probes until the restarted server accepts connections. */
    client_t *probe = &clients[0];
    for (;;) {
        probe->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (probe->fd < 0) die("socket");
        if (connect(probe->fd, (const struct sockaddr *)address_of(probe), sizeof server_addresses[0]) == 0) break;
        close(probe->fd);
        if (seconds_since(signal_ns) > RECONNECT_TIMEOUT_S) {
            fprintf(stderr, "the server did not come back within %d s\n", RECONNECT_TIMEOUT_S);
            exit(2);
        }
        usleep(10000);
    }
    uint64_t back_ns = now_ns();
    phase = RECONNECTING;
    n_ready = 0;
    int one = 1;
    setsockopt(probe->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(probe->fd, F_SETFL, O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = probe};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, probe->fd, &ev) < 0) die("epoll_ctl");
    probe->want_write = 0;
    probe->answered = 0;
    n_open++;
    n_unanswered++;
    start_session(probe);
    for (int i = 1; i < n_clients; i++) open_connection(&clients[i]);   /* all at once */
    while (n_ready + n_failed < n_clients && seconds_since(back_ns) < RECONNECT_TIMEOUT_S) run_loop(10);
    int failed = n_clients - n_ready;         /* refused, closed, or not back in time */
    uint64_t last_ns = n_ready ? last_ready_ns : now_ns();
    printf("{\"protocol\":\"%s\",\"clients\":%d,\"login_seconds\":%.3f,\"down_seconds\":%.3f,"
           "\"back_seconds\":%.3f,\"total_seconds\":%.3f,\"back\":%d,\"failed\":%d}\n",
           protocol, n_clients, login_s, (double)(back_ns - signal_ns) / 1e9,
           (double)(last_ns - back_ns) / 1e9, (double)(last_ns - signal_ns) / 1e9, n_ready, failed);
    return 0;
}

static int usage(void) {
    fprintf(stderr, "usage: loadgen fanout guigui|irc HOST PORT[,PORT...] CLIENTS SENDERS RATE SECONDS [IDLE]\n"
                    "       loadgen reconnect guigui|irc HOST PORT[,PORT...] CLIENTS\n");
    return 2;
}

/* The addresses of HOST at each port of a comma-separated list; 0 if the list is bad. */
static int parse_addresses(const char *host, const char *ports) {
    struct in_addr address;
    if (inet_pton(AF_INET, host, &address) != 1) return 0;
    for (const char *p = ports; ; ) {
        char *end;
        long port = strtol(p, &end, 10);
        if (end == p || port <= 0 || port > 65535 || n_ports == MAX_PORTS) return 0;
        server_addresses[n_ports].sin_family = AF_INET;
        server_addresses[n_ports].sin_port = htons((uint16_t)port);
        server_addresses[n_ports].sin_addr = address;
        n_ports++;
        if (*end == '\0') return 1;
        if (*end != ',') return 0;
        p = end + 1;
    }
}

static uint32_t *new_buckets(void) {
    uint32_t *buckets = calloc(BUCKETS, sizeof *buckets);
    if (!buckets) die("calloc");
    return buckets;
}

int main(int argc, char **argv) {
    if (argc < 6) return usage();
    int is_fanout = strcmp(argv[1], "fanout") == 0;
    if (is_fanout ? (argc != 9 && argc != 10) : (strcmp(argv[1], "reconnect") != 0 || argc != 6))
        return usage();
    proto = strcmp(argv[2], "irc") == 0 ? IRC : GUIGUI;
    if (!parse_addresses(argv[3], argv[4])) return usage();
    n_clients = atoi(argv[5]);
    n_idle = is_fanout && argc == 10 ? atoi(argv[9]) : 0;
    raise_open_files(n_clients + n_idle);
    signal(SIGPIPE, SIG_IGN);
    clients = calloc((size_t)(n_clients + n_idle), sizeof *clients);
    if (!clients) die("calloc");
    all_latencies.buckets = new_buckets();
    if (n_ports > 1) {
        local_latencies.buckets = new_buckets();
        remote_latencies.buckets = new_buckets();
    }
    for (int i = 0; i < n_clients + n_idle; i++) {
        clients[i].fd = -1;
        clients[i].idle = i >= n_clients;
    }
    epfd = epoll_create1(0);
    if (epfd < 0) die("epoll_create1");
    if (is_fanout) return fanout(argv[2], atoi(argv[6]), atof(argv[7]), atof(argv[8]));
    return reconnect(argv[2]);
}
