// plugin/inspect: prompt-text extraction (AssemblyScript), exercised through
// the plugin/testing/json_probe.ts probe.
import { beforeAll, describe, expect, it } from "vitest";
// @ts-ignore: plain ESM helper without type declarations
import { loadJsonProbe } from "../testing/probes.mjs";

type Probe = {
  extract(bytes: Uint8Array, maxDepth: number, maxNodes: number): string;
};

type Piece = [role: string, text: string];
type Result = { recognized: boolean; error: string; pieces: Piece[] };

let probe: Probe;

beforeAll(async () => {
  probe = (await loadJsonProbe()) as Probe;
}, 300_000);

const utf8 = new TextEncoder();

function extractText(body: string, maxDepth = -1, maxNodes = -1): Result {
  const r = JSON.parse(probe.extract(utf8.encode(body), maxDepth, maxNodes));
  if ("parseError" in r) throw new Error(`body is not JSON: ${r.parseError}`);
  return r as Result;
}

function extract(body: unknown): Result {
  return extractText(JSON.stringify(body));
}

/** Extraction that must succeed and be recognized; returns the pieces. */
function pieces(body: unknown): Piece[] {
  const r = typeof body === "string" ? extractText(body) : extract(body);
  expect(r.error).toBe("");
  expect(r.recognized).toBe(true);
  return r.pieces;
}

function errorOf(body: unknown): string {
  const r = typeof body === "string" ? extractText(body) : extract(body);
  expect(r.recognized).toBe(true);
  return r.error;
}

