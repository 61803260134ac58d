// Gemini `models.streamGenerateContent?alt=sse` (API reference: "Generating content"): each event
// is `data: <GenerateContentResponse>` with lines ended by CRLF, no event names, no [DONE] (the
// stream ends when the response does). Every chunk has candidates[0].content {parts: [{text}],
// role: "model"}, usageMetadata (prompt counts; the last chunk adds candidatesTokenCount), the
// modelVersion and the responseId; the last one has finishReason "STOP". Google's servers print
// JSON with a space after each colon, which a filter must parse rather than pattern-match.
// A mid-stream failure is Google's error object ({"error": {code, message, status}}) as an event.
import { makeId } from './ids.js';
import { sseEvent } from './sse.js';
import { deltasBeforeError, type ProviderStream, type StreamInput } from './stream_types.js';

export const GEMINI_STREAM_ERROR = { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } };

/** JSON as Google's front end prints it: `"key": value`, no space after commas. */
export function googleJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(googleJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}: ${googleJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function geminiStream(a: StreamInput): ProviderStream {
  const responseId = makeId('', 22);
  const promptDetails = [{ modality: 'TEXT', tokenCount: a.promptTokens }];
  const { sent, failed } = deltasBeforeError(a);
  const pieces = failed || sent.length > 0 ? sent : [''];
  const chunk = (text: string, last: boolean) => ({
    candidates: [{ content: { parts: [{ text }], role: 'model' }, ...(last ? { finishReason: 'STOP' } : {}), index: 0 }],
    usageMetadata: last
      ? { promptTokenCount: a.promptTokens, candidatesTokenCount: a.completionTokens, totalTokenCount: a.promptTokens + a.completionTokens, promptTokensDetails: promptDetails }
      : { promptTokenCount: a.promptTokens, totalTokenCount: a.promptTokens, promptTokensDetails: promptDetails },
    modelVersion: a.model,
    responseId,
  });
  const events = pieces.map((text, i) => sseEvent(googleJson(chunk(text, !failed && i === pieces.length - 1)), '\r\n'));
  if (failed) events.push(sseEvent(googleJson(GEMINI_STREAM_ERROR), '\r\n'));
  return { contentType: 'text/event-stream', eol: '\r\n', events };
}
