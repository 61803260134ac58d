// Status conditions: build the policy's conditions, keep lastTransitionTime unless the
// status (True/False/Unknown) changed, and tell whether anything differs from what's stored.
import type { Condition, LlmGuardPolicyStatus } from '../api/v1alpha1/llm_guard_policy.js';

export type ConditionType = Condition['type'];
export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/** Condition messages are cut to this length. */
export const MAX_MESSAGE = 1024;

/**
 * Guarded (False when a valid setting weakens the guard: fail-open, nothing inspected, prompt
 * logging...) and Conflicted (True, only while another policy overlaps this one) are information
 * for the platform team; Ready follows the first three only (an overlapped policy that loses is
 * not Accepted).
 */
export const CONDITION_ORDER: readonly ConditionType[] = ['Accepted', 'ResolvedRefs', 'Programmed', 'Guarded', 'Conflicted', 'Ready'];

/** RFC 3339 to the second, as metav1.Time serialises. */
export function nowTimestamp(now: Date = new Date()): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Ready is True when the others are; otherwise False with the first failing one's reason. */
export function readyCondition(conds: ConditionInput[]): ConditionInput {
  const failing = conds.find((c) => c.status !== 'True');
  if (!failing) return { type: 'Ready', status: 'True', reason: 'Ready', message: 'The policy is applied.' };
  return { type: 'Ready', status: failing.status === 'Unknown' ? 'Unknown' : 'False', reason: failing.reason, message: `${failing.type}: ${failing.message}` };
}

/**
 * The next status: conditions in the fixed order, observedGeneration set, each
 * lastTransitionTime carried over from `previous` when that condition's status is unchanged, and
 * `hosts` (all provider hosts, for kubectl get) when there are any.
 */
export function nextStatus(previous: LlmGuardPolicyStatus | undefined, generation: number | undefined, inputs: ConditionInput[], now: string, hosts = ''): LlmGuardPolicyStatus {
  const old = new Map((previous?.conditions ?? []).map((c) => [c.type, c]));
  const conditions: Condition[] = [];
  for (const type of CONDITION_ORDER) {
    const input = inputs.find((c) => c.type === type);
    if (!input) continue;
    const prev = old.get(type);
    const lastTransitionTime = prev && prev.status === input.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
    const message = input.message.length > MAX_MESSAGE ? `${input.message.slice(0, MAX_MESSAGE - 3)}...` : input.message;
    const c: Condition = { type, status: input.status, reason: input.reason, message, lastTransitionTime };
    if (generation !== undefined) c.observedGeneration = generation;
    conditions.push(c);
  }
  const status: LlmGuardPolicyStatus = { conditions };
  if (generation !== undefined) status.observedGeneration = generation;
  if (hosts) status.hosts = hosts;
  return status;
}

/** Whether `next` says anything the stored status doesn't (only the fields we own). */
export function statusDiffers(stored: LlmGuardPolicyStatus | undefined, next: LlmGuardPolicyStatus): boolean {
  if ((stored?.observedGeneration ?? undefined) !== next.observedGeneration) return true;
  if ((stored?.hosts ?? '') !== (next.hosts ?? '')) return true;
  const a = stored?.conditions ?? [];
  const b = next.conditions ?? [];
  if (a.length !== b.length) return true;
  return b.some((c) => {
    const o = a.find((x) => x.type === c.type);
    return (
      !o ||
      o.status !== c.status ||
      o.reason !== c.reason ||
      o.message !== c.message ||
      o.lastTransitionTime !== c.lastTransitionTime ||
      (o.observedGeneration ?? undefined) !== c.observedGeneration
    );
  });
}

/** Whether a condition changed status or reason (what deserves an Event). */
export function transitioned(stored: LlmGuardPolicyStatus | undefined, type: ConditionType, next: ConditionInput): boolean {
  const o = stored?.conditions?.find((c) => c.type === type);
  return !o || o.status !== next.status || o.reason !== next.reason;
}
