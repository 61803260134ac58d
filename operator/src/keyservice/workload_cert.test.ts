import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IstioCaError } from './istio_ca.js';
import { createFakeCa } from './testdata/fake_ca.js';
import { WorkloadCertificate, identityOfPeer, spiffeId, type Clock, type CurrentCertificate, type WorkloadIdentity } from './workload_cert.js';

const CHAT = { trustDomain: 'cluster.local', namespace: 'apps', serviceAccount: 'chat' };
const START = Date.UTC(2026, 11, 2, 12, 0, 0);
const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** istiod backdates notBefore by two minutes (ClockSkewGracePeriod). */
const BACKDATE = 120 * SECOND;

/** A clock whose timers fire only when the test moves time forward. */
class FakeClock implements Clock {
  t = START;
  timers = new Map<number, { fire: () => void; at: number; ms: number }>();
  private nextId = 1;
  now = () => this.t;
  setTimer = (fire: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.set(id, { fire, at: this.t + ms, ms });
    return id;
  };
  clearTimer = (handle: unknown) => void this.timers.delete(handle as number);
  /** The one pending timer's due time. */
  get due(): number {
    expect(this.timers.size).toBe(1);
    return [...this.timers.values()][0]!.at;
  }
  /** Moves to `t`, firing due timers in order, then lets the renewal's promises settle. */
  async advanceTo(t: number): Promise<void> {
    for (;;) {
      const next = [...this.timers.entries()].filter(([, v]) => v.at <= t).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fire();
      await settle();
    }
    this.t = t;
  }
}

const settle = () => new Promise((r) => setImmediate(r));

/** A CA that signs like istiod: for the token's identity, backdated, for the validity asked. */
function fakeIstiod(clock: FakeClock) {
  const ca = createFakeCa();
  const calls: { csrPem: string; validitySeconds: number }[] = [];
  const state = { tokenIdentity: CHAT as WorkloadIdentity, fail: undefined as Error | undefined, maxLifetimeMs: Infinity, answerAfter: undefined as Promise<void> | undefined };
  const sign = async (csrPem: string, validitySeconds: number) => {
    calls.push({ csrPem, validitySeconds });
    await state.answerAfter;
    if (state.fail) throw state.fail;
    const lifetime = Math.min(validitySeconds * SECOND, state.maxLifetimeMs);
    return ca.issue({ csrPem, uris: [spiffeId(state.tokenIdentity)], notBefore: clock.now() - BACKDATE, notAfter: clock.now() + lifetime });
  };
  return { ca, calls, state, sign };
}

function setup(o: { validitySeconds?: number; retry?: { initialMs?: number; maxMs?: number } } = {}) {
  const clock = new FakeClock();
  const istiod = fakeIstiod(clock);
  const wc = new WorkloadCertificate({ identity: CHAT, rootCertPem: istiod.ca.rootPem, sign: istiod.sign, clock, ...o });
  const renewed: CurrentCertificate[] = [];
  const errors: Error[] = [];
  wc.onRenew((c) => renewed.push(c));
  wc.onError((e) => errors.push(e));
  return { clock, istiod, wc, renewed, errors };
}

const leafOf = (c: CurrentCertificate) => new X509Certificate(c.certChainPem);

