// Prompt-text extraction: every piece of text an LLM provider will show the
// model, from the request body shapes of the major APIs (OpenAI Chat
// Completions / Completions / Responses / Embeddings / Moderations / Images /
// Audio speech, Anthropic Messages, Gemini generateContent; also the content
// blocks and toolConfig of Bedrock Converse).
//
// Rules:
//   * every occurrence of a duplicated key is inspected (an upstream parser may
//     keep the first or the last one; we do not guess which);
//   * a message that claims several roles has its text emitted under each;
//   * a present key with a type we cannot interpret is an error, never skipped;
//   * unknown shapes fall back to "every string value in the document";
//   * no recursion on attacker-controlled depth except the content-part walk,
//     which carries an explicit depth bound; walks of arbitrary nested values
//     use an explicit stack. Errors are values: no exceptions anywhere.

import { JsonKind, JsonLimits, JsonValue, parseJson, kindName } from "../json/index";
import { Role } from "./roles";

export { Role, roleFlag, roleName } from "./roles";

export class TextPiece {
  /** One Role flag. */
  role: u32;
  text: string;

  constructor(role: u32, text: string) {
    this.role = role;
    this.text = text;
  }
}

export class Extraction {
  /** In document order, one per string / content part; empty strings are skipped. Partial when `error` is set. */
  pieces: Array<TextPiece> = new Array<TextPiece>();
  /** False when no known request shape matched (pieces then hold every string). */
  recognized: bool = false;
  /** "" on success; otherwise why the body cannot be interpreted (e.g. "messages[2].content: expected ..."). */
  error: string = "";
}

// Content parts can nest (Anthropic tool_result -> blocks -> document source ->
// blocks ...). Real requests nest a few levels; this bounds the recursion.
const MAX_PART_DEPTH: i32 = 16;

/** The flag of a message's `role` as APIs write it (not the inspect_roles names); 0 if unknown. */
function messageRole(role: string): u32 {
  if (role == "system") return Role.System;
  if (role == "developer") return Role.Developer;
  if (role == "user") return Role.User;
  if (role == "assistant") return Role.Assistant;
  if (role == "tool") return Role.Tool;
  if (role == "function") return Role.Tool; // legacy OpenAI, and Gemini function responses
  if (role == "model") return Role.Assistant; // Gemini
  return 0;
}

/** The role a role-less Responses API item speaks with, from its `type`. */
function defaultRoleForType(t: string): u32 {
  if (t.endsWith("_output")) return Role.Tool; // function_call_output, custom_tool_call_output, ...
  if (
    t == "function_call" || t == "custom_tool_call" || t == "reasoning" || t == "mcp_call" ||
    t == "computer_call" || t == "local_shell_call" || t == "web_search_call" ||
    t == "file_search_call" || t == "image_generation_call" || t == "code_interpreter_call"
  ) return Role.Assistant;
  return 0;
}

function isToolResultType(t: string): bool {
  // tool_result, web_search_tool_result, mcp_tool_result, code_execution_tool_result, ...
  return t.endsWith("tool_result");
}

function isTopLevelKey(k: string): bool {
  return k == "messages" || k == "prompt" || k == "input" || k == "instructions" ||
    k == "system" || k == "contents" || k == "systemInstruction" ||
    k == "system_instruction" || k == "suffix";
}

class Extractor {
  limits: JsonLimits;
  pieces: Array<TextPiece> = new Array<TextPiece>();
  error: string = "";
  // Path of the value being handled ("messages", 2, "content", 0 ...), kept
  // as a stack and only turned into a string when reporting an error.
  private segKeys: Array<string> = new Array<string>();
  private segIdx: Array<i32> = new Array<i32>();

  constructor(limits: JsonLimits) {
    this.limits = limits;
  }

  @inline
  failed(): bool {
    return this.error.length > 0;
  }

  private push(k: string): void {
    this.segKeys.push(k);
    this.segIdx.push(-1);
  }

  private pushIdx(i: i32): void {
    this.segKeys.push("");
    this.segIdx.push(i);
  }

