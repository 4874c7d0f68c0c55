// The quota hooks of the Produce and Fetch handlers. Each is called only when
// `services.quotas.enabled` (a byte-rate quota exists), so without quotas the handlers pay one
// boolean test. A throttle time is put on the request context: the router then has the
// connection mute after the response (KIP-219) or hold it (older versions).
import type { RequestContext } from '../handler.js';

/** Records a produce request's bytes; its throttle time (also set on `ctx`), 0 within quota. */
export function throttleProduce(ctx: RequestContext): number {
  const ms = ctx.services.quotas.record('produce', ctx.request.clientId ?? '', ctx.requestBytes ?? 0);
  if (ms > 0) ctx.throttleMs = Math.max(ctx.throttleMs ?? 0, ms);
  return ms;
}

/** A consumer fetch asks for at most what its quota window allows (Kafka's getMaxValueInQuotaWindow). */
export function fetchMaxBytes(ctx: RequestContext, maxBytes: number): number {
  return Math.max(1, Math.min(maxBytes, ctx.services.quotas.maxValueInQuotaWindow('fetch', ctx.request.clientId ?? '')));
}

/**
 * Records a consumer fetch response's bytes; when that puts the client over its quota the bytes
 * are taken back and the throttle time returned (set on `ctx`): the fetch is answered empty.
 */
export function throttleFetch(ctx: RequestContext, bytes: number): number {
  const clientId = ctx.request.clientId ?? '';
  const q = ctx.services.quotas;
  const ms = q.record('fetch', clientId, bytes);
  if (ms > 0) {
    q.unrecord('fetch', clientId, bytes);
    ctx.throttleMs = Math.max(ctx.throttleMs ?? 0, ms);
  }
  return ms;
}
