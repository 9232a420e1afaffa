/**
 * A proxy in front of kinesalite that makes GetRecords report MillisBehindLatest as Kinesis
 * does (kinesalite and kinesis-mock always report 0): a full page (as many records as the
 * Limit) is behind by the age of its last record; a shorter page has reached the tip, 0.
 * Everything else passes through unchanged.
 */
import { Agent } from 'node:http';
import { answerWith, forwardRequest, listenForOperations } from './proxy-server.js';

export interface LagProxy {
  url: string;
  stop(): Promise<void>;
}

export async function startLagProxy(upstream: string): Promise<LagProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const listener = await listenForOperations((req, res, operation, body) => {
    forwardRequest(agent, target, req, body).then(
      (result) => {
        if (operation !== 'GetRecords' || result.status !== 200) return answerWith(res, result);
        const limit = (JSON.parse(body.toString('utf8')) as { Limit?: number }).Limit ?? 10000;
        const page = JSON.parse(result.body.toString('utf8')) as { Records?: Array<{ ApproximateArrivalTimestamp?: number }>; MillisBehindLatest?: number };
        const records = page.Records ?? [];
        const last = records[records.length - 1]?.ApproximateArrivalTimestamp;
        page.MillisBehindLatest = records.length >= limit && last !== undefined ? Math.max(1, Math.round(Date.now() - last * 1000)) : 0;
        answerWith(res, result, Buffer.from(JSON.stringify(page)));
      },
      () => res.destroy(),
    );
  });
  return {
    url: listener.url,
    async stop() {
      agent.destroy();
      await listener.close();
    },
  };
}
