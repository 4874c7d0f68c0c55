/**
 * Emits one TypeScript module per message definition: interfaces, straight-line decoders and
 * encoders for every version, and a `<Name>Meta` constant. The wire behaviour follows Kafka's
 * own generator (`MessageDataGenerator`): fields are written in order, tagged fields go to the
 * struct's tagged section in flexible versions (only when they differ from their default, in
 * ascending tag order), nullable structs carry an int8 presence marker, and so on.
 */
import {
  admitsNull,
  defaultIsNull,
  fieldFlexibleVersions,
  isRequired,
  parseIntDefault,
  taggedVersionsIn,
  untaggedVersions,
  Versions,
  type FieldSpec,
  type FieldType,
  type MessageSpec,
  type PrimitiveName,
  type StructSpec,
} from './schema.js';

/** A version condition: always, never, or a TypeScript boolean expression. */
type Cond = true | false | string;

const RESERVED = new Set([
  // JavaScript reserved words and awkward globals.
  'arguments', 'await', 'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger',
  'default', 'delete', 'do', 'else', 'enum', 'eval', 'export', 'extends', 'false', 'finally',
  'for', 'function', 'if', 'implements', 'import', 'in', 'instanceof', 'interface', 'let',
  'new', 'null', 'package', 'private', 'protected', 'public', 'return', 'static', 'super',
  'switch', 'this', 'throw', 'true', 'try', 'typeof', 'undefined', 'var', 'void', 'while',
  'with', 'yield', 'NaN', 'Infinity',
  // Names the generated code uses itself.
  'r', 'w', 'm', 'v', 'e', 'i', 'k', 'n', 'a', 'p', 's', 'version', 'flex', 'tag', 'end',
  'numTagged',
]);

const FIXED_SIZE: Partial<Record<PrimitiveName, number>> = {
  bool: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
  uuid: 16,
};

const READ_FIXED: Partial<Record<PrimitiveName, string>> = {
  bool: 'r.bool()',
  int8: 'r.int8()',
  int16: 'r.int16()',
  uint16: 'r.uint16()',
  int32: 'r.int32()',
  uint32: 'r.uint32()',
  int64: 'r.int64()',
  float64: 'r.float64()',
  uuid: 'r.uuid()',
};

const WRITE_FIXED: Partial<Record<PrimitiveName, string>> = {
  bool: 'bool',
  int8: 'int8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  float64: 'float64',
  uuid: 'uuid',
};

/** Lines of code with indentation. */
class Code {
  readonly lines: string[] = [];
  private depth = 0;

  line(s = ''): this {
    this.lines.push(s === '' ? '' : '  '.repeat(this.depth) + s);
    return this;
  }

  open(s: string): this {
    this.line(s);
    this.depth++;
    return this;
  }

  close(s = '}'): this {
    this.depth--;
    this.line(s);
    return this;
  }

  /** A line between two blocks, like `} else {`. */
  mid(s: string): this {
    this.depth--;
    this.line(s);
    this.depth++;
    return this;
  }

