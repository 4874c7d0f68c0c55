// Seeded random messages of any generated definition and version, driven by the parsed Kafka
// schema (wire/generator/schema.ts): used by the round-trip and decoder tests in test/wire.
import {
  defaultValue,
  taggedVersionsIn,
  untaggedVersions,
  type FieldSpec,
  type FieldType,
  type MessageSpec,
  type StructSpec,
} from '../../wire/generator/schema.js';
import { ZERO_UUID } from '../../wire/primitives.js';
import type { Random } from './fuzz.js';

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

export function randomElement(t: FieldType, v: number, rnd: Random): unknown {
  if (t.kind === 'struct') return randomStruct(t.struct, v, rnd);
  if (t.kind === 'array') throw new Error('nested array');
  const range = INT_RANGES[t.name];
  if (range) return rnd.chance(0.2) ? range[rnd.int(0, 1)] : rnd.int(range[0], range[1]);
  switch (t.name) {
    case 'bool':
      return rnd.chance(0.5);
    case 'int64':
      return BigInt.asIntN(64, (BigInt(rnd.int(0, 0xffffffff)) << 32n) | BigInt(rnd.int(0, 0xffffffff)));
    case 'float64':
      return (rnd.next() - 0.5) * 10 ** rnd.int(-10, 10) || 1;
    case 'string':
      return rnd.string();
    case 'uuid':
      return rnd.chance(0.1) ? ZERO_UUID : rnd.bytes(16).toString('base64url');
    case 'bytes':
    case 'records':
      return rnd.bytes(rnd.int(0, 8));
  }
  throw new Error(`type ${t.name}`);
}

export function randomValue(f: FieldSpec, v: number, rnd: Random): unknown {
  if (f.nullableVersions.contains(v) && rnd.chance(0.2)) return null;
  if (rnd.chance(0.15)) {
    const d = defaultValue(f);
    if (d !== null || f.nullableVersions.contains(v)) return d;
  }
  if (f.type.kind === 'array') {
    const n = rnd.int(0, 3);
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(randomElement((f.type as { element: FieldType }).element, v, rnd));
    return out;
  }
  return randomElement(f.type, v, rnd);
}

/** Whether field `f` is on the wire (untagged or tagged) in version `v` of struct `s`. */
export function onWire(s: StructSpec, f: FieldSpec, v: number): boolean {
  return untaggedVersions(f, s.context).contains(v) || taggedVersionsIn(f, s.context).contains(v);
}

/** A complete random object: fields not in version `v` hold their default (what decoding gives). */
export function randomStruct(s: StructSpec, v: number, rnd: Random): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of s.fields) out[f.camel] = onWire(s, f, v) ? randomValue(f, v, rnd) : defaultValue(f);
  return out;
}

/** The same object with the fields version `v` does not carry removed (where they are optional). */
export function withoutAbsent(s: StructSpec, v: number, m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of s.fields) {
    const val = m[f.camel];
    if (!onWire(s, f, v) && !(f.versions.covers(s.context) && f.taggedVersions.empty)) continue;
    if (f.type.kind === 'struct' && val !== null && val !== undefined) {
      out[f.camel] = withoutAbsent(f.type.struct, v, val as Record<string, unknown>);
    } else if (f.type.kind === 'array' && f.type.element.kind === 'struct' && Array.isArray(val)) {
      const st = f.type.element.struct;
      out[f.camel] = val.map((e) => withoutAbsent(st, v, e as Record<string, unknown>));
    } else {
      out[f.camel] = val;
    }
  }
  return out;
}

export function versionsOf(msg: MessageSpec): number[] {
  const out: number[] = [];
  for (let v = msg.validVersions.lo; v <= msg.validVersions.hi; v++) out.push(v);
  return out;
}
