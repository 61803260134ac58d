// Reading Envoy's log: the tail worth showing when a start fails, and the lines that say a Wasm VM
// failed (Envoy 1.40 has no stat for a fail-closed VM failure, so the log is one of its traces).

/** Envoy's start-up inventory (extension and header-map lists), which would fill a failed start's tail. */
const INVENTORY_LINE = /\[main\] \[source\/server\/server\.cc:\d+\] {3}/;

/** The last n lines, leaving out the start-up inventory. */
export function lastLines(text: string, n: number): string {
  const lines = text.split('\n').filter((line) => !INVENTORY_LINE.test(line));
  return lines.slice(Math.max(0, lines.length - n - 1)).join('\n');
}

/**
 * Is this Envoy log line a Wasm VM failure: a trap, an abort, a failed callback or a failed start?
 * The plugin's own messages arrive as `wasm log <name> <root_id> <vm_id>: ...`; those count only if
 * they carry the AssemblyScript abort text.
 */
export function isWasmFailureLine(line: string): boolean {
  const m = /\]\[(\w+)\]\[wasm\] /.exec(line);
  if (!m) return false;
  if (/\bwasm log\b/.test(line)) return /\babort\b|RuntimeError|unreachable|\bpanic/i.test(line);
  if (m[1] === 'error' || m[1] === 'critical') return true;
  return /\bfail|\btrap|RuntimeError|unreachable|Uncaught|\babort|\bpanic/i.test(line);
}