  private pop(): void {
    const n = this.segKeys.length;
    if (n > 0) this.segKeys.length = n - 1;
    const m = this.segIdx.length;
    if (m > 0) this.segIdx.length = m - 1;
  }

  private path(): string {
    let out = "";
    const n = min(this.segKeys.length, this.segIdx.length);
    for (let i = 0; i < n; i++) {
      const j = unchecked(this.segIdx[i]);
      if (j >= 0) out += "[" + j.toString() + "]";
      else out += (out.length == 0 ? "" : ".") + unchecked(this.segKeys[i]);
    }
    return out;
  }

  /** Error at the current path. */
  private fail(expected: string, got: JsonValue): void {
    if (this.error.length == 0) this.error = this.path() + ": expected " + expected + ", got " + kindName(got);
  }

  /** Error at member `key` of the current value. */
  private failAt(key: string, expected: string, got: JsonValue): void {
    this.push(key);
    this.fail(expected, got);
    this.pop();
  }

  private failMsg(msg: string): void {
    if (this.error.length == 0) this.error = this.path() + ": " + msg;
  }

  /** One piece per role in `roles`, in flag order. */
  emit(text: string, roles: u32): void {
    if (text.length == 0) return;
    for (let role = Role.System; role <= Role.ToolDefinition; role <<= 1) {
      if (roles & role) this.pieces.push(new TextPiece(role, text));
    }
  }

  /** Emits every string value (not object keys) inside `v`, in document order. Iterative. */
  walkStrings(v: JsonValue, roles: u32): void {
    const stack = new Array<JsonValue>();
    stack.push(v);
    while (stack.length > 0) {
      const last = stack.length - 1;
      const x = unchecked(stack[last]);
      stack.length = last;
      if (x.kind == JsonKind.String) {
        this.emit(x.text, roles);
      } else if (x.kind == JsonKind.Array) {
        const items = x.items;
        for (let i = items.length - 1; i >= 0; i--) stack.push(unchecked(items[i]));
      } else if (x.kind == JsonKind.Object) {
        for (let i = x.memberCount() - 1; i >= 0; i--) stack.push(x.value(i));
      }
    }
  }

  /** Member `key` (value `v`) must be a string or null; emitted under `roles`. */
  stringField(v: JsonValue, key: string, roles: u32): void {
    if (v.kind == JsonKind.String) this.emit(v.text, roles);
    else if (v.kind != JsonKind.Null) this.failAt(key, "a string", v);
  }

  /**
   * Tool-call arguments: a JSON text in a string. The raw string is emitted,
   * and when it parses (same limits) every string inside it is emitted too, so
   * escapes such as \u0069 cannot hide text.
   */
  argumentsField(v: JsonValue, key: string, roles: u32): void {
    if (v.kind == JsonKind.Null) return;
    if (v.kind == JsonKind.Object || v.kind == JsonKind.Array) {
      // Some clients send already-decoded arguments; inspect them all.
      this.walkStrings(v, roles);
      return;
    }
    if (v.kind != JsonKind.String) {
      this.failAt(key, "a string (JSON arguments)", v);
      return;
    }
    this.emit(v.text, roles);
    if (v.text.length == 0) return;
    const bytes = Uint8Array.wrap(String.UTF8.encode(v.text, false, String.UTF8.ErrorMode.REPLACE));
    const r = parseJson(bytes, this.limits);
    const decoded = r.value;
    if (r.error.length == 0 && decoded !== null) this.walkStrings(decoded, roles);
  }

  // ---- content (caller has pushed the path of `v`) ---------------------------

  /** `content`: a string, null, or an array of parts. */
  content(v: JsonValue, roles: u32, depth: i32): void {
    if (v.kind == JsonKind.String) {
      this.emit(v.text, roles);
    } else if (v.kind == JsonKind.Array) {
      this.partList(v, roles, depth);
    } else if (v.kind != JsonKind.Null) {
      this.fail("a string or an array of content parts", v);
    }
  }

