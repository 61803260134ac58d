// The mock guard's answers (operator/src/localmesh/guard_answers.ts) played into the in-process
// host (operator/src/wasm) without a server: the test plays Envoy delivering the guard's answer.
import { renderAnswer, type Answer } from '../../operator/src/localmesh/guard_answers.js';

/** The part of the host's FilterHost that playAnswer needs. */
export interface HarnessCalls {
  respondToHttpCall(token: number, headers?: [string, string][], body?: string | Uint8Array): void;
  failHttpCall(token: number): void;
  timeoutHttpCall(token: number): void;
}

/**
 * Plays `answer` as the upstream of the host's pending http call `token`, the way Envoy would
 * deliver it: an HTTP answer through respondToHttpCall; a reset after the headers as a failed call
 * (on_http_call_response with 0 headers); `'timeout'` as Envoy's async client timing out (a 504
 * "upstream request timeout" it makes itself); a hang as nothing at all. A delay is ignored (the
 * host has its own clock: advance it or wait before calling this). 'fail': the call fails without
 * an answer (reset or refused).
 */
export function playAnswer(host: HarnessCalls, token: number, answer: Answer | 'timeout' | 'fail'): void {
  if (answer === 'timeout') return host.timeoutHttpCall(token);
  if (answer === 'fail') return host.failHttpCall(token);
  if (answer.kind === 'hang') return undefined;
  if (answer.kind === 'reset' || answer.kind === 'reset_before_headers') return host.failHttpCall(token);
  const r = renderAnswer(answer);
  if (!r) throw new Error(`playAnswer: unknown answer kind ${answer.kind}`);
  const headers: [string, string][] = [[':status', String(r.status)], ...Object.entries(r.headers)];
  return host.respondToHttpCall(token, headers, typeof r.body === 'string' ? r.body : new Uint8Array(r.body));
}
