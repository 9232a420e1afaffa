/**
 * A proxy in front of kinesalite that makes GetRecords report MillisBehindLatest as Kinesis
 * does (kinesalite and kinesis-mock always report 0): a full page (as many records as the
 * Limit) is behind by the age of its last record; a shorter page has reached the tip, 0.
 * Everything else passes through unchanged.
 */
import { once } from 'node:events';
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface LagProxy {
  url: string;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

function pass(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

export async function startLagProxy(upstream: string): Promise<LagProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop();
      const forwarded = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...pass(req.headers), 'content-length': String(body.length) }, agent },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => parts.push(chunk));
          answer.on('end', () => {
            let out = Buffer.concat(parts);
            if (operation === 'GetRecords' && answer.statusCode === 200) {
              const limit = (JSON.parse(body.toString('utf8')) as { Limit?: number }).Limit ?? 10000;
              const page = JSON.parse(out.toString('utf8')) as { Records?: Array<{ ApproximateArrivalTimestamp?: number }>; MillisBehindLatest?: number };
              const records = page.Records ?? [];
              const last = records[records.length - 1]?.ApproximateArrivalTimestamp;
              page.MillisBehindLatest = records.length >= limit && last !== undefined ? Math.max(1, Math.round(Date.now() - last * 1000)) : 0;
              out = Buffer.from(JSON.stringify(page));
            }
            res.writeHead(answer.statusCode ?? 502, { ...pass(answer.headers), 'content-length': String(out.length) });
            res.end(out);
          });
        },
      );
      forwarded.on('error', () => res.destroy());
      forwarded.end(body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await closed;
    },
  };
}
