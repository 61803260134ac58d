// The request shapes of the major LLM APIs, for role attribution: who speaks each piece of text
// (OpenAI Chat Completions, Completions, Responses, Assistants runs, Embeddings, Moderations,
// Images, Audio speech; Anthropic Messages; Gemini generateContent; Bedrock Converse).
//
// Shapes only attribute roles; they never decide what is inspected. Every string and member name
// they don't claim is inspected anyway, as `other` (index.ts). So the rules here are lenient: a
// value of an unexpected type is inspected whole under the roles of its place, an unknown role is
// `user` (the strictest for allow patterns), and nothing makes a valid request fail.
//
//   * every occurrence of a duplicated key is read (an upstream parser may keep either);
//   * a message that claims several roles has its text emitted under each;
//   * the content-part walk recurses with an explicit depth bound, beyond which the rest is walked
//     iteratively; every other walk is iterative.
import { JsonKind, JsonLimits, JsonValue, parseJsonText } from "../json/index";
import { Role } from "./roles";
import { PieceSink } from "./pieces";
import { InlineContent } from "./inline_content";
import { isTextMediaType } from "./media_type";

// Content parts can nest (Anthropic tool_result -> blocks -> document source -> blocks ...). Real
// requests nest a few levels; deeper ones are walked whole, iteratively.
const MAX_PART_DEPTH: i32 = 16;

/** The flag of a message's `role` as APIs write it; unknown roles are user text. */
function messageRole(role: string): u32 {
  if (role == "system") return Role.System;
  if (role == "developer") return Role.Developer;
  if (role == "user") return Role.User;
  if (role == "assistant") return Role.Assistant;
  if (role == "tool") return Role.Tool;
  if (role == "function") return Role.Tool; // legacy OpenAI, and Gemini function responses
  if (role == "model") return Role.Assistant; // Gemini
  return Role.User;
}

/** The role a role-less Responses API item speaks with, from its `type`. */
function defaultRoleForType(t: string): u32 {
  if (t.endsWith("_output")) return Role.Tool; // function_call_output, shell_call_output, ...
  if (t.endsWith("_call") || t == "reasoning" || t == "mcp_list_tools" || t == "mcp_approval_request") return Role.Assistant;
  return 0;
}

function isToolResultType(t: string): bool {
  // tool_result, web_search_tool_result, mcp_tool_result, code_execution_tool_result, ...
  return t.endsWith("tool_result");
}

/** Keys whose values are identifiers or settings, not text: left to the `other` pass. */
function isStructuralKey(k: string): bool {
  return k == "type" || k == "id" || k == "status" || k == "call_id" || k == "tool_use_id" ||
    k == "tool_call_id" || k == "cache_control" || k == "index" || k == "role" || k == "signature" ||
    k == "encrypted_content" || k == "thoughtSignature" || k == "thought_signature";
}

/** A top-level key of a known request shape. */
export function isTopLevelKey(k: string): bool {
  return k == "messages" || k == "prompt" || k == "input" || k == "instructions" ||
    k == "system" || k == "contents" || k == "systemInstruction" || k == "system_instruction" ||
    k == "suffix" || k == "additional_messages" || k == "additional_instructions" || k == "thread";
}

export class ShapeWalker {
  private readonly inline: InlineContent;

  constructor(private readonly sink: PieceSink, private readonly limits: JsonLimits) {
    this.inline = new InlineContent(sink, limits);
  }

  private emit(v: JsonValue, roles: u32): void {
    this.sink.emitNode(v, roles);
  }

  /** Everything in `v` under `roles`: strings and member names. */
  private all(v: JsonValue, roles: u32): void {
    this.sink.walkStrings(v, roles);
  }

  /** A value expected to be a string: any other value is inspected whole. */
  private stringish(v: JsonValue, roles: u32): void {
    if (v.kind == JsonKind.String) this.emit(v, roles);
    else this.all(v, roles);
  }

  /**
   * Fields of an object no shape rule read: for text that isn't a user's (tool calls and results,
   * assistant items), inspected under its roles, so the guard sees them with the conversation;
   * in a user's message they are left to the `other` pass (allow patterns judge the user's text only).
   */
  private extraField(k: string, v: JsonValue, roles: u32): void {
    if ((roles & Role.User) != 0 || isStructuralKey(k)) return;
    this.all(v, roles);
  }

