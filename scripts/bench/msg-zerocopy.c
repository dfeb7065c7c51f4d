/* One of issue 15's tries at going under the epoll floor: does MSG_ZEROCOPY
 * pay for large sends on loopback, where bench and its servers meet here?
 *
 *   cc -O2 -o msg-zerocopy msg-zerocopy.c
 *   msg-zerocopy SIZE TOTAL ZEROCOPY     e.g. msg-zerocopy 65536 4000000000 1
 *
 * Sends TOTAL bytes over a loopback TCP connection in SIZE-byte send()s, with
 * MSG_ZEROCOPY (ZEROCOPY 1: SO_ZEROCOPY set, completions read from the error
 * queue every 16 sends and waited for at the end) or without (0), to a
 * child that reads and drops them. Prints the CPU time (user + system) of
 * the sender, of the reader and of both: on loopback the reader's copy
 * stays, so only "both" says whether the machine did less work. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

static double seconds(const struct rusage *r)
{
    return (double)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) +
           (double)(r->ru_utime.tv_usec + r->ru_stime.tv_usec) / 1e6;
}

/* Reads the completions queued so far: sends completed, and how many of
 * them the kernel copied after all. */
static void completions(int fd, long *done, long *copied)
{
    char ctl[256];
    struct msghdr m;
    for (;;) {
        memset(&m, 0, sizeof(m));
        m.msg_control = ctl;
        m.msg_controllen = sizeof(ctl);
        if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
            return;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        if (!cm)
            continue;
        struct sock_extended_err e;
        memcpy(&e, CMSG_DATA(cm), sizeof(e));
        *done += (long)(e.ee_data - e.ee_info) + 1;
        if (e.ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
            (*copied)++;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: msg-zerocopy SIZE TOTAL ZEROCOPY(0|1)\n");
        return 2;
    }
    size_t size = strtoul(argv[1], NULL, 10);
    long total = atol(argv[2]);
    int zc = atoi(argv[3]);
    if (size == 0 || total <= 0) {
        fprintf(stderr, "msg-zerocopy: SIZE and TOTAL must be positive\n");
        return 2;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &al) < 0) {
        perror("msg-zerocopy: listen");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        char *b = malloc(1 << 20);
        if (s < 0 || !b || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
            _exit(1);
        while (read(s, b, 1 << 20) > 0)
            ;
        _exit(0);
    }
    int s = accept(ls, NULL, NULL), one = 1;
    if (s < 0 || (zc && setsockopt(s, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) < 0)) {
        perror("msg-zerocopy: accept/SO_ZEROCOPY");
        return 1;
    }
    char *buf = malloc(size);
    if (!buf)
        return 1;
    memset(buf, 'x', size);
    struct rusage r0, r1, rc;
    getrusage(RUSAGE_SELF, &r0);
    long sent = 0, calls = 0, done = 0, copied = 0;
    while (sent < total) {
        ssize_t n = send(s, buf, size, zc ? MSG_ZEROCOPY : 0);
        if (n < 0 && errno == ENOBUFS) { /* too many completions pending */
            completions(s, &done, &copied);
            continue;
        }
        if (n < 0) {
            perror("msg-zerocopy: send");
            return 1;
        }
        sent += n;
        calls++;
        if (zc && (calls & 15) == 0)
            completions(s, &done, &copied);
    }
    while (zc && done < calls) {
        struct pollfd p = {s, 0, 0};
        poll(&p, 1, 10);
        completions(s, &done, &copied);
    }
    getrusage(RUSAGE_SELF, &r1);
    shutdown(s, SHUT_WR);
    close(s);
    int st;
    wait4(pid, &st, 0, &rc);
    double snd = seconds(&r1) - seconds(&r0), rcv = seconds(&rc);
    printf("size %zu zerocopy %d: %.1f GB in %ld sends; CPU s: sender %.3f, reader %.3f, both %.3f; "
           "completions %ld, copied %ld\n",
           size, zc, (double)total / 1e9, calls, snd, rcv, snd + rcv, done, copied);
    return 0;
}
