/**
 * Raises RabbitMQ's memory alarm for a test and clears it afterwards, with `rabbitmqctl
 * set_vm_memory_high_watermark` on the local broker.
 *
 * How it works: `withMemoryAlarm` reads the watermark in force, sets one so low that the alarm
 * goes off at once, runs the test's steps, and sets the old watermark again in a `finally`. Two
 * fallbacks restore it when that `finally` never runs. An `exit` listener restores it when the
 * process exits during the steps. A watchdog process restores it when the test process dies
 * from a signal, or when its thread stays blocked in a synchronous call past the time limit,
 * as a test of a synchronous client can. A lock file keeps the alarms of concurrent test
 * processes on this machine apart, because each alarm blocks every connection on the broker.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RABBITMQCTL_COMMAND, RABBITMQCTL_TIMEOUT_MS, rabbitmqctl, rabbitmqctlSync } from './rabbitmqctl.js';
import { waitFor, withTimeout } from './wait.js';

/** A watermark so far below the broker's memory use that setting it raises the memory alarm at once. */
const ALARM_WATERMARK = '0.0000001';
/**
 * Maximum time in milliseconds that `withMemoryAlarm` keeps the memory alarm raised while its
 * steps wait asynchronously. The alarm is cleared when it passes.
 */
export const MAX_ALARM_MS = 15_000;
/**
 * Time in milliseconds after MAX_ALARM_MS at which the watchdog restores the watermark itself.
 * It leaves the `finally` of `withMemoryAlarm` time for its own restore, which retries and then
 * waits up to 10 s for the alarm to clear.
 */
const WATCHDOG_GRACE_MS = 15_000;
/**
 * Lock file that keeps the memory alarm tests of concurrent test processes on this machine
 * apart. They share the broker, so an alarm of one process would block and unblock the
 * connections of the other.
 */
export const ALARM_LOCK_PATH = join(tmpdir(), 'warren-broker-memory-alarm.lock');
/** Maximum time in milliseconds that `acquireAlarmLock` waits for another process to release the lock. */
export const ALARM_LOCK_WAIT_MS = 60_000;
/** Reason that RabbitMQ 3.10.8 sends in `connection.blocked` for a memory alarm. */
export const MEMORY_ALARM_REASON = 'low on memory';

/** The memory watermark as `rabbitmqctl status` reports it: a fraction of RAM or a number of bytes. */
export type WatermarkSetting = { relative: number } | { absolute: number };

/**
 * Reads the watermark in force and the resource alarms from `rabbitmqctl status`. It does not use
 * `rabbitmqctl environment`, which shows the configured value even after
 * `set_vm_memory_high_watermark` changed it at run time.
 */
export async function readMemoryStatus(): Promise<{ watermark: WatermarkSetting; alarms: unknown[] }> {
  const status = JSON.parse(await rabbitmqctl('status', '--formatter', 'json')) as Record<string, unknown>;
  const watermark = status.vm_memory_high_watermark_setting as Partial<Record<'relative' | 'absolute', number>> | undefined;
  const alarms = status.alarms;
  if (!Array.isArray(alarms)) throw new Error(`rabbitmqctl status returned no alarms list: ${JSON.stringify(status.alarms)}`);
  if (typeof watermark?.relative === 'number') return { watermark: { relative: watermark.relative }, alarms };
  if (typeof watermark?.absolute === 'number') return { watermark: { absolute: watermark.absolute }, alarms };
  throw new Error(`rabbitmqctl status returned an unknown vm_memory_high_watermark_setting: ${JSON.stringify(watermark)}`);
}

function watermarkArguments(watermark: WatermarkSetting): string[] {
  if ('relative' in watermark) return ['set_vm_memory_high_watermark', String(watermark.relative)];
  return ['set_vm_memory_high_watermark', 'absolute', String(watermark.absolute)];
}

/**
 * Raises the broker's memory alarm, runs `steps`, and restores the watermark that was in force,
 * even when `steps` fails or hangs: after MAX_ALARM_MS the alarm is cleared and this rejects.
 * A step that blocks the thread synchronously cannot be interrupted, so for it the watchdog
 * process restores the watermark after MAX_ALARM_MS plus WATCHDOG_GRACE_MS, which unblocks a
 * client that waits for the broker.
 *
 * It rejects before raising the alarm when a resource alarm or a watermark as low as
 * ALARM_WATERMARK is already in force, because restoring that value would keep the broker
 * blocked. Call `acquireAlarmLock` first when other test processes may use the broker.
 */
