// FilterHost: loads the real compiled filter with WebAssembly.instantiate and plays Envoy around it
// (load-time checks, VM start, root context, streams, http callouts, ticks, metrics, fail-closed).

import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ABI_VERSION_EXPORTS,
  ALLOWED_DURING_MALLOC,
  ALLOWED_DURING_START,
  BufferType,
  ENV_ABI_010_ONLY,
  ENV_HOST_FUNCTIONS,
  EXPORT_SIGNATURES,
  LogLevel,
  MapType,
  MetricType,
  WASI_FUNCTIONS,
  WASI_MODULES,
  WasmResult,
  WasmResultName,
} from './abi.js';
import { makeProxyImports, type AbiContext, type AbiHost, type BufferAccess } from './abi_imports.js';
import { HeaderMap, toPairs, type HeaderPair, type HeadersInit } from './header_map.js';
import { GuestMemory, decodeUtf8, toBytes } from './memory.js';
import { SharedState } from './shared_state.js';
import { HttpStream, type BodyInit, type HostAction, type ResponseSpec, type StreamHost } from './stream.js';
import { makeWasiImports } from './wasi.js';
import { defaultWasmPath, WasmModuleNotFoundError } from './module_path.js';
import { readModuleInfo, type ModuleInfo } from './wasm_module.js';

export type PropertyValue = string | number | bigint | boolean | Uint8Array;

export interface FilterHostOptions {
  /** Path of the .wasm (default: defaultWasmPath(), i.e. $LLMGUARD_WASM or build/llm_guard.wasm). */
  wasmPath?: string;
  /** Or the module bytes directly. */
  wasmBytes?: Uint8Array;
  /** The WasmPlugin pluginConfig: an object is JSON-encoded, a string is passed as is (buffer type 7). */
  pluginConfig?: unknown;
  /** vm_config.configuration (buffer type 6). */
  vmConfig?: string | Uint8Array;
  /** root_id (WasmPlugin pluginName). Default ''. */
  rootId?: string;
  /** PluginConfig.name (`<ns>.<name>` under Istio). */
  pluginName?: string;
  vmId?: string;
  /** Environment variables of the VM (vmConfig.env), read with WASI environ_get. */
  env?: Record<string, string>;
  /** Clusters that exist for proxy_http_call, e.g. `outbound|443||guard.example.com`. */
  clusters?: string[];
  /** Extra properties, keyed by dotted or NUL-joined path, e.g. `xds.cluster_name`. */
  properties?: Record<string, PropertyValue>;
  /** Level reported by proxy_get_log_level (all messages are recorded whatever the level). */
  logLevel?: keyof typeof LogLevel | number;
  failurePolicy?: 'FAIL_CLOSED' | 'FAIL_OPEN';
  /** per_connection_buffer_limit_bytes (default 1 MiB): buffering more gets 413 from Envoy. */
  bufferLimitBytes?: number;
  /** Shared data / queues, to model several workers sharing one process. */
  shared?: SharedState;
  /** 'manual': time only moves with advanceTime(). */
  clock?: 'real' | 'manual';
  /** Print every log line to the console as well. */
  echoLogs?: boolean;
  /** Cap on stored log records (oldest dropped). Default 200,000. */
  maxLogRecords?: number;
  /** Keep the list of callbacks each stream received (stream.events). Default true. */
  recordEvents?: boolean;
  /**
   * A filter the response passes after the plugin holds a JSON reply's headers until its body
   * ended, as the operator's Lua response hold does (render/hold_filter.ts): a local reply the
   * plugin sends from the response body then still reaches the client, with its own status.
   */
  holdJsonReplies?: boolean;
}

export interface RequestSpec {
  headers: HeadersInit;
  /** Whole body (sent as one chunk unless chunkSize/chunks). Undefined or '' = no body. */
  body?: BodyInit;
  /** Body as explicit chunks. */
  chunks?: BodyInit[];
  /** Split `body` into chunks of this many bytes. */
  chunkSize?: number;
  trailers?: HeadersInit;
  /**
   * What the upstream answers once the whole request reached it: default a 200 JSON chat completion;
   * `false` = no response, the client goes away (the stream is torn down: on_log, on_done, on_delete).
   */
  response?: ResponseSpec | false;
}

export interface LogRecord {
  level: number;
  message: string;
  contextId: number;
  source: 'proxy_log' | 'stdout' | 'stderr' | 'host';
}

export interface TrapRecord {
  callback: string;
  contextId: number;
  error: unknown;
  message: string;
  /** The exception came from the harness itself (a harness bug), not from the module. */
  harnessBug: boolean;
}

export interface HttpCallRecord {
  token: number;
  cluster: string;
  headers: HeaderPair[];
  body: Uint8Array;
  bodyText: string;
  trailers: HeaderPair[];
  timeoutMs: number;
  /** Context whose callback made the call (stream id, or the root id). */
  callerContextId: number;
  state: 'pending' | 'answered' | 'failed' | 'timeout';
  issuedAtNs: bigint;
  header(name: string): string | undefined;
}

export class WasmLoadError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'WasmLoadError';
  }
}

class HarnessError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'HarnessError';
  }
}

const EMPTY = new Uint8Array(0);
const moduleCache = new Map<string, { mtimeMs: number; module: WebAssembly.Module; info: ModuleInfo; bytes: Uint8Array }>();

