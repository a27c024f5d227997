// The protocol layer's public surface: remote-write 1.0 and 2.0 wire formats (snappy framing, protobuf
// decoding into DecodedWriteRequest, encoding), and validation of what a request may contain.

import type { DecodedWriteRequest, RemoteWriteVersion } from './types.ts';
import { decodeWriteRequestV1 } from './decode-v1.ts';
import { decodeWriteRequestV2 } from './decode-v2.ts';

/**
 * Decodes an (already snappy-decoded) request body with the schema its Content-Type chose. Throws
 * ProtocolError('malformed_protobuf') for bytes that are not the message (and 'invalid_utf8' for a 1.0
 * WriteRequest.metadata string that is not UTF-8); per-series problems are reported on the series
 * (`error`) or exemplar instead, and a series' labels are only UTF-8-checked by labelsOf().
 */
export function decodeWriteRequest(version: RemoteWriteVersion, bytes: Uint8Array): DecodedWriteRequest {
  return version === 2 ? decodeWriteRequestV2(bytes) : decodeWriteRequestV1(bytes);
}

export { decodeWriteRequestV1, decodeWriteRequestV2 };
export * from './types.ts';
export { TrimtabError, ProtocolError } from './errors.ts';
export type { ProtocolErrorCode } from './errors.ts';
export { snappyDecode, snappyDecodedLength, snappyEncode } from './snappy.ts';
export { remoteWriteVersionFor, checkContentEncoding, CONTENT_TYPE_V1, CONTENT_TYPE_V2, PROTOBUF_MEDIA_TYPE } from './content-type.ts';
export { encodeLabelsV1, encodeSamplesV1, encodeWriteRequestV1, encodeWriteRequestV2 } from './encode.ts';
export { decodeLabelsV1 } from './decode-v1.ts';
export type { SampleInput, ExemplarInput, SeriesInput, SeriesMetadataInput, MetadataInput, WriteRequestInput } from './encode.ts';
export { encodeHistogram, decodeHistogram, ResetHint } from './histogram.ts';
export type { NativeHistogram, HistogramInput } from './histogram.ts';
export {
  validateSeriesLabels,
  validateHistogram,
  validateExemplar,
  checkSampleTimestamp,
  checkSeriesContents,
  sortLabels,
  compareUtf8,
  formatLabels,
  METRIC_NAME_LABEL,
  EXEMPLAR_MAX_LABEL_RUNES,
} from './validate.ts';
export type { LabelValidation } from './validate.ts';
