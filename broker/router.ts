// From a request frame to a response frame: decode the header, check the API and version
// against the registered handlers, decode the body with the generated codec, call the
// handler, encode the response with the same version.
//
// Malformed bytes, an unknown API key, or a version with no codec close the connection (as
// Kafka does); ApiVersions of an unknown version gets a v0 body with UNSUPPORTED_VERSION so
// clients can negotiate down.
//
// Request quotas (`request_percentage`, broker/quota/request-quotas.ts): when the listener has a
// quota manager and some request quota exists (one boolean per request otherwise), the router
// times the decode + the handler's synchronous part, records it when the response is ready (the
// throttle time goes into the response's throttle_time_ms, the max with a byte-rate throttle),
// then times the encode and records it without a throttle check.
import type { Logger } from 'pino';
import { API_SPECS, ApiKey } from '../wire/generated/api.js';
import { decodeRequestHeader, encodeResponseHeader } from '../wire/header.js';
import { DecodeError, Reader, Writer } from '../wire/primitives.js';
import { ErrorCode } from '../wire/errors.js';
import { NO_RESPONSE, type HandlerDef, type RequestContext, type RequestInfo } from './handler.js';
import { MalformedRequestError, ThrottledResponse, type Connection, type DispatchResult, type RequestDispatcher } from './network/connection.js';
import { clientThrottles, type ClientQuotaManager } from './quota/quota-manager.js';
import { requestQuotaExempt } from './quota/request-quotas.js';
import type { BrokerServices } from './services.js';
import { faults } from './fault-injection.js';

export class Router<S = BrokerServices> implements RequestDispatcher {
  constructor(
    private readonly services: S,
    private readonly handlers: ReadonlyMap<number, HandlerDef<any, any, S>>,
    private readonly listenerName: string,
    private readonly logger: Logger,
    /** Request quotas of a broker listener; null on the controller listener (no request quota). */
    private readonly quotas: ClientQuotaManager | null = null,
  ) {}

  dispatch(conn: Connection, frame: Buffer): DispatchResult | Promise<DispatchResult> {
    const quotas = this.quotas;
    const t0 = quotas !== null && quotas.requestEnabled ? performance.now() : -1;
    const r = new Reader(frame);
    let header: RequestInfo;
    try {
      header = decodeRequestHeader(r);
    } catch (e) {
      throw new MalformedRequestError(e instanceof Error ? e.message : String(e));
    }
    conn.clientId = header.clientId;
    // Test-only network partitions (broker/fault-injection.ts); one boolean test when off.
    if (faults.enabled && faults.dropIncoming(conn, this.listenerName, header.clientId)) return null;
    const handler = this.handlers.get(header.apiKey);
    if (!handler) throw new MalformedRequestError(`unsupported API key ${header.apiKey}`);
    if (header.apiVersion < handler.minVersion || header.apiVersion > handler.maxVersion) {
      if (header.apiKey === ApiKey.ApiVersions) return this.apiVersionsFallback(header);
      throw new MalformedRequestError(`unsupported version ${header.apiVersion} of API ${handler.name}`);
    }
    const spec = API_SPECS[header.apiKey]!;
    let body: unknown;
    try {
      body = handler.codec ? handler.codec.decodeRequest(r, header.apiVersion) : spec.decodeRequest(r, header.apiVersion);
    } catch (e) {
      if (e instanceof DecodeError) throw new MalformedRequestError(`${handler.name} v${header.apiVersion}: ${e.message}`);
      throw e;
    }
    const ctx: RequestContext<S> = {
      services: this.services,
      conn,
      request: header,
      apiVersion: header.apiVersion,
      logger: conn.logger,
      listenerName: this.listenerName,
      requestBytes: frame.length,
      throttleMs: 0,
      requestStartMs: t0,
      requestTimeMs: undefined,
      requestTimeRecorded: false,
    };
    let result: unknown;
    try {
      result = handler.handle(ctx, body);
    } catch (err) {
      return this.onHandlerError(handler, header, body, err);
    }
    if (t0 >= 0) ctx.requestTimeMs = performance.now() - t0;
    if (result instanceof Promise) {
      return result.then(
        (res) => this.respond(ctx, header, body, res),
        (err) => this.onHandlerError(handler, header, body, err),
      );
    }
    return this.respond(ctx, header, body, result);
  }

