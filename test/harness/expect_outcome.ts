// Expectations on what the filter did with one request, shared by the body-format tests.
import { expect } from 'vitest';
import type { HttpStream } from '../../operator/src/wasm/stream.js';
import { KEY, errorOf, outcome } from './llm.js';

/** Refused with `status` and `code`, and nothing of the body went upstream. */
export function expectRefused(r: HttpStream, status: number, code: string, what: string): void {
  expect(r.localReply?.status, `${what}: ${outcome(r)}`).toBe(status);
  expect(errorOf(r)?.code, what).toBe(code);
  expect(r.upstreamBody, what).toBeNull();
}

/** Denied by a deny pattern (403 denied_by_pattern), nothing forwarded. */
export function expectDenied(r: HttpStream, what: string): void {
  expectRefused(r, 403, 'denied_by_pattern', what);
}

/** Forwarded with the provider key (bearer `KEY`), the body byte for byte. */
export function expectForwarded(r: HttpStream, body: string | Uint8Array, what: string): void {
  expect(r.forwarded, `${what}: ${outcome(r)}`).toBe(true);
  expect(r.upstreamHeader('authorization'), what).toBe(`Bearer ${KEY}`);
  expect(Buffer.compare(Buffer.from(r.upstreamBody ?? []), Buffer.from(body)), `${what}: forwarded byte for byte`).toBe(0);
}
