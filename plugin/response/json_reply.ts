// A whole JSON reply from a provider against the response patterns: denied when a deny pattern
// matches its generated text, otherwise each redact match replaced (the reply re-encoded).
import { parseJson, JsonLimits } from "../json";
import { writeJsonReplacing } from "../json/write";
import { PatternSet, Spans } from "../regex";
import { applySpans } from "../redact/redact_text";
import { CompletionText, completionTexts } from "./completion_text";
import { ResponseRules } from "./rules";

export class ReplyVerdict {
  /** A deny pattern matched: the reply must not reach the app. */
  denied: bool = false;
  /** The reply isn't JSON the filter can read: it must not reach the app either. */
  unreadable: bool = false;
  /** The reply to send instead, redacted; null when it stays as it is. */
  body: Uint8Array | null = null;
  /** `response_deny_patterns[N]`, or the lowest `response_redact_patterns[N]` that redacted. */
  rule: string = "";
}

export function inspectReply(rules: ResponseRules, bytes: Uint8Array, maxDepth: i32): ReplyVerdict {
  const verdict = new ReplyVerdict();
  const limits = new JsonLimits();
  limits.maxDepth = maxDepth;
  const doc = parseJson(bytes, limits).value;
  if (doc == null) {
    verdict.unreadable = true;
    return verdict;
  }
  const texts = new Array<CompletionText>();
  completionTexts(doc, texts);
  const set = rules.set;
  const spans = new Spans();
  const replaced = new Map<usize, string>();
  let lowestRedact = i32.MAX_VALUE;
  for (let i = 0; i < texts.length; i++) {
    const node = texts[i].node;
    const text = node.text;
    if (set.firstMatch(text) < 0) continue;
    set.spans(text, spans);
    if (spans.length == 0) continue; // only empty matches
    for (let k = 0; k < spans.length; k++) {
      const pattern = spans.patterns[k];
      if (rules.denies(pattern)) {
        verdict.denied = true;
        verdict.rule = rules.ruleName(pattern);
        return verdict;
      }
      if (pattern < lowestRedact) lowestRedact = pattern;
    }
    replaced.set(changetype<usize>(node), applySpans(text, spans, 0, text.length, rules.token));
  }
  if (replaced.size == 0) return verdict;
  verdict.rule = rules.ruleName(lowestRedact);
  verdict.body = Uint8Array.wrap(String.UTF8.encode(writeJsonReplacing(doc, replaced)));
  return verdict;
}
