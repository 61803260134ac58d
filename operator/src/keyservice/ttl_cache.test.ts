import { describe, expect, it } from 'vitest';
import { TtlCache } from './ttl_cache.js';

describe('TtlCache', () => {
  it('reuses a value within its TTL, reads again after, and shares one read between concurrent misses', async () => {
    let t = 0;
    let reads = 0;
    const cache = new TtlCache<number>(1_000, 10, () => t);
    const load = async () => ++reads;
    const [a, b] = await Promise.all([cache.get('k', load), cache.get('k', load)]);
    expect([a, b, reads]).toEqual([1, 1, 1]);
    t = 999;
    expect(await cache.get('k', load)).toBe(1);
    t = 1_000;
    expect(await cache.get('k', load)).toBe(2);
  });

  it('does not keep a failed read', async () => {
    const cache = new TtlCache<number>(1_000, 10, () => 0);
    await expect(cache.get('k', () => Promise.reject(new Error('apiserver down')))).rejects.toThrow('apiserver down');
    expect(await cache.get('k', async () => 7)).toBe(7);
  });

  it('holds at most maxEntries, dropping the oldest', async () => {
    const cache = new TtlCache<string>(1_000, 2, () => 0);
    for (const k of ['a', 'b', 'c']) await cache.get(k, async () => k);
    expect(cache.size).toBe(2);
    let reread = false;
    await cache.get('a', async () => ((reread = true), 'a'));
    expect(reread).toBe(true);
  });
});

describe('TtlCache readSince', () => {
  it('a read asking for a value read since a time loads again; others asking the same share it', async () => {
    let now = 0;
    let loads = 0;
    const c = new TtlCache<number>(5_000, 10, () => now);
    const load = async () => ++loads;
    expect(await c.get('p', load)).toBe(1);
    now = 500;
    expect(await c.get('p', load), 'within the TTL').toBe(1);
    expect(await c.get('p', load, 400), 'read before the time asked for').toBe(2);
    now = 600;
    expect(await c.get('p', load, 450), 'read at 500, since 450').toBe(2);
    expect(await c.get('p', load, 600)).toBe(3);
  });
});
