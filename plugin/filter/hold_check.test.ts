// require_hold through the real filter: a request whose body would be inspected goes on only on a
// route that carries the hold's mark in its virtual host metadata (as the operator's EnvoyFilter
// leaves it, and as Envoy shows it: xds.virtual_host_metadata, a serialized Metadata protobuf);
// elsewhere it is refused before its headers, key included, can leave.
import { describe, expect, it } from 'vitest';
import { encodeMetadata } from '../../operator/src/wasm/metadata.js';
import { KEY, OPENAI, chat, errorOf, get, loadGuard, outcome, post, upstreamCredentials, user } from '../../test/harness/llm.js';

const CONFIG = { hosts: [OPENAI], api_key: KEY, deny_patterns: ['(?i)secret'], require_hold: true };
const MARK = encodeMetadata({ 'llm-guard.hold-request': { enabled: true } });

describe('require_hold', () => {
  it('on a marked route, requests are judged as usual', async () => {
    const host = await loadGuard(CONFIG, { properties: { 'xds.virtual_host_metadata': MARK } });
    const ok = post(host, chat(user('hello')));
    expect(ok.forwarded, outcome(ok)).toBe(true);
    expect(upstreamCredentials(ok)).toEqual([['authorization', `Bearer ${KEY}`]]);
    const denied = post(host, chat(user('the secret')));
    expect(errorOf(denied)?.code).toBe('denied_by_pattern');
    host.assertHealthy();
  });

  for (const [what, metadata] of [
    ['no virtual host metadata', undefined],
    ['metadata of other filters only', encodeMetadata({ 'envoy.lb': { canary: true }, istio: { config: 'x' } })],
    ['empty metadata', new Uint8Array(0)],
  ] as const) {
    it(`with ${what}, an inspected request is refused with 503 hold_not_installed, its headers never continued`, async () => {
      const host = await loadGuard(CONFIG, metadata === undefined ? {} : { properties: { 'xds.virtual_host_metadata': metadata } });
      const r = post(host, chat(user('hello')));
      expect(errorOf(r)).toMatchObject({ status: 503, type: 'service_unavailable', code: 'hold_not_installed' });
      expect(r.upstreamHeaders).toBeNull();
      expect(host.metric('llm_guard.requests_refused_no_hold')).toBe(1);
      host.assertHealthy();
    });
  }

  it('a request with no body to judge gets its key on a marked route only: elsewhere it is refused before the key is put on', async () => {
    const marked = await loadGuard(CONFIG, { properties: { 'xds.virtual_host_metadata': MARK } });
    const ok = get(marked, '/v1/models');
    expect(ok.forwarded, outcome(ok)).toBe(true);
    expect(upstreamCredentials(ok)).toEqual([['authorization', `Bearer ${KEY}`]]);
    // An unmarked route is not the provider's (say the mesh's passthrough, reached by a host
    // spelled with a trailing dot): the key must not leave by it.
    const host = await loadGuard(CONFIG);
    for (const authority of [OPENAI, `${OPENAI}.`, `${OPENAI}:8443`]) {
      const r = get(host, '/v1/models', { authority });
      expect(errorOf(r), authority).toMatchObject({ status: 503, code: 'hold_not_installed' });
      expect(r.upstreamHeaders).toBeNull();
    }
    host.assertHealthy();
  });

  it('is off by default: without require_hold no mark is needed', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY, deny_patterns: ['(?i)secret'] });
    expect(post(host, chat(user('hello'))).forwarded).toBe(true);
  });
});
