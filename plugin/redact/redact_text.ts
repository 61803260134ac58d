// Replacing what a pattern set matches in a text by a token: the spans (PatternSet.spans) become
// one token each, the rest of the text stays as it is.
import { PatternSet, Spans } from "../regex";

/** `text` with every span of `set` replaced by `token`; `text` itself (same instance) when none matched. */
export function redactText(set: PatternSet, text: string, token: string, spans: Spans): string {
  if (text.length == 0 || set.firstMatch(text) < 0) return text;
  set.spans(text, spans);
  return applySpans(text, spans, 0, text.length, token);
}

/**
 * The part [from, to) of a text whose spans are `spans` (positions in that text), each span that
 * begins inside it written as `token`, text inside spans left out. A span begun before `from` adds
 * no token here: it was written where it began.
 */
export function applySpans(text: string, spans: Spans, from: i32, to: i32, token: string): string {
  let out = "";
  let at = from;
  for (let i = 0; i < spans.length; i++) {
    const start = unchecked(spans.starts[i]);
    const end = unchecked(spans.ends[i]);
    if (end <= from) continue;
    if (start >= to) break;
    if (start > at) out += text.substring(at, start);
    if (start >= from) out += token;
    at = max(at, min(end, to));
  }
  if (at < to) out += text.substring(at, to);
  return out;
}
