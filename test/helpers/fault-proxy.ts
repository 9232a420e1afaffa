/**
 * An HTTP/1.1 proxy on a free loopback port in front of a local AWS JSON-protocol server
 * (kinesalite, dynalite) that injects faults: error answers, resets, slow and broken
 * responses, expired iterators and partial PutRecords failures. Faults are chosen by rate
 * with a seeded PRNG, or by schedule ("the Nth request of operation X").
 *
 * Determinism: every operation has its own PRNG stream, seeded from (seed, operation), so
 * the Nth request of an operation always gets the same decision, whatever the interleaving
 * with other operations. Which records a request carries still depends on the client's timing.
 *
 * Faults split in two families, because only one of them can store a record twice:
 * - before processing (nothing reaches the server, or the server's effect is undone by
 *   construction): error answers, `resetBeforeForward`, `slow`, `expiredIterator`,
 *   `partialFailure` (failed entries are stripped from the request before it is forwarded);
 * - after processing (the server stored the request, the client is told it failed or hears
 *   nothing): `resetAfterProcessing`, `slowAfterProcessing`, `truncated`, `truncatedClose`,
 *   `partialFailureDuplicating`, `stallBody`. On PutRecord(s) these are listed in
 *   `duplicateSuspects` with the number of entries the server stored.
 */
import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { answerWith, forwardRequest, listenForOperations, passHeaders, type Upstream } from './proxy-server.js';

export type FaultKind =
  /** HTTP 500 `InternalFailure`. */
  | 'internalFailure'
  /** HTTP 503 `ServiceUnavailable`. */
  | 'serviceUnavailable'
  /** HTTP 400 `ProvisionedThroughputExceededException`. */
  | 'throughputExceeded'
  /** HTTP 400 `LimitExceededException`. */
  | 'limitExceeded'
  /** The client socket is reset; nothing is forwarded. */
  | 'resetBeforeForward'
  /** Forwarded and answered by the server, then the client socket is reset: it took effect, the client sees a network error. */
  | 'resetAfterProcessing'
  /** Held for `slowMs` (beyond the client's timeout); forwarded only if the client is still waiting. */
  | 'slow'
  /** Forwarded at once; the answer is held for `slowMs`, so the client times out after it took effect. */
  | 'slowAfterProcessing'
  /** Forwarded; the headers and half the body are sent, then nothing more until the proxy stops. */
  | 'stallBody'
  /** GetRecords only: HTTP 400 `ExpiredIteratorException`, nothing forwarded. */
  | 'expiredIterator'
  /**
   * PutRecords only: a share of the entries is stripped from the request before it is
   * forwarded and reported as `ProvisionedThroughputExceededException` in the merged
   * answer, so nothing extra is stored.
   */
  | 'partialFailure'
  /**
   * PutRecords only: the whole request is forwarded (and stored), then a share of the
   * entries is reported as failed: their retries store them again.
   */
  | 'partialFailureDuplicating'
  /** Forwarded; half the answer's body is sent as a complete HTTP response (the body does not parse). */
  | 'truncated'
  /** Forwarded; half the answer's body is sent under the full Content-Length, then the connection is closed. */
  | 'truncatedClose';

export const ALL_FAULT_KINDS: readonly FaultKind[] = [
  'internalFailure',
  'serviceUnavailable',
  'throughputExceeded',
  'limitExceeded',
  'resetBeforeForward',
  'resetAfterProcessing',
  'slow',
  'slowAfterProcessing',
  'stallBody',
  'expiredIterator',
  'partialFailure',
  'partialFailureDuplicating',
  'truncated',
  'truncatedClose',
];

/** Faults after which the server has processed the request although the client saw a failure. */
export const AFTER_PROCESSING_FAULTS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'resetAfterProcessing',
  'slowAfterProcessing',
  'stallBody',
  'partialFailureDuplicating',
  'truncated',
  'truncatedClose',
]);

/** Operations that store records, whose after-processing faults may duplicate records. */
const STORING_OPERATIONS = new Set(['PutRecords', 'PutRecord']);

/** Kinds that only make sense for one operation. */
const ONLY_FOR: Partial<Record<FaultKind, string>> = {
  expiredIterator: 'GetRecords',
  partialFailure: 'PutRecords',
  partialFailureDuplicating: 'PutRecords',
};

