import { InvalidArgumentError } from '@warren/protocol';

/** Identifies a timer of `BlockingConnection.callLater`. */
export type TimerId = number;

interface Timer {
  id: TimerId;
  dueAt: number;
  callback: () => void;
}

/**
 * Timers of `callLater`, kept sorted by due time. They run only when the connection dispatches,
 * so they never interrupt the caller's code. An application has few of them, so a sorted array
 * serves as well as a heap and is simpler.
 */
export class Scheduler {
  #timers: Timer[] = [];
  #nextId = 1;

  /** Due time of the earliest timer, in `performance.now()` milliseconds. */
  get nextDueAt(): number | undefined {
    return this.#timers[0]?.dueAt;
  }

  add(dueAt: number, callback: () => void): TimerId {
    const timer = { id: this.#nextId++, dueAt, callback };
    let index = this.#timers.length;
    // Timers due at the same time run in the order they were added.
    while (index > 0 && this.#timers[index - 1]!.dueAt > dueAt) index--;
    this.#timers.splice(index, 0, timer);
    return timer.id;
  }

  remove(id: TimerId): void {
    const index = this.#timers.findIndex((timer) => timer.id === id);
    if (index >= 0) this.#timers.splice(index, 1);
  }

  /** Removes and returns the callback of the earliest timer due at `now`, if any. */
  takeDue(now: number): (() => void) | undefined {
    const first = this.#timers[0];
    if (first === undefined || first.dueAt > now) return undefined;
    this.#timers.shift();
    return first.callback;
  }
}

/** Converts seconds given by the caller to milliseconds, rejecting what is not a duration. */
export function secondsToMs(seconds: number, name: string): number {
  if (typeof seconds !== 'number') {
    throw new InvalidArgumentError(`${name} must be a number of seconds; got a ${typeof seconds}`, 'VALUE_TYPE_INVALID');
  }
  if (Number.isNaN(seconds) || seconds < 0) {
    throw new InvalidArgumentError(`${name} must be a number of seconds, 0 or more; got ${String(seconds)}`, 'VALUE_OUT_OF_RANGE');
  }
  return seconds * 1000;
}
