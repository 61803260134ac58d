// One HTTP stream through the filter, modelled on Envoy's FilterManager plus the wasm filter's Context
// (source/extensions/common/wasm/context.cc: decodeHeaders/decodeData/encodeHeaders/encodeData,
// continueStream, sendLocalResponse, failStream) and cpp-host's ContextBase status conversion.
//
// Each direction is a Flow: a source (downstream client for the request, upstream or a local reply for
// the response) delivers headers/body/trailers to the plugin; what the plugin lets through reaches the
// sink (the upstream for the request, the client for the response).

import { BufferType, DataAction, Details, HeadersAction, MapType, WasmResult } from './abi.js';
import type { AbiContext, BufferAccess } from './abi_imports.js';
import { HeaderMap, encodePairs, toPairs, type HeaderPair, type HeadersInit } from './header_map.js';
import { decodeUtf8, toBytes } from './memory.js';
import type { HttpCallRecord } from './filter_host.js';

export type BodyInit = string | Uint8Array;

export interface ResponseSpec {
  status?: number;
  headers?: HeadersInit;
  body?: BodyInit;
  chunks?: BodyInit[];
  trailers?: HeadersInit;
}

export interface LocalReply {
  /** Status the client received. */
  status: number;
  /** Headers the client received (after Envoy's additions and the plugin's response callbacks). */
  headers: HeaderPair[];
  /** Body the client received, decoded as UTF-8. */
  body: string;
  bodyBytes: Uint8Array;
  /** Response code details (Envoy replaces whitespace with '_'). */
  details: string;
  /** Headers exactly as the plugin passed them to proxy_send_local_response (empty for Envoy's replies). */
  pluginHeaders: HeaderPair[];
  /** Who produced it: the plugin, Envoy itself (buffer limit), or the fail-closed path after a trap. */
  source: 'plugin' | 'envoy' | 'vm_failed';
  vmFailed: boolean;
  grpcStatus: number;
  /** Get a header (first value) of the reply. */
  header(name: string): string | undefined;
  /** The body parsed as JSON (throws if it isn't). */
  json(): unknown;
}

export interface ClientResponse {
  status: number;
  headers: HeaderPair[];
  body: Uint8Array;
  bodyText: string;
  trailers: HeaderPair[] | null;
  complete: boolean;
  header(name: string): string | undefined;
}

export interface CallbackEvent {
  fn: string;
  args: number[];
  ret: number | null; // null = trapped or void
}

/** What the stream needs from its FilterHost. */
export interface StreamHost {
  readonly failed: boolean;
  readonly failOpen: boolean;
  readonly bufferLimitBytes: number;
  readonly recordEvents: boolean;
  readonly holdJsonReplies?: boolean;
  hasExport(name: string): boolean;
  invoke(ctx: AbiContext, fn: string, args: number[]): { ok: boolean; value: number };
  takeActions(): HostAction[];
  runActions(actions: HostAction[]): void;
  rootContext(): AbiContext;
  streamFinished(s: HttpStream): void;
  streamTrapped(s: HttpStream): void;
  nowNs(): bigint;
  propertyFromOptions(path: string): Uint8Array | null;
  pluginProperty(top: string): Uint8Array | null;
  httpCallRecords(tokens: number[]): HttpCallRecord[];
}

export interface HostAction {
  kind: 'localReply' | 'continue' | 'close' | 'other';
  stream?: HttpStream;
  run(): void;
}