export async function withMemoryAlarm<T>(steps: () => Promise<T>): Promise<T> {
  const before = await readMemoryStatus();
  // A watermark as low as ALARM_WATERMARK means another test raised the alarm a moment ago.
  const raisedByTest = 'relative' in before.watermark && before.watermark.relative <= Number(ALARM_WATERMARK);
  if (before.alarms.length > 0 || raisedByTest) {
    throw new Error(
      `the broker already has a resource alarm (${JSON.stringify(before.alarms)}) or a tiny watermark ` +
        `(${JSON.stringify(before.watermark)}); clear it first, for example with \`rabbitmqctl set_vm_memory_high_watermark 0.4\``,
    );
  }

  const restore = watermarkArguments(before.watermark);
  const watchdog = await startRestoreWatchdog(restore, MAX_ALARM_MS + WATCHDOG_GRACE_MS);
  // `exit` listeners cannot wait, so this one blocks on rabbitmqctl.
  const restoreAtExit = (): void => {
    rabbitmqctlSync(...restore);
    watchdog.kill();
  };
  process.on('exit', restoreAtExit);
  try {
    await rabbitmqctl('set_vm_memory_high_watermark', ALARM_WATERMARK);
    return await withTimeout(steps(), MAX_ALARM_MS, 'the steps under the memory alarm');
  } finally {
    // When the restore fails, the exit listener and the watchdog stay to try again.
    await restoreWatermark(restore);
    process.off('exit', restoreAtExit);
    watchdog.kill();
  }
}

/** Runs `rabbitmqctl set_vm_memory_high_watermark` with `restore`, retrying twice, and waits for the alarm to clear. */
async function restoreWatermark(restore: string[]): Promise<void> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await rabbitmqctl(...restore);
      lastError = undefined;
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (lastError !== undefined) throw lastError;
  await waitFor(async () => (await readMemoryStatus()).alarms.length === 0, 10_000, `the memory alarm to clear after rabbitmqctl ${restore.join(' ')}`);
}

/**
 * Script of the watchdog process, in CommonJS. Arguments: delay in milliseconds, pid of the test
 * process, and the restore command as a JSON array. It runs the command, with up to three
 * attempts, once the delay has passed or the test process has exited, and then exits.
 */
const WATCHDOG_SCRIPT = `
const { execFileSync } = require('node:child_process');
const delayMs = Number(process.argv[1]);
const ownerPid = Number(process.argv[2]);
const command = JSON.parse(process.argv[3]);
const deadline = Date.now() + delayMs;

function isOwnerAlive() {
  try {
    process.kill(ownerPid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

const timer = setInterval(() => {
  if (Date.now() < deadline && isOwnerAlive()) return;
  clearInterval(timer);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      execFileSync(command[0], command.slice(1), { stdio: 'ignore', timeout: ${RABBITMQCTL_TIMEOUT_MS} });
      return;
    } catch {
      // Nothing reads this process's output, so a failed attempt is only retried.
    }
  }
}, 100);
`;

/**
 * Starts a detached process that runs rabbitmqctl with `restore` after `delayMs`, or as soon as
 * this process exits. It is not a child that this process waits for, so it outlives a test
 * process killed by a signal. `kill()` stops it.
 */
async function startRestoreWatchdog(restore: string[], delayMs: number): Promise<{ kill(): void }> {
  const command = JSON.stringify([...RABBITMQCTL_COMMAND, ...restore]);
  const watchdog: ChildProcess = spawn(
    process.execPath,
    ['--input-type=commonjs', '-e', WATCHDOG_SCRIPT, String(delayMs), String(process.pid), command],
    { detached: true, stdio: 'ignore' },
  );
  await once(watchdog, 'spawn');
  watchdog.unref();
  return {
    kill(): void {
      if (watchdog.exitCode === null && watchdog.signalCode === null) watchdog.kill();
    },
  };
}

/**
 * Creates ALARM_LOCK_PATH with this process's pid, waiting while another live process owns it. A
 * lock whose owner has exited, for example after a crash, is removed.
 */
export async function acquireAlarmLock(): Promise<void> {
  const deadline = performance.now() + ALARM_LOCK_WAIT_MS;
  for (;;) {
    try {
      await writeFile(ALARM_LOCK_PATH, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }

    const owner = Number(await readFile(ALARM_LOCK_PATH, 'utf8').catch(() => ''));
    if (Number.isInteger(owner) && owner > 0 && !isProcessAlive(owner)) {
      await rm(ALARM_LOCK_PATH, { force: true });
      continue;
    }
    if (performance.now() > deadline) {
      throw new Error(
        `timed out after ${ALARM_LOCK_WAIT_MS} ms waiting for ${ALARM_LOCK_PATH}, owned by process ${owner}; ` +
          'delete the file if no other test run is using the broker',
      );
    }
    await sleep(100);
  }
}

/** Removes ALARM_LOCK_PATH when this process owns it. */
export async function releaseAlarmLock(): Promise<void> {
  const owner = await readFile(ALARM_LOCK_PATH, 'utf8').catch(() => '');
  if (owner === String(process.pid)) await rm(ALARM_LOCK_PATH, { force: true });
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means that the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
