// Helpers for tests of the filter's key service client (docs/filter-config.md, "The key service")
// through the in-process host: a config with key_service, the fetches it makes, and answers to them.

import type { FilterHost, FilterHostOptions, HttpCallRecord } from '../../operator/src/wasm/index.js';
import { OPENAI, ANTHROPIC, loadGuard } from './llm.js';

export const KS_HOST = 'llmguard-keys.llmguard-system.svc.cluster.local';
export const KS_PORT = 15443;
export const KS_CLUSTER = `outbound|${KS_PORT}||${KS_HOST}`;
export const KS_PATH = '/v1/keys/apps/openai-chat';

/** Keys the service hands out: distinctive, so a leak into a log or a header is easy to spot. */
export const SVC_KEY = 'sk-svc-FROM-KEY-SERVICE-1a2b3c4d5e';
export const SVC_KEY2 = 'sk-svc-SECOND-FROM-SERVICE-6f7a8b9c';
export const SVC_ROTATED = 'sk-svc-ROTATED-AFTER-REFRESH-0d1e2f';
export const SVC_ANTHROPIC = 'sk-ant-svc-FROM-KEY-SERVICE-3a4b5c';
export const SVC_GUARD_KEY = 'gk-svc-GUARD-FROM-SERVICE-7d8e9f0a';
/** The service's error text: names a Secret, which a client must never see. */
export const SECRET_ERROR = 'Secret "anthropic-credentials" has no key "api-key"';

/** key_service fields; loosely typed, so tests can give wrong types and unknown fields. */
export type KeyServiceConfig = Record<string, unknown>;

export function keyService(o: KeyServiceConfig = {}): KeyServiceConfig {
  return { host: KS_HOST, path: KS_PATH, ...o };
}

/** OpenAI and Anthropic, both without keys of their own: theirs come from the service. */
export function serviceConfig(ks: KeyServiceConfig = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    providers: [{ hosts: [OPENAI] }, { hosts: [ANTHROPIC], auth_style: 'x-api-key' }],
    key_service: keyService(ks),
    ...extra,
  };
}

/** Loads and configures the filter with the key cluster present and a manual clock. */
export function loadWithKeys(
  pluginConfig: unknown,
  opts: Omit<FilterHostOptions, 'pluginConfig'> & { expectConfigured?: boolean } = {},
): Promise<FilterHost> {
  return loadGuard(pluginConfig, { clock: 'manual', ...opts, clusters: [KS_CLUSTER, ...(opts.clusters ?? [])] });
}

/** The key fetches the filter made (any state), in order. */
export function keyFetches(host: FilterHost, cluster = KS_CLUSTER): HttpCallRecord[] {
  return host.httpCalls.filter((c) => c.cluster === cluster);
}

/** The one key fetch in flight (fails the test if there is none, or more than one). */
export function pendingFetch(host: FilterHost, cluster = KS_CLUSTER): HttpCallRecord {
  const pending = host.pendingHttpCalls().filter((c) => c.cluster === cluster);
  if (pending.length !== 1) throw new Error(`expected one key fetch in flight, found ${pending.length}`);
  return pending[0]!;
}

export interface Answer {
  providers?: Record<string, unknown>;
  intelligent_guard?: unknown;
  [field: string]: unknown;
}

/** The service's usual answer: OpenAI keys, Anthropic's key, no guard key. */
export function goodAnswer(openai: string[] = [SVC_KEY], anthropic: string[] = [SVC_ANTHROPIC]): Answer {
  return { providers: { [OPENAI]: { api_keys: openai }, [ANTHROPIC]: { api_keys: anthropic } } };
}

/** Answers the fetch in flight with 200 and `body` (an object is sent as JSON). */
export function answerFetch(host: FilterHost, body: Answer | string | Uint8Array, status = 200, cluster = KS_CLUSTER): void {
  const call = pendingFetch(host, cluster);
  const raw = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  host.respondToHttpCall(call.token, [[':status', String(status)], ['content-type', 'application/json']], raw);
}

/** Moves the clock by `seconds` (ticks fire as Envoy would fire them). */
export function advance(host: FilterHost, seconds: number): void {
  host.advanceTime(seconds * 1000);
}
