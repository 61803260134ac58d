// An injected key the upstream sends back is masked before the app sees it (filter/echo_mask.ts):
// in response headers, in bodies whole or in chunks, split across chunks, and never delaying
// bytes that can't be the key.
import { describe, expect, it } from 'vitest';
import type { FilterHost, ResponseSpec } from '../../operator/src/wasm/index.js';
import { ANTHROPIC, KEY, OPENAI, chat, loadGuard, post, user } from '../../test/harness/llm.js';

const MASKED = '*'.repeat(KEY.length);

async function guard(): Promise<FilterHost> {
  return loadGuard({ hosts: [OPENAI], api_key: KEY });
}

function echo(host: FilterHost, response: ResponseSpec, headers: [string, string][] = []) {
  return post(host, chat(user('hello')), { response, headers });
}

function chunkTexts(r: ReturnType<typeof post>): string[] {
  const sink = (r as unknown as { resp: { sink: { chunks: Uint8Array[] } } }).resp.sink;
  return sink.chunks.map((c) => new TextDecoder().decode(c));
}

describe('an injected key echoed by the upstream', () => {
  it('is masked in response headers, every value of the header kept in order', async () => {
    const host = await guard();
    const r = echo(host, {
      headers: [['x-echo-authorization', `Bearer ${KEY}`], ['x-echo-authorization', 'other'], ['x-request-id', 'req_1']],
      body: '{}',
    });
    const headers = r.response!.headers;
    expect(headers.filter(([k]) => k === 'x-echo-authorization').map(([, v]) => v)).toEqual([`Bearer ${MASKED}`, 'other']);
    expect(r.response!.header('x-request-id')).toBe('req_1');
    expect(JSON.stringify(headers)).not.toContain(KEY);
    expect(host.metric('llm_guard.response_key_echoes_masked')).toBe(1);
    host.assertHealthy();
  });

  it('is masked in a body, its length unchanged (content-length stays right)', async () => {
    const host = await guard();
    const body = JSON.stringify({ error: { message: `Bad key: Bearer ${KEY} (${KEY})` } });
    const r = echo(host, { headers: [['content-type', 'application/json'], ['content-length', String(body.length)]], body });
    expect(r.response!.bodyText).toBe(body.split(KEY).join(MASKED));
    expect(r.response!.body.length).toBe(body.length);
    expect(r.response!.header('content-length')).toBe(String(body.length));
    host.assertHealthy();
  });

  it('is masked when split across chunks, at every split point', async () => {
    const host = await guard();
    const body = `data: {"echo":"${KEY}"}\n\n`;
    for (let cut = 1; cut < body.length; cut++) {
      const r = echo(host, { chunks: [body.slice(0, cut), body.slice(cut)] });
      expect(r.response!.bodyText, `cut at ${cut}`).toBe(body.replace(KEY, MASKED));
    }
    host.assertHealthy();
  });

  it('is masked when sent one byte at a time', async () => {
    const host = await guard();
    const body = `x${KEY}y${KEY.slice(0, 10)}z${KEY}`;
    const r = echo(host, { chunks: [...body] });
    expect(r.response!.bodyText).toBe(`x${MASKED}y${KEY.slice(0, 10)}z${MASKED}`);
    host.assertHealthy();
  });

  it('delays no byte that cannot begin the key: stream events flow as they come', async () => {
    const host = await guard();
    const events = ['data: {"delta":"Hel"}\n\n', 'data: {"delta":"lo"}\n\n', 'data: [DONE]\n\n'];
    const r = echo(host, { headers: [['content-type', 'text/event-stream']], chunks: events });
    expect(chunkTexts(r)).toEqual(events);
    host.assertHealthy();
  });

  it('holds back only a tail that could begin the key, and releases it with the next chunk', async () => {
    const host = await guard();
    const r = echo(host, { chunks: ['abc sk-te', 'st but not the key', ''] });
    expect(chunkTexts(r).join('')).toBe('abc sk-test but not the key');
    expect(chunkTexts(r)[0]).toBe('abc ');
    host.assertHealthy();
  });

  it('leaves other hosts’ responses and keys that are not this request’s alone', async () => {
    const host = await guard();
    const r = post(host, chat(user('hello')), { authority: ANTHROPIC, response: { body: `echo ${KEY}` } });
    expect(r.response!.bodyText).toBe(`echo ${KEY}`);
    host.assertHealthy();
  });

  it('asks the provider for an uncompressed answer, so the body can be searched', async () => {
    const host = await guard();
    const r = echo(host, { body: '{}' }, [['accept-encoding', 'gzip, br']]);
    expect(r.upstreamHeaderAll('accept-encoding')).toEqual(['identity']);
    host.assertHealthy();
  });
});
