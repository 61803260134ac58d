// Tests of the harness itself, with small hand-built proxy-wasm modules: the load-time checks Envoy
// makes, the body-buffering and local-reply paths, and fail-closed after a trap. They make sure the
// harness catches what the real filter's tests rely on it to catch.

import { describe, expect, it } from 'vitest';
import { FilterHost, SharedState, WasmLoadError, encodePairs, decodePairs } from './index.js';
import { buildModule, bumpAllocatorBody, funcIndex, op, sleb, type ModuleSpec } from './testdata/wasm_builder.js';

const IMPORTS = [
  { module: 'env', name: 'proxy_log', sig: 'iii:i' },
  { module: 'env', name: 'proxy_send_local_response', sig: 'iiiiiiii:i' },
  { module: 'env', name: 'proxy_add_header_map_value', sig: 'iiiii:i' },
  { module: 'env', name: 'proxy_get_header_map_value', sig: 'iiiii:i' },
  { module: 'env', name: 'proxy_continue_stream', sig: 'i:i' },
  { module: 'wasi_snapshot_preview1', name: 'fd_write', sig: 'iiii:i' },
];

const DATA = [
  { offset: 16, bytes: 'x-mock' },
  { offset: 32, bytes: 'yes' },
  { offset: 48, bytes: 'denied' },
  { offset: 64, bytes: 'mock deny' },
  { offset: 80, bytes: ':authority' },
  { offset: 96, bytes: 'x-authority' },
  { offset: 112, bytes: 'x-late' },
  { offset: 128, bytes: 'content-type' },
  { offset: 144, bytes: 'application/json' },
];

const c = (n: number) => [op.i32Const, ...sleb(n)];

/**
 * A mock filter: adds `x-mock: yes` and `x-authority: <:authority>` on request headers; buffers the
 * body to its end; a 5-byte body is denied with 403 "denied"; a body over 10 bytes traps; at end of
 * a body it tries to add `x-late` (Envoy refuses: headers are gone).
 */
function mockSpec(overrides: Partial<ModuleSpec> = {}, extra: ModuleSpec['functions'] = []): ModuleSpec {
  const spec: ModuleSpec = {
    imports: IMPORTS,
    globals: [4096],
    data: DATA,
    functions: [],
    ...overrides,
  };
  const idx = (n: string) => funcIndex(spec, n);
  spec.functions = [
    { export: 'proxy_abi_version_0_2_1', sig: ':', body: [] },
    { export: 'proxy_on_memory_allocate', sig: 'i:i', body: bumpAllocatorBody },
    { export: '_initialize', sig: ':', body: [] },
    { export: 'proxy_on_context_create', sig: 'ii:', body: [] },
    { export: 'proxy_on_vm_start', sig: 'ii:i', body: c(1) },
    { export: 'proxy_on_configure', sig: 'ii:i', body: c(1) },
    {
      export: 'proxy_on_request_headers',
      sig: 'iii:i',
      body: [
        ...c(0), ...c(16), ...c(6), ...c(32), ...c(3), op.call, idx('proxy_add_header_map_value'), op.drop,
        // get :authority into (200, 204), then add x-authority with it
        ...c(0), ...c(80), ...c(10), ...c(200), ...c(204), op.call, idx('proxy_get_header_map_value'), op.drop,
        ...c(0), ...c(96), ...c(11),
        ...c(200), op.i32Load, 2, 0,
        ...c(204), op.i32Load, 2, 0,
        op.call, idx('proxy_add_header_map_value'), op.drop,
        ...c(0),
      ],
    },
    {
      export: 'proxy_on_request_body',
      sig: 'iii:i',
      body: [
        op.localGet, 2, op.i32Eqz, op.if, 0x40, ...c(1), op.return, op.end,
        // too late for headers: Envoy answers BAD_ARGUMENT
        ...c(0), ...c(112), ...c(6), ...c(32), ...c(3), op.call, idx('proxy_add_header_map_value'), op.drop,
        op.localGet, 1, ...c(10), 0x4b /* i32.gt_u */, op.if, 0x40, op.unreachable, op.end,
        op.localGet, 1, ...c(5), 0x46 /* i32.eq */, op.if, 0x40,
        // headers pairs for the reply: built at 300 by the test module data below
        ...c(403), ...c(64), ...c(9), ...c(48), ...c(6), ...c(300), ...c(LOCAL_REPLY_HEADERS.length), ...c(-1),
        op.call, idx('proxy_send_local_response'), op.drop,
        op.end,
        ...c(0),
      ],
    },
    { export: 'proxy_on_response_headers', sig: 'iii:i', body: c(0) },
    { export: 'proxy_on_done', sig: 'i:i', body: c(1) },
    { export: 'proxy_on_log', sig: 'i:', body: [] },
    { export: 'proxy_on_delete', sig: 'i:', body: [] },
    ...extra,
  ];
  spec.data = [...(spec.data ?? []), { offset: 300, bytes: LOCAL_REPLY_HEADERS }];
  return spec;
}