const EMPTY = new Uint8Array(0);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Growable byte buffer (amortized appends: bodies can arrive one byte at a time). */
class ByteBuffer {
  private buf: Uint8Array = EMPTY;
  private len = 0;
  get length(): number {
    return this.len;
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
  append(data: Uint8Array): void {
    if (data.length === 0) return;
    const need = this.len + data.length;
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.max(need, this.buf.length * 2, 256));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(data, this.len);
    this.len = need;
  }
  replace(data: Uint8Array): void {
    this.buf = data.slice();
    this.len = data.length;
  }
  /** Takes the content out (a copy) and empties the buffer. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.len);
    this.buf = EMPTY;
    this.len = 0;
    return out;
  }
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function i64(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(n), true);
  return b;
}

/** Envoy Buffer::copyFrom on a mutable buffer. */
function copyFrom(cur: Uint8Array, start: number, length: number, data: Uint8Array): { result: number; next: Uint8Array } {
  if (start === 0) {
    const rest = length === 0 ? cur : cur.subarray(Math.min(length, cur.length));
    return { result: WasmResult.Ok, next: concat(data.slice(), rest.slice()) };
  }
  if (start >= cur.length) return { result: WasmResult.Ok, next: concat(cur, data.slice()) };
  return { result: WasmResult.BadArgument, next: cur };
}

interface Sink {
  headers: HeaderPair[] | null;
  chunks: Uint8Array[];
  trailers: HeaderPair[] | null;
  complete: boolean;
}

class Flow {
  headers: HeaderMap | null = null;
  /** request_headers_ / response_headers_ non-null in the wasm Context. */
  headersAccessible = false;
  trailers: HeaderMap | null = null;
  trailersAccessible = false;
  headersDelivered = false;
  headersEos = false;
  headersContinued = false;
  stoppedAll = false;
  stoppedAllBuffer = false;
  bodyStopped = false;
  trailersStopped = false;
  /** buffering_request_body_: get_buffer_bytes reads the filter manager's buffered data. */
  buffering = false;
  /** FilterManager bufferedData() for this filter. */
  readonly held = new ByteBuffer();
  /** The chunk of the current/last data callback when not buffering (request_body_buffer_). */
  current: Uint8Array | null = null;
  inBodyCallback = false;
  eosReceived = false;
  pendingTrailers: HeaderMap | null = null;
  trailersDelivered = false;
  aborted = false;
  readonly sink: Sink = { headers: null, chunks: [], trailers: null, complete: false };
  /** Headers (and data) the response hold keeps from the client until the body ended. */
  heldForClient: { headers: HeaderPair[]; chunks: Uint8Array[] } | null = null;
  constructor(readonly dir: 'request' | 'response') {}

  bodyBuffer(): BufferAccess {
    if (this.buffering) {
      return {
        bytes: () => this.held.view(),
        set: (start, length, data) => {
          const r = copyFrom(this.held.view(), start, length, data);
          this.held.replace(r.next);
          return r.result;
        },
      };
    }
    if (this.current) {
      return {
        bytes: () => this.current ?? EMPTY,
        set: (start, length, data) => {
          const r = copyFrom(this.current ?? EMPTY, start, length, data);
          this.current = r.next;
          return r.result;
        },
      };
    }
    // Envoy: Buffer set to a null instance: reads as empty; writes are refused.
    return { bytes: () => EMPTY };
  }
}

let streamSerial = 0;

export class HttpStream implements AbiContext {
  readonly isRoot = false;
  readonly isStream = true;
  readonly serial = ++streamSerial;
  /** proxy_on_context_create was called (in_vm_context_created_). */
  created = false;
  accessLogPhase = false;
  status = { code: 0, message: '' };
  readonly req = new Flow('request');
  readonly resp = new Flow('response');
  readonly events: CallbackEvent[] = [];
  readonly filterState = new Map<string, Uint8Array>();
  readonly startNs: bigint;
  private _localReply: LocalReply | null = null;
  private encodingLocalReply = false;
  private failureReplySent = false;
  private responseCodeDetails: string | null = null;
  /** The plugin or Envoy aborted the stream (reset). */
  reset = false;
  resetReason: string | null = null;
  finished = false;
  vmFailed = false;
  /** Upstream saw the request headers, then the request was aborted (local reply / reset). */
  upstreamReset = false;
  /** Response to play from the upstream once the request is complete; false = client goes away instead. */
  autoResponse: ResponseSpec | false | null = null;
  /** Log records emitted while this stream was the current/effective context. */
  readonly logs: [number, string][] = [];
  /** http calls made from this stream's callbacks (or with it as effective context). */
  readonly httpCallIds: number[] = [];

  constructor(
    readonly id: number,
    private readonly host: StreamHost,
  ) {
    this.startNs = host.nowNs();
  }

  // ------------------------------------------------------------------ result view

  get localReply(): LocalReply | null {
    return this._localReply;
  }

  get ended(): boolean {
    return this._localReply !== null || this.reset || this.finished;
  }

  /**
   * True when the complete request (headers and body, end of stream) reached the upstream; a local
   * reply the plugin sent only in place of the upstream's response (the response hold) doesn't undo it.
   */
  get forwarded(): boolean {
    return this.req.sink.headers !== null && this.req.sink.complete && (this._localReply === null || this.repliedAfterUpstream) && !this.reset;
  }

  /** The local reply replaced a response the upstream had begun, after the whole request reached it. */
  private repliedAfterUpstream = false;

  get upstreamHeaders(): HeaderPair[] | null {
    return this.req.sink.headers;
  }

