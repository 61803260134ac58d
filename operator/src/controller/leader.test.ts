// Lease bookkeeping of the leader election.
import { describe, expect, it } from 'vitest';
import { microTime } from './leader.js';

describe('leader election', () => {
  it('formats Lease times with microseconds', () => {
    expect(microTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678))).toBe('2025-01-02T03:04:05.678000Z');
  });
});