const LOCAL_REPLY_HEADERS = encodePairs([['content-type', 'application/json']]);

const H = (): [string, string][] => [
  [':method', 'POST'],
  [':path', '/v1/chat/completions'],
  [':authority', 'api.openai.com'],
  ['content-type', 'application/json'],
];

async function mockHost(spec = mockSpec()): Promise<FilterHost> {
  const host = await FilterHost.load({ wasmBytes: buildModule(spec), pluginConfig: '{}' });
  expect(host.configure()).toBe(true);
  return host;
}

describe('harness: wire format', () => {
  it('encodes and decodes header pairs like cpp-host', () => {
    const enc = encodePairs([[':path', '/'], ['a', 'b']]);
    // count 2; sizes (5,1) (1,1); ":path\0/\0a\0b\0"
    expect([...enc.subarray(0, 4)]).toEqual([2, 0, 0, 0]);
    expect(enc.length).toBe(4 + 16 + 6 + 2 + 2 + 2);
    expect(decodePairs(enc)).toEqual({ pairs: [[':path', '/'], ['a', 'b']], ok: true });
  });

  it('round-trips UTF-8 names and values, with the sizes in bytes', () => {
    const pairs: [string, string][] = [[':authority', 'api.openai.com'], ['x-a', ''], ['ü', 'ö']];
    const bytes = encodePairs(pairs);
    const v = new DataView(bytes.buffer);
    expect(v.getUint32(0, true)).toBe(3);
    expect(v.getUint32(4, true)).toBe(10);
    expect(v.getUint32(8, true)).toBe(14);
    expect(bytes[4 + 3 * 8 + 10]).toBe(0);
    expect(decodePairs(bytes)).toEqual({ pairs, ok: true });
  });

  it('reads a malformed map as empty', () => {
    const enc = encodePairs([['a', 'b']]);
    enc[enc.length - 1] = 1; // missing NUL terminator
    expect(decodePairs(enc).pairs).toEqual([]);
    expect(decodePairs(enc.subarray(0, 6)).pairs).toEqual([]);
    expect(decodePairs(new Uint8Array([...encodePairs([['a', 'b']]), 0])).pairs).toEqual([]);
  });
});

