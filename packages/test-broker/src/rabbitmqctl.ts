/**
 * Runs `rabbitmqctl` for tests that control the broker at AMQP_URL. Set RABBITMQCTL to another
 * command, such as `docker exec rabbit rabbitmqctl`, when the broker runs in a container.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from './wait.js';

/** The rabbitmqctl command and its leading arguments, from RABBITMQCTL or `rabbitmqctl` on PATH. */
export const RABBITMQCTL_COMMAND: readonly string[] = (process.env.RABBITMQCTL || 'rabbitmqctl').trim().split(/\s+/);
/** Maximum time in milliseconds that one rabbitmqctl command may run before it is killed. */
export const RABBITMQCTL_TIMEOUT_MS = 30_000;

const execFileAsync = promisify(execFile);

/** Runs rabbitmqctl with `args` and returns its standard output. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const [command, ...prefix] = RABBITMQCTL_COMMAND;
  try {
    const { stdout } = await execFileAsync(command!, [...prefix, ...args], { timeout: RABBITMQCTL_TIMEOUT_MS });
    return stdout;
  } catch (error) {
    const hint = 'These tests need rabbitmqctl for the broker under test; set RABBITMQCTL when it is not on PATH.';
    throw new Error(`${RABBITMQCTL_COMMAND.join(' ')} ${args.join(' ')} failed: ${(error as Error).message}. ${hint}`, { cause: error });
  }
}

/**
 * Runs rabbitmqctl with `args` and blocks the thread until it exits, for code that cannot
 * wait, such as an `exit` listener. Its output is discarded.
 */
export function rabbitmqctlSync(...args: string[]): void {
  const [command, ...prefix] = RABBITMQCTL_COMMAND;
  execFileSync(command!, [...prefix, ...args], { timeout: RABBITMQCTL_TIMEOUT_MS, stdio: 'ignore' });
}

/**
 * Returns the Erlang pid of the connection whose client property `connection_name` is `name`,
 * waiting up to 10 s for the broker to list it. The JSON formatter prints pids relative to the
 * CLI node, which `close_connection` does not accept, so this parses the tab-separated output.
 */
export async function findConnectionPid(name: string): Promise<string> {
  const marker = `{"connection_name",${JSON.stringify(name)}}`;
  let pid: string | undefined;
  await waitFor(
    async () => {
      const output = await rabbitmqctl('list_connections', '-q', '--no-table-headers', 'pid', 'client_properties');
      const line = output.split('\n').find((candidate) => candidate.includes(marker));
      pid = line?.split('\t')[0];
      return pid !== undefined;
    },
    10_000,
    `connection ${name} in rabbitmqctl list_connections`,
  );
  return pid!;
}