function compile(opts: FilterHostOptions): { module: WebAssembly.Module; info: ModuleInfo; bytes: Uint8Array } {
  if (opts.wasmBytes) {
    const bytes = opts.wasmBytes;
    let info: ModuleInfo;
    try {
      info = readModuleInfo(bytes);
    } catch (e) {
      throw new WasmLoadError(`Failed to parse corrupted Wasm module: ${(e as Error).message}`, e);
    }
    try {
      return { module: new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), info, bytes };
    } catch (e) {
      throw new WasmLoadError(`Failed to load Wasm bytecode: ${(e as Error).message}`, e);
    }
  }
  const path = resolve(opts.wasmPath ?? defaultWasmPath());
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new WasmModuleNotFoundError([path]);
    throw new WasmLoadError(`cannot read ${path}: ${(e as Error).message}`, e);
  }
  const hit = moduleCache.get(path);
  if (hit && hit.mtimeMs === mtimeMs) return hit;
  const bytes = new Uint8Array(readFileSync(path));
  const c = compile({ wasmBytes: bytes });
  moduleCache.set(path, { mtimeMs, ...c });
  return c;
}

function propertyBytes(v: PropertyValue): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return toBytes(v);
  if (typeof v === 'boolean') return new Uint8Array([v ? 1 : 0]);
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(v), true);
  return b;
}

/** Context 0: what `_initialize` and the allocator run under. */
class VmContext implements AbiContext {
  readonly id = 0;
  readonly isRoot = false;
  readonly isStream = false;
  readonly accessLogPhase = false;
  status = { code: 0, message: '' };
  constructor(private readonly host: FilterHost) {}
  rootContext(): AbiContext {
    return this;
  }
  getBuffer(type: number): BufferAccess | null {
    if (type === BufferType.VmConfiguration) return { bytes: () => this.host.vmConfigBytes };
    if (type === BufferType.PluginConfiguration || type === BufferType.HttpCallResponseBody) return null;
    return { bytes: () => EMPTY };
  }
  getConstMap(): HeaderMap | null {
    return null;
  }
  getMap(): HeaderMap | null {
    return null;
  }
  onHeadersModified(): void {}
  getProperty(path: string): Uint8Array | null {
    return this.host.pluginProperty(path) ?? this.host.propertyFromOptions(path);
  }
  setProperty(): number {
    return WasmResult.NotFound;
  }
}

class RootContext implements AbiContext {
  readonly isRoot = true;
  readonly isStream = false;
  readonly accessLogPhase = false;
  status = { code: 0, message: '' };
  /** temp_plugin_: the plugin configuration is readable during on_context_create / on_configure. */
  pluginConfigReadable = false;
  httpCallResponse: { headers: HeaderMap; body: Uint8Array; trailers: HeaderMap } | null = null;
  constructor(
    readonly id: number,
    private readonly host: FilterHost,
  ) {}
  rootContext(): AbiContext {
    return this;
  }
  getBuffer(type: number): BufferAccess | null {
    switch (type) {
      case BufferType.VmConfiguration:
        return { bytes: () => this.host.vmConfigBytes };
      case BufferType.PluginConfiguration:
        return this.pluginConfigReadable ? { bytes: () => this.host.pluginConfigBytes } : null;
      case BufferType.HttpCallResponseBody: {
        const r = this.httpCallResponse;
        return r ? { bytes: () => r.body } : null;
      }
      default:
        return { bytes: () => EMPTY };
    }
  }
  getConstMap(type: number): HeaderMap | null {
    const r = this.httpCallResponse;
    if (!r) return null;
    if (type === MapType.HttpCallResponseHeaders) return r.headers;
    if (type === MapType.HttpCallResponseTrailers) return r.trailers;
    return null;
  }
  getMap(): HeaderMap | null {
    return null;
  }
  onHeadersModified(): void {}
  getProperty(path: string): Uint8Array | null {
    const parts = path.split('\0');
    if (parts.length === 1) {
      const p = this.host.pluginProperty(parts[0]!);
      if (p) return p;
    }
    return this.host.propertyFromOptions(path);
  }
  setProperty(): number {
    // No stream info on a root context.
    return WasmResult.NotFound;
  }
}

type Exports = Record<string, (...args: number[]) => number | undefined>;

interface Metric {
  type: number;
  name: string;
}

/**
 * What cpp-host takes a callback the module doesn't export to have returned: it skips the call, and
 * a missing proxy_on_done means done. Every other callback's default is 0 (Continue, or nothing).
 */
const MISSING_EXPORT_RESULTS: Record<string, number> = { proxy_on_done: 1 };

export class FilterHost implements StreamHost {
  readonly info: ModuleInfo;
  readonly options: FilterHostOptions;
  readonly rootId: string;
  readonly vmId: string;
  readonly pluginName: string;
  readonly shared: SharedState;
  readonly failOpen: boolean;
  readonly bufferLimitBytes: number;
  readonly recordEvents: boolean;
  readonly holdJsonReplies: boolean;
  readonly vmConfigBytes: Uint8Array;
  readonly pluginConfigBytes: Uint8Array;
  readonly clusters: Set<string>;