  get upstreamBody(): Uint8Array | null {
    if (this.req.sink.chunks.length === 0) return null;
    return concatAll(this.req.sink.chunks);
  }

  get upstreamBodyText(): string | null {
    const b = this.upstreamBody;
    return b === null ? null : decodeUtf8(b);
  }

  get upstreamTrailers(): HeaderPair[] | null {
    return this.req.sink.trailers;
  }

  upstreamHeader(name: string): string | undefined {
    const k = name.toLowerCase();
    return this.req.sink.headers?.find(([hk]) => hk === k)?.[1];
  }

  upstreamHeaderAll(name: string): string[] {
    const k = name.toLowerCase();
    return (this.req.sink.headers ?? []).filter(([hk]) => hk === k).map(([, v]) => v);
  }

  /** What the client received (upstream response through the plugin, or a local reply). */
  get response(): ClientResponse | null {
    const s = this.resp.sink;
    if (!s.headers) return null;
    const headers = s.headers;
    const body = concatAll(s.chunks);
    return {
      status: Number(headers.find(([k]) => k === ':status')?.[1] ?? 0),
      headers,
      body,
      bodyText: decodeUtf8(body),
      trailers: s.trailers,
      complete: s.complete,
      header: (n: string) => headers.find(([k]) => k === n.toLowerCase())?.[1],
    };
  }

  /** http calls this stream's callbacks made (answered or not). */
  get httpCalls(): HttpCallRecord[] {
    return this.host.httpCallRecords(this.httpCallIds);
  }

  /** http calls this stream made that have not been answered yet. */
  get pendingHttpCalls(): HttpCallRecord[] {
    return this.httpCalls.filter((c) => c.state === 'pending');
  }

  /** The stream has not finished yet (paused for continue_stream / an http call, or waiting for input). */
  get pending(): boolean {
    return !this.finished && !this.reset;
  }

  // ------------------------------------------------------------------ AbiContext

  rootContext(): AbiContext {
    return this.host.rootContext();
  }

  private flowFor(type: number): Flow | null {
    if (type === BufferType.HttpRequestBody) return this.req;
    if (type === BufferType.HttpResponseBody) return this.resp;
    return null;
  }

  getBuffer(type: number): BufferAccess | null {
    const f = this.flowFor(type);
    if (f) return f.bodyBuffer();
    if (type === BufferType.PluginConfiguration) return null;
    if (type === BufferType.HttpCallResponseBody || type === BufferType.VmConfiguration) {
      return this.host.rootContext().getBuffer(type);
    }
    return { bytes: () => EMPTY };
  }

  getConstMap(type: number): HeaderMap | null {
    if (this.accessLogPhase) {
      if (type === MapType.RequestHeaders) return this.req.headers;
      if (type === MapType.ResponseHeaders) return this.resp.headers;
      if (type === MapType.ResponseTrailers) return this.resp.trailers;
      if (type === MapType.RequestTrailers) return null;
    }
    switch (type) {
      case MapType.RequestHeaders:
        return this.req.headersAccessible ? this.req.headers : null;
      case MapType.RequestTrailers:
        return this.req.trailersAccessible ? this.req.trailers : null;
      case MapType.ResponseHeaders:
        return this.resp.headersAccessible ? this.resp.headers : null;
      case MapType.ResponseTrailers:
        return this.resp.trailersAccessible ? this.resp.trailers : null;
      case MapType.HttpCallResponseHeaders:
      case MapType.HttpCallResponseTrailers:
        return this.host.rootContext().getConstMap(type);
      default:
        return null;
    }
  }

  getMap(type: number): HeaderMap | null {
    switch (type) {
      case MapType.RequestHeaders:
        return this.req.headersAccessible ? this.req.headers : null;
      case MapType.RequestTrailers:
        return this.trailersForWrite(this.req);
      case MapType.ResponseHeaders:
        return this.resp.headersAccessible ? this.resp.headers : null;
      case MapType.ResponseTrailers:
        return this.trailersForWrite(this.resp);
      default:
        return null;
    }
  }

  private trailersForWrite(f: Flow): HeaderMap | null {
    if (f.trailersAccessible) return f.trailers;
    // Envoy: during the last body callback, asking for trailers to modify adds (empty) trailers.
    if (f.inBodyCallback && f.eosReceived && !f.trailers) {
      f.trailers = new HeaderMap();
      f.trailersAccessible = true;
      return f.trailers;
    }
    return null;
  }

  onHeadersModified(_type: number): void {}

