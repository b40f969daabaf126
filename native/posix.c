/*
 * posix.c - the few system calls Node.js does not offer and fastflush needs.
 *
 *   flock(fd, op)              flock(2), synchronous; throws on error (with LOCK_NB
 *                              a busy lock throws EWOULDBLOCK).
 *   flockAsync(fd, op, cb)     flock(2) on a libuv thread-pool thread; cb(errno).
 *                              The JS wrapper lets at most one such call wait at a
 *                              time, so a contended lock never starves the pool.
 *   chroot(path)               chroot(2) (the caller changes directory to "/").
 *   dgramOpen(path)            a non-blocking UNIX datagram socket connected to
 *                              path (postlogd's public/postlog, or /dev/log); fd.
 *   dgramSend(fd, buffer)      send(2) with MSG_DONTWAIT; throws on error.
 *   exitNow(status)            _exit(2): ends the process at once. Node's own exit
 *                              joins libuv's thread pool, so a flock() blocked
 *                              there (another process holds the lock) would
 *                              keep a fatally failed daemon alive.
 *   setTimes(path, seconds)    utimensat(2) setting atime and mtime to whole
 *                              seconds; returns 0 or the errno value.
 *   renameFile(from, to)       rename(2); returns 0 or the errno value.
 *   isTerminal(fd)             isatty(3), without loading Node's tty module
 *                              (which costs every daemon start a millisecond).
 *
 * Client connections without Node's net.Socket (src/lifecycle/socket-client.ts):
 * a stream object per connection costs more CPU than a whole flush request,
 * so the daemon accepts, reads and writes with plain system calls and asks
 * libuv only to say when a descriptor is ready.
 *   setNonBlocking(fd)         sets O_NONBLOCK; throws on error.
 *   acceptSocket(fd)           accept4(2), the new socket non-blocking and
 *                              close-on-exec; its fd, or minus the errno value.
 *   connectSocket(path)        a non-blocking, close-on-exec UNIX stream socket
 *                              connected to path (qmgr's trigger socket); its
 *                              fd, or minus the errno value (EAGAIN: the
 *                              listener's backlog is full).
 *   readSocket(fd, buffer)     read(2) into buffer; the bytes read (0: end of
 *                              file), or minus the errno value.
 *   writeSocket(fd, buffer, offset)  send(2) of buffer[offset..], never
 *                              blocking, without SIGPIPE; bytes sent, or minus
 *                              the errno value. A pipe (ENOTSOCK) gets write(2),
 *                              so it must be non-blocking (setNonBlocking).
 *   watchFd(fd, callback)      a libuv poll handle for fd, not yet started;
 *                              callback(events) gets UV_READABLE/UV_WRITABLE
 *                              bits, or minus the errno value libuv reports.
 *   watchUnref(watcher)        uv_unref: the handle no longer keeps the loop
 *                              alive (a trigger connection left to linger).
 *   watchStart(watcher, events), watchStop(watcher), watchClose(watcher)
 *                              uv_poll_start, uv_poll_stop, and uv_close (the
 *                              handle is freed when libuv is done with it;
 *                              close the fd after watchClose, never before;
 *                              a closed watcher throws when used).
 *
 * Errors are thrown as Error objects whose `errno` property holds the positive
 * errno value; src/native/posix.ts turns it into Node's usual `code` string.
 * setTimes and renameFile are the exception: a send makes them once or twice
 * per queue id, mostly failing with ENOENT (the message was delivered long
 * ago), and a thrown Node error costs several times the system call itself.
 * Everything else (setuid, setgid, initgroups, umask) Node has.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/*
 * libuv, from the node binary that loads us (Node-API hands out its loop with
 * napi_get_uv_event_loop). node-api-headers carries no uv.h and nothing may
 * be downloaded at install, so the few functions used are declared here.
 * libuv keeps its ABI stable across 1.x, and the handle is used opaquely (its
 * size from uv_handle_size, its data through the accessors), so no structure
 * layout is assumed. The constants are uv.h's.
 */