/** Does `kind` apply to `operation`? */
export function faultApplies(kind: FaultKind, operation: string): boolean {
  const only = ONLY_FOR[kind];
  return only === undefined || only === operation;
}

export interface ScheduledFault {
  /** Operation name as in X-Amz-Target after the dot, e.g. `PutRecords`. */
  operation: string;
  /** 1-based index (or indexes) of the operation's requests that get the fault. */
  nth: number | readonly number[];
  fault: FaultKind;
}

export interface FaultProxyOptions {
  /** The server behind the proxy, e.g. `http://127.0.0.1:4567`. */
  upstream: string;
  /** PRNG seed. Default 1. */
  seed?: number;
  /** Probability that a request gets a random fault. Default 0. */
  rate?: number;
  /** Kinds chosen from at random, equally likely, or with weights. Default: every kind except `stallBody`. */
  kinds?: readonly FaultKind[] | Partial<Record<FaultKind, number>>;
  /** Operations random faults apply to. Default: all. */
  operations?: readonly string[];
  /** Faults at fixed positions; they win over random ones. */
  schedule?: readonly ScheduledFault[];
  /** How long slow faults hold, in ms: more than the client's request timeout. Default 1500. */
  slowMs?: number;
  /** Share of the entries a partial PutRecords failure rejects (at least one). Default 0.3. */
  partialShare?: number;
}

/** A fault that may have stored records the client believes failed. */
export interface DuplicateSuspect {
  /** The injected fault, or `clientGaveUp`: the client left (its own timeout) before a forwarded answer came back. */
  kind: FaultKind | 'clientGaveUp';
  operation: string;
  /** 1-based index of the request among the operation's requests. */
  nth: number;
  /** Entries the server stored while the client was told they failed (or told nothing). */
  records: number;
}

/** One injected fault. */
export interface FaultEvent {
  operation: string;
  nth: number;
  kind: FaultKind;
}

export interface OperationStats {
  requests: number;
  faults: number;
  byKind: Partial<Record<FaultKind, number>>;
}

export interface FaultStats {
  requests: number;
  /** Requests that reached the server. */
  forwarded: number;
  faults: number;
  byKind: Partial<Record<FaultKind, number>>;
  byOperation: Record<string, OperationStats>;
  duplicateSuspects: DuplicateSuspect[];
}

export interface FaultProxy {
  /** e.g. `http://127.0.0.1:45123` */
  readonly url: string;
  readonly port: number;
  /** False: every request is forwarded untouched (scheduled faults included). */
  enabled: boolean;
  /** A snapshot of the counters. */
  stats(): FaultStats;
  /** Every injected fault, in order. */
  faults(): FaultEvent[];
  /** Records stored that the client may have been told failed: the sum over `duplicateSuspects`. */
  suspectRecords(): number;
  /** One line per fault kind and per operation, for logs and assertion messages. */
  summary(): string;
  /** Closes the listener and every socket, cancels held answers. Idempotent. */
  stop(): Promise<void>;
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

/** mulberry32: a small, fast, seedable PRNG in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string, to derive sub-seeds. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  operation: string;
  nth: number;
  body: Buffer;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  const seed = options.seed ?? 1;
  const rate = options.rate ?? 0;
  const slowMs = options.slowMs ?? 1500;
  const partialShare = options.partialShare ?? 0.3;
  const operationsFilter = options.operations === undefined ? undefined : new Set(options.operations);
  const weights = resolveWeights(options.kinds);
  const schedule = new Map<string, FaultKind>();
  for (const entry of options.schedule ?? []) {
    for (const nth of typeof entry.nth === 'number' ? [entry.nth] : entry.nth) schedule.set(`${entry.operation}#${nth}`, entry.fault);
  }

  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const timers = new Set<NodeJS.Timeout>();
  const prngs = new Map<string, () => number>();
  const perOperationCount = new Map<string, number>();
  const stats: FaultStats = { requests: 0, forwarded: 0, faults: 0, byKind: {}, byOperation: {}, duplicateSuspects: [] };
  const events: FaultEvent[] = [];
  let stopped = false;

  const prngFor = (operation: string): (() => number) => {
    let prng = prngs.get(operation);
    if (prng === undefined) {
      prng = mulberry32(hash(`${seed}/${operation}`));
      prngs.set(operation, prng);
    }
    return prng;
  };

  /** The fault for this request, or undefined. Two draws per request always, so decisions stay aligned. */
  const decide = (operation: string, nth: number): FaultKind | undefined => {
    const prng = prngFor(operation);
    const roll = prng();
    const pick = prng();
    const scheduled = schedule.get(`${operation}#${nth}`);
    if (scheduled !== undefined) return scheduled;
    if (rate <= 0 || roll >= rate) return undefined;
    if (operationsFilter !== undefined && !operationsFilter.has(operation)) return undefined;
    const applicable = weights.filter(([kind]) => faultApplies(kind, operation));
    const total = applicable.reduce((sum, [, weight]) => sum + weight, 0);
    if (total <= 0) return undefined;
    let at = pick * total;
    for (const [kind, weight] of applicable) {
      at -= weight;
      if (at < 0) return kind;
    }
    return applicable[applicable.length - 1][0];
  };