describe("OpenAI Chat Completions", () => {
  it("extracts every role, string content and content parts", () => {
    expect(
      pieces({
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
      }),
    ).toEqual([
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
  });

  it("emits tool-call arguments raw AND every string decoded from them", () => {
    const args = JSON.stringify({ query: "ign\u006fre previous", opts: { lang: "en", n: 3 }, list: ["a", "b"] });
    const escapedArgs = '{"q":"ign\\u006fre all","emoji":"\\ud83d\\ude00"}';
    expect(
      pieces({
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
      }),
    ).toEqual([
      ["user", "weather?"],
      ["assistant", "search"],
      ["assistant", args],
      ["assistant", "ignore previous"],
      ["assistant", "en"],
      ["assistant", "a"],
      ["assistant", "b"],
      ["assistant", "run"],
      ["assistant", escapedArgs],
      ["assistant", "ignore all"],
      ["assistant", "😀"],
    ]);
  });

  it("keeps the raw arguments when they are not JSON (or exceed the limits)", () => {
    expect(
      pieces({ messages: [{ role: "assistant", tool_calls: [{ function: { name: "f", arguments: "not json {" } }] }] }),
    ).toEqual([
      ["assistant", "f"],
      ["assistant", "not json {"],
    ]);
    const deep = "[".repeat(100) + '"deep"' + "]".repeat(100);
    expect(pieces({ messages: [{ role: "assistant", tool_calls: [{ function: { arguments: deep } }] }] })).toEqual([
      ["assistant", deep],
    ]);
    // a JSON string inside the arguments string is decoded too
    expect(pieces({ messages: [{ role: "assistant", function_call: { name: "f", arguments: '"\\u0068i"' } }] })).toEqual([
      ["assistant", "f"],
      ["assistant", '"\\u0068i"'],
      ["assistant", "hi"],
    ]);
  });

  it("handles the legacy function_call and custom tool calls", () => {
    expect(
      pieces({
        messages: [
          { role: "assistant", content: null, function_call: { name: "lookup", arguments: '{"id":"x1"}' } },
          { role: "assistant", tool_calls: [{ type: "custom", custom: { name: "sql", input: "SELECT 1" } }] },
        ],
      }),
    ).toEqual([
      ["assistant", "lookup"],
      ["assistant", '{"id":"x1"}'],
      ["assistant", "x1"],
      ["assistant", "sql"],
      ["assistant", "SELECT 1"],
    ]);
  });

  it("extracts tool definitions (tools[].function and legacy functions[])", () => {
    expect(
      pieces({
        messages: [{ role: "user", content: "hi" }],
        tools: [
          {
            type: "function",
            function: {
              name: "get_weather",
              description: "Get the weather",
              parameters: {
                type: "object",
                properties: { city: { type: "string", description: "City name" } },
                required: ["city"],
              },
            },
          },
        ],
        functions: [{ name: "legacy", description: "Old style", parameters: { type: "object" } }],
      }),
    ).toEqual([
      ["user", "hi"],
      ["tool_definition", "get_weather"],
      ["tool_definition", "Get the weather"],
      ["tool_definition", "object"],
      ["tool_definition", "string"],
      ["tool_definition", "City name"],
      ["tool_definition", "city"],
      ["tool_definition", "legacy"],
      ["tool_definition", "Old style"],
      ["tool_definition", "object"],
    ]);
  });

  it("one piece per message string / content part", () => {
    const p = pieces({
      messages: [{ role: "user", content: [{ type: "text", text: "^first" }, { type: "text", text: "^second" }] }],
    });
    expect(p).toEqual([
      ["user", "^first"],
      ["user", "^second"],
    ]);
  });
});

describe("Completions", () => {
  it("prompt as a string, an array of strings, token ids; suffix", () => {
    expect(pieces({ model: "x", prompt: "complete me", suffix: "end" })).toEqual([
      ["user", "complete me"],
      ["user", "end"],
    ]);
    expect(pieces({ prompt: ["one", "two"] })).toEqual([
      ["user", "one"],
      ["user", "two"],
    ]);
    expect(pieces({ prompt: [1, 2, 3] })).toEqual([]);
    expect(pieces({ prompt: [[1, 2], [3]] })).toEqual([]);
    expect(pieces({ prompt: "x", suffix: null })).toEqual([["user", "x"]]);
  });
});

describe("Responses API", () => {
  it("instructions, input string", () => {
    expect(pieces({ model: "o", instructions: "be nice", input: "hello" })).toEqual([
      ["system", "be nice"],
      ["user", "hello"],
    ]);
  });

  it("input items: messages, function calls and outputs, reasoning", () => {
    const args = '{"city":"Paris"}';
    expect(
      pieces({
        input: [
          { role: "developer", content: "dev rules" },
          { role: "user", content: [{ type: "input_text", text: "q1" }, { type: "input_image", image_url: "data:..." }] },
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
      }),
    ).toEqual([
      ["developer", "dev rules"],
      ["user", "q1"],
      ["assistant", "a1"],
      ["system", "sys item"],
      ["assistant", "weather"],
      ["assistant", args],
      ["assistant", "Paris"],
      ["tool", "22C"],
      ["tool", "part out"],
      ["assistant", "thought"],
      ["assistant", "grep"],
      ["assistant", "pattern"],
      ["tool", "match"],
    ]);
  });

  it("prompt template variables", () => {
    expect(pieces({ prompt: { id: "pmpt_1", version: "2", variables: { city: "Paris", note: "x" } } })).toEqual([
      ["user", "Paris"],
      ["user", "x"],
    ]);
  });
});

describe("Embeddings / moderations / images / audio", () => {
  it("input as a string, strings, token ids", () => {
    expect(pieces({ model: "e", input: "embed me" })).toEqual([["user", "embed me"]]);
    expect(pieces({ input: ["a", "b"] })).toEqual([
      ["user", "a"],
      ["user", "b"],
    ]);
    expect(pieces({ input: [1, 2, 3] })).toEqual([]);
    expect(pieces({ input: [[1, 2], [3, 4]] })).toEqual([]);
  });
  it("multimodal moderation input", () => {
    expect(
      pieces({ input: [{ type: "text", text: "moderate me" }, { type: "image_url", image_url: { url: "https://x" } }] }),
    ).toEqual([["user", "moderate me"]]);
  });
  it("image generation prompt and speech input/instructions", () => {
    expect(pieces({ model: "gpt-image-1", prompt: "a cat", size: "1024x1024" })).toEqual([["user", "a cat"]]);
    expect(pieces({ model: "tts", input: "say this", voice: "alloy", instructions: "cheerful" })).toEqual([
      ["user", "say this"],
      ["system", "cheerful"],
    ]);
  });
});

describe("Anthropic Messages", () => {
  it("system string and blocks, text blocks", () => {
    expect(
      pieces({
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
    expect(pieces({ system: [{ type: "text", text: "s1" }, { type: "text", text: "s2" }], messages: [] })).toEqual([
      ["system", "s1"],
      ["system", "s2"],
    ]);
  });

  it("tool_use, tool_result, document and thinking blocks", () => {
    expect(
      pieces({
        messages: [
          {
            role: "assistant",
            content: [
              { type: "thinking", thinking: "hmm", signature: "sig" },
              { type: "text", text: "let me check" },
              { type: "tool_use", id: "tu1", name: "search", input: { q: "cats", filters: { tags: ["x", "y"] }, n: 2 } },
            ],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "tu1", content: "result text" },
              { type: "tool_result", tool_use_id: "tu2", content: [{ type: "text", text: "block result" }] },
              { type: "document", source: { type: "text", media_type: "text/plain", data: "doc body" }, title: "T", context: "C" },
              { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } },
              { type: "document", source: { type: "content", content: [{ type: "text", text: "custom doc" }] } },
              { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBOR" } },
              { type: "text", text: "what now?" },
            ],
          },
        ],
      }),
    ).toEqual([
      ["assistant", "hmm"],
      ["assistant", "let me check"],
      ["assistant", "search"],
      ["assistant", "cats"],
      ["assistant", "x"],
      ["assistant", "y"],
      ["tool", "result text"],
      ["tool", "block result"],
      ["user", "doc body"],
      ["user", "T"],
      ["user", "C"],
      ["user", "custom doc"],
      ["user", "what now?"],
    ]);
  });

  it("tools[].description and input_schema strings", () => {
    expect(
      pieces({
        messages: [{ role: "user", content: "x" }],
        tools: [
          {
            name: "get_stock",
            description: "Stock price",
            input_schema: { type: "object", properties: { ticker: { type: "string", description: "Ticker" } } },
          },
        ],
      }),
    ).toEqual([
      ["user", "x"],
      ["tool_definition", "get_stock"],
      ["tool_definition", "Stock price"],
      ["tool_definition", "object"],
      ["tool_definition", "string"],
      ["tool_definition", "Ticker"],
    ]);
  });
});

describe("Gemini generateContent", () => {
  it("contents, roles, systemInstruction, function calls and responses", () => {
    expect(
      pieces({
        systemInstruction: { parts: [{ text: "gem sys" }] },
        contents: [
          { role: "user", parts: [{ text: "hi gem" }, { inlineData: { mimeType: "image/png", data: "AAA" } }] },
          { role: "model", parts: [{ text: "hello" }, { functionCall: { name: "lookup", args: { id: "42", deep: ["z"] } } }] },
          { role: "function", parts: [{ functionResponse: { name: "lookup", response: { result: "found" } } }] },
          { parts: [{ text: "no role" }] },
        ],
        tools: [{ functionDeclarations: [{ name: "lookup", description: "Find", parameters: { type: "OBJECT" } }] }],
      }),
    ).toEqual([
      ["system", "gem sys"],
      ["user", "hi gem"],
      ["assistant", "hello"],
      ["assistant", "lookup"],
      ["assistant", "42"],
      ["assistant", "z"],
      ["tool", "lookup"],
      ["tool", "found"],
      ["user", "no role"],
      ["tool_definition", "lookup"],
      ["tool_definition", "Find"],
      ["tool_definition", "OBJECT"],
    ]);
  });
  it("system_instruction (snake case)", () => {
    expect(pieces({ system_instruction: { parts: [{ text: "snake sys" }] }, contents: [] })).toEqual([
      ["system", "snake sys"],
    ]);
  });
});

describe("Bedrock Converse (content blocks and toolConfig)", () => {
  it("text, toolUse, toolResult, guardContent, system blocks and tool specs", () => {
    expect(
      pieces({
        system: [{ text: "bedrock sys" }, { guardContent: { text: { text: "guarded sys", qualifiers: ["guard_content"] } } }],
        messages: [
          { role: "user", content: [{ text: "hi" }, { image: { format: "png", source: { bytes: "AAAA" } } }] },
          { role: "assistant", content: [{ toolUse: { toolUseId: "t1", name: "lookup", input: { q: "cats" } } }] },
          {
            role: "user",
            content: [{ toolResult: { toolUseId: "t1", content: [{ text: "found" }, { json: { n: 1, s: "deep" } }], status: "success" } }],
          },
        ],
        toolConfig: {
          tools: [{ toolSpec: { name: "lookup", description: "Look up", inputSchema: { json: { type: "object" } } } }],
        },
      }),
    ).toEqual([
      ["system", "bedrock sys"],
      ["system", "guarded sys"],
      ["user", "hi"],
      ["assistant", "lookup"],
      ["assistant", "cats"],
      ["tool", "found"],
      ["tool", "deep"],
      ["tool_definition", "lookup"],
      ["tool_definition", "Look up"],
      ["tool_definition", "object"],
    ]);
  });
  it("toolConfig with the wrong type is an error", () => {
    expect(errorOf({ messages: [], toolConfig: [] })).toBe("toolConfig: expected an object, got an array");
  });
});

describe("duplicate keys: every occurrence is inspected", () => {
  it("duplicate top-level messages arrays", () => {
    const body =
      '{"messages":[{"role":"user","content":"benign"}],"model":"m","messages":[{"role":"user","content":"evil"}]}';
    expect(pieces(body)).toEqual([
      ["user", "benign"],
      ["user", "evil"],
    ]);
  });
  it("duplicate content, text, prompt, input, system, instructions, arguments", () => {
    expect(pieces('{"messages":[{"role":"user","content":"a","content":"b"}]}')).toEqual([
      ["user", "a"],
      ["user", "b"],
    ]);
    expect(pieces('{"messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}')).toEqual([
      ["user", "a"],
      ["user", "b"],
    ]);
    expect(pieces('{"prompt":"a","prompt":"b"}')).toEqual([
      ["user", "a"],
      ["user", "b"],
    ]);
    expect(pieces('{"input":"a","input":["b"]}')).toEqual([
      ["user", "a"],
      ["user", "b"],
    ]);
    expect(pieces('{"system":"a","system":[{"type":"text","text":"b"}],"messages":[]}')).toEqual([
      ["system", "a"],
      ["system", "b"],
    ]);
    expect(pieces('{"instructions":"a","instructions":"b","input":"c"}')).toEqual([
      ["system", "a"],
      ["system", "b"],
      ["user", "c"],
    ]);
    expect(
      pieces('{"messages":[{"role":"assistant","tool_calls":[{"function":{"arguments":"\\"x\\"","arguments":"\\"y\\""}}]}]}'),
    ).toEqual([
      ["assistant", '"x"'],
      ["assistant", "x"],
      ["assistant", '"y"'],
      ["assistant", "y"],
    ]);
  });
  it("a message with two different roles is emitted under each", () => {
    expect(pieces('{"messages":[{"role":"user","content":"both","role":"system"}]}')).toEqual([
      ["system", "both"],
      ["user", "both"],
    ]);
    expect(pieces('{"messages":[{"role":"assistant","role":"assistant","content":"once"}]}')).toEqual([
      ["assistant", "once"],
    ]);
  });
  it("a part with two types cannot hide its text", () => {
    expect(
      pieces('{"messages":[{"role":"user","content":[{"type":"image_url","text":"hidden","type":"text"}]}]}'),
    ).toEqual([["user", "hidden"]]);
    expect(
      pieces(
        '{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","type":"text","data":"sneaky"}}]}]}',
      ),
    ).toEqual([["user", "sneaky"]]);
  });
  it("duplicate tools and tool_calls", () => {
    expect(
      pieces('{"messages":[],"tools":[{"name":"a","description":"d1"}],"tools":[{"name":"b","description":"d2","description":"d3"}]}'),
    ).toEqual([
      ["tool_definition", "a"],
      ["tool_definition", "d1"],
      ["tool_definition", "b"],
      ["tool_definition", "d2"],
      ["tool_definition", "d3"],
    ]);
  });
});

describe("escaped key names are decoded", () => {
  it('"m\\u0065ssages", "c\\u006fntent", "r\\u006fle" with an escaped role value', () => {
    expect(pieces('{"m\\u0065ssages":[{"r\\u006fle":"\\u0073ystem","c\\u006fntent":"escaped keys"}]}')).toEqual([
      ["system", "escaped keys"],
    ]);
  });
  it("escaped text and tool_calls keys", () => {
    expect(
      pieces(
        '{"messages":[{"role":"assistant","tool\\u005fcalls":[{"f\\u0075nction":{"\\u0061rguments":"{\\"k\\":\\"v\\"}"}}]},' +
          '{"role":"user","content":[{"type":"text","t\\u0065xt":"t"}]}]}',
      ),
    ).toEqual([
      ["assistant", '{"k":"v"}'],
      ["assistant", "v"],
      ["user", "t"],
    ]);
  });
});

describe("wrong types are errors, never silently skipped", () => {
  const cases: [string, unknown, string][] = [
    ["messages is a number", { messages: 5 }, "messages: expected an array of messages, got a number"],
    ["a message is not an object", { messages: [{ role: "user", content: "x" }, "hi"] }, "messages[1]: expected an object, got a string"],
    [
      "content is an object",
      { messages: [{ role: "user", content: "a" }, { role: "user", content: "b" }, { role: "user", content: { text: "x" } }] },
      "messages[2].content: expected a string or an array of content parts, got an object",
    ],
    ["content is a number", { messages: [{ role: "user", content: 1 }] }, "messages[0].content: expected a string or an array of content parts, got a number"],
    ["role is a number", { messages: [{ role: 1, content: "x" }] }, "messages[0].role: expected a string, got a number"],
    ["unknown role", { messages: [{ role: "wizard", content: "x" }] }, "messages[0].role: unknown role 'wizard'"],
    ["part is a number", { messages: [{ role: "user", content: ["ok", 7] }] }, "messages[0].content[1]: expected a content part (object), got a number"],
    ["part text is an object", { messages: [{ role: "user", content: [{ type: "text", text: { a: 1 } }] }] }, "messages[0].content[0].text: expected a string, got an object"],
    ["name is an array", { messages: [{ role: "user", name: [], content: "x" }] }, "messages[0].name: expected a string, got an array"],
    ["tool_calls is an object", { messages: [{ role: "assistant", tool_calls: {} }] }, "messages[0].tool_calls: expected an array, got an object"],
    ["a tool call is a string", { messages: [{ role: "assistant", tool_calls: ["x"] }] }, "messages[0].tool_calls[0]: expected an object, got a string"],
    [
      "arguments is a number",
      { messages: [{ role: "assistant", tool_calls: [{ function: { name: "f", arguments: 3 } }] }] },
      "messages[0].tool_calls[0].function.arguments: expected a string (JSON arguments), got a number",
    ],
    ["prompt is a boolean", { prompt: true }, "prompt: expected a string or an array of strings, got a boolean"],
    ["prompt item is an object", { prompt: ["a", {}] }, "prompt[1]: expected a string or token ids, got an object"],
    ["token array holds an object", { prompt: [[1, {}]] }, "prompt[0][1]: expected a string or a token id, got an object"],
    ["suffix is a number", { prompt: "x", suffix: 1 }, "suffix: expected a string, got a number"],
    ["input is an object", { input: { text: "x" } }, "input: expected a string or an array, got an object"],
    ["input item is a boolean", { input: ["a", true] }, "input[1]: expected a string, token ids or an input item, got a boolean"],
    ["instructions is an array", { instructions: ["x"] }, "instructions: expected a string, got an array"],
    ["system is a number", { system: 1, messages: [] }, "system: expected a string or an array of text blocks, got a number"],
    ["contents is an object", { contents: { parts: [] } }, "contents: expected an array of Content objects, got an object"],
    ["parts is a string", { contents: [{ role: "user", parts: "x" }] }, "contents[0].parts: expected an array of parts, got a string"],
    ["systemInstruction is a number", { systemInstruction: 1 }, "systemInstruction: expected a Content object, got a number"],
    ["tools is an object", { messages: [], tools: {} }, "tools: expected an array, got an object"],
    ["a tool is a string", { messages: [], tools: ["x"] }, "tools[0]: expected an object, got a string"],
    ["tool description is a number", { messages: [], tools: [{ name: "a", description: 1 }] }, "tools[0].description: expected a string, got a number"],
    [
      "function output is a number",
      { input: [{ type: "function_call_output", output: 5 }] },
      "input[0].output: expected a string or an array of content parts, got a number",
    ],
    [
      "tool_result content is a number",
      { messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: 5 }] }] },
      "messages[0].content[0].content: expected a string or an array of content parts, got a number",
    ],
    [
      "document source is a string",
      { messages: [{ role: "user", content: [{ type: "document", source: "x" }] }] },
      "messages[0].content[0].source: expected an object, got a string",
    ],
    [
      "functionCall is a string",
      { contents: [{ role: "model", parts: [{ functionCall: "x" }] }] },
      "contents[0].parts[0].functionCall: expected an object, got a string",
    ],
  ];
  for (const [name, body, error] of cases) {
    it(name, () => {
      expect(errorOf(body)).toBe(error);
    });
  }

  it("null is treated as absent", () => {
    expect(
      pieces({
        messages: [{ role: "assistant", content: null, name: null, tool_calls: null, function_call: null, refusal: null }],
        tools: null,
        suffix: null,
        system: null,
      }),
    ).toEqual([]);
  });

  it("error paths follow duplicated keys and escaped names", () => {
    expect(errorOf('{"messages":[],"messages":[{"role":"user","c\\u006fntent":{}}]}')).toBe(
      "messages[0].content: expected a string or an array of content parts, got an object",
    );
  });

  it("content parts nested absurdly deep are an error, not a stack overflow", () => {
    let part: unknown = { type: "text", text: "bottom" };
    for (let i = 0; i < 40; i++) part = { type: "tool_result", tool_use_id: "x", content: [part] };
    // allowed by a generous parser limit, refused by the extractor's own bound
    const r = extractText(JSON.stringify({ messages: [{ role: "user", content: [part] }] }), 1000);
    expect(r.error).toMatch(/^messages\[0\]\.content\[0\](\.content\[0\])+: content parts nested deeper than 16$/);
  });
});

