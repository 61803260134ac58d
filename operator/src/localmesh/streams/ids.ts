// Ids shaped like the providers' (prefix + base62), and filler text.
import { randomBytes } from 'node:crypto';

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function makeId(prefix: string, n = 24): string {
  let s = '';
  for (const b of randomBytes(n)) s += B62[b % 62];
  return prefix + s;
}

/** Random base62 of a random length in [min, max] (OpenAI's stream `obfuscation` padding). */
export function padding(min = 1, max = 16): string {
  return makeId('', min + (randomBytes(1)[0]! % (max - min + 1)));
}