  const count = (operation: string, kind: FaultKind, nth: number): void => {
    stats.faults++;
    stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
    const op = stats.byOperation[operation];
    op.faults++;
    op.byKind[kind] = (op.byKind[kind] ?? 0) + 1;
    events.push({ operation, nth, kind });
  };

  const suspect = (exchange: Exchange, kind: DuplicateSuspect['kind'], records: number): void => {
    if (STORING_OPERATIONS.has(exchange.operation) && records > 0) {
      stats.duplicateSuspects.push({ kind, operation: exchange.operation, nth: exchange.nth, records });
    }
  };

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const forward = (exchange: Exchange, body: Buffer): Promise<Upstream> => {
    stats.forwarded++;
    return forwardRequest(agent, upstream, exchange.req, body);
  };


  const answerError = (res: ServerResponse, status: number, type: string, message: string): void => {
    const body = Buffer.from(JSON.stringify({ __type: type, message }));
    res.writeHead(status, { 'content-type': JSON_CONTENT_TYPE, 'content-length': String(body.length), 'x-amzn-requestid': `fault-${stats.requests}` });
    res.end(body);
  };

  const reset = (res: ServerResponse): void => {
    const socket = res.socket;
    if (socket === null || socket.destroyed) return;
    // A TCP RST where the platform allows it, like a crashed load balancer.
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  };

  const clientGone = (exchange: Exchange): boolean => exchange.res.destroyed || exchange.req.socket.destroyed || stopped;

  /** Answers with the server's result; if the client gave up meanwhile (its own timeout), what was stored is a suspect too. */
  const deliver = (exchange: Exchange, result: Upstream): void => {
    if (clientGone(exchange)) suspect(exchange, 'clientGaveUp', storedEntries(exchange.operation, result));
    else answerWith(exchange.res, result);
  };

