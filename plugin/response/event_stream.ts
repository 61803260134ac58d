// A provider's Server-Sent Events stream against the response patterns, as it flows. Events are
// parsed incrementally (plugin/sse); the text of each channel (one choice's content, one content
// block...: completion_text.ts) is matched as one text across events, so a match split over
// events is found. An event leaves as soon as every text it carries is settled, i.e. can no
// longer become part of a match (PatternSet.spans with `final` false); only events whose text may
// still be the start of a match wait, in order, and for at most `maxHoldBack` units of text per
// channel and HELD_BYTES_LIMIT bytes in all. A redacted event is re-encoded with its new data; a
// deny drops what is held and ends the stream with an error event in the provider's format.
// Untouched events leave byte for byte.
import { parseJson, JsonLimits, JsonValue, JsonKind } from "../json";
import { writeJsonReplacing } from "../json/write";
import { Spans } from "../regex";
import { SseParser, SseLimits, SseItem, SseItemKind, SseLineEnd, SseEventFields, encodeSseEvent } from "../sse";
import { ByteBuffer } from "../sse/byte_buffer";
import { applySpans } from "../redact/redact_text";
import { Refusal } from "../reply/refusal";
import { responseDenied, responseNotInspectable } from "./errors";
import { CompletionText, completionTexts } from "./completion_text";
import { ApiFormat, errorEvent } from "./api_format";
import { ResponseRules } from "./rules";

/**
 * One event's bytes at most: a Responses `response.completed` repeats the whole answer on one data
 * line, so the parser's defaults (64 KiB lines) would cut long answers. Memory per stream stays
 * bounded by these.
 */
const MAX_EVENT_BYTES: i32 = 4 << 20;
/** Raw bytes of held events at most; past it every channel is settled as if its text ended. */
const HELD_BYTES_LIMIT: i32 = 1 << 20;
/** Channels remembered at most; idle ones are forgotten past it (a long stream of distinct indexes). */
const MAX_CHANNELS: i32 = 256;
const NO_BYTES = new Uint8Array(0);

class HeldEvent {
  /** Texts of this event not settled yet. */
  pending: i32 = 0;
  replaced: Map<usize, string> | null = null;

  constructor(public readonly item: SseItem, public readonly doc: JsonValue | null) {}

  replace(node: JsonValue, text: string): void {
    let map = this.replaced;
    if (map == null) {
      map = new Map<usize, string>();
      this.replaced = map;
    }
    map.set(changetype<usize>(node), text);
  }

  bytes(): Uint8Array {
    const map = this.replaced;
    if (map == null) return this.item.raw;
    const fields = SseEventFields.of(this.item);
    fields.data = writeJsonReplacing(this.doc!, map);
    return encodeSseEvent(fields, this.item.lineEnd);
  }
}

/** One event's text in a channel: [start, end) of the channel's whole text. */
class Piece {
  constructor(public readonly event: HeldEvent, public readonly node: JsonValue, public readonly start: i64, public readonly end: i64) {}
}

class Channel {
  /** The channel's text from `base` on: what may still be matched again. */
  text: string = "";
  base: i64 = 0;
  /** The code point before `text` (-1 at the start). */
  before: i32 = -1;
  /** Pieces not settled, in order. */
  pieces: Array<Piece> = new Array<Piece>();
}

export class EventStreamInspector {
  private parser: SseParser = new SseParser(eventLimits());
  private queue: Array<HeldEvent> = new Array<HeldEvent>();
  private head: i32 = 0;
  private heldBytes: i32 = 0;
  private channels: Map<string, Channel> = new Map<string, Channel>();
  private spans: Spans = new Spans();
  private lineEnd: SseLineEnd = SseLineEnd.Lf;
  /** Responses events number themselves: the error event takes the next number. */
  private nextSequence: i64 = 0;
  private out: ByteBuffer = new ByteBuffer(i32.MAX_VALUE);
  /** Set once the stream was ended with an error event: nothing more is sent. */
  stopped: bool = false;
  /** Why it was stopped (null while it flows). */
  refusal: Refusal | null = null;
  /** The deny pattern, or the lowest redact pattern that masked text. */
  rule: string = "";
  private lowestRedact: i32 = i32.MAX_VALUE;
  redactions: i32 = 0;
  /** Times the held text reached its bound and was let go unfinished. */
  overflows: i32 = 0;

  constructor(private readonly rules: ResponseRules, private readonly format: ApiFormat, private readonly denyStatus: u32, private readonly maxDepth: i32) {}

