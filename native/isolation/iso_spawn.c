/*
 * Runner processes: starting one, talking to it about its lifecycle, waiting for its end.
 *
 * Runners are forked by one long-lived thread of this library. PR_SET_PDEATHSIG fires when
 * the *thread* that forked the child exits, not only the process: forking from whichever
 * Python thread asked would kill the runner when that thread ends. The spawner thread lives
 * as long as the process, so the runner dies exactly when the host does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iso_host.h"

#define TICK_NS 100000000ull       /* the host's watchdog of fire-and-forget calls */
#define ASYNC_BUDGET_NS 2000000000ull

static void forget_spawner(void);
static void iso_register_atfork(void) { pthread_atfork(NULL, NULL, forget_spawner); }

/* ---- the spawner thread --------------------------------------------------------------------- */

typedef struct spawn_req {
    const char* path;
    int child_sock;
    char pid_arg[24];
    pid_t pid;
    int error;      /* errno of a failed fork or exec */
    int done;
    struct spawn_req* next;
} spawn_req;

static pthread_mutex_t spawn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t spawn_cond = PTHREAD_COND_INITIALIZER;
static spawn_req* spawn_queue;
static int spawner_running;

static void child(spawn_req* req, int report)
{
    /* Between fork and exec: async-signal-safe calls only. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* A process group of its own: a Ctrl-C at the terminal is for the host, which then
     * stops its runners itself; the runner dies with the host anyway (the line above). */
    setpgid(0, 0);
    /* The socket goes to fd 3 and the report pipe (close-on-exec) to 4; both are first
     * moved above 10 so neither dup2 can overwrite the other. */
    int sock = fcntl(req->child_sock, F_DUPFD, 10);
    int moved = fcntl(report, F_DUPFD_CLOEXEC, 10);
    if (sock < 0 || moved < 0)
        goto fail;
    report = moved;
    if (dup2(sock, 3) < 0 || dup2(report, 4) < 0)
        goto fail;
    report = 4;
    fcntl(4, F_SETFD, FD_CLOEXEC);
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 5, ~0U, 0) != 0)
#endif
    {
        for (int fd = 5; fd < 65536; ++fd)
            close(fd);
    }
    char* argv[] = {(char*)req->path, "3", req->pid_arg, NULL};
    execv(req->path, argv);
fail:;
    int err = errno;
    ssize_t ignored = write(report, &err, sizeof err);
    (void)ignored;
    _exit(127);
}

static void spawn_one(spawn_req* req)
{
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        req->error = errno;
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        child(req, report[1]);
    close(report[1]);
    if (pid < 0) {
        req->error = errno;
        close(report[0]);
        return;
    }
    int err = 0;
    ssize_t n;
    do {
        n = read(report[0], &err, sizeof err);
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof err) {  /* exec failed: the child wrote why and exited */
        req->error = err ? err : ENOEXEC;
        waitpid(pid, NULL, 0);
        return;
    }
    req->pid = pid;
}

static void* spawner_main(void* unused)
{
    (void)unused;
    pthread_mutex_lock(&spawn_lock);
    for (;;) {
        while (!spawn_queue)
            pthread_cond_wait(&spawn_cond, &spawn_lock);
        spawn_req* req = spawn_queue;
        spawn_queue = req->next;
        pthread_mutex_unlock(&spawn_lock);
        spawn_one(req);
        pthread_mutex_lock(&spawn_lock);
        req->done = 1;
        pthread_cond_broadcast(&spawn_cond);
    }
    return NULL;
}

/* A forked copy of the host has no spawner thread: the next spawn there starts one. */
static void forget_spawner(void)
{
    pthread_mutex_init(&spawn_lock, NULL);
    pthread_cond_init(&spawn_cond, NULL);
    spawn_queue = NULL;
    spawner_running = 0;
}

static int spawn(spawn_req* req)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, iso_register_atfork);
    pthread_mutex_lock(&spawn_lock);
    if (!spawner_running) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* Block every signal in the spawner: Python handles them on its main thread. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int rc = pthread_create(&thread, &attr, spawner_main, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            pthread_mutex_unlock(&spawn_lock);
            return rc;
        }
        spawner_running = 1;
    }
    req->next = spawn_queue;
    spawn_queue = req;
    pthread_cond_broadcast(&spawn_cond);
    while (!req->done)
        pthread_cond_wait(&spawn_cond, &spawn_lock);
    pthread_mutex_unlock(&spawn_lock);
    return req->error;
}

/* ---- channels ----------------------------------------------------------------------------- */

static void on_timeout(iso_ep* ep)
{
    phn_iso_channel* c = ep->ctx;
    iso_note_failure(c, iso_calling_what());  /* runs on the thread whose call timed out */
    pthread_mutex_lock(&c->lock);
    c->killed_for_deadline = 1;
    pthread_mutex_unlock(&c->lock);
    phn_iso_kill(c);
}

