/**
 * The model of Apache Kafka's JSON message definitions (`../shared/kafka-protocol`), as
 * documented in its `messages/README.md`, with the semantics of Kafka's own generator
 * (`generator/src/main/java/org/apache/kafka/message`): version ranges, nullable, tagged and
 * flexible versions, defaults, inline and common structs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Highest version number: "3+" means 3..MAX_VERSION. */
export const MAX_VERSION = 0x7fff;

/** An inclusive version range; empty when lo > hi. */
export class Versions {
  static readonly NONE = new Versions(1, 0);
  static readonly ALL = new Versions(0, MAX_VERSION);

  constructor(
    readonly lo: number,
    readonly hi: number,
  ) {}

  /** "0-11", "3+", "7", "none" (or a missing value: `fallback`). */
  static parse(s: string | undefined, fallback: Versions | null): Versions {
    if (s === undefined || s === null || s.trim() === '') {
      if (fallback === null) throw new Error('missing version range');
      return fallback;
    }
    const t = s.trim();
    if (t === 'none') return Versions.NONE;
    let m = /^(\d+)\+$/.exec(t);
    if (m) return new Versions(Number(m[1]), MAX_VERSION);
    m = /^(\d+)-(\d+)$/.exec(t);
    if (m) return new Versions(Number(m[1]), Number(m[2]));
    m = /^(\d+)$/.exec(t);
    if (m) return new Versions(Number(m[1]), Number(m[1]));
    throw new Error(`invalid version range ${JSON.stringify(s)}`);
  }

  get empty(): boolean {
    return this.lo > this.hi;
  }

  contains(v: number): boolean {
    return v >= this.lo && v <= this.hi;
  }

  /** Whether every version of `other` is in this range. */
  covers(other: Versions): boolean {
    return other.empty || (this.lo <= other.lo && other.hi <= this.hi);
  }

  intersect(other: Versions): Versions {
    const lo = Math.max(this.lo, other.lo);
    const hi = Math.min(this.hi, other.hi);
    return lo > hi ? Versions.NONE : new Versions(lo, hi);
  }

  /** The smallest range holding both. */
  hull(other: Versions): Versions {
    if (this.empty) return other;
    if (other.empty) return this;
    return new Versions(Math.min(this.lo, other.lo), Math.max(this.hi, other.hi));
  }

  toString(): string {
    if (this.empty) return 'none';
    if (this.hi === MAX_VERSION) return `${this.lo}+`;
    if (this.lo === this.hi) return `${this.lo}`;
    return `${this.lo}-${this.hi}`;
  }
}

export type PrimitiveName =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

const PRIMITIVES: ReadonlySet<string> = new Set([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'bytes',
  'records',
  'uuid',
]);

export type FieldType =
  | { kind: 'primitive'; name: PrimitiveName }
  | { kind: 'struct'; struct: StructSpec }
  | { kind: 'array'; element: FieldType };

export interface FieldSpec {
  /** JSON name, e.g. "TopicData". */
  name: string;
  /** camelCase name used in TypeScript, e.g. "topicData". */
  camel: string;
  type: FieldType;
  versions: Versions;
  nullableVersions: Versions;
  taggedVersions: Versions;
  tag: number | null;
  /** Field-level override of the message's flexible versions (string/bytes only). */
  flexibleVersions: Versions | null;
  /** The default as Kafka's generator sees it: a string, "" when none was given. */
  defaultString: string;
  about: string;
  ignorable: boolean;
}

export interface StructSpec {
  /** The JSON type name, e.g. "TopicProduceData". */
  name: string;
  /** The TypeScript name: message name + struct name, or the message name for the root. */
  tsName: string;
  fields: FieldSpec[];
  versions: Versions;
  isCommon: boolean;
  isRoot: boolean;
  /** Versions in which this struct can occur (intersection of its parents' versions). */
  context: Versions;
}

export type MessageDir = 'messages' | 'metadata' | 'coordinator';

export interface MessageSpec {
  dir: MessageDir;
  /** The JSON file name, e.g. "ProduceRequest.json". */
  file: string;
  name: string;
  type: string;
  apiKey: number | null;
  validVersions: Versions;
  flexibleVersions: Versions;
  listeners: string[];
  latestVersionUnstable: boolean;
  root: StructSpec;
  /** Every struct of the message, root first, then in order of first appearance. */
  structs: StructSpec[];
}

/** Removes `//` line comments outside of JSON strings. */
export function stripJsonComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

