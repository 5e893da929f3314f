import { writeTable } from '../codec/field-table.js';
import { Writer } from '../codec/writer.js';

/**
 * SASL mechanisms for `connection.start-ok` and `connection.secure`.
 *
 * The broker lists the mechanisms it accepts in `connection.start`, and the client picks one and
 * sends its initial response. A broker may follow with `connection.secure` challenges, which the
 * mechanism responds to through `challenge()`.
 *
 * A mechanism may be used for several connections, such as the attempts of one `connect()` over
 * several endpoints, so it should not keep state from one handshake to the next.
 */
export interface SaslMechanism {
  /** Mechanism name as the broker lists it, such as `PLAIN`. */
  readonly name: string;
  /** Returns the initial response sent in `connection.start-ok`. */
  initialResponse(): Uint8Array;
  /** Returns the response to a `connection.secure` challenge. */
  challenge?(challenge: Uint8Array): Uint8Array;
}

const textEncoder = new TextEncoder();

/** Size of the length field that starts an encoded field table. */
const TABLE_SIZE_FIELD_LENGTH = 4;

/** SASL PLAIN (RFC 4616): an empty authorization identity, the username and the password. */
export function plainMechanism(username: string, password: string): SaslMechanism {
  return {
    name: 'PLAIN',
    initialResponse: () => textEncoder.encode(`\u0000${username}\u0000${password}`),
  };
}

/**
 * AMQPLAIN, RabbitMQ's mechanism from AMQP 0-8: a field table with the long strings `LOGIN` and
 * `PASSWORD`, sent without the 4-byte size that starts a table elsewhere. RabbitMQ 3.10 parses
 * the response with its table-body parser (`rabbit_auth_mechanism_amqplain`), which expects no
 * size field, and offers AMQPLAIN by default next to PLAIN.
 */
export function amqplainMechanism(username: string, password: string): SaslMechanism {
  return {
    name: 'AMQPLAIN',
    initialResponse: () => {
      const writer = new Writer(256);
      writer.begin();
      writeTable(writer, { LOGIN: username, PASSWORD: password });
      return writer.finish().subarray(TABLE_SIZE_FIELD_LENGTH);
    },
  };
}

/**
 * SASL EXTERNAL (RFC 4422, appendix A) with an empty response: the broker takes the identity
 * from outside AMQP, in RabbitMQ from the client certificate of the TLS connection. RabbitMQ
 * offers it only with the `rabbitmq_auth_mechanism_ssl` plugin enabled.
 */
export function externalMechanism(): SaslMechanism {
  return {
    name: 'EXTERNAL',
    initialResponse: () => new Uint8Array(0),
  };
}
