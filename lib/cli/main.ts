#!/usr/bin/env node
/**
 * The kinesis-node-streams command: read, write, copy and inspect streams from the shell.
 * Exit codes: 0 done, 1 failed (records not written, service errors), 2 bad command line.
 */
import { COMMANDS, MAIN_USAGE, UsageError, parseCommand, usageOf, type CommandName } from './args.js';
import { copy } from './copy.js';
import { read } from './read.js';
import { stats } from './stats.js';
import { write } from './write.js';

const RUN: Record<CommandName, (flags: ReturnType<typeof parseCommand>) => Promise<number>> = { read, write, copy, stats };

/** Runs the command line `args` (without node and the script); resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(`${MAIN_USAGE}\n`);
      return command === undefined ? 2 : 0;
    }
    if (!(command in COMMANDS)) throw new UsageError(`unknown command ${JSON.stringify(command)}`, undefined);
    const name = command as CommandName;
    const flags = parseCommand(name, rest);
    if (flags.help === true) {
      process.stdout.write(`${usageOf(name)}\n`);
      return 0;
    }
    return await RUN[name](flags);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`kinesis-node-streams: ${error.message}\n\n${error.command === undefined ? MAIN_USAGE : usageOf(error.command as CommandName)}\n`);
      return 2;
    }
    const e = error as Error;
    process.stderr.write(`kinesis-node-streams: ${e.name}: ${e.message}\n`);
    if (process.env.DEBUG !== undefined && e.stack !== undefined) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