/** Kafka's `MessageGenerator.lowerCaseFirst`. */
export function camelCase(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** "ProduceRequest" → "produce-request", "KRaftVersionRecord" → "kraft-version-record". */
export function kebabCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** How Jackson hands a JSON default to Kafka's generator: always a string, null → "". */
function defaultToString(v: unknown): string {
  if (v === undefined || v === null) return '';
  return String(v);
}

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  default?: unknown;
  about?: string;
  ignorable?: boolean;
  fields?: RawField[];
}

interface RawStruct {
  name: string;
  versions: string;
  fields: RawField[];
}

interface RawMessage {
  name: string;
  type: string;
  apiKey?: number;
  validVersions: string;
  flexibleVersions: string;
  listeners?: string[];
  latestVersionUnstable?: boolean;
  fields: RawField[];
  commonStructs?: RawStruct[];
}

/** Parses one JSON definition (comments allowed). */
export function parseMessage(dir: MessageDir, file: string, text: string): MessageSpec {
  const raw = JSON.parse(stripJsonComments(text)) as RawMessage;
  const name = raw.name;
  const validVersions = Versions.parse(raw.validVersions, null);
  const flexibleVersions = Versions.parse(raw.flexibleVersions, null);
  const structs: StructSpec[] = [];
  const byName = new Map<string, StructSpec>();

  const commonRaw = new Map<string, RawStruct>();
  for (const cs of raw.commonStructs ?? []) commonRaw.set(cs.name, cs);

  const structOf = (typeName: string, rawField: RawField, context: Versions): StructSpec => {
    const existing = byName.get(typeName);
    if (existing) {
      if (rawField.fields && rawField.fields.length > 0) throw new Error(`${file}: struct ${typeName} is defined twice`);
      if (!existing.isCommon) throw new Error(`${file}: struct ${typeName} is used twice but is not a common struct`);
      return existing;
    }
    const common = commonRaw.get(typeName);
    if (common && rawField.fields && rawField.fields.length > 0) {
      throw new Error(`${file}: field ${rawField.name} redefines common struct ${typeName}`);
    }
    if (!common && !rawField.fields) throw new Error(`${file}: unknown struct type ${typeName}`);
    const versions = common ? Versions.parse(common.versions, null) : Versions.parse(rawField.versions, null);
    const struct: StructSpec = {
      name: typeName,
      tsName: name + typeName,
      fields: [],
      versions,
      isCommon: !!common,
      isRoot: false,
      // A common struct can be used in several places: its code must serve every version.
      context: common ? validVersions.intersect(versions) : context.intersect(versions),
    };
    if (struct.tsName === name + 'Meta') throw new Error(`${file}: struct name ${typeName} clashes with the Meta export`);
    byName.set(typeName, struct);
    structs.push(struct);
    struct.fields = (common ? common.fields : rawField.fields!).map((f) => parseField(f, struct.context));
    return struct;
  };

  const parseType = (t: string, rawField: RawField, context: Versions): FieldType => {
    if (t.startsWith('[]')) {
      const inner = t.slice(2);
      if (inner.startsWith('[]')) throw new Error(`${file}: nested arrays are not supported (${rawField.name})`);
      return { kind: 'array', element: parseType(inner, rawField, context) };
    }
    if (PRIMITIVES.has(t)) return { kind: 'primitive', name: t as PrimitiveName };
    if (!/^[A-Z]/.test(t)) throw new Error(`${file}: unknown type ${t} of ${rawField.name}`);
    return { kind: 'struct', struct: structOf(t, rawField, context) };
  };

  const parseField = (f: RawField, context: Versions): FieldSpec => {
    const taggedVersions = Versions.parse(f.taggedVersions, Versions.NONE);
    const versions = Versions.parse(f.versions, taggedVersions.empty ? null : taggedVersions);
    const tag = f.tag === undefined ? null : f.tag;
    if ((tag === null) !== taggedVersions.empty) throw new Error(`${file}: ${f.name}: tag and taggedVersions go together`);
    const spec: FieldSpec = {
      name: f.name,
      camel: camelCase(f.name),
      type: { kind: 'primitive', name: 'bool' },
      versions,
      nullableVersions: Versions.parse(f.nullableVersions, Versions.NONE),
      taggedVersions,
      tag,
      flexibleVersions: f.flexibleVersions === undefined ? null : Versions.parse(f.flexibleVersions, null),
      defaultString: defaultToString(f.default),
      about: f.about ?? '',
      ignorable: f.ignorable === true,
    };
    spec.type = parseType(f.type, f, context.intersect(versions));
    return spec;
  };

  const root: StructSpec = {
    name,
    tsName: name,
    fields: [],
    versions: validVersions,
    isCommon: false,
    isRoot: true,
    context: validVersions,
  };
  structs.push(root);
  root.fields = raw.fields.map((f) => parseField(f, validVersions));
  // A common struct no field refers to still gets generated (Kafka does too).
  for (const cs of raw.commonStructs ?? []) {
    if (!byName.has(cs.name)) structOf(cs.name, { name: cs.name, type: cs.name }, Versions.NONE);
  }

  return {
    dir,
    file,
    name,
    type: raw.type,
    apiKey: raw.apiKey ?? null,
    validVersions,
    flexibleVersions,
    listeners: raw.listeners ?? [],
    latestVersionUnstable: raw.latestVersionUnstable === true,
    root,
    structs,
  };
}