  partList(v: JsonValue, roles: u32, depth: i32): void {
    const items = v.items;
    for (let i = 0; i < items.length && !this.failed(); i++) {
      this.pushIdx(i);
      this.part(unchecked(items[i]), roles, depth);
      this.pop();
    }
  }

  /**
   * One content part / block, extracted by field rather than by `type` so a
   * duplicated or mislabelled `type` cannot hide text.
   */
  part(p: JsonValue, roles: u32, depth: i32): void {
    if (depth > MAX_PART_DEPTH) {
      this.failMsg("content parts nested deeper than " + MAX_PART_DEPTH.toString());
      return;
    }
    if (p.kind == JsonKind.String) {
      this.emit(p.text, roles);
      return;
    }
    if (p.kind == JsonKind.Null) return;
    if (p.kind != JsonKind.Object) {
      this.fail("a content part (object)", p);
      return;
    }
    const n = p.memberCount();
    // Pass 1: is this a tool result (its nested content is tool output)?
    let toolResult = false;
    for (let i = 0; i < n; i++) {
      const k = p.key(i);
      if (k == "tool_use_id") toolResult = true;
      else if (k == "type") {
        const v = p.value(i);
        if (v.kind == JsonKind.String && isToolResultType(v.text)) toolResult = true;
      }
    }
    // Pass 2: every text-bearing field, every occurrence.
    for (let i = 0; i < n && !this.failed(); i++) {
      const k = p.key(i);
      const v = p.value(i);
      if (k == "text" || k == "refusal" || k == "thinking" || k == "title" || k == "context" || k == "name") {
        // text / input_text / output_text parts, refusal parts, Anthropic
        // thinking blocks, document / search_result title and context,
        // tool_use name.
        this.stringField(v, k, roles);
      } else if (k == "input") {
        // Anthropic tool_use input (an object): every string inside it.
        this.walkStrings(v, roles);
      } else if (k == "content") {
        // tool_result (-> "tool"), search_result, nested blocks.
        const r = toolResult ? Role.Tool : roles;
        this.push(k);
        if (v.kind == JsonKind.Object) this.part(v, r, depth + 1);
        else this.content(v, r, depth + 1);
        this.pop();
      } else if (k == "source") {
        this.push(k);
        this.source(v, roles, depth + 1);
        this.pop();
      } else if (k == "functionCall" || k == "function_call") {
        this.push(k);
        this.namedObject(v, Role.Assistant, "args");
        this.pop();
      } else if (k == "functionResponse" || k == "function_response") {
        this.push(k);
        this.namedObject(v, Role.Tool, "response");
        this.pop();
      } else if (k == "executableCode" || k == "executable_code") {
        this.push(k);
        this.subStringField(v, "code", Role.Assistant);
        this.pop();
      } else if (k == "codeExecutionResult" || k == "code_execution_result") {
        this.push(k);
        this.subStringField(v, "output", Role.Tool);
        this.pop();
      } else if (k == "toolUse") {
        // Bedrock Converse {toolUseId, name, input}
        this.push(k);
        this.namedObject(v, roles, "input");
        this.pop();
      } else if (k == "toolResult") {
        // Bedrock Converse {toolUseId, content: [{text} | {json}], status}
        this.push(k);
        this.toolResultObject(v, depth + 1);
        this.pop();
      } else if (k == "json") {
        // Bedrock JSON block (tool results)
        this.walkStrings(v, roles);
      } else if (k == "guardContent") {
        // Bedrock {text: {text, qualifiers}}
        this.push(k);
        this.guardContent(v, roles);
        this.pop();
      }
      // image_url, input_audio, file, inlineData, fileData, cache_control,
      // annotations, ids ...: no model-visible text.
    }
  }

  /** `v` must be an object (or null); emits its string members named `key`. */
  subStringField(v: JsonValue, key: string, roles: u32): void {
    if (v.kind == JsonKind.Null) return;
    if (v.kind != JsonKind.Object) {
      this.fail("an object", v);
      return;
    }
    const n = v.memberCount();
    for (let i = 0; i < n && !this.failed(); i++) {
      if (v.key(i) == key) this.stringField(v.value(i), key, roles);
    }
  }

