// redact_patterns on a request body: the matches in its inspected texts become redact_token where
// the body holds them, a JSON body's string values (re-encoded by plugin/json/write.ts). The caller
// reads the new body again (evaluate.ts): text decoded out of something else (an attached file, a
// form field, JSON inside a string) that still matches can't be rewritten in place, and the
// request is refused rather than forwarded unredacted.
import { JsonValue } from "../json";
import { writeJson } from "../json/write";
import { TextPiece } from "../inspect";
import { PatternSet, Spans } from "../regex";
import { redactText } from "./redact_text";

/**
 * `document` (the body parsed as JSON) with the matches in the string values behind `pieces`
 * redacted, as UTF-8; null when none matched.
 */
export function redactDocument(set: PatternSet, token: string, document: JsonValue, pieces: TextPiece[]): Uint8Array | null {
  const spans = new Spans();
  // Original text -> redacted text, for every string value that changes (the same text alike everywhere).
  const changed = new Map<string, string>();
  const seen = new Set<string>();
  for (let i = 0; i < pieces.length; i++) {
    const nodes = pieces[i].nodes;
    if (nodes == null) continue;
    for (let k = 0; k < nodes.length; k++) {
      const text = nodes[k].text;
      if (seen.has(text)) continue;
      seen.add(text);
      const redacted = redactText(set, text, token, spans);
      if (changetype<usize>(redacted) != changetype<usize>(text)) changed.set(text, redacted);
    }
  }
  if (changed.size == 0) return null;
  return Uint8Array.wrap(String.UTF8.encode(writeJson(document, changed, new Set<string>())));
}
