// plugin/inspect: prompt-text extraction (AssemblyScript), exercised through the
// plugin/testing/json_probe.ts probe.
//
// Semantics under test (issue 11, "every byte inspected"): every string value and every member name
// of a body comes out as a piece. Shapes only attribute roles; what no shape claims comes out as
// `other`. Nothing is an error: unexpected types are inspected under their place's roles.
//
// Helpers: `extract` checks the "every byte" invariant on every body it is given (each string value
// and member name of the body is inside some piece, except the base64 payloads a test names as
// `unseen`, which must be in none); `attributed` returns the pieces whose role is known (not
// `other`); `others` the texts of the `other` pieces. The newer shapes are in
// inspect.shapes.test.ts.
import { beforeAll, describe, expect, it } from "vitest";
// @ts-ignore: plain ESM helper without type declarations
import { loadJsonProbe } from "../testing/probes.mjs";

type Probe = {
  extract(bytes: Uint8Array, maxDepth: number, maxNodes: number): string;
};

type Piece = [role: string, text: string];
type Result = { recognized: boolean; binary: number; pieces: Piece[] };

const ROLES = ["system", "developer", "user", "assistant", "tool", "tool_definition", "other"];

let probe: Probe;

beforeAll(async () => {
  probe = (await loadJsonProbe()) as Probe;
}, 300_000);

const utf8 = new TextEncoder();

function extractRaw(body: string, maxDepth = -1, maxNodes = -1): Result {
  const r = JSON.parse(probe.extract(utf8.encode(body), maxDepth, maxNodes));
  if ("parseError" in r) throw new Error(`body is not JSON: ${r.parseError}`);
  // No `error` any more: every body is inspected.
  expect(Object.keys(r).sort()).toEqual(["binary", "pieces", "recognized"]);
  expect((r.pieces as Piece[]).filter(([role]) => !ROLES.includes(role)), "pieces of no known role").toEqual([]);
  return r as Result;
}

/** Every string value and member name of a JSON value, iteratively. */
function stringsOf(v: unknown): string[] {
  const out: string[] = [];
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === "string") out.push(x);
    else if (Array.isArray(x)) for (const item of x) stack.push(item);
    else if (x !== null && typeof x === "object") {
      for (const [k, val] of Object.entries(x)) {
        out.push(k);
        stack.push(val);
      }
    }
  }
  return out;
}

interface Options {
  /** Strings of the body that must be in no piece (base64 payloads, data URLs). */
  unseen?: string[];
}

/**
 * Extraction of a body (an object, or raw JSON text for duplicate keys and escapes), checked:
 * every string value and member name of the body is inside some piece (joined text parts hold
 * their parts), except `unseen` ones, which are inside none.
 */
function extract(body: unknown, opts: Options = {}): Result {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const r = extractRaw(raw);
  const texts = r.pieces.map(([, t]) => t);
  const unseen = new Set(opts.unseen ?? []);
  const parsed: unknown = typeof body === "string" ? JSON.parse(body) : body;
  const missing = [...new Set(stringsOf(parsed))].filter((s) => s.length > 0 && !unseen.has(s) && !texts.some((t) => t.includes(s)));
  expect(missing, "strings of the body that are in no piece").toEqual([]);
  for (const s of unseen) expect(texts.filter((t) => t.includes(s)), `${s.slice(0, 40)} must be in no piece`).toEqual([]);
  return r;
}

/** The pieces with a known role (not `other`) of a recognized body. */
function attributed(body: unknown, opts: Options = {}): Piece[] {
  const r = extract(body, opts);
  expect(r.recognized).toBe(true);
  return r.pieces.filter(([role]) => role !== "other");
}

/** The texts of the `other` pieces. */
function others(body: unknown, opts: Options = {}): string[] {
  return extract(body, opts)
    .pieces.filter(([role]) => role === "other")
    .map(([, t]) => t);
}

/**
 * The pieces a walk of `v` under `role` yields: every string value and member name in document
 * order, member names under the same role (under `other` in a user's context).
 */
function walked(v: unknown, role: string): Piece[] {
  const out: Piece[] = [];
  const keyRole = role === "user" ? "other" : role;
  const visit = (x: unknown): void => {
    if (typeof x === "string") {
      if (x.length > 0) out.push([role, x]);
    } else if (Array.isArray(x)) x.forEach(visit);
    else if (x !== null && typeof x === "object") {
      for (const [k, val] of Object.entries(x)) {
        if (k.length > 0) out.push([keyRole, k]);
        visit(val);
      }
    }
  };
  visit(v);
  return out;
}

/** The roles of the pieces whose text is exactly `text`, in order. */
function rolesOf(pieces: Piece[], text: string): string[] {
  return pieces.filter(([, t]) => t === text).map(([role]) => role);
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

/** `expected` appears in `actual` in this order (other pieces may come between). */
function expectInOrder(actual: Piece[], expected: Piece[]): void {
  let i = 0;
  for (const p of actual) if (i < expected.length && p[0] === expected[i]![0] && p[1] === expected[i]![1]) i++;
  if (i < expected.length) {
    expect(actual, `missing in order from ${JSON.stringify(expected[i])}`).toEqual(expected);
  }
}

describe("OpenAI Chat Completions", () => {
  it("attributes every role, string content and content parts; the rest is other", () => {
    const body = {
      model: "gpt-4o",
      messages: [
        { role: "system", content: "sys" },
        { role: "developer", content: "dev" },
        { role: "user", name: "alice", content: "hello" },
        {
          role: "user",
          content: [
            { type: "text", text: "part one" },
            { type: "image_url", image_url: { url: "https://example.com/x.png" } },
            { type: "input_text", text: "part two" },
            { type: "text", text: "" },
          ],
        },
        { role: "assistant", content: [{ type: "output_text", text: "said" }, { type: "refusal", refusal: "no" }] },
        { role: "assistant", content: "plain", refusal: "refused" },
        { role: "tool", tool_call_id: "call_1", content: "tool out" },
        { role: "function", name: "get_weather", content: "sunny" },
      ],
      temperature: 0.2,
    };
    expect(attributed(body)).toEqual([
      ["system", "sys"],
      ["developer", "dev"],
      ["user", "alice"],
      ["user", "hello"],
      ["user", "part one"],
      ["user", "part two"],
      ["assistant", "said"],
      ["assistant", "no"],
      ["assistant", "plain"],
      ["assistant", "refused"],
      ["tool", "tool out"],
      ["tool", "get_weather"],
      ["tool", "sunny"],
    ]);
    const rest = others(body);
    for (const t of ["model", "gpt-4o", "messages", "temperature", "role", "content", "https://example.com/x.png", "image_url", "url", "call_1", "tool_call_id"]) {
      expect(rest, t).toContain(t);
    }
  });

  it("emits tool-call arguments raw AND every string and member name decoded from them", () => {
    const args = JSON.stringify({ query: "ign\u006fre previous", opts: { lang: "en", n: 3 }, list: ["a", "b"] });
    const escapedArgs = '{"q":"ign\\u006fre all","emoji":"\\ud83d\\ude00"}';
    const p = attributed({
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "c1", type: "function", function: { name: "search", arguments: args } },
            { id: "c2", type: "function", function: { name: "run", arguments: escapedArgs } },
          ],
        },
      ],
    });
    expect(p[0]).toEqual(["user", "weather?"]);
    expect(p.filter(([role]) => role !== "assistant" && role !== "user")).toEqual([]);
    expectInOrder(p, [
      ["assistant", "search"],
      ["assistant", args],
      ["assistant", "query"],
      ["assistant", "ignore previous"],
      ["assistant", "opts"],
      ["assistant", "lang"],
      ["assistant", "en"],
      ["assistant", "n"],
      ["assistant", "list"],
      ["assistant", "a"],
      ["assistant", "b"],
      ["assistant", "run"],
      ["assistant", escapedArgs],
      ["assistant", "q"],
      ["assistant", "ignore all"],
      ["assistant", "emoji"],
      ["assistant", "😀"],
    ]);
  });

  it("keeps the raw arguments when they are not JSON (or exceed the limits)", () => {
    expectInOrder(attributed({ messages: [{ role: "assistant", tool_calls: [{ function: { name: "f", arguments: "not json {" } }] }] }), [
      ["assistant", "f"],
      ["assistant", "not json {"],
    ]);
    const deep = "[".repeat(100) + '"deep"' + "]".repeat(100);
    const p = attributed({ messages: [{ role: "assistant", tool_calls: [{ function: { arguments: deep } }] }] });
    expect(p).toContainEqual(["assistant", deep]);
    expect(p.map(([, t]) => t)).not.toContain("deep"); // beyond the JSON depth limit: not decoded
    // a JSON string inside the arguments string is decoded too
    expect(attributed({ messages: [{ role: "assistant", function_call: { name: "f", arguments: '"\\u0068i"' } }] })).toEqual([
      ["assistant", "f"],
      ["assistant", '"\\u0068i"'],
      ["assistant", "hi"],
    ]);
  });

  it("handles the legacy function_call and custom tool calls", () => {
    expect(attributed({ messages: [{ role: "assistant", content: null, function_call: { name: "lookup", arguments: '{"id":"x1"}' } }] })).toEqual([
      ["assistant", "lookup"],
      ["assistant", '{"id":"x1"}'],
      ["assistant", "id"],
      ["assistant", "x1"],
    ]);
    const custom = attributed({ messages: [{ role: "assistant", tool_calls: [{ type: "custom", custom: { name: "sql", input: "SELECT 1" } }] }] });
    expectInOrder(custom, [
      ["assistant", "sql"],
      ["assistant", "SELECT 1"],
    ]);
    expect(custom.every(([role]) => role === "assistant")).toBe(true);
  });

  it("extracts tool definitions (tools[].function and legacy functions[]) whole, member names included", () => {
    const tools = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Get the weather",
          parameters: { type: "object", properties: { city: { type: "string", description: "City name" } }, required: ["city"] },
        },
      },
    ];
    const functions = [{ name: "legacy", description: "Old style", parameters: { type: "object" } }];
    expect(attributed({ messages: [{ role: "user", content: "hi" }], tools, functions })).toEqual([
      ["user", "hi"],
      ...walked(tools, "tool_definition"),
      ...walked(functions, "tool_definition"),
    ]);
  });

  it("adjacent text parts of one message are one piece", () => {
    expect(attributed({ messages: [{ role: "user", content: [{ type: "text", text: "^first" }, { type: "text", text: "^second" }] }] })).toEqual([
      ["user", "^first^second"],
    ]);
  });
});