describe('harness: Envoy load-time checks', () => {
  it('loads a well-formed module', async () => {
    const host = await mockHost();
    expect(host.trapped).toBe(false);
  });

  it('refuses a module importing env.abort (Envoy provides no such import)', async () => {
    const spec = mockSpec({ imports: [...IMPORTS, { module: 'env', name: 'abort', sig: 'iiii:' }] });
    await expect(FilterHost.load({ wasmBytes: buildModule(spec) })).rejects.toThrow(/missing import: env\.abort/);
  });

  it('refuses env.trace and env.seed too', async () => {
    for (const imp of [
      { module: 'env', name: 'trace', sig: 'iiiddddd:'.replace(/d/g, 'F') },
      { module: 'env', name: 'seed', sig: ':F' },
    ]) {
      const spec = mockSpec({ imports: [...IMPORTS, imp] });
      await expect(FilterHost.load({ wasmBytes: buildModule(spec) })).rejects.toThrow(WasmLoadError);
    }
  });

  it('refuses an import with the wrong signature', async () => {
    const spec = mockSpec({
      imports: IMPORTS.map((i) => (i.name === 'proxy_log' ? { ...i, sig: 'ii:i' } : i)),
    });
    await expect(FilterHost.load({ wasmBytes: buildModule(spec) })).rejects.toThrow(/type mismatch.*env\.proxy_log/);
  });

  it('refuses ABI 0.1.0-only imports in a 0.2.1 module', async () => {
    const spec = mockSpec({ imports: [...IMPORTS, { module: 'env', name: 'proxy_continue_request', sig: ':i' }] });
    await expect(FilterHost.load({ wasmBytes: buildModule(spec) })).rejects.toThrow(/missing import: env\.proxy_continue_request/);
  });

  it('refuses a callback with the wrong signature ("Bad function signature")', async () => {
    const spec = mockSpec();
    const i = spec.functions.findIndex((f) => f.export === 'proxy_on_request_headers');
    spec.functions[i] = { export: 'proxy_on_request_headers', sig: 'ii:i', body: c(0) };
    await expect(FilterHost.load({ wasmBytes: buildModule(spec) })).rejects.toThrow(/Bad function signature for: proxy_on_request_headers/);
  });

  it('refuses a module without an allocator', async () => {
    const spec = mockSpec();
    spec.functions = spec.functions.map((f) => (f.export === 'proxy_on_memory_allocate' ? { ...f, export: 'my_alloc' } : f));
    await expect(FilterHost.load({ wasmBytes: buildModule(spec) })).rejects.toThrow(/missing malloc/);
  });

  it('refuses a module without the ABI version marker', async () => {
    const spec = mockSpec();
    spec.functions = spec.functions.map((f) => (f.export === 'proxy_abi_version_0_2_1' ? { ...f, export: 'x' } : f));
    await expect(FilterHost.load({ wasmBytes: buildModule(spec) })).rejects.toThrow(/ABI version/);
  });

  it('traps a host call during _initialize that Envoy restricts (e.g. logging is fine, headers are not)', async () => {
    const ok = mockSpec();
    ok.functions = ok.functions.map((f) =>
      f.export === '_initialize'
        ? { ...f, body: [...c(2), ...c(16), ...c(6), op.call, funcIndex(ok, 'proxy_log'), op.drop] }
        : f,
    );
    const host = await FilterHost.load({ wasmBytes: buildModule(ok) });
    expect(host.logs).toContainEqual([2, 'x-mock']);

    const bad = mockSpec();
    bad.functions = bad.functions.map((f) =>
      f.export === '_initialize'
        ? { ...f, body: [...c(0), ...c(16), ...c(6), ...c(32), ...c(3), op.call, funcIndex(bad, 'proxy_add_header_map_value'), op.drop] }
        : f,
    );
    await expect(FilterHost.load({ wasmBytes: buildModule(bad) })).rejects.toThrow(/restricted_callback/);
  });
});

describe('harness: callbacks a module does not export', () => {
  it('a missing proxy_on_done counts as done, as in cpp-host: shutdown goes on to proxy_on_delete', async () => {
    const spec = mockSpec();
    spec.functions = spec.functions.filter((f) => f.export !== 'proxy_on_done' && f.export !== 'proxy_on_delete');
    const idx = (n: string) => funcIndex(spec, n);
    // proxy_on_delete logs "denied" (bytes 48..54) at level 2, so the test can see it ran.
    spec.functions.push({ export: 'proxy_on_delete', sig: 'i:', body: [...c(2), ...c(48), ...c(6), op.call, idx('proxy_log'), op.drop] });
    const host = await mockHost(spec);
    const r = host.request({ headers: H() });
    expect(r.forwarded).toBe(true);
    expect(r.events.map((e) => e.fn)).not.toContain('proxy_on_done');
    host.logs.length = 0;
    host.shutdown();
    expect(host.logs).toContainEqual([2, 'denied']);
  });
});