  getProperty(path: string): Uint8Array | null {
    const parts = path.split('\0');
    const top = parts[0] ?? '';
    const fromPlugin = this.host.pluginProperty(top);
    if (fromPlugin && parts.length === 1) return fromPlugin;
    if (top === 'request' || top === 'response') {
      const v = this.streamAttribute(top, parts.slice(1));
      if (v !== undefined) return v;
    }
    const configured = this.host.propertyFromOptions(path);
    if (configured) return configured;
    if (parts.length === 1) return this.filterState.get(top) ?? null;
    return null;
  }

  private streamAttribute(top: 'request' | 'response', rest: string[]): Uint8Array | null | undefined {
    const f = top === 'request' ? this.req : this.resp;
    const map = this.accessLogPhase || f.headersAccessible ? f.headers : null;
    const name = rest[0];
    if (top === 'request') {
      if (name === 'time') return i64(this.startNs);
      if (name === 'protocol') return toBytes('HTTP/1.1');
    } else {
      if (name === 'code') {
        const st = this.resp.headers?.get(':status');
        return st ? i64(Number(st)) : null;
      }
      if (name === 'code_details') return this.responseCodeDetails ? toBytes(this.responseCodeDetails) : null;
    }
    if (!map) return null;
    const hdr = (k: string) => {
      const v = map.get(k);
      return v === undefined ? null : toBytes(v);
    };
    if (rest.length === 0) return null;
    if (name === 'headers') {
      if (rest.length === 1) return encodePairs(map.pairs());
      return hdr(rest[1]!);
    }
    if (top === 'response') return null;
    const path = map.get(':path') ?? '';
    const q = path.indexOf('?');
    switch (name) {
      case 'path':
        return hdr(':path');
      case 'url_path':
        return toBytes(q < 0 ? path : path.slice(0, q));
      case 'query':
        return toBytes(q < 0 ? '' : path.slice(q + 1));
      case 'host':
        return hdr(':authority');
      case 'scheme':
        return hdr(':scheme');
      case 'method':
        return hdr(':method');
      case 'referer':
        return hdr('referer');
      case 'useragent':
        return hdr('user-agent');
      case 'id':
        return hdr('x-request-id');
      default:
        return null;
    }
  }

  setProperty(path: string, value: Uint8Array): number {
    this.filterState.set(path, value.slice());
    return WasmResult.Ok;
  }

  // ------------------------------------------------------------------ driving the stream

  private invoke(fn: string, args: number[]): { ok: boolean; value: number } {
    const r = this.host.invoke(this, fn, args);
    // Like cpp-host, a callback the module doesn't export is skipped: no event.
    if (this.host.recordEvents && this.host.hasExport(fn)) this.events.push({ fn, args, ret: r.ok ? r.value : null });
    return r;
  }

  private ensureCreated(): boolean {
    if (this.created) return true;
    if (this.host.failed) return false;
    this.created = true; // Envoy sets in_vm_context_created_ even if the SDK has no on_context_create
    if (this.host.hasExport('proxy_on_context_create')) {
      const r = this.invoke('proxy_on_context_create', [this.id, this.host.rootContext().id]);
      const actions = this.host.takeActions();
      if (!r.ok) return false;
      this.host.runActions(actions);
    }
    return true;
  }

  /** Downstream sends the request headers. */
  sendHeaders(headers: HeadersInit, endOfStream = false): void {
    if (this.req.headersDelivered) throw new Error('request headers already sent');
    const map = new HeaderMap(headers);
    const f = this.req;
    f.headers = map;
    f.headersDelivered = true;
    f.headersEos = endOfStream;
    f.eosReceived = endOfStream;
    if (this.host.failed) {
      this.failClosed();
      return;
    }
    if (!this.ensureCreated()) {
      this.onTrap();
      return;
    }
    this.deliverHeaders(f);
  }

  /** Downstream sends one body chunk. */
  sendBody(chunk: BodyInit, endOfStream = false): void {
    if (!this.req.headersDelivered) throw new Error('send request headers first');
    if (this.req.eosReceived) throw new Error('request already ended');
    if (this.ended || this.req.aborted) return;
    this.deliverData(this.req, toBytes(chunk), endOfStream);
  }

  /** Downstream sends request trailers (ends the request). */
  sendTrailers(trailers: HeadersInit): void {
    if (this.req.eosReceived) throw new Error('request already ended');
    if (this.ended || this.req.aborted) return;
    this.deliverTrailers(this.req, new HeaderMap(trailers));
  }