describe("Completions", () => {
  it("prompt as a string, an array of strings, token ids; suffix", () => {
    expect(attributed({ model: "x", prompt: "complete me", suffix: "end" })).toEqual([
      ["user", "complete me"],
      ["user", "end"],
    ]);
    expect(attributed({ prompt: ["one", "two"] })).toEqual([
      ["user", "one"],
      ["user", "two"],
    ]);
    expect(extract({ prompt: [1, 2, 3] }).pieces).toEqual([["other", "prompt"]]);
    expect(attributed({ prompt: [[1, 2], [3]] })).toEqual([]);
    expect(attributed({ prompt: "x", suffix: null })).toEqual([["user", "x"]]);
  });
});

describe("Responses API", () => {
  it("instructions, input string", () => {
    expect(attributed({ model: "o", instructions: "be nice", input: "hello" })).toEqual([
      ["system", "be nice"],
      ["user", "hello"],
    ]);
  });

  it("input items: messages, function calls and outputs, reasoning", () => {
    const args = '{"city":"Paris"}';
    const body = {
      input: [
        { role: "developer", content: "dev rules" },
        { role: "user", content: [{ type: "input_text", text: "q1" }, { type: "input_image", image_url: "https://example.com/i.png" }] },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "a1", annotations: [] }] },
        { type: "message", role: "system", content: "sys item" },
        { type: "function_call", call_id: "c1", name: "weather", arguments: args },
        { type: "function_call_output", call_id: "c1", output: "22C" },
        { type: "function_call_output", call_id: "c2", output: [{ type: "input_text", text: "part out" }] },
        { type: "reasoning", id: "r1", summary: [{ type: "summary_text", text: "thought" }] },
        { type: "custom_tool_call", call_id: "c3", name: "grep", input: "pattern" },
        { type: "custom_tool_call_output", call_id: "c3", output: "match" },
        { type: "item_reference", id: "msg_1" },
      ],
    };
    expect(attributed(body)).toEqual([
      ["developer", "dev rules"],
      ["user", "q1"],
      ["assistant", "a1"],
      ["system", "sys item"],
      ["assistant", "weather"],
      ["assistant", args],
      ["assistant", "city"],
      ["assistant", "Paris"],
      ["tool", "22C"],
      ["tool", "part out"],
      ["assistant", "thought"],
      ["assistant", "grep"],
      ["assistant", "pattern"],
      ["tool", "match"],
    ]);
    const rest = others(body);
    for (const t of ["msg_1", "item_reference", "r1", "c1", "https://example.com/i.png", "call_id"]) expect(rest, t).toContain(t);
  });

  it("prompt template variables are user text; the template's id and version are other", () => {
    const body = {
      prompt: {
        id: "pmpt_1",
        version: "2",
        variables: { city: "Paris", note: "x", extra: { type: "input_text", text: "var text" } },
      },
    };
    expect(attributed(body)).toEqual([
      ["user", "Paris"],
      ["user", "x"],
      ["user", "var text"],
    ]);
    expect(others(body)).toEqual(expect.arrayContaining(["pmpt_1", "2", "id", "version", "variables", "city", "note", "extra"]));
  });
});

describe("Embeddings / moderations / images / audio", () => {
  it("input as a string, strings, token ids", () => {
    expect(attributed({ model: "e", input: "embed me" })).toEqual([["user", "embed me"]]);
    expect(attributed({ input: ["a", "b"] })).toEqual([
      ["user", "a"],
      ["user", "b"],
    ]);
    expect(attributed({ input: [1, 2, 3] })).toEqual([]);
    expect(attributed({ input: [[1, 2], [3, 4]] })).toEqual([]);
  });
  it("multimodal moderation input", () => {
    const body = { input: [{ type: "text", text: "moderate me" }, { type: "image_url", image_url: { url: "https://x" } }] };
    expect(attributed(body)).toEqual([["user", "moderate me"]]);
    expect(others(body)).toContain("https://x");
  });
  it("image generation prompt and speech input/instructions", () => {
    expect(attributed({ model: "gpt-image-1", prompt: "a cat", size: "1024x1024" })).toEqual([["user", "a cat"]]);
    expect(others({ model: "gpt-image-1", prompt: "a cat", size: "1024x1024" })).toEqual(["model", "prompt", "size", "gpt-image-1", "1024x1024"]);
    expect(attributed({ model: "tts", input: "say this", voice: "alloy", instructions: "cheerful" })).toEqual([
      ["user", "say this"],
      ["system", "cheerful"],
    ]);
  });
});

describe("Anthropic Messages", () => {
  it("system string and blocks, text blocks", () => {
    expect(
      attributed({
        model: "claude",
        system: "top system",
        max_tokens: 10,
        messages: [
          { role: "user", content: "plain" },
          { role: "user", content: [{ type: "text", text: "block", cache_control: { type: "ephemeral" } }] },
        ],
      }),
    ).toEqual([
      ["system", "top system"],
      ["user", "plain"],
      ["user", "block"],
    ]);
    // adjacent system blocks are one text
    expect(attributed({ system: [{ type: "text", text: "s1" }, { type: "text", text: "s2" }], messages: [] })).toEqual([["system", "s1s2"]]);
  });

  it("tool_use, tool_result, document and thinking blocks", () => {
    const input = { q: "cats", filters: { tags: ["x", "y"] }, n: 2 };
    const body = {
      messages: [
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hmm", signature: "sig" },
            { type: "text", text: "let me check" },
            { type: "tool_use", id: "tu1", name: "search", input },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "tu1", content: "result text" },
            { type: "tool_result", tool_use_id: "tu2", content: [{ type: "text", text: "block result" }] },
            { type: "document", source: { type: "text", media_type: "text/plain", data: "doc body" }, title: "T", context: "C" },
            { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0xLjQKJcfs" } },
            { type: "document", source: { type: "content", content: [{ type: "text", text: "custom doc" }] } },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgoAAAANSUhEUg" } },
            { type: "text", text: "what now?" },
          ],
        },
      ],
    };
    const r = extract(body, { unseen: ["JVBERi0xLjQKJcfs", "iVBORw0KGgoAAAANSUhEUg"] });
    expect(r.binary).toBe(2);
    expect(r.pieces.filter(([role]) => role !== "other")).toEqual([
      ["assistant", "hmm"],
      ["assistant", "let me check"],
      ["assistant", "search"],
      ...walked(input, "assistant"),
      ["tool", "result text"],
      ["tool", "block result"],
      ["user", "doc body"],
      ["user", "T"],
      ["user", "C"],
      ["user", "custom doc"],
      ["user", "what now?"],
    ]);
  });

  it("tools[] whole: names, descriptions, input_schema and its member names", () => {
    const tools = [
      {
        name: "get_stock",
        description: "Stock price",
        input_schema: { type: "object", properties: { ticker: { type: "string", description: "Ticker" } } },
      },
    ];
    expect(attributed({ messages: [{ role: "user", content: "x" }], tools })).toEqual([["user", "x"], ...walked(tools, "tool_definition")]);
  });
});

