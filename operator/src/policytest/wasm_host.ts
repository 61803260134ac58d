// A small proxy-wasm host that runs whole requests through the real compiled filter, in-process:
// the root context is configured once with the pluginConfig, then each request gets a stream
// context, its headers (end_of_stream false), its whole body (end_of_stream true) and, when the
// filter asks the guard model, the guard's answer. What the filter did is recorded: the headers as
// they would go upstream, the local reply it sent, the calls it made, its logs.
//
// Self-contained (it ships with the CLI): the same ideas as src/validate/wasm_config_check.ts,
// extended with the header maps, the request body, local replies and HTTP calls.
import { Guest, type FilterLog } from '../wasm/guest.js';

// proxy-wasm values as Envoy uses them.
const OK = 0;
const NOT_FOUND = 1;
const BAD_ARGUMENT = 2;

const BUFFER_REQUEST_BODY = 0;
const BUFFER_HTTP_CALL_RESPONSE_BODY = 4;
const BUFFER_PLUGIN_CONFIGURATION = 7;
const MAP_REQUEST_HEADERS = 0;
const MAP_HTTP_CALL_RESPONSE_HEADERS = 6;

export const ROOT_CONTEXT_ID = 1;

export type Header = [name: string, value: string];

export type HostLog = FilterLog;

export interface LocalReply {
  status: number;
  details: string;
  body: string;
  headers: Header[];
}

export interface HttpCallRecord {
  cluster: string;
  headers: Header[];
  body: string;
  timeoutMs: number;
}

/** How the host answers an http_call: a response, or a failed call (no headers, as Envoy reports it). */
export type CallAnswer = { status: number; body: string; headers?: Header[] } | { fail: true };

export interface HostRequest {
  /** Request headers, pseudo-headers (:authority, :path, :method) included. */
  headers: Header[];
  body: Uint8Array;
}

export interface RequestOutcome {
  /** The local reply the filter sent, if any. */
  reply?: LocalReply;
  /** The request headers after the filter (what goes upstream). */
  upstreamHeaders: Header[];
  /** What proxy_on_request_headers / _body returned (0 = Continue). */
  headersAction: number;
  bodyAction?: number;
  /** proxy_continue_stream was called (a held request let go). */
  continued: boolean;
  calls: HttpCallRecord[];
  logs: HostLog[];
}

export class FilterConfigError extends Error {}

type Exports = {
  memory: WebAssembly.Memory;
  _initialize?: () => void;
  proxy_on_memory_allocate: (size: number) => number;
  proxy_on_context_create: (id: number, parent: number) => void;
  proxy_on_vm_start: (rootId: number, vmConfigSize: number) => number;
  proxy_on_configure: (rootId: number, pluginConfigSize: number) => number;
  proxy_on_request_headers: (id: number, headerCount: number, eos: number) => number;
  proxy_on_request_body: (id: number, size: number, eos: number) => number;
  proxy_on_http_call_response: (rootId: number, callId: number, headerCount: number, bodySize: number, trailerCount: number) => void;
  proxy_on_done?: (id: number) => number;
  proxy_on_delete?: (id: number) => void;
};

const REQUIRED = [
  'memory',
  'proxy_on_memory_allocate',
  'proxy_on_context_create',
  'proxy_on_vm_start',
  'proxy_on_configure',
  'proxy_on_request_headers',
  'proxy_on_request_body',
  'proxy_on_http_call_response',
] as const;

/** Encodes a header map in the proxy-wasm wire format. */
export function encodeHeaderMap(pairs: Header[]): Uint8Array {
  const enc = new TextEncoder();
  const encoded = pairs.map(([k, v]) => [enc.encode(k), enc.encode(v)] as const);
  const size = 4 + encoded.length * 8 + encoded.reduce((n, [k, v]) => n + k.length + v.length + 2, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, encoded.length, true);
  let at = 4 + encoded.length * 8;
  encoded.forEach(([k, v], i) => {
    view.setUint32(4 + i * 8, k.length, true);
    view.setUint32(8 + i * 8, v.length, true);
    out.set(k, at);
    at += k.length + 1;
    out.set(v, at);
    at += v.length + 1;
  });
  return out;
}

