// Which policies overlap, and which of two overlapping policies is programmed.
import { describe, expect, it } from 'vitest';
import { overlapsOf, precedes, workloadsOverlap, type OverlapSubject } from './overlap.js';

function policy(name: string, spec: OverlapSubject['spec'], created = '2026-01-01T00:00:00Z', namespace = 'apps'): OverlapSubject {
  return { metadata: { name, namespace, creationTimestamp: created }, spec };
}
const openai = [{ host: 'api.openai.com' }];
const sel = (matchLabels: Record<string, string>) => ({ matchLabels });

describe('workloadsOverlap', () => {
  it('selectors overlap unless one label is asked with two values', () => {
    expect(workloadsOverlap(policy('a', { selector: sel({ app: 'chat' }) }), policy('b', { selector: sel({ app: 'chat' }) }))).toBe(true);
    expect(workloadsOverlap(policy('a', { selector: sel({ app: 'chat' }) }), policy('b', { selector: sel({ tier: 'web' }) }))).toBe(true);
    expect(workloadsOverlap(policy('a', { selector: sel({ app: 'chat', tier: 'web' }) }), policy('b', { selector: sel({ app: 'chat' }) }))).toBe(true);
    expect(workloadsOverlap(policy('a', { selector: sel({ app: 'chat' }) }), policy('b', { selector: sel({ app: 'search' }) }))).toBe(false);
  });

  it('gateways overlap when named by both, or by a selector on the gateway-name label', () => {
    const gw = (name: string) => ({ targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name }] });
    expect(workloadsOverlap(policy('a', gw('egress')), policy('b', gw('egress')))).toBe(true);
    expect(workloadsOverlap(policy('a', gw('egress')), policy('b', gw('other')))).toBe(false);
    expect(workloadsOverlap(policy('a', gw('egress')), policy('b', { selector: sel({ 'gateway.networking.k8s.io/gateway-name': 'egress' }) }))).toBe(true);
    expect(workloadsOverlap(policy('a', { selector: sel({ app: 'chat' }) }), policy('b', gw('egress')))).toBe(false);
  });
});

describe('precedes', () => {
  it('the older policy first, then the name', () => {
    expect(precedes(policy('z', {}, '2026-01-01T00:00:00Z'), policy('a', {}, '2026-01-02T00:00:00Z'))).toBe(true);
    expect(precedes(policy('a', {}, '2026-01-02T00:00:00Z'), policy('z', {}, '2026-01-01T00:00:00Z'))).toBe(false);
    expect(precedes(policy('a', {}), policy('b', {}))).toBe(true);
    expect(precedes(policy('b', {}), policy('a', {}))).toBe(false);
  });
});

describe('overlapsOf', () => {
  const chat = policy('chat', { selector: sel({ app: 'chat' }), providers: [{ host: 'api.openai.com' }, { host: 'api.anthropic.com' }] }, '2026-01-01T00:00:00Z');

  it('names every other policy of the namespace with the same workloads and a shared host, and who wins', () => {
    const newer = policy('chat-v2', { selector: sel({ app: 'chat' }), providers: [{ host: 'API.OpenAI.com' }] }, '2026-02-01T00:00:00Z');
    const older = policy('legacy', { selector: sel({ app: 'chat', tier: 'web' }), providers: [{ host: 'api.anthropic.com' }] }, '2025-12-01T00:00:00Z');
    const otherHost = policy('mistral', { selector: sel({ app: 'chat' }), providers: [{ host: 'api.mistral.ai' }] });
    const otherApp = policy('search', { selector: sel({ app: 'search' }), providers: openai });
    const otherNamespace = policy('chat', { selector: sel({ app: 'chat' }), providers: openai }, '2025-01-01T00:00:00Z', 'team-b');
    const deleting = policy('going', { selector: sel({ app: 'chat' }), providers: openai }, '2025-01-01T00:00:00Z');
    deleting.metadata.deletionTimestamp = '2026-03-01T00:00:00Z';
    expect(overlapsOf(chat, [chat, newer, older, otherHost, otherApp, otherNamespace, deleting])).toEqual([
      { other: 'apps/chat-v2', hosts: ['api.openai.com'], wins: true },
      { other: 'apps/legacy', hosts: ['api.anthropic.com'], wins: false },
    ]);
  });

  it('reads malformed objects without throwing', () => {
    const broken = { metadata: { name: 'x', namespace: 'apps' }, spec: { providers: 'nope', selector: 'x', targetRefs: 5 } } as unknown as OverlapSubject;
    expect(overlapsOf(chat, [broken])).toEqual([]);
    expect(overlapsOf(broken, [chat])).toEqual([]);
  });
});
