// What both in-process hosts of the filter (validate's config check, `llmguard test`) give the
// module besides proxy-wasm: the WASI calls the AssemblyScript WASI shim makes, and the linking
// of every import the module asks for.
import { randomFillSync } from 'node:crypto';

export const WASI_SUCCESS = 0;
export const WASI_EBADF = 8;
export const WASI_ENOSYS = 52;
/** proxy-wasm's answer for a host function we don't provide. */
export const PROXY_UNIMPLEMENTED = 12;

export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`the module called proc_exit(${code})`);
  }
}

/** Access to the guest's linear memory. */
export interface GuestMemory {
  view(): DataView;
  bytes(ptr: number, len: number): Uint8Array;
  text(ptr: number, len: number): string;
}

type HostFunction = (...args: never[]) => number | void;

/** WASI for the module: stdout/stderr into `stdio` (by fd), the given environment, clock, randomness. */
export function wasiImports(mem: GuestMemory, envEntries: () => Uint8Array[], stdio: Map<number, string>): Record<string, HostFunction> {
  return {
    fd_write: (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) => {
      if (fd !== 1 && fd !== 2) return WASI_EBADF;
      const v = mem.view();
      let total = 0;
      let out = '';
      for (let i = 0; i < iovsLen; i++) {
        const ptr = v.getUint32(iovs + i * 8, true);
        const len = v.getUint32(iovs + i * 8 + 4, true);
        out += mem.text(ptr, len);
        total += len;
      }
      stdio.set(fd, (stdio.get(fd) ?? '') + out);
      mem.view().setUint32(nwrittenPtr, total, true);
      return WASI_SUCCESS;
    },
    proc_exit: (code: number) => {
      throw new ProcExit(code);
    },
    environ_sizes_get: (countPtr: number, sizePtr: number) => {
      const entries = envEntries();
      const v = mem.view();
      v.setUint32(countPtr, entries.length, true);
      v.setUint32(sizePtr, entries.reduce((n, e) => n + e.length, 0), true);
      return WASI_SUCCESS;
    },
    environ_get: (environPtr: number, bufPtr: number) => {
      let at = bufPtr;
      envEntries().forEach((e, i) => {
        mem.view().setUint32(environPtr + i * 4, at, true);
        mem.bytes(at, e.length).set(e);
        at += e.length;
      });
      return WASI_SUCCESS;
    },
    args_sizes_get: (countPtr: number, sizePtr: number) => {
      mem.view().setUint32(countPtr, 0, true);
      mem.view().setUint32(sizePtr, 0, true);
      return WASI_SUCCESS;
    },
    args_get: () => WASI_SUCCESS,
    clock_time_get: (_id: number, _precision: bigint, timePtr: number) => {
      mem.view().setBigUint64(timePtr, BigInt(Date.now()) * 1_000_000n, true);
      return WASI_SUCCESS;
    },
    random_get: (ptr: number, len: number) => {
      randomFillSync(mem.bytes(ptr, len));
      return WASI_SUCCESS;
    },
  };
}

/** Links every function the module imports: `env` from `proxy`, WASI from `wasi`; others refuse to load. */
export function linkImports(
  module: WebAssembly.Module,
  proxy: Record<string, unknown>,
  wasi: Record<string, HostFunction>,
): Record<string, Record<string, WebAssembly.ImportValue>> {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') throw new Error(`unsupported import ${imp.module}.${imp.name} (${imp.kind})`);
    let fn: WebAssembly.ImportValue;
    if (imp.module === 'env') fn = (proxy[imp.name] as WebAssembly.ImportValue | undefined) ?? (() => PROXY_UNIMPLEMENTED);
    else if (imp.module === 'wasi_snapshot_preview1') fn = (wasi[imp.name] as WebAssembly.ImportValue | undefined) ?? (() => WASI_ENOSYS);
    else throw new Error(`unsupported import module ${imp.module} (${imp.name})`);
    (imports[imp.module] ??= {})[imp.name] = fn;
  }
  return imports;
}