describe("Gemini generateContent", () => {
  it("contents, roles, systemInstruction, function calls and responses", () => {
    const functionCall = { name: "lookup", args: { id: "42", deep: ["z"] } };
    const functionResponse = { name: "lookup", response: { result: "found" } };
    const tools = [{ functionDeclarations: [{ name: "lookup", description: "Find", parameters: { type: "OBJECT" } }] }];
    const r = extract(
      {
        systemInstruction: { parts: [{ text: "gem sys" }] },
        contents: [
          { role: "user", parts: [{ text: "hi gem" }, { inlineData: { mimeType: "image/png", data: "iVBORw0KGgoAAAAN" } }] },
          { role: "model", parts: [{ text: "hello" }, { functionCall }] },
          { role: "function", parts: [{ functionResponse }] },
          { parts: [{ text: "no role" }] },
        ],
        tools,
      },
      { unseen: ["iVBORw0KGgoAAAAN"] },
    );
    expect(r.binary).toBe(1);
    expect(r.pieces.filter(([role]) => role !== "other")).toEqual([
      ["system", "gem sys"],
      ["user", "hi gem"],
      ["assistant", "hello"],
      ...walked(functionCall, "assistant"),
      ...walked(functionResponse, "tool"),
      ["user", "no role"],
      ...walked(tools, "tool_definition"),
    ]);
  });
  it("system_instruction (snake case)", () => {
    expect(attributed({ system_instruction: { parts: [{ text: "snake sys" }] }, contents: [] })).toEqual([["system", "snake sys"]]);
  });
});

describe("Bedrock Converse (content blocks and toolConfig)", () => {
  it("text, toolUse, toolResult, guardContent, system blocks and tool specs", () => {
    const guardContent = { text: { text: "guarded sys", qualifiers: ["guard_content"] } };
    const toolUse = { toolUseId: "t1", name: "lookup", input: { q: "cats" } };
    const toolResult = { toolUseId: "t1", content: [{ text: "found" }, { json: { n: 1, s: "deep" } }], status: "success" };
    const tools = [{ toolSpec: { name: "lookup", description: "Look up", inputSchema: { json: { type: "object" } } } }];
    const r = extract(
      {
        system: [{ text: "bedrock sys" }, { guardContent }],
        messages: [
          { role: "user", content: [{ text: "hi" }, { image: { format: "png", source: { bytes: "iVBORw0KGgoAAAAN" } } }] },
          { role: "assistant", content: [{ toolUse }] },
          { role: "user", content: [{ toolResult }] },
        ],
        toolConfig: { tools, toolChoice: { auto: {} } },
      },
      { unseen: ["iVBORw0KGgoAAAAN"] },
    );
    expect(r.binary).toBe(1);
    expect(r.pieces.filter(([role]) => role !== "other")).toEqual([
      ["system", "bedrock sys"],
      ...walked(guardContent, "system"),
      ["user", "hi"],
      ...walked(toolUse, "assistant"),
      ...walked(toolResult, "tool"),
      ...walked(tools, "tool_definition"),
    ]);
  });
  it("toolConfig of an unexpected type is inspected (as other), no error", () => {
    expect(extract({ messages: [], toolConfig: [] }).pieces).toEqual([
      ["other", "messages"],
      ["other", "toolConfig"],
    ]);
    expect(others({ messages: [], toolConfig: ["tc text"] })).toContain("tc text");
  });
});

describe("duplicate keys: every occurrence is inspected", () => {
  it("duplicate top-level messages arrays", () => {
    const body = '{"messages":[{"role":"user","content":"benign"}],"model":"m","messages":[{"role":"user","content":"evil"}]}';
    expect(attributed(body)).toEqual([
      ["user", "benign"],
      ["user", "evil"],
    ]);
  });
  it("duplicate content, text, prompt, input, system, instructions, arguments", () => {
    expect(attributed('{"messages":[{"role":"user","content":"a","content":"b"}]}')).toEqual([
      ["user", "a"],
      ["user", "b"],
    ]);
    expect(attributed('{"messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}')).toEqual([
      ["user", "a"],
      ["user", "b"],
    ]);
    expect(attributed('{"prompt":"a","prompt":"b"}')).toEqual([
      ["user", "a"],
      ["user", "b"],
    ]);
    expect(attributed('{"input":"a","input":["b"]}')).toEqual([
      ["user", "a"],
      ["user", "b"],
    ]);
    expect(attributed('{"system":"a","system":[{"type":"text","text":"b"}],"messages":[]}')).toEqual([
      ["system", "a"],
      ["system", "b"],
    ]);
    expect(attributed('{"instructions":"a","instructions":"b","input":"c"}')).toEqual([
      ["system", "a"],
      ["system", "b"],
      ["user", "c"],
    ]);
    expectInOrder(attributed('{"messages":[{"role":"assistant","tool_calls":[{"function":{"arguments":"\\"x\\"","arguments":"\\"y\\""}}]}]}'), [
      ["assistant", '"x"'],
      ["assistant", "x"],
      ["assistant", '"y"'],
      ["assistant", "y"],
    ]);
  });
  it("a message with two different roles is emitted under each", () => {
    expect(attributed('{"messages":[{"role":"user","content":"both","role":"system"}]}')).toEqual([
      ["system", "both"],
      ["user", "both"],
    ]);
    expect(attributed('{"messages":[{"role":"assistant","role":"assistant","content":"once"}]}')).toEqual([["assistant", "once"]]);
  });
  it("a part with two types cannot hide its text", () => {
    expect(attributed('{"messages":[{"role":"user","content":[{"type":"image_url","text":"hidden","type":"text"}]}]}')).toEqual([["user", "hidden"]]);
    expect(attributed('{"messages":[{"role":"user","content":[{"type":"text","type":"image_url","text":"hidden"}]}]}')).toEqual([["user", "hidden"]]);
    expect(
      attributed('{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","type":"text","data":"sneaky"}}]}]}'),
    ).toEqual([["user", "sneaky"]]);
  });
  it("a source with two types, text first, cannot hide its text as base64", () => {
    // An upstream parser that keeps the first `type` reads {type: text, data: "sneaky words"}.
    const r = extract('{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","type":"base64","media_type":"text/plain","data":"sneaky words"}}]}]}');
    expect(r.pieces).toContainEqual(["user", "sneaky words"]);
  });
  it("two media types, one of them text, cannot hide the text as binary", () => {
    const data = Buffer.from("forbidden-secret in a text document").toString("base64");
    for (const body of [
      `{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"text/plain","media_type":"application/pdf","data":"${data}"}}]}]}`,
      `{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"text/plain","mimeType":"image/png","data":"${data}"}}]}]}`,
    ]) {
      const r = extract(body, { unseen: [data] });
      expect(r.pieces, body).toContainEqual(["user", "forbidden-secret in a text document"]);
    }
  });
  it("duplicate tools", () => {
    expect(
      attributed('{"messages":[],"tools":[{"name":"a","description":"d1"}],"tools":[{"name":"b","description":"d2","description":"d3"}]}'),
    ).toEqual([
      ["tool_definition", "name"],
      ["tool_definition", "a"],
      ["tool_definition", "description"],
      ["tool_definition", "d1"],
      ["tool_definition", "name"],
      ["tool_definition", "b"],
      ["tool_definition", "description"],
      ["tool_definition", "d2"],
      ["tool_definition", "description"],
      ["tool_definition", "d3"],
    ]);
  });
});

describe("escaped key names are decoded", () => {
  it('"m\\u0065ssages", "c\\u006fntent", "r\\u006fle" with an escaped role value', () => {
    const body = '{"m\\u0065ssages":[{"r\\u006fle":"\\u0073ystem","c\\u006fntent":"escaped keys"}]}';
    expect(attributed(body)).toEqual([["system", "escaped keys"]]);
    expect(others(body)).toEqual(["messages", "role", "content", "system"]);
  });
  it("escaped text and tool_calls keys", () => {
    const p = attributed(
      '{"messages":[{"role":"assistant","tool\\u005fcalls":[{"f\\u0075nction":{"\\u0061rguments":"{\\"k\\":\\"v\\"}"}}]},' +
        '{"role":"user","content":[{"type":"text","t\\u0065xt":"t"}]}]}',
    );
    expectInOrder(p, [
      ["assistant", '{"k":"v"}'],
      ["assistant", "k"],
      ["assistant", "v"],
      ["user", "t"],
    ]);
  });
});

