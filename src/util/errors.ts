/*
 * errors.ts - glibc strerror() texts for Node error codes.
 *
 * Postfix prints errors with %m, i.e. the C library's strerror text
 * ("No such file or directory"), while Node errors carry only a code
 * ("ENOENT") and a Node-specific message. Log lines must match Postfix's, so
 * every layer that needs %m turns codes back into the glibc wording here.
 *
 * Exports:
 *   strerror(codeOrError)   the glibc text for an errno code string or an error
 *   errorCode(error)        the errno code string of an error, or undefined
 */

/* Texts as glibc prints them on Linux (checked against os.strerror()). */
const GLIBC_TEXT: Readonly<Record<string, string>> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINTR: 'Interrupted system call',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  E2BIG: 'Argument list too long',
  ENOEXEC: 'Exec format error',
  EBADF: 'Bad file descriptor',
  ECHILD: 'No child processes',
  EAGAIN: 'Resource temporarily unavailable',
  EWOULDBLOCK: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EXDEV: 'Invalid cross-device link',
  ENODEV: 'No such device',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  ENOTTY: 'Inappropriate ioctl for device',
  ETXTBSY: 'Text file busy',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  ESPIPE: 'Illegal seek',
  EROFS: 'Read-only file system',
  EMLINK: 'Too many links',
  EPIPE: 'Broken pipe',
  EDOM: 'Numerical argument out of domain',
  ERANGE: 'Numerical result out of range',
  EDEADLK: 'Resource deadlock avoided',
  ENAMETOOLONG: 'File name too long',
  ENOLCK: 'No locks available',
  ENOSYS: 'Function not implemented',
  ENOTEMPTY: 'Directory not empty',
  ELOOP: 'Too many levels of symbolic links',
  EOVERFLOW: 'Value too large for defined data type',
  EILSEQ: 'Invalid or incomplete multibyte or wide character',
  ENOTSOCK: 'Socket operation on non-socket',
  EDESTADDRREQ: 'Destination address required',
  EMSGSIZE: 'Message too long',
  EPROTOTYPE: 'Protocol wrong type for socket',
  ENOPROTOOPT: 'Protocol not available',
  EPROTONOSUPPORT: 'Protocol not supported',
  EOPNOTSUPP: 'Operation not supported',
  ENOTSUP: 'Operation not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENETDOWN: 'Network is down',
  ENETUNREACH: 'Network is unreachable',
  ECONNABORTED: 'Software caused connection abort',
  ECONNRESET: 'Connection reset by peer',
  ENOBUFS: 'No buffer space available',
  EISCONN: 'Transport endpoint is already connected',
  ENOTCONN: 'Transport endpoint is not connected',
  ETIMEDOUT: 'Connection timed out',
  ECONNREFUSED: 'Connection refused',
  EHOSTUNREACH: 'No route to host',
  EALREADY: 'Operation already in progress',
  EINPROGRESS: 'Operation now in progress',
  ESTALE: 'Stale file handle',
  EDQUOT: 'Disk quota exceeded',
  ECANCELED: 'Operation canceled',
};

/** The errno code string ('ENOENT', ...) carried by a Node or addon error. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * What Postfix's %m would print. Accepts an errno code or an error object;
 * an unknown code is printed like glibc's "Unknown error N" when the number is
 * known; an error without an errno (a timeout of ours, a protocol error, a
 * Node ERR_* code) as its message; a bare unknown code as itself.
 */
export function strerror(codeOrError: unknown): string {
  const code = typeof codeOrError === 'string' ? codeOrError : errorCode(codeOrError);
  if (code !== undefined && Object.hasOwn(GLIBC_TEXT, code)) return GLIBC_TEXT[code] as string;
  if (typeof codeOrError === 'object' && codeOrError !== null) {
    const errno = (codeOrError as { errno?: unknown }).errno;
    if (typeof errno === 'number' && errno !== 0) return `Unknown error ${Math.abs(errno)}`;
    if (codeOrError instanceof Error) return codeOrError.message;
  }
  return code ?? String(codeOrError);
}