  /** Bedrock toolResult: its content blocks are tool output. */
  toolResultObject(v: JsonValue, depth: i32): void {
    if (v.kind == JsonKind.Null) return;
    if (v.kind != JsonKind.Object) {
      this.fail("an object", v);
      return;
    }
    const n = v.memberCount();
    for (let i = 0; i < n && !this.failed(); i++) {
      const k = v.key(i);
      if (k == "content") {
        this.push(k);
        this.content(v.value(i), Role.Tool, depth);
        this.pop();
      }
    }
  }

  /** Bedrock guardContent {text: {text, qualifiers}}. */
  guardContent(v: JsonValue, roles: u32): void {
    if (v.kind == JsonKind.Null) return;
    if (v.kind != JsonKind.Object) {
      this.fail("an object", v);
      return;
    }
    const n = v.memberCount();
    for (let i = 0; i < n && !this.failed(); i++) {
      const k = v.key(i);
      const x = v.value(i);
      if (k == "text") {
        if (x.kind == JsonKind.Object) {
          this.push(k);
          this.subStringField(x, "text", roles);
          this.pop();
        } else {
          this.stringField(x, k, roles);
        }
      }
    }
  }

  /** Gemini functionCall {name, args} / functionResponse {name, response}; Bedrock toolUse {name, input}. */
  namedObject(v: JsonValue, roles: u32, payloadKey: string): void {
    if (v.kind == JsonKind.Null) return;
    if (v.kind != JsonKind.Object) {
      this.fail("an object", v);
      return;
    }
    const n = v.memberCount();
    for (let i = 0; i < n && !this.failed(); i++) {
      const k = v.key(i);
      if (k == "name") this.stringField(v.value(i), k, roles);
      else if (k == payloadKey) this.walkStrings(v.value(i), roles);
    }
  }

  /** Anthropic document `source`: type "text" -> data, type "content" -> content blocks. */
  source(v: JsonValue, roles: u32, depth: i32): void {
    if (v.kind == JsonKind.Null) return;
    if (v.kind != JsonKind.Object) {
      this.fail("an object", v);
      return;
    }
    const n = v.memberCount();
    let isText = false;
    let isContent = false;
    for (let i = 0; i < n; i++) {
      if (v.key(i) == "type") {
        const t = v.value(i).asString();
        if (t == "text") isText = true;
        else if (t == "content") isContent = true;
      }
    }
    for (let i = 0; i < n && !this.failed(); i++) {
      const k = v.key(i);
      const x = v.value(i);
      if (k == "data" && isText) {
        this.stringField(x, k, roles);
      } else if (k == "content" && isContent) {
        this.push(k);
        this.content(x, roles, depth + 1);
        this.pop();
      }
      // base64 / url / file sources carry no plain text.
    }
  }

  // ---- messages / items -----------------------------------------------------