static void destroy(iso_ep* ep)
{
    /* Last reference: the mapping and the socket go; the struct stays with the plugin (a
     * late proxy call still reads its `dead` flag) until the plugin is freed. */
    phn_iso_channel* c = ep->ctx;
    munmap(ep->shm, c->shm_size);
    ep->shm = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->sock >= 0)
        close(c->sock);
    c->sock = -1;
    pthread_mutex_unlock(&c->lock);
    atomic_store(&c->destroyed, 1);  /* last: the struct may be freed from now on */
}

/* Fire-and-forget calls have no waiter: the doorbell thread checks they finish in time. */
static void watchdog(iso_ep* ep)
{
    phn_iso_channel* c = ep->ctx;
    uint64_t since = atomic_load_explicit(&ep->shm->ring_busy_since, memory_order_relaxed);
    if (!since)
        return;
    uint64_t now = iso_now_ns();
    uint64_t done = atomic_load(&ep->shm->ring_done);
    pthread_mutex_lock(&c->lock);
    const char* guid = c->async_names[done % ISO_ASYNC_NAMES];
    pthread_mutex_unlock(&c->lock);
    uint64_t budget = guid ? iso_hook_deadline(c->plugin, guid) : ASYNC_BUDGET_NS;
    if (now > since && now - since > budget) {
        iso_note_failure(c, guid);
        on_timeout(ep);
        iso_ep_mark_dead(ep);
    }
}

static void* doorbell_main(void* p)
{
    phn_iso_channel* c = p;
    iso_doorbell_loop(&c->ep, watchdog, TICK_NS);
    iso_ep_unref(&c->ep);
    return NULL;
}

static int send_memory(int sock, int memfd, uint64_t size)
{
    char hello[16] = "PYISO1\0\0";
    memcpy(hello + 8, &size, sizeof size);
    struct iovec io = {hello, sizeof hello};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {0};
    msg.msg_iov = &io;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &memfd, sizeof(int));
    ssize_t n;
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof hello ? 0 : -1;
}

phn_iso_channel* phn_iso_spawn(phn_iso_plugin* p, const char* runner_path, char* err,
                               size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    uint64_t size = (sizeof(iso_shm) + 4095) & ~(uint64_t)4095;
    int sv[2] = {-1, -1};
    int memfd = -1;
    iso_shm* shm = MAP_FAILED;
    phn_iso_channel* c = NULL;
    const char* failed = "cannot create the shared memory";
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        goto fail;
    memfd = memfd_create("pyhost-isolation", MFD_CLOEXEC);
    if (memfd < 0 || ftruncate(memfd, (off_t)size) != 0)
        goto fail;
    shm = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (shm == MAP_FAILED)
        goto fail;
    iso_shm_format(shm, size);
    c = calloc(1, sizeof *c);
    if (!c)
        goto fail;
    spawn_req req;
    memset(&req, 0, sizeof req);
    req.path = runner_path;
    req.child_sock = sv[1];
    snprintf(req.pid_arg, sizeof req.pid_arg, "%ld", (long)getpid());
    int rc = spawn(&req);
    close(sv[1]);
    sv[1] = -1;
    if (rc != 0) {
        if (err)
            snprintf(err, errlen, "cannot start the runner %s: %s", runner_path, strerror(rc));
        failed = NULL;
        goto fail;
    }
    failed = "cannot hand the shared memory to the runner";
    if (send_memory(sv[0], memfd, size) != 0) {
        kill(req.pid, SIGKILL);
        waitpid(req.pid, NULL, 0);
        goto fail;
    }
    close(memfd);
    c->plugin = p;
    c->shm_size = size;
    c->sock = sv[0];
    c->pid = req.pid;
    pthread_mutex_init(&c->lock, NULL);
    iso_ep_init(&c->ep, shm, ISO_SIDE_HOST, iso_host_handle, c);
    c->ep.on_timeout = on_timeout;
    c->ep.destroy = destroy;
    pthread_mutex_lock(&p->lock);
    c->next = p->channels;
    p->channels = c;
    pthread_mutex_unlock(&p->lock);
    /* The doorbell thread starts the host's servers for the lanes the runner calls on. */
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    iso_ep_ref(&c->ep);
    sigset_t all, old;  /* signals are the host's business: not for this thread */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int started = pthread_create(&thread, &attr, doorbell_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started != 0) {
        iso_ep_unref(&c->ep);
        phn_iso_kill(c);
    }
    pthread_attr_destroy(&attr);
    return c;
fail:
    if (failed && err)
        snprintf(err, errlen, "%s: %s", failed, strerror(errno));
    if (shm != MAP_FAILED)
        munmap(shm, size);
    if (memfd >= 0)
        close(memfd);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    free(c);
    return NULL;
}

int phn_iso_pid(phn_iso_channel* c) { return (int)c->pid; }

