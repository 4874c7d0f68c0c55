// Small helpers the group handlers share.
import type { RequestContext } from '../handler.js';

/** The client's address as Kafka reports it (Java's InetAddress.toString: "/127.0.0.1"). */
export function clientHost(ctx: RequestContext): string {
  const addr = ctx.conn.remoteAddress.startsWith('::ffff:') ? ctx.conn.remoteAddress.slice('::ffff:'.length) : ctx.conn.remoteAddress;
  return `/${addr}`;
}

/** The client id of the request header ("" when absent). */
export function clientId(ctx: RequestContext): string {
  return ctx.request.clientId ?? '';
}

/** "Nothing was authorized or asked for" in authorized-operations bit fields. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** READ, DELETE and DESCRIBE on a group (AclOperation codes 3, 6, 8): all a group allows, no authorizer here. */
export const GROUP_AUTHORIZED_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