  /**
   * Tool-call arguments: a JSON text in a string. The string is inspected, and when it parses (same
   * limits) every string and member name inside it too, so escapes such as \u0069 cannot hide text.
   */
  private argumentsField(v: JsonValue, roles: u32): void {
    if (v.kind != JsonKind.String) {
      this.all(v, roles); // some clients send the arguments already decoded
      return;
    }
    this.emit(v, roles);
    if (v.text.length == 0) return;
    const decoded = parseJsonText(v.text, this.limits);
    if (decoded !== null) this.all(decoded, roles);
  }

  // ---- content --------------------------------------------------------------

  /** `content`: a string, an array of parts, or one part. */
  content(v: JsonValue, roles: u32, depth: i32): void {
    if (v.kind == JsonKind.Array) this.partList(v, roles, depth);
    else this.part(v, roles, depth);
  }

  /**
   * Adjacent plain text parts of one message are one text to the model: they are matched as one
   * (concatenated), so a word split across two parts is still seen. Other parts break the run.
   */
  partList(v: JsonValue, roles: u32, depth: i32): void {
    const items = v.items;
    const run = new Array<JsonValue>();
    for (let i = 0; i < items.length; i++) {
      const item = unchecked(items[i]);
      const text = plainText(item);
      if (text !== null) {
        run.push(text);
        continue;
      }
      this.flush(run, roles);
      this.part(item, roles, depth);
    }
    this.flush(run, roles);
  }

  private flush(run: Array<JsonValue>, roles: u32): void {
    if (run.length == 0) return;
    if (run.length == 1) {
      this.emit(unchecked(run[0]), roles);
    } else {
      let joined = "";
      for (let i = 0; i < run.length; i++) {
        const t = unchecked(run[i]);
        this.sink.claim(t);
        joined += t.text;
      }
      this.sink.emit(joined, roles, run.slice());
    }
    run.length = 0;
  }

  /** One content part / block, read by field rather than by `type`, so a mislabelled `type` hides nothing. */
  part(p: JsonValue, roles: u32, depth: i32): void {
    if (p.kind != JsonKind.Object) {
      if (p.kind == JsonKind.Array && depth < MAX_PART_DEPTH) this.partList(p, roles, depth + 1);
      else this.stringish(p, roles);
      return;
    }
    if (depth > MAX_PART_DEPTH) {
      this.all(p, roles);
      return;
    }
    const n = p.memberCount();
    // Is this a tool result (its nested content is tool output)? Its file name, for inline data.
    let toolResult = false;
    let fileName = "";
    for (let i = 0; i < n; i++) {
      const k = p.key(i);
      const v = p.value(i);
      if (k == "tool_use_id") toolResult = true;
      else if (k == "type" && v.kind == JsonKind.String && isToolResultType(v.text)) toolResult = true;
      else if (k == "filename" && v.kind == JsonKind.String) fileName = v.text;
    }
    for (let i = 0; i < n; i++) {
      const k = p.key(i);
      const v = p.value(i);
      if (k == "text" || k == "refusal" || k == "thinking" || k == "title" || k == "context" || k == "name") {
        // text / input_text / output_text parts, refusal parts, Anthropic thinking blocks,
        // document / search_result title and context, tool_use name.
        this.stringish(v, roles);
      } else if (k == "input" || k == "json") {
        // Anthropic tool_use input; Bedrock JSON block: every string and member name inside.
        this.all(v, roles);
      } else if (k == "content") {
        // tool_result (-> "tool"), search_result, nested blocks.
        this.content(v, toolResult ? Role.Tool : roles, depth + 1);
      } else if (k == "source") {
        this.source(v, roles, depth + 1);
      } else if (k == "functionCall" || k == "function_call") {
        this.all(v, Role.Assistant);
      } else if (k == "functionResponse" || k == "function_response" || k == "codeExecutionResult" || k == "code_execution_result") {
        this.all(v, Role.Tool);
      } else if (k == "executableCode" || k == "executable_code") {
        this.all(v, Role.Assistant);
      } else if (k == "toolUse") {
        this.all(v, roles); // Bedrock Converse {toolUseId, name, input}
      } else if (k == "toolResult") {
        this.all(v, Role.Tool); // Bedrock Converse {toolUseId, content, status}
      } else if (k == "guardContent") {
        this.all(v, roles); // Bedrock {text: {text, qualifiers}}
      } else if (k == "inlineData" || k == "inline_data") {
        this.geminiBlob(v, roles);
      } else if (k == "file") {
        this.openAiFile(v, roles);
      } else if (k == "file_data") {
        // Responses input_file {filename, file_data}
        if (!this.inline.dataUrl(v, fileName, roles)) this.inline.base64(v, "", fileName, roles);
      } else if (k == "image_url" || k == "image") {
        this.image(v, roles);
      } else if (k == "input_audio") {
        this.audio(v);
      } else if (k == "document") {
        this.bedrockDocument(v, roles);
      } else {
        this.extraField(k, v, roles);
      }
    }
  }

