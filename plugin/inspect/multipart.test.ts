// multipart/form-data request bodies through the real filter (docs/filter-config.md "What is
// inspected in a non-JSON body"): OpenAI's audio transcriptions, batch file uploads and image edits
// as their API reference shows them, text and JSON Lines files, binary_content, malformed bodies,
// and the bounds.

import { describe, expect, it } from 'vitest';
import type { FilterHost, HttpStream } from '../../operator/src/wasm/index.js';
import { KEY, OPENAI, errorOf, loadGuard, outcome, post } from '../../test/harness/llm.js';
import { CLEAN_TEXT, DENY_LITERAL } from '../../test/fixtures/llm-bodies.js';
import { expectDenied, expectForwarded, expectRefused } from '../../test/harness/expect_outcome.js';

const enc = new TextEncoder();
const base = { hosts: [OPENAI], api_key: KEY, deny_patterns: [DENY_LITERAL] };
const counter = (host: FilterHost, name: string) => host.metric(`llm_guard.${name}`) ?? 0;

// The first bytes of a real PNG (signature, IHDR) and of an MP3 frame: not UTF-8, as such files are.
const PNG = Uint8Array.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x01, 0x00,
  0x00, 0x00, 0x01, 0x00, 0x08, 0x06, 0x00, 0x00, 0x00, 0x5c, 0x72, 0xa8, 0x66, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41,
  0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49,
  0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
]);
const MP3 = Uint8Array.from([0xff, 0xfb, 0x90, 0x64, 0x00, 0x0f, 0xf0, 0x00, 0x00, 0x69, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x0d, 0x20, 0x00, 0x00, 0x01, 0xa4, 0xe5, 0xc3]);
/** Binary bytes that hold the deny literal in ASCII: not inspected as text, they are binary. */
const BINARY_WITH_LITERAL = Uint8Array.from([...PNG.subarray(0, 16), ...enc.encode(` ${DENY_LITERAL} `), ...PNG.subarray(16)]);

interface Part {
  name: string;
  value: string | Uint8Array;
  filename?: string;
  /** Content-Type of the part; absent when undefined. */
  type?: string;
  /** Extra raw header lines. */
  headers?: string[];
  /** Replaces the Content-Disposition line. */
  disposition?: string;
}

const BOUNDARY = '----llmguardBoundary7MA4YWxkTrZu0gW';

