export { FakeBroker, type ConnectionScript, type FakeBrokerOptions } from './fake-broker.js';
export { FakePeer, type ExpectOptions, type HandshakeResult, type MethodOf, type PeerSettings, type ReceivedContent } from './fake-peer.js';
export { describeFrame, encodeRawFrame, type RawFrameOptions, type ReceivedFrame } from './frames.js';