static int simple_call(phn_iso_channel* c, uint32_t op, iso_w* w, iso_msg* reply,
                       uint64_t budget_ns, const char* what)
{
    return iso_call_what(c, op, w, reply, budget_ns, what);
}

int phn_iso_open(phn_iso_channel* c, const char* path, uint64_t budget_ns, phn_iso_blob* out)
{
    iso_w w;
    iso_msg reply;
    iso_w_init(&w);
    iso_msg_init(&reply);
    iso_w_str(&w, path);
    int rc = simple_call(c, ISO_OP_OPEN, &w, &reply, budget_ns, "pluginInit");
    if (rc == ISO_OK) {
        out->data = malloc(reply.len ? reply.len : 1);
        out->len = out->data ? reply.len : 0;
        if (out->data)
            memcpy(out->data, reply.p, reply.len);
        else
            rc = ISO_ENOMEM;
    }
    iso_msg_free(&reply);
    iso_w_free(&w);
    return rc;
}

static const char* state_name(int state)
{
    static const char* names[] = {"ON_INSTALL", "ON_LOAD", "ON_LOAD_RUNTIME", "ON_CONFIGURE",
                                  "ON_UNLOAD", "ON_UNINSTALL"};
    return state >= 0 && state <= 5 ? names[state] : "main";
}

int phn_iso_main(phn_iso_channel* c, int state, uint64_t budget_ns)
{
    iso_w w;
    iso_msg reply;
    iso_w_init(&w);
    iso_msg_init(&reply);
    iso_w_i32(&w, state);
    int rc = simple_call(c, ISO_OP_MAIN, &w, &reply, budget_ns, state_name(state));
    if (rc == ISO_OK) {
        iso_r r;
        iso_msg_reader(&reply, &r);
        rc = iso_r_u32(&r) ? 1 : 0;
        if (r.err)
            rc = ISO_EPROTO;
    }
    iso_msg_free(&reply);
    iso_w_free(&w);
    return rc;
}

void phn_iso_activate(phn_iso_channel* c) { atomic_store(&c->plugin->current, c); }

int phn_iso_shutdown(phn_iso_channel* c, uint64_t budget_ns)
{
    iso_w w;
    iso_msg reply;
    iso_w_init(&w);
    iso_msg_init(&reply);
    int rc = iso_ep_is_dead(&c->ep) ? ISO_EDEAD : iso_call(&c->ep, ISO_OP_SHUTDOWN, &w, &reply,
                                                          budget_ns);
    iso_msg_free(&reply);
    iso_w_free(&w);
    return rc;
}

void phn_iso_hangup(phn_iso_channel* c)
{
    /* End of file on the socket is the runner's signal to exit. The socket itself is
     * closed with the mapping, when the channel's last reference goes. */
    pthread_mutex_lock(&c->lock);
    if (c->sock >= 0 && !c->hung_up)
        shutdown(c->sock, SHUT_RDWR);
    c->hung_up = 1;
    pthread_mutex_unlock(&c->lock);
}

int phn_iso_drain(phn_iso_channel* c, uint64_t budget_ns)
{
    return iso_ring_drain(&c->ep, budget_ns);
}

int phn_iso_wait(phn_iso_channel* c)
{
    int status = -1;
    pid_t got;
    do {
        got = waitpid(c->pid, &status, 0);
    } while (got < 0 && errno == EINTR);
    atomic_store(&c->reaped, 1);
    iso_note_innermost(c);  /* before the waiting calls wake up and leave */
    iso_ep_mark_dead(&c->ep);
    return got == c->pid ? status : -1;
}

int phn_iso_dead(phn_iso_channel* c) { return iso_ep_is_dead(&c->ep); }

void phn_iso_kill(phn_iso_channel* c)
{
    if (!atomic_load(&c->reaped))
        kill(c->pid, SIGKILL);
}

int phn_iso_crash_info(phn_iso_channel* c, phn_iso_blob* what, int* deadline)
{
    /* Noted already (phn_iso_wait, a deadline, a failed call); else a fire-and-forget
     * call it was running. */
    if (!atomic_load(&c->destroyed) && c->ep.shm &&
        atomic_load(&c->ep.shm->ring_busy_since)) {
        pthread_mutex_lock(&c->lock);
        const char* async = c->async_names[atomic_load(&c->ep.shm->ring_done) % ISO_ASYNC_NAMES];
        pthread_mutex_unlock(&c->lock);
        if (async)
            iso_note_failure(c, async);
    }
    pthread_mutex_lock(&c->lock);
    const char* text = c->crash_what;
    what->len = text ? strlen(text) : 0;
    what->data = text ? (unsigned char*)strdup(text) : NULL;
    *deadline = c->killed_for_deadline;
    pthread_mutex_unlock(&c->lock);
    return text && !what->data ? -1 : 0;
}

void phn_iso_channel_free(phn_iso_channel* c)
{
    if (c && !atomic_exchange(&c->released, 1))
        iso_ep_unref(&c->ep);
}
