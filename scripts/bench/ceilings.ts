/**
 * The ceilings of the benchmark, one per process: `http` is a bare node:http hello-world (what this machine and
 * load generator can do at all), `koa` is Koa + @koa/router answering a form POST after reading its body (what
 * any Koa endpoint that reads a form can do before it does any work of its own).
 *
 *   node --import tsx scripts/bench/ceilings.ts http|koa
 *
 * Prints `LISTENING <port>` once it accepts connections on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';

function helloWorld(): Server {
  return createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello world');
  });
}

function koaFormPost(): Server {
  const app = new Koa();
  const router = new Router();
  // The same request as /introspect: a form body with a token, Basic credentials that are not checked.
  router.post('/introspect', async (ctx) => {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) chunks.push(chunk);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { active: form.has('token') };
  });
  app.use(router.routes());
  return createServer(app.callback());
}

const kind = process.argv[2];
const server = kind === 'http' ? helloWorld() : kind === 'koa' ? koaFormPost() : undefined;
if (!server) {
  process.stderr.write('usage: ceilings.ts http|koa\n');
  process.exit(2);
}
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
