// Errors carry a machine-readable code and wrap their cause; the receiver maps codes to HTTP statuses in
// one place (receiver/errors.ts). The base class lives here because protocol/ is the lowest layer.

import type { RejectReason } from './types.ts';

export class TrimtabError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Codes for a request the protocol layer cannot accept as a whole. */
export type ProtocolErrorCode =
  | 'unsupported_content_type' // 415
  | 'unsupported_content_encoding' // 415
  | 'corrupt_snappy' // 400
  | 'decoded_too_large' // 400 (declared snappy length over the limit; checked before allocating)
  | 'malformed_protobuf' // 400
  | RejectReason; // 400 when raised for a single item by a helper such as labelsOf

export class ProtocolError extends TrimtabError {
  declare readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