  /** Every log line, [level, message]. */
  readonly logs: [number, string][] = [];
  readonly logRecords: LogRecord[] = [];
  readonly traps: TrapRecord[] = [];
  /** Host calls that returned something other than OK / NOT_FOUND / EMPTY (capped). */
  readonly hostCallErrors: { fn: string; status: string; contextId: number }[] = [];
  /** ABI misuse Envoy tolerates silently (malformed pairs, bad header values, continue on root...). */
  readonly violations: { fn: string; message: string }[] = [];
  readonly httpCalls: HttpCallRecord[] = [];
  /** Tick period per root context id, in ms (0 = off). */
  readonly tickPeriods = new Map<number, number>();

  private instance!: WebAssembly.Instance;
  private exports!: Exports;
  private memory!: GuestMemory;
  private readonly vmContext: VmContext;
  private root: RootContext | null = null;
  private nextContextId = 1;
  private readonly contexts = new Map<number, AbiContext>();
  private readonly streams = new Map<number, HttpStream>();
  private ctxStack: { ctx: AbiContext; effective: number }[] = [];
  private restricted: Set<string> | null = null;
  private actions: HostAction[] = [];
  private pendingEvents: (() => void)[] = [];
  private pumping = false;
  private _failed = false;
  private _configured: boolean | null = null;
  private startFailed = false;
  private readonly metricsById = new Map<number, Metric>();
  private readonly metricValues = new Map<string, number>();
  private readonly histogramValues = new Map<string, number[]>();
  private nextCounterId = MetricType.Counter;
  private nextGaugeId = MetricType.Gauge;
  private nextHistogramId = MetricType.Histogram;
  private nextHttpCallId = 0;
  private readonly pendingCalls = new Map<number, HttpCallRecord>();
  private clockOffsetNs = 0n;
  private readonly manualClock: boolean;
  private readonly monoStart = process.hrtime.bigint();
  private readonly startRealNs: bigint;
  private lastTickNs = new Map<number, bigint>();
  private pendingDone = false;
  private readonly maxLogRecords: number;
  private readonly envPairs: [string, string][];
  private readonly logLevelValue: number;
  private readonly propertyTable = new Map<string, Uint8Array>();
  private readonly abiHost: AbiHost;

  private constructor(opts: FilterHostOptions, compiled: { module: WebAssembly.Module; info: ModuleInfo }) {
    this.options = opts;
    this.info = compiled.info;
    this.rootId = opts.rootId ?? '';
    this.vmId = opts.vmId ?? '';
    this.pluginName = opts.pluginName ?? 'default.llm-guard';
    this.shared = opts.shared ?? new SharedState();
    this.failOpen = opts.failurePolicy === 'FAIL_OPEN';
    this.bufferLimitBytes = opts.bufferLimitBytes ?? 1024 * 1024;
    this.recordEvents = opts.recordEvents ?? true;
    this.holdJsonReplies = opts.holdJsonReplies ?? false;
    this.vmConfigBytes = toBytes(opts.vmConfig ?? '').slice();
    const pc = opts.pluginConfig;
    this.pluginConfigBytes =
      pc === undefined ? EMPTY : pc instanceof Uint8Array ? pc : toBytes(typeof pc === 'string' ? pc : JSON.stringify(pc));
    this.clusters = new Set(opts.clusters ?? []);
    this.manualClock = opts.clock === 'manual';
    this.startRealNs = BigInt(Date.now()) * 1_000_000n;
    this.maxLogRecords = opts.maxLogRecords ?? 200_000;
    this.envPairs = Object.entries(opts.env ?? {});
    const lvl = opts.logLevel ?? 'info';
    this.logLevelValue = typeof lvl === 'number' ? lvl : LogLevel[lvl];
    for (const [k, v] of Object.entries(opts.properties ?? {})) {
      this.propertyTable.set(k.includes('\0') ? k : k.split('.').join('\0'), propertyBytes(v));
    }
    this.vmContext = new VmContext(this);
    this.contexts.set(0, this.vmContext);
    this.abiHost = this.makeAbiHost();
  }

  /** Load the module the way Envoy does; throws WasmLoadError where Envoy would refuse the module. */
  static async load(opts: FilterHostOptions = {}): Promise<FilterHost> {
    return FilterHost.loadSync(opts);
  }

  static loadSync(opts: FilterHostOptions = {}): FilterHost {
    const compiled = compile(opts);
    const host = new FilterHost(opts, compiled);
    host.link(compiled.module);
    host.startVm();
    return host;
  }

  // ------------------------------------------------------------------ load / link / start