typedef struct uv_loop_s uv_loop_t;
typedef struct uv_handle_s uv_handle_t;
typedef struct uv_poll_s uv_poll_t;
typedef void (*uv_poll_cb)(uv_poll_t *handle, int status, int events);
typedef void (*uv_close_cb)(uv_handle_t *handle);
extern size_t uv_handle_size(int type);
extern void *uv_handle_get_data(const uv_handle_t *handle);
extern void uv_handle_set_data(uv_handle_t *handle, void *data);
extern int uv_poll_init(uv_loop_t *loop, uv_poll_t *handle, int fd);
extern int uv_poll_start(uv_poll_t *handle, int events, uv_poll_cb cb);
extern int uv_poll_stop(uv_poll_t *handle);
extern void uv_close(uv_handle_t *handle, uv_close_cb close_cb);
extern void uv_unref(uv_handle_t *handle);
#define UV_POLL_HANDLE_TYPE 8
#define UV_READABLE 1
#define UV_WRITABLE 2

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err)
{
    char message[512];
    napi_value msg, error, code;

    snprintf(message, sizeof(message), "%s: %s", what, strerror(err));
    napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &error);
    napi_create_int32(env, err, &code);
    napi_set_named_property(env, error, "errno", code);
    napi_throw(env, error);
    return NULL;
}

static int get_int_arg(napi_env env, napi_value value, int32_t *out)
{
    return napi_get_value_int32(env, value, out) == napi_ok;
}

/* Copies a JS string argument into a malloc'd buffer; NULL after throwing. */
static char *get_string_arg(napi_env env, napi_value value)
{
    size_t len;
    char *buf;

    if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) {
        napi_throw_type_error(env, NULL, "string argument expected");
        return NULL;
    }
    buf = malloc(len + 1);
    if (buf == NULL) {
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
    }
    napi_get_value_string_utf8(env, value, buf, len + 1, &len);
    if (strlen(buf) != len) {
        free(buf);
        napi_throw_type_error(env, NULL, "string argument contains a NUL byte");
        return NULL;
    }
    return buf;
}

static napi_value do_flock(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    int32_t fd, op;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 2 || !get_int_arg(env, argv[0], &fd) || !get_int_arg(env, argv[1], &op)) {
        napi_throw_type_error(env, NULL, "flock(fd, op) expects two integers");
        return NULL;
    }
    while (flock(fd, op) < 0) {
        if (errno != EINTR)
            return throw_errno(env, "flock", errno);
    }
    return NULL;
}

typedef struct {
    int fd;
    int op;
    int result_errno;
    napi_async_work work;
    napi_ref callback;
} flock_job;

static void flock_execute(napi_env env, void *data)
{
    flock_job *job = data;

    (void) env;
    job->result_errno = 0;
    while (flock(job->fd, job->op) < 0) {
        if (errno != EINTR) {
            job->result_errno = errno;
            break;
        }
    }
}

static void flock_complete(napi_env env, napi_status status, void *data)
{
    flock_job *job = data;
    napi_value callback, global, arg;

    if (status == napi_ok || status == napi_cancelled) {
        napi_get_reference_value(env, job->callback, &callback);
        napi_get_global(env, &global);
        napi_create_int32(env, status == napi_ok ? job->result_errno : EINTR, &arg);
        napi_call_function(env, global, callback, 1, &arg, NULL);
    }
    napi_delete_reference(env, job->callback);
    napi_delete_async_work(env, job->work);
    free(job);
}

