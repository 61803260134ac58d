// How the filter sends a provider's key (plugin/config/auth_style.ts states the same rule):
// the header per auth style, and every header a client could carry a credential in (the filter
// removes them all before adding the provider's).
import type { AuthStyle } from './types.js';

export const AUTH_HEADERS: Record<AuthStyle, { name: string; value: (key: string) => string }> = {
  bearer: { name: 'authorization', value: (k) => `Bearer ${k}` },
  'x-api-key': { name: 'x-api-key', value: (k) => k },
  'api-key': { name: 'api-key', value: (k) => k },
  'x-goog-api-key': { name: 'x-goog-api-key', value: (k) => k },
};

export const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key'] as const;