describe('harness: streams', () => {
  it('forwards a bodiless request with the headers the plugin added (values copied through the allocator)', async () => {
    const host = await mockHost();
    const r = host.request({ headers: H() });
    expect(r.forwarded).toBe(true);
    expect(r.upstreamHeader('x-mock')).toBe('yes');
    expect(r.upstreamHeader('x-authority')).toBe('api.openai.com');
    expect(r.response?.status).toBe(200);
    expect(r.events.map((e) => e.fn)).toEqual([
      'proxy_on_context_create',
      'proxy_on_request_headers',
      'proxy_on_response_headers',
      'proxy_on_log',
      'proxy_on_done',
      'proxy_on_delete',
    ]);
  });

  it('buffers: the next body callback gets the total buffered size; Continue forwards it all', async () => {
    const host = await mockHost();
    const r = host.request({ headers: H(), chunks: ['a', 'b', 'c'], response: false });
    const bodyCalls = r.events.filter((e) => e.fn === 'proxy_on_request_body');
    expect(bodyCalls.map((e) => e.args.slice(1))).toEqual([
      [1, 0],
      [2, 0],
      [3, 1],
    ]);
    expect(r.forwarded).toBe(true);
    expect(r.upstreamBodyText).toBe('abc');
  });

  it('headers can no longer be changed from a body callback once the headers callback returned Continue', async () => {
    const host = await mockHost();
    const r = host.request({ headers: H(), body: 'abc' });
    expect(r.forwarded).toBe(true);
    expect(r.upstreamHeader('x-late')).toBeUndefined();
    expect(host.hostCallErrors).toContainEqual({ fn: 'proxy_add_header_map_value', status: 'BadArgument', contextId: r.id });
  });

  it('a local reply ends the stream: nothing more forwarded, the reply goes through the response callbacks', async () => {
    const host = await mockHost();
    const r = host.request({ headers: H(), chunks: ['he', 'llo'] });
    expect(r.forwarded).toBe(false);
    expect(r.upstreamBody).toBeNull();
    expect(r.upstreamReset).toBe(true); // headers had gone upstream on Continue
    expect(r.localReply).not.toBeNull();
    expect(r.localReply!.status).toBe(403);
    expect(r.localReply!.body).toBe('denied');
    expect(r.localReply!.details).toBe('mock_deny');
    expect(r.localReply!.header('content-type')).toBe('application/json');
    expect(r.localReply!.headers.filter(([k]) => k === 'content-type')).toHaveLength(1);
    expect(r.events.map((e) => e.fn)).toContain('proxy_on_response_headers');
  });

  it('a trap fails the VM: this and every later stream get the fail-closed 503', async () => {
    const host = await mockHost();
    const r = host.request({ headers: H(), body: 'x'.repeat(20) });
    expect(host.trapped).toBe(true);
    expect(host.traps[0]!.callback).toBe('proxy_on_request_body');
    expect(host.traps[0]!.harnessBug).toBe(false);
    expect(r.localReply?.status).toBe(503);
    expect(r.localReply?.vmFailed).toBe(true);
    expect(r.localReply?.details).toBe('wasm_fail_stream');
    expect(r.forwarded).toBe(false);
    const next = host.request({ headers: H() });
    expect(next.localReply?.status).toBe(503);
    expect(next.localReply?.vmFailed).toBe(true);
    expect(next.events).toEqual([]); // the failed VM is not called any more
  });

  it('FAIL_OPEN lets streams through after a trap', async () => {
    const host = await FilterHost.load({ wasmBytes: buildModule(mockSpec()), failurePolicy: 'FAIL_OPEN' });
    host.configure();
    const r = host.request({ headers: H(), body: 'y'.repeat(20) });
    expect(host.trapped).toBe(true);
    expect(r.forwarded).toBe(true);
    expect(host.request({ headers: H(), body: 'hello' }).forwarded).toBe(true);
  });

  it("Envoy's buffer limit answers 413 when the plugin buffers too much", async () => {
    const host = await FilterHost.load({ wasmBytes: buildModule(mockSpec()), bufferLimitBytes: 4 });
    host.configure();
    const r = host.request({ headers: H(), chunks: ['ab', 'cd', 'ef'] });
    expect(r.localReply?.status).toBe(413);
    expect(r.localReply?.source).toBe('envoy');
    expect(host.trapped).toBe(false);
  });
});