static napi_value do_flock_async(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3], name;
    int32_t fd, op;
    flock_job *job;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 3 || !get_int_arg(env, argv[0], &fd) || !get_int_arg(env, argv[1], &op)) {
        napi_throw_type_error(env, NULL, "flockAsync(fd, op, callback) expects two integers and a function");
        return NULL;
    }
    job = calloc(1, sizeof(*job));
    if (job == NULL) {
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
    }
    job->fd = fd;
    job->op = op;
    CHECK(napi_create_reference(env, argv[2], 1, &job->callback));
    CHECK(napi_create_string_utf8(env, "fastflush:flock", NAPI_AUTO_LENGTH, &name));
    CHECK(napi_create_async_work(env, NULL, name, flock_execute, flock_complete, job, &job->work));
    CHECK(napi_queue_async_work(env, job->work));
    return NULL;
}

static napi_value do_chroot(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    char *path;
    int err = 0;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1 || (path = get_string_arg(env, argv[0])) == NULL)
        return NULL;
    if (chroot(path) < 0)
        err = errno;
    free(path);
    return err ? throw_errno(env, "chroot", err) : NULL;
}

/*
 * A non-blocking, close-on-exec UNIX socket of `type` connected to `path`:
 * its fd, or minus the errno value ("socket" or "connect" in *failed).
 */
static int unix_connect(const char *path, int type, const char **failed)
{
    struct sockaddr_un sun;
    int fd, err;

    *failed = "connect";
    if (strlen(path) >= sizeof(sun.sun_path))
        return -ENAMETOOLONG;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    if ((fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
        *failed = "socket";
        return -errno;
    }
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

/* unix_connect() on the path argument of fn(path): 0 when there is none (or after throwing), else 1. */
static int connect_path_arg(napi_env env, napi_callback_info info, int type, int *fd, const char **failed)
{
    size_t argc = 1;
    napi_value argv[1];
    char *path;

    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1
        || (path = get_string_arg(env, argv[0])) == NULL)
        return 0;
    *fd = unix_connect(path, type, failed);
    free(path);
    return 1;
}

static napi_value do_dgram_open(napi_env env, napi_callback_info info)
{
    napi_value result;
    const char *failed;
    int fd;

    if (!connect_path_arg(env, info, SOCK_DGRAM, &fd, &failed))
        return NULL;
    if (fd < 0)
        return throw_errno(env, failed, -fd);
    CHECK(napi_create_int32(env, fd, &result));
    return result;
}

static napi_value do_dgram_send(napi_env env, napi_callback_info info)
{
    size_t argc = 2, len;
    napi_value argv[2];
    int32_t fd;
    void *data;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 2 || !get_int_arg(env, argv[0], &fd)
        || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
        napi_throw_type_error(env, NULL, "dgramSend(fd, buffer) expects an integer and a Buffer");
        return NULL;
    }
    if (send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        return throw_errno(env, "send", errno);
    return NULL;
}

static void export_function(napi_env env, napi_value exports, const char *name, napi_callback fn)
{
    napi_value value;

    napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value);
    napi_set_named_property(env, exports, name, value);
}

static void export_int(napi_env env, napi_value exports, const char *name, int number)
{
    napi_value value;

    napi_create_int32(env, number, &value);
    napi_set_named_property(env, exports, name, value);
}

static napi_value do_exit_now(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    int32_t status = 1;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc >= 1)
        napi_get_value_int32(env, argv[0], &status);
    _exit(status);
}

/* Copies a path argument into buf (PATH_MAX bytes); 0, or an errno value for a bad path. */
static int get_path_arg(napi_env env, napi_value value, char *buf)
{
    size_t len;

    if (napi_get_value_string_utf8(env, value, buf, PATH_MAX, &len) != napi_ok)
        return EINVAL;
    if (len >= PATH_MAX - 1)
        return ENAMETOOLONG;
    if (strlen(buf) != len)
        return EINVAL;
    return 0;
}

/* A number for JS: an errno value, a count, an fd, or minus an errno value. */
static napi_value int_result(napi_env env, int32_t number)
{
    napi_value result;

    napi_create_int32(env, number, &result);
    return result;
}