  /** The upstream answers (response headers, body, trailers) through the plugin to the client. */
  respond(spec: ResponseSpec = {}): void {
    if (this.ended || this.resp.headersDelivered) return;
    const headers = new HeaderMap([[':status', String(spec.status ?? 200)]]);
    for (const [k, v] of toPairs(spec.headers)) if (k !== ':status') headers.add(k, v);
    const chunks = (spec.chunks ?? (spec.body !== undefined ? [spec.body] : [])).map((c) => toBytes(c).slice());
    const trailers = spec.trailers ? new HeaderMap(spec.trailers) : null;
    this.playResponse(headers, chunks, trailers);
  }

  sendResponseHeaders(headers: HeadersInit, endOfStream = false): void {
    if (this.ended || this.resp.headersDelivered) return;
    const map = new HeaderMap(headers);
    if (!map.has(':status')) map.add(':status', '200');
    this.resp.headers = map;
    this.resp.headersDelivered = true;
    this.resp.headersEos = endOfStream;
    this.resp.eosReceived = endOfStream;
    this.deliverHeaders(this.resp);
  }

  sendResponseBody(chunk: BodyInit, endOfStream = false): void {
    if (this.ended || !this.resp.headersDelivered || this.resp.eosReceived) return;
    this.deliverData(this.resp, toBytes(chunk), endOfStream);
  }

  sendResponseTrailers(trailers: HeadersInit): void {
    if (this.ended || !this.resp.headersDelivered || this.resp.eosReceived) return;
    this.deliverTrailers(this.resp, new HeaderMap(trailers));
  }