describe('harness: StopIteration, properties, metrics, shared state', () => {
  const imports = [
    { module: 'env', name: 'proxy_log', sig: 'iii:i' },
    { module: 'env', name: 'proxy_set_effective_context', sig: 'i:i' },
    { module: 'env', name: 'proxy_continue_stream', sig: 'i:i' },
    { module: 'env', name: 'proxy_get_property', sig: 'iiii:i' },
    { module: 'env', name: 'proxy_define_metric', sig: 'iiii:i' },
    { module: 'env', name: 'proxy_increment_metric', sig: 'iI:i' },
    { module: 'env', name: 'proxy_record_metric', sig: 'iI:i' },
  ];
  const data = [
    { offset: 16, bytes: 'plugin_root_id' }, // 14
    { offset: 32, bytes: 'requests' }, // 8
    { offset: 48, bytes: 'inflight' }, // 8
  ];
  const spec: ModuleSpec = { imports, globals: [4096], data, functions: [] };
  const idx = (n: string) => funcIndex(spec, n);
  const i64 = (n: number) => [0x42, ...sleb(n)];
  spec.functions = [
    { export: 'proxy_abi_version_0_2_1', sig: ':', body: [] },
    { export: 'proxy_on_memory_allocate', sig: 'i:i', body: bumpAllocatorBody },
    { export: '_initialize', sig: ':', body: [] },
    {
      export: 'proxy_on_vm_start',
      sig: 'ii:i',
      body: [
        // log the plugin_root_id property
        ...c(16), ...c(14), ...c(200), ...c(204), op.call, idx('proxy_get_property'), op.drop,
        ...c(2), ...c(200), op.i32Load, 2, 0, ...c(204), op.i32Load, 2, 0, op.call, idx('proxy_log'), op.drop,
        ...c(1),
      ],
    },
    {
      export: 'proxy_on_configure',
      sig: 'ii:i',
      body: [
        ...c(0), ...c(32), ...c(8), ...c(208), op.call, idx('proxy_define_metric'), op.drop,
        ...c(1), ...c(48), ...c(8), ...c(212), op.call, idx('proxy_define_metric'), op.drop,
        ...c(1),
      ],
    },
    {
      export: 'proxy_on_request_headers',
      sig: 'iii:i',
      body: [...c(208), op.i32Load, 2, 0, ...i64(5), op.call, idx('proxy_increment_metric'), op.drop, ...c(1)],
    },
    { export: 'proxy_on_request_body', sig: 'iii:i', body: [...c(212), op.i32Load, 2, 0, op.localGet, 1, 0xad /* i64.extend_i32_u */, op.call, idx('proxy_record_metric'), op.drop, ...c(0)] },
    {
      export: 'proxy_on_tick',
      sig: 'i:',
      body: [...c(2), op.call, idx('proxy_set_effective_context'), op.drop, ...c(0), op.call, idx('proxy_continue_stream'), op.drop],
    },
  ];

  it('StopIteration from headers holds the body until continue_stream, then delivers it whole', async () => {
    const host = await FilterHost.load({ wasmBytes: buildModule(spec), rootId: 'my-root' });
    expect(host.configure()).toBe(true);
    expect(host.logs).toContainEqual([2, 'my-root']);
    const s = host.createStream({ response: false });
    expect(s.id).toBe(2);
    s.sendHeaders(H());
    s.sendBody('abc');
    s.sendBody('def', true);
    expect(s.events.map((e) => e.fn)).toEqual(['proxy_on_request_headers']);
    expect(s.upstreamHeaders).toBeNull();
    host.tick();
    expect(s.events.filter((e) => e.fn === 'proxy_on_request_body').map((e) => e.args)).toEqual([[2, 6, 1]]);
    expect(s.forwarded).toBe(true);
    expect(s.upstreamBodyText).toBe('abcdef');
    expect(host.metrics).toEqual({ requests: 5, inflight: 6 });
    host.assertHealthy();
  });

  it('continue on a root context (no effective stream) is recorded as a violation', async () => {
    const s2: ModuleSpec = { ...spec, functions: spec.functions.map((f) => (f.export === 'proxy_on_tick' ? { ...f, body: [...c(0), op.call, idx('proxy_continue_stream'), op.drop] } : f)) };
    const host = await FilterHost.load({ wasmBytes: buildModule(s2) });
    host.configure();
    host.tick();
    expect(host.violations.map((v) => v.fn)).toContain('proxy_continue_stream');
  });

  it('shared data honours CAS; queues notify their owner', async () => {
    const shared = new SharedState();
    expect(shared.setData('', 'k', new Uint8Array([1]), 0)).toBe(0);
    const cas = shared.getData('', 'k')!.cas;
    expect(shared.setData('', 'k', new Uint8Array([2]), cas + 1)).toBe(8); // CAS_MISMATCH
    expect(shared.setData('', 'k', new Uint8Array([3]), cas)).toBe(0);
    const notified: number[] = [];
    const token = shared.registerQueue('', 'q', 1, { notify: (_c, t) => notified.push(t) });
    expect(shared.resolveQueue('', 'q')).toBe(token);
    expect(shared.dequeue(token).result).toBe(7); // EMPTY
    expect(shared.enqueue(token, new Uint8Array([9]))).toBe(0);
    expect(notified).toEqual([token]);
    expect([...shared.dequeue(token).value!]).toEqual([9]);
    expect(shared.enqueue(token + 100, new Uint8Array([1]))).toBe(1); // NOT_FOUND
  });
});