describe("values of unexpected types are inspected anyway, under their place's roles, no error", () => {
  const cases: [string, unknown, Piece[]][] = [
    ["messages is a number", { messages: 5 }, []],
    ["a message is not an object", { messages: [{ role: "user", content: "x" }, "hi"] }, [["user", "x"], ["user", "hi"]]],
    [
      "content is an object",
      { messages: [{ role: "user", content: "a" }, { role: "user", content: "b" }, { role: "user", content: { text: "x" } }] },
      [["user", "a"], ["user", "b"], ["user", "x"]],
    ],
    ["content is a number", { messages: [{ role: "user", content: 1 }] }, []],
    ["role is a number (no role: user)", { messages: [{ role: 1, content: "x" }] }, [["user", "x"]]],
    ["unknown role counts as user", { messages: [{ role: "wizard", content: "x" }] }, [["user", "x"]]],
    ["part is a number", { messages: [{ role: "user", content: ["ok", 7] }] }, [["user", "ok"]]],
    ["part text is an object", { messages: [{ role: "user", content: [{ type: "text", text: { a: "deep" } }] }] }, [["user", "deep"]]],
    ["name is an array", { messages: [{ role: "user", name: ["nm"], content: "x" }] }, [["user", "nm"], ["user", "x"]]],
    ["tool_calls is an object", { messages: [{ role: "assistant", tool_calls: { function: { name: "fname" } } }] }, [["assistant", "fname"]]],
    ["a tool call is a string", { messages: [{ role: "assistant", tool_calls: ["xcall"] }] }, [["assistant", "xcall"]]],
    ["prompt is a boolean", { prompt: true }, []],
    ["prompt item is an object (an input item: unknown fields are other)", { prompt: ["a", { k: "v" }] }, [["user", "a"]]],
    ["token array holds an object", { prompt: [[1, { k: "v" }]] }, [["user", "v"]]],
    ["suffix is a number", { prompt: "x", suffix: 1 }, [["user", "x"]]],
    ["input is an object", { input: { text: "x" } }, [["user", "x"]]],
    ["prompt.variables is an array", { prompt: { id: "pmpt_1", variables: ["v one"] } }, [["user", "v one"]]],
    ["input item is a boolean", { input: ["a", true] }, [["user", "a"]]],
    ["instructions is an array", { instructions: ["x"] }, [["system", "x"]]],
    ["system is a number", { system: 1, messages: [] }, []],
    ["contents is an object", { contents: { parts: [{ text: "p" }] } }, [["user", "p"]]],
    ["parts is a string", { contents: [{ role: "user", parts: "x" }] }, [["user", "x"]]],
    ["systemInstruction is a number", { systemInstruction: 1 }, []],
    ["systemInstruction is a string", { systemInstruction: "sys str" }, [["system", "sys str"]]],
    ["tools is an object", { messages: [], tools: { name: "t", description: "d" } }, walked({ name: "t", description: "d" }, "tool_definition")],
    ["a tool is a string", { messages: [], tools: ["x"] }, [["tool_definition", "x"]]],
    ["tool description is a number", { messages: [], tools: [{ name: "a", description: 1 }] }, walked({ name: "a", description: 1 }, "tool_definition")],
    ["function output is a number", { input: [{ type: "function_call_output", output: 5 }] }, []],
    ["function output is an object", { input: [{ type: "function_call_output", output: { r: "res" } }] }, [["tool", "res"]]],
    ["tool_result content is a number", { messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: 5 }] }] }, []],
    ["document source is a string", { messages: [{ role: "user", content: [{ type: "document", source: "src str" }] }] }, [["user", "src str"]]],
    ["functionCall is a string", { contents: [{ role: "model", parts: [{ functionCall: "fc str" }] }] }, [["assistant", "fc str"]]],
  ];
  for (const [name, body, expected] of cases) {
    it(name, () => {
      expect(attributed(body)).toEqual(expected);
    });
  }

  it("arguments that are not a string: inspected as they are", () => {
    expectInOrder(attributed({ messages: [{ role: "assistant", tool_calls: [{ function: { name: "f", arguments: 3 } }] }] }), [["assistant", "f"]]);
    expectInOrder(attributed({ messages: [{ role: "assistant", tool_calls: [{ function: { name: "f", arguments: { k: "v" } } }] }] }), [
      ["assistant", "f"],
      ["assistant", "k"],
      ["assistant", "v"],
    ]);
  });

  it("in a user's context, the member names of a value are other", () => {
    const body = { messages: [{ role: "user", content: [{ type: "text", text: { "ssn 123-45-6789": "deep" } }] }] };
    expect(attributed(body)).toEqual([["user", "deep"]]);
    expect(others(body)).toContain("ssn 123-45-6789");
  });

  it("null is treated as absent", () => {
    const body = {
      messages: [{ role: "assistant", content: null, name: null, tool_calls: null, function_call: null, refusal: null }],
      tools: null,
      suffix: null,
      system: null,
    };
    expect(attributed(body)).toEqual([]);
    expect(others(body)).toEqual(expect.arrayContaining(["messages", "tools", "suffix", "system", "role", "assistant", "tool_calls"]));
  });

  it("duplicated keys and escaped names with unexpected types", () => {
    expect(attributed('{"messages":[],"messages":[{"role":"user","c\\u006fntent":{"text":"dup"}}]}')).toEqual([["user", "dup"]]);
  });

  it("content parts nested absurdly deep do not overflow the stack and still yield the innermost text", () => {
    const N = 100_000;
    // Anthropic tool_result blocks inside tool_result blocks ...
    const toolResults =
      '{"messages":[{"role":"user","content":[' +
      '{"type":"tool_result","tool_use_id":"x","content":['.repeat(N) +
      '{"type":"text","text":"bottom"}' +
      "]}".repeat(N) +
      "]}]}";
    // ... document sources holding content blocks holding documents ...
    const documents =
      '{"messages":[{"role":"user","content":[' +
      '{"type":"document","source":{"type":"content","content":['.repeat(N) +
      '{"type":"text","text":"bottom"}' +
      "]}}".repeat(N) +
      "]}]}";
    // ... and bare arrays of parts.
    const arrays = '{"messages":[{"role":"user","content":' + "[".repeat(N) + '"bottom"' + "]".repeat(N) + "}]}";
    // All inside the (generous) JSON limits given to the parser.
    const maxDepth = 4 * N + 100;
    const maxNodes = 10 * N;
    const bottom = (r: Result) => r.pieces.filter(([, t]) => t === "bottom");
    const a = extractRaw(toolResults, maxDepth, maxNodes);
    expect(a.recognized).toBe(true);
    expect(bottom(a)).toEqual([["tool", "bottom"]]);
    expect(bottom(extractRaw(documents, maxDepth, maxNodes))).toEqual([["user", "bottom"]]);
    expect(bottom(extractRaw(arrays, maxDepth, maxNodes))).toEqual([["user", "bottom"]]);
  });
});

describe("recognition and the unknown-shape fallback", () => {
  it("a known key makes the body recognized; the other fields are inspected as other", () => {
    const keys = [
      "messages", "prompt", "input", "instructions", "system", "contents", "systemInstruction", "system_instruction", "suffix",
      "additional_messages", "additional_instructions", "thread",
    ];
    for (const key of keys) {
      const r = extract({ [key]: null, other: "inspected too" });
      expect(r, key).toEqual({
        recognized: true,
        binary: 0,
        pieces: [
          ["other", key],
          ["other", "other"],
          ["other", "inspected too"],
        ],
      });
    }
    expect(extract({ messages: [] })).toEqual({ recognized: true, binary: 0, pieces: [["other", "messages"]] });
  });

  it("unknown shapes yield every string value as user text and every member name as other", () => {
    const r = extract({ query: "find cats", opts: { deep: ["a", { b: "c" }], n: 1, flag: true, none: null }, k2: "" });
    expect(r.recognized).toBe(false);
    expect(r.binary).toBe(0);
    expect(r.pieces.filter(([role]) => role !== "other")).toEqual([
      ["user", "find cats"],
      ["user", "a"],
      ["user", "c"],
    ]);
    expect(r.pieces.filter(([role]) => role === "other").map(([, t]) => t).sort()).toEqual(["b", "deep", "flag", "k2", "n", "none", "opts", "query"]);
  });

  it("non-object documents fall back too", () => {
    const r = extract(["x", ["y"], { z: "w" }]);
    expect(r.recognized).toBe(false);
    expect(r.pieces).toEqual([
      ["user", "x"],
      ["user", "y"],
      ["other", "z"],
      ["user", "w"],
    ]);
    expect(extract('"lonely"')).toEqual({ recognized: false, binary: 0, pieces: [["user", "lonely"]] });
    expect(extract(42)).toEqual({ recognized: false, binary: 0, pieces: [] });
    expect(extract({})).toEqual({ recognized: false, binary: 0, pieces: [] });
  });

  it("escaped key names count for recognition", () => {
    expect(extract('{"pr\\u006fmpt":"x"}')).toEqual({ recognized: true, binary: 0, pieces: [["user", "x"], ["other", "prompt"]] });
  });

  it("unparseable bodies are reported by the parser", () => {
    const r = JSON.parse(probe.extract(utf8.encode('{"messages":[}'), -1, -1));
    expect(r).toEqual({ parseError: "unexpected character '}' at byte 13, expected a value", offset: 13 });
  });
});