/** Decodes a header map in the proxy-wasm wire format. */
export function decodeHeaderMap(bytes: Uint8Array): Header[] {
  if (bytes.length < 4) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  const dec = new TextDecoder();
  const out: Header[] = [];
  let at = 4 + count * 8;
  for (let i = 0; i < count; i++) {
    const kl = view.getUint32(4 + i * 8, true);
    const vl = view.getUint32(8 + i * 8, true);
    const k = dec.decode(bytes.subarray(at, at + kl));
    at += kl + 1;
    const v = dec.decode(bytes.subarray(at, at + vl));
    at += vl + 1;
    out.push([k, v]);
  }
  return out;
}

class HeaderMap {
  pairs: Header[] = [];
  get(name: string): string | undefined {
    const n = name.toLowerCase();
    return this.pairs.find(([k]) => k === n)?.[1];
  }
  add(name: string, value: string): void {
    this.pairs.push([name.toLowerCase(), value]);
  }
  remove(name: string): void {
    const n = name.toLowerCase();
    this.pairs = this.pairs.filter(([k]) => k !== n);
  }
  replace(name: string, value: string): void {
    const n = name.toLowerCase();
    const at = this.pairs.findIndex(([k]) => k === n);
    if (at < 0) {
      this.add(n, value);
      return;
    }
    this.pairs[at] = [n, value];
    this.pairs = this.pairs.filter(([k], i) => k !== n || i === at);
  }
}

export interface FilterHostOptions {
  /** The VM's environment (WasmPlugin vmConfig.env). */
  env?: Record<string, string>;
}

/**
 * One VM of the filter, configured. Create with FilterHost.start; run requests with runRequest.
 * A trap propagates as an exception; the VM must not be used after one (start a new one).
 */
export class FilterHost {
  private exports!: Exports;
  private readonly enc = new TextEncoder();
  private nextMetricId = 1;
  private nextCallId = 1;
  private nextContextId = ROOT_CONTEXT_ID + 1;
  private readonly shared = new Map<string, { value: Uint8Array; cas: number }>();
  readonly metrics = new Map<number, { name: string; value: bigint }>();
  private config: Uint8Array = new Uint8Array(0);
  // Per-request state.
  private requestHeaders = new HeaderMap();
  private requestBody: Uint8Array = new Uint8Array(0);
  private callResponseHeaders = new HeaderMap();
  private callResponseBody: Uint8Array = new Uint8Array(0);
  private reply: LocalReply | undefined;
  private continued = false;
  private calls: (HttpCallRecord & { id: number })[] = [];
  private answered = 0;

  private readonly guest: Guest;

  private constructor(
    private readonly module: WebAssembly.Module,
    env: Record<string, string>,
  ) {
    this.guest = new Guest(env);
  }

  /** Instantiates the module and configures it; throws FilterConfigError when the filter refuses the config. */
  static start(module: WebAssembly.Module, configText: string, opts: FilterHostOptions = {}): FilterHost {
    const host = new FilterHost(module, opts.env ?? {});
    host.config = host.enc.encode(configText);
    const instance = new WebAssembly.Instance(module, host.imports());
    const ex = instance.exports as unknown as Exports;
    for (const name of REQUIRED) if (!(name in ex)) throw new Error(`the module does not export ${name}: not a proxy-wasm filter`);
    host.exports = ex;
    host.guest.exports = ex;
    ex._initialize?.();
    ex.proxy_on_context_create(ROOT_CONTEXT_ID, 0);
    if (ex.proxy_on_vm_start(ROOT_CONTEXT_ID, 0) === 0) throw new FilterConfigError('proxy_on_vm_start returned false');
    const ok = ex.proxy_on_configure(ROOT_CONTEXT_ID, host.config.length) !== 0;
    host.guest.flushStdio();
    if (!ok) {
      const marker = 'config rejected: ';
      const line = host.guest.logs.find((l) => l.message.includes(marker));
      throw new FilterConfigError(line ? line.message.slice(line.message.indexOf(marker) + marker.length) : 'proxy_on_configure returned false');
    }
    return host;
  }

  /** Logs written while starting and configuring. */
  startupLogs(): HostLog[] {
    return [...this.guest.logs];
  }