  private respond(ctx: RequestContext<S>, header: RequestInfo, body: unknown, res: unknown): DispatchResult {
    if (ctx.requestTimeMs !== undefined) return this.respondMeasured(ctx, header, body, res);
    return ctx.throttleMs! > 0 ? this.throttled(header, res, ctx.throttleMs!) : this.encode(header, res);
  }

  /** A measured request (some request quota exists): record its time, throttle, encode, record the encode. */
  private respondMeasured(ctx: RequestContext<S>, header: RequestInfo, body: unknown, res: unknown): DispatchResult {
    const quotas = this.quotas!;
    const clientId = header.clientId ?? '';
    // acks=0 produce: Kafka does not enforce the request quota (no response to carry it).
    const counted = res !== NO_RESPONSE && ctx.requestTimeRecorded !== true && !requestQuotaExempt(header.apiKey, header.apiVersion, body);
    if (counted) {
      const ms = quotas.recordRequestTime(clientId, ctx.requestTimeMs!);
      if (ms > 0) ctx.throttleMs = Math.max(ctx.throttleMs ?? 0, ms);
    }
    const throttleMs = ctx.throttleMs ?? 0;
    const t1 = performance.now();
    const out = throttleMs > 0 ? this.throttled(header, withThrottleTime(res, throttleMs), throttleMs) : this.encode(header, res);
    if (counted || ctx.requestTimeRecorded === true) quotas.recordRequestTimeNoThrottle(clientId, performance.now() - t1);
    return out;
  }

  /** A response after which the connection is muted (KIP-219), or which waits (older versions). */
  private throttled(header: RequestInfo, res: unknown, throttleMs: number): DispatchResult {
    return new ThrottledResponse(this.encode(header, res) as Buffer | Buffer[] | null, throttleMs, !clientThrottles(header.apiKey, header.apiVersion));
  }

  private onHandlerError(handler: HandlerDef<any, any, S>, header: RequestInfo, body: unknown, err: unknown): DispatchResult {
    this.logger.error({ err, api: handler.name, version: header.apiVersion }, 'handler failed');
    if (!handler.errorResponse) throw err;
    return this.encode(header, handler.errorResponse(body, ErrorCode.UNKNOWN_SERVER_ERROR, header.apiVersion));
  }

  private encode(header: RequestInfo, res: unknown): DispatchResult {
    if (res === NO_RESPONSE) return null;
    const spec = API_SPECS[header.apiKey]!;
    const codec = this.handlers.get(header.apiKey)?.codec;
    const w = new Writer();
    const sizePos = w.reserveInt32();
    encodeResponseHeader(w, header.apiKey, header.apiVersion, header.correlationId);
    if (codec) codec.encodeResponse(w, header.apiVersion, res);
    else spec.encodeResponse(w, header.apiVersion, res);
    w.patchInt32(sizePos, w.length - 4);
    return w.toChunks();
  }

  /** ApiVersions v0 body with UNSUPPORTED_VERSION and the supported ranges (Kafka's fallback). */
  private apiVersionsFallback(header: RequestInfo): DispatchResult {
    const spec = API_SPECS[ApiKey.ApiVersions]!;
    const w = new Writer();
    const sizePos = w.reserveInt32();
    w.int32(header.correlationId);
    spec.encodeResponse(w, 0, {
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: apiVersionRanges(this.handlers),
      throttleTimeMs: 0,
    });
    w.patchInt32(sizePos, w.length - 4);
    return w.toBuffer();
  }
}

/**
 * The response with throttle_time_ms raised to `ms` (a copy: handlers may answer with shared
 * objects); unchanged when it has no such field or already says as much.
 */
function withThrottleTime(res: unknown, ms: number): unknown {
  if (typeof res !== 'object' || res === null || !('throttleTimeMs' in res)) return res;
  const current = (res as { throttleTimeMs?: number }).throttleTimeMs ?? 0;
  return current >= ms ? res : { ...res, throttleTimeMs: ms };
}

export function apiVersionRanges(handlers: ReadonlyMap<number, HandlerDef<any, any, any>>): Array<{ apiKey: number; minVersion: number; maxVersion: number }> {
  return [...handlers.values()]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));
}
