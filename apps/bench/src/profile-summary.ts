/**
 * Sums the self time of a V8 CPU profile (`node --cpu-prof`) by function and prints the
 * functions that took the most, as shares of the busy time: every sample except `(idle)`.
 *
 * Usage: node dist/profile-summary.js FILE.cpuprofile [--top N]
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  /** Node id of each sample. */
  samples: number[];
  /** Microseconds between a sample and the one before it. */
  timeDeltas: number[];
}

/** V8's name for samples taken while the thread waited for events. */
const IDLE = '(idle)';

/**
 * Returns the self time in microseconds of each function, keyed by name and location. The
 * location keeps the last three path segments, such as `protocol/dist/index.js:120`, because
 * several bundles are named index.js.
 */
export function selfTimeByFunction(profile: CpuProfile): Map<string, number> {
  const names = new Map<number, string>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const location = url === '' ? '' : ` ${shortPath(url)}:${lineNumber + 1}`;
    names.set(node.id, `${functionName || '(anonymous)'}${location}`);
  }

  const totals = new Map<string, number>();
  for (let index = 0; index < profile.samples.length; index++) {
    // A sample's time is the delta that the next sample records.
    const delta = profile.timeDeltas[index + 1] ?? 0;
    const name = names.get(profile.samples[index]!) ?? '(unknown node)';
    totals.set(name, (totals.get(name) ?? 0) + delta);
  }
  return totals;
}

function shortPath(url: string): string {
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  return path.split('/').slice(-3).join('/');
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '10' } } });
  const file = positionals[0];
  const top = Number(values.top);
  if (file === undefined || !Number.isSafeInteger(top) || top <= 0) {
    process.stderr.write('usage: node dist/profile-summary.js FILE.cpuprofile [--top N]\n');
    process.exitCode = 2;
    return;
  }

  const totals = selfTimeByFunction(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const total = [...totals.values()].reduce((sum, value) => sum + value, 0);
  const idle = totals.get(IDLE) ?? 0;
  const busy = total - idle;
  totals.delete(IDLE);

  const ranked = [...totals].sort((a, b) => b[1] - a[1]).slice(0, top);
  process.stdout.write(`${basename(file)}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy\n`);
  for (const [name, micros] of ranked) {
    process.stdout.write(`${(micros / 1000).toFixed(1).padStart(9)} ms ${((100 * micros) / busy).toFixed(1).padStart(5)}% of busy  ${name}\n`);
  }
}

main();