describe("scale", () => {
  it("extracts 20,000 messages", () => {
    const messages = [];
    for (let i = 0; i < 20_000; i++) {
      messages.push({ role: i % 2 ? "user" : "assistant", content: [{ type: "text", text: `msg ${i}` }] });
    }
    const r = extractRaw(JSON.stringify({ messages }));
    const known = r.pieces.filter(([role]) => role !== "other");
    expect(known.length).toBe(20_000);
    expect(known[19_999]).toEqual(["user", "msg 19999"]);
    // member names and roles repeat in every message, but are other pieces once each
    expect(r.pieces.filter(([role]) => role === "other").map(([, t]) => t)).toEqual(["messages", "role", "content", "assistant", "type", "text", "user"]);
  });
});

// ---- issue 11: every byte inspected ---------------------------------------------------------------

describe("text outside every known place is other", () => {
  it("unknown top-level fields and unknown fields inside a user's message", () => {
    const body = {
      model: "gpt-4o",
      messages: [{ role: "user", content: "hi", extra_field: "in message extra", nested: { k: ["deep extra"] } }],
      user_note: "top-level note",
      metadata: { trace: "abc123" },
    };
    expect(attributed(body)).toEqual([["user", "hi"]]);
    const rest = others(body);
    for (const t of ["in message extra", "deep extra", "extra_field", "nested", "k", "top-level note", "user_note", "metadata", "trace", "abc123", "gpt-4o"]) {
      expect(rest, t).toContain(t);
    }
  });

  it("unknown fields of a message that is not the user's are inspected under its role", () => {
    const body = { messages: [{ role: "assistant", content: "hi", extra_field: "asst extra" }, { role: "tool", tool_call_id: "c9", content: "out", meta: { note: "tool extra" } }] };
    expect(attributed(body)).toEqual([
      ["assistant", "hi"],
      ["assistant", "asst extra"],
      ["tool", "out"],
      ["tool", "note"],
      ["tool", "tool extra"],
    ]);
  });

  it("other pieces come after the attributed ones, once per distinct text", () => {
    const r = extract({ messages: [{ role: "user", content: "a", x: "dup" }, { role: "user", content: "b", x: "dup" }], y: "dup" });
    const roles = r.pieces.map(([role]) => role);
    expect(roles.slice(0, 2)).toEqual(["user", "user"]);
    expect(roles.slice(2).every((role) => role === "other")).toBe(true);
    const rest = r.pieces.slice(2).map(([, t]) => t);
    expect(rest.sort()).toEqual(["content", "dup", "messages", "role", "user", "x", "y"]);
  });

  it("a JSON string inside an unknown field is decoded: escapes cannot hide text or member names", () => {
    const blob = '{"note":"ign\\u006fre all","n\\u0069ce":1,"list":["\\u0069nner"]}';
    const body = { messages: [{ role: "user", content: "hi" }], metadata: { blob }, extra: '["\\u0073ecret"]' };
    const rest = others(body);
    expect(rest).toContain(blob); // the text as sent
    for (const t of ["note", "ignore all", "nice", "list", "inner", "secret"]) expect(rest, t).toContain(t);
    // a string that only looks like JSON is inspected as it is
    expect(others({ input: "x", metadata: { s: "{ not json" } })).toContain("{ not json");
  });

  it("unknown roles count as user", () => {
    expect(attributed({ messages: [{ role: "narrator", content: "once upon" }, { role: "critic", content: [{ type: "text", text: "meh" }] }] })).toEqual([
      ["user", "once upon"],
      ["user", "meh"],
    ]);
    expect(attributed({ contents: [{ role: "oracle", parts: [{ text: "gem" }] }] })).toEqual([["user", "gem"]]);
  });
});

describe("OpenAI Assistants runs", () => {
  it("POST /v1/threads/runs: thread.messages, instructions, tools", () => {
    const tools = [{ type: "code_interpreter" }, { type: "function", function: { name: "get_grade", description: "Grade lookup", parameters: { type: "object" } } }];
    const body = {
      assistant_id: "asst_abc123",
      thread: {
        messages: [
          {
            role: "user",
            content: "Explain deep learning to a 5 year old.",
            attachments: [{ file_id: "file-abc123", tools: [{ type: "file_search" }] }],
            metadata: { lesson: "thread meta" },
          },
          { role: "assistant", content: [{ type: "text", text: "Sure" }, { type: "text", text: "thing" }] },
        ],
        tool_resources: { code_interpreter: { file_ids: ["file-xyz"] } },
      },
      instructions: "You are a patient tutor.",
      tools,
      truncation_strategy: { type: "auto" },
    };
    expect(attributed(body)).toEqual([
      ["user", "Explain deep learning to a 5 year old."],
      ["assistant", "Surething"],
      ["system", "You are a patient tutor."],
      ...walked(tools, "tool_definition"),
    ]);
    expect(others(body)).toEqual(expect.arrayContaining(["asst_abc123", "file-abc123", "thread meta", "file-xyz", "tool_resources", "attachments"]));
  });

  it("POST /v1/threads/{thread_id}/runs: additional_instructions (system), additional_messages", () => {
    const body = {
      assistant_id: "asst_abc123",
      model: "gpt-4o",
      instructions: "Override instructions.",
      additional_instructions: "Please address the user as Jane Doe. The user has a premium account.",
      additional_messages: [
        { role: "user", content: [{ type: "text", text: "I need to solve" }, { type: "text", text: " 3x + 11 = 14" }] },
        { role: "assistant", content: "Let's do it." },
        { role: "user", content: [{ type: "image_file", image_file: { file_id: "file-img", detail: "low" } }], attachments: [] },
      ],
      metadata: { run: "nightly" },
    };
    expect(attributed(body)).toEqual([
      ["system", "Override instructions."],
      ["system", "Please address the user as Jane Doe. The user has a premium account."],
      ["user", "I need to solve 3x + 11 = 14"],
      ["assistant", "Let's do it."],
    ]);
    expect(others(body)).toEqual(expect.arrayContaining(["file-img", "nightly", "asst_abc123"]));
  });

  it("additional_messages alone make a body recognized", () => {
    const r = extract({ additional_messages: [{ role: "user", content: "solo" }] });
    expect(r.recognized).toBe(true);
    expect(r.pieces.filter(([role]) => role !== "other")).toEqual([["user", "solo"]]);
  });
});

describe("OpenAI Chat predicted outputs", () => {
  const code = "class User {\n  firstName: string = \"\";\n  username: string = \"\";\n}";
  it("prediction.content (a string) is assistant text", () => {
    const body = {
      model: "gpt-4.1",
      messages: [
        { role: "user", content: "Replace the username property with an email property. Respond only with code." },
        { role: "user", content: code },
      ],
      prediction: { type: "content", content: code },
    };
    const p = attributed(body);
    expect(p).toEqual([
      ["user", "Replace the username property with an email property. Respond only with code."],
      ["user", code],
      ["assistant", code],
    ]);
  });
  it("prediction.content as text parts is one assistant text", () => {
    expect(attributed({ model: "gpt-4.1", messages: [{ role: "user", content: "x" }], prediction: { type: "content", content: [{ type: "text", text: "pre" }, { type: "text", text: "dicted" }] } })).toEqual([
      ["user", "x"],
      ["assistant", "predicted"],
    ]);
  });
});

describe("output schemas: what the model reads in them is tool_definition text", () => {
  it("Chat response_format.json_schema: name, description, property descriptions", () => {
    const response_format = {
      type: "json_schema",
      json_schema: {
        name: "math_response",
        description: "A step-by-step solution",
        strict: true,
        schema: {
          type: "object",
          properties: { steps: { type: "array", items: { type: "object", properties: { explanation: { type: "string", description: "why this step" } } } }, final_answer: { type: "string" } },
          required: ["steps", "final_answer"],
          additionalProperties: false,
        },
      },
    };
    const p = attributed({ model: "gpt-4o", messages: [{ role: "user", content: "solve 8x + 7 = -23" }], response_format, temperature: 0 });
    expect(p).toEqual([["user", "solve 8x + 7 = -23"], ...walked(response_format, "tool_definition")]);
    expect(rolesOf(p, "A step-by-step solution")).toEqual(["tool_definition"]);
    expect(rolesOf(p, "why this step")).toEqual(["tool_definition"]);
  });

  it("Responses text.format: the schema is tool_definition, text's other settings are other", () => {
    const format = {
      type: "json_schema",
      name: "research_paper_extraction",
      schema: { type: "object", properties: { title: { type: "string", description: "paper title" }, authors: { type: "array", items: { type: "string" } } }, required: ["title"] },
      strict: true,
    };
    const body = { model: "gpt-4o-2024-08-06", input: [{ role: "system", content: "Extract the paper." }, { role: "user", content: "paper text" }], text: { format, verbosity: "medium" } };
    expect(attributed(body)).toEqual([
      ["system", "Extract the paper."],
      ["user", "paper text"],
      ...walked(format, "tool_definition"),
    ]);
    expect(others(body)).toEqual(expect.arrayContaining(["verbosity", "medium"]));
  });

  it("Gemini generationConfig.responseSchema and responseJsonSchema", () => {
    const responseSchema = { type: "ARRAY", items: { type: "OBJECT", properties: { recipeName: { type: "STRING", description: "name of the recipe" } } } };
    const body = { contents: [{ role: "user", parts: [{ text: "List a few cookie recipes" }] }], generationConfig: { responseMimeType: "application/json", responseSchema, temperature: 1 } };
    expect(attributed(body)).toEqual([["user", "List a few cookie recipes"], ...walked(responseSchema, "tool_definition")]);
    expect(others(body)).toEqual(expect.arrayContaining(["responseMimeType", "application/json"]));
    const responseJsonSchema = { type: "object", properties: { ingredients: { type: "array", description: "what goes in" } } };
    expect(attributed({ contents: [{ parts: [{ text: "x" }] }], generation_config: { response_mime_type: "application/json", responseJsonSchema } })).toEqual([
      ["user", "x"],
      ...walked(responseJsonSchema, "tool_definition"),
    ]);
  });
});