describe('WorkloadCertificate: the first certificate', () => {
  it('start() asks for 24 h by default and serves a key, the leaf, the mesh root and notAfter', async () => {
    const { wc, istiod } = setup();
    const c = await wc.start();
    expect(istiod.calls.map((x) => x.validitySeconds)).toEqual([86_400]);
    expect(c).toBe(wc.current());
    expect(c.notAfter.getTime()).toBe(START + DAY);
    expect(c.rootPem).toBe(istiod.ca.rootPem);
    expect(leafOf(c).checkPrivateKey(createPrivateKey(c.keyPem))).toBe(true);
    expect(identityOfPeer(leafOf(c))).toEqual(CHAT);
    wc.stop();
  });

  it('start() rejects with the CA’s own error, and leaves nothing scheduled', async () => {
    const { wc, istiod, clock } = setup();
    istiod.state.fail = new IstioCaError('istiod refused the certificate request: Unauthenticated (16): request authenticate failure');
    await expect(wc.start()).rejects.toThrow('Unauthenticated (16): request authenticate failure');
    expect(clock.timers.size).toBe(0);
    expect(() => wc.current()).toThrow(/start\(\) first/);
    // Not started: it may be tried again.
    istiod.state.fail = undefined;
    await expect(wc.start()).resolves.toBeDefined();
    wc.stop();
  });

  it('start() rejects a certificate for another ServiceAccount (a token of the wrong one)', async () => {
    const { wc, istiod } = setup();
    istiod.state.tokenIdentity = { ...CHAT, serviceAccount: 'other' };
    await expect(wc.start()).rejects.toThrow('the CA issued spiffe://cluster.local/ns/apps/sa/other but spiffe://cluster.local/ns/apps/sa/chat was asked for');
  });

  it('start() twice is an error', async () => {
    const { wc } = setup();
    await wc.start();
    await expect(wc.start()).rejects.toThrow(/already started/);
    wc.stop();
  });
});

describe('WorkloadCertificate: renewal', () => {
  it('renews at half the certificate’s lifetime (from its notBefore), not a second earlier', async () => {
    const { wc, clock, istiod, renewed } = setup();
    const first = await wc.start();
    const halfLife = START - BACKDATE + (DAY + BACKDATE) / 2;
    expect(clock.due).toBe(halfLife);
    await clock.advanceTo(halfLife - 1);
    expect(istiod.calls).toHaveLength(1);
    await clock.advanceTo(halfLife);
    expect(istiod.calls).toHaveLength(2);
    expect(renewed).toHaveLength(1);
    const second = wc.current();
    expect(second).toBe(renewed[0]);
    expect(second.keyPem).not.toBe(first.keyPem);
    expect(second.notAfter.getTime()).toBe(halfLife + DAY);
    expect(clock.due).toBe(halfLife - BACKDATE + (DAY + BACKDATE) / 2);
    wc.stop();
  });

  it('keeps renewing, one timer at a time', async () => {
    const { wc, clock, istiod, renewed } = setup({ validitySeconds: 3600 });
    await wc.start();
    await clock.advanceTo(START + 10 * HOUR);
    // Every 29 minutes: half of (1 h + 2 min backdating), counted from the backdated notBefore.
    expect(istiod.calls).toHaveLength(1 + Math.floor((10 * HOUR) / ((HOUR + BACKDATE) / 2 - BACKDATE)));
    expect(renewed).toHaveLength(istiod.calls.length - 1);
    expect(clock.timers.size).toBe(1);
    wc.stop();
  });

  it('on failure keeps the current certificate and retries with doubling backoff, capped', async () => {
    const { wc, clock, istiod, renewed, errors } = setup({ retry: { initialMs: SECOND, maxMs: 8 * SECOND } });
    const first = await wc.start();
    const halfLife = clock.due;
    istiod.state.fail = new Error('connection refused');
    await clock.advanceTo(halfLife);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      delays.push(clock.due - clock.now());
      await clock.advanceTo(clock.due);
    }
    expect(delays).toEqual([1, 2, 4, 8, 8, 8].map((s) => s * SECOND));
    expect(errors).toHaveLength(7);
    expect(errors[0]!.message).toBe('connection refused');
    expect(wc.current()).toBe(first);
    expect(renewed).toHaveLength(0);

    istiod.state.fail = undefined;
    await clock.advanceTo(clock.due);
    expect(renewed).toHaveLength(1);
    expect(wc.current()).not.toBe(first);
    // Success resets the backoff: the next wait is half the new lifetime again.
    expect(clock.due - clock.now()).toBe((DAY + BACKDATE) / 2 - BACKDATE);
    wc.stop();
  });

  it('a renewed certificate that fails the checks counts as a failure', async () => {
    const { wc, clock, istiod, errors, renewed } = setup();
    const first = await wc.start();
    istiod.state.tokenIdentity = { ...CHAT, namespace: 'other' };
    await clock.advanceTo(clock.due);
    expect(errors[0]!.message).toMatch(/issued spiffe:\/\/cluster.local\/ns\/other\/sa\/chat/);
    expect(wc.current()).toBe(first);
    expect(renewed).toHaveLength(0);
    expect(clock.due - clock.now()).toBe(SECOND);
    wc.stop();
  });

  it('a certificate already past half-life (short-lived) is renewed after a second, not in a loop', async () => {
    const { wc, clock, istiod } = setup();
    istiod.state.maxLifetimeMs = 60 * SECOND; // shorter than the 2 min backdating: half-life is in the past
    await wc.start();
    expect(clock.due - clock.now()).toBe(SECOND);
    wc.stop();
  });

  it('a wait longer than setTimeout allows is taken in steps, without asking the CA early', async () => {
    const { wc, clock, istiod } = setup({ validitySeconds: 90 * 24 * 3600 });
    await wc.start();
    const [timer] = [...clock.timers.values()];
    expect(timer!.ms).toBe(2 ** 31 - 1);
    const halfLife = START - BACKDATE + (90 * DAY + BACKDATE) / 2;
    await clock.advanceTo(halfLife - 1);
    expect(istiod.calls).toHaveLength(1);
    expect(clock.due).toBe(halfLife);
    await clock.advanceTo(halfLife);
    expect(istiod.calls).toHaveLength(2);
    wc.stop();
  });

  it('a throwing onRenew listener is reported and does not stop the others nor the schedule', async () => {
    const { wc, clock, renewed, errors } = setup();
    wc.onRenew(() => {
      throw new Error('swap failed');
    });
    const seen: CurrentCertificate[] = [];
    wc.onRenew((c) => seen.push(c));
    await wc.start();
    await clock.advanceTo(clock.due);
    expect(renewed).toHaveLength(1);
    expect(seen).toHaveLength(1);
    expect(errors.map((e) => e.message)).toEqual(['an onRenew listener failed: swap failed']);
    expect(clock.timers.size).toBe(1);
    wc.stop();
  });

  it('unsubscribed listeners are not called', async () => {
    const { wc, clock } = setup();
    const seen: CurrentCertificate[] = [];
    const off = wc.onRenew((c) => seen.push(c));
    off();
    await wc.start();
    await clock.advanceTo(clock.due);
    expect(seen).toHaveLength(0);
    wc.stop();
  });
});