static napi_value do_set_times(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    char path[PATH_MAX];
    int64_t seconds;
    struct timespec times[2];
    int err;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 2 || napi_get_value_int64(env, argv[1], &seconds) != napi_ok) {
        napi_throw_type_error(env, NULL, "setTimes(path, seconds): seconds must be a number");
        return NULL;
    }
    if ((err = get_path_arg(env, argv[0], path)) != 0)
        return int_result(env, err);
    times[0].tv_sec = times[1].tv_sec = (time_t) seconds;
    times[0].tv_nsec = times[1].tv_nsec = 0;
    return int_result(env, utimensat(AT_FDCWD, path, times, 0) == 0 ? 0 : errno);
}

static napi_value do_rename_file(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    char from[PATH_MAX], to[PATH_MAX];
    int err;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 2) {
        napi_throw_type_error(env, NULL, "renameFile(from, to): two paths expected");
        return NULL;
    }
    if ((err = get_path_arg(env, argv[0], from)) != 0 || (err = get_path_arg(env, argv[1], to)) != 0)
        return int_result(env, err);
    return int_result(env, rename(from, to) == 0 ? 0 : errno);
}

/* The single fd argument of fn(fd); 0 after throwing a TypeError with `usage`. */
static int get_fd_only(napi_env env, napi_callback_info info, int32_t *fd, const char *usage)
{
    size_t argc = 1;
    napi_value argv[1];

    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1
        || !get_int_arg(env, argv[0], fd)) {
        napi_throw_type_error(env, NULL, usage);
        return 0;
    }
    return 1;
}

static napi_value do_set_non_blocking(napi_env env, napi_callback_info info)
{
    int32_t fd;
    int flags;

    if (!get_fd_only(env, info, &fd, "setNonBlocking(fd): fd must be a number"))
        return NULL;
    if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return throw_errno(env, "fcntl", errno);
    return NULL;
}

static napi_value do_is_terminal(napi_env env, napi_callback_info info)
{
    int32_t fd;
    napi_value result;

    if (!get_fd_only(env, info, &fd, "isTerminal(fd): fd must be a number"))
        return NULL;
    CHECK(napi_get_boolean(env, isatty(fd) == 1, &result));
    return result;
}

static napi_value do_accept_socket(napi_env env, napi_callback_info info)
{
    int32_t fd;
    int client;

    if (!get_fd_only(env, info, &fd, "acceptSocket(fd): fd must be a number"))
        return NULL;
    do
        client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (client < 0 && errno == EINTR);
    return int_result(env, client >= 0 ? client : -errno);
}

static napi_value do_connect_socket(napi_env env, napi_callback_info info)
{
    const char *failed;
    int fd;

    if (!connect_path_arg(env, info, SOCK_STREAM, &fd, &failed))
        return NULL;
    return int_result(env, fd);
}

/* fd and a Buffer's bytes from (fd, buffer, ...); 0 after throwing. */
static int get_fd_and_buffer(napi_env env, napi_value *argv, size_t argc, int32_t *fd,
                             void **data, size_t *length, const char *usage)
{
    bool is_buffer = false;

    if (argc < 2 || !get_int_arg(env, argv[0], fd)
        || napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer
        || napi_get_buffer_info(env, argv[1], data, length) != napi_ok) {
        napi_throw_type_error(env, NULL, usage);
        return 0;
    }
    return 1;
}

static napi_value do_read_socket(napi_env env, napi_callback_info info)
{
    size_t argc = 2, length;
    napi_value argv[2];
    int32_t fd;
    void *data;
    ssize_t count;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (!get_fd_and_buffer(env, argv, argc, &fd, &data, &length, "readSocket(fd, buffer)"))
        return NULL;
    if (length > INT32_MAX)
        length = INT32_MAX;
    do
        count = read(fd, data, length);
    while (count < 0 && errno == EINTR);
    return int_result(env, count >= 0 ? (int32_t) count : -errno);
}

