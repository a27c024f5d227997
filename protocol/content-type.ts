// Choosing the schema from Content-Type, and accepting Content-Encoding (reference §1.2, §1.5).
// Both follow Prometheus's write handler: an empty Content-Type means 1.0, and a missing encoding
// means snappy (the npm prometheus-remote-write client sends none).

import type { RemoteWriteVersion } from './types.ts';
import { ProtocolError } from './errors.ts';

export const PROTOBUF_MEDIA_TYPE = 'application/x-protobuf';
export const PROTO_V1 = 'prometheus.WriteRequest';
export const PROTO_V2 = 'io.prometheus.write.v2.Request';
export const CONTENT_TYPE_V1 = `${PROTOBUF_MEDIA_TYPE};proto=${PROTO_V1}`;
export const CONTENT_TYPE_V2 = `${PROTOBUF_MEDIA_TYPE};proto=${PROTO_V2}`;
export const SNAPPY_ENCODING = 'snappy';

function unsupported(contentType: string, why: string): ProtocolError {
  return new ProtocolError(
    'unsupported_content_type',
    `unsupported Content-Type ${JSON.stringify(contentType)}: ${why}; expected ${JSON.stringify(CONTENT_TYPE_V1)} or ${JSON.stringify(CONTENT_TYPE_V2)}`,
  );
}

/**
 * The remote-write version a Content-Type asks for. Missing or empty → 1. The media type must be
 * application/x-protobuf (case-insensitive); `proto=prometheus.WriteRequest` → 1,
 * `proto=io.prometheus.write.v2.Request` → 2 (message names are case-sensitive, as in Prometheus);
 * other parameters are ignored. Anything else throws ProtocolError('unsupported_content_type') (415).
 */
export function remoteWriteVersionFor(contentType: string | undefined): RemoteWriteVersion {
  if (contentType === undefined) return 1;
  const raw = contentType.trim();
  if (raw === '') return 1;
  const parts = raw.split(';');
  const mediaType = parts[0].trim().toLowerCase();
  if (mediaType !== PROTOBUF_MEDIA_TYPE) throw unsupported(contentType, `media type ${JSON.stringify(mediaType)} is not ${PROTOBUF_MEDIA_TYPE}`);
  let version: RemoteWriteVersion = 1;
  for (let i = 1; i < parts.length; i++) {
    const param = parts[i].trim();
    if (param === '') continue; // tolerate "application/x-protobuf;"
    const eq = param.indexOf('=');
    if (eq <= 0) throw unsupported(contentType, `parameter ${JSON.stringify(param)} is not name=value`);
    const name = param.slice(0, eq).trim().toLowerCase();
    let value = param.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name !== 'proto') continue;
    if (value === PROTO_V1) version = 1;
    else if (value === PROTO_V2) version = 2;
    else throw unsupported(contentType, `proto=${value} is not a remote-write message this receiver accepts`);
  }
  return version;
}

/** Accepts a missing/empty or `snappy` Content-Encoding; anything else throws ProtocolError('unsupported_content_encoding') (415). */
export function checkContentEncoding(contentEncoding: string | undefined): void {
  if (contentEncoding === undefined) return;
  const enc = contentEncoding.trim().toLowerCase();
  if (enc === '' || enc === SNAPPY_ENCODING) return;
  throw new ProtocolError(
    'unsupported_content_encoding',
    `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}: remote-write bodies must be snappy (block format)`,
  );
}
