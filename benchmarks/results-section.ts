/**
 * Sections of benchmarks/RESULTS.md written by benchmarks that run on their own as well
 * as inside `npm run bench`: a section is replaced in place (from its heading to the
 * next `## `), or appended when new.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const RESULTS_MD = fileURLToPath(new URL('./RESULTS.md', import.meta.url));

/** Replaces (or appends) the section that starts with `heading` (a `## ` line) in RESULTS.md. */
export async function writeResultsSection(heading: string, markdown: string): Promise<void> {
  let text = '';
  try {
    text = await readFile(RESULTS_MD, 'utf8');
  } catch {
    // no results yet: the section alone
  }
  const start = text.indexOf(`\n${heading}\n`);
  if (start >= 0) {
    const next = text.indexOf('\n## ', start + heading.length + 2);
    text = text.slice(0, start + 1) + markdown + (next >= 0 ? `\n${text.slice(next + 1)}` : '');
  } else {
    text = `${text.trimEnd()}\n\n${markdown}`;
  }
  await writeFile(RESULTS_MD, text.endsWith('\n') ? text : `${text}\n`);
}
