import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import type { MachineInfo } from './results.js';

/** Describes the machine: CPU model from /proc/cpuinfo where it exists, core count, RAM and OS. */
export function describeMachine(): MachineInfo {
  return {
    cpuModel: readCpuModel() ?? cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryBytes: totalmem(),
    os: `${type()} ${release()}`,
  };
}

function readCpuModel(): string | undefined {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return match?.[1]?.trim();
  } catch {
    return undefined;
  }
}
