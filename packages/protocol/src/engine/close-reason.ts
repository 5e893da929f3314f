import { methodName } from '../generated/methods.js';

/**
 * Returns the name of the method that a `connection.close` or `channel.close` blames, followed
 * by a colon and a space, such as `queue.declare: `, or an empty string when it names none.
 */
export function failedMethodPrefix(close: { classId: number; methodId: number }): string {
  if (close.classId === 0) return '';
  return `${methodName((close.classId << 16) | close.methodId)}: `;
}
