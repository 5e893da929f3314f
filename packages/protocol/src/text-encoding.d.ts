// The protocol package compiles without DOM or Node.js types, so that using a host API is a type
// error. TextEncoder and TextDecoder exist in every runtime Warren supports; these are the parts
// of the WHATWG Encoding Standard interfaces that the codec uses.

interface TextEncoderEncodeIntoResult {
  read: number;
  written: number;
}

declare class TextEncoder {
  encode(input?: string): Uint8Array;
  encodeInto(source: string, destination: Uint8Array): TextEncoderEncodeIntoResult;
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: Uint8Array): string;
}
