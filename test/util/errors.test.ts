/*
 * errors.test.ts - strerror() gives glibc's texts for Node error codes and
 * error objects.
 */
import test from 'ava';
import { open } from 'node:fs/promises';
import { errorCode, strerror } from '../../src/util/errors.js';

test('common codes map to glibc texts', (t) => {
  t.is(strerror('ENOENT'), 'No such file or directory');
  t.is(strerror('EACCES'), 'Permission denied');
  t.is(strerror('EPIPE'), 'Broken pipe');
  t.is(strerror('EAGAIN'), 'Resource temporarily unavailable');
  t.is(strerror('EWOULDBLOCK'), 'Resource temporarily unavailable');
  t.is(strerror('ENXIO'), 'No such device or address');
  t.is(strerror('ECONNREFUSED'), 'Connection refused');
});

test('glibc wording where libuv words it differently', (t) => {
  t.is(strerror('EIO'), 'Input/output error');
  t.is(strerror(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', errno: -5 })), 'Input/output error');
});

test('a real Node fs error is translated', async (t) => {
  const error = await open('/nonexistent/dir/file').catch((e: unknown) => e);
  t.is(errorCode(error), 'ENOENT');
  t.is(strerror(error), 'No such file or directory');
});

test('unknown codes fall back sensibly', (t) => {
  t.is(strerror(Object.assign(new Error('x'), { code: 'EWEIRD', errno: -1234 })), 'Unknown error 1234');
  t.is(strerror(new Error('plain message')), 'plain message');
  t.is(strerror('EWEIRD'), 'EWEIRD');
  t.is(strerror(Object.assign(new Error('socket closed early'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })), 'socket closed early');
  t.is(errorCode('ENOENT'), undefined);
});