describe("Responses built-in tool items", () => {
  it("code_interpreter_call: code is assistant text, its logs tool output", () => {
    const body = {
      model: "gpt-4.1",
      tools: [{ type: "code_interpreter", container: { type: "auto" } }],
      input: [
        { role: "user", content: "Plot sin(x)" },
        {
          type: "code_interpreter_call",
          id: "ci_123",
          status: "completed",
          container_id: "cntr_abc",
          code: "import numpy as np\nprint(np.sin(1))",
          outputs: [{ type: "logs", logs: "0.8414709848078965" }, { type: "image", url: "https://example.com/plot.png" }],
        },
      ],
    };
    const p = attributed(body);
    expect(rolesOf(p, "import numpy as np\nprint(np.sin(1))")).toEqual(["assistant"]);
    expect(rolesOf(p, "0.8414709848078965")).toEqual(["tool"]);
    expect(rolesOf(p, "Plot sin(x)")).toEqual(["user"]);
  });

  it("file_search_call: queries are assistant text, results tool output", () => {
    const body = {
      model: "gpt-4.1",
      input: [
        {
          type: "file_search_call",
          id: "fs_123",
          status: "completed",
          queries: ["What is deep research?"],
          results: [{ file_id: "file-2dtbBZdjtDKS8eqWxqbgDi", filename: "deep_research_blog.pdf", score: 0.97, text: "Deep research is an agent that", attributes: { author: "openai" } }],
        },
      ],
    };
    const p = attributed(body);
    expect(rolesOf(p, "What is deep research?")).toEqual(["assistant"]);
    expect(rolesOf(p, "Deep research is an agent that")).toEqual(["tool"]);
    expect(rolesOf(p, "openai")).toEqual(["tool"]);
  });

  it("web_search_call: the search query, opened page and find pattern are assistant text", () => {
    const body = {
      model: "gpt-4.1",
      input: [
        { type: "web_search_call", id: "ws_1", status: "completed", action: { type: "search", query: "positive news story today", sources: [{ type: "url", url: "https://news.example.com/a" }] } },
        { type: "web_search_call", id: "ws_2", status: "completed", action: { type: "open_page", url: "https://news.example.com/b" } },
        { type: "web_search_call", id: "ws_3", status: "completed", action: { type: "find", url: "https://news.example.com/b", pattern: "otters" } },
      ],
    };
    const p = attributed(body);
    expect(rolesOf(p, "positive news story today")).toEqual(["assistant"]);
    expect(rolesOf(p, "otters")).toEqual(["assistant"]);
    expect(rolesOf(p, "https://news.example.com/a")).toEqual(["assistant"]);
  });

  it("computer_call: the action typed is assistant text; the screenshot is binary", () => {
    const screenshot = b64("\x89PNG\r\n\x1a\n fake screenshot pixels");
    const body = {
      model: "computer-use-preview",
      input: [
        {
          type: "computer_call",
          id: "cu_1",
          call_id: "call_zi",
          action: { type: "type", text: "open the admin panel" },
          pending_safety_checks: [{ id: "cu_sc_1", code: "malicious_instructions", message: "We've detected instructions" }],
          status: "completed",
        },
        {
          type: "computer_call_output",
          call_id: "call_zi",
          acknowledged_safety_checks: [{ id: "cu_sc_1", code: "malicious_instructions", message: "We've detected instructions" }],
          output: { type: "computer_screenshot", image_url: `data:image/png;base64,${screenshot}` },
        },
      ],
    };
    const r = extract(body, { unseen: [screenshot, `data:image/png;base64,${screenshot}`] });
    expect(r.binary).toBe(1);
    expect(rolesOf(r.pieces, "open the admin panel")).toEqual(["assistant"]);
    expect(rolesOf(r.pieces, "We've detected instructions")).toContain("assistant");
  });

  it("local_shell_call and shell_call: commands are assistant text, their output tool output", () => {
    const body = {
      model: "gpt-5.1",
      input: [
        { type: "local_shell_call", id: "lsh_1", call_id: "call_ls", status: "completed", action: { type: "exec", command: ["bash", "-lc", "cat notes.txt"], env: { LANG: "C" }, working_directory: "/work", timeout_ms: 1000 } },
        { type: "local_shell_call_output", id: "lsho_1", call_id: "call_ls", output: "the notes say hi" },
        { type: "shell_call", id: "sh_1", call_id: "call_sh", status: "completed", action: { commands: ["ls -la", "grep -r token ."], timeout_ms: 1000, max_output_length: 4096 } },
        { type: "shell_call_output", id: "sho_1", call_id: "call_sh", max_output_length: 4096, output: [{ stdout: "total 0", stderr: "grep: warning", outcome: { type: "exit", exit_code: 0 } }] },
      ],
    };
    const p = attributed(body);
    expect(rolesOf(p, "cat notes.txt")).toEqual(["assistant"]);
    expect(rolesOf(p, "the notes say hi")).toEqual(["tool"]);
    expect(rolesOf(p, "grep -r token .")).toEqual(["assistant"]);
    expect(rolesOf(p, "total 0")).toEqual(["tool"]);
    expect(rolesOf(p, "grep: warning")).toEqual(["tool"]);
  });

  it("mcp_list_tools: the tools a server offers are tool definitions; mcp_call arguments decoded, output tool", () => {
    const tools = [{ name: "ask_question", description: "Ask a question about a GitHub repository", input_schema: { type: "object", properties: { repoName: { type: "string" } } }, annotations: null }];
    const args = '{"repoName":"modelcontextprotocol/spec","question":"what transp\\u006frts?"}';
    const body = {
      model: "gpt-4.1",
      tools: [{ type: "mcp", server_label: "deepwiki", server_url: "https://mcp.deepwiki.com/mcp", require_approval: "never" }],
      input: [
        { type: "mcp_list_tools", id: "mcpl_1", server_label: "deepwiki", tools },
        { type: "mcp_call", id: "mcp_1", server_label: "deepwiki", name: "ask_question", arguments: args, output: "stdio and streamable HTTP", error: null },
      ],
    };
    const p = attributed(body);
    expectInOrder(p, walked(tools, "tool_definition"));
    expect(rolesOf(p, "Ask a question about a GitHub repository")).toEqual(["tool_definition"]);
    expect(rolesOf(p, args)).toEqual(["assistant"]);
    expect(rolesOf(p, "what transports?")).toEqual(["assistant"]);
    expect(rolesOf(p, "question")).toEqual(["assistant"]);
    expect(rolesOf(p, "stdio and streamable HTTP")).toEqual(["tool"]);
    expect(rolesOf(p, "https://mcp.deepwiki.com/mcp")).toEqual(["tool_definition"]);
  });
});