  private link(module: WebAssembly.Module): void {
    const info = this.info;
    const exported = new Map(info.exports.map((e) => [e.name, e]));
    const abi = ABI_VERSION_EXPORTS.find((n) => exported.has(n));
    if (!abi) throw new WasmLoadError('Missing or unknown Proxy-Wasm ABI version');
    if (abi === 'proxy_abi_version_0_1_0') throw new WasmLoadError('the harness only plays ABI 0.2.x');
    const envFns: Record<string, string> = { ...ENV_HOST_FUNCTIONS };
    if (abi === 'proxy_abi_version_0_2_0') delete envFns.proxy_get_log_level;
    for (const n of ENV_ABI_010_ONLY) delete envFns[n];

    const proxyImpl = makeProxyImports(this.abiHost);
    const wasiImpl = makeWasiImports({
      mem: () => this.memory,
      log: (level, message, source) => this.recordLog(this.current(), level, message, source),
      envPairs: () => this.envPairs,
      realtimeNs: () => this.realtimeNs(),
      monotonicNs: () => this.monotonicNs(),
    });

    const imports: Record<string, Record<string, unknown>> = {};
    for (const imp of info.imports) {
      const key = `${imp.module}.${imp.name}`;
      if (imp.kind !== 'function') {
        throw new WasmLoadError(`Failed to load Wasm module due to a missing import: ${key} (${imp.kind} imports are not provided)`);
      }
      let want: string | undefined;
      let impl: unknown;
      if (imp.module === 'env') {
        want = envFns[imp.name];
        impl = proxyImpl[imp.name];
      } else if (WASI_MODULES.includes(imp.module)) {
        want = WASI_FUNCTIONS[imp.name];
        impl = (wasiImpl as Record<string, unknown>)[imp.name];
      }
      if (!want || typeof impl !== 'function') {
        throw new WasmLoadError(`Failed to load Wasm module due to a missing import: ${key}`);
      }
      if (imp.sig !== want) {
        throw new WasmLoadError(
          `Failed to load Wasm module due to an import type mismatch for function ${key}, want ${imp.sig}, but host exports ${want}`,
        );
      }
      (imports[imp.module] ??= {})[imp.name] = this.guardImport(key, impl as (...a: unknown[]) => unknown);
    }

    for (const [name, sig] of Object.entries(EXPORT_SIGNATURES)) {
      const e = exported.get(name);
      if (e && e.kind === 'function' && e.sig !== sig) {
        throw new WasmLoadError(`Bad function signature for: ${name} (module has ${e.sig}, host wants ${sig})`);
      }
    }
    if (!exported.has('malloc') && !exported.has('proxy_on_memory_allocate')) {
      throw new WasmLoadError('Wasm module is missing malloc function.');
    }
    const mem = exported.get('memory');
    if (!mem || mem.kind !== 'memory') throw new WasmLoadError('Wasm module is missing an exported memory');

    // A start section runs during instantiation, before any context exists: every host call traps.
    this.restricted = new Set();
    try {
      this.instance = new WebAssembly.Instance(module, imports as WebAssembly.Imports);
    } catch (e) {
      throw new WasmLoadError(`Failed to instantiate: ${(e as Error).message}`, e);
    } finally {
      this.restricted = null;
    }
    this.exports = this.instance.exports as unknown as Exports;
    // cpp-host prefers `malloc` over `proxy_on_memory_allocate`.
    const mallocName = exported.has('malloc') ? 'malloc' : 'proxy_on_memory_allocate';
    const mallocFn = this.exports[mallocName]!;
    this.memory = new GuestMemory(this.instance.exports.memory as WebAssembly.Memory, (size) => {
      const saved = this.restricted;
      this.restricted = ALLOWED_DURING_MALLOC;
      this.ctxStack.push({ ctx: this.vmContext, effective: 0 });
      try {
        return (mallocFn(size) ?? 0) >>> 0;
      } finally {
        this.ctxStack.pop();
        this.restricted = saved;
      }
    });
  }

  private startVm(): void {
    this.restricted = ALLOWED_DURING_START;
    try {
      const run = (name: string, args: number[]) => {
        const r = this.invoke(this.vmContext, name, args);
        if (!r.ok) {
          const t = this.traps[this.traps.length - 1];
          throw new WasmLoadError(`Failed to initialize Wasm code: trap in ${name}: ${t?.message ?? 'unknown'}`, t?.error);
        }
      };
      if (this.hasExport('_initialize')) {
        run('_initialize', []);
        if (this.hasExport('main')) run('main', [0, 0]);
        else if (this.hasExport('__main_void')) run('__main_void', []);
      } else if (this.hasExport('_start')) {
        run('_start', []);
      }
    } finally {
      this.restricted = null;
    }
    this.actions = [];
  }

