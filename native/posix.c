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
 *   dup(fd)                    fcntl(F_DUPFD_CLOEXEC): a second descriptor for
 *                              a listen socket, so that closing a Node server
 *                              (the only way to stop accepting) keeps master's.
 *   setTimes(path, seconds)    utimensat(2) setting atime and mtime to whole
 *                              seconds; returns 0 or the errno value.
 *   renameFile(from, to)       rename(2); returns 0 or the errno value.
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

static napi_value do_dgram_open(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], result;
    struct sockaddr_un sun;
    char *path;
    int fd, err;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1 || (path = get_string_arg(env, argv[0])) == NULL)
        return NULL;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        free(path);
        return throw_errno(env, "dgramOpen", ENAMETOOLONG);
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    free(path);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return throw_errno(env, "socket", errno);
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        err = errno;
        close(fd);
        return throw_errno(env, "connect", err);
    }
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

static napi_value do_dup(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    int32_t fd;
    int copy;
    napi_value result;

    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
        napi_throw_type_error(env, NULL, "dup(fd): fd must be a number");
        return NULL;
    }
    if ((copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
        return throw_errno(env, "dup", errno);
    CHECK(napi_create_int32(env, copy, &result));
    return result;
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

static napi_value errno_result(napi_env env, int err)
{
    napi_value result;

    napi_create_int32(env, err, &result);
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
        return errno_result(env, err);
    times[0].tv_sec = times[1].tv_sec = (time_t) seconds;
    times[0].tv_nsec = times[1].tv_nsec = 0;
    return errno_result(env, utimensat(AT_FDCWD, path, times, 0) == 0 ? 0 : errno);
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
        return errno_result(env, err);
    return errno_result(env, rename(from, to) == 0 ? 0 : errno);
}

static napi_value init(napi_env env, napi_value exports)
{
    export_function(env, exports, "flock", do_flock);
    export_function(env, exports, "flockAsync", do_flock_async);
    export_function(env, exports, "chroot", do_chroot);
    export_function(env, exports, "dgramOpen", do_dgram_open);
    export_function(env, exports, "dgramSend", do_dgram_send);
    export_function(env, exports, "dup", do_dup);
    export_function(env, exports, "exitNow", do_exit_now);
    export_function(env, exports, "setTimes", do_set_times);
    export_function(env, exports, "renameFile", do_rename_file);
    export_int(env, exports, "LOCK_SH", LOCK_SH);
    export_int(env, exports, "LOCK_EX", LOCK_EX);
    export_int(env, exports, "LOCK_NB", LOCK_NB);
    export_int(env, exports, "LOCK_UN", LOCK_UN);
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