  /** Gemini Blob {mimeType, data}. */
  private geminiBlob(v: JsonValue, roles: u32): void {
    if (v.kind != JsonKind.Object) return;
    let mediaType = "";
    for (let i = 0; i < v.memberCount(); i++) {
      const k = v.key(i);
      if (k == "mimeType" || k == "mime_type") mediaType = preferText(mediaType, v.value(i).asString());
    }
    for (let i = 0; i < v.memberCount(); i++) {
      if (v.key(i) == "data") this.inline.base64(v.value(i), mediaType, "", roles);
    }
  }

  /** OpenAI chat `file` part {file_data, filename, file_id}. */
  private openAiFile(v: JsonValue, roles: u32): void {
    if (v.kind != JsonKind.Object) {
      this.stringish(v, roles);
      return;
    }
    let fileName = "";
    for (let i = 0; i < v.memberCount(); i++) if (v.key(i) == "filename") fileName = v.value(i).asString();
    for (let i = 0; i < v.memberCount(); i++) {
      const k = v.key(i);
      const x = v.value(i);
      if (k == "file_data") {
        if (!this.inline.dataUrl(x, fileName, roles)) this.inline.base64(x, "", fileName, roles);
      } else if (k == "filename") {
        this.emit(x, roles);
      }
    }
  }

  /** image_url: a URL string or {url, detail}; Bedrock image {format, source: {bytes}}. Data URLs are counted. */
  private image(v: JsonValue, roles: u32): void {
    if (v.kind == JsonKind.String) {
      this.inline.dataUrl(v, "", roles);
      return;
    }
    if (v.kind != JsonKind.Object) return;
    for (let i = 0; i < v.memberCount(); i++) {
      const k = v.key(i);
      const x = v.value(i);
      if (k == "url") this.inline.dataUrl(x, "", roles);
      else if (k == "source") this.bytesSource(x, "image/*", roles);
    }
  }

  /** input_audio {data, format}: always binary. */
  private audio(v: JsonValue): void {
    if (v.kind != JsonKind.Object) return;
    for (let i = 0; i < v.memberCount(); i++) {
      if (v.key(i) == "data") {
        const d = v.value(i);
        if (d.kind == JsonKind.String && d.text.length > 0) {
          this.sink.claim(d);
          this.sink.binaryParts++;
        }
      }
    }
  }

  /** Bedrock document {format: txt|md|csv|html|..., name, source: {bytes}}. */
  private bedrockDocument(v: JsonValue, roles: u32): void {
    if (v.kind != JsonKind.Object) return;
    let format = "";
    for (let i = 0; i < v.memberCount(); i++) if (v.key(i) == "format") format = v.value(i).asString();
    for (let i = 0; i < v.memberCount(); i++) {
      const k = v.key(i);
      if (k == "name") this.emit(v.value(i), roles);
      else if (k == "source") this.bytesSource(v.value(i), "", roles, "document." + format);
    }
  }

  /** Bedrock {bytes: base64}. */
  private bytesSource(v: JsonValue, mediaType: string, roles: u32, fileName: string = ""): void {
    if (v.kind != JsonKind.Object) return;
    for (let i = 0; i < v.memberCount(); i++) {
      if (v.key(i) == "bytes") this.inline.base64(v.value(i), mediaType, fileName, roles);
    }
  }

  /**
   * Anthropic `source`: type text -> data, content -> content blocks, base64 -> inline data;
   * a search_result's `source` is a string (its URL or name).
   */
  source(v: JsonValue, roles: u32, depth: i32): void {
    if (v.kind != JsonKind.Object) {
      this.stringish(v, roles);
      return;
    }
    const n = v.memberCount();
    // Every `type` counts (a parser upstream may keep either of two): text data is inspected as
    // written unless base64 is the only kind named, and decoded when base64 is one of them.
    let base64 = false;
    let other = false;
    let mediaType = "";
    for (let i = 0; i < n; i++) {
      const k = v.key(i);
      if (k == "type") {
        if (v.value(i).asString() == "base64") base64 = true;
        else other = true;
      } else if (k == "media_type") {
        mediaType = preferText(mediaType, v.value(i).asString());
      }
    }
    for (let i = 0; i < n; i++) {
      const k = v.key(i);
      const x = v.value(i);
      if (k == "data") {
        if (other || !base64) this.stringish(x, roles);
        if (base64) this.inline.base64(x, mediaType, "", roles);
      } else if (k == "content") {
        this.content(x, roles, depth + 1);
      } else if (k == "bytes") {
        this.inline.base64(x, mediaType, "", roles);
      }
      // url / file_id sources: identifiers, left to the `other` pass.
    }
  }