/**
 * Every definition in `messages/`, `metadata/` and `coordinator/` under `protocolDir`, sorted.
 * A file of the same name under `overlayDir` replaces the shared one: newer versions of a
 * definition from a later Kafka release (e.g. VoteRequest v2 of Kafka 4.0 for pre-vote).
 */
export function loadMessages(protocolDir: string, overlayDir?: string): MessageSpec[] {
  const out: MessageSpec[] = [];
  for (const dir of ['messages', 'metadata', 'coordinator'] as const) {
    const files = readdirSync(join(protocolDir, dir))
      .filter((f) => f.endsWith('.json'))
      .sort();
    for (const file of files) {
      const overlay = overlayDir ? join(overlayDir, dir, file) : null;
      const path = overlay && existsSync(overlay) ? overlay : join(protocolDir, dir, file);
      out.push(parseMessage(dir, file, readFileSync(path, 'utf8')));
    }
  }
  return out;
}

// ---- Field semantics shared by the code generator and the tests ----

/** Versions in which the field's own serialization is flexible. */
export function fieldFlexibleVersions(msg: MessageSpec, f: FieldSpec): Versions {
  return f.flexibleVersions ?? msg.flexibleVersions;
}

/** Versions (within `context`) in which the field is written in the fixed part of the struct. */
export function untaggedVersions(f: FieldSpec, context: Versions): Versions {
  const present = f.versions.intersect(context);
  if (f.taggedVersions.empty) return present;
  // taggedVersions is open-ended ("N+"), so the untagged part is below it.
  return present.intersect(new Versions(0, f.taggedVersions.lo - 1));
}

/** Versions (within `context`) in which the field is a tagged field. */
export function taggedVersionsIn(f: FieldSpec, context: Versions): Versions {
  return f.versions.intersect(f.taggedVersions).intersect(context);
}

/** Whether the TypeScript property is required: present untagged in every version of its struct. */
export function isRequired(f: FieldSpec, context: Versions): boolean {
  return f.taggedVersions.intersect(context).empty && f.versions.covers(context);
}

/** Whether the TypeScript type admits null. */
export function admitsNull(f: FieldSpec, context: Versions): boolean {
  if (f.type.kind === 'primitive' && f.type.name === 'records') return true;
  if (!f.nullableVersions.intersect(f.versions).intersect(context).empty) return true;
  return f.defaultString === 'null';
}

/** Whether the default is null (Kafka: the literal "null", and always for records). */
export function defaultIsNull(f: FieldSpec): boolean {
  if (f.type.kind === 'primitive' && f.type.name === 'records') return true;
  return f.defaultString === 'null';
}

/** Parses an integer default the way Kafka's generator does ("0x" prefix = hex). */
export function parseIntDefault(s: string): bigint {
  if (s === '') return 0n;
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  const v = body.startsWith('0x') ? BigInt(body) : BigInt(body);
  return neg ? -v : v;
}

/** The default of a field as a runtime value (what the decoder fills in). */
export function defaultValue(f: FieldSpec): unknown {
  const t = f.type;
  if (t.kind === 'array') return defaultIsNull(f) ? null : [];
  if (t.kind === 'struct') return defaultIsNull(f) ? null : defaultStructValue(t.struct);
  switch (t.name) {
    case 'bool':
      return f.defaultString.toLowerCase() === 'true';
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
      return Number(parseIntDefault(f.defaultString));
    case 'int64':
      return parseIntDefault(f.defaultString);
    case 'float64':
      return f.defaultString === '' ? 0 : Number(f.defaultString);
    case 'string':
      return f.defaultString === 'null' ? null : f.defaultString;
    case 'uuid':
      return f.defaultString === '' ? 'AAAAAAAAAAAAAAAAAAAAAA' : f.defaultString;
    case 'bytes':
      return f.defaultString === 'null' ? null : Buffer.alloc(0);
    case 'records':
      return null;
  }
}

export function defaultStructValue(s: StructSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of s.fields) out[f.camel] = defaultValue(f);
  return out;
}
