/**
 * Client quotas in the metadata (KIP-546), as pure functions of the image:
 * - `decideAlterClientQuotas`: AlterClientQuotas (key 49) on the active controller → the
 *   ClientQuotaRecords to commit and one result per entry (Kafka's ClientQuotaControlManager:
 *   entity validation, the allowed type combinations and their keys, `value > 0`, integral
 *   values for the LONG/INT keys, a record only for values that change, `remove` only for set
 *   keys, duplicate keys and duplicate entities are INVALID_REQUEST).
 * - `describeClientQuotas`: DescribeClientQuotas (key 48) from a broker's image (match types
 *   EXACT 0 / DEFAULT 1 / SPECIFIED 2; `strict` = the entity has no other component types).
 * Entity names are kept as given (Kafka sanitizes them for ZooKeeper paths only).
 */
import type { AlterClientQuotasRequest } from '../wire/generated/messages/alter-client-quotas-request.js';
import type { AlterClientQuotasResponse } from '../wire/generated/messages/alter-client-quotas-response.js';
import type { DescribeClientQuotasRequest } from '../wire/generated/messages/describe-client-quotas-request.js';
import type { DescribeClientQuotasResponse } from '../wire/generated/messages/describe-client-quotas-response.js';
import { ErrorCode } from '../wire/errors.js';
import { clientQuotaEntityKey, type MetadataImage } from './image.js';
import { clientQuotaRecord, type ApiMessageAndVersion } from './records.js';

export const QUOTA_ENTITY_USER = 'user';
export const QUOTA_ENTITY_CLIENT_ID = 'client-id';
export const QUOTA_ENTITY_IP = 'ip';

export const PRODUCER_BYTE_RATE = 'producer_byte_rate';
export const CONSUMER_BYTE_RATE = 'consumer_byte_rate';
export const REQUEST_PERCENTAGE = 'request_percentage';
export const CONTROLLER_MUTATION_RATE = 'controller_mutation_rate';
export const CONNECTION_CREATION_RATE = 'connection_creation_rate';

type KeyType = 'LONG' | 'INT' | 'DOUBLE';

/** Kafka's QuotaConfig.userAndClientQuotaConfigs(). */
const USER_CLIENT_KEYS: ReadonlyMap<string, KeyType> = new Map<string, KeyType>([
  [PRODUCER_BYTE_RATE, 'LONG'],
  [CONSUMER_BYTE_RATE, 'LONG'],
  [REQUEST_PERCENTAGE, 'DOUBLE'],
  [CONTROLLER_MUTATION_RATE, 'DOUBLE'],
]);
/** Kafka's QuotaConfig.ipConfigs(). */
const IP_KEYS: ReadonlyMap<string, KeyType> = new Map<string, KeyType>([[CONNECTION_CREATION_RATE, 'INT']]);

/** DescribeClientQuotas match types. */
export const MatchType = { EXACT: 0, DEFAULT: 1, SPECIFIED: 2 } as const;

const MAX_INT = 2 ** 31 - 1;
const MAX_LONG = 2 ** 63;

type EntityPairs = ReadonlyArray<{ entityType: string; entityName: string | null }>;

class InvalidRequest extends Error {}

/** Validates an entity; returns type → name, or throws InvalidRequest with Kafka's message. */
function validateEntity(entity: EntityPairs): Map<string, string | null> {
  if (entity.length === 0) throw new InvalidRequest('Invalid empty client quota entity');
  const out = new Map<string, string | null>();
  for (const { entityType, entityName } of entity) {
    if (out.has(entityType)) throw new InvalidRequest(`Invalid client quota entity, duplicate entity entry ${entityType}`);
    if (entityType !== QUOTA_ENTITY_USER && entityType !== QUOTA_ENTITY_CLIENT_ID && entityType !== QUOTA_ENTITY_IP) {
      throw new InvalidRequest(`Unhandled client quota entity type: ${entityType}`);
    }
    if (entityName !== null && entityName.length === 0) throw new InvalidRequest(`Empty ${entityType} not supported`);
    out.set(entityType, entityName);
  }
  return out;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:.]+$/;

function keysFor(entity: ReadonlyMap<string, string | null>): ReadonlyMap<string, KeyType> {
  const hasIp = entity.has(QUOTA_ENTITY_IP);
  if (hasIp) {
    if (entity.has(QUOTA_ENTITY_USER) || entity.has(QUOTA_ENTITY_CLIENT_ID)) {
      throw new InvalidRequest('Invalid quota entity combination, IP entity should not be combined with User or ClientId');
    }
    const ip = entity.get(QUOTA_ENTITY_IP)!;
    // Kafka accepts any resolvable host; without blocking on DNS here, literal addresses only.
    if (ip !== null && !IPV4.test(ip) && !(ip.includes(':') && IPV6.test(ip))) throw new InvalidRequest(`${ip} is not a valid IP or resolvable host.`);
    return IP_KEYS;
  }
  return USER_CLIENT_KEYS;
}

function validateValue(keys: ReadonlyMap<string, KeyType>, key: string, value: number): void {
  const type = keys.get(key);
  if (type === undefined) throw new InvalidRequest(`Invalid configuration key ${key}`);
  if (!(value > 0)) throw new InvalidRequest(`Quota ${key} must be greater than 0`);
  if (type === 'DOUBLE') {
    if (!Number.isFinite(value)) throw new InvalidRequest(`Proposed value for ${key} is not a finite number.`);
    return;
  }
  if (value > (type === 'INT' ? MAX_INT : MAX_LONG)) throw new InvalidRequest(`Proposed value for ${key} is too large for ${type === 'INT' ? 'an INT' : 'a LONG'}.`);
  if (Math.abs(value % 1) > 1e-6) throw new InvalidRequest(`${key} cannot be a fractional value.`);
}

