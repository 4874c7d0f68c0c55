// What a handler is: one file per API under broker/handlers/, each exporting a HandlerDef that
// names its API key and the version range it serves. ApiVersions is computed from these
// registrations, so nothing is advertised that is not served.
import type { Logger } from 'pino';
import type { Reader, Writer } from '../wire/primitives.js';
import type { Connection } from './network/connection.js';
import type { BrokerServices } from './services.js';

export interface RequestInfo {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** `S`: what the listener's handlers can reach (the broker's services, or a controller's). */
export interface RequestContext<S = BrokerServices> {
  readonly services: S;
  readonly conn: Connection;
  readonly request: RequestInfo;
  readonly apiVersion: number;
  readonly logger: Logger;
  /** Name of the listener the request arrived on (advertised addresses depend on it). */
  readonly listenerName: string;
  /** Bytes of the request frame (produce byte-rate quotas). */
  readonly requestBytes?: number;
  /**
   * Set by a handler whose client is over a quota (broker/quota/): the connection is muted for
   * this long after the response (KIP-219), or the response is held for it (older versions).
   */
  throttleMs?: number;
  /** Request quotas (broker/quota/request-quotas.ts): `performance.now()` when the router began the request; -1 = not measured. */
  requestStartMs?: number;
  /** The synchronous time of decode + handler (ms), set by the router once `handle` returned. */
  requestTimeMs?: number;
  /** The handler recorded the request time itself (Fetch); the router does not again. */
  requestTimeRecorded?: boolean;
}

/** Returned by a handler that must not answer (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('no-response');

export interface HandlerDef<Req = any, Res = any, S = BrokerServices> {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * Codecs for versions the generated ones do not cover (VoteRequest v2); by default the
   * router uses the generated codecs of the API.
   */
  readonly codec?: {
    decodeRequest(r: Reader, version: number): Req;
    encodeResponse(w: Writer, version: number, res: Res): void;
  };
  handle(ctx: RequestContext<S>, req: Req): Res | typeof NO_RESPONSE | Promise<Res | typeof NO_RESPONSE>;
  /** The response that carries `errorCode` for every part of `req` (Kafka's getErrorResponse). */
  errorResponse?(req: Req, errorCode: number, version: number): Res;
}

export function defineHandler<Req, Res, S = BrokerServices>(def: HandlerDef<Req, Res, S>): HandlerDef<Req, Res, S> {
  return def;
}
