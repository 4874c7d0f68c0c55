// The quota hooks of the request path.
//
// Byte rates: the Produce and Fetch handlers call these only when `services.quotas.enabled` (a
// byte-rate quota exists), so without quotas they pay one boolean test.
//
// Request time (`request_percentage`, KIP-124): the router (../router.ts) measures a request
// only when `quotas.requestEnabled`, and records it per (user, client-id) sensor when the
// response is ready. Kafka records the time request-handler threads spent on the request
// (`requestThreadTimeNanos`) before the response is built, and the network thread's time
// afterwards without throttling (`recordNoThrottle`). Node has one thread, and a request's work
// on it is split into the synchronous part of the dispatch and continuations after each await,
// interleaved with other requests. What is measured here, as an approximation:
//   1. decode of header and body + the handler up to its first await (or to its end when it is
//      synchronous) — recorded with the throttle check when the response is ready;
//   2. encode of the response — recorded after it, without a throttle check (it is in the
//      response already sent, as Kafka's network-thread time).
// Continuations after an await (a produce's append after the partition lookup, a fetch's read
// after a long poll) and waits (acks=-1, long polls, disk I/O on the thread pool) are not
// counted: a client is charged for the CPU its requests start on the event loop, not for time
// it waits. Most APIs here are synchronous or do their work before the first await, so for
// Metadata, ApiVersions, group and admin requests the measure is their whole CPU time.
// Exempt (as Kafka): cluster actions (inter-broker and controller APIs answered with
// `sendResponseExemptThrottle`), SASL, Envelope, follower fetches, acks=0 produce; the
// controller listener has no request quota at all.
// A throttle time is put on the request context: the router then has the connection mute after
// the response (KIP-219) or hold it (older versions).
import type { RequestContext } from '../handler.js';
import { ApiKey } from '../../wire/generated/api.js';

/** Kafka's cluster actions answered without throttling, SASL (before authentication) and Envelope. */
const EXEMPT_APIS: ReadonlySet<number> = new Set([
  ApiKey.LeaderAndIsr,
  ApiKey.StopReplica,
  ApiKey.UpdateMetadata,
  ApiKey.ControlledShutdown,
  ApiKey.WriteTxnMarkers,
  ApiKey.Vote,
  ApiKey.BeginQuorumEpoch,
  ApiKey.EndQuorumEpoch,
  ApiKey.Envelope,
  ApiKey.BrokerRegistration,
  ApiKey.BrokerHeartbeat,
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
]);

/** True when a request does not count against request quotas (Kafka's exempt requests). */
export function requestQuotaExempt(apiKey: number, version: number, body: unknown): boolean {
  if (EXEMPT_APIS.has(apiKey)) return true;
  if (apiKey === ApiKey.Fetch) {
    // A follower's fetch (replication has its own quotas in Kafka).
    const b = body as { replicaId?: number; replicaState?: { replicaId?: number } | null };
    const replicaId = version >= 15 ? (b.replicaState?.replicaId ?? -1) : (b.replicaId ?? -1);
    return replicaId >= 0;
  }
  return false;
}

/**
 * Records the request's measured time for its client (once) and returns its request-quota
 * throttle time (0 within quota, or when the request was not measured).
 */
export function recordRequestTime(ctx: RequestContext): number {
  if (ctx.requestStartMs === undefined || ctx.requestStartMs < 0 || ctx.requestTimeRecorded === true) return 0;
  ctx.requestTimeRecorded = true;
  // The router sets requestTimeMs once the handler's synchronous part returned; a handler that
  // records before that (fully synchronous) is charged up to now.
  const ms = ctx.requestTimeMs ?? performance.now() - ctx.requestStartMs;
  return ctx.services.quotas.recordRequestTime(ctx.request.clientId ?? '', ms);
}

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
 * A consumer fetch (called when a byte-rate or a request quota exists): records its request
 * time and its response's bytes, as Kafka's handleFetchRequest does. When either puts the client
 * over its quota, the bytes are taken back and the larger throttle time returned (set on `ctx`):
 * the fetch is answered empty.
 */
export function throttleFetch(ctx: RequestContext, bytes: number): number {
  const clientId = ctx.request.clientId ?? '';
  const q = ctx.services.quotas;
  const requestMs = q.requestEnabled ? recordRequestTime(ctx) : 0;
  const bytesMs = q.enabled ? q.record('fetch', clientId, bytes) : 0;
  const ms = Math.max(requestMs, bytesMs);
  if (ms > 0) {
    if (q.enabled) q.unrecord('fetch', clientId, bytes);
    ctx.throttleMs = Math.max(ctx.throttleMs ?? 0, ms);
  }
  return ms;
}
