/**
 * Diagnostics through `debug`, namespaced `kinesis-node-streams:<area>`
 * (enable with DEBUG=kinesis-node-streams:*). Callers log counts, names and codes,
 * never credentials or record payloads.
 */
import createDebug from 'debug';

export type Logger = createDebug.Debugger;

/** A debug logger for one area (writable, readable, client, checkpoint, ...). */
export function logger(area: string): Logger {
  return createDebug(`kinesis-node-streams:${area}`);
}