  /** The client goes away / the stream is torn down: access log, on_done, on_delete. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.created && !this.host.failed) {
      this.accessLogPhase = true;
      const r1 = this.invoke('proxy_on_log', [this.id]);
      this.accessLogPhase = false;
      let actions = this.host.takeActions();
      if (r1.ok) {
        this.host.runActions(actions);
        const r2 = this.invoke('proxy_on_done', [this.id]);
        actions = this.host.takeActions();
        if (r2.ok) {
          this.host.runActions(actions);
          this.invoke('proxy_on_delete', [this.id]);
          this.host.runActions(this.host.takeActions());
        } else this.host.streamTrapped(this);
      } else this.host.streamTrapped(this);
    }
    this.host.streamFinished(this);
  }

  private playResponse(headers: HeaderMap, chunks: Uint8Array[], trailers: HeaderMap | null): void {
    const noBody = chunks.length === 0 && !trailers;
    this.sendResponseHeaders(headers.pairs(), noBody);
    chunks.forEach((c, i) => {
      if (!this.ended) this.sendResponseBody(c, i === chunks.length - 1 && !trailers);
    });
    if (trailers && !this.ended) this.sendResponseTrailers(trailers.pairs());
  }

  // ------------------------------------------------------------------ per-direction machinery

  private cb(f: Flow, what: 'headers' | 'body' | 'trailers'): string {
    const d = f.dir === 'request' ? 'request' : 'response';
    return `proxy_on_${d}_${what}`;
  }

  private deliverHeaders(f: Flow): void {
    if (!f.headers) return;
    f.headersAccessible = true;
    const r = this.invoke(this.cb(f, 'headers'), [this.id, f.headers.size, f.headersEos ? 1 : 0]);
    if (!this.afterCallback(r)) return;
    if (this.flowClosed(f)) return;
    // cpp-host: StopIteration (1) and anything > 4 become StopAllIterationAndWatermark.
    const v = r.value;
    if (v === HeadersAction.Continue || v === HeadersAction.ContinueAndEndStream) {
      this.forwardHeaders(f);
    } else {
      f.stoppedAll = true;
      f.stoppedAllBuffer = v === HeadersAction.StopAllIterationAndBuffer;
    }
    this.runRest();
  }

  private deliverData(f: Flow, chunk: Uint8Array, eos: boolean): void {
    if (this.flowClosed(f)) return;
    if (f.stoppedAll && !f.headersContinued) {
      // The filter manager holds the data for a filter that stopped all iteration.
      f.held.append(chunk);
      if (eos) f.eosReceived = true;
      if (f.stoppedAllBuffer && f.held.length > this.host.bufferLimitBytes) this.bufferOverflow(f);
      return;
    }
    if (eos) f.eosReceived = true;
    if (f.buffering) {
      f.held.append(chunk);
      f.current = null;
      if (f.held.length > this.host.bufferLimitBytes) {
        this.bufferOverflow(f);
        return;
      }
    } else {
      f.current = chunk;
    }
    const size = f.buffering ? f.held.length : chunk.length;
    f.inBodyCallback = true;
    const r = this.invoke(this.cb(f, 'body'), [this.id, size, eos ? 1 : 0]);
    f.inBodyCallback = false;
    const wasBuffering = f.buffering;
    f.buffering = false;
    if (!this.afterCallback(r)) return;
    if (this.flowClosed(f)) return;
    const v = r.value > DataAction.StopIterationNoBuffer ? DataAction.StopIterationNoBuffer : r.value;
    const endNow = eos && !f.pendingTrailers;
    switch (v) {
      case DataAction.Continue: {
        if (!wasBuffering && f.current) f.held.append(f.current);
        const data = f.held.take();
        f.current = null;
        f.bodyStopped = false;
        this.forwardData(f, data, endNow);
        break;
      }
      case DataAction.StopIterationAndBuffer:
        if (!wasBuffering && f.current) f.held.append(f.current);
        f.current = null;
        f.buffering = true;
        f.bodyStopped = true;
        if (f.held.length > this.host.bufferLimitBytes) {
          this.bufferOverflow(f);
          return;
        }
        break;
      case DataAction.StopIterationAndWatermark:
        if (!wasBuffering && f.current) f.held.append(f.current);
        f.current = null;
        f.bodyStopped = true;
        break;
      default:
        // StopIterationNoBuffer: the filter manager does not keep the chunk.
        f.current = null;
        f.bodyStopped = true;
        break;
    }
    this.runRest();
  }

  private deliverTrailers(f: Flow, trailers: HeaderMap): void {
    f.eosReceived = true;
    if (f.stoppedAll && !f.headersContinued) {
      f.pendingTrailers = trailers;
      return;
    }
    f.trailers = trailers;
    f.trailersAccessible = true;
    f.trailersDelivered = true;
    const r = this.invoke(this.cb(f, 'trailers'), [this.id, trailers.size]);
    if (!this.afterCallback(r)) return;
    if (this.flowClosed(f)) return;
    if (r.value === 0) {
      f.trailersAccessible = false;
      if (f.bodyStopped) {
        // FilterManager: Continue from trailers on a filter stopped at data resumes it (commonContinue).
        f.pendingTrailers = trailers;
        this.continueFlow(f);
      } else {
        this.forwardTrailers(f);
      }
    } else {
      f.trailersStopped = true;
      f.pendingTrailers = trailers;
    }
    this.runRest();
  }

  /** continueDecoding()/continueEncoding() after proxy_continue_stream. */
  continueFlow(f: Flow): void {
    if (this.flowClosed(f) || !f.headersDelivered) return;
    if (!f.headersContinued) {
      f.stoppedAll = false;
      const held = f.held.take();
      const hasBody = held.length > 0 || (!f.headersEos && f.eosReceived && !f.pendingTrailers);
      this.forwardHeaders(f, !hasBody && f.headersEos);
      if (hasBody) {
        // Envoy resumes a StopAll filter from itself: the held data goes to the plugin's body callback.
        this.deliverData(f, held, f.eosReceived && !f.pendingTrailers);
      }
      if (f.pendingTrailers && !this.flowClosed(f) && !f.bodyStopped) {
        const t = f.pendingTrailers;
        f.pendingTrailers = null;
        this.deliverTrailers(f, t);
      }
      return;
    }
    if (f.bodyStopped || f.trailersStopped) {
      if (f.current) f.held.append(f.current);
      const data = f.held.take();
      f.current = null;
      f.bodyStopped = false;
      f.buffering = false;
      const trailers = f.pendingTrailers;
      f.trailersStopped = false;
      if (data.length > 0 || (f.eosReceived && !trailers)) this.forwardData(f, data, f.eosReceived && !trailers);
      if (trailers && !this.flowClosed(f)) {
        f.pendingTrailers = null;
        f.trailers = trailers;
        this.forwardTrailers(f);
      }
    }
  }

  private forwardHeaders(f: Flow, endStream = f.headersEos): void {
    if (!f.headers) return;
    f.headersContinued = true;
    f.headersAccessible = false; // Envoy: request_headers_ = nullptr after Continue / continue_stream
    if (!endStream && f.dir === 'response' && this.host.holdJsonReplies && /json/i.test(f.headers.get('content-type') ?? '')) {
      f.heldForClient = { headers: f.headers.pairs(), chunks: [] };
      return;
    }
    f.sink.headers = f.headers.pairs();
    if (endStream) this.sinkComplete(f);
  }