  /**
   * Runs one request: headers, then the whole body; each http_call the filter makes is answered
   * with `answer(call)` once the callback that made it has returned.
   */
  runRequest(req: HostRequest, answer: (call: HttpCallRecord) => CallAnswer): RequestOutcome {
    const ex = this.exports;
    this.guest.logs = [];
    this.shared.clear(); // verdict cache: every case judged on its own
    this.requestHeaders = new HeaderMap();
    for (const [k, v] of req.headers) this.requestHeaders.add(k, v);
    this.requestBody = req.body;
    this.reply = undefined;
    this.continued = false;
    this.calls = [];
    this.answered = 0;
    const id = this.nextContextId++;
    ex.proxy_on_context_create(id, ROOT_CONTEXT_ID);
    const out: RequestOutcome = { headersAction: 0, continued: false, upstreamHeaders: [], calls: [], logs: [] };
    out.headersAction = ex.proxy_on_request_headers(id, this.requestHeaders.pairs.length, 0);
    this.answerCalls(answer);
    if (!this.reply) {
      out.bodyAction = ex.proxy_on_request_body(id, this.requestBody.length, 1);
      this.answerCalls(answer);
    }
    ex.proxy_on_done?.(id);
    ex.proxy_on_delete?.(id);
    this.guest.flushStdio();
    out.reply = this.reply;
    out.continued = this.continued;
    out.upstreamHeaders = [...this.requestHeaders.pairs];
    out.calls = this.calls.map(({ id: _id, ...c }) => c);
    out.logs = this.guest.logs;
    return out;
  }

  private answerCalls(answer: (call: HttpCallRecord) => CallAnswer): void {
    while (this.answered < this.calls.length) {
      const call = this.calls[this.answered++]!;
      const a = answer(call);
      if ('fail' in a) {
        this.callResponseHeaders = new HeaderMap();
        this.callResponseBody = new Uint8Array(0);
        this.exports.proxy_on_http_call_response(ROOT_CONTEXT_ID, call.id, 0, 0, 0);
      } else {
        this.callResponseHeaders = new HeaderMap();
        this.callResponseHeaders.add(':status', String(a.status));
        this.callResponseHeaders.add('content-type', 'application/json');
        for (const [k, v] of a.headers ?? []) this.callResponseHeaders.replace(k, v);
        this.callResponseBody = this.enc.encode(a.body);
        this.exports.proxy_on_http_call_response(ROOT_CONTEXT_ID, call.id, this.callResponseHeaders.pairs.length, this.callResponseBody.length, 0);
      }
    }
  }

  private headerMap(type: number): HeaderMap | undefined {
    if (type === MAP_REQUEST_HEADERS) return this.requestHeaders;
    if (type === MAP_HTTP_CALL_RESPONSE_HEADERS) return this.callResponseHeaders;
    return undefined;
  }

  private buffer(type: number): Uint8Array | undefined {
    if (type === BUFFER_PLUGIN_CONFIGURATION) return this.config;
    if (type === BUFFER_REQUEST_BODY) return this.requestBody;
    if (type === BUFFER_HTTP_CALL_RESPONSE_BODY) return this.callResponseBody;
    return undefined;
  }

