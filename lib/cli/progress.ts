/**
 * The live per-shard view of `read --progress` and `copy --progress`, built on the
 * package's diagnostics channels: records and rate per shard, lag (MillisBehindLatest),
 * lease owner, and totals (written, throttles, retries). On a terminal the table is
 * redrawn in place; otherwise it prints plain `key=value` lines, one per shard per
 * interval, for logs. Rendering is pure (formatTable, formatPlain) so tests need no TTY.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  CHANNELS,
  type LeaseGainedMessage,
  type LeaseMessage,
  type RecordsReadMessage,
  type RecordsWrittenMessage,
  type ShardLagMessage,
  type ShardMessage,
  type ShardStopMessage,
  type ThrottleMessage,
} from '../metrics/channels.js';

export type ShardState = 'reading' | 'ended' | 'lost' | 'stopped';

/** One shard in the view. */
export interface ShardRow {
  streamName: string;
  shardId: string;
  state: ShardState;
  /** Records handed to the consumer since the view started. */
  records: number;
  /** Records per second over the last interval. */
  rate: number;
  /** The last MillisBehindLatest seen, if any. */
  lagMs: number | undefined;
  /** The worker holding the shard's lease (with a lease table). */
  owner: string | undefined;
}

/** Everything the view shows at one moment. */
export interface ProgressSnapshot {
  at: Date;
  records: number;
  rate: number;
  written: number;
  throttles: number;
  retries: number;
  rows: ShardRow[];
}

interface ShardCounters {
  streamName: string;
  shardId: string;
  state: ShardState;
  records: number;
  recordsAtLastSnapshot: number;
  lagMs: number | undefined;
  owner: string | undefined;
}

/** Counts what the channels report, per shard. Subscribed from construction until close(). */
export class ProgressModel {
  private readonly shards = new Map<string, ShardCounters>();
  private written = 0;
  private throttles = 0;
  private retries = 0;
  private records = 0;
  private recordsAtLastSnapshot = 0;
  private lastSnapshotAt: number;
  private readonly handlers: Array<[string, (message: unknown) => void]>;

  constructor(now = Date.now()) {
    this.lastSnapshotAt = now;
    this.handlers = [
      [
        CHANNELS.recordsRead,
        (message) => {
          const m = message as RecordsReadMessage;
          this.shard(m.streamName, m.shardId).records += m.records;
          this.records += m.records;
        },
      ],
      [CHANNELS.shardStart, (message) => (this.shardOf(message as ShardMessage).state = 'reading')],
      [CHANNELS.shardLag, (message) => (this.shardOf(message as ShardLagMessage).lagMs = (message as ShardLagMessage).millisBehindLatest)],
      [
        CHANNELS.shardStop,
        (message) => {
          const m = message as ShardStopMessage;
          this.shardOf(m).state = m.reason === 'end' ? 'ended' : m.reason === 'leaseLost' ? 'lost' : 'stopped';
        },
      ],
      [CHANNELS.leaseGained, (message) => (this.shardOf(message as LeaseGainedMessage).owner = (message as LeaseGainedMessage).workerId)],
      [
        CHANNELS.leaseLost,
        (message) => {
          const shard = this.shardOf(message as LeaseMessage);
          shard.owner = undefined;
          shard.state = 'lost';
        },
      ],
      [CHANNELS.recordsWritten, (message) => (this.written += (message as RecordsWrittenMessage).records)],
      [CHANNELS.throttle, (message) => (this.throttles += (message as ThrottleMessage).count)],
      [CHANNELS.retry, () => this.retries++],
    ];
    for (const [name, handler] of this.handlers) diagnosticsChannel.subscribe(name, handler);
  }

  /** The view now; rates are over the time since the previous snapshot. */
  snapshot(now = Date.now()): ProgressSnapshot {
    const seconds = Math.max(0.001, (now - this.lastSnapshotAt) / 1000);
    const rows: ShardRow[] = [];
    for (const s of this.shards.values()) {
      rows.push({
        streamName: s.streamName,
        shardId: s.shardId,
        state: s.state,
        records: s.records,
        rate: (s.records - s.recordsAtLastSnapshot) / seconds,
        lagMs: s.lagMs,
        owner: s.owner,
      });
      s.recordsAtLastSnapshot = s.records;
    }
    rows.sort((a, b) => a.streamName.localeCompare(b.streamName) || a.shardId.localeCompare(b.shardId));
    const rate = (this.records - this.recordsAtLastSnapshot) / seconds;
    this.recordsAtLastSnapshot = this.records;
    this.lastSnapshotAt = now;
    return { at: new Date(now), records: this.records, rate, written: this.written, throttles: this.throttles, retries: this.retries, rows };
  }

