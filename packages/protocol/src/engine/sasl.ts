/**
 * SASL mechanisms for `connection.start-ok` and `connection.secure`.
 *
 * The broker lists the mechanisms it accepts in `connection.start`; the client picks one and
 * sends its initial response. A broker may follow with `connection.secure` challenges, which the
 * mechanism answers through `challenge()`.
 */
export interface SaslMechanism {
  /** Mechanism name as the broker lists it, such as `PLAIN`. */
  readonly name: string;
  /** Returns the initial response sent in `connection.start-ok`. */
  initialResponse(): Uint8Array;
  /** Returns the answer to a `connection.secure` challenge. */
  challenge?(challenge: Uint8Array): Uint8Array;
}

const textEncoder = new TextEncoder();

/** SASL PLAIN (RFC 4616): an empty authorization identity, the username and the password. */
export function plainMechanism(username: string, password: string): SaslMechanism {
  return {
    name: 'PLAIN',
    initialResponse: () => textEncoder.encode(`\u0000${username}\u0000${password}`),
  };
}
