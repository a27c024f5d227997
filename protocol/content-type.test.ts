import { describe, expect, it } from 'vitest';
import { checkContentEncoding, ProtocolError, remoteWriteVersionFor } from './index.ts';

function errorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe('remoteWriteVersionFor', () => {
  it.each([
    [undefined, 1],
    ['', 1],
    ['   ', 1],
    ['application/x-protobuf', 1],
    ['Application/X-Protobuf', 1],
    ['application/x-protobuf;proto=prometheus.WriteRequest', 1],
    ['application/x-protobuf;proto=io.prometheus.write.v2.Request', 2],
    ['  application/x-protobuf ; proto = io.prometheus.write.v2.Request ', 2],
    ['application/x-protobuf; PROTO=io.prometheus.write.v2.Request', 2],
    ['application/x-protobuf;proto="io.prometheus.write.v2.Request"', 2],
    ['application/x-protobuf;charset=utf-8;proto=io.prometheus.write.v2.Request', 2],
    ['application/x-protobuf;', 1],
  ] as const)('%j → %d', (ct, v) => {
    expect(remoteWriteVersionFor(ct)).toBe(v);
  });

  it.each([
    'application/json',
    'image/png',
    'text/plain',
    'application/x-protobuf;proto=io.prometheus.write.v3.Request',
    'application/x-protobuf;proto=io.prometheus.write.v2.request', // message names are case-sensitive
    'application/x-protobuf;proto',
    'application/x-protobufx',
  ])('%j → unsupported_content_type naming what was sent', (ct) => {
    const e = errorOf(() => remoteWriteVersionFor(ct));
    expect(e.code).toBe('unsupported_content_type');
    expect(e.message).toContain(JSON.stringify(ct));
  });
});

describe('checkContentEncoding', () => {
  it.each([undefined, '', 'snappy', 'Snappy', ' snappy '])('%j is accepted', (enc) => {
    expect(() => checkContentEncoding(enc)).not.toThrow();
  });

  it.each(['gzip', 'deflate', 'zstd', 'x-snappy-framed', 'snappy, gzip'])('%j → unsupported_content_encoding', (enc) => {
    const e = errorOf(() => checkContentEncoding(enc));
    expect(e.code).toBe('unsupported_content_encoding');
    expect(e.message).toContain(enc);
  });
});