  /**
   * A chat message, Anthropic message, Gemini Content or Responses input item.
   * Roles: every `role` it claims; without one, from its `type`, else `defaultRoles`.
   */
  message(m: JsonValue, defaultRoles: u32): void {
    if (m.kind != JsonKind.Object) {
      this.fail("an object", m);
      return;
    }
    const n = m.memberCount();
    let roles: u32 = 0;
    let typeRoles: u32 = 0;
    for (let i = 0; i < n; i++) {
      const k = m.key(i);
      if (k == "role") {
        const v = m.value(i);
        if (v.kind == JsonKind.String) {
          const b = messageRole(v.text);
          if (b == 0) {
            this.push(k);
            this.failMsg("unknown role '" + v.text + "'");
            this.pop();
            return;
          }
          roles |= b;
        } else if (v.kind != JsonKind.Null) {
          this.failAt(k, "a string", v);
          return;
        }
      } else if (k == "type") {
        const v = m.value(i);
        if (v.kind == JsonKind.String) typeRoles |= defaultRoleForType(v.text);
      }
    }
    if (roles == 0) roles = typeRoles != 0 ? typeRoles : defaultRoles;

    for (let i = 0; i < n && !this.failed(); i++) {
      const k = m.key(i);
      const v = m.value(i);
      if (k == "content") {
        this.push(k);
        this.content(v, roles, 0);
        this.pop();
      } else if (k == "parts") {
        // Gemini Content.parts
        this.push(k);
        if (v.kind == JsonKind.Array) this.partList(v, roles, 0);
        else if (v.kind != JsonKind.Null) this.fail("an array of parts", v);
        this.pop();
      } else if (k == "name" || k == "refusal" || k == "text") {
        // chat message name, assistant refusal, bare text items (moderations)
        this.stringField(v, k, roles);
      } else if (k == "tool_calls") {
        this.push(k);
        this.toolCalls(v);
        this.pop();
      } else if (k == "function_call") {
        // legacy chat function_call {name, arguments}
        this.push(k);
        this.callObject(v);
        this.pop();
      } else if (k == "arguments") {
        // Responses function_call / mcp_call items
        this.argumentsField(v, k, Role.Assistant);
      } else if (k == "input") {
        // Responses custom_tool_call input (free text)
        if (v.kind == JsonKind.String) this.emit(v.text, Role.Assistant);
        else if (v.kind != JsonKind.Null) this.walkStrings(v, Role.Assistant);
      } else if (k == "output") {
        // Responses *_output items
        this.push(k);
        if (v.kind == JsonKind.Object) this.part(v, Role.Tool, 0);
        else this.content(v, Role.Tool, 0);
        this.pop();
      } else if (k == "summary") {
        // Responses reasoning item summary parts
        this.push(k);
        this.content(v, Role.Assistant, 0);
        this.pop();
      }
    }
  }

  toolCalls(v: JsonValue): void {
    if (v.kind == JsonKind.Null) return;
    if (v.kind != JsonKind.Array) {
      this.fail("an array", v);
      return;
    }
    const calls = v.items;
    for (let i = 0; i < calls.length && !this.failed(); i++) {
      const c = unchecked(calls[i]);
      this.pushIdx(i);
      if (c.kind != JsonKind.Object) {
        this.fail("an object", c);
        return;
      }
      const n = c.memberCount();
      for (let j = 0; j < n && !this.failed(); j++) {
        const k = c.key(j);
        if (k == "function" || k == "custom") {
          this.push(k);
          this.callObject(c.value(j));
          this.pop();
        }
      }
      this.pop();
    }
  }

  /** {name, arguments} (function tool call) or {name, input} (custom tool call). */
  callObject(v: JsonValue): void {
    if (v.kind == JsonKind.Null) return;
    if (v.kind != JsonKind.Object) {
      this.fail("an object", v);
      return;
    }
    const n = v.memberCount();
    for (let i = 0; i < n && !this.failed(); i++) {
      const k = v.key(i);
      const x = v.value(i);
      if (k == "name" || k == "input") this.stringField(x, k, Role.Assistant);
      else if (k == "arguments") this.argumentsField(x, k, Role.Assistant);
    }
  }

  // ---- tool definitions -----------------------------------------------------

  tools(v: JsonValue): void {
    if (v.kind == JsonKind.Null) return;
    if (v.kind != JsonKind.Array) {
      this.fail("an array", v);
      return;
    }
    const items = v.items;
    for (let i = 0; i < items.length && !this.failed(); i++) {
      this.pushIdx(i);
      this.toolDef(unchecked(items[i]), 0);
      this.pop();
    }
  }