  const handle = async (exchange: Exchange, fault: FaultKind | undefined): Promise<void> => {
    const { res } = exchange;
    switch (fault) {
      case undefined:
        deliver(exchange, await forward(exchange, exchange.body));
        return;
      case 'internalFailure':
        answerError(res, 500, 'InternalFailure', 'Injected internal failure');
        return;
      case 'serviceUnavailable':
        answerError(res, 503, 'ServiceUnavailable', 'Injected: service unavailable');
        return;
      case 'throughputExceeded':
        answerError(res, 400, 'ProvisionedThroughputExceededException', 'Injected: rate exceeded for shard');
        return;
      case 'limitExceeded':
        answerError(res, 400, 'LimitExceededException', 'Injected: limit exceeded');
        return;
      case 'expiredIterator':
        answerError(res, 400, 'ExpiredIteratorException', 'Injected: iterator expired');
        return;
      case 'resetBeforeForward':
        reset(res);
        return;
      case 'resetAfterProcessing': {
        const result = await forward(exchange, exchange.body);
        suspect(exchange, fault, storedEntries(exchange.operation, result));
        reset(res);
        return;
      }
      case 'slow':
        later(slowMs, () => {
          if (clientGone(exchange)) return;
          forward(exchange, exchange.body).then((result) => deliver(exchange, result), () => reset(res));
        });
        return;
      case 'slowAfterProcessing': {
        const result = await forward(exchange, exchange.body);
        suspect(exchange, fault, storedEntries(exchange.operation, result));
        later(slowMs, () => answerWith(res, result));
        return;
      }
      case 'stallBody': {
        const result = await forward(exchange, exchange.body);
        suspect(exchange, fault, storedEntries(exchange.operation, result));
        if (res.destroyed) return;
        res.writeHead(result.status, { ...passHeaders(result.headers), 'content-length': String(result.body.length) });
        res.write(result.body.subarray(0, Math.floor(result.body.length / 2)));
        return; // never ended: stop() closes the socket
      }
      case 'truncated': {
        const result = await forward(exchange, exchange.body);
        suspect(exchange, fault, storedEntries(exchange.operation, result));
        if (res.destroyed) return;
        // No Content-Length: the response is chunked and ends cleanly after half the body.
        res.writeHead(result.status, passHeaders(result.headers));
        res.end(result.body.subarray(0, Math.floor(result.body.length / 2)));
        return;
      }
      case 'truncatedClose': {
        const result = await forward(exchange, exchange.body);
        suspect(exchange, fault, storedEntries(exchange.operation, result));
        if (res.destroyed) return;
        res.writeHead(result.status, { ...passHeaders(result.headers), 'content-length': String(result.body.length) });
        // A FIN, not a reset: a reset may discard the half body still unread on the client side.
        res.write(result.body.subarray(0, Math.floor(result.body.length / 2)), () => res.socket?.destroy());
        return;
      }
      case 'partialFailure':
      case 'partialFailureDuplicating': {
        const request = JSON.parse(exchange.body.toString('utf8')) as { Records?: unknown[] };
        const entries = request.Records ?? [];
        const failing = chooseFailing(entries.length, partialShare, mulberry32(hash(`${seed}/${exchange.operation}/${exchange.nth}/partial`)));
        if (fault === 'partialFailureDuplicating') {
          const result = await forward(exchange, exchange.body);
          const parsed = parseBody(result);
          if (result.status !== 200 || parsed === undefined) return answerWith(res, result);
          const rewritten = markFailed(parsed, failing);
          suspect(exchange, fault, rewritten.newlyFailed);
          answerWith(res, result, Buffer.from(JSON.stringify(rewritten.body)));
          return;
        }
        const kept = entries.filter((_, i) => !failing.has(i));
        if (kept.length === 0) {
          answerWith(res, { status: 200, headers: { 'content-type': JSON_CONTENT_TYPE }, body: Buffer.from(JSON.stringify(allFailed(entries.length))) });
          return;
        }
        const result = await forward(exchange, Buffer.from(JSON.stringify({ ...request, Records: kept })));
        const parsed = parseBody(result);
        if (result.status !== 200 || parsed === undefined) return answerWith(res, result);
        answerWith(res, result, Buffer.from(JSON.stringify(mergeFailures(parsed, entries.length, failing))));
        return;
      }
    }
  };

  const listener = await listenForOperations((req, res, operation, body) => {
    const nth = (perOperationCount.get(operation) ?? 0) + 1;
    perOperationCount.set(operation, nth);
    stats.requests++;
    stats.byOperation[operation] ??= { requests: 0, faults: 0, byKind: {} };
    stats.byOperation[operation].requests++;
    const decided = decide(operation, nth);
    const fault = proxy.enabled ? decided : undefined;
    if (fault !== undefined) count(operation, fault, nth);
    const exchange: Exchange = { req, res, operation, nth, body };
    handle(exchange, fault).catch(() => reset(res));
  });

  let stopping: Promise<void> | undefined;
  const proxy: FaultProxy = {
    url: listener.url,
    port: listener.port,
    enabled: true,
    stats: () => structuredClone(stats),
    faults: () => events.slice(),
    suspectRecords: () => stats.duplicateSuspects.reduce((sum, s) => sum + s.records, 0),
    summary: () => summarize(stats),
    stop: () => {
      stopping ??= (async () => {
        stopped = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        agent.destroy();
        await listener.close();
      })();
      return stopping;
    },
  };
  return proxy;
}

