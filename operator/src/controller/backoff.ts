// Exponential backoff: base * 2^attempt, capped.

export function backoffDelay(attempt: number, baseMs: number, capMs: number): number {
  if (attempt <= 0) return Math.min(baseMs, capMs);
  // 2^attempt overflows to Infinity for large attempts; min() keeps the cap.
  return Math.min(baseMs * 2 ** Math.min(attempt, 40), capMs);
}

/** The same with up to +-`ratio` random jitter, so many clients don't retry in step. */
export function jittered(ms: number, ratio = 0.1): number {
  return Math.max(0, Math.round(ms * (1 + (Math.random() * 2 - 1) * ratio)));
}

/** A promise that resolves after `ms`, or early (without rejecting) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