describe("recognition and the unknown-shape fallback", () => {
  it("a known key makes the body recognized even without text", () => {
    for (const key of ["messages", "prompt", "input", "instructions", "system", "contents", "systemInstruction", "system_instruction", "suffix"]) {
      const r = extract({ [key]: null, other: "not inspected" });
      expect(r, key).toEqual({ recognized: true, error: "", pieces: [] });
    }
    expect(extract({ messages: [] })).toEqual({ recognized: true, error: "", pieces: [] });
  });

  it("unknown shapes yield every string value (keys excluded) as user text", () => {
    expect(extract({ query: "find cats", opts: { deep: ["a", { b: "c" }], n: 1, flag: true, none: null }, k2: "" })).toEqual({
      recognized: false,
      error: "",
      pieces: [
        ["user", "find cats"],
        ["user", "a"],
        ["user", "c"],
      ],
    });
  });

  it("non-object documents fall back too", () => {
    expect(extract(["x", ["y"], { z: "w" }])).toEqual({
      recognized: false,
      error: "",
      pieces: [
        ["user", "x"],
        ["user", "y"],
        ["user", "w"],
      ],
    });
    expect(extract("lonely")).toEqual({ recognized: false, error: "", pieces: [["user", "lonely"]] });
    expect(extract(42)).toEqual({ recognized: false, error: "", pieces: [] });
    expect(extract({})).toEqual({ recognized: false, error: "", pieces: [] });
  });

  it("escaped key names count for recognition", () => {
    expect(extractText('{"pr\\u006fmpt":"x"}')).toEqual({ recognized: true, error: "", pieces: [["user", "x"]] });
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
    const r = extract({ messages });
    expect(r.error).toBe("");
    expect(r.pieces.length).toBe(20_000);
    expect(r.pieces[19_999]).toEqual(["user", "msg 19999"]);
  });
});