describe('WorkloadCertificate: stop', () => {
  it('clears the timer', async () => {
    const { wc, clock, istiod } = setup();
    await wc.start();
    wc.stop();
    expect(clock.timers.size).toBe(0);
    await clock.advanceTo(START + 10 * DAY);
    expect(istiod.calls).toHaveLength(1);
  });

  it('a renewal in flight when stopped is dropped', async () => {
    const { wc, clock, istiod, renewed } = setup();
    const first = await wc.start();
    let release!: () => void;
    istiod.state.answerAfter = new Promise<void>((r) => (release = r));
    await clock.advanceTo(clock.due);
    expect(istiod.calls).toHaveLength(2);
    wc.stop();
    release();
    await settle();
    expect(renewed).toHaveLength(0);
    expect(wc.current()).toBe(first);
    expect(clock.timers.size).toBe(0);
  });

  it('stop during start: the certificate is returned but nothing is scheduled', async () => {
    const { wc, clock } = setup();
    const started = wc.start();
    wc.stop();
    await started;
    expect(clock.timers.size).toBe(0);
  });
});

describe('WorkloadCertificate: options', () => {
  it('refuses a non-positive validity or inverted retry bounds', () => {
    const base = { identity: CHAT, rootCertPem: '', sign: async () => [] };
    expect(() => new WorkloadCertificate({ ...base, validitySeconds: 0 })).toThrow(RangeError);
    expect(() => new WorkloadCertificate({ ...base, validitySeconds: 1.5 })).toThrow(RangeError);
    expect(() => new WorkloadCertificate({ ...base, retry: { initialMs: 10, maxMs: 5 } })).toThrow(RangeError);
    expect(() => new WorkloadCertificate({ ...base, retry: { initialMs: 0 } })).toThrow(RangeError);
  });
});
