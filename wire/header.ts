/**
 * Request and response headers, on top of the generated RequestHeader/ResponseHeader codecs.
 *
 * Which header version goes with which API version is Kafka's rule (`ApiMessageType`):
 * - request header v2 when the API version is flexible, else v1; ControlledShutdown v0 uses v0
 *   (no client id). The client id keeps its int16 length even in v2.
 * - response header v1 when the API version is flexible, else v0; ApiVersions responses always
 *   use v0, so a client that does not know the broker's versions can still read the answer.
 * Flexible versions are open-ended ("3+"), so a version newer than the broker knows still
 * counts as flexible: an ApiVersions v5 request is read with header v2, as Kafka does.
 */
import { API_SPECS, ApiKey } from './generated/api.js';
import { decodeRequestHeader as decodeRequestHeaderData, encodeRequestHeader as encodeRequestHeaderData } from './generated/messages/request-header.js';
import { decodeResponseHeader as decodeResponseHeaderData, encodeResponseHeader as encodeResponseHeaderData } from './generated/messages/response-header.js';
import { DecodeError, Writer, type Reader } from './primitives.js';

export interface DecodedRequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Null when the client sent a null client id; '' for header v0, which has none. */
  clientId: string | null;
  /** The request header version used to read it: 0, 1 or 2. */
  headerVersion: number;
}

function isFlexible(apiKey: number, apiVersion: number): boolean {
  const spec = API_SPECS[apiKey];
  return spec !== undefined && spec.flexibleMinVersion >= 0 && apiVersion >= spec.flexibleMinVersion;
}

/** Whether the broker knows this API key and version (else: UNSUPPORTED_VERSION). */
export function isSupportedVersion(apiKey: number, apiVersion: number): boolean {
  const spec = API_SPECS[apiKey];
  return spec !== undefined && apiVersion >= spec.minVersion && apiVersion <= spec.maxVersion;
}

/** The request header version of a request (unknown API keys: v1). */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ControlledShutdown && apiVersion === 0) return 0;
  return isFlexible(apiKey, apiVersion) ? 2 : 1;
}

/** The response header version of a response (ApiVersions and unknown API keys: v0). */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexible(apiKey, apiVersion) ? 1 : 0;
}

/**
 * Reads a request header; `r` is left at the start of the body. The API key and version are
 * peeked first to choose the header version. For an unknown API key or an unsupported version
 * the header is read as far as it goes (the body is not going to be read): the caller still
 * gets the correlation id to answer UNSUPPORTED_VERSION. Throws `DecodeError` when even the
 * first 8 bytes are missing, or when the header of a supported request is malformed.
 */
export function decodeRequestHeader(r: Reader): DecodedRequestHeader {
  if (r.remaining() < 8) throw new DecodeError(`request header needs 8 bytes, got ${r.remaining()}`);
  const apiKey = r.buf.readInt16BE(r.offset);
  const apiVersion = r.buf.readInt16BE(r.offset + 2);
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  if (isSupportedVersion(apiKey, apiVersion)) {
    const h = decodeRequestHeaderData(r, headerVersion);
    return { apiKey, apiVersion, correlationId: h.correlationId, clientId: h.clientId ?? null, headerVersion };
  }
  const start = r.offset;
  try {
    const h = decodeRequestHeaderData(r, headerVersion);
    return { apiKey, apiVersion, correlationId: h.correlationId, clientId: h.clientId ?? null, headerVersion };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    r.offset = start + 4;
    const correlationId = r.int32();
    return { apiKey, apiVersion, correlationId, clientId: null, headerVersion };
  }
}

/** Writes the response header (v0 or v1) for a response to `apiKey` at `apiVersion`. */
export function encodeResponseHeader(w: Writer, apiKey: number, apiVersion: number, correlationId: number): void {
  encodeResponseHeaderData(w, responseHeaderVersion(apiKey, apiVersion), { correlationId });
}

// The client side, for the broker's own outgoing requests (replica fetchers, the quorum
// driver), the benchmark's load generator and tests.

/** Writes the request header for `apiKey` at `apiVersion` (v0, v1 or v2 as Kafka chooses). */
export function encodeRequestHeader(w: Writer, apiKey: number, apiVersion: number, correlationId: number, clientId: string | null): void {
  encodeRequestHeaderData(w, requestHeaderVersion(apiKey, apiVersion), {
    requestApiKey: apiKey,
    requestApiVersion: apiVersion,
    correlationId,
    clientId,
  });
}

/** Reads a response header and returns its correlation id. */
export function decodeResponseHeader(r: Reader, apiKey: number, apiVersion: number): number {
  return decodeResponseHeaderData(r, responseHeaderVersion(apiKey, apiVersion)).correlationId;
}

/** A whole request frame (size prefix, header, body) encoded with the generated codec. */
export function encodeRequestFrame(apiKey: number, apiVersion: number, correlationId: number, clientId: string | null, body: unknown): Buffer {
  const spec = API_SPECS[apiKey];
  if (!spec) throw new Error(`unknown API key ${apiKey}`);
  const w = new Writer();
  const sizePos = w.reserveInt32();
  encodeRequestHeader(w, apiKey, apiVersion, correlationId, clientId);
  spec.encodeRequest(w, apiVersion, body);
  w.patchInt32(sizePos, w.length - 4);
  return w.toBuffer();
}