  /**
   * OpenAI {type, function:{name, description, parameters}}, Responses flat
   * {type, name, description, parameters}, legacy functions[], Anthropic
   * {name, description, input_schema}, Gemini {functionDeclarations:[...]}.
   */
  toolDef(t: JsonValue, depth: i32): void {
    if (t.kind != JsonKind.Object) {
      this.fail("an object", t);
      return;
    }
    const n = t.memberCount();
    for (let i = 0; i < n && !this.failed(); i++) {
      const k = t.key(i);
      const v = t.value(i);
      if (k == "name" || k == "description") {
        this.stringField(v, k, Role.ToolDefinition);
      } else if (
        k == "parameters" || k == "input_schema" || k == "parametersJsonSchema" ||
        k == "parameters_json_schema" || k == "response" || k == "responseJsonSchema" ||
        k == "response_json_schema" || k == "format" || k == "input_examples" || k == "inputSchema"
      ) {
        this.walkStrings(v, Role.ToolDefinition);
      } else if ((k == "function" || k == "custom" || k == "toolSpec") && depth == 0) {
        if (v.kind != JsonKind.Null) {
          this.push(k);
          this.toolDef(v, depth + 1);
          this.pop();
        }
      } else if ((k == "functionDeclarations" || k == "function_declarations") && depth == 0) {
        this.push(k);
        if (v.kind == JsonKind.Array) {
          const decls = v.items;
          for (let j = 0; j < decls.length && !this.failed(); j++) {
            this.pushIdx(j);
            this.toolDef(unchecked(decls[j]), depth + 1);
            this.pop();
          }
        } else if (v.kind != JsonKind.Null) {
          this.fail("an array", v);
        }
        this.pop();
      }
    }
  }

  // ---- top level (caller has pushed the key) ---------------------------------

  /** messages[] and Gemini contents[]. */
  messageList(v: JsonValue, expected: string): void {
    if (v.kind == JsonKind.Null) return;
    if (v.kind != JsonKind.Array) {
      this.fail(expected, v);
      return;
    }
    const items = v.items;
    for (let i = 0; i < items.length && !this.failed(); i++) {
      this.pushIdx(i);
      this.message(unchecked(items[i]), Role.User);
      this.pop();
    }
  }

  /** Strings and token ids: strings are user text, numbers are ignored. */
  stringsOrTokens(v: JsonValue): void {
    const items = v.items;
    for (let i = 0; i < items.length && !this.failed(); i++) {
      const x = unchecked(items[i]);
      if (x.kind == JsonKind.String) this.emit(x.text, Role.User);
      else if (x.kind != JsonKind.Number) {
        this.pushIdx(i);
        this.fail("a string or a token id", x);
        this.pop();
      }
    }
  }

  prompt(v: JsonValue): void {
    if (v.kind == JsonKind.String) {
      this.emit(v.text, Role.User);
    } else if (v.kind == JsonKind.Array) {
      const items = v.items;
      for (let i = 0; i < items.length && !this.failed(); i++) {
        const x = unchecked(items[i]);
        this.pushIdx(i);
        if (x.kind == JsonKind.String) this.emit(x.text, Role.User);
        else if (x.kind == JsonKind.Array) this.stringsOrTokens(x);
        else if (x.kind != JsonKind.Number) this.fail("a string or token ids", x);
        this.pop();
      }
    } else if (v.kind == JsonKind.Object) {
      // Responses API prompt template reference {id, version, variables}: the
      // variables are substituted into the prompt.
      const n = v.memberCount();
      for (let i = 0; i < n; i++) {
        if (v.key(i) == "variables") this.walkStrings(v.value(i), Role.User);
      }
    } else if (v.kind != JsonKind.Null) {
      this.fail("a string or an array of strings", v);
    }
  }

  input(v: JsonValue): void {
    if (v.kind == JsonKind.String) {
      this.emit(v.text, Role.User);
    } else if (v.kind == JsonKind.Array) {
      const items = v.items;
      for (let i = 0; i < items.length && !this.failed(); i++) {
        const x = unchecked(items[i]);
        if (x.kind == JsonKind.String) {
          this.emit(x.text, Role.User);
        } else if (x.kind != JsonKind.Number) { // numbers: token ids
          this.pushIdx(i);
          if (x.kind == JsonKind.Array) this.stringsOrTokens(x);
          else if (x.kind == JsonKind.Object) this.message(x, Role.User);
          else this.fail("a string, token ids or an input item", x);
          this.pop();
        }
      }
    } else if (v.kind != JsonKind.Null) {
      this.fail("a string or an array", v);
    }
  }