  /** `if (c) { body }`, folded when c is constant. */
  when(c: Cond, body: () => void): this {
    if (c === false) return this;
    if (c === true) {
      body();
      return this;
    }
    this.open(`if (${c}) {`);
    body();
    return this.close();
  }
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** The condition "version in `range`", knowing that the version is in `ctx`. */
export function versionCond(range: Versions, ctx: Versions): Cond {
  const r = range.intersect(ctx);
  if (r.empty) return false;
  if (r.lo <= ctx.lo && r.hi >= ctx.hi) return true;
  const parts: string[] = [];
  if (r.lo > ctx.lo) parts.push(`version >= ${r.lo}`);
  if (r.hi < ctx.hi) parts.push(`version <= ${r.hi}`);
  return parts.join(' && ');
}

function and(a: Cond, b: Cond): Cond {
  if (a === false || b === false) return false;
  if (a === true) return b;
  if (b === true) return a;
  return `${a} && ${b}`;
}

function not(c: Cond): Cond {
  if (c === true) return false;
  if (c === false) return true;
  return `!(${c})`;
}

function pick(c: Cond, yes: string, no: string): string {
  if (c === true) return yes;
  if (c === false) return no;
  return `${c} ? ${yes} : ${no}`;
}

function aboutComment(s: string): string {
  return s.replace(/\*\//g, '*\\/').replace(/\s+/g, ' ').trim();
}

/** Generates the module of one message. */
class MessageGenerator {
  private readonly out = new Code();
  /** Structs whose `default<Name>()` / `isDefault<Name>()` helpers are needed. */
  private readonly needDefault = new Set<StructSpec>();
  private readonly needIsDefault = new Set<StructSpec>();
  private readonly imports = new Set<string>();
  private readonly typeImports = new Set<string>();
  /** Set when the function being generated uses the `flex` constant. */
  private usesFlex = false;

  constructor(private readonly msg: MessageSpec) {}

  generate(): string {
    const msg = this.msg;
    const body = new Code();
    this.emitMeta(body);
    for (const s of msg.structs) this.emitInterface(body, s);
    for (const s of msg.structs) {
      this.emitDecode(body, s);
      this.emitEncode(body, s);
    }
    // Helpers may pull in further helpers: iterate until stable, emit in a stable order.
    const helpers = new Code();
    for (;;) {
      const before = this.needDefault.size + this.needIsDefault.size;
      const scratch = new Code();
      for (const s of msg.structs) {
        if (this.needDefault.has(s)) this.emitDefault(scratch, s);
        if (this.needIsDefault.has(s)) this.emitIsDefault(scratch, s);
      }
      if (this.needDefault.size + this.needIsDefault.size === before) {
        helpers.lines.push(...scratch.lines);
        break;
      }
    }

    const head = new Code();
    head.line(`// Generated by wire/generator/generate.ts from Apache Kafka's ${msg.file} — do not edit.`);
    const values = ['DecodeError', ...[...this.imports].sort()];
    const types = ['Reader', 'Writer', ...[...this.typeImports].sort()].map((t) => `type ${t}`);
    head.line(`import { ${[...values, ...types].join(', ')} } from '../../primitives.js';`);
    return [...head.lines, ...body.lines, ...helpers.lines].join('\n') + '\n';
  }

  // ---- types ----

  private tsBaseType(t: FieldType): string {
    if (t.kind === 'array') return `${this.tsBaseType(t.element)}[]`;
    if (t.kind === 'struct') return t.struct.tsName;
    switch (t.name) {
      case 'bool':
        return 'boolean';
      case 'int64':
        return 'bigint';
      case 'string':
      case 'uuid':
        return 'string';
      case 'bytes':
        return 'Buffer';
      case 'records':
        this.typeImports.add('RecordParts');
        return 'Buffer | RecordParts';
      default:
        return 'number';
    }
  }

  private tsType(f: FieldSpec, ctx: Versions): string {
    const base = this.tsBaseType(f.type);
    return admitsNull(f, ctx) ? `${base} | null` : base;
  }

  private defaultExpr(f: FieldSpec): string {
    const t = f.type;
    if (defaultIsNull(f)) return 'null';
    if (t.kind === 'array') return '[]';
    if (t.kind === 'struct') {
      this.needDefault.add(t.struct);
      return `default${t.struct.tsName}()`;
    }
    switch (t.name) {
      case 'bool':
        return f.defaultString.toLowerCase() === 'true' ? 'true' : 'false';
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'uint32':
        return String(parseIntDefault(f.defaultString));
      case 'int64':
        return `${parseIntDefault(f.defaultString)}n`;
      case 'float64':
        return f.defaultString === '' ? '0' : String(Number(f.defaultString));
      case 'string':
        return quote(f.defaultString);
      case 'uuid':
        if (f.defaultString === '') {
          this.imports.add('ZERO_UUID');
          return 'ZERO_UUID';
        }
        return quote(f.defaultString);
      case 'bytes':
        this.imports.add('EMPTY_BUFFER');
        return 'EMPTY_BUFFER';
      case 'records':
        return 'null';
    }
  }

  /** `m.x`, or `m.x` with its default when the property is optional. */
  private valueExpr(obj: string, f: FieldSpec, ctx: Versions): string {
    const ref = `${obj}.${f.camel}`;
    if (isRequired(f, ctx)) return ref;
    const def = this.defaultExpr(f);
    if (!admitsNull(f, ctx)) return `${ref} ?? ${def}`;
    return def === 'null' ? `${ref} ?? null` : `${ref} === undefined ? ${def} : ${ref}`;
  }

  private emitMeta(c: Code): void {
    const msg = this.msg;
    c.line();
    c.open(`export const ${msg.name}Meta = {`);
    c.line(`apiKey: ${msg.apiKey ?? -1},`);
    c.line(`name: ${quote(msg.name)},`);
    c.line(`type: ${quote(msg.type)},`);
    c.line(`validVersions: [${msg.validVersions.lo}, ${msg.validVersions.hi}],`);
    c.line(`flexibleMinVersion: ${msg.flexibleVersions.empty ? -1 : msg.flexibleVersions.lo},`);
    c.close('} as const;');
  }

  private emitInterface(c: Code, s: StructSpec): void {
    c.line();
    if (s.isRoot) {
      c.line(`/** ${this.msg.name}, versions ${s.context}${this.msg.flexibleVersions.empty ? '' : `, flexible ${this.msg.flexibleVersions}`}. */`);
    }
    c.open(`export interface ${s.tsName} {`);
    for (const f of s.fields) {
      const notes: string[] = [];
      const present = f.versions.intersect(s.context);
      if (!f.versions.covers(s.context)) notes.push(present.empty ? 'not in any valid version' : `versions ${present}`);
      const nullable = f.nullableVersions.intersect(present);
      if (!nullable.empty) notes.push(`nullable ${nullable.covers(present) ? '' : nullable.toString()}`.trim());
      if (f.tag !== null) notes.push(`tag ${f.tag} in ${f.taggedVersions}`);
      if (f.defaultString !== '') notes.push(`default ${f.defaultString}`);
      const about = aboutComment(f.about);
      const doc = [about, notes.length > 0 ? `(${notes.join('; ')})` : ''].filter((x) => x !== '').join(' ');
      if (doc !== '') c.line(`/** ${doc} */`);
      c.line(`${f.camel}${isRequired(f, s.context) ? '' : '?'}: ${this.tsType(f, s.context)};`);
    }
    c.close();
  }

  // ---- decoding ----

  /** Condition for the `flex` encoding of field `f` within versions `P`. */
  private flexCond(f: FieldSpec, P: Versions): Cond {
    const flexible = fieldFlexibleVersions(this.msg, f);
    const c = versionCond(flexible, P);
    if (c === true || c === false) return c;
    if (f.flexibleVersions !== null) return c;
    this.usesFlex = true;
    return 'flex';
  }

  private stringMethod(kind: 'String' | 'Bytes', flex: boolean, nullable: boolean): string {
    if (flex) return `compact${nullable ? 'Nullable' : ''}${kind}`;
    return nullable ? `nullable${kind}` : kind.toLowerCase();
  }

  /** Expression reading a string/bytes/records value. */
  private readVarExpr(kind: 'String' | 'Bytes', flex: Cond, nullable: Cond): string {
    const call = (fl: boolean, nu: boolean) => `r.${this.stringMethod(kind, fl, nu)}()`;
    const byFlex = (nu: boolean) => pick(flex, call(true, nu), call(false, nu));
    if (nullable === true || nullable === false) return byFlex(nullable);
    return `${nullable} ? (${byFlex(true)}) : (${byFlex(false)})`;
  }

  /** Expression reading one array element (never null). */
  private readElementExpr(t: FieldType, flex: Cond): string {
    if (t.kind === 'struct') return `decode${t.struct.tsName}(r, version)`;
    if (t.kind === 'array') throw new Error('nested arrays are not supported');
    if (t.name === 'string') return this.readVarExpr('String', flex, false);
    if (t.name === 'bytes' || t.name === 'records') return this.readVarExpr('Bytes', flex, false);
    return READ_FIXED[t.name]!;
  }

  /**
   * Statements assigning field `f` read within versions `P` to `target`. Returns a single
   * expression when the read is one, otherwise writes statements to `c` and returns null.
   */
  private readField(c: Code | null, target: string, s: StructSpec, f: FieldSpec, P: Versions, tagged: boolean): string | null {
    const t = f.type;
    const flex = tagged ? true : this.flexCond(f, P);
    const nullable = versionCond(f.nullableVersions, P);
    const label = `${s.tsName}.${f.camel}`;
    if (t.kind === 'primitive') {
      if (t.name === 'string') return this.readVarExpr('String', flex, nullable);
      if (t.name === 'bytes' || t.name === 'records') return this.readVarExpr('Bytes', flex, nullable);
      return READ_FIXED[t.name]!;
    }
    if (t.kind === 'struct') {
      const dec = `decode${t.struct.tsName}(r, version)`;
      if (tagged) return nullable === false ? dec : `r.uvarint() === 0 ? null : ${dec}`;
      if (nullable === false) return dec;
      return `${nullable === true ? '' : `${nullable} && `}r.int8() < 0 ? null : ${dec}`;
    }
    // Arrays.
    if (c === null) return null;
    const el = t.element;
    const min = el.kind === 'primitive' ? (FIXED_SIZE[el.name] ?? 1) : 1;
    const minArg = min > 1 ? String(min) : '';
    c.line(`const n = ${pick(flex, `r.compactArrayLength(${minArg})`, `r.arrayLength(${minArg})`)};`);
    const elType = this.tsBaseType(el);
    const fill = () => {
      c.line(`const a: ${elType}[] = [];`);
      c.line(`for (let i = 0; i < n; i++) a.push(${this.readElementExpr(el, flex)});`);
      c.line(`${target} = a;`);
    };
    if (nullable === false) {
      c.line(`if (n < 0) throw new DecodeError(${quote(`${label}: null in a non-nullable array`)});`);
      fill();
      return null;
    }
    c.open('if (n < 0) {');
    if (nullable !== true) c.line(`if (${not(nullable)}) throw new DecodeError(${quote(`${label}: null in a non-nullable array`)});`);
    c.line(`${target} = null;`);
    c.mid('} else {');
    fill();
    c.close();
    return null;
  }

  private emitDecode(out: Code, s: StructSpec): void {
    const ctx = s.context;
    const fn = `decode${s.tsName}`;
    const c = new Code();
    this.usesFlex = false;
    c.open(`${s.isRoot ? 'export ' : ''}function ${fn}(r: Reader, version: number): ${s.tsName} {`);
    const preamble = c.lines.length;
    if (s.isRoot) {
      c.line(`if (version < ${ctx.lo} || version > ${ctx.hi}) throw new DecodeError(\`${s.tsName}: unsupported version \${version}\`);`);
    }
    const fields: Array<{ f: FieldSpec; value: string }> = [];
    const tagged: Array<{ f: FieldSpec; local: string; P: Versions }> = [];
    const used = new Set<string>();
    for (const f of s.fields) {
      const U = untaggedVersions(f, ctx);
      const T = taggedVersionsIn(f, ctx);
      if (U.empty && T.empty) {
        fields.push({ f, value: this.defaultExpr(f) });
        continue;
      }
      let local = f.camel;
      while (RESERVED.has(local) || used.has(local)) local += '_';
      used.add(local);
      fields.push({ f, value: local });
      const type = this.tsType(f, ctx);
      const cond = versionCond(U, ctx);
      if (cond === true && T.empty) {
        const expr = this.readField(null, local, s, f, U, false);
        if (expr !== null) {
          c.line(`const ${local} = ${expr};`);
        } else {
          c.line(`let ${local}: ${type};`);
          c.open('{');
          this.readField(c, local, s, f, U, false);
          c.close();
        }
      } else {
        c.line(`let ${local}: ${type} = ${this.defaultExpr(f)};`);
        if (cond !== false) {
          const expr = this.readField(null, local, s, f, U, false);
          if (expr !== null) {
            c.line(`if (${cond}) ${local} = ${expr};`);
          } else {
            c.open(`if (${cond}) {`);
            this.readField(c, local, s, f, U, false);
            c.close();
          }
        }
      }
      if (!T.empty) tagged.push({ f, local, P: T });
    }
    this.emitTaggedRead(c, s, tagged);
    const parts = fields.map(({ f, value }) => (value === f.camel ? f.camel : `${f.camel}: ${value}`));
    const oneLine = `return { ${parts.join(', ')} };`;
    if (oneLine.length <= 100) {
      c.line(oneLine);
    } else {
      c.open('return {');
      for (const p of parts) c.line(`${p},`);
      c.close('};');
    }
    c.close();
    if (this.usesFlex) {
      const flexible = this.msg.flexibleVersions;
      c.lines.splice(preamble + (s.isRoot ? 1 : 0), 0, `  const flex = version >= ${flexible.lo};`);
    }
    out.line();
    out.lines.push(...c.lines);
  }

  private emitTaggedRead(c: Code, s: StructSpec, tagged: Array<{ f: FieldSpec; local: string; P: Versions }>): void {
    const ctx = s.context;
    const flexible = versionCond(this.msg.flexibleVersions, ctx);
    if (flexible === false) return;
    const flexExpr = flexible === true ? true : (this.usesFlex = true, 'flex');
    if (tagged.length === 0) {
      if (flexExpr === true) c.line('r.skipTaggedFields();');
      else c.line('if (flex) r.skipTaggedFields();');
      return;
    }
    c.when(flexExpr, () => {
      c.line('const numTagged = r.uvarint();');
      c.open('for (let k = 0; k < numTagged; k++) {');
      c.line('const tag = r.uvarint();');
      c.line('const end = r.taggedFieldEnd(r.uvarint());');
      const sorted = [...tagged].sort((a, b) => a.f.tag! - b.f.tag!);
      sorted.forEach(({ f, local, P }, idx) => {
        const cond = and(`tag === ${f.tag}`, versionCond(P, ctx));
        if (idx === 0) c.open(`if (${cond}) {`);
        else c.mid(`} else if (${cond}) {`);
        const expr = this.readField(c, local, s, f, P, true);
        if (expr !== null) c.line(`${local} = ${expr};`);
        c.line('r.endTaggedField(end);');
      });
      c.mid('} else {');
      c.line('r.offset = end;');
      c.close();
      c.close();
    });
  }

  // ---- encoding ----

  /** Statements writing value expression `v` (a local) of field `f` within versions `P`. */
  private writeField(c: Code, v: string, s: StructSpec, f: FieldSpec, P: Versions, tagged: boolean): void {
    const t = f.type;
    const ctx = s.context;
    const flex = tagged ? true : this.flexCond(f, P);
    const nullable = versionCond(f.nullableVersions, P);
    const mayBeNull = admitsNull(f, ctx);
    const label = `${s.tsName}.${f.camel}`;
    const nullError = `new Error(\`${label}: null is not allowed in version \${version}\`)`;
    /** Statement rejecting null where the version does not allow it. */
    const nullCheck = () => {
      if (!mayBeNull || nullable === true) return;
      if (nullable === false) c.line(`if (${v} === null) throw ${nullError};`);
      else c.line(`if (${v} === null && ${not(nullable)}) throw ${nullError};`);
    };
    /** The same, inside an `if (v === null)` branch. */
    const nullBranchCheck = () => {
      if (nullable === false) c.line(`throw ${nullError};`);
      else if (nullable !== true) c.line(`if (${not(nullable)}) throw ${nullError};`);
    };
    const byFlex = (yes: string, no: string) => {
      if (flex === true) c.line(yes);
      else if (flex === false) c.line(no);
      else {
        c.line(`if (${flex}) ${yes}`);
        c.line(`else ${no}`);
      }
    };
    if (t.kind === 'primitive') {
      const fixed = WRITE_FIXED[t.name];
      if (fixed !== undefined) {
        c.line(`w.${fixed}(${v});`);
        return;
      }
      const kind = t.name === 'string' ? 'String' : 'Bytes';
      nullCheck();
      const nu = mayBeNull && nullable !== false;
      byFlex(`w.${this.stringMethod(kind, true, nu)}(${v});`, `w.${this.stringMethod(kind, false, nu)}(${v});`);
      return;
    }
    if (t.kind === 'struct') {
      const enc = `encode${t.struct.tsName}(w, version, ${v});`;
      if (!mayBeNull) {
        c.line(enc);
        return;
      }
      if (tagged) {
        c.open(`if (${v} === null) {`);
        c.line('w.uvarint(0);');
        c.mid('} else {');
        c.line('w.uvarint(1);');
        c.line(enc);
        c.close();
        return;
      }
      c.open(`if (${v} === null) {`);
      nullBranchCheck();
      if (nullable !== false) c.line('w.int8(-1);');
      c.mid('} else {');
      if (nullable === true) c.line('w.int8(1);');
      else if (nullable !== false) c.line(`if (${nullable}) w.int8(1);`);
      c.line(enc);
      c.close();
      return;
    }
    const el = t.element;
    const writeElements = () => {
      let elWrite: string;
      if (el.kind === 'struct') {
        elWrite = `encode${el.struct.tsName}(w, version, e);`;
        c.line(`for (const e of ${v}) ${elWrite}`);
        return;
      }
      if (el.kind === 'array') throw new Error('nested arrays are not supported');
      const fixed = WRITE_FIXED[el.name];
      if (fixed !== undefined) {
        c.line(`for (const e of ${v}) w.${fixed}(e);`);
        return;
      }
      const kind = el.name === 'string' ? 'String' : 'Bytes';
      if (flex === true || flex === false) {
        c.line(`for (const e of ${v}) w.${this.stringMethod(kind, flex, false)}(e);`);
      } else {
        c.open(`for (const e of ${v}) {`);
        c.line(`if (${flex}) w.${this.stringMethod(kind, true, false)}(e);`);
        c.line(`else w.${this.stringMethod(kind, false, false)}(e);`);
        c.close();
      }
    };
    if (!mayBeNull) {
      byFlex(`w.compactArrayLength(${v}.length);`, `w.arrayLength(${v}.length);`);
      writeElements();
      return;
    }
    c.open(`if (${v} === null) {`);
    nullBranchCheck();
    if (nullable !== false) byFlex('w.compactArrayLength(-1);', 'w.arrayLength(-1);');
    c.mid('} else {');
    byFlex(`w.compactArrayLength(${v}.length);`, `w.arrayLength(${v}.length);`);
    writeElements();
    c.close();
  }

  /** Whether writing the field within versions `P` uses its value more than once (so it gets a local). */
  private needsLocal(f: FieldSpec, ctx: Versions, P: Versions): boolean {
    const t = f.type;
    if (t.kind === 'array') return true;
    if (t.kind === 'struct') return admitsNull(f, ctx);
    if (t.name === 'string' || t.name === 'bytes' || t.name === 'records') {
      return admitsNull(f, ctx) && versionCond(f.nullableVersions, P) !== true;
    }
    return false;
  }

  /** The "differs from the default" test Kafka applies before writing a tagged field. */
  private nonDefaultCond(v: string, f: FieldSpec, ctx: Versions): string {
    const t = f.type;
    const nullDefault = defaultIsNull(f);
    const mayBeNull = admitsNull(f, ctx);
    if (t.kind === 'array' || (t.kind === 'primitive' && t.name === 'bytes')) {
      if (nullDefault) return `${v} !== null`;
      return mayBeNull ? `(${v} === null || ${v}.length !== 0)` : `${v}.length !== 0`;
    }
    if (t.kind === 'struct') {
      if (nullDefault) return `${v} !== null`;
      this.needIsDefault.add(t.struct);
      return mayBeNull ? `(${v} === null || !isDefault${t.struct.tsName}(${v}))` : `!isDefault${t.struct.tsName}(${v})`;
    }
    return `${v} !== ${this.defaultExpr(f)}`;
  }

  private emitEncode(out: Code, s: StructSpec): void {
    const ctx = s.context;
    const c = new Code();
    this.usesFlex = false;
    c.open(`${s.isRoot ? 'export ' : ''}function encode${s.tsName}(w: Writer, version: number, m: ${s.tsName}): void {`);
    const preamble = c.lines.length;
    if (s.isRoot) {
      c.line(`if (version < ${ctx.lo} || version > ${ctx.hi}) throw new Error(\`${s.tsName}: unsupported version \${version}\`);`);
    }
    const tagged: Array<{ f: FieldSpec; P: Versions }> = [];
    for (const f of s.fields) {
      const U = untaggedVersions(f, ctx);
      const T = taggedVersionsIn(f, ctx);
      if (!T.empty) tagged.push({ f, P: T });
      const cond = versionCond(U, ctx);
      if (cond === false) continue;
      c.when(cond, () => {
        const value = this.valueExpr('m', f, ctx);
        if (this.needsLocal(f, ctx, U)) {
          const wrap = cond === true;
          if (wrap) c.open('{');
          c.line(`const v = ${value};`);
          this.writeField(c, 'v', s, f, U, false);
          if (wrap) c.close();
        } else {
          this.writeField(c, value, s, f, U, false);
        }
      });
    }
    this.emitTaggedWrite(c, s, tagged);
    c.close();
    if (this.usesFlex) {
      c.lines.splice(preamble + (s.isRoot ? 1 : 0), 0, `  const flex = version >= ${this.msg.flexibleVersions.lo};`);
    }
    out.line();
    out.lines.push(...c.lines);
  }

  private emitTaggedWrite(c: Code, s: StructSpec, tagged: Array<{ f: FieldSpec; P: Versions }>): void {
    const ctx = s.context;
    const flexible = versionCond(this.msg.flexibleVersions, ctx);
    if (flexible === false) return;
    const flexExpr: Cond = flexible === true ? true : (this.usesFlex = true, 'flex');
    if (tagged.length === 0) {
      if (flexExpr === true) c.line('w.emptyTaggedFields();');
      else c.line('if (flex) w.emptyTaggedFields();');
      return;
    }
    const sorted = [...tagged].sort((a, b) => a.f.tag! - b.f.tag!);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.f.tag === sorted[i - 1]!.f.tag) throw new Error(`${s.tsName}: duplicate tag ${sorted[i]!.f.tag}`);
    }
    c.when(flexExpr, () => {
      // A missing (undefined) tagged field has its default value, which is not written.
      sorted.forEach(({ f, P }, idx) => {
        c.line(`const t${idx} = m.${f.camel};`);
        const present = isRequired(f, ctx) ? true : `t${idx} !== undefined`;
        c.line(`const has${idx} = ${and(and(versionCond(P, ctx), present), this.nonDefaultCond(`t${idx}`, f, ctx))};`);
      });
      c.line(`w.uvarint(${sorted.length === 1 ? 'has0 ? 1 : 0' : sorted.map((_, idx) => `(has${idx} ? 1 : 0)`).join(' + ')});`);
      sorted.forEach(({ f, P }, idx) => {
        c.open(`if (has${idx}) {`);
        c.line(`const p = w.startTaggedField(${f.tag});`);
        this.writeField(c, `t${idx}`, s, f, P, true);
        c.line('w.endTaggedField(p);');
        c.close();
      });
    });
  }

