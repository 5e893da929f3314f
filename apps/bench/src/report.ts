/**
 * Turns a `BenchReport` into a Markdown table: for each metric, every client's median with its
 * minimum and maximum over the repetitions, Warren's median as a ratio to the best peer's, and
 * whether Warren meets its target.
 */
import { CLIENT_NAMES, type ClientName } from './clients/client.js';
import type { BenchReport, BenchmarkName, RunResult } from './results.js';
import { type Spread, spread } from './stats.js';

const MIB = 1024 * 1024;
const PEERS = CLIENT_NAMES.filter((client) => client !== 'warren');

interface Target {
  /** Text of the Target column. */
  text: string;
  /** Whether Warren's median meets the target; undefined when no peer has a value to compare. */
  passes(warren: number, bestPeer: number | undefined): boolean | undefined;
}

interface Metric {
  benchmark: BenchmarkName;
  label: string;
  /** Which direction is better, which decides the best peer. */
  better: 'higher' | 'lower';
  decimals: number;
  value(run: RunResult): number | undefined;
  target?: Target;
}

function atLeastBestPeer(factor: number, text = factor === 1 ? '≥ best peer' : `≥ ${factor}× best peer`): Target {
  return { text, passes: (warren, best) => (best === undefined ? undefined : warren >= factor * best) };
}

function atMostBestPeer(factor: number, text = factor === 1 ? '≤ best peer' : `≤ ${factor} × best peer`): Target {
  return { text, passes: (warren, best) => (best === undefined ? undefined : warren <= factor * best) };
}

function below(limit: number, text: string): Target {
  return { text, passes: (warren) => warren < limit };
}

function phaseOf(run: RunResult, name: string): RunResult['phases'][number] | undefined {
  return run.phases.find((phase) => phase.name === name);
}

function throughput(benchmark: BenchmarkName, phase: string, unit: string, target?: Target): Metric {
  return {
    benchmark,
    label: `${phase} throughput (${unit})`,
    better: 'higher',
    decimals: 0,
    value: (run) => {
      const result = phaseOf(run, phase);
      return result === undefined ? undefined : result.messages / result.seconds;
    },
    target,
  };
}

function megabytesPerSecond(benchmark: BenchmarkName, phase: string, target?: Target): Metric {
  return {
    benchmark,
    label: `${phase} throughput (MB/s, 10^6 bytes)`,
    better: 'higher',
    decimals: 1,
    value: (run) => {
      const result = phaseOf(run, phase);
      return result === undefined ? undefined : result.bytes / 1e6 / result.seconds;
    },
    target,
  };
}

function cpuPerMessage(benchmark: BenchmarkName, phase: string, unit: string, target?: Target): Metric {
  return {
    benchmark,
    label: `${phase} client CPU (µs per ${unit})`,
    better: 'lower',
    decimals: 2,
    value: (run) => {
      const result = phaseOf(run, phase);
      return result === undefined ? undefined : result.cpuMicros / result.messages;
    },
    target,
  };
}

function latency(benchmark: BenchmarkName, phase: string, percentile: 'p50' | 'p99', target?: Target): Metric {
  return {
    benchmark,
    label: `${phase} latency ${percentile} (ms)`,
    better: 'lower',
    decimals: 3,
    value: (run) => phaseOf(run, phase)?.latency?.[percentile],
    target,
  };
}

function peakRss(benchmark: BenchmarkName, target: Target | undefined = atMostBestPeer(1)): Metric {
  return {
    benchmark,
    label: 'peak RSS (MiB)',
    better: 'lower',
    decimals: 1,
    value: (run) => run.memory.maxRss / MIB,
    target,
  };
}

/** Returns the rows of the table in order, each with Warren's target where it has one. */
function metrics(report: BenchReport): Metric[] {
  const largeLimitMib = (4 * report.settings.largeSize) / MIB;
  return [
    throughput('publish', 'publish', 'msg/s', atLeastBestPeer(1)),
    cpuPerMessage('publish', 'publish', 'msg', atMostBestPeer(0.6)),
    peakRss('publish'),

    throughput('confirm', 'confirm', 'msg/s', atLeastBestPeer(1)),
    cpuPerMessage('confirm', 'confirm', 'msg', atMostBestPeer(0.6)),
    peakRss('confirm'),

    latency('confirm-single', 'confirm-single', 'p50', atMostBestPeer(1)),
    latency('confirm-single', 'confirm-single', 'p99', atMostBestPeer(1)),
    cpuPerMessage('confirm-single', 'confirm-single', 'msg'),
    peakRss('confirm-single'),

    throughput('consume', 'consume', 'msg/s', atLeastBestPeer(1)),
    cpuPerMessage('consume', 'consume', 'msg', atMostBestPeer(0.6)),
    peakRss('consume'),

    latency('rpc', 'rpc', 'p50', atMostBestPeer(1)),
    latency('rpc', 'rpc', 'p99', atMostBestPeer(1)),
    cpuPerMessage('rpc', 'rpc', 'call'),
    peakRss('rpc'),

    megabytesPerSecond('large', 'large-publish', atLeastBestPeer(1)),
    megabytesPerSecond('large', 'large-consume', atLeastBestPeer(1)),
    peakRss('large'),
    {
      benchmark: 'large',
      label: 'peak RSS above the idle baseline (MiB)',
      better: 'lower',
      decimals: 1,
      value: (run) => (run.memory.maxRss - run.memory.baselineRss) / MIB,
      target: below(largeLimitMib, `< ${largeLimitMib} MiB (4 × message)`),
    },

    throughput('headers', 'headers-publish', 'msg/s', atLeastBestPeer(1)),
    cpuPerMessage('headers', 'headers-publish', 'msg', atMostBestPeer(0.6)),
    throughput('headers', 'headers-consume', 'msg/s', atLeastBestPeer(1)),
    cpuPerMessage('headers', 'headers-consume', 'msg', atMostBestPeer(0.6)),
    peakRss('headers'),

    throughput('codec', 'codec-encode', 'ops/s', atLeastBestPeer(2, '≥ 2× amqplib')),
    throughput('codec', 'codec-decode', 'ops/s', atLeastBestPeer(2, '≥ 2× amqplib')),
  ];
}

