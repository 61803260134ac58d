// The filter module as both in-process hosts (validate's config check, `llmguard test`) see it:
// its memory, the bytes they hand it, and what it logs through proxy_log or WASI stdout/stderr.
import { linkImports, wasiImports, type GuestMemory } from './wasi.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'critical'] as const;

export interface FilterLog {
  level: (typeof LOG_LEVELS)[number];
  message: string;
}

/** The exports every proxy-wasm module has that the memory helpers need. */
export interface GuestExports {
  memory: WebAssembly.Memory;
  proxy_on_memory_allocate: (size: number) => number;
}

export class Guest implements GuestMemory {
  /** Set once the module is instantiated. */
  exports: GuestExports | null = null;
  logs: FilterLog[] = [];
  private readonly stdio = new Map<number, string>();
  private readonly decoder = new TextDecoder();
  private readonly encoder = new TextEncoder();

  constructor(private readonly env: Record<string, string>) {}

  private memory(): ArrayBuffer {
    if (!this.exports) throw new Error('the module is not instantiated yet');
    return this.exports.memory.buffer;
  }

  view(): DataView {
    return new DataView(this.memory());
  }

  bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.memory(), ptr, len);
  }

  text(ptr: number, len: number): string {
    return this.decoder.decode(this.bytes(ptr, len));
  }

  /** Copies bytes into memory the module allocates, as Envoy does for returned buffers. */
  give(data: Uint8Array, retPtrPtr: number, retLenPtr: number): void {
    const ptr = data.length > 0 ? this.exports!.proxy_on_memory_allocate(data.length) >>> 0 : 0;
    if (data.length > 0) this.bytes(ptr, data.length).set(data);
    const v = this.view();
    v.setUint32(retPtrPtr, ptr, true);
    v.setUint32(retLenPtr, data.length, true);
  }

  log(levelIndex: number, message: string): void {
    this.logs.push({ level: LOG_LEVELS[Math.min(Math.max(levelIndex, 0), 5)] ?? 'info', message });
  }

  /** Moves what the module wrote to stdout (info) and stderr (error) into the logs, a line each. */
  flushStdio(): void {
    for (const [fd, text] of this.stdio) {
      for (const line of text.split('\n')) if (line.trim()) this.log(fd === 2 ? 4 : 2, line);
    }
    this.stdio.clear();
  }

  /** Links the module's imports: `proxy` for env.proxy_*, WASI with this guest's environment. */
  link(module: WebAssembly.Module, proxy: Record<string, unknown>): WebAssembly.Imports {
    const entries = () => Object.entries(this.env).map(([k, v]) => this.encoder.encode(`${k}=${v}\0`));
    return linkImports(module, proxy, wasiImports(this, entries, this.stdio));
  }
}
