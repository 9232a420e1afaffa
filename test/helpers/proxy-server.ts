/**
 * The plumbing shared by the test proxies in front of local AWS JSON-protocol servers
 * (fault-proxy, limits-proxy, lag-proxy): a loopback listener that reads each request
 * whole and names its operation, and a forwarder that reads the upstream answer whole.
 */
import { once } from 'node:events';
import { createServer, request as httpRequest, type Agent, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection', 'upgrade', 'te', 'trailer']);

/** A server's answer, read whole. */
export interface Upstream {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A listening proxy server. */
export interface ProxyListener {
  /** e.g. `http://127.0.0.1:45123` */
  readonly url: string;
  readonly port: number;
  /** Stops listening and destroys every open socket. */
  close(): Promise<void>;
}

/**
 * Listens on a free loopback port; each request, once its body is read, goes to
 * `onRequest` with its operation (X-Amz-Target after the dot, e.g. `PutRecords`).
 */
export async function listenForOperations(
  onRequest: (req: IncomingMessage, res: ServerResponse, operation: string, body: Buffer) => void,
): Promise<ProxyListener> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => {});
    res.on('error', () => {});
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.includes('.') ? target.slice(target.lastIndexOf('.') + 1) : target || 'unknown';
      onRequest(req, res, operation, Buffer.concat(chunks));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      return closed;
    },
  };
}

/** Headers to pass on, without the hop-by-hop ones. */
export function passHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/** Sends `req` with `body` to `upstream` and reads the whole answer. */
export function forwardRequest(agent: Agent, upstream: URL, req: IncomingMessage, body: Buffer): Promise<Upstream> {
  const headers = { ...passHeaders(req.headers), 'content-length': String(body.length) };
  return new Promise((resolve, reject) => {
    const forwarded = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    forwarded.on('error', reject);
    forwarded.end(body);
  });
}

/** Answers `res` with an upstream answer, its body replaced by `body` if given. */
export function answerWith(res: ServerResponse, result: Upstream, body = result.body): void {
  if (res.destroyed) return;
  res.writeHead(result.status, { ...passHeaders(result.headers), 'content-length': String(body.length) });
  res.end(body);
}

/** Decoded length of a base64 string, without decoding it. */
export function base64Length(text: string): number {
  const len = text.length;
  if (len === 0) return 0;
  let padding = 0;
  if (text.charCodeAt(len - 1) === 61 /* = */) padding++;
  if (len > 1 && text.charCodeAt(len - 2) === 61) padding++;
  return ((len * 3) >>> 2) - padding;
}
