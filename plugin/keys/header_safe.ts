// What a key must be to go into an HTTP header: printable ASCII (0x20..0x7e), nothing else. Inline
// keys (config/) and keys from the key service are held to the same rule.

export function isHeaderSafe(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}
