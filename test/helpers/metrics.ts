/**
 * The package's OpenTelemetry adapter on a real SDK MeterProvider whose reader exports into
 * the SDK's InMemoryMetricExporter (cumulative), and small queries over what it exported.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { CHANNELS, instrument, type Instrumentation } from '../../lib/index.js';

export type Attrs = Record<string, unknown>;

/** One exported point: its attributes and value (a number, or a histogram's count/sum). */
export interface Point {
  attributes: Attrs;
  value: number;
  count?: number;
  sum?: number;
}

/**
 * Cumulative sums and histograms; gauges as delta, so a gauge shows only what was observed
 * in the last collection (cumulative, the JS SDK goes on exporting a series' last value
 * after its callback stopped observing it).
 */
class Exporter extends InMemoryMetricExporter {
  override selectAggregationTemporality(type: InstrumentType): AggregationTemporality {
    return type === InstrumentType.OBSERVABLE_GAUGE ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
  }
}

export class MetricsHarness {
  readonly exporter = new Exporter(AggregationTemporality.CUMULATIVE);
  readonly reader = new PeriodicExportingMetricReader({ exporter: this.exporter, exportIntervalMillis: 3_600_000 });
  readonly provider = new MeterProvider({ readers: [this.reader] });
  readonly instrumentation: Instrumentation;
  private last = new Map<string, MetricData>();

  constructor() {
    this.instrumentation = instrument({ meter: this.provider.getMeter('kinesis-node-streams-test') });
  }

  /** Exports now; later queries read this export. */
  async collect(): Promise<void> {
    this.exporter.reset();
    await this.reader.forceFlush();
    this.last = new Map();
    for (const resource of this.exporter.getMetrics()) {
      for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) this.last.set(metric.descriptor.name, metric);
    }
  }

  names(): string[] {
    return [...this.last.keys()].sort();
  }

  metric(name: string): MetricData | undefined {
    return this.last.get(name);
  }

  points(name: string, where: Attrs = {}): Point[] {
    const metric = this.last.get(name);
    if (metric === undefined) return [];
    const out: Point[] = [];
    for (const point of metric.dataPoints) {
      const attributes = point.attributes as Attrs;
      if (!Object.entries(where).every(([key, value]) => attributes[key] === value)) continue;
      if (metric.dataPointType === DataPointType.HISTOGRAM) {
        const h = point.value as { count: number; sum?: number };
        out.push({ attributes, value: h.count, count: h.count, sum: h.sum });
      } else {
        out.push({ attributes, value: point.value as number });
      }
    }
    return out;
  }

  /** Sum of the points' values (a histogram's counts) matching `where`. */
  sum(name: string, where: Attrs = {}): number {
    return this.points(name, where).reduce((total, p) => total + p.value, 0);
  }

  /** Sum per value of one attribute. */
  sumBy(name: string, attribute: string, where: Attrs = {}): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.points(name, where)) {
      const key = String(p.attributes[attribute]);
      out[key] = (out[key] ?? 0) + p.value;
    }
    return out;
  }

  async close(): Promise<void> {
    this.instrumentation.close();
    await this.provider.shutdown();
  }
}

/** Every message of every channel of the package, as published, until stop(). */
export function recordAllChannels(): { messages: Array<{ channel: string; message: unknown }>; stop(): void } {
  const messages: Array<{ channel: string; message: unknown }> = [];
  const handlers = Object.values(CHANNELS).map((channel) => {
    const handler = (message: unknown): void => {
      messages.push({ channel, message });
    };
    diagnosticsChannel.subscribe(channel, handler);
    return [channel, handler] as const;
  });
  return {
    messages,
    stop() {
      for (const [channel, handler] of handlers) diagnosticsChannel.unsubscribe(channel, handler);
    },
  };
}
