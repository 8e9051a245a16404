/* A bare RTP relay, the yardstick for sipbox's per-packet cost (README, Benchmarks, issue 15).
 *
 * The same socket layout and loop shape as sipbox's driver: per call two UDP port pairs
 * (RTP + RTCP, as sipbox binds them) on 127.0.0.1, every socket non-blocking in one
 * edge-triggered epoll, each ready socket read with recvfrom until EAGAIN, each datagram sent
 * on with one sendto out of the other leg's RTP socket to that leg's remote. The remote of a
 * leg is learned from its first packet (comedia); until the other leg's remote is known a
 * packet is dropped. Nothing else: no parsing, no clock, no allocation per packet.
 *
 * Usage: relay CALLS. Prints one line per call, "PORT_A PORT_B" (the RTP ports a load
 * generator sends the caller's and the callee's packets to), then "ready", and relays until
 * stdin closes (or SIGTERM). Build: cc -O2 -o relay relay.c (scripts/relay_vs_c.sh does).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct leg {
    int fd;                  /* RTP socket */
    int rtcp;                /* RTCP socket: bound, watched, idle (as sipbox's) */
    int peer;                /* index of the other leg */
    int learned;
    struct sockaddr_in remote;
};

static int bind_any(unsigned short port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a;
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { close(fd); return -1; }
    return fd;
}

static unsigned short port_of(int fd) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    return ntohs(a.sin_port);
}

/* An even port whose odd neighbour is free too, from `*next` on. */
static int bind_pair(unsigned short *next, int *rtcp) {
    while (*next < 65000) {
        unsigned short p = *next;
        *next += 2;
        int a = bind_any(p);
        if (a < 0) continue;
        int b = bind_any(p + 1);
        if (b < 0) { close(a); continue; }
        *rtcp = b;
        return a;
    }
    return -1;
}

int main(int argc, char **argv) {
    int calls = argc > 1 ? atoi(argv[1]) : 100;
    unsigned short next = argc > 2 ? (unsigned short)atoi(argv[2]) : 40000;
    int nlegs = 2 * calls;
    struct leg *legs = calloc((size_t)nlegs, sizeof *legs);
    int ep = epoll_create1(0);
    if (!legs || ep < 0) { perror("setup"); return 1; }
    for (int i = 0; i < nlegs; i++) {
        legs[i].fd = bind_pair(&next, &legs[i].rtcp);
        if (legs[i].fd < 0) { perror("bind"); return 1; }
        legs[i].peer = i ^ 1;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = (unsigned)i};
        struct epoll_event ev2 = {.events = EPOLLIN | EPOLLET, .data.u32 = 0x80000000u};
        epoll_ctl(ep, EPOLL_CTL_ADD, legs[i].fd, &ev);
        epoll_ctl(ep, EPOLL_CTL_ADD, legs[i].rtcp, &ev2);
    }
    struct epoll_event in = {.events = EPOLLIN, .data.u32 = 0x40000000u};
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in);
    for (int c = 0; c < calls; c++)
        printf("%u %u\n", port_of(legs[2 * c].fd), port_of(legs[2 * c + 1].fd));
    printf("ready\n");
    fflush(stdout);

    static unsigned char buf[65536];
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0) { if (errno == EINTR) continue; break; }
        for (int e = 0; e < n; e++) {
            unsigned id = evs[e].data.u32;
            if (id == 0x40000000u) {
                if (read(0, buf, sizeof buf) <= 0) return 0;
                continue;
            }
            if (id & 0x80000000u) continue; /* RTCP: never sent in this bench */
            struct leg *l = &legs[id];
            for (;;) {
                struct sockaddr_in from;
                socklen_t fl = sizeof from;
                ssize_t len = recvfrom(l->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
                if (len < 0) {
                    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                    continue;
                }
                if (!l->learned) { l->remote = from; l->learned = 1; }
                struct leg *p = &legs[l->peer];
                if (p->learned)
                    sendto(p->fd, buf, (size_t)len, 0, (struct sockaddr *)&p->remote, sizeof p->remote);
            }
        }
    }
    return 0;
}
