import { describe, expect, test } from 'vitest';
import { type BatchTarget, WriteBatcher } from './write-batcher.js';

function recordingTarget(): BatchTarget & { writes: number[][]; corks: number; writableLength: number } {
  const target = {
    writes: [] as number[][],
    corks: 0,
    writableLength: 0,
    write(chunk: Uint8Array) {
      target.writes.push([...chunk]);
      return true;
    },
    cork() {
      target.corks++;
    },
    uncork() {},
  };
  return target;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('WriteBatcher', () => {
  test('adjacent chunks become one write', async () => {
    const target = recordingTarget();
    const batcher = new WriteBatcher(target);
    const slab = new Uint8Array([1, 2, 3, 4, 5, 6]);
    batcher.write(slab.subarray(0, 2));
    batcher.write(slab.subarray(2, 3));
    batcher.write(slab.subarray(3, 6));
    expect(target.writes).toEqual([]);
    expect(batcher.pendingBytes).toBe(6);

    await nextTurn();
    expect(target.writes).toEqual([[1, 2, 3, 4, 5, 6]]);
    expect(batcher.pendingBytes).toBe(0);
  });

  test('separate buffers keep their order', async () => {
    const target = recordingTarget();
    const batcher = new WriteBatcher(target);
    const slab = new Uint8Array([1, 2, 3]);
    batcher.write(slab.subarray(0, 1));
    batcher.write(new Uint8Array([9, 9]));
    batcher.write(slab.subarray(1, 3));

    await nextTurn();
    expect(target.writes).toEqual([[1], [9, 9], [2, 3]]);
    expect(target.corks).toBe(1);
  });

  test('threshold writes without waiting for the tick', () => {
    const target = recordingTarget();
    const batcher = new WriteBatcher(target, 4);
    batcher.write(new Uint8Array([1, 2]));
    expect(target.writes).toEqual([]);
    batcher.write(new Uint8Array([3, 4]));
    expect(target.writes).toEqual([[1, 2], [3, 4]]);
  });

  test('reports chunks the socket has written', () => {
    const target = recordingTarget();
    const written: number[][] = [];
    const batcher = new WriteBatcher(target, 1, (chunk) => written.push([...chunk]));

    // A write that completes at once leaves nothing in the socket's buffer.
    batcher.write(new Uint8Array([1, 2]));
    expect(written).toEqual([[1, 2]]);

    // The socket keeps the last 3 bytes written, which are all of [5, 6, 7].
    target.writableLength = 3;
    batcher.write(new Uint8Array([3, 4]));
    expect(written).toEqual([[1, 2]]);
    target.writableLength = 3;
    batcher.write(new Uint8Array([5, 6, 7]));
    expect(written).toEqual([[1, 2], [3, 4]]);

    target.writableLength = 0;
    batcher.releaseWritten();
    expect(written).toEqual([[1, 2], [3, 4], [5, 6, 7]]);
  });

  test('discard reports nothing as written', () => {
    const target = recordingTarget();
    const written: number[][] = [];
    const batcher = new WriteBatcher(target, 1, (chunk) => written.push([...chunk]));
    target.writableLength = 2;
    batcher.write(new Uint8Array([1, 2]));
    batcher.discard();
    target.writableLength = 0;
    batcher.releaseWritten();

    expect(written).toEqual([]);
  });

  test('discard drops waiting bytes', async () => {
    const target = recordingTarget();
    const batcher = new WriteBatcher(target);
    batcher.write(new Uint8Array([1]));
    batcher.discard();
    await nextTurn();
    expect(target.writes).toEqual([]);
    expect(batcher.pendingBytes).toBe(0);
  });
});
