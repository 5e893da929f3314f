/** The records that children send to the runner and that the runner writes as JSON. */
import type { ClientName } from './clients/client.js';
import type { PhaseResult, WorkloadName, WorkloadSettings } from './workloads.js';

/** The codec benchmark runs in the same kind of child as the broker workloads. */
export type BenchmarkName = WorkloadName | 'codec';

/** Request from the runner to one child: the client, the benchmark and its inputs. */
export interface ChildRequest {
  client: ClientName;
  benchmark: BenchmarkName;
  url: string;
  /** Queue created by the runner; empty for the codec benchmark. */
  queue: string;
  settings: WorkloadSettings;
}

export interface MemoryResult {
  /** RSS in bytes after connecting, just before the workload started. */
  baselineRss: number;
  /** Highest RSS in bytes sampled every 20 ms while the workload ran. */
  sampledPeakRss: number;
  /** Highest RSS in bytes of the child's whole life, from `process.resourceUsage().maxRSS`. */
  maxRss: number;
}

/** Result that a child sends when its benchmark completes. */
export interface ChildResult {
  client: ClientName;
  benchmark: BenchmarkName;
  /** Library name and version. */
  library: string;
  phases: PhaseResult[];
  memory: MemoryResult;
}

export interface RunResult extends ChildResult {
  /** 1-based repetition number. */
  repetition: number;
}

export interface RunFailure {
  client: ClientName;
  benchmark: BenchmarkName;
  repetition: number;
  error: string;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  os: string;
}

/** The JSON file that a run writes and that `--markdown` reads. */
export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  node: string;
  broker: string;
  /** Library name and version of each client that ran. */
  libraries: Partial<Record<ClientName, string>>;
  repetitions: number;
  /** Message count multiplier given with `--scale`; 1 means the defaults. */
  scale: number;
  settings: WorkloadSettings;
  /** Whether Warren's children ran under `--cpu-prof`, which slows them down. */
  profiled: boolean;
  runs: RunResult[];
  failures: RunFailure[];
}