describe("Anthropic server tool results and search results", () => {
  it("code_execution_tool_result and bash_code_execution_tool_result: stdout and stderr are tool output", () => {
    const body = {
      model: "claude-opus-4-1",
      max_tokens: 4096,
      messages: [
        { role: "user", content: "Calculate the mean of [1,2,3]" },
        {
          role: "assistant",
          content: [
            { type: "server_tool_use", id: "srvtoolu_01", name: "code_execution", input: { code: "print(sum([1,2,3])/3)" } },
            { type: "code_execution_tool_result", tool_use_id: "srvtoolu_01", content: { type: "code_execution_result", stdout: "2.0\n", stderr: "DeprecationWarning: x", return_code: 0, content: [] } },
            { type: "server_tool_use", id: "srvtoolu_02", name: "bash_code_execution", input: { command: "ls -la | head" } },
            {
              type: "bash_code_execution_tool_result",
              tool_use_id: "srvtoolu_02",
              content: { type: "bash_code_execution_result", stdout: "total 24\ndrwxr-xr-x", stderr: "ls: cannot open", return_code: 0, content: [] },
            },
            { type: "text_editor_code_execution_tool_result", tool_use_id: "srvtoolu_03", content: { type: "text_editor_code_execution_view_result", file_type: "text", content: "line one of the file", num_lines: 1, start_line: 1, total_lines: 1 } },
          ],
        },
      ],
    };
    const p = attributed(body);
    expect(rolesOf(p, "print(sum([1,2,3])/3)")).toEqual(["assistant"]);
    expect(rolesOf(p, "code")).toEqual(["assistant"]); // member name of the server tool's input
    expect(rolesOf(p, "2.0\n")).toEqual(["tool"]);
    expect(rolesOf(p, "DeprecationWarning: x")).toEqual(["tool"]);
    expect(rolesOf(p, "ls -la | head")).toEqual(["assistant"]);
    expect(rolesOf(p, "total 24\ndrwxr-xr-x")).toEqual(["tool"]);
    expect(rolesOf(p, "ls: cannot open")).toEqual(["tool"]);
    expect(rolesOf(p, "line one of the file")).toEqual(["tool"]);
  });

  it("web_search_tool_result: results are tool output", () => {
    const p = attributed({
      model: "claude",
      max_tokens: 10,
      messages: [
        { role: "user", content: "news?" },
        {
          role: "assistant",
          content: [
            { type: "server_tool_use", id: "srvtoolu_9", name: "web_search", input: { query: "claude shannon birth date" } },
            { type: "web_search_tool_result", tool_use_id: "srvtoolu_9", content: [{ type: "web_search_result", url: "https://en.wikipedia.org/wiki/Claude_Shannon", title: "Claude Shannon - Wikipedia", encrypted_content: "EqgfCioIARgBIiQ3YTAwMjY1Mi1", page_age: "April 30, 2025" }] },
          ],
        },
      ],
    });
    expect(rolesOf(p, "claude shannon birth date")).toEqual(["assistant"]);
    expect(rolesOf(p, "Claude Shannon - Wikipedia")).toEqual(["tool"]);
  });

  it("a search_result block whose source is a string: extracted, no error", () => {
    const body = {
      model: "claude-sonnet-4-5",
      max_tokens: 1024,
      messages: [
        {
          role: "user",
          content: [
            {
              type: "search_result",
              source: "https://docs.company.com/api-reference",
              title: "API Reference - Authentication",
              content: [{ type: "text", text: "All API requests must include an API key" }],
              citations: { enabled: true },
            },
            { type: "text", text: "How do I authenticate?" },
          ],
        },
      ],
    };
    expect(attributed(body)).toEqual([
      ["user", "https://docs.company.com/api-reference"],
      ["user", "API Reference - Authentication"],
      ["user", "All API requests must include an API key"],
      ["user", "How do I authenticate?"],
    ]);
  });
});

describe("member names inside walked values", () => {
  it("Anthropic tool_use.input", () => {
    const p = attributed({
      model: "claude",
      max_tokens: 10,
      messages: [
        { role: "user", content: "look me up" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "lookup", input: { "ssn 123-45-6789": true } }] },
      ],
    });
    expect(rolesOf(p, "ssn 123-45-6789")).toEqual(["assistant"]);
  });

  it("Gemini functionCall.args (assistant) and functionResponse.response (tool)", () => {
    const p = attributed({
      contents: [
        { role: "user", parts: [{ text: "check" }] },
        { role: "model", parts: [{ functionCall: { name: "check", args: { "ssn 123-45-6789": true } } }] },
        { role: "user", parts: [{ functionResponse: { name: "check", response: { "ssn 987-65-4321": true } } }] },
      ],
    });
    expect(rolesOf(p, "ssn 123-45-6789")).toEqual(["assistant"]);
    expect(rolesOf(p, "ssn 987-65-4321")).toEqual(["tool"]);
  });

  it("decoded tool-call arguments (Responses function_call) and tool schemas", () => {
    const p = attributed({
      input: [{ type: "function_call", call_id: "c1", name: "f", arguments: '{"ssn 123-45-6789":true}' }],
      tools: [{ type: "function", name: "f", parameters: { type: "object", properties: { "acct 4111": { type: "string" } } } }],
    });
    expect(rolesOf(p, "ssn 123-45-6789")).toEqual(["assistant"]);
    expect(rolesOf(p, "acct 4111")).toEqual(["tool_definition"]);
  });

  it("in a user's context (JSON a user sends inline) member names are other", () => {
    const r = extract(
      { contents: [{ role: "user", parts: [{ inlineData: { mimeType: "application/json", data: b64('{"ssn 123-45-6789":"v"}') } }] }] },
      { unseen: [b64('{"ssn 123-45-6789":"v"}')] },
    );
    expect(rolesOf(r.pieces, "ssn 123-45-6789")).toEqual(["other"]);
    expect(rolesOf(r.pieces, "v")).toEqual(["user"]);
  });
});

describe("adjacent plain text parts of one message are one text", () => {
  const joined: [string, unknown, Piece][] = [
    ["OpenAI chat text parts", { messages: [{ role: "user", content: [{ type: "text", text: "forbidden-" }, { type: "text", text: "secret" }] }] }, ["user", "forbidden-secret"]],
    ["bare string parts", { messages: [{ role: "user", content: ["forbidden-", "secret"] }] }, ["user", "forbidden-secret"]],
    [
      "Anthropic text blocks with cache_control",
      { model: "c", max_tokens: 5, messages: [{ role: "user", content: [{ type: "text", text: "forbidden-", cache_control: { type: "ephemeral" } }, { type: "text", text: "secret" }] }] },
      ["user", "forbidden-secret"],
    ],
    [
      "Anthropic assistant text blocks with citations",
      { model: "c", max_tokens: 5, messages: [{ role: "assistant", content: [{ type: "text", text: "forbidden-", citations: [{ type: "char_location", cited_text: "c", document_index: 0, start_char_index: 0, end_char_index: 1 }] }, { type: "text", text: "secret" }] }] },
      ["assistant", "forbidden-secret"],
    ],
    ["Gemini parts", { contents: [{ role: "user", parts: [{ text: "forbidden-" }, { text: "secret" }] }] }, ["user", "forbidden-secret"]],
    ["Responses input_text parts", { input: [{ role: "user", content: [{ type: "input_text", text: "forbidden-" }, { type: "input_text", text: "secret" }] }] }, ["user", "forbidden-secret"]],
    ["Responses output_text with annotations", { input: [{ type: "message", role: "assistant", content: [{ type: "output_text", text: "forbidden-", annotations: [] }, { type: "output_text", text: "secret", annotations: [] }] }] }, ["assistant", "forbidden-secret"]],
    ["Bedrock text blocks", { messages: [{ role: "user", content: [{ text: "forbidden-" }, { text: "secret" }] }] }, ["user", "forbidden-secret"]],
    ["system blocks", { system: [{ type: "text", text: "forbidden-" }, { type: "text", text: "secret" }], messages: [] }, ["system", "forbidden-secret"]],
    ["tool_result content blocks", { messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: [{ type: "text", text: "forbidden-" }, { type: "text", text: "secret" }] }] }] }, ["tool", "forbidden-secret"]],
  ];
  for (const [name, body, piece] of joined) {
    it(`joined: ${name}`, () => {
      const p = attributed(body);
      expect(p).toEqual([piece]);
    });
  }

  const apart: [string, unknown][] = [
    ["two messages", { messages: [{ role: "user", content: "forbidden-" }, { role: "user", content: "secret" }] }],
    ["two messages of parts", { messages: [{ role: "user", content: [{ type: "text", text: "forbidden-" }] }, { role: "user", content: [{ type: "text", text: "secret" }] }] }],
    ["an image part between", { messages: [{ role: "user", content: [{ type: "text", text: "forbidden-" }, { type: "image_url", image_url: { url: "https://x/y.png" } }, { type: "text", text: "secret" }] }] }],
    ["a part with another field", { messages: [{ role: "user", content: [{ type: "text", text: "forbidden-" }, { type: "text", text: "secret", extra: 1 }] }] }],
    ["a thinking block between", { messages: [{ role: "assistant", content: [{ type: "text", text: "forbidden-" }, { type: "thinking", thinking: "", signature: "s" }, { type: "text", text: "secret" }] }] }],
    ["two Gemini contents", { contents: [{ role: "user", parts: [{ text: "forbidden-" }] }, { role: "user", parts: [{ text: "secret" }] }] }],
  ];
  for (const [name, body] of apart) {
    it(`not joined across ${name}`, () => {
      const texts = attributed(body).map(([, t]) => t);
      expect(texts).toContain("forbidden-");
      expect(texts).toContain("secret");
      expect(texts.filter((t) => t.includes("forbidden-secret"))).toEqual([]);
    });
  }

  it("runs on either side of another part are two texts", () => {
    expect(
      attributed({ messages: [{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }, { type: "image_url", image_url: { url: "u" } }, { type: "text", text: "c" }, { type: "text", text: "d" }] }] }),
    ).toEqual([
      ["user", "ab"],
      ["user", "cd"],
    ]);
  });
});

