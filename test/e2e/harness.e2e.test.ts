// Checks the local-mesh kit itself with a tiny probe filter (source in test/support/probe_build.js),
// independent of the guard filter: the Istio-shaped bootstrap is accepted, the VM-failure detection
// used by filter.e2e.test.ts really sees a trap, a refused config fails startEnvoy with the log,
// and it pins down how Envoy 1.40 forwards a request whose body a filter is still holding.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { wasmHttpFilter } from '../../operator/src/localmesh/bootstrap.js';
import { startEnvoy, type EnvoyProcess } from '../../operator/src/localmesh/envoy.js';
import { chatBody, send, splitBytes } from '../../operator/src/localmesh/http_client.js';
import { startMockProvider, type MockProvider } from '../../operator/src/localmesh/mock_provider.js';
import { buildBootstrap } from '../../operator/src/localmesh/sidecar_bootstrap.js';
import { buildProbeFilter } from '../support/probe_build.js';

// Envoy start-up, 3 MiB bodies and 100,000-deep JSON take longer than vitest's 5 s default.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let dir: string;
let probe: string;
let mock: MockProvider;
let envoy: EnvoyProcess;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'llm-guard-probe-'));
  probe = buildProbeFilter(dir);
  mock = await startMockProvider({});
  envoy = await startEnvoy((run) =>
    buildBootstrap({
      accessLogPath: run.accessLogPath,
      mockPort: mock.port,
      providerHosts: ['api.openai.com'],
      listeners: [
        { name: 'probe', wasm: { wasmPath: probe, pluginConfig: { any: 'thing' } }, holdRequest: false },
        { name: 'probe_held', wasm: { wasmPath: probe, name: 'probe-held', pluginConfig: { any: 'thing' } } },
      ],
    }),
  );
}, 60_000);

afterAll(async () => {
  await envoy?.stop();
  await mock?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('harness', () => {
  it('builds the wasm filter config the way istiod does', () => {
    const f = wasmHttpFilter({
      wasmPath: '/x.wasm',
      namespace: 'ns',
      name: 'guard',
      pluginConfig: { hosts: ['a'], api_key: 'k' },
      env: { K: 'v' },
    });
    expect(f).toEqual({
      name: 'envoy.filters.http.wasm',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
        config: {
          name: 'ns.guard',
          vm_config: {
            runtime: 'envoy.wasm.runtime.v8',
            code: { local: { filename: '/x.wasm' } },
            environment_variables: { key_values: { K: 'v' } },
          },
          configuration: {
            '@type': 'type.googleapis.com/google.protobuf.StringValue',
            value: '{"api_key":"k","hosts":["a"]}',
          },
          failure_policy: 'FAIL_CLOSED',
        },
      },
    });
  });

  it('Envoy accepts the bootstrap and runs the filter', async () => {
    const res = await send({ port: envoy.ports.probe!, json: chatBody('hello') });
    expect(res.status).toBe(200);
    const rec = mock.requests.at(-1)!;
    expect(rec.headers['x-probe-seen']).toBe('headers');
    expect(await envoy.vmHealth()).toMatchObject({ ok: true });
  });

  it('without the hold filter, Envoy 1.40 sends the request headers upstream before the held body is inspected', async () => {
    // The probe returns Continue from on_request_headers and StopIterationAndBuffer from
    // on_request_body until end_of_stream (the only way to see a body in Envoy), then denies.
    mock.reset();
    const raw = JSON.stringify(chatBody('x'.repeat(300) + 'PROBE-DENY'));
    const res = await send({ port: envoy.ports.probe!, chunks: splitBytes(raw, 32), chunkDelayMs: 5, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(403);
    await mock.settle(1000);
    // What the provider saw: the request line and headers (with changes made in on_request_headers),
    // no body byte, then the connection reset.
    expect(mock.requests.map((r) => ({ complete: r.complete, aborted: r.aborted, bodyBytes: r.body.length, seen: r.headers['x-probe-seen'] }))).toEqual([
      { complete: false, aborted: true, bodyBytes: 0, seen: 'headers' },
    ]);
  });

  it('with the hold filter after the wasm filter, a denied request sends nothing upstream', async () => {
    mock.reset();
    const raw = JSON.stringify(chatBody('x'.repeat(300) + 'PROBE-DENY'));
    const res = await send({ port: envoy.ports.probe_held!, chunks: splitBytes(raw, 32), chunkDelayMs: 5, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(403);
    await mock.settle(1000);
    expect(mock.requests).toEqual([]);
    const ok = await send({ port: envoy.ports.probe_held!, json: chatBody('hello') });
    expect(ok.status).toBe(200);
    expect(mock.requests.filter((r) => r.complete)).toHaveLength(1);
  });

  it('header changes made from on_request_body are refused (BAD_ARGUMENT) and never reach upstream', async () => {
    mock.reset();
    const mark = await envoy.logMark();
    const res = await send({ port: envoy.ports.probe!, json: chatBody('hello') });
    expect(res.status).toBe(200);
    expect(mock.requests.at(-1)!.headers['x-probe-seen']).toBe('headers');
    await new Promise((r) => setTimeout(r, 80));
    expect(await envoy.logSince(mark)).toContain('replace header from body callback: status 2');
  });

  it('a trap is detected: log line, wasm_fail_stream, and 503 for every later request (FAIL_CLOSED)', async () => {
    const trapped = await send({ port: envoy.ports.probe!, json: chatBody('hello'), headers: { 'x-probe-trap': '1' } });
    expect(trapped.status).toBe(503);
    const later = await send({ port: envoy.ports.probe!, json: chatBody('hello') });
    expect(later.status).toBe(503);
    const health = await envoy.vmHealth();
    expect(health.ok).toBe(false);
    expect(health.failureLines.join('\n')).toMatch(/proxy_on_request_headers failed: Uncaught RuntimeError: unreachable/);
    expect(health.failedStreams.length).toBe(2);
  });

  it('a refused plugin config makes startEnvoy reject with the log tail', async () => {
    await expect(
      startEnvoy(
        buildBootstrap({
          mockPort: mock.port,
          providerHosts: ['api.openai.com'],
          listeners: [{ name: 'probe', wasm: { wasmPath: probe, pluginConfig: { 'probe-bad-field': 1 } } }],
        }),
      ),
    ).rejects.toThrow(/probe: config rejected: probe-bad-field[\s\S]*Unable to create Wasm plugin default\.llm-guard/);
  });

  it('a module that does not exist makes startEnvoy reject', async () => {
    await expect(
      startEnvoy(
        buildBootstrap({
          mockPort: mock.port,
          providerHosts: ['api.openai.com'],
          listeners: [{ name: 'probe', wasm: { wasmPath: path.join(dir, 'missing.wasm'), pluginConfig: {} } }],
        }),
      ),
    ).rejects.toThrow(/Envoy did not start[\s\S]*missing\.wasm/);
  });
});
