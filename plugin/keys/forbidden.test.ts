// Apps must never reach the key service (docs/filter-config.md, "The key service"): a request whose
// authority names it (or a short name the pod's DNS search domains expand to it), or whose route
// goes to its cluster (property xds.cluster_name), is answered 403 key_service_forbidden, and
// nothing is forwarded; the check runs on every request, provider or not.

import { describe, expect, it } from 'vitest';
import type { FilterHost, HttpStream } from '../../operator/src/wasm/index.js';
import { KEY, OPENAI, chat, errorOf, loadGuard, outcome, post, user } from '../../test/harness/llm.js';
import { KS_CLUSTER, KS_HOST, SVC_KEY, answerFetch, goodAnswer, keyFetches, keyService, loadWithKeys, serviceConfig } from '../../test/harness/keys.js';

function expectForbidden(r: HttpStream): void {
  const e = errorOf(r);
  expect(e, outcome(r)).not.toBeNull();
  expect(e).toMatchObject({ status: 403, code: 'key_service_forbidden', type: 'policy_violation' });
  expect(r.upstreamHeaders, 'nothing is forwarded').toBeNull();
}

function send(host: FilterHost, authority: string, method = 'GET'): HttpStream {
  return host.request({ headers: [[':method', method], [':scheme', 'http'], [':path', '/v1/keys/apps/openai-chat'], [':authority', authority]] });
}

describe('requests to the key service host', () => {
  const names = [
    KS_HOST,
    `${KS_HOST}:15443`,
    `${KS_HOST}:80`,
    `${KS_HOST}.`,
    `${KS_HOST}.:15443`,
    KS_HOST.toUpperCase(),
    'llmguard-keys.llmguard-system.svc.cluster',
    'llmguard-keys.llmguard-system.svc',
    'llmguard-keys.llmguard-system',
    'LLMGuard-Keys.LLMGuard-System:15443',
    'llmguard-keys',
  ];
  for (const authority of names) {
    it(`${authority}: 403, no upstream, no callout`, async () => {
      const host = await loadWithKeys(serviceConfig());
      answerFetch(host, goodAnswer());
      const calls = host.httpCalls.length;
      expectForbidden(send(host, authority));
      expectForbidden(post(host, chat(user('hi')), { authority }));
      expect(host.httpCalls.length).toBe(calls);
      expect(host.metric('llm_guard.requests_refused_key_service')).toBe(2);
      host.assertHealthy();
    });
  }

  it('are refused before the first fetch ends too (no waiting)', async () => {
    const host = await loadWithKeys(serviceConfig());
    expectForbidden(send(host, KS_HOST));
    expect(keyFetches(host)).toHaveLength(1);
  });

  const others = [
    `${KS_HOST}.evil.example`,
    `x${KS_HOST}`,
    'keys.llmguard-system.svc.cluster.local',
    'llmguard-system.svc.cluster.local',
    'llmguard-keys-other.llmguard-system',
    'llmguard',
    'other.example',
  ];
  for (const authority of others) {
    it(`${authority} is not the key service: passes untouched`, async () => {
      const host = await loadWithKeys(serviceConfig());
      const r = send(host, authority);
      expect(r.forwarded, outcome(r)).toBe(true);
    });
  }

  it('a provider whose host is the key service host is still refused', async () => {
    const host = await loadWithKeys({ providers: [{ hosts: [KS_HOST], api_key: KEY }], key_service: keyService() });
    expectForbidden(post(host, chat(user('hi')), { authority: KS_HOST }));
  });

  it('without key_service there is nothing to protect: such a request passes', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY });
    expect(send(host, KS_HOST).forwarded).toBe(true);
  });
});

describe('requests routed to the key service cluster (xds.cluster_name)', () => {
  it('whatever their authority: 403, no upstream, no callout', async () => {
    const host = await loadWithKeys(serviceConfig(), { properties: { 'xds.cluster_name': KS_CLUSTER } });
    answerFetch(host, goodAnswer());
    const calls = host.httpCalls.length;
    expectForbidden(send(host, 'keys-alias.example'));
    expectForbidden(send(host, '10.96.0.15:15443'));
    expectForbidden(post(host, chat(user('hi')), { authority: OPENAI }));
    expect(host.httpCalls.length).toBe(calls);
    expect(host.metric('llm_guard.requests_refused_key_service')).toBe(3);
  });

  it('a configured cluster name is the one compared', async () => {
    const host = await loadWithKeys(serviceConfig({ cluster: 'keys-cluster' }), {
      clusters: ['keys-cluster'],
      properties: { 'xds.cluster_name': 'keys-cluster' },
    });
    expectForbidden(send(host, 'anything.example'));
  });

  it('another cluster: passes (and a provider gets its key)', async () => {
    const host = await loadWithKeys(serviceConfig(), { properties: { 'xds.cluster_name': `outbound|80||${OPENAI}` } });
    answerFetch(host, goodAnswer());
    const r = post(host, chat(user('hi')));
    expect(r.upstreamHeader('authorization')).toBe(`Bearer ${SVC_KEY}`);
  });
});