function resolveWeights(kinds: FaultProxyOptions['kinds']): Array<[FaultKind, number]> {
  if (kinds === undefined) return ALL_FAULT_KINDS.filter((kind) => kind !== 'stallBody').map((kind) => [kind, 1]);
  if (Array.isArray(kinds)) return (kinds as readonly FaultKind[]).map((kind) => [kind, 1]);
  return Object.entries(kinds as Partial<Record<FaultKind, number>>)
    .filter(([, weight]) => weight !== undefined && weight > 0)
    .map(([kind, weight]) => [kind as FaultKind, weight as number]);
}

export interface PutRecordsResultEntry {
  SequenceNumber?: string;
  ShardId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

export interface PutRecordsAnswer {
  FailedRecordCount?: number;
  Records?: PutRecordsResultEntry[];
  [field: string]: unknown;
}

function parseBody(result: Upstream): PutRecordsAnswer | undefined {
  try {
    return JSON.parse(result.body.toString('utf8')) as PutRecordsAnswer;
  } catch {
    return undefined;
  }
}

/** Entries a successful answer says were stored (PutRecords), 1 for PutRecord, else 0. */
function storedEntries(operation: string, result: Upstream): number {
  if (result.status !== 200) return 0;
  if (operation === 'PutRecord') return 1;
  if (operation !== 'PutRecords') return 0;
  const parsed = parseBody(result);
  return (parsed?.Records ?? []).filter((entry) => entry.ErrorCode === undefined && entry.SequenceNumber !== undefined).length;
}

/** Indexes of the entries a partial failure rejects: about `share` of them, at least one. */
function chooseFailing(count: number, share: number, prng: () => number): Set<number> {
  const failing = new Set<number>();
  for (let i = 0; i < count; i++) if (prng() < share) failing.add(i);
  if (failing.size === 0 && count > 0) failing.add(Math.floor(prng() * count));
  return failing;
}

function failedEntry(): PutRecordsResultEntry {
  return { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Injected: rate exceeded for shard (partial failure)' };
}

function allFailed(count: number): PutRecordsAnswer {
  return { FailedRecordCount: count, Records: Array.from({ length: count }, failedEntry) };
}

/** The answer to the full request: the server's results for the forwarded entries, fake failures for the stripped ones. */
export function mergeFailures(
  answer: PutRecordsAnswer,
  total: number,
  failing: ReadonlySet<number>,
  failure: (index: number) => PutRecordsResultEntry = failedEntry,
): PutRecordsAnswer {
  const results = answer.Records ?? [];
  const merged: PutRecordsResultEntry[] = [];
  let next = 0;
  for (let i = 0; i < total; i++) merged.push(failing.has(i) ? failure(i) : (results[next++] ?? failure(i)));
  return { ...answer, FailedRecordCount: merged.filter((entry) => entry.ErrorCode !== undefined).length, Records: merged };
}

/** The server's answer with the `failing` entries turned into failures (they were stored all the same). */
function markFailed(answer: PutRecordsAnswer, failing: ReadonlySet<number>): { body: PutRecordsAnswer; newlyFailed: number } {
  let newlyFailed = 0;
  const records = (answer.Records ?? []).map((entry, i) => {
    if (!failing.has(i) || entry.ErrorCode !== undefined) return entry;
    newlyFailed++;
    return failedEntry();
  });
  return { body: { ...answer, FailedRecordCount: records.filter((entry) => entry.ErrorCode !== undefined).length, Records: records }, newlyFailed };
}

function summarize(stats: FaultStats): string {
  const kinds = Object.entries(stats.byKind)
    .map(([kind, n]) => `${kind}=${n}`)
    .join(' ');
  const ops = Object.entries(stats.byOperation)
    .map(([op, s]) => `${op}: ${s.faults}/${s.requests}`)
    .join(', ');
  const suspects = stats.duplicateSuspects.reduce((sum, s) => sum + s.records, 0);
  return `${stats.faults} fault(s) in ${stats.requests} request(s) [${kinds}]; per operation (faults/requests) ${ops}; ${stats.duplicateSuspects.length} after-processing fault(s) on stored records covering ${suspects} record(s)`;
}