  /** The bytes to pass on for this chunk of the stream (maybe none); with `end`, everything left. */
  feed(chunk: Uint8Array, end: bool): Uint8Array {
    if (this.stopped) return NO_BYTES;
    this.out = new ByteBuffer(i32.MAX_VALUE);
    const items = this.parser.feed(chunk);
    this.takeAll(items);
    if (end && !this.stopped) this.takeAll(this.parser.finish());
    if (end && !this.stopped) this.settleAll();
    if (!this.stopped) this.release();
    return this.out.toBytes();
  }

  private takeAll(items: SseItem[]): void {
    for (let i = 0; i < items.length && !this.stopped; i++) this.take(items[i]);
  }

  private take(item: SseItem): void {
    if (item.kind == SseItemKind.Unparsed) {
      this.stop(responseNotInspectable("a stream event over the size limit"), "");
      return;
    }
    let doc: JsonValue | null = null;
    if (item.kind == SseItemKind.Event || item.kind == SseItemKind.Incomplete) {
      this.lineEnd = item.lineEnd;
      const data = item.data;
      if (startsLikeJson(data)) {
        const limits = new JsonLimits();
        limits.maxDepth = this.maxDepth;
        doc = parseJson(data, limits).value;
        if (doc == null) {
          this.stop(responseNotInspectable("a stream event that is not valid JSON"), "");
          return;
        }
      }
    }
    const event = new HeldEvent(item, doc);
    this.queue.push(event);
    this.heldBytes += item.raw.length;
    if (doc == null) return;
    const sequence = doc.last("sequence_number");
    if (sequence != null && sequence.kind == JsonKind.Number) this.nextSequence = I64.parseInt(sequence.numberText()) + 1;
    const texts = new Array<CompletionText>();
    completionTexts(doc, texts);
    const touched = new Array<Channel>();
    for (let i = 0; i < texts.length && !this.stopped; i++) {
      const node = texts[i].node;
      if (!texts[i].continued) {
        this.scanWhole(event, node);
        continue;
      }
      const channel = this.channel(texts[i].channel);
      const start = channel.base + channel.text.length;
      channel.text += node.text;
      channel.pieces.push(new Piece(event, node, start, start + node.text.length));
      event.pending++;
      if (!touched.includes(channel)) touched.push(channel);
    }
    for (let i = 0; i < touched.length && !this.stopped; i++) this.scan(touched[i], false);
    if (!this.stopped && this.heldBytes > HELD_BYTES_LIMIT) {
      this.overflows++;
      this.settleAll();
    }
  }

  /** A text that is whole in its event: matched at once, as a complete text. */
  private scanWhole(event: HeldEvent, node: JsonValue): void {
    const rules = this.rules;
    const text = node.text;
    if (rules.set.firstMatch(text) < 0) return;
    const spans = this.spans;
    rules.set.spans(text, spans);
    for (let i = 0; i < spans.length; i++) {
      if (rules.denies(spans.patterns[i])) {
        this.stop(responseDenied(this.denyStatus), rules.ruleName(spans.patterns[i]));
        return;
      }
      if (spans.patterns[i] < this.lowestRedact) this.lowestRedact = spans.patterns[i];
    }
    if (spans.length == 0) return;
    event.replace(node, applySpans(text, spans, 0, text.length, rules.token));
    this.redactions++;
  }

  private channel(key: string): Channel {
    if (this.channels.has(key)) return this.channels.get(key);
    if (this.channels.size >= MAX_CHANNELS) this.forgetIdleChannels();
    const c = new Channel();
    this.channels.set(key, c);
    return c;
  }

  private forgetIdleChannels(): void {
    const keys = this.channels.keys();
    for (let i = 0; i < keys.length; i++) {
      if (this.channels.get(keys[i]).pieces.length == 0) this.channels.delete(keys[i]);
    }
  }

  /** Matches the channel's held text; settles (and redacts) the pieces that can't change any more. */
  private scan(c: Channel, final: bool): void {
    const rules = this.rules;
    const spans = this.spans;
    const text = c.text;
    findSpans(rules, text, c.before, c.base == 0, final, spans);
    const settled = spans.settled;
    for (let i = 0; i < spans.length; i++) {
      if (spans.ends[i] > settled) break;
      if (rules.denies(spans.patterns[i])) {
        this.stop(responseDenied(this.denyStatus), rules.ruleName(spans.patterns[i]));
        return;
      }
    }
    if (!final && text.length - settled > this.rules.maxHoldBack) {
      // What may still be a match is longer than the bound: let it go as if the text had ended.
      this.overflows++;
      this.scan(c, true);
      return;
    }
    let done = 0;
    while (done < c.pieces.length) {
      const piece = c.pieces[done];
      const to = <i32>(piece.end - c.base);
      if (to > settled) break;
      const from = <i32>(piece.start - c.base);
      const redacted = applySpans(text, spans, from, to, rules.token);
      if (redacted != piece.node.text) {
        piece.event.replace(piece.node, redacted);
        this.redactions++;
        for (let i = 0; i < spans.length; i++) {
          if (spans.ends[i] > from && spans.starts[i] < to && spans.patterns[i] < this.lowestRedact) this.lowestRedact = spans.patterns[i];
        }
      }
      piece.event.pending--;
      done++;
    }
    if (done == 0) return;
    // Keep the text from the first unsettled piece, or from the start of a span reaching into it.
    let cut = <i32>(c.pieces[done - 1].end - c.base);
    for (let i = 0; i < spans.length; i++) {
      if (spans.starts[i] < cut && spans.ends[i] > cut) cut = spans.starts[i];
    }
    c.pieces.splice(0, done);
    if (cut > 0) {
      c.before = codePointBefore(text, cut);
      c.text = text.substring(cut);
      c.base += cut;
    }
  }

