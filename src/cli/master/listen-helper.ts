/*
 * listen-helper.ts - run by the supervisor (never imported): puts the sockets
 * it inherits on fd 3, 4, ... into the listening state, then exits at once.
 *
 * Why a separate process: in Node, listen() on a socket also starts
 * accepting on it, and master(8) must hold its listen sockets without ever
 * accepting (the children accept). The listening state belongs to the socket,
 * not to the descriptor, so it survives this process. The process exits in
 * the same tick as listen(), before its event loop could accept anything.
 *
 * Usage: node listen-helper.js <backlog> [<backlog> ...]   (one per inherited fd, from fd 3)
 */
import { createServer } from 'node:net';

const FIRST_FD = 3;

const backlogs = process.argv.slice(2).map(Number);
for (const [index, backlog] of backlogs.entries()) {
  const server = createServer();
  server.on('error', () => undefined);
  server.listen({ fd: FIRST_FD + index, backlog });
  if (!server.listening) {
    process.stderr.write(`listen-helper: listen on fd ${FIRST_FD + index} failed\n`);
    process.exit(1);
  }
}
process.exit(0);
