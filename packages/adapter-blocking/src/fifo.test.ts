import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo.js';

describe('Fifo', () => {
  it('returns items in order across compactions', () => {
    const fifo = new Fifo<number>();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let index = 0; index < 997; index++) fifo.push(next++);
      for (let index = 0; index < 600; index++) expect(fifo.shift()).toBe(expected++);
    }
    expect(fifo.length).toBe(next - expected);
    const rest = fifo.takeAll();
    expect(rest).toEqual(Array.from({ length: next - expected }, (_, index) => expected + index));
    expect(fifo.length).toBe(0);
    expect(fifo.shift()).toBeUndefined();
  });

  it('drains a large backlog in linear time', () => {
    const fifo = new Fifo<number>();
    for (let index = 0; index < 500_000; index++) fifo.push(index);
    const start = performance.now();
    let sum = 0;
    for (let item = fifo.shift(); item !== undefined; item = fifo.shift()) sum += item;
    expect(sum).toBe((500_000 * 499_999) / 2);
    // A shift that copied the rest of the array would take minutes here.
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
