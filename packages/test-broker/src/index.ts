export { FakeBroker, type ConnectionScript, type FakeBrokerOptions } from './fake-broker.js';
export { FakePeer, type ExpectOptions, type HandshakeResult, type MethodOf, type PeerSettings, type ReceivedContent } from './fake-peer.js';
export { describeFrame, encodeRawFrame, type RawFrameOptions, type ReceivedFrame } from './frames.js';
export {
  ALARM_LOCK_PATH,
  ALARM_LOCK_WAIT_MS,
  MAX_ALARM_MS,
  MEMORY_ALARM_REASON,
  acquireAlarmLock,
  readMemoryStatus,
  releaseAlarmLock,
  withMemoryAlarm,
  type WatermarkSetting,
} from './memory-alarm.js';
export { RABBITMQCTL_COMMAND, RABBITMQCTL_TIMEOUT_MS, findConnectionPid, rabbitmqctl, rabbitmqctlSync } from './rabbitmqctl.js';
export { waitFor, withTimeout } from './wait.js';