  private guardImport(key: string, fn: (...a: unknown[]) => unknown): (...a: unknown[]) => unknown {
    return (...args: unknown[]) => {
      if (this.restricted && !this.restricted.has(key)) {
        this.recordLog(this.current(), LogLevel.error, `Attempted call to restricted capability: ${key}`, 'host');
        throw new WebAssembly.RuntimeError(`restricted_callback: ${key}`);
      }
      try {
        return fn(...args);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError || e instanceof HarnessError) throw e;
        throw new HarnessError(`harness error in ${key}: ${(e as Error)?.stack ?? String(e)}`, e);
      }
    };
  }

  // ------------------------------------------------------------------ VM calls

  hasExport(name: string): boolean {
    return typeof this.exports[name] === 'function';
  }

  /** Calls an export under a context; a trap or exception marks the VM failed. */
  invoke(ctx: AbiContext, fn: string, args: number[]): { ok: boolean; value: number } {
    if (this._failed) return { ok: false, value: 0 };
    const f = this.exports[fn];
    if (typeof f !== 'function') return { ok: true, value: MISSING_EXPORT_RESULTS[fn] ?? 0 };
    this.ctxStack.push({ ctx, effective: 0 });
    try {
      const v = f(...args);
      return { ok: true, value: typeof v === 'number' ? v >>> 0 : 0 };
    } catch (e) {
      this.recordTrap(fn, ctx.id, e);
      return { ok: false, value: 0 };
    } finally {
      this.ctxStack.pop();
    }
  }

  private recordTrap(callback: string, contextId: number, error: unknown): void {
    this._failed = true;
    const harnessBug = error instanceof HarnessError;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.traps.push({ callback, contextId, error, message, harnessBug });
    this.recordLog(this.vmContext, LogLevel.critical, `wasm trap in ${callback}: ${message}`, 'host');
  }

  /** contextOrEffectiveContext() */
  current(): AbiContext {
    const top = this.ctxStack[this.ctxStack.length - 1];
    if (!top) return this.root ?? this.vmContext;
    if (top.effective !== 0) {
      const c = this.contexts.get(top.effective);
      if (c) return c;
    }
    return top.ctx;
  }

  takeActions(): HostAction[] {
    const a = this.actions;
    this.actions = [];
    return a;
  }

  runActions(actions: HostAction[]): void {
    for (const a of actions) a.run();
  }

  rootContext(): AbiContext {
    if (!this.root) throw new Error('no root context: call configure() first');
    return this.root;
  }

  // ------------------------------------------------------------------ public state

  /** The guest's linear memory, in bytes (it only grows: what the VM holds at its peak). */
  get memoryBytes(): number {
    return this.memory.size;
  }

  /** The VM trapped (it is failed: fail-closed from now on). */
  get trapped(): boolean {
    return this.traps.length > 0;
  }

  get trapError(): unknown {
    return this.traps[0]?.error ?? null;
  }

  get failed(): boolean {
    return this._failed;
  }

  get configured(): boolean {
    return this._configured === true;
  }

  /** Counters and gauges by the name the plugin defined (Envoy shows them without `wasmcustom.`). */
  get metrics(): Record<string, number> {
    return Object.fromEntries(this.metricValues);
  }

  get histograms(): Record<string, number[]> {
    return Object.fromEntries([...this.histogramValues].map(([k, v]) => [k, v.slice()]));
  }

  metric(name: string): number | undefined {
    return this.metricValues.get(name);
  }

  /** Shared data of this VM id, values decoded as UTF-8. */
  get sharedData(): Map<string, string> {
    return new Map([...this.shared.dataFor(this.vmId)].map(([k, v]) => [k, decodeUtf8(v.value)]));
  }

  get rootContextId(): number {
    return this.root?.id ?? 0;
  }

  get activeStreams(): HttpStream[] {
    return [...this.streams.values()];
  }

  pendingHttpCalls(): HttpCallRecord[] {
    return [...this.pendingCalls.values()];
  }

  /**
   * Calls a diagnostic export `() -> i32` that returns the address of NUL-terminated UTF-8 text
   * (0 for none), outside any callback and with no host calls allowed, as no host would deliver it.
   * undefined when the module has no such export, the VM failed, or the text is not readable.
   */
  readDiagnostic(exportName: string, maxBytes = 64 * 1024): string | undefined {
    const fn = this.exports[exportName];
    if (typeof fn !== 'function' || this._failed) return undefined;
    this.restricted = new Set();
    let ptr: number;
    try {
      ptr = (fn() ?? 0) >>> 0;
    } catch {
      return undefined;
    } finally {
      this.restricted = null;
    }
    if (ptr === 0) return undefined;
    return this.memory.readCString(ptr, maxBytes) ?? undefined;
  }

  /** Throws with details if the VM trapped or the harness misbehaved. */
  assertHealthy(): void {
    if (this.traps.length > 0) {
      const t = this.traps[0]!;
      throw new Error(`VM trapped in ${t.callback} (context ${t.contextId}): ${t.message}`);
    }
  }

  clearRecords(): void {
    this.logs.length = 0;
    this.logRecords.length = 0;
    this.hostCallErrors.length = 0;
    this.violations.length = 0;
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Creates the root context and runs proxy_on_context_create(root, 0), proxy_on_vm_start and
   * proxy_on_configure. Returns what Envoy would: false if the VM fails to start or configure.
   */
  configure(): boolean {
    if (this._configured !== null) throw new Error('configure() already called (load a new host to reconfigure)');
    this._configured = false;
    if (this._failed) return false;
    const root = new RootContext(this.allocContextId(), this);
    this.root = root;
    this.contexts.set(root.id, root);
    root.pluginConfigReadable = true;
    let r = this.invoke(root, 'proxy_on_context_create', [root.id, 0]);
    root.pluginConfigReadable = false;
    this.runActions(this.takeActions());
    if (!r.ok) return false;
    if (this.hasExport('proxy_on_vm_start')) {
      r = this.invoke(root, 'proxy_on_vm_start', [root.id, this.vmConfigBytes.length]);
      this.runActions(this.takeActions());
      if (!r.ok || r.value === 0) {
        this.startFailed = true;
        this.recordLog(root, LogLevel.error, 'Failed to start base Wasm', 'host');
        return false;
      }
    }
    if (this.hasExport('proxy_on_configure')) {
      root.pluginConfigReadable = true;
      r = this.invoke(root, 'proxy_on_configure', [root.id, this.pluginConfigBytes.length]);
      root.pluginConfigReadable = false;
      this.runActions(this.takeActions());
      if (!r.ok || r.value === 0) {
        this.recordLog(root, LogLevel.error, 'Failed to configure base Wasm plugin', 'host');
        this.pump();
        return false;
      }
    }
    this._configured = true;
    this.pump();
    return true;
  }

  private allocContextId(): number {
    return this.nextContextId++;
  }

  private ensureConfigured(): void {
    if (this._configured === null) throw new Error('call host.configure() before sending requests');
    if (this._configured === false && !this._failed) {
      throw new Error('the plugin refused its configuration (configure() returned false): Envoy would not use it');
    }
  }

  /** A stream for step-by-step driving (sendHeaders, sendBody, respond, finish). */
  createStream(opts: { response?: ResponseSpec | false } = {}): HttpStream {
    this.ensureConfigured();
    const s = new HttpStream(this.allocContextId(), this);
    if (opts.response !== undefined) s.autoResponse = opts.response;
    this.streams.set(s.id, s);
    this.contexts.set(s.id, s);
    return s;
  }

  /** One request end to end; the returned stream is live (it keeps updating if it was paused). */
  request(spec: RequestSpec): HttpStream {
    const s = this.createStream({ response: spec.response === undefined ? defaultResponse() : spec.response });
    let chunks: Uint8Array[];
    if (spec.chunks) chunks = spec.chunks.map((c) => toBytes(c));
    else if (spec.body !== undefined && toBytes(spec.body).length > 0) {
      const b = toBytes(spec.body);
      if (spec.chunkSize && spec.chunkSize > 0) {
        chunks = [];
        for (let i = 0; i < b.length; i += spec.chunkSize) chunks.push(b.subarray(i, i + spec.chunkSize));
      } else chunks = [b];
    } else chunks = [];
    const hasTrailers = spec.trailers !== undefined;
    s.sendHeaders(spec.headers, chunks.length === 0 && !hasTrailers);
    for (let i = 0; i < chunks.length; i++) {
      if (s.ended) break;
      s.sendBody(chunks[i]!, i === chunks.length - 1 && !hasTrailers);
    }
    if (hasTrailers && !s.ended) s.sendTrailers(spec.trailers!);
    this.pump();
    s.syncReply();
    return s;
  }

  /** Envoy's timer: proxy_on_tick(root). */
  tick(): void {
    if (!this.root || this._failed) return;
    this.invoke(this.root, 'proxy_on_tick', [this.root.id]);
    this.runActions(this.takeActions());
    this.pump();
  }

  /** Moves the clock; fires due ticks and times out http calls (504 after their timeout). */
  advanceTime(ms: number): void {
    const step = BigInt(Math.round(ms * 1e6));
    this.clockOffsetNs += step;
    const now = this.monotonicNs();
    for (const call of [...this.pendingCalls.values()]) {
      if (call.timeoutMs > 0 && now - call.issuedAtNs >= BigInt(call.timeoutMs) * 1_000_000n) this.timeoutHttpCall(call.token);
    }
    if (this.root) {
      const period = this.tickPeriods.get(this.root.id) ?? 0;
      if (period > 0) {
        const p = BigInt(period) * 1_000_000n;
        let last = this.lastTickNs.get(this.root.id) ?? now - step;
        let n = 0;
        while (now - last >= p && n < 10_000) {
          last += p;
          n++;
          this.tick();
        }
        this.lastTickNs.set(this.root.id, last);
      }
    }
    this.pump();
  }

  /** The upstream of an http call answers. Headers without `:status` get `:status: 200`. */
  respondToHttpCall(token: number, headers: HeadersInit = [], body: BodyInit = '', trailers: HeadersInit = []): void {
    const call = this.pendingCalls.get(token);
    if (!call) throw new Error(`no pending http call ${token}`);
    this.pendingCalls.delete(token);
    call.state = 'answered';
    const h = new HeaderMap();
    const pairs = toPairs(headers);
    if (!pairs.some(([k]) => k === ':status')) h.add(':status', '200');
    for (const [k, v] of pairs) h.add(k, v);
    const root = this.root!;
    if (this._failed) return;
    const b = toBytes(body).slice();
    const t = new HeaderMap(trailers);
    root.httpCallResponse = { headers: h, body: b, trailers: t };
    this.invoke(root, 'proxy_on_http_call_response', [root.id, token, h.size, b.length, t.size]);
    root.httpCallResponse = null;
    this.runActions(this.takeActions());
    this.pump();
  }

  /** The http call fails (connection reset): on_http_call_response(root, token, 0, 0, 0). */
  failHttpCall(token: number): void {
    const call = this.pendingCalls.get(token);
    if (!call) throw new Error(`no pending http call ${token}`);
    this.pendingCalls.delete(token);
    call.state = 'failed';
    const root = this.root!;
    if (this._failed) return;
    root.status = { code: WasmResult.BrokenConnection, message: 'reset' };
    this.invoke(root, 'proxy_on_http_call_response', [root.id, token, 0, 0, 0]);
    root.status = { code: root.status.code, message: '' };
    this.runActions(this.takeActions());
    this.pump();
  }

  /** The http call times out: Envoy's async client answers 504 "upstream request timeout". */
  timeoutHttpCall(token: number): void {
    const call = this.pendingCalls.get(token);
    if (!call) throw new Error(`no pending http call ${token}`);
    this.respondToHttpCall(
      token,
      [[':status', '504'], ['content-length', '24'], ['content-type', 'text/plain']],
      'upstream request timeout',
    );
    call.state = 'timeout';
  }

  /** Envoy shutting the plugin down: proxy_on_done(root), then proxy_on_delete unless it defers. */
  shutdown(): void {
    if (!this.root || this._failed) return;
    for (const s of [...this.streams.values()]) s.finish();
    const r = this.invoke(this.root, 'proxy_on_done', [this.root.id]);
    this.runActions(this.takeActions());
    if (r.ok && r.value !== 0) {
      this.invoke(this.root, 'proxy_on_delete', [this.root.id]);
    } else if (r.ok) {
      this.pendingDone = true;
    }
    this.pump();
  }

  /** Delivers queued asynchronous events (shared queue notifications). */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.pendingEvents.length > 0) this.pendingEvents.shift()!();
    } finally {
      this.pumping = false;
    }
  }

  // ------------------------------------------------------------------ StreamHost

  streamFinished(s: HttpStream): void {
    this.streams.delete(s.id);
    this.contexts.delete(s.id);
  }

  streamTrapped(_s: HttpStream): void {}

  httpCallRecords(tokens: number[]): HttpCallRecord[] {
    const set = new Set(tokens);
    return this.httpCalls.filter((c) => set.has(c.token));
  }

  nowNs(): bigint {
    return this.realtimeNs();
  }

  propertyFromOptions(path: string): Uint8Array | null {
    return this.propertyTable.get(path) ?? null;
  }

  pluginProperty(top: string): Uint8Array | null {
    switch (top) {
      case 'plugin_name':
        return toBytes(this.pluginName);
      case 'plugin_root_id':
        return toBytes(this.rootId);
      case 'plugin_vm_id':
        return toBytes(this.vmId);
      case 'connection_id': {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, 1n, true);
        return b;
      }
      default:
        return null;
    }
  }

  // ------------------------------------------------------------------ clock, logs

  realtimeNs(): bigint {
    if (this.manualClock) return this.startRealNs + this.clockOffsetNs;
    return BigInt(Date.now()) * 1_000_000n + this.clockOffsetNs;
  }

  monotonicNs(): bigint {
    if (this.manualClock) return this.clockOffsetNs;
    return process.hrtime.bigint() - this.monoStart + this.clockOffsetNs;
  }

  private recordLog(ctx: AbiContext, level: number, message: string, source: LogRecord['source']): void {
    if (this.logRecords.length >= this.maxLogRecords) {
      // Drop the oldest half at once (shift() per line would be quadratic).
      const n = Math.max(1, this.maxLogRecords >> 1);
      this.logRecords.splice(0, n);
      this.logs.splice(0, n);
    }
    this.logRecords.push({ level, message, contextId: ctx.id, source });
    this.logs.push([level, message]);
    if (ctx.isStream) (ctx as HttpStream).logs.push([level, message]);
    if (this.options.echoLogs) console.log(`[wasm ${level}] ${message}`);
  }

  // ------------------------------------------------------------------ AbiHost

  private makeAbiHost(): AbiHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      mem: () => self.memory,
      current: () => self.current(),
      setEffectiveContext(id: number): boolean {
        const top = self.ctxStack[self.ctxStack.length - 1];
        if (!self.contexts.has(id) || !top) return false;
        top.effective = id;
        return true;
      },
      log: (ctx, level, message) => self.recordLog(ctx, level, message, 'proxy_log'),
      logLevel: () => self.logLevelValue,
      get vmId() {
        return self.vmId;
      },
      get shared() {
        return self.shared;
      },
      sendLocalResponse(ctx, status, details, body, headers, _malformed, grpcStatus) {
        if (!ctx.isStream) {
          self.violation('proxy_send_local_response', `called on context ${ctx.id}, which is not a stream: ignored`);
          return;
        }
        const s = ctx as HttpStream;
        self.actions.push({
          kind: 'localReply',
          stream: s,
          run: () => {
            s.sendLocalReply(status, body, headers, details, 'plugin', grpcStatus);
            s.flush();
          },
        });
      },
      continueStream(ctx, type) {
        if (type === 3) return WasmResult.Unimplemented;
        if (!ctx.isStream) {
          self.violation('proxy_continue_stream', `called on context ${ctx.id}, which is not a stream (missing proxy_set_effective_context?): no effect`);
          return WasmResult.Ok;
        }
        if (type === 2) return WasmResult.Ok;
        const s = ctx as HttpStream;
        if (type === 0) s.req.headersAccessible = false; // Envoy nulls request_* right away
        self.actions.push({ kind: 'continue', stream: s, run: () => s.continueStream(type) });
        return WasmResult.Ok;
      },
      closeStream(ctx, type) {
        if (!ctx.isStream) return WasmResult.Ok;
        const s = ctx as HttpStream;
        if (type === 0 || type === 1) {
          self.actions.push({
            kind: 'close',
            stream: s,
            run: () => {
              s.doReset('proxy_close_stream');
              s.flush();
            },
          });
        }
        return WasmResult.Ok;
      },
      httpCall(root, caller, cluster, headers, body, trailers, timeoutMs) {
        if (timeoutMs < 0) return { result: WasmResult.BadArgument, token: 0 };
        if (!self.clusters.has(cluster)) return { result: WasmResult.BadArgument, token: 0 };
        const h = new HeaderMap(headers);
        if (!h.has(':path') || !h.has(':method') || !h.has(':authority')) {
          return { result: WasmResult.BadArgument, token: 0 };
        }
        if (body.length > 0) h.set('content-length', String(body.length));
        self.nextHttpCallId += 4;
        const token = self.nextHttpCallId;
        const pairs = h.pairs();
        const rec: HttpCallRecord = {
          token,
          cluster,
          headers: pairs,
          body: body.slice(),
          bodyText: decodeUtf8(body),
          trailers,
          timeoutMs,
          callerContextId: caller.id,
          state: 'pending',
          issuedAtNs: self.monotonicNs(),
          header: (n) => pairs.find(([k]) => k === n.toLowerCase())?.[1],
        };
        void root;
        self.httpCalls.push(rec);
        self.pendingCalls.set(token, rec);
        if (caller.isStream) (caller as HttpStream).httpCallIds.push(token);
        return { result: WasmResult.Ok, token };
      },
      defineMetric(type, name) {
        let id: number;
        if (type === MetricType.Counter) id = self.nextCounterId += 4;
        else if (type === MetricType.Gauge) id = self.nextGaugeId += 4;
        else if (type === MetricType.Histogram) id = self.nextHistogramId += 4;
        else return { result: WasmResult.BadArgument, id: 0 };
        self.metricsById.set(id, { type, name });
        if (type === MetricType.Histogram) {
          if (!self.histogramValues.has(name)) self.histogramValues.set(name, []);
        } else if (!self.metricValues.has(name)) self.metricValues.set(name, 0);
        return { result: WasmResult.Ok, id };
      },
      incrementMetric(id, offset) {
        // Envoy: the metric type lives in the id's low two bits.
        const type = id & 3;
        if (type !== MetricType.Counter && type !== MetricType.Gauge) return WasmResult.BadArgument;
        const m = self.metricsById.get(id);
        if (!m) return WasmResult.NotFound;
        if (m.type === MetricType.Counter) {
          if (offset <= 0n) return WasmResult.BadArgument;
          self.metricValues.set(m.name, (self.metricValues.get(m.name) ?? 0) + Number(offset));
          return WasmResult.Ok;
        }
        if (m.type === MetricType.Gauge) {
          const v = (self.metricValues.get(m.name) ?? 0) + Number(offset);
          if (v < 0) self.violation('proxy_increment_metric', `gauge ${m.name} went below zero`);
          self.metricValues.set(m.name, v);
          return WasmResult.Ok;
        }
        return WasmResult.BadArgument;
      },
      recordMetric(id, value) {
        const m = self.metricsById.get(id);
        if (!m) return WasmResult.NotFound;
        if (m.type === MetricType.Counter) {
          self.metricValues.set(m.name, (self.metricValues.get(m.name) ?? 0) + Number(value));
        } else if (m.type === MetricType.Gauge) {
          self.metricValues.set(m.name, Number(value));
        } else {
          self.histogramValues.get(m.name)!.push(Number(value));
        }
        return WasmResult.Ok;
      },
      getMetric(id) {
        const type = id & 3;
        if (type !== MetricType.Counter && type !== MetricType.Gauge) return { result: WasmResult.BadArgument, value: 0n };
        const m = self.metricsById.get(id);
        if (!m) return { result: WasmResult.NotFound, value: 0n };
        return { result: WasmResult.Ok, value: BigInt(self.metricValues.get(m.name) ?? 0) };
      },
      setTickPeriod(ctx, ms) {
        const root = ctx.rootContext();
        self.tickPeriods.set(root.id, ms);
        self.lastTickNs.set(root.id, self.monotonicNs());
      },
      realtimeNs: () => self.realtimeNs(),
      registerQueue(ctx, name) {
        const root = ctx.rootContext();
        return self.shared.registerQueue(self.vmId, name, root.id, {
          notify: (contextId, token) => {
            self.pendingEvents.push(() => {
              const c = self.contexts.get(contextId);
              if (!c || self._failed) return;
              self.invoke(c, 'proxy_on_queue_ready', [contextId, token]);
              self.runActions(self.takeActions());
            });
          },
        });
      },
      done(ctx) {
        if (!self.pendingDone || !ctx.isRoot) return WasmResult.NotFound;
        self.pendingDone = false;
        const root = ctx as RootContext;
        self.pendingEvents.push(() => {
          self.invoke(root, 'proxy_on_delete', [root.id]);
        });
        return WasmResult.Ok;
      },
      noteStatus(fn, status, ctx) {
        if (status === WasmResult.NotFound || status === WasmResult.Empty) return;
        if (self.hostCallErrors.length < 10_000) {
          self.hostCallErrors.push({ fn, status: WasmResultName[status] ?? String(status), contextId: ctx.id });
        }
      },
      violation: (fn, message) => self.violation(fn, message),
    };
  }

  private violation(fn: string, message: string): void {
    if (this.violations.length < 10_000) this.violations.push({ fn, message });
  }
}

/**
 * Loads the module at `path` (or the default one) the way Envoy loads it (imports, signatures,
 * start) and returns its path. Throws WasmModuleNotFoundError or WasmLoadError.
 */
export function ensureLoadable(path?: string): string {
  const resolved = resolve(path ?? defaultWasmPath());
  FilterHost.loadSync({ wasmPath: resolved });
  return resolved;
}

export function defaultResponse(): ResponseSpec {
  return {
    status: 200,
    headers: [['content-type', 'application/json']],
    body: '{"id":"chatcmpl-harness","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}',
  };
}
