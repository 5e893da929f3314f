import { EventEmitter } from 'node:events';
import type { AmqpError, ConsumerHandler } from '@warren/protocol';
import { type Channel, type Message, withBufferBody } from './channel.js';

/**
 * Receives each message of a consumer. An exception it throws, or a promise it returns that
 * rejects, is not caught: it surfaces as an uncaught exception or unhandled rejection, as in any
 * event listener. Acknowledge with `channel.basicAck(message.deliveryTag)`.
 */
export type MessageCallback = (message: Message) => void | Promise<void>;

/** Events of a `Consumer`. */
export interface ConsumerEvents {
  /** The broker cancelled the consumer, for example because its queue was deleted. */
  cancel: [];
}

/**
 * A consumer started by `channel.basicConsume`. Without a callback, read it with
 * `for await (const message of consumer)`. The loop ends when the consumer is cancelled or its
 * channel is closed by the client, and it throws the error when the broker closes the channel.
 * When the broker cancels the consumer, it emits `cancel` and `cancelledByBroker` becomes true.
 *
 * NOTE: messages wait in memory until the loop reads them; set a prefetch count with
 * `basicQos` and acknowledge manually to bound how many.
 */
export class Consumer extends EventEmitter<ConsumerEvents> implements AsyncIterable<Message> {
  readonly channel: Channel;
  #tag = '';
  #onMessage: MessageCallback | undefined;
  #buffer: Message[] = [];
  #head = 0;
  /** Reads waiting for a message, oldest first. */
  #waiting: { resolve: (result: IteratorResult<Message>) => void; reject: (error: unknown) => void }[] = [];
  #ended = false;
  #error: AmqpError | undefined;
  #onEnd: () => void;
  #cancelledByBroker = false;
  /** @internal */
  readonly handler: ConsumerHandler;

  /** @internal Use `channel.basicConsume()`. */
  constructor(channel: Channel, onMessage: MessageCallback | undefined, onEnd: () => void) {
    super();
    this.channel = channel;
    this.#onMessage = onMessage;
    this.#onEnd = onEnd;
    this.handler = {
      onMessage: (message) => this.#receive(withBufferBody(message)),
      onCancel: () => {
        this.#cancelledByBroker = true;
        this.end(undefined);
        this.emit('cancel');
      },
    };
  }

  /** Consumer tag that identifies this consumer on the broker. */
  get tag(): string {
    return this.#tag;
  }

  /** Whether the broker cancelled the consumer, as it does when the queue is deleted. */
  get cancelledByBroker(): boolean {
    return this.#cancelledByBroker;
  }

  /** Whether the consumer has ended: cancelled by either side, or its channel closed. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Cancels the consumer; messages already received stay readable. */
  async cancel(): Promise<void> {
    if (this.#ended) return;
    await this.channel.basicCancel(this.#tag);
    this.end(undefined);
  }

  /** @internal */
  started(tag: string): void {
    this.#tag = tag;
  }

  /** @internal Ends the consumer; a later read returns done, or throws `error` when there is one. */
  end(error: AmqpError | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#onEnd();
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const read of waiting) {
      if (error === undefined) read.resolve({ value: undefined, done: true });
      else read.reject(error);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return {
      next: () => this.#next(),
      return: async () => {
        await this.cancel().catch(() => {});
        return { value: undefined, done: true };
      },
    };
  }

  #receive(message: Message): void {
    const onMessage = this.#onMessage;
    if (onMessage !== undefined) {
      try {
        // A returned promise that rejects is left unhandled on purpose, like a thrown exception.
        void onMessage(message);
      } catch (error) {
        // Rethrow after the frame has been handled, so the connection's state stays consistent.
        process.nextTick(() => {
          throw error;
        });
      }
      return;
    }

    const read = this.#waiting.shift();
    if (read !== undefined) {
      read.resolve({ value: message, done: false });
      return;
    }
    this.#buffer.push(message);
  }

  #next(): Promise<IteratorResult<Message>> {
    if (this.#head < this.#buffer.length) {
      const message = this.#buffer[this.#head]!;
      this.#buffer[this.#head++] = undefined as unknown as Message;
      if (this.#head === this.#buffer.length) {
        this.#buffer = [];
        this.#head = 0;
      }
      return Promise.resolve({ value: message, done: false });
    }
    if (this.#ended) {
      return this.#error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.#error);
    }
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
    });
  }
}