describe("inline base64 content", () => {
  const text = "Quarterly numbers: revenue up, forbidden-secret inside";
  const data = b64(text);

  const decoded: [string, unknown, Piece[]][] = [
    ["Gemini inlineData text/plain", { contents: [{ role: "user", parts: [{ text: "Summarize this" }, { inlineData: { mimeType: "text/plain", data } }] }] }, [["user", "Summarize this"], ["user", text]]],
    ["Gemini inline_data (snake case) with a charset", { contents: [{ role: "user", parts: [{ inline_data: { mime_type: "text/plain; charset=UTF-8", data } }] }] }, [["user", text]]],
    [
      "OpenAI chat file part, file_data as a data URL",
      { model: "gpt-4o", messages: [{ role: "user", content: [{ type: "file", file: { filename: "report.txt", file_data: `data:text/plain;base64,${data}` } }, { type: "text", text: "Summarize" }] }] },
      [["user", "report.txt"], ["user", text], ["user", "Summarize"]],
    ],
    [
      "OpenAI Responses input_file, file_data as a data URL",
      { model: "gpt-4.1", input: [{ role: "user", content: [{ type: "input_file", filename: "report.txt", file_data: `data:text/plain;base64,${data}` }, { type: "input_text", text: "Summarize" }] }] },
      [["user", text], ["user", "Summarize"]],
    ],
    [
      "OpenAI Responses input_file, raw base64 with a text file name",
      { model: "gpt-4.1", input: [{ role: "user", content: [{ type: "input_file", filename: "report.md", file_data: data }] }] },
      [["user", text]],
    ],
    [
      "Anthropic base64 document, media_type text/plain",
      { model: "claude", max_tokens: 10, messages: [{ role: "user", content: [{ type: "document", source: { type: "base64", media_type: "text/plain", data } }, { type: "text", text: "Summarize" }] }] },
      [["user", text], ["user", "Summarize"]],
    ],
    [
      "Anthropic image block labelled text/plain (the media type decides, not the block type)",
      { model: "claude", max_tokens: 10, messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "text/plain", data } }] }] },
      [["user", text]],
    ],
    [
      "Bedrock document bytes, format txt",
      { modelId: "m", messages: [{ role: "user", content: [{ document: { format: "txt", name: "report", source: { bytes: data } } }, { text: "Summarize" }] }] },
      [["user", "report"], ["user", text], ["user", "Summarize"]],
    ],
    [
      "image_url data URL with a text media type",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `data:text/plain;base64,${data}` } }] }] },
      [["user", text]],
    ],
  ];
  for (const [name, body, expected] of decoded) {
    it(`decoded: ${name}`, () => {
      const r = extract(body, { unseen: [data, ...stringsOf(body).filter((x) => x.startsWith("data:"))] });
      expect(r.binary).toBe(0);
      expect(r.pieces.filter(([role]) => role !== "other")).toEqual(expected);
    });
  }

  it("any base64 alphabet and layout: URL-safe, unpadded, broken into lines", () => {
    const long = `${text} `.repeat(6);
    for (const encoded of [
      Buffer.from(long).toString("base64url"),
      b64(`${text}!`).replace(/=+$/, ""),
      b64(long).replace(/(.{76})/g, "$1\n"),
      b64(long).replace(/(.{76})/g, "$1\r\n"),
    ]) {
      const r = extract({ contents: [{ role: "user", parts: [{ inlineData: { mimeType: "text/plain", data: encoded } }] }] }, { unseen: [encoded] });
      expect(r.pieces.some(([role, t]) => role === "user" && t.startsWith(text)), encoded.slice(0, 30)).toBe(true);
    }
  });

  it("JSON content: its strings (user) and member names (other) decoded, escapes and all", () => {
    const json = '{"k\\u0065y":"v\\u0061lue one","rows":[{"note":"forbidden-secret"}]}';
    const r = extract({ contents: [{ role: "user", parts: [{ inlineData: { mimeType: "application/json", data: b64(json) } }] }] }, { unseen: [b64(json)] });
    expect(r.pieces.filter(([role]) => role !== "other")).toEqual([
      ["user", "value one"],
      ["user", "forbidden-secret"],
    ]);
    for (const name of ["key", "rows", "note"]) expect(rolesOf(r.pieces, name), name).toEqual(["other"]);
    // the same through an OpenAI data URL
    const viaUrl = extract(
      { messages: [{ role: "user", content: [{ type: "file", file: { filename: "data.json", file_data: `data:application/json;base64,${b64(json)}` } }] }] },
      { unseen: [b64(json), `data:application/json;base64,${b64(json)}`] },
    );
    expect(rolesOf(viaUrl.pieces, "value one")).toEqual(["user"]);
  });

  it("JSON Lines content: each line decoded; a line that is not JSON is text", () => {
    const jsonl = '{"prompt":"row \\u006fne"}\n{"prompt":"row two"}\nnot json at all\n';
    const crlf = b64(jsonl.replace(/\n/g, "\r\n"));
    for (const [body, payload] of [
      [{ contents: [{ role: "user", parts: [{ inlineData: { mimeType: "application/jsonl", data: b64(jsonl) } }] }] }, b64(jsonl)],
      [{ contents: [{ role: "user", parts: [{ inlineData: { mimeType: "application/x-ndjson", data: crlf } }] }] }, crlf],
      [{ messages: [{ role: "user", content: [{ type: "file", file: { filename: "batch.jsonl", file_data: `data:application/octet-stream;base64,${b64(jsonl)}` } }] }] }, b64(jsonl)],
    ] as const) {
      const r = extract(body, { unseen: [payload, ...stringsOf(body).filter((x) => x.startsWith("data:"))] });
      // (the file name is user text too; with CRLF the text line keeps its CR)
      const user = r.pieces.filter(([role, t]) => role === "user" && t !== "batch.jsonl").map(([, t]) => t.trimEnd());
      expect(user).toEqual(["row one", "row two", "not json at all"]);
      expect([...new Set(rolesOf(r.pieces, "prompt"))]).toEqual(["other"]);
    }
  });

  it("images, audio and PDFs are counted as binary; their base64 is in no piece", () => {
    const png = b64("\x89PNG\r\n\x1a\n forbidden-secret pixels 1");
    const jpeg = b64("\xff\xd8\xff\xe0 JFIF forbidden-secret pixels 2");
    const gif = b64("GIF89a forbidden-secret pixels 3");
    const webp = b64("RIFF....WEBP forbidden-secret pixels 4");
    const wav = b64("RIFF....WAVEfmt forbidden-secret samples 5");
    const mp3 = b64("ID3 forbidden-secret samples 6");
    const pdf1 = b64("%PDF-1.7 forbidden-secret document 7");
    const pdf2 = b64("%PDF-1.4 forbidden-secret document 8");
    const pdf3 = b64("%PDF-1.5 forbidden-secret document 9");
    const body = {
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${png}`, detail: "high" } },
            { type: "image", source: { type: "base64", media_type: "image/jpeg", data: jpeg } },
            { image: { format: "gif", source: { bytes: gif } } },
            { type: "input_audio", input_audio: { data: wav, format: "wav" } },
            { type: "file", file: { filename: "a.pdf", file_data: `data:application/pdf;base64,${pdf1}` } },
            { type: "document", source: { type: "base64", media_type: "application/pdf", data: pdf2 } },
            { document: { format: "pdf", name: "contract", source: { bytes: pdf3 } } },
          ],
        },
      ],
      contents: [{ role: "user", parts: [{ inlineData: { mimeType: "image/webp", data: webp } }, { inlineData: { mimeType: "audio/mp3", data: mp3 } }] }],
    };
    const payloads = [png, jpeg, gif, webp, wav, mp3, pdf1, pdf2, pdf3];
    const r = extract(body, { unseen: [...payloads, `data:image/png;base64,${png}`, `data:application/pdf;base64,${pdf1}`] });
    expect(r.binary).toBe(payloads.length);
    expect(r.pieces.filter(([, t]) => t.includes("forbidden-secret"))).toEqual([]);
    expect(rolesOf(r.pieces, "What is in these?")).toEqual(["user"]);
  });

  it("base64 with a text media type that is not base64 is inspected as sent", () => {
    const r = extract({ contents: [{ role: "user", parts: [{ inlineData: { mimeType: "text/plain", data: "not base64 at all!" } }] }] });
    expect(rolesOf(r.pieces, "not base64 at all!")).toEqual(["user"]);
  });
});
