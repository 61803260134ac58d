// Structured logs: one JSON object per line, {ts, level, msg, ...fields}. Callers pass names and
// identifiers only; Secret values never reach a log line (see redact.ts for server messages).
import { errorMessage } from '../kube/errors.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export interface LoggerOptions {
  level?: Level;
  /** Where lines go (without the trailing newline handling: each call gets one full line). */
  sink?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions = {}, base: Fields = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const sink = opts.sink ?? ((line: string) => void process.stdout.write(line));
  const emit = (level: Level, msg: string, fields?: Fields) => {
    if (ORDER[level] < min) return;
    const record: Fields = { ts: new Date().toISOString(), level, msg, ...base };
    for (const [k, v] of Object.entries(fields ?? {})) {
      if (v === undefined) continue;
      record[k] = v instanceof Error ? errorMessage(v) : v;
    }
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ ts: record.ts, level, msg, note: 'fields not serialisable' });
    }
    sink(line + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

export function parseLevel(s: string | undefined): Level | undefined {
  return s === 'debug' || s === 'info' || s === 'warn' || s === 'error' ? s : undefined;
}
