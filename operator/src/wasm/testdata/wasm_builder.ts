// A tiny Wasm binary writer for the harness's own tests: lets them build small proxy-wasm modules
// (a trapping callback, a forbidden import, a wrong signature) without a compiler.

export const op = {
  unreachable: 0x00,
  nop: 0x01,
  end: 0x0b,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  localGet: 0x20,
  localSet: 0x21,
  globalGet: 0x23,
  globalSet: 0x24,
  i32Load: 0x28,
  i32Store: 0x36,
  i32Const: 0x41,
  i32Add: 0x6a,
  i32Eqz: 0x45,
  if: 0x04,
  else: 0x05,
  block: 0x02,
  br: 0x0c,
  brIf: 0x0d,
} as const;

export function uleb(n: number): number[] {
  const out: number[] = [];
  n >>>= 0;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const enc = new TextEncoder();
function name(s: string): number[] {
  const b = [...enc.encode(s)];
  return [...uleb(b.length), ...b];
}
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}
function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}
function valtype(c: string): number {
  switch (c) {
    case 'i': return 0x7f;
    case 'I': return 0x7e;
    case 'f': return 0x7d;
    case 'F': return 0x7c;
    default: throw new Error(`bad val type ${c}`);
  }
}

export interface BuiltFunction {
  /** Export name (optional for internal functions). */
  export?: string;
  sig: string; // "ii:i"
  locals?: string; // e.g. "ii" for two extra i32 locals
  /** Body instructions without the final `end`. */
  body: number[];
}

export interface ModuleSpec {
  imports?: { module: string; name: string; sig: string }[];
  functions: BuiltFunction[];
  memoryPages?: number;
  /** Data segments at fixed offsets. */
  data?: { offset: number; bytes: Uint8Array | string }[];
  /** Mutable i32 globals (initial values). Global 0 is conventionally the heap pointer. */
  globals?: number[];
}

/** Index of import `i` / function `j` in the function index space (imports first). */
export function funcIndex(spec: ModuleSpec, exportOrImportName: string): number {
  const imps = spec.imports ?? [];
  const ii = imps.findIndex((i) => i.name === exportOrImportName);
  if (ii >= 0) return ii;
  const fi = spec.functions.findIndex((f) => f.export === exportOrImportName);
  if (fi >= 0) return imps.length + fi;
  throw new Error(`no function ${exportOrImportName}`);
}

export function buildModule(spec: ModuleSpec): Uint8Array {
  const types: string[] = [];
  const typeIdx = (sig: string) => {
    let i = types.indexOf(sig);
    if (i < 0) {
      types.push(sig);
      i = types.length - 1;
    }
    return i;
  };
  const imports = spec.imports ?? [];
  const importEntries = imports.map((im) => [...name(im.module), ...name(im.name), 0x00, ...uleb(typeIdx(im.sig))]);
  const funcTypeIdx = spec.functions.map((f) => typeIdx(f.sig));
  const typeEntries = types.map((sig) => {
    const [p = '', r = ''] = sig.split(':');
    return [0x60, ...vec([...p].map((c) => [valtype(c)])), ...vec([...r].map((c) => [valtype(c)]))];
  });
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  out.push(...section(1, vec(typeEntries)));
  if (importEntries.length) out.push(...section(2, vec(importEntries)));
  out.push(...section(3, vec(funcTypeIdx.map((t) => uleb(t)))));
  out.push(...section(5, vec([[0x00, ...uleb(spec.memoryPages ?? 2)]])));
  const globals = spec.globals ?? [];
  if (globals.length) {
    out.push(...section(6, vec(globals.map((g) => [0x7f, 0x01, op.i32Const, ...sleb(g), op.end]))));
  }
  const exportsList: number[][] = [[...name('memory'), 0x02, 0x00]];
  spec.functions.forEach((f, i) => {
    if (f.export) exportsList.push([...name(f.export), 0x00, ...uleb(imports.length + i)]);
  });
  out.push(...section(7, vec(exportsList)));
  const bodies = spec.functions.map((f) => {
    const locals = f.locals ? [...f.locals].map((c) => [0x01, valtype(c)]) : [];
    const body = [...vec(locals), ...f.body, op.end];
    return [...uleb(body.length), ...body];
  });
  out.push(...section(10, vec(bodies)));
  if (spec.data?.length) {
    const segs = spec.data.map((d) => {
      const bytes = typeof d.bytes === 'string' ? [...enc.encode(d.bytes)] : [...d.bytes];
      return [0x00, op.i32Const, ...sleb(d.offset), op.end, ...uleb(bytes.length), ...bytes];
    });
    out.push(...section(11, vec(segs)));
  }
  return new Uint8Array(out);
}

/** A bump allocator body for proxy_on_memory_allocate(size) using global 0 as the heap pointer. */
export const bumpAllocatorBody: number[] = [
  op.globalGet, 0,
  op.globalGet, 0,
  op.localGet, 0,
  op.i32Add,
  op.globalSet, 0,
];
