// How a provider expects its key.

export enum AuthStyle { Bearer, XApiKey, ApiKey, XGoogApiKey }

/** Every header a client could carry a provider credential in; all are removed before ours is added. */
export const CREDENTIAL_HEADERS: string[] = ["authorization", "x-api-key", "api-key", "x-goog-api-key"];

export function parseAuthStyle(name: string): i32 {
  if (name == "bearer") return AuthStyle.Bearer;
  if (name == "x-api-key") return AuthStyle.XApiKey;
  if (name == "api-key") return AuthStyle.ApiKey;
  if (name == "x-goog-api-key") return AuthStyle.XGoogApiKey;
  return -1;
}

export function authHeaderName(style: i32): string {
  if (style == AuthStyle.XApiKey) return "x-api-key";
  if (style == AuthStyle.ApiKey) return "api-key";
  if (style == AuthStyle.XGoogApiKey) return "x-goog-api-key";
  return "authorization";
}

export function authHeaderValue(style: i32, key: string): string {
  return style == AuthStyle.Bearer ? "Bearer " + key : key;
}