  private forwardData(f: Flow, data: Uint8Array, eos: boolean): void {
    const held = f.heldForClient;
    if (held) {
      if (data.length > 0) held.chunks.push(data);
      if (!eos) return;
      f.heldForClient = null;
      f.sink.headers = held.headers;
      f.sink.chunks.push(...held.chunks);
      this.sinkComplete(f);
      return;
    }
    if (data.length > 0) f.sink.chunks.push(data);
    if (eos) this.sinkComplete(f);
  }

  private forwardTrailers(f: Flow): void {
    const held = f.heldForClient;
    if (held) {
      f.heldForClient = null;
      f.sink.headers = held.headers;
      f.sink.chunks.push(...held.chunks);
    }
    f.sink.trailers = f.trailers ? f.trailers.pairs() : [];
    f.trailersAccessible = false;
    this.sinkComplete(f);
  }

  private sinkComplete(f: Flow): void {
    if (f.sink.complete) return;
    f.sink.complete = true;
    if (f.dir === 'request') {
      // The request is fully upstream: let the upstream answer (or the client go away).
      const spec = this.autoResponse;
      if (spec === false) this.pendingAfter.push(() => this.finish());
      else if (spec) this.pendingAfter.push(() => this.respond(spec));
    } else {
      this.pendingAfter.push(() => this.finish());
    }
  }

  /** Work deferred until the current callback's status has been applied. */
  private pendingAfter: (() => void)[] = [];
  private restActions: HostAction[] = [];

  private runRest(): void {
    if (this.restActions.length === 0 && this.pendingAfter.length === 0) return;
    const acts = this.restActions;
    this.restActions = [];
    this.host.runActions(acts);
    while (this.pendingAfter.length > 0) {
      const f = this.pendingAfter.shift()!;
      f();
    }
  }

  /**
   * Handles what a callback left behind: a trap fails the stream (503 fail-closed); a local reply
   * queued by this callback is sent before the returned status is looked at (Envoy runs the deferred
   * reply first and then ignores the status). Returns false when the caller must stop.
   */
  private afterCallback(r: { ok: boolean }): boolean {
    const actions = this.host.takeActions();
    if (!r.ok) {
      this.onTrap();
      return false;
    }
    if (actions.length === 0) return !this.finished;
    const replies = actions.filter((a) => a.kind === 'localReply');
    const rest = actions.filter((a) => a.kind !== 'localReply');
    const replyBefore = this._localReply;
    const resetBefore = this.reset;
    for (const a of replies) a.run();
    this.restActions.push(...rest);
    if (this._localReply !== replyBefore || this.reset !== resetBefore || this.finished) {
      this.runRest();
      return false;
    }
    return true;
  }

  private flowClosed(f: Flow): boolean {
    if (this.reset || this.finished) return true;
    if (f.dir === 'request') return this._localReply !== null || f.aborted;
    return f.aborted;
  }

  private onTrap(): void {
    this.vmFailed = true;
    this.host.streamTrapped(this);
    if (this.host.failOpen) {
      // FAIL_OPEN: the stream goes on as if the filter weren't there.
      this.passThrough();
      return;
    }
    this.failClosed();
  }

  /** FAIL_OPEN after a trap: let the rest of the stream through untouched. */
  private passThrough(): void {
    for (const f of [this.req, this.resp]) {
      if (!f.headersDelivered || f.sink.complete) continue;
      if (!f.headersContinued) this.forwardHeaders(f);
      if (f.current) f.held.append(f.current);
      const data = f.held.take();
      f.current = null;
      if (data.length > 0 || f.eosReceived) this.forwardData(f, data, f.eosReceived);
    }
    this.runRest();
  }

  /** Envoy failStream(): 503 local reply, details wasm_fail_stream, not passed to the (failed) VM. */
  failClosed(): void {
    this.vmFailed = true;
    if (this.failureReplySent || this.finished) return;
    this.failureReplySent = true;
    if (this.host.failOpen) {
      this.passThrough();
      return;
    }
    this.sendLocalReply(503, EMPTY, [], Details.failStream, 'vm_failed', 14);
    this.runRest();
  }

  private bufferOverflow(f: Flow): void {
    if (f.dir === 'request') {
      this.sendLocalReply(413, toBytes('Payload Too Large'), [], Details.payloadTooLarge, 'envoy', -1);
    } else {
      this.sendLocalReply(500, toBytes('Internal Server Error'), [], 'response_payload_too_large', 'envoy', -1);
    }
    this.runRest();
  }

