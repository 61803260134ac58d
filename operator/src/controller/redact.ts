// Server messages (validation errors, for instance) may quote the object they refused, and ours
// carry API keys in the WasmPlugin's pluginConfig. Every message that leaves the reconciler (log,
// Event, status condition) goes through redact() with the values the reconcile resolved.

export const REDACTED = '[redacted]';

export function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  // Longest first, so a value containing another is replaced whole.
  const values = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  for (const v of values) out = out.split(v).join(REDACTED);
  return out;
}