  private imports(): WebAssembly.Imports {
    const proxy: Record<string, (...args: never[]) => number | void> = {
      proxy_log: (level: number, ptr: number, len: number) => {
        this.guest.log(level, this.guest.text(ptr, len));
        return OK;
      },
      proxy_get_log_level: (retPtr: number) => {
        this.guest.view().setUint32(retPtr, 0, true); // trace: the filter logs everything it would
        return OK;
      },
      proxy_get_buffer_bytes: (type: number, start: number, maxSize: number, retPtrPtr: number, retLenPtr: number) => {
        const buf = this.buffer(type);
        if (!buf) return NOT_FOUND;
        if (start > buf.length) return BAD_ARGUMENT;
        this.guest.give(buf.subarray(start, Math.min(buf.length, start + maxSize)), retPtrPtr, retLenPtr);
        return OK;
      },
      proxy_set_buffer_bytes: (type: number, start: number, size: number, ptr: number, len: number) => {
        if (type !== BUFFER_REQUEST_BODY) return NOT_FOUND;
        const data = this.guest.bytes(ptr, len).slice();
        const b = this.requestBody;
        const s = Math.min(start, b.length);
        const e = Math.min(s + size, b.length);
        const next = new Uint8Array(b.length - (e - s) + data.length);
        next.set(b.subarray(0, s), 0);
        next.set(data, s);
        next.set(b.subarray(e), s + data.length);
        this.requestBody = next;
        return OK;
      },
      proxy_get_header_map_pairs: (type: number, retPtrPtr: number, retLenPtr: number) => {
        const m = this.headerMap(type);
        if (!m) return NOT_FOUND;
        this.guest.give(encodeHeaderMap(m.pairs), retPtrPtr, retLenPtr);
        return OK;
      },
      proxy_set_header_map_pairs: (type: number, ptr: number, len: number) => {
        const m = this.headerMap(type);
        if (!m) return NOT_FOUND;
        m.pairs = decodeHeaderMap(this.guest.bytes(ptr, len).slice()).map(([k, v]) => [k.toLowerCase(), v]);
        return OK;
      },
      proxy_get_header_map_value: (type: number, kPtr: number, kLen: number, retPtrPtr: number, retLenPtr: number) => {
        const m = this.headerMap(type);
        if (!m) return NOT_FOUND;
        const v = m.get(this.guest.text(kPtr, kLen));
        if (v === undefined) return NOT_FOUND;
        this.guest.give(this.enc.encode(v), retPtrPtr, retLenPtr);
        return OK;
      },
      proxy_add_header_map_value: (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) => {
        const m = this.headerMap(type);
        if (!m) return NOT_FOUND;
        m.add(this.guest.text(kPtr, kLen), this.guest.text(vPtr, vLen));
        return OK;
      },
      proxy_replace_header_map_value: (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) => {
        const m = this.headerMap(type);
        if (!m) return NOT_FOUND;
        m.replace(this.guest.text(kPtr, kLen), this.guest.text(vPtr, vLen));
        return OK;
      },
      proxy_remove_header_map_value: (type: number, kPtr: number, kLen: number) => {
        const m = this.headerMap(type);
        if (!m) return NOT_FOUND;
        m.remove(this.guest.text(kPtr, kLen));
        return OK;
      },
      proxy_send_local_response: (status: number, dPtr: number, dLen: number, bPtr: number, bLen: number, hPtr: number, hLen: number) => {
        this.reply = {
          status,
          details: this.guest.text(dPtr, dLen),
          body: this.guest.text(bPtr, bLen),
          headers: decodeHeaderMap(this.guest.bytes(hPtr, hLen).slice()),
        };
        return OK;
      },
      proxy_continue_stream: () => {
        this.continued = true;
        return OK;
      },
      proxy_http_call: (
        cPtr: number,
        cLen: number,
        hPtr: number,
        hLen: number,
        bPtr: number,
        bLen: number,
        _tPtr: number,
        _tLen: number,
        timeoutMs: number,
        retIdPtr: number,
      ) => {
        const id = this.nextCallId++;
        this.calls.push({
          id,
          cluster: this.guest.text(cPtr, cLen),
          headers: decodeHeaderMap(this.guest.bytes(hPtr, hLen).slice()),
          body: this.guest.text(bPtr, bLen),
          timeoutMs: timeoutMs >>> 0,
        });
        this.guest.view().setUint32(retIdPtr, id, true);
        return OK;
      },
      proxy_define_metric: (_type: number, namePtr: number, nameLen: number, retIdPtr: number) => {
        const id = this.nextMetricId++;
        this.metrics.set(id, { name: this.guest.text(namePtr, nameLen), value: 0n });
        this.guest.view().setUint32(retIdPtr, id, true);
        return OK;
      },
      proxy_increment_metric: (id: number, by: bigint) => {
        const m = this.metrics.get(id);
        if (!m) return NOT_FOUND;
        m.value += BigInt(by);
        return OK;
      },
      proxy_record_metric: (id: number, value: bigint) => {
        const m = this.metrics.get(id);
        if (!m) return NOT_FOUND;
        m.value = BigInt(value);
        return OK;
      },
      proxy_get_metric: () => NOT_FOUND,
      proxy_get_shared_data: (kPtr: number, kLen: number, retPtrPtr: number, retLenPtr: number, casPtr: number) => {
        const e = this.shared.get(this.guest.text(kPtr, kLen));
        if (!e) return NOT_FOUND;
        this.guest.give(e.value, retPtrPtr, retLenPtr);
        this.guest.view().setUint32(casPtr, e.cas, true);
        return OK;
      },
      proxy_set_shared_data: (kPtr: number, kLen: number, vPtr: number, vLen: number, cas: number) => {
        const key = this.guest.text(kPtr, kLen);
        const e = this.shared.get(key);
        if (cas !== 0 && e && e.cas !== cas) return 8; // CasMismatch
        this.shared.set(key, { value: this.guest.bytes(vPtr, vLen).slice(), cas: (e?.cas ?? 0) + 1 });
        return OK;
      },
      proxy_set_effective_context: () => OK,
      proxy_set_tick_period_milliseconds: () => OK,
      proxy_get_property: () => NOT_FOUND,
      proxy_done: () => OK,
    };
    const imports = this.guest.link(this.module, proxy);
    return imports;
  }
}