static napi_value do_write_socket(napi_env env, napi_callback_info info)
{
    size_t argc = 3, length;
    napi_value argv[3];
    int32_t fd, offset;
    void *data;
    ssize_t count;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (!get_fd_and_buffer(env, argv, argc, &fd, &data, &length, "writeSocket(fd, buffer, offset)"))
        return NULL;
    if (argc < 3 || !get_int_arg(env, argv[2], &offset) || offset < 0 || (size_t) offset > length) {
        napi_throw_range_error(env, NULL, "writeSocket: offset out of range");
        return NULL;
    }
    length -= (size_t) offset;
    if (length > INT32_MAX)
        length = INT32_MAX;
    do
        count = send(fd, (char *) data + offset, length, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (count < 0 && errno == EINTR);
    /* A pipe (flush -S): write(2) on the non-blocking descriptor; Node ignores SIGPIPE. */
    if (count < 0 && errno == ENOTSOCK) {
        do
            count = write(fd, (char *) data + offset, length);
        while (count < 0 && errno == EINTR);
    }
    return int_result(env, count >= 0 ? (int32_t) count : -errno);
}

/*
 * A poll handle and what its callback needs. The callback runs through
 * napi_make_callback, so that promise reactions queued by it run before libuv
 * goes on (as after any Node I/O callback).
 */
typedef struct {
    napi_env env;
    uv_poll_t *handle;
    napi_ref callback;
    napi_async_context context;
} fd_watcher;

static void watcher_event(uv_poll_t *handle, int status, int events)
{
    fd_watcher *watcher = uv_handle_get_data((uv_handle_t *) handle);
    napi_env env = watcher->env;
    napi_handle_scope scope;
    napi_value callback, receiver, arg, exception;

    if (watcher->callback == NULL)
        return;
    napi_open_handle_scope(env, &scope);
    napi_get_reference_value(env, watcher->callback, &callback);
    napi_get_global(env, &receiver);
    napi_create_int32(env, status < 0 ? status : events, &arg);
    if (napi_make_callback(env, watcher->context, receiver, callback, 1, &arg, NULL) == napi_pending_exception
        && napi_get_and_clear_last_exception(env, &exception) == napi_ok)
        napi_fatal_exception(env, exception);
    napi_close_handle_scope(env, scope);
}

static void watcher_closed(uv_handle_t *handle)
{
    free(handle);
}

/* The JS object is gone: the handle too, if JS never closed it. */
static void watcher_finalize(napi_env env, void *data, void *hint)
{
    fd_watcher *watcher = data;

    (void) env;
    (void) hint;
    if (watcher->callback != NULL)
        uv_close((uv_handle_t *) watcher->handle, watcher_closed);
    free(watcher);
}

static napi_value do_watch_fd(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2], name, external;
    int32_t fd;
    uv_loop_t *loop;
    fd_watcher *watcher;
    int err;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 2 || !get_int_arg(env, argv[0], &fd)) {
        napi_throw_type_error(env, NULL, "watchFd(fd, callback) expects a number and a function");
        return NULL;
    }
    CHECK(napi_get_uv_event_loop(env, (struct uv_loop_s **) &loop));
    watcher = calloc(1, sizeof(*watcher));
    if (watcher == NULL || (watcher->handle = calloc(1, uv_handle_size(UV_POLL_HANDLE_TYPE))) == NULL) {
        free(watcher);
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
    }
    if ((err = uv_poll_init(loop, watcher->handle, fd)) < 0) {
        free(watcher->handle);
        free(watcher);
        return throw_errno(env, "uv_poll_init", -err);
    }
    watcher->env = env;
    uv_handle_set_data((uv_handle_t *) watcher->handle, watcher);
    CHECK(napi_create_reference(env, argv[1], 1, &watcher->callback));
    CHECK(napi_create_string_utf8(env, "fastflush:watch", NAPI_AUTO_LENGTH, &name));
    CHECK(napi_async_init(env, NULL, name, &watcher->context));
    CHECK(napi_create_external(env, watcher, watcher_finalize, NULL, &external));
    return external;
}

