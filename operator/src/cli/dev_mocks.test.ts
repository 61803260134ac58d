// What `llmguard dev`'s mock guard answers in each verdict format, and how its log lines mask keys.
import { describe, expect, it } from 'vitest';
import { renderAnswer } from '../localmesh/guard_answers.js';
import { devVerdict, mask, requestLine } from './dev_mocks.js';

const contentOf = (format: string, unsafe: boolean, json: unknown = { messages: [] }) =>
  JSON.parse(String(renderAnswer(devVerdict(format, unsafe, { json }))!.body));

describe('the dev guard', () => {
  it.each([
    ['llama_guard', 'unsafe\nS1', 'safe'],
    ['qwen_guard', 'Safety: Unsafe\nCategories: Violent', 'Safety: Safe\nCategories: None'],
  ])('answers %s in its own words', (format, unsafe, safe) => {
    expect(contentOf(format, true).choices[0].message.content).toBe(unsafe);
    expect(contentOf(format, false).choices[0].message.content).toBe(safe);
  });

  it('answers the asm-labs JSON verdict by default', () => {
    expect(JSON.parse(contentOf('auto', true).choices[0].message.content)).toMatchObject({ result: 'deny' });
    expect(JSON.parse(contentOf('json_verdict', false).choices[0].message.content)).toMatchObject({ result: 'allow' });
  });

  it('answers a moderation request (or the openai_moderation format) with moderation results', () => {
    expect(contentOf('openai_moderation', true).results[0].flagged).toBe(true);
    expect(contentOf('auto', false, { input: 'hi' }).results[0].flagged).toBe(false);
  });

  it('labels its answer with the verdict dev prints', () => {
    expect(devVerdict('llama_guard', true, { json: {} }).label).toBe('unsafe');
    expect(devVerdict('llama_guard', false, { json: {} }).label).toBe('safe');
  });
});

describe('the dev log line', () => {
  it('masks keys and shows SNI, prompt and verdict', () => {
    const line = requestLine({
      server: 'guard',
      method: 'POST',
      host: 'g.example',
      path: '/v1/chat/completions',
      sni: 'g.example',
      credentials: ['sk-FAKE-openai-primary-0000000000000000', 'short'],
      prompt: 'Something unsafe',
      verdict: 'unsafe',
    });
    expect(line).toBe('[guard] POST https://g.example/v1/chat/completions (SNI g.example) key: sk-FAKE…0000, sho… prompt: "Something unsafe" -> unsafe');
    expect(mask('sk-FAKE-openai-primary-0000000000000000')).toBe('sk-FAKE…0000');
  });
});