  system(v: JsonValue): void {
    if (v.kind == JsonKind.String) this.emit(v.text, Role.System);
    else if (v.kind == JsonKind.Array) this.partList(v, Role.System, 0);
    else if (v.kind != JsonKind.Null) this.fail("a string or an array of text blocks", v);
  }

  /** Gemini systemInstruction: a Content whose parts are all system text. */
  systemInstruction(v: JsonValue): void {
    if (v.kind == JsonKind.String) {
      this.emit(v.text, Role.System);
    } else if (v.kind == JsonKind.Object) {
      const n = v.memberCount();
      for (let i = 0; i < n && !this.failed(); i++) {
        const k = v.key(i);
        const x = v.value(i);
        if (k == "parts") {
          this.push(k);
          if (x.kind == JsonKind.Array) this.partList(x, Role.System, 0);
          else if (x.kind != JsonKind.Null) this.fail("an array of parts", x);
          this.pop();
        } else if (k == "text") {
          this.stringField(x, k, Role.System);
        }
      }
    } else if (v.kind != JsonKind.Null) {
      this.fail("a Content object", v);
    }
  }

  contents(v: JsonValue): void {
    if (v.kind == JsonKind.String) this.emit(v.text, Role.User);
    else this.messageList(v, "an array of Content objects");
  }

  topLevel(doc: JsonValue): void {
    const n = doc.memberCount();
    for (let i = 0; i < n && !this.failed(); i++) {
      const k = doc.key(i);
      const v = doc.value(i);
      this.push(k);
      if (k == "messages") this.messageList(v, "an array of messages");
      else if (k == "prompt") this.prompt(v);
      else if (k == "suffix") this.stringTop(v, Role.User);
      else if (k == "input") this.input(v);
      else if (k == "instructions") this.stringTop(v, Role.System);
      else if (k == "system") this.system(v);
      else if (k == "contents") this.contents(v);
      else if (k == "systemInstruction" || k == "system_instruction") this.systemInstruction(v);
      else if (k == "tools" || k == "functions") this.tools(v);
      else if (k == "toolConfig") this.toolConfig(v);
      this.pop();
    }
  }

  /** Bedrock Converse toolConfig {tools: [{toolSpec: {name, description, inputSchema}}]}. */
  toolConfig(v: JsonValue): void {
    if (v.kind == JsonKind.Null) return;
    if (v.kind != JsonKind.Object) {
      this.fail("an object", v);
      return;
    }
    const n = v.memberCount();
    for (let i = 0; i < n && !this.failed(); i++) {
      const k = v.key(i);
      if (k == "tools") {
        this.push(k);
        this.tools(v.value(i));
        this.pop();
      }
    }
  }

  stringTop(v: JsonValue, roles: u32): void {
    if (v.kind == JsonKind.String) this.emit(v.text, roles);
    else if (v.kind != JsonKind.Null) this.fail("a string", v);
  }
}

/**
 * Extracts every piece of prompt text from a parsed request body.
 * `limits` bound the parse of JSON-encoded tool-call arguments.
 */
export function extractPromptText(doc: JsonValue, limits: JsonLimits = new JsonLimits()): Extraction {
  const ex = new Extractor(limits);
  const result = new Extraction();
  let recognized = false;
  if (doc.kind == JsonKind.Object) {
    const n = doc.memberCount();
    for (let i = 0; i < n; i++) {
      if (isTopLevelKey(doc.key(i))) {
        recognized = true;
        break;
      }
    }
  }
  if (recognized) {
    ex.topLevel(doc);
  } else {
    // Unknown shape: every string value anywhere is inspected as user text.
    ex.walkStrings(doc, Role.User);
  }
  result.pieces = ex.pieces;
  result.recognized = recognized;
  result.error = ex.error;
  return result;
}
