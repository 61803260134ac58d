// Minimal reader of a Wasm binary's type/import/function/export sections, so the harness can check
// import and export signatures the way Envoy's V8 integration does (WebAssembly.Module's JS API
// exposes names and kinds only).

export interface FuncImport {
  module: string;
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  /** "params:results" with i/I/f/F/v/r (i32/i64/f32/f64/v128/ref), only for functions. */
  sig?: string;
}

export interface ModuleExport {
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  sig?: string;
}

export interface ModuleInfo {
  imports: FuncImport[];
  exports: ModuleExport[];
  hasStartSection: boolean;
}

const KIND = ['function', 'table', 'memory', 'global', 'tag'] as const;

function valType(b: number): string {
  switch (b) {
    case 0x7f: return 'i';
    case 0x7e: return 'I';
    case 0x7d: return 'f';
    case 0x7c: return 'F';
    case 0x7b: return 'v';
    default: return 'r';
  }
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  u8(): number {
    if (this.pos >= this.buf.length) throw new Error('unexpected end of wasm binary');
    return this.buf[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 35) throw new Error('bad LEB128');
    }
    return result >>> 0;
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new Error('unexpected end of wasm binary');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(): string {
    return new TextDecoder().decode(this.bytes(this.u32()));
  }
  limits(): void {
    const flag = this.u8();
    this.u32();
    if (flag & 0x01) this.u32();
  }
}

export function readModuleInfo(bytes: Uint8Array): ModuleInfo {
  const r = new Reader(bytes);
  const magic = r.bytes(4);
  if (magic[0] !== 0 || magic[1] !== 0x61 || magic[2] !== 0x73 || magic[3] !== 0x6d) {
    throw new Error('not a wasm binary');
  }
  r.bytes(4); // version
  const types: string[] = [];
  const imports: FuncImport[] = [];
  const funcTypes: number[] = []; // function index space -> type index
  const exportsRaw: { name: string; kind: number; index: number }[] = [];
  let hasStartSection = false;
  while (r.pos < bytes.length) {
    const id = r.u8();
    const size = r.u32();
    const end = r.pos + size;
    if (id === 1) {
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const form = r.u8();
        if (form !== 0x60) throw new Error(`unsupported type form 0x${form.toString(16)}`);
        const np = r.u32();
        let p = '';
        for (let j = 0; j < np; j++) p += valType(r.u8());
        const nr = r.u32();
        let res = '';
        for (let j = 0; j < nr; j++) res += valType(r.u8());
        types.push(`${p}:${res}`);
      }
    } else if (id === 2) {
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const module = r.name();
        const name = r.name();
        const kind = r.u8();
        if (kind === 0) {
          const t = r.u32();
          funcTypes.push(t);
          imports.push({ module, name, kind: 'function', sig: types[t] });
        } else if (kind === 1) {
          r.u8();
          r.limits();
          imports.push({ module, name, kind: 'table' });
        } else if (kind === 2) {
          r.limits();
          imports.push({ module, name, kind: 'memory' });
        } else if (kind === 3) {
          r.u8();
          r.u8();
          imports.push({ module, name, kind: 'global' });
        } else if (kind === 4) {
          r.u8();
          r.u32();
          imports.push({ module, name, kind: 'tag' });
        } else {
          throw new Error(`unknown import kind ${kind}`);
        }
      }
    } else if (id === 3) {
      const n = r.u32();
      for (let i = 0; i < n; i++) funcTypes.push(r.u32());
    } else if (id === 7) {
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const name = r.name();
        const kind = r.u8();
        const index = r.u32();
        exportsRaw.push({ name, kind, index });
      }
    } else if (id === 8) {
      hasStartSection = true;
    }
    r.pos = end;
  }
  const exports: ModuleExport[] = exportsRaw.map((e) => {
    const kind = KIND[e.kind] ?? 'function';
    const out: ModuleExport = { name: e.name, kind };
    if (e.kind === 0) {
      const t = funcTypes[e.index];
      if (t !== undefined) out.sig = types[t];
    }
    return out;
  });
  return { imports, exports, hasStartSection };
}