  close(): void {
    for (const [name, handler] of this.handlers) diagnosticsChannel.unsubscribe(name, handler);
  }

  private shardOf(m: { streamName: string; shardId: string }): ShardCounters {
    return this.shard(m.streamName, m.shardId);
  }

  private shard(streamName: string, shardId: string): ShardCounters {
    const key = `${streamName}\u0000${shardId}`;
    let shard = this.shards.get(key);
    if (shard === undefined) {
      shard = { streamName, shardId, state: 'reading', records: 0, recordsAtLastSnapshot: 0, lagMs: undefined, owner: undefined };
      this.shards.set(key, shard);
    }
    return shard;
  }
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** The terminal view: a title line, a header and one row per shard (at most `maxRows`). */
export function formatTable(snapshot: ProgressSnapshot, title: string, maxRows = Number.POSITIVE_INFINITY): string[] {
  const s = snapshot;
  const time = s.at.toISOString().slice(11, 19);
  const totals = [
    `${title}`,
    `read ${integer.format(s.records)}`,
    `${integer.format(s.rate)}/s`,
    ...(s.written > 0 ? [`written ${integer.format(s.written)}`] : []),
    `throttles ${integer.format(s.throttles)}`,
    `retries ${integer.format(s.retries)}`,
    time,
  ].join(' · ');
  const streams = new Set(s.rows.map((row) => row.streamName));
  const header = ['shard', 'state', 'lag ms', 'records/s', 'records', 'lease owner'];
  const shown = s.rows.length > maxRows ? s.rows.slice(0, Math.max(0, maxRows - 1)) : s.rows;
  const cells = shown.map((row) => [
    streams.size > 1 ? `${row.streamName}/${row.shardId}` : row.shardId,
    row.state,
    row.lagMs === undefined ? '-' : integer.format(row.lagMs),
    integer.format(row.rate),
    integer.format(row.records),
    row.owner ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  // Text left, numbers right.
  const align = (c: string[]): string =>
    c
      .map((cell, i) => (i >= 2 && i <= 4 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const lines = [totals, align(header), ...cells.map(align)];
  if (shown.length < s.rows.length) lines.push(`… ${s.rows.length - shown.length} more shard(s)`);
  return lines;
}

/** Log lines: one per shard and a total, `key=value`, stable to parse. */
export function formatPlain(snapshot: ProgressSnapshot, title: string): string[] {
  const s = snapshot;
  const at = s.at.toISOString();
  const lines = s.rows.map(
    (row) =>
      `${at} ${row.streamName} ${row.shardId} state=${row.state} lag_ms=${row.lagMs ?? '-'} rate=${Math.round(row.rate)} records=${row.records} owner=${row.owner ?? '-'}`,
  );
  lines.push(`${at} ${title} total records=${s.records} rate=${Math.round(s.rate)} written=${s.written} throttles=${s.throttles} retries=${s.retries}`);
  return lines;
}

/** Moves the cursor back over the previous drawing and clears each line it rewrites. */
export function redraw(previousLines: number, lines: readonly string[]): string {
  const up = previousLines > 0 ? `\x1b[${previousLines}F` : '';
  return `${up}${lines.map((line) => `\x1b[2K${line}\n`).join('')}\x1b[J`;
}

export interface ProgressViewOptions {
  /** Shown first on the totals line (the command and stream). */
  title: string;
  /** Where to draw (stderr: `read` writes records to stdout). */
  out: NodeJS.WriteStream;
  intervalMs: number;
}

/** Draws the view every intervalMs until stop(), which draws it a last time. */
export function startProgressView(options: ProgressViewOptions): { stop(): void } {
  const { out, title, intervalMs } = options;
  const tty = out.isTTY === true;
  const model = new ProgressModel();
  let drawn = 0;
  const draw = (): void => {
    const snapshot = model.snapshot();
    if (tty) {
      const lines = formatTable(snapshot, title, Math.max(3, (out.rows ?? 40) - 2));
      out.write(redraw(drawn, lines));
      drawn = lines.length;
    } else {
      out.write(`${formatPlain(snapshot, title).join('\n')}\n`);
    }
  };
  const timer = setInterval(draw, intervalMs);
  timer.unref();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      draw();
      model.close();
    },
  };
}