/* The watcher behind argv[0]; NULL after throwing (also once it is closed). */
static fd_watcher *get_watcher(napi_env env, napi_value value)
{
    fd_watcher *watcher = NULL;

    if (napi_get_value_external(env, value, (void **) &watcher) != napi_ok || watcher == NULL
        || watcher->callback == NULL) {
        napi_throw_type_error(env, NULL, "not an open watcher");
        return NULL;
    }
    return watcher;
}

/* The watcher of fn(watcher); NULL when there is none (or after throwing). */
static fd_watcher *watcher_only_arg(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];

    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1)
        return NULL;
    return get_watcher(env, argv[0]);
}

static napi_value do_watch_start(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    int32_t events;
    fd_watcher *watcher;
    int err;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 2 || (watcher = get_watcher(env, argv[0])) == NULL || !get_int_arg(env, argv[1], &events))
        return NULL;
    if ((err = uv_poll_start(watcher->handle, events, watcher_event)) < 0)
        return throw_errno(env, "uv_poll_start", -err);
    return NULL;
}

static napi_value do_watch_unref(napi_env env, napi_callback_info info)
{
    fd_watcher *watcher;

    if ((watcher = watcher_only_arg(env, info)) == NULL)
        return NULL;
    uv_unref((uv_handle_t *) watcher->handle);
    return NULL;
}

static napi_value do_watch_stop(napi_env env, napi_callback_info info)
{
    fd_watcher *watcher;

    if ((watcher = watcher_only_arg(env, info)) == NULL)
        return NULL;
    uv_poll_stop(watcher->handle);
    return NULL;
}

static napi_value do_watch_close(napi_env env, napi_callback_info info)
{
    fd_watcher *watcher;

    if ((watcher = watcher_only_arg(env, info)) == NULL)
        return NULL;
    napi_delete_reference(env, watcher->callback);
    watcher->callback = NULL;
    napi_async_destroy(env, watcher->context);
    uv_close((uv_handle_t *) watcher->handle, watcher_closed);
    return NULL;
}

static napi_value init(napi_env env, napi_value exports)
{
    export_function(env, exports, "flock", do_flock);
    export_function(env, exports, "flockAsync", do_flock_async);
    export_function(env, exports, "chroot", do_chroot);
    export_function(env, exports, "dgramOpen", do_dgram_open);
    export_function(env, exports, "dgramSend", do_dgram_send);
    export_function(env, exports, "exitNow", do_exit_now);
    export_function(env, exports, "setTimes", do_set_times);
    export_function(env, exports, "renameFile", do_rename_file);
    export_function(env, exports, "isTerminal", do_is_terminal);
    export_function(env, exports, "setNonBlocking", do_set_non_blocking);
    export_function(env, exports, "acceptSocket", do_accept_socket);
    export_function(env, exports, "connectSocket", do_connect_socket);
    export_function(env, exports, "readSocket", do_read_socket);
    export_function(env, exports, "writeSocket", do_write_socket);
    export_function(env, exports, "watchFd", do_watch_fd);
    export_function(env, exports, "watchStart", do_watch_start);
    export_function(env, exports, "watchStop", do_watch_stop);
    export_function(env, exports, "watchUnref", do_watch_unref);
    export_function(env, exports, "watchClose", do_watch_close);
    export_int(env, exports, "LOCK_SH", LOCK_SH);
    export_int(env, exports, "LOCK_EX", LOCK_EX);
    export_int(env, exports, "LOCK_NB", LOCK_NB);
    export_int(env, exports, "LOCK_UN", LOCK_UN);
    export_int(env, exports, "UV_READABLE", UV_READABLE);
    export_int(env, exports, "UV_WRITABLE", UV_WRITABLE);
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