  /** The stream ended (or holds too much): every channel's text is matched as complete. */
  private settleAll(): void {
    const channels = this.channels.values();
    for (let i = 0; i < channels.length && !this.stopped; i++) {
      if (channels[i].pieces.length > 0) this.scan(channels[i], true);
    }
  }

  /** Sends the events at the head of the queue that are settled. */
  private release(): void {
    const queue = this.queue;
    let head = this.head;
    while (head < queue.length && queue[head].pending == 0) {
      const event = queue[head];
      const bytes = event.bytes();
      this.out.append(bytes, 0, bytes.length);
      this.heldBytes -= event.item.raw.length;
      head++;
    }
    if (head == queue.length) {
      queue.length = 0;
      head = 0;
    } else if (head > 64 && head * 2 > queue.length) {
      this.queue = queue.slice(head);
      head = 0;
    }
    this.head = head;
    if (this.lowestRedact != i32.MAX_VALUE && this.rule.length == 0) this.rule = this.rules.ruleName(this.lowestRedact);
  }

  /** Drops what is held and ends the stream with the error event. */
  private stop(refusal: Refusal, rule: string): void {
    this.release(); // events already settled before the deny go first
    this.stopped = true;
    this.refusal = refusal;
    this.rule = rule;
    this.queue.length = 0;
    this.head = 0;
    this.heldBytes = 0;
    this.channels.clear();
    const event = errorEvent(this.format, refusal, this.nextSequence, this.lineEnd);
    this.out.append(event, 0, event.length);
  }
}

/** An object: what every provider's events carry (`[DONE]` and other words are not JSON to read). */
/**
 * PatternSet.spans, with the lazy DFA in front: most texts hold no match, and of a text that goes
 * on only the part from where a match may be under way needs the span VM (a word, say, for an
 * address pattern), not the whole text.
 */
function findSpans(rules: ResponseRules, text: string, before: i32, atStart: bool, final: bool, spans: Spans): void {
  const set = rules.set;
  if (final) {
    if (set.firstMatch(text) >= 0 || !atStart) set.spans(text, spans, before, atStart, true);
    else {
      spans.clear();
      spans.settled = text.length;
    }
    return;
  }
  const idle = set.idleFrom(text, atStart ? -1 : before);
  if (idle < 0) {
    set.spans(text, spans, before, atStart, false);
    return;
  }
  if (idle == text.length) {
    spans.clear();
    spans.settled = idle;
    return;
  }
  // Nothing matched, and nothing under way before `idle`: the span VM finds where from the rest is open.
  set.spans(text.substring(idle), spans, idle > 0 ? codePointBefore(text, idle) : before, atStart && idle == 0, false);
  for (let i = 0; i < spans.length; i++) {
    spans.starts[i] += idle;
    spans.ends[i] += idle;
  }
  spans.settled += idle;
}

function eventLimits(): SseLimits {
  const limits = new SseLimits();
  limits.maxLineBytes = MAX_EVENT_BYTES;
  limits.maxDataBytes = MAX_EVENT_BYTES;
  limits.maxEventBytes = MAX_EVENT_BYTES;
  return limits;
}

function startsLikeJson(data: Uint8Array): bool {
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) continue;
    return c == 0x7b;
  }
  return false;
}

/** The code point ending just before UTF-16 index `at` (> 0). */
function codePointBefore(text: string, at: i32): i32 {
  const c = text.charCodeAt(at - 1);
  if ((c & 0xfc00) == 0xdc00 && at >= 2) {
    const h = text.charCodeAt(at - 2);
    if ((h & 0xfc00) == 0xd800) return 0x10000 + ((h - 0xd800) << 10) + (c - 0xdc00);
  }
  return c;
}