  // ---- helpers ----

  private emitDefault(c: Code, s: StructSpec): void {
    c.line();
    c.open(`function default${s.tsName}(): ${s.tsName} {`);
    const parts = s.fields.map((f) => `${f.camel}: ${this.defaultExpr(f)}`);
    const oneLine = `return { ${parts.join(', ')} };`;
    if (oneLine.length <= 100) c.line(oneLine);
    else {
      c.open('return {');
      for (const p of parts) c.line(`${p},`);
      c.close('};');
    }
    c.close();
  }

  private emitIsDefault(c: Code, s: StructSpec): void {
    const ctx = s.context;
    c.line();
    c.open(`function isDefault${s.tsName}(s: ${s.tsName}): boolean {`);
    const conds = s.fields.map((f) => {
      const ref = `s.${f.camel}`;
      const t = f.type;
      let isDef: string;
      if (defaultIsNull(f)) {
        isDef = `${ref} === null`;
      } else if (t.kind === 'array' || (t.kind === 'primitive' && t.name === 'bytes')) {
        isDef = admitsNull(f, ctx) ? `(${ref} !== null && ${ref}.length === 0)` : `${ref}.length === 0`;
      } else if (t.kind === 'struct') {
        this.needIsDefault.add(t.struct);
        isDef = admitsNull(f, ctx) ? `(${ref} !== null && isDefault${t.struct.tsName}(${ref}))` : `isDefault${t.struct.tsName}(${ref})`;
      } else {
        isDef = `${ref} === ${this.defaultExpr(f)}`;
      }
      return isRequired(f, ctx) ? isDef : `(${ref} === undefined || ${isDef})`;
    });
    if (conds.length === 0) {
      c.line('return true;');
    } else {
      c.line(`return ${conds[0]}${conds.length === 1 ? ';' : ''}`);
      for (let i = 1; i < conds.length; i++) c.line(`  && ${conds[i]}${i === conds.length - 1 ? ';' : ''}`);
    }
    c.close();
  }
}

/** The TypeScript module for one message definition. */
export function generateMessageModule(msg: MessageSpec): string {
  return new MessageGenerator(msg).generate();
}