  /** Envoy Utility::sendLocalReply through the encoder filters (the plugin sees its own reply). */
  sendLocalReply(
    status: number,
    body: Uint8Array,
    pluginHeaders: HeaderPair[],
    details: string,
    source: LocalReply['source'],
    grpcStatus: number,
  ): void {
    if (this.finished || this.reset) return;
    if (this.resp.sink.headers !== null || this.encodingLocalReply) {
      // The response has started (or a local reply is being sent): Envoy resets the stream instead.
      this.doReset(`local reply ${status} after the response started`);
      return;
    }
    if (this.req.sink.headers && !this.req.sink.complete) this.upstreamReset = true;
    this.repliedAfterUpstream = this.req.sink.complete && this.resp.headers !== null;
    this.req.aborted = true;
    this.responseCodeDetails = details.replace(/\s/g, '_');
    const headers = new HeaderMap([[':status', String(status)]]);
    for (const [k, v] of pluginHeaders) headers.add(k, v);
    if (body.length > 0) {
      headers.set('content-length', String(body.length));
      if (!headers.has('content-type')) headers.set('content-type', 'text/plain');
    }
    // A new response replaces whatever upstream response the plugin was holding back.
    const resp = this.resp;
    Object.assign(resp, new Flow('response'));
    const reply: LocalReply = {
      status,
      headers: [],
      body: '',
      bodyBytes: EMPTY,
      details: this.responseCodeDetails,
      pluginHeaders,
      source,
      vmFailed: source === 'vm_failed',
      grpcStatus,
      header: (n: string) => reply.headers.find(([k]) => k === n.toLowerCase())?.[1],
      json: () => JSON.parse(reply.body),
    };
    this._localReply = reply;
    const viaPlugin = source !== 'vm_failed' && !this.host.failed && this.created;
    if (viaPlugin) {
      this.encodingLocalReply = true;
      resp.headers = headers;
      resp.headersDelivered = true;
      resp.headersEos = body.length === 0;
      resp.eosReceived = body.length === 0;
      this.deliverHeaders(resp);
      if (body.length > 0 && !this.reset && !this.finished) this.deliverData(resp, body, true);
      this.encodingLocalReply = false;
    } else {
      resp.headers = headers;
      resp.sink.headers = headers.pairs();
      if (body.length > 0) resp.sink.chunks.push(body);
      resp.sink.complete = true;
      this.pendingAfter.push(() => this.finish());
    }
    this.refreshReplyView();
  }

  private refreshReplyView(): void {
    const r = this._localReply;
    if (!r) return;
    const s = this.resp.sink;
    if (s.headers) {
      r.headers = s.headers;
      r.status = Number(s.headers.find(([k]) => k === ':status')?.[1] ?? r.status);
      r.bodyBytes = concatAll(s.chunks);
      r.body = decodeUtf8(r.bodyBytes);
    }
  }

  /** Called after later events (the reply's body may still be held by the plugin). */
  syncReply(): void {
    this.refreshReplyView();
  }

  doReset(reason: string): void {
    if (this.reset || this.finished) return;
    this.reset = true;
    this.resetReason = reason;
    if (this.req.sink.headers && !this.req.sink.complete) this.upstreamReset = true;
    this.pendingAfter.push(() => this.finish());
  }

  /** Runs deferred work (actions, stream completion) and refreshes the reply view. */
  flush(): void {
    this.runRest();
    this.syncReply();
  }

  /** A host action queued by the plugin for this stream (proxy_continue_stream). */
  continueStream(type: number): void {
    if (type === 0) {
      this.req.headersAccessible = false; // Envoy nulls request_* in continueStream
      this.continueFlow(this.req);
    } else if (type === 1) {
      this.req.headersAccessible = false;
      this.continueFlow(this.resp);
    }
    this.flush();
  }

  /** Test-side helper: the result as plain data (for debugging output). */
  summary(): Record<string, unknown> {
    return {
      id: this.id,
      forwarded: this.forwarded,
      upstreamHeaders: this.upstreamHeaders,
      upstreamBody: this.upstreamBodyText,
      localReply: this._localReply && {
        status: this._localReply.status,
        headers: this._localReply.headers,
        body: this._localReply.body,
        details: this._localReply.details,
        source: this._localReply.source,
      },
      reset: this.reset,
      pending: this.pending,
      events: this.events.map((e) => `${e.fn}(${e.args.join(',')}) -> ${e.ret}`),
    };
  }
}