  // ---- messages / items -----------------------------------------------------

  /**
   * A chat message, Anthropic message, Gemini Content or Responses input item.
   * Roles: every `role` it claims; without one, from its `type`, else `defaultRoles`.
   */
  message(m: JsonValue, defaultRoles: u32): void {
    if (m.kind != JsonKind.Object) {
      this.content(m, defaultRoles, 0);
      return;
    }
    const n = m.memberCount();
    let roles: u32 = 0;
    let typeRoles: u32 = 0;
    for (let i = 0; i < n; i++) {
      const k = m.key(i);
      const v = m.value(i);
      if (k == "role" && v.kind == JsonKind.String) roles |= messageRole(v.text);
      else if (k == "type" && v.kind == JsonKind.String) typeRoles |= defaultRoleForType(v.text);
    }
    if (roles == 0) roles = typeRoles != 0 ? typeRoles : defaultRoles;

    for (let i = 0; i < n; i++) {
      const k = m.key(i);
      const v = m.value(i);
      if (k == "content" || k == "parts") {
        this.content(v, roles, 0);
      } else if (k == "name" || k == "refusal" || k == "text") {
        // chat message name, assistant refusal, bare text items (moderations)
        this.stringish(v, roles);
      } else if (k == "tool_calls" || k == "function_call") {
        this.toolCalls(v);
      } else if (k == "arguments") {
        // Responses function_call / mcp_call items
        this.argumentsField(v, Role.Assistant);
      } else if (k == "input") {
        // Responses custom_tool_call input (free text)
        this.all(v, Role.Assistant);
      } else if (k == "output" || k == "outputs" || k == "results") {
        // Responses *_output items, code interpreter outputs, file search results
        this.content(v, Role.Tool, 0);
      } else if (k == "summary") {
        // Responses reasoning item summary parts
        this.content(v, Role.Assistant, 0);
      } else if (k == "tools") {
        // mcp_list_tools: the tools a server offers
        this.tools(v);
      } else if (k == "result" && (typeRoles & Role.Assistant) != 0 && isImageGeneration(m)) {
        // image_generation_call result: a base64 image
        this.inline.base64(v, "image/png", "", roles);
      } else {
        this.extraField(k, v, roles);
      }
    }
  }

  /** tool_calls [{function | custom: {name, arguments | input}}], legacy function_call {name, arguments}. */
  private toolCalls(v: JsonValue): void {
    const stack = new Array<JsonValue>();
    if (v.kind == JsonKind.Array) {
      const items = v.items;
      for (let i = items.length - 1; i >= 0; i--) stack.push(unchecked(items[i]));
    } else {
      stack.push(v);
    }
    while (stack.length > 0) {
      const c = stack.pop();
      if (c.kind != JsonKind.Object) {
        this.all(c, Role.Assistant);
        continue;
      }
      for (let j = 0; j < c.memberCount(); j++) {
        const k = c.key(j);
        const x = c.value(j);
        if (k == "arguments") this.argumentsField(x, Role.Assistant);
        else if (k == "function" || k == "custom") stack.push(x); // {name, arguments} / {name, input}
        else if (k == "name" || k == "input") this.stringish(x, Role.Assistant);
      }
    }
  }

  // ---- tool definitions and output schemas ------------------------------------

  /** Tool definitions of every API: their names, descriptions and schemas, as `tool_definition`. */
  tools(v: JsonValue): void {
    this.all(v, Role.ToolDefinition);
  }

  // ---- top level --------------------------------------------------------------

  /** messages[], contents[], additional_messages[], thread.messages[]. */
  messageList(v: JsonValue): void {
    if (v.kind == JsonKind.String) {
      this.emit(v, Role.User);
      return;
    }
    if (v.kind != JsonKind.Array) {
      this.message(v, Role.User);
      return;
    }
    const items = v.items;
    for (let i = 0; i < items.length; i++) this.message(unchecked(items[i]), Role.User);
  }

