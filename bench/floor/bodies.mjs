// The request bodies: an OpenAI chat completion request of an exact size (4 KiB, 64 KiB), a system
// prompt and alternating user and assistant turns of varied English prose, made from a seeded
// generator (the same bytes on every run). Clean: no deny pattern of the bench matches it, so
// every request is inspected whole and forwarded (main.mjs checks that in Envoy before measuring).
import { seededRandom } from '../../plugin/testing/prng.mjs';

const WORDS = (
  'the a an and or but so because while when after before if then this that these those it they we you ' +
  'our their your team service request response latency budget quarter plan draft review summary report ' +
  'customer order shipment delivery invoice schedule meeting notes agenda action item owner deadline ' +
  'feature release rollout migration database cache queue worker cluster region traffic load test metric ' +
  'dashboard alert incident postmortem root cause timeline impact mitigation follow up question answer ' +
  'explain describe compare suggest improve rewrite shorten translate outline list steps example table ' +
  'should could would might must will can may need want think know see use make take give find keep ' +
  'clear short simple careful friendly formal concise detailed useful helpful important likely early late ' +
  'first second next last every each some many few more most less other same different new old small large ' +
  'week month year morning afternoon today tomorrow yesterday during between within across about around ' +
  'product design engineering sales support finance legal marketing research operations partner vendor ' +
  'paragraph sentence word tone style audience reader email message document chapter section point'
).split(' ');

/** A sentence of 8 to 22 words. @param {() => number} rand */
function sentence(rand) {
  const n = 8 + Math.floor(rand() * 15);
  const words = [];
  for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(rand() * WORDS.length)]);
  if (rand() < 0.25) words.splice(2 + Math.floor(rand() * (n - 3)), 0, String(1 + Math.floor(rand() * 90)) + (rand() < 0.5 ? '%' : ''));
  const s = words.join(' ');
  return s[0].toUpperCase() + s.slice(1) + (rand() < 0.1 ? '?' : '.');
}

/** A paragraph of `bytes` bytes or a little more. @param {() => number} rand @param {number} bytes */
function prose(rand, bytes) {
  let s = sentence(rand);
  while (s.length < bytes) s += (rand() < 0.15 ? '\n\n' : ' ') + sentence(rand);
  return s;
}

const SYSTEM = 'You are a helpful assistant for the operations team. Answer in plain English, keep answers ' +
  'short unless asked for detail, use tables for comparisons and say when you are not sure.';

/**
 * An OpenAI chat completion request of exactly `bytes` bytes (ASCII JSON), ending with a user turn.
 * @param {number} bytes
 * @param {number} [seed]
 */
export function chatBody(bytes, seed = 42) {
  const rand = seededRandom(seed + bytes);
  /** @type {{role: string, content: string}[]} */
  const messages = [{ role: 'system', content: SYSTEM }];
  const request = { model: 'gpt-4o-mini', messages, temperature: 0.3, max_tokens: 512, user: 'ops-assistant' };
  const size = () => Buffer.byteLength(JSON.stringify(request));
  let turn = 0;
  // Turns of 400..1900 bytes while there is room for one more and a final user turn.
  while (size() < bytes - 2400) {
    messages.push({ role: turn % 2 ? 'assistant' : 'user', content: prose(rand, 400 + Math.floor(rand() * 1500)) });
    turn++;
  }
  if (messages[messages.length - 1].role === 'user') messages.push({ role: 'assistant', content: prose(rand, 200) });
  const last = { role: 'user', content: '' };
  messages.push(last);
  last.content = prose(rand, Math.max(1, bytes - size()));
  // To the exact size: cut the last turn, then end it with filler words.
  while (size() > bytes) last.content = last.content.slice(0, -1);
  const filler = ' and so on';
  for (let i = 0; size() < bytes; i++) last.content += filler[i % filler.length];
  const body = Buffer.from(JSON.stringify(request));
  if (body.length !== bytes) throw new Error(`chat body is ${body.length} bytes, wanted ${bytes}`);
  return body;
}

/** A request like `chatBody` with a secret planted in the last turn: every filter variant must deny it. */
export function plantedSecretBody() {
  return Buffer.from(JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Why does this fail? aws_access_key_id = AKIAIOSFODNN7EXAMPLE' }],
  }));
}
