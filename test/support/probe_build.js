// @ts-check
/**
 * Compiles a tiny probe filter (checks the harness, not the product) with the same AssemblyScript
 * options as the real plugin. Its AssemblyScript source lives here, not in a .ts file, so that no
 * TypeScript config or linter picks it up as TypeScript.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const PROBE_SOURCE = `// A tiny proxy-wasm filter used only to check the e2e harness itself (not the product):
// it holds the request body the way the guard must (Continue from headers, StopIterationAndBuffer
// from the body until end_of_stream), denies a body containing "PROBE-DENY", traps on a request
// header x-probe-trap, and refuses a plugin config containing "probe-bad-field".

@external("env", "proxy_log")
declare function proxy_log(level: u32, ptr: usize, len: usize): u32;
@external("env", "proxy_get_buffer_bytes")
declare function proxy_get_buffer_bytes(t: u32, start: u32, max: u32, pp: usize, lp: usize): u32;
@external("env", "proxy_get_header_map_value")
declare function proxy_get_header_map_value(m: u32, kp: usize, kl: usize, vpp: usize, vlp: usize): u32;
@external("env", "proxy_replace_header_map_value")
declare function proxy_replace_header_map_value(m: u32, kp: usize, kl: usize, vp: usize, vl: usize): u32;
@external("env", "proxy_send_local_response")
declare function proxy_send_local_response(status: u32, dp: usize, dl: usize, bp: usize, bl: usize, hp: usize, hl: usize, grpc: i32): u32;

function log(level: u32, msg: string): void {
  const b = String.UTF8.encode(msg);
  proxy_log(level, changetype<usize>(b), b.byteLength);
}

function readBuffer(t: u32, size: u32): string {
  const pp = heap.alloc(8);
  const lp = pp + 4;
  if (proxy_get_buffer_bytes(t, 0, size, pp, lp) != 0) return "";
  const p = load<u32>(pp);
  const l = load<u32>(lp);
  return String.UTF8.decodeUnsafe(p, l);
}

function hasHeader(name: string): bool {
  const k = String.UTF8.encode(name);
  const pp = heap.alloc(8);
  return proxy_get_header_map_value(0, changetype<usize>(k), k.byteLength, pp, pp + 4) == 0;
}

export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_memory_allocate(size: usize): usize { return heap.alloc(size); }
export function proxy_on_context_create(ctx: u32, parent: u32): void {}
export function proxy_on_vm_start(root: u32, size: u32): u32 { return 1; }
export function proxy_on_configure(root: u32, size: u32): u32 {
  const cfg = readBuffer(7, size);
  if (cfg.includes("probe-bad-field")) {
    log(4, "probe: config rejected: probe-bad-field: unknown field");
    return 0;
  }
  return 1;
}
export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): u32 {
  if (hasHeader("x-probe-trap")) unreachable();
  const k = String.UTF8.encode("x-probe-seen");
  const v = String.UTF8.encode("headers");
  proxy_replace_header_map_value(0, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
  return 0;
}
export function proxy_on_request_body(ctx: u32, size: u32, eos: u32): u32 {
  if (!eos) return 1;
  const body = readBuffer(0, size);
  if (body.includes("PROBE-DENY")) {
    const b = String.UTF8.encode('{"error":{"message":"denied by probe","type":"policy_violation","code":"denied_by_pattern"}}');
    const d = String.UTF8.encode("probe_denied");
    proxy_send_local_response(403, changetype<usize>(d), d.byteLength, changetype<usize>(b), b.byteLength, 0, 0, -1);
    return 1;
  }
  const k = String.UTF8.encode("x-probe-seen");
  const v = String.UTF8.encode("body");
  const st = proxy_replace_header_map_value(0, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
  log(2, "probe: replace header from body callback: status " + st.toString());
  return 0;
}
export function proxy_on_request_trailers(ctx: u32, n: u32): u32 { return 0; }
export function proxy_on_response_headers(ctx: u32, n: u32, eos: u32): u32 { return 0; }
export function proxy_on_response_body(ctx: u32, size: u32, eos: u32): u32 { return 0; }
export function proxy_on_response_trailers(ctx: u32, n: u32): u32 { return 0; }
export function proxy_on_done(ctx: u32): u32 { return 1; }
export function proxy_on_log(ctx: u32): void {}
export function proxy_on_delete(ctx: u32): void {}
`;

/**
 * @param {string} outDir  where to write probe_filter.wasm
 * @returns {string} the module's path
 */
export function buildProbeFilter(outDir) {
  const out = path.join(outDir, 'probe_filter.wasm');
  const source = path.join(outDir, 'probe_filter.ts');
  writeFileSync(source, PROBE_SOURCE);
  const asc = path.join(REPO_ROOT, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
  const r = spawnSync(
    process.execPath,
    [
      asc,
      source,
      // relative: asc resolves the shim's "lib" against the cwd-relative config path
      '--config', 'node_modules/@assemblyscript/wasi-shim/asconfig.json',
      '--runtime', 'incremental',
      '--exportStart', '_initialize',
      '-o', out,
    ],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`asc failed to build the probe filter:\n${r.stdout}\n${r.stderr}`);
  return out;
}