  /** prompt / input: a string, strings, token ids, input items, or a prompt template reference. */
  prompt(v: JsonValue): void {
    if (v.kind == JsonKind.String) {
      this.emit(v, Role.User);
    } else if (v.kind == JsonKind.Array) {
      const items = v.items;
      for (let i = 0; i < items.length; i++) {
        const x = unchecked(items[i]);
        if (x.kind == JsonKind.Object) this.message(x, Role.User);
        else if (x.kind == JsonKind.Array) this.all(x, Role.User); // token ids or strings
        else this.emit(x, Role.User);
      }
    } else if (v.kind == JsonKind.Object && (v.has("variables") || v.has("id"))) {
      // Responses prompt template reference {id, version, variables}: the variables (strings or
      // input parts) are substituted into the prompt.
      for (let i = 0; i < v.memberCount(); i++) {
        if (v.key(i) != "variables") continue;
        const vars = v.value(i);
        if (vars.kind == JsonKind.Array) this.partList(vars, Role.User, 0);
        else for (let j = 0; j < vars.memberCount(); j++) this.part(vars.value(j), Role.User, 0);
      }
    } else {
      this.message(v, Role.User); // one input item
    }
  }

  /** system / instructions / additional_instructions; Gemini systemInstruction (a Content). */
  system(v: JsonValue): void {
    if (v.kind != JsonKind.Object) {
      this.content(v, Role.System, 0);
      return;
    }
    // A Content whose parts are all system text, whatever role it names.
    for (let i = 0; i < v.memberCount(); i++) {
      const k = v.key(i);
      const x = v.value(i);
      if (k == "parts" || k == "content") this.content(x, Role.System, 0);
      else if (k == "text") this.stringish(x, Role.System);
    }
  }

  private thread(v: JsonValue): void {
    for (let i = 0; i < v.memberCount(); i++) {
      if (v.key(i) == "messages") this.messageList(v.value(i));
    }
  }

  /** Chat prediction {type: content, content}: predicted output the model is shown. */
  private prediction(v: JsonValue): void {
    for (let i = 0; i < v.memberCount(); i++) {
      if (v.key(i) == "content") this.content(v.value(i), Role.Assistant, 0);
    }
  }

  /** response_format / text.format / Gemini responseSchema: schemas whose descriptions the model reads. */
  private schemas(v: JsonValue, names: string[]): void {
    for (let i = 0; i < v.memberCount(); i++) {
      if (names.includes(v.key(i))) this.all(v.value(i), Role.ToolDefinition);
    }
  }

  topLevel(doc: JsonValue): void {
    const n = doc.memberCount();
    for (let i = 0; i < n; i++) {
      const k = doc.key(i);
      const v = doc.value(i);
      if (k == "messages" || k == "contents" || k == "additional_messages") this.messageList(v);
      else if (k == "prompt" || k == "input" || k == "suffix") this.prompt(v);
      else if (k == "instructions" || k == "system" || k == "additional_instructions" || k == "systemInstruction" || k == "system_instruction") this.system(v);
      else if (k == "tools" || k == "functions") this.tools(v);
      else if (k == "toolConfig") this.schemas(v, ["tools"]);
      else if (k == "thread") this.thread(v);
      else if (k == "prediction") this.prediction(v);
      else if (k == "response_format") this.all(v, Role.ToolDefinition);
      else if (k == "text") this.schemas(v, ["format"]);
      else if (k == "generationConfig" || k == "generation_config") this.schemas(v, ["responseSchema", "response_schema", "responseJsonSchema", "response_json_schema"]);
    }
  }
}

function isImageGeneration(item: JsonValue): bool {
  for (let i = 0; i < item.memberCount(); i++) {
    if (item.key(i) == "type" && item.value(i).asString() == "image_generation_call") return true;
  }
  return false;
}

/** Of two media types named for one content, a text one wins: its text is then inspected. */
function preferText(current: string, next: string): string {
  return current.length > 0 && isTextMediaType(current) ? current : next;
}

/**
 * The text of a plain text part (a string, or {type: text|input_text|output_text, text} with only
 * markup beside it), which runs together with its neighbours; null for any other part.
 */
function plainText(p: JsonValue): JsonValue | null {
  if (p.kind == JsonKind.String) return p;
  if (p.kind != JsonKind.Object) return null;
  let text: JsonValue | null = null;
  for (let i = 0; i < p.memberCount(); i++) {
    const k = p.key(i);
    const v = p.value(i);
    if (k == "text") {
      if (text !== null || v.kind != JsonKind.String) return null;
      text = v;
    } else if (k == "type") {
      const t = v.asString();
      if (t != "text" && t != "input_text" && t != "output_text") return null;
    } else if (k != "cache_control" && k != "annotations" && k != "citations" && k != "thought" && k != "thoughtSignature" && k != "logprobs") {
      return null;
    }
  }
  return text;
}