export interface AlterClientQuotasDecision {
  readonly records: ApiMessageAndVersion[];
  readonly response: AlterClientQuotasResponse;
}

/** AlterClientQuotas on the active controller; with `validateOnly` no records. */
export function decideAlterClientQuotas(image: MetadataImage, req: AlterClientQuotasRequest): AlterClientQuotasDecision {
  const records: ApiMessageAndVersion[] = [];
  const seen = new Set<string>();
  const entries: AlterClientQuotasResponse['entries'] = [];
  for (const entry of req.entries) {
    const echo = entry.entity.map((e) => ({ entityType: e.entityType, entityName: e.entityName }));
    const key = clientQuotaEntityKey(entry.entity.map((e) => [e.entityType, e.entityName] as const));
    try {
      if (seen.has(key)) throw new InvalidRequest(`Ignoring duplicate entity ${describeEntity(entry.entity)}`);
      seen.add(key);
      const entity = validateEntity(entry.entity);
      const keys = keysFor(entity);
      const ops = new Map<string, number | null>();
      for (const op of entry.ops) {
        if (ops.has(op.key)) throw new InvalidRequest(`Duplicate quota key ${op.key} not updating quota for this entity ${describeEntity(entry.entity)}`);
        ops.set(op.key, op.remove ? null : op.value);
      }
      const current = image.clientQuotas.get(key)?.values;
      const mine: ApiMessageAndVersion[] = [];
      const recordEntity = () => [...entity].map(([entityType, entityName]) => ({ entityType, entityName }));
      for (const [k, v] of ops) {
        if (v === null) {
          if (current?.has(k) === true) mine.push(clientQuotaRecord({ entity: recordEntity(), key: k, value: 0, remove: true }));
          continue;
        }
        validateValue(keys, k, v);
        if (current?.get(k) !== v) mine.push(clientQuotaRecord({ entity: recordEntity(), key: k, value: v, remove: false }));
      }
      if (!req.validateOnly) records.push(...mine);
      entries.push({ errorCode: ErrorCode.NONE, errorMessage: null, entity: echo });
    } catch (err) {
      if (!(err instanceof InvalidRequest)) throw err;
      entries.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: err.message, entity: echo });
    }
  }
  return { records, response: { throttleTimeMs: 0, entries } };
}

function describeEntity(entity: EntityPairs): string {
  return `ClientQuotaEntity(entries=${entity.map((e) => `${e.entityType}=${e.entityName ?? '<default>'}`).join(', ')})`;
}

/** Every entry with `errorCode` (a forwarded request no controller answered, a decode error). */
export function alterClientQuotasErrorResponse(req: AlterClientQuotasRequest, errorCode: number, errorMessage: string | null = null): AlterClientQuotasResponse {
  return {
    throttleTimeMs: 0,
    entries: req.entries.map((e) => ({ errorCode, errorMessage, entity: e.entity.map((x) => ({ entityType: x.entityType, entityName: x.entityName })) })),
  };
}

/** DescribeClientQuotas from the image (Kafka's ClientQuotaControlManager.describeClientQuotas). */
export function describeClientQuotas(image: MetadataImage, req: DescribeClientQuotasRequest): DescribeClientQuotasResponse {
  const fail = (errorCode: number, errorMessage: string): DescribeClientQuotasResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, entries: null });
  const exact = new Map<string, string | null>();
  const any = new Set<string>();
  for (const c of req.components) {
    const t = c.entityType;
    if (t.length === 0) return fail(ErrorCode.INVALID_REQUEST, 'Invalid empty entity type.');
    if (exact.has(t) || any.has(t)) return fail(ErrorCode.INVALID_REQUEST, `Entity type ${t} cannot appear more than once in the filter.`);
    if (t !== QUOTA_ENTITY_USER && t !== QUOTA_ENTITY_CLIENT_ID && t !== QUOTA_ENTITY_IP) return fail(ErrorCode.UNSUPPORTED_VERSION, `Unsupported entity type ${t}`);
    switch (c.matchType) {
      case MatchType.EXACT:
        if (c.match === null) return fail(ErrorCode.INVALID_REQUEST, 'Request specified MATCH_TYPE_EXACT, but set match string to null');
        exact.set(t, c.match);
        break;
      case MatchType.DEFAULT:
        exact.set(t, null);
        break;
      case MatchType.SPECIFIED:
        any.add(t);
        break;
      default:
        return fail(ErrorCode.INVALID_REQUEST, `Unexpected match type ${c.matchType}`);
    }
  }
  const hasIp = exact.has(QUOTA_ENTITY_IP) || any.has(QUOTA_ENTITY_IP);
  const hasUserOrClient = [QUOTA_ENTITY_USER, QUOTA_ENTITY_CLIENT_ID].some((t) => exact.has(t) || any.has(t));
  if (hasIp && hasUserOrClient) {
    return fail(ErrorCode.INVALID_REQUEST, 'Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.');
  }
  const entries: NonNullable<DescribeClientQuotasResponse['entries']> = [];
  for (const q of image.clientQuotas.values()) {
    if (req.strict && q.entity.size !== exact.size + any.size) continue;
    let ok = true;
    for (const [t, name] of exact) if (!q.entity.has(t) || q.entity.get(t) !== name) ok = false;
    for (const t of any) if (!q.entity.has(t)) ok = false;
    if (!ok) continue;
    entries.push({
      entity: [...q.entity].map(([entityType, entityName]) => ({ entityType, entityName })),
      values: [...q.values].map(([key, value]) => ({ key, value })),
    });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
}
