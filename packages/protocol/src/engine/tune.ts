import { ConnectionError } from '../errors.js';
import { FRAME_MIN_SIZE } from '../generated/constants.js';

/** Values of `connection.tune` and `connection.tune-ok`. */
export interface TuneParameters {
  /** Highest channel number; 0 in `connection.tune` means no limit. */
  channelMax: number;
  /** Largest frame in bytes, header and end octet included; 0 in `connection.tune` means no limit. */
  frameMax: number;
  /** Heartbeat interval in seconds; 0 disables heartbeats. */
  heartbeat: number;
}

/** Limits that the client asks for; an omitted value takes the client default or the broker's. */
export interface TuneRequest {
  channelMax?: number | undefined;
  frameMax?: number | undefined;
  heartbeat?: number | undefined;
}

export const DEFAULT_CHANNEL_MAX = 2047;
export const DEFAULT_FRAME_MAX = 131072;
const CHANNEL_MAX_LIMIT = 65535;
const FRAME_MAX_LIMIT = 4294967295;

/**
 * Computes the `connection.tune-ok` values from the broker's proposal and the client's request.
 *
 * For `channelMax` and `frameMax` the smaller limit wins, and a broker value of 0 means that the
 * broker sets no limit, so the client never sends 0 or more than the broker allows. The
 * heartbeat is the broker's value unless the client asks for one: 0 disables heartbeats, and a
 * nonzero request is capped by a nonzero broker value.
 *
 * @throws ConnectionError `FRAME_MAX_TOO_SMALL` when the result is below the spec's minimum of
 * 4096 bytes.
 */
export function negotiateTune(server: TuneParameters, client: TuneRequest): TuneParameters {
  const channelMax = Math.min(
    server.channelMax === 0 ? CHANNEL_MAX_LIMIT : server.channelMax,
    client.channelMax ?? DEFAULT_CHANNEL_MAX,
  );
  const frameMax = Math.min(
    server.frameMax === 0 ? FRAME_MAX_LIMIT : server.frameMax,
    client.frameMax ?? DEFAULT_FRAME_MAX,
  );

  let heartbeat = server.heartbeat;
  if (client.heartbeat !== undefined) {
    heartbeat = client.heartbeat === 0 || server.heartbeat === 0 ? client.heartbeat : Math.min(client.heartbeat, server.heartbeat);
  }

  if (frameMax < FRAME_MIN_SIZE) {
    throw new ConnectionError(
      `frame_max ${frameMax} is below the minimum of ${FRAME_MIN_SIZE} bytes (broker offered ${server.frameMax})`,
      { code: 'FRAME_MAX_TOO_SMALL', source: 'broker' },
    );
  }

  return { channelMax, frameMax, heartbeat };
}