interface Row {
  benchmark: BenchmarkName;
  label: string;
  cells: string[];
  ratio: string;
  target: string;
  met: string;
}

function summarize(report: BenchReport, metric: Metric): Row {
  const spreads = new Map<ClientName, Spread>();
  for (const client of CLIENT_NAMES) {
    const values = report.runs
      .filter((run) => run.client === client && run.benchmark === metric.benchmark)
      .map((run) => metric.value(run))
      .filter((value): value is number => value !== undefined && Number.isFinite(value));
    if (values.length > 0) spreads.set(client, spread(values));
  }

  const cells = CLIENT_NAMES.map((client) => {
    const clientSpread = spreads.get(client);
    if (clientSpread !== undefined) return formatSpread(clientSpread, metric.decimals);
    const failed = report.failures.some((failure) => failure.client === client && failure.benchmark === metric.benchmark);
    return failed ? 'failed' : '—';
  });

  const warren = spreads.get('warren')?.median;
  const best = bestPeer(spreads, metric.better);
  const ratio = warren === undefined || best === undefined ? '—' : `${formatNumber(warren / best.median, 2)}× ${best.client}`;
  const passes = warren === undefined ? undefined : metric.target?.passes(warren, best?.median);
  let met = '—';
  if (passes !== undefined) met = passes ? 'pass' : '**fail**';
  return { benchmark: metric.benchmark, label: metric.label, cells, ratio, target: metric.target?.text ?? '—', met };
}

function bestPeer(spreads: Map<ClientName, Spread>, better: 'higher' | 'lower'): { client: ClientName; median: number } | undefined {
  let best: { client: ClientName; median: number } | undefined;
  for (const client of PEERS) {
    const median = spreads.get(client)?.median;
    if (median === undefined) continue;
    const isBetter = best === undefined || (better === 'higher' ? median > best.median : median < best.median);
    if (isBetter) best = { client, median };
  }
  return best;
}

function formatSpread(value: Spread, decimals: number): string {
  if (value.min === value.max) return formatNumber(value.median, decimals);
  return `${formatNumber(value.median, decimals)} (${formatNumber(value.min, decimals)}–${formatNumber(value.max, decimals)})`;
}

function formatNumber(value: number, decimals: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** Renders the table of results with the setup it ran on above it. */
export function renderMarkdown(report: BenchReport): string {
  const lines: string[] = [];
  const { machine } = report;
  lines.push(`Run of ${report.startedAt}, ${report.repetitions} repetitions${report.scale === 1 ? '' : `, message counts scaled by ${report.scale}`}${report.profiled ? ', Warren under --cpu-prof' : ''}.`);
  lines.push('');
  lines.push(`- Machine: ${machine.cpuModel}, ${machine.cores} cores, ${formatNumber(machine.memoryBytes / 1024 ** 3, 1)} GiB RAM, ${machine.os}`);
  lines.push(`- Node.js ${report.node}, broker ${report.broker}`);
  lines.push(`- Clients: ${Object.values(report.libraries).join(', ')}`);
  lines.push('');

  const header = ['Workload', 'Metric', ...CLIENT_NAMES, 'Warren ÷ best peer', 'Target', 'Met'];
  lines.push(`| ${header.join(' | ')} |`);
  lines.push(`|${header.map((_, index) => (index >= 2 && index < 2 + CLIENT_NAMES.length ? '---:' : '---')).join('|')}|`);
  // A run limited with --workloads has no rows for the other benchmarks.
  const ran = new Set<BenchmarkName>([...report.runs, ...report.failures].map((run) => run.benchmark));
  for (const metric of metrics(report).filter((candidate) => ran.has(candidate.benchmark))) {
    const row = summarize(report, metric);
    lines.push(`| ${[row.benchmark, row.label, ...row.cells, row.ratio, row.target, row.met].join(' | ')} |`);
  }

  if (report.failures.length > 0) {
    lines.push('');
    lines.push('Failed runs:');
    lines.push('');
    for (const failure of report.failures) {
      const firstLine = failure.error.split('\n')[0];
      lines.push(`- ${failure.benchmark}, ${failure.client}, repetition ${failure.repetition}: ${firstLine}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