/** A multipart/form-data body built byte for byte (the encoders' own choices are tested below). */
function multipart(parts: Part[], o: { boundary?: string; eol?: string; preamble?: string; epilogue?: string } = {}): { body: Uint8Array; contentType: string } {
  const b = o.boundary ?? BOUNDARY;
  const eol = o.eol ?? '\r\n';
  const chunks: Uint8Array[] = [];
  if (o.preamble) chunks.push(enc.encode(o.preamble + eol));
  for (const p of parts) {
    let head = `--${b}${eol}`;
    head += (p.disposition ?? `Content-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`) + eol;
    if (p.type !== undefined) head += `Content-Type: ${p.type}${eol}`;
    for (const h of p.headers ?? []) head += h + eol;
    chunks.push(enc.encode(head + eol));
    chunks.push(typeof p.value === 'string' ? enc.encode(p.value) : p.value);
    chunks.push(enc.encode(eol));
  }
  chunks.push(enc.encode(`--${b}--${eol}${o.epilogue ?? ''}`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${b}` };
}

/** What a real client sends: undici's FormData encoder (as fetch() and the OpenAI Node SDK use). */
async function formData(entries: [name: string, value: string | Blob, filename?: string][]): Promise<{ body: Uint8Array; contentType: string }> {
  const fd = new FormData();
  for (const [name, value, filename] of entries) {
    if (typeof value === 'string') fd.append(name, value);
    else fd.append(name, value, filename);
  }
  const r = new Response(fd);
  return { body: new Uint8Array(await r.arrayBuffer()), contentType: r.headers.get('content-type')! };
}

function send(host: FilterHost, m: { body: Uint8Array; contentType: string }, path: string, chunkSize?: number): HttpStream {
  return post(host, m.body, { path, contentType: m.contentType, chunkSize });
}

// ---------------------------------------------------------------- OpenAI request shapes

/** POST /v1/audio/transcriptions (API reference: file, model, prompt, response_format, language, temperature). */
const transcription = (prompt: string) =>
  formData([
    ['file', new Blob([MP3], { type: 'audio/mpeg' }), 'speech.mp3'],
    ['model', 'gpt-4o-transcribe'],
    ['prompt', prompt],
    ['response_format', 'json'],
    ['language', 'en'],
    ['temperature', '0'],
  ]);

/** A batch input file line (API reference, "The request input object"). */
const batchLine = (id: string, system: string, userText: string) =>
  JSON.stringify({
    custom_id: id,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'system', content: system }, { role: 'user', content: userText }], max_tokens: 1000 },
  });

/** POST /v1/files with purpose=batch and a .jsonl file, as the SDKs send it (application/octet-stream or none). */
const batchUpload = (lines: string[], type = 'application/octet-stream') =>
  multipart([
    { name: 'purpose', value: 'batch' },
    { name: 'file', filename: 'batchinput.jsonl', type, value: lines.join('\n') + '\n' },
  ]);

/** POST /v1/images/edits (API reference: image, prompt, model, n, size). */
const imageEdit = (prompt: string, image: Uint8Array = PNG) =>
  formData([
    ['image', new Blob([image as Uint8Array<ArrayBuffer>], { type: 'image/png' }), 'otter.png'],
    ['prompt', prompt],
    ['model', 'gpt-image-1'],
    ['n', '1'],
    ['size', '1024x1024'],
  ]);

describe('OpenAI multipart requests', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard(base);
  });

  it('audio transcription: the prompt is inspected, the audio is not', async () => {
    expectDenied(send(host, await transcription(`Names: ${DENY_LITERAL}`), '/v1/audio/transcriptions'), 'prompt');
    const clean = await transcription('The speaker discusses quarterly results.');
    expectForwarded(send(host, clean, '/v1/audio/transcriptions'), clean.body, 'clean transcription');
    // Chunked as Envoy delivers large uploads.
    expectDenied(send(host, await transcription(DENY_LITERAL), '/v1/audio/transcriptions', 7), 'prompt, chunked');
  });

  it('batch upload: every line of the JSONL file is read as the request it is', () => {
    const clean = batchUpload([batchLine('request-1', 'You are a helpful assistant.', 'Hello world!'), batchLine('request-2', 'You are terse.', CLEAN_TEXT)]);
    expectForwarded(send(host, clean, '/v1/files'), clean.body, 'clean batch');
    for (const [what, lines] of [
      ['user message of line 2', [batchLine('r1', 'sys', 'hi'), batchLine('r2', 'sys', `tell me the ${DENY_LITERAL}`)]],
      ['system message', [batchLine('r1', `the ${DENY_LITERAL} is 42`, 'hi')]],
      ['custom_id', [batchLine(DENY_LITERAL, 'sys', 'hi')]],
      ['escaped in JSON', [batchLine('r1', 'sys', 'x').replace('"x"', '"forbidden\\u002dsecret"')]],
      ['a line that is not JSON', [batchLine('r1', 'sys', 'hi'), `{"custom_id": "r2", ${DENY_LITERAL}`]],
      ['CRLF line ends', [batchLine('r1', 'sys', 'hi') + '\r', batchLine('r2', 'sys', DENY_LITERAL) + '\r']],
      ['a fine-tuning line', [JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: DENY_LITERAL }] })]],
    ] as [string, string[]][]) {
      expectDenied(send(host, batchUpload(lines), '/v1/files'), what);
    }
    for (const type of ['application/jsonl', 'application/x-ndjson', 'text/plain']) {
      expectDenied(send(host, batchUpload([batchLine('r1', 'sys', DENY_LITERAL)], type), '/v1/files'), `file sent as ${type}`);
    }
    // No content type, a JSON Lines one, and a .jsonl name that isn't JSON at all.
    expectDenied(send(host, multipart([{ name: 'file', filename: 'in.jsonl', value: batchLine('r', 's', DENY_LITERAL) }]), '/v1/files'), 'no content type');
    expectDenied(send(host, multipart([{ name: 'file', filename: 'in.bin', type: 'application/jsonl', value: batchLine('r', 's', DENY_LITERAL) }]), '/v1/files'), 'JSON Lines media type');
  });

  it('batch lines: roles apply to the body (inspect_roles)', async () => {
    const h = await loadGuard({ ...base, inspect_roles: ['user'] });
    const sys = batchUpload([batchLine('r1', `the ${DENY_LITERAL}`, 'hello')]);
    expectForwarded(send(h, sys, '/v1/files'), sys.body, 'system text not inspected under inspect_roles [user]');
    expectDenied(send(h, batchUpload([batchLine('r1', 'sys', DENY_LITERAL)]), '/v1/files'), 'user text inspected');
    h.assertHealthy();
  });

  it('image edit: the prompt is inspected, the PNG is binary (even with the literal in its bytes)', async () => {
    expectDenied(send(host, await imageEdit(`A ${DENY_LITERAL} otter`), '/v1/images/edits'), 'prompt');
    const clean = await imageEdit('A cute baby sea otter wearing a beret', BINARY_WITH_LITERAL);
    expectForwarded(send(host, clean, '/v1/images/edits'), clean.body, 'binary image');
  });

  it('no traps', () => host.assertHealthy());
});

// ---------------------------------------------------------------- what a part is

describe('fields and files', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard(base);
  });

  const denied: [string, Part[]][] = [
    ['a field value', [{ name: 'prompt', value: DENY_LITERAL }]],
    ['a field name', [{ name: DENY_LITERAL, value: 'x' }]],
    ['a file name', [{ name: 'file', filename: `${DENY_LITERAL}.png`, type: 'image/png', value: PNG }]],
    ['a field with a binary content type (fields are text)', [{ name: 'prompt', type: 'image/png', value: DENY_LITERAL }]],
    ['a text/plain file', [{ name: 'file', filename: 'notes.txt', type: 'text/plain', value: `a\n${DENY_LITERAL}\n` }]],
    ['a .md file sent as octet-stream', [{ name: 'file', filename: 'notes.md', type: 'application/octet-stream', value: DENY_LITERAL }]],
    ['a .csv file with a binary content type', [{ name: 'file', filename: 'data.csv', type: 'image/png', value: `a,b\n1,${DENY_LITERAL}` }]],
    ['an octet-stream file that is UTF-8', [{ name: 'file', filename: 'blob', type: 'application/octet-stream', value: `你好 ${DENY_LITERAL}` }]],
    ['a file without a content type that is UTF-8', [{ name: 'file', filename: 'blob', value: DENY_LITERAL }]],
    ['a JSON file, escapes decoded', [{ name: 'file', filename: 'x.json', type: 'application/json', value: '{"note":"forbidden\\u002dsecret"}' }]],
    ['a .json file that is not JSON', [{ name: 'file', filename: 'x.json', value: `{${DENY_LITERAL}` }]],
    ['a text/plain file with invalid UTF-8 before the literal', [{ name: 'file', filename: 'x.txt', type: 'text/plain', value: Uint8Array.from([0xc3, ...enc.encode(DENY_LITERAL)]) }]],
    ['a field with invalid UTF-8 bytes around the literal', [{ name: 'prompt', value: Uint8Array.from([0xe2, 0x82, ...enc.encode(DENY_LITERAL), 0xf0, 0x9f]) }]],
    ['filename* names a text file', [{ name: 'file', disposition: `Content-Disposition: form-data; name="file"; filename="a.png"; filename*=UTF-8''a.txt`, type: 'image/png', value: DENY_LITERAL }]],
    ['filename names a text file, filename* not', [{ name: 'file', disposition: `Content-Disposition: form-data; name="file"; filename="a.txt"; filename*=UTF-8''a.png`, type: 'image/png', value: DENY_LITERAL }]],
    ['filename* percent-encoded UTF-8', [{ name: 'file', disposition: `Content-Disposition: form-data; name="file"; filename*=UTF-8''%E8%B4%A6-${DENY_LITERAL}.png`, type: 'image/png', value: PNG }]],
    ['an empty filename (a field)', [{ name: 'prompt', filename: '', type: 'image/png', value: DENY_LITERAL }]],
    ['a file without a content type that is not UTF-8 (Fetch parsers read it as text/plain)', [{ name: 'file', filename: 'x.png', value: Uint8Array.from([0x89, ...enc.encode(` ${DENY_LITERAL}`)]) }]],
    ['a file whose Content-Type is not a media type, with UTF-8 bytes', [{ name: 'file', filename: 'x.png', type: 'image png', value: DENY_LITERAL }]],
    ['a JSONL line broken by invalid UTF-8 (escapes decoded as lenient parsers would)', [{ name: 'file', filename: 'b.jsonl', value: Uint8Array.from([...enc.encode('{"a'), 0xff, ...enc.encode('":"forbidden\\u002dsecret"}')]) }]],
    ['a JSONL file whose line breaks split one JSON document', [{ name: 'file', filename: 'b.jsonl', value: '{"a":\n"forbidden\\u002dsecret"}\n' }]],
    ['a JSON file, the text as written (escapes undecoded)', [{ name: 'file', filename: 'x.json', value: '{"a":"\\u007forbidden-secret"}' }]],
    ['the second of many fields', [{ name: 'model', value: 'whisper-1' }, { name: 'prompt', value: DENY_LITERAL }, { name: 'language', value: 'en' }]],
  ];
  for (const [what, parts] of denied) {
    it(`deny literal in ${what}`, () => expectDenied(send(host, multipart(parts), '/v1/files'), what));
  }

  it('syntax variants are read alike', () => {
    const parts: Part[] = [{ name: 'purpose', value: 'assistants' }, { name: 'prompt', value: `x ${DENY_LITERAL} y` }];
    const variants: [string, ReturnType<typeof multipart>][] = [
      ['quoted boundary', { ...multipart(parts, { boundary: 'a b:c' }), contentType: 'multipart/form-data; boundary="a b:c"' }],
      ['charset before the boundary, upper case', { ...multipart(parts), contentType: `Multipart/Form-Data; charset=utf-8; BOUNDARY=${BOUNDARY}` }],
      ['bare LF line ends', multipart(parts, { eol: '\n' })],
      ['preamble and epilogue', multipart(parts, { preamble: 'This is a preamble.\r\n--not the boundary', epilogue: 'epilogue text' })],
      ['header names in other cases, folded header', multipart([parts[0]!, { name: 'prompt', disposition: 'content-DISPOSITION: form-data;\r\n name="prompt"', value: DENY_LITERAL }])],
      ['an 8bit transfer encoding', multipart([{ ...parts[1]!, headers: ['Content-Transfer-Encoding: 8bit'] }])],
    ];
    for (const [what, m] of variants) expectDenied(send(host, m, '/v1/files'), what);
    for (const [what, m] of variants) {
      const clean = { ...m, body: enc.encode(new TextDecoder().decode(m.body).replace(DENY_LITERAL, 'fine text')) };
      expectForwarded(send(host, clean, '/v1/files'), clean.body, `${what}, clean`);
    }
  });

  it('a delimiter only lenient parsers see cannot hide text in a "binary" part', () => {
    // Strict parsers (CRLF only) read one field: "hello\n--B...forbidden-secret". Lenient ones split it
    // at the bare LF into a field and a PNG file. Both readings are inspected.
    const body = enc.encode(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhello\n--${BOUNDARY}\r\n` +
        `Content-Disposition: form-data; name="image"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n\u0089PNG ${DENY_LITERAL}\r\n--${BOUNDARY}--\r\n`,
    );
    expectDenied(post(host, body, { path: '/v1/images/edits', contentType: `multipart/form-data; boundary=${BOUNDARY}` }), 'bare LF delimiter');
    const padded = enc.encode(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhello\r\n--${BOUNDARY}  \r\n` +
        `Content-Disposition: form-data; name="image"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n\u0089PNG ${DENY_LITERAL}\r\n--${BOUNDARY}--\r\n`,
    );
    expectDenied(post(host, padded, { path: '/v1/images/edits', contentType: `multipart/form-data; boundary=${BOUNDARY}` }), 'padded delimiter');
  });

  it('no traps', () => host.assertHealthy());
});

// ---------------------------------------------------------------- malformed bodies

describe('a body that is not well-formed multipart is uninspectable', () => {
  const ct = `multipart/form-data; boundary=${BOUNDARY}`;
  const good = multipart([{ name: 'prompt', value: DENY_LITERAL }]);
  const text = new TextDecoder().decode(good.body);
  const malformed: [string, string | Uint8Array, string][] = [
    ['no boundary parameter', good.body, 'multipart/form-data'],
    ['an empty boundary', good.body, 'multipart/form-data; boundary=""'],
    ['two boundary parameters', good.body, `multipart/form-data; boundary=${BOUNDARY}; boundary=x`],
    ['a different boundary', good.body, 'multipart/form-data; boundary=other'],
    ['not multipart at all', `please ${DENY_LITERAL}`, ct],
    ['no close delimiter', text.replace(`--${BOUNDARY}--\r\n`, ''), ct],
    ['truncated in the headers', `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${DENY_LITERAL}"`, ct],
    ['a line that starts like a delimiter', text.replace(DENY_LITERAL, `x\r\n--${BOUNDARY}X\r\n${DENY_LITERAL}`), ct],
    ['a part without Content-Disposition', text.replace(/Content-Disposition[^\r]*/, 'X-Other: 1'), ct],
    ['a disposition other than form-data', text.replace('form-data;', 'attachment;'), ct],
    ['two Content-Disposition headers', text.replace('\r\n\r\n', `\r\nContent-Disposition: form-data; name="b"\r\n\r\n`), ct],
    ['two Content-Type headers', text.replace('\r\n\r\n', '\r\nContent-Type: text/plain\r\nContent-Type: image/png\r\n\r\n'), ct],
    ['two name parameters', text.replace('name="prompt"', 'name="prompt"; name="x"'), ct],
    ['an unterminated quoted parameter', text.replace('name="prompt"', 'name="prompt'), ct],
    ['a header line without a colon', text.replace('\r\n\r\n', '\r\nnot a header\r\n\r\n'), ct],
    ['base64 transfer encoding', text.replace('\r\n\r\n', '\r\nContent-Transfer-Encoding: base64\r\n\r\n'), ct],
  ];

  it('refuse (default): 400 invalid_body, never forwarded', async () => {
    const host = await loadGuard(base);
    for (const [what, body] of malformed.map(([w, b, c]) => [w, post(host, b, { path: '/v1/files', contentType: c })] as const)) {
      expectRefused(body, 400, 'invalid_body', what);
      expect(errorOf(body)?.message, what).not.toContain(DENY_LITERAL);
    }
    host.assertHealthy();
  });

  it('allow: forwarded uninspected; scan_raw: the raw text is scanned', async () => {
    const allow = await loadGuard({ ...base, on_uninspectable: 'allow' });
    const scan = await loadGuard({ ...base, on_uninspectable: 'scan_raw' });
    for (const [what, body, contentType] of malformed) {
      const r = post(allow, body, { path: '/v1/files', contentType });
      expect(r.forwarded, `${what}: ${outcome(r)}`).toBe(true);
      expectDenied(post(scan, body, { path: '/v1/files', contentType }), `${what} (scan_raw)`);
    }
    expect(counter(allow, 'requests_passed_uninspected')).toBe(malformed.length);
    allow.assertHealthy();
    scan.assertHealthy();
  });
});

// ---------------------------------------------------------------- binary_content

describe('binary_content', () => {
  it('allow (default): binary parts are forwarded and counted', async () => {
    const host = await loadGuard(base);
    const m = await imageEdit('A cute baby sea otter', BINARY_WITH_LITERAL);
    expectForwarded(send(host, m, '/v1/images/edits'), m.body, 'image edit');
    const t = await transcription('clean prompt');
    expectForwarded(send(host, t, '/v1/audio/transcriptions'), t.body, 'transcription');
    const twoImages = multipart([
      { name: 'image[]', filename: 'a.png', type: 'image/png', value: PNG },
      { name: 'image[]', filename: 'b.pdf', type: 'application/pdf', value: Uint8Array.from([0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37, 0x0a, 0x25, 0xe2, 0xe3, 0xcf, 0xd3]) },
      { name: 'mask', filename: 'm.bin', type: 'application/octet-stream', value: Uint8Array.from([0xff, 0x00, 0xfe]) },
      { name: 'prompt', value: 'clean' },
    ]);
    expectForwarded(send(host, twoImages, '/v1/images/edits'), twoImages.body, 'three binary parts');
    expect(counter(host, 'binary_parts_allowed')).toBe(5);
    expect(counter(host, 'requests_refused_binary_content')).toBe(0);
    host.assertHealthy();
  });

  it('refuse: 400 binary_content_refused; text files still pass; a deny pattern is reported first', async () => {
    const host = await loadGuard({ ...base, binary_content: 'refuse' });
    const r = send(host, await imageEdit('A cute baby sea otter'), '/v1/images/edits');
    expectRefused(r, 400, 'binary_content_refused', 'image edit');
    expect(errorOf(r)?.type).toBe('invalid_request_error');
    expectRefused(send(host, await transcription('clean prompt'), '/v1/audio/transcriptions'), 400, 'binary_content_refused', 'transcription');
    const octets = multipart([{ name: 'file', filename: 'blob', type: 'application/octet-stream', value: Uint8Array.from([0x00, 0xff, 0xfe]) }]);
    expectRefused(send(host, octets, '/v1/files'), 400, 'binary_content_refused', 'octet-stream that is not UTF-8');
    const textFile = multipart([{ name: 'purpose', value: 'user_data' }, { name: 'file', filename: 'notes.txt', type: 'text/plain', value: CLEAN_TEXT }]);
    expectForwarded(send(host, textFile, '/v1/files'), textFile.body, 'text file');
    const batch = batchUpload([batchLine('r1', 'sys', 'hi')]);
    expectForwarded(send(host, batch, '/v1/files'), batch.body, 'JSONL file');
    expectDenied(send(host, await imageEdit(DENY_LITERAL), '/v1/images/edits'), 'deny literal beside an image');
    expect(counter(host, 'requests_refused_binary_content')).toBe(3);
    expect(counter(host, 'binary_parts_allowed')).toBe(0);
    host.assertHealthy();
  });

  it('refuse applies to inline binary content in JSON bodies too', async () => {
    const host = await loadGuard({ ...base, binary_content: 'refuse' });
    const body = {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.from(PNG).toString('base64')}` } }] }],
    };
    expectRefused(post(host, body), 400, 'binary_content_refused', 'inline PNG');
    const text = { model: 'gpt-4o', messages: [{ role: 'user', content: 'just text' }] };
    expect(post(host, text).forwarded).toBe(true);
    host.assertHealthy();
  });
});

// ---------------------------------------------------------------- bounds

describe('bounds', () => {
  const field = (i: number) => ({ name: `f${i}`, value: 'v' });

  it('1000 parts are read; 1001 are refused as too large, whatever on_uninspectable says', async () => {
    for (const policy of ['refuse', 'allow', 'scan_raw']) {
      const host = await loadGuard({ ...base, on_uninspectable: policy });
      const ok = multipart([...Array.from({ length: 999 }, (_, i) => field(i)), { name: 'prompt', value: DENY_LITERAL }]);
      expectDenied(send(host, ok, '/v1/files'), `1000 parts (${policy})`);
      const tooMany = multipart(Array.from({ length: 1001 }, (_, i) => field(i)));
      expectRefused(send(host, tooMany, '/v1/files'), 413, 'body_too_large', `1001 parts (${policy})`);
      host.assertHealthy();
    }
  });

  it('huge part counts, huge headers and many header lines are refused without trapping', async () => {
    const host = await loadGuard({ ...base, max_body_bytes: 16 * 1024 * 1024 }, { bufferLimitBytes: 16 * 1024 * 1024 });
    const tiny = enc.encode(`--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n`);
    const many = Buffer.concat([...Array.from({ length: 200_000 }, () => tiny), enc.encode('--b--\r\n')]);
    expectRefused(post(host, many, { path: '/v1/files', contentType: 'multipart/form-data; boundary=b', chunkSize: 65536 }), 413, 'body_too_large', '200 000 parts');
    const bigHeader = multipart([{ name: 'prompt', value: 'x', headers: [`X-Pad: ${'a'.repeat(20000)}`] }]);
    expectRefused(send(host, bigHeader, '/v1/files'), 413, 'body_too_large', 'a 20 KB header');
    const manyLines = multipart([{ name: 'prompt', value: 'x', headers: Array.from({ length: 100 }, (_, i) => `X-H${i}: 1`) }]);
    expectRefused(send(host, manyLines, '/v1/files'), 413, 'body_too_large', '100 header lines');
    // A megabyte of lines that start like the boundary, and a boundary of 200 characters.
    const longBoundary = 'q'.repeat(200);
    const near = multipart([{ name: 'prompt', value: `${`--${longBoundary.slice(0, 199)}\r\n`.repeat(5000)}${DENY_LITERAL}` }], { boundary: longBoundary });
    expectDenied(send(host, near, '/v1/files'), 'near-boundary lines');
    host.assertHealthy();
  });
});
