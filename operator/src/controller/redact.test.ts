// redact: resolved Secret values never reach logs, Events or conditions.
import { describe, expect, it } from 'vitest';
import { redact } from './redact.js';

describe('redact', () => {
  it('redacts every resolved value, longest first', () => {
    expect(redact('key sk-abc and sk-abcdef leaked', ['sk-abc', 'sk-abcdef', ''])).toBe('key [redacted] and [redacted] leaked');
  });
});
