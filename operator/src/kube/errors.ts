// An error answer from the apiserver, with its HTTP status and the metav1.Status it sent.

export interface StatusBody {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: unknown;
}

export class ApiError extends Error {
  readonly statusCode: number;
  readonly reason: string;
  readonly body: StatusBody | undefined;

  constructor(method: string, path: string, statusCode: number, body: StatusBody | undefined, raw: string) {
    const detail = body?.message ?? (raw.trim().slice(0, 300) || `HTTP ${statusCode}`);
    super(`${method} ${path}: ${statusCode} ${detail}`);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.reason = body?.reason ?? '';
    this.body = body;
  }

  /** The apiserver's own message, without the request line. */
  get serverMessage(): string {
    return this.body?.message ?? this.message;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 409;
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 409 && err.reason === 'AlreadyExists';
}

/** A short, single-line description of any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
