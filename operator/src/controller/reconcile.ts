// One reconcile of one policy: validate, resolve its Secrets, render, apply what drifted, prune
// what it no longer renders, and record the outcome in status conditions and Events. When the
// spec is invalid or a Secret is missing nothing is applied at all (objects applied before stay
// as they are). An unchanged cluster gets no writes: objects whose render hash and content match
// are not applied, and the status is not written when it would not change.
import { API_VERSION, KIND, type LlmGuardPolicy, type LlmGuardPolicyStatus } from '../api/v1alpha1/llm_guard_policy.js';
import type { KeyServiceLocation, RenderedObject } from '../render/index.js';
import { POLICY_LABEL } from '../render/labels.js';
import { ApiError, errorMessage, isNotFound } from '../kube/errors.js';
import type { KubeObject, ObjectApi } from '../kube/objects.js';
import { ENVOY_FILTER, OWNED_TYPES, POLICY, resourceTypeOf } from '../kube/resources.js';
import { nextStatus, nowTimestamp, readyCondition, statusDiffers, type ConditionInput } from './conditions.js';
import { driftReason, withRenderHash } from './drift.js';
import { overlapsOf, type Overlap, type OverlapSubject } from './overlap.js';
import type { EventRecorder, EventTarget } from './events.js';
import type { Logger } from './log.js';
import type { Metrics, ReconcileResult } from './metrics.js';
import { redact } from './redact.js';
import { DEFAULT_RETIRE_AFTER_MS, RETIRED_KINDS, Retirements } from './retirement.js';
import { policyWarnings } from '../validate/index.js';
import { referencedSecretNames, resolveSecrets, type SecretLike } from './secrets.js';
import { pluginConfigOf, renderChecked, type FilterConfigCheck } from './validate.js';

export const FIELD_MANAGER = 'llmguard-operator';
/** The kind of the request hold (render/hold_filter.ts). */
const HOLD_KIND = ENVOY_FILTER.kind;

export interface ReconcilerDeps {
  api: ObjectApi;
  getPolicy: (namespace: string, name: string) => LlmGuardPolicy | undefined;
  /**
   * What a policy owns, from the owned-object informers (one cache instead of a list per kind per
   * reconcile). A stale cache costs at most a needless apply (a no-op for server-side apply) or a
   * retried prune: anything missing is looked up first.
   */
  ownedBy: (namespace: string, policy: string) => KubeObject[];
  /** The cached policies of a namespace, to find the ones that overlap (overlap.ts). */
  listPolicies: (namespace: string) => ReadonlyArray<OverlapSubject>;
  /** Read a Secret (undefined when it doesn't exist). */
  getSecret: (namespace: string, name: string) => Promise<SecretLike | undefined>;
  events: EventRecorder;
  log: Logger;
  metrics: Metrics;
  fieldManager?: string;
  /** The filter's own config check: the real module configured with each rendered pluginConfig. */
  filterCheck: FilterConfigCheck;
  /** Where filters fetch keys (default the llmguard-keys Service). */
  keyService?: KeyServiceLocation;
  /** How long an unwanted ServiceEntry or DestinationRule stays before it is deleted (retirement.ts). */
  retireAfterMs?: number;
}

export interface ReconcileOutcome {
  result: ReconcileResult;
  /** Whether anything was written (objects, status). */
  wrote: boolean;
  /** Reconcile again this much later: objects are retiring (retirement.ts). */
  requeueAfterMs?: number;
}

/** An owned object's name is taken by another controller's object. */
class ConflictError extends Error {}

/** A write of one owned object failed; says which. */
class ObjectWriteError extends Error {
  constructor(
    readonly kind: string,
    readonly objectName: string,
    readonly serverMessage: string,
  ) {
    super(`${kind} ${objectName}: ${serverMessage}`);
  }
}

async function writing<T>(kind: string, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new ObjectWriteError(kind, name, err instanceof ApiError ? err.serverMessage : errorMessage(err));
  }
}

/** Why a failed apply left the policy unprogrammed, as its Programmed reason and message. */
function applyFailure(err: unknown): { reason: string; message: string } {
  if (err instanceof ConflictError) return { reason: 'Conflict', message: err.message };
  if (err instanceof ObjectWriteError && err.kind === HOLD_KIND) {
    // Not Ready, and no bypass meanwhile: a filter already on the proxy refuses inspected requests
    // on a route without the hold (503 hold_not_installed) rather than letting their headers go.
    return { reason: 'HoldNotInstalled', message: `The request hold could not be applied: ${err.message}` };
  }
  if (err instanceof ObjectWriteError) return { reason: 'ApplyFailed', message: err.message };
  return { reason: 'ApplyFailed', message: err instanceof ApiError ? err.serverMessage : errorMessage(err) };
}

interface ProgramSummary {
  total: number;
  applied: string[];
  pruned: string[];
  /** Unwanted objects kept until their grace ends: `ServiceEntry guard-x`. */
  retiring: string[];
  /** When the first of them may go. */
  retireInMs?: number;
  /** Objects changed or deleted by someone else and restored: `WasmPlugin guard: spec.url changed`. */
  reverted: string[];
}

/** The policy's provider hosts for status.hosts, as written, even when the spec is invalid. */
export function providerHosts(policy: LlmGuardPolicy): string {
  const providers: unknown = policy.spec?.providers;
  if (!Array.isArray(providers)) return '';
  return providers
    .map((p: unknown) => (p && typeof p === 'object' && typeof (p as { host?: unknown }).host === 'string' ? (p as { host: string }).host : ''))
    .filter((h) => h.length > 0)
    .join(', ');
}

function listOverlaps(overlaps: Overlap[]): string {
  return overlaps.map((o) => `${o.other} (${o.hosts.join(', ')})`).join(', ');
}

/** The Conflicted condition, and for the policy that loses, why it isn't accepted. */
function overlapConditions(overlaps: Overlap[]): { conflicted: ConditionInput; losing?: ConditionInput } {
  const older = overlaps.filter((o) => !o.wins);
  const newer = overlaps.filter((o) => o.wins);
  const parts: string[] = [];
  if (older.length) parts.push(`Older policies select the same workloads for the same hosts and are programmed instead of this one: ${listOverlaps(older)}.`);
  if (newer.length) parts.push(`Newer policies select the same workloads for the same hosts and are not programmed while this one is: ${listOverlaps(newer)}.`);
  parts.push('Of overlapping policies only the oldest is programmed (creationTimestamp, then name); narrow a selector or drop a host to end the overlap.');
  const conflicted: ConditionInput = { type: 'Conflicted', status: 'True', reason: 'OverlappingPolicy', message: parts.join(' ') };
  if (!older.length) return { conflicted };
  const losing: ConditionInput = {
    type: 'Accepted',
    status: 'False',
    reason: 'Conflicted',
    message: `Overlaps the older ${listOverlaps(older)}: same workloads, same hosts. Only the oldest overlapping policy is programmed.`,
  };
  return { conflicted, losing };
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class Reconciler {
  private readonly fieldManager: string;
  /** The status we last wrote per policy, and the resourceVersion it was based on (cache lag). */
  private readonly written = new Map<string, { basedOn: string | undefined; uid: string | undefined; status: LlmGuardPolicyStatus }>();

  private readonly retirements: Retirements;

  constructor(private readonly deps: ReconcilerDeps) {
    this.fieldManager = deps.fieldManager ?? FIELD_MANAGER;
    this.retirements = new Retirements(deps.retireAfterMs ?? DEFAULT_RETIRE_AFTER_MS);
  }

  forget(key: string): void {
    this.written.delete(key);
    this.retirements.forgetAll(`${key}/`);
  }

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const { namespace, name } = splitKey(key);
    const cached = this.deps.getPolicy(namespace, name);
    const log = this.deps.log.child({ policy: key });
    if (!cached) {
      // Deleted: the garbage collector removes what it owned (owner references).
      this.forget(key);
      log.debug('policy not found; nothing to do');
      return { result: 'success', wrote: false };
    }
    if ((cached.metadata as { deletionTimestamp?: string }).deletionTimestamp) {
      log.debug('policy is being deleted; nothing to do');
      return { result: 'success', wrote: false };
    }
    const policy: LlmGuardPolicy = { ...cached, apiVersion: API_VERSION, kind: KIND };
    const target: EventTarget = { apiVersion: API_VERSION, kind: KIND, metadata: policy.metadata };
    const generation = policy.metadata.generation;

    // ResolvedRefs: every Secret key present.
    let names: string[] = [];
    try {
      names = referencedSecretNames(policy);
    } catch {
      // A malformed spec; validation reports it.
    }
    const fetched = new Map<string, SecretLike | undefined>();
    try {
      for (const n of names) fetched.set(n, await this.deps.getSecret(namespace, n));
    } catch (err) {
      log.error('reading Secrets failed', { error: errorMessage(err) });
      return { result: 'error', wrote: false };
    }
    let resolvedRefs: ConditionInput;
    let secretValues: string[] = [];
    try {
      const res = resolveSecrets(policy, (_ns, n) => fetched.get(n));
      secretValues = [...res.values.values()];
      if (res.unresolved.length) {
        const reason = res.unresolved.find((u) => u.reason === 'SecretNotFound')?.reason ?? res.unresolved[0]!.reason;
        resolvedRefs = { type: 'ResolvedRefs', status: 'False', reason, message: res.unresolved.map((u) => u.message).join('; ') };
      } else {
        resolvedRefs = { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: `All ${res.total} Secret references resolved.` };
      }
    } catch (err) {
      resolvedRefs = { type: 'ResolvedRefs', status: 'False', reason: 'InvalidSpec', message: `cannot read Secret references: ${errorMessage(err)}` };
    }

    // Accepted: render-time validity, then the filter's own config check,
    // both on the one rendering this reconcile makes. It holds no key (docs/key-custody.md).
    let accepted: ConditionInput;
    const rendering = renderChecked(policy, this.deps.keyService);
    if (rendering.problems.length || !rendering.objects) {
      accepted = { type: 'Accepted', status: 'False', reason: 'InvalidSpec', message: rendering.problems.join('; ') };
    } else {
      let refusal: string | undefined;
      try {
        refusal = await this.deps.filterCheck.check(pluginConfigOf(rendering.objects));
      } catch (err) {
        refusal = `the filter check failed: ${errorMessage(err)}`;
      }
      accepted = refusal
        ? { type: 'Accepted', status: 'False', reason: 'FilterRejectedConfig', message: `The filter refuses the rendered pluginConfig: ${redact(refusal, secretValues)}` }
        : { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'The spec is valid.' };
    }

    // Overlapping policies (same workloads, same host): only the oldest is programmed.
    let conflicted: ConditionInput | undefined;
    let losing = false;
    if (accepted.status === 'True') {
      const overlaps = overlapsOf(policy as OverlapSubject, this.deps.listPolicies(namespace));
      if (overlaps.length) {
        const c = overlapConditions(overlaps);
        conflicted = c.conflicted;
        if (c.losing) {
          accepted = c.losing;
          losing = true;
        }
      }
    }

    // Warnings for a blocked policy go out when its condition changes, not on every reconcile
    // (nor after a restart, when the stored status already says it).
    const stored = this.storedStatus(key, policy);
    const changed = (c: ConditionInput) => {
      const o = stored?.conditions?.find((x) => x.type === c.type);
      return !o || o.status !== c.status || o.reason !== c.reason || o.message !== c.message;
    };

    // Guarded: settings that are valid but weaken the guard (the ones llmguard validate warns
    // about), in the status and, when they change, in a Warning event. Ready doesn't depend on it.
    let guarded: ConditionInput | undefined;
    if (conflicted && changed(conflicted)) await this.deps.events.record(target, 'Warning', conflicted.reason, conflicted.message);
    if (accepted.status === 'True') {
      const weakening = policyWarnings(policy);
      guarded = weakening.length
        ? { type: 'Guarded', status: 'False', reason: 'WeakeningSettings', message: weakening.join('; ') }
        : { type: 'Guarded', status: 'True', reason: 'Guarded', message: 'No setting weakens the guard.' };
      if (guarded.status === 'False' && changed(guarded)) await this.deps.events.record(target, 'Warning', guarded.reason, guarded.message);
    }

    // Programmed: all objects applied, or why nothing was.
    let programmed: ConditionInput;
    let result: ReconcileResult;
    let summary: ProgramSummary | undefined;
    let wrote = false;
    if (losing) {
      // Two filters on one request must not happen: what this policy programmed before goes.
      result = 'blocked';
      try {
        summary = await this.program(policy, [], log, false, false);
        wrote = summary.pruned.length > 0;
        programmed = { type: 'Programmed', status: 'False', reason: 'Conflicted', message: 'Nothing programmed while an older policy overlaps it: what it had programmed is removed.' };
        if (summary.pruned.length) {
          log.warn('overlapped by an older policy; objects removed', { pruned: summary.pruned });
          await this.deps.events.record(target, 'Warning', 'Conflicted', `Removed while an older policy overlaps this one: ${summary.pruned.join(', ')}`);
        }
      } catch (err) {
        result = 'error';
        const failure = applyFailure(err);
        programmed = { type: 'Programmed', status: 'False', reason: failure.reason, message: redact(failure.message, secretValues) };
        log.error('removing the objects of an overlapped policy failed', { error: programmed.message });
      }
    } else if (accepted.status !== 'True') {
      result = 'blocked';
      programmed = { type: 'Programmed', status: 'False', reason: accepted.reason, message: 'Nothing applied: the spec is invalid. Objects applied before are left as they are.' };
      log.warn('invalid spec; nothing applied', { reason: accepted.reason, detail: accepted.message });
      if (changed(accepted)) await this.deps.events.record(target, 'Warning', accepted.reason, accepted.message);
    } else {
      // Applied even while a Secret reference is unresolved: the rendering holds no key, and the
      // filter refuses requests to a provider whose key the key service can't give (fail closed).
      if (resolvedRefs.status !== 'True') {
        log.warn('unresolved Secret references: requests to the providers concerned are refused', { reason: resolvedRefs.reason, detail: resolvedRefs.message });
        if (changed(resolvedRefs)) await this.deps.events.record(target, 'Warning', resolvedRefs.reason, resolvedRefs.message);
      }
      try {
        // Programmed at this generation already: a missing object was deleted by someone else.
        const storedProgrammed = stored?.conditions?.find((c) => c.type === 'Programmed');
        const programmedBefore = storedProgrammed?.status === 'True' && stored?.observedGeneration === generation;
        summary = await this.program(policy, rendering.objects!, log, programmedBefore, true);
        wrote = summary.applied.length + summary.pruned.length > 0;
        result = 'success';
        programmed = { type: 'Programmed', status: 'True', reason: 'Programmed', message: `All ${summary.total} objects applied.` };
        if (wrote) {
          const parts: string[] = [];
          if (summary.applied.length) parts.push(`applied ${summary.applied.join(', ')}`);
          if (summary.pruned.length) parts.push(`pruned ${summary.pruned.join(', ')}`);
          const msg = `Programmed: ${parts.join('; ')}`;
          log.info('programmed', { applied: summary.applied, pruned: summary.pruned, generation });
          await this.deps.events.record(target, 'Normal', 'Programmed', msg);
        }
        if (summary.retiring.length) log.info('retiring objects the policy no longer wants', { retiring: summary.retiring, deleteInMs: summary.retireInMs });
        if (summary.reverted.length) {
          const msg = `Restored what was changed by hand: ${summary.reverted.join('; ')}`;
          log.warn('drift reverted', { reverted: summary.reverted });
          await this.deps.events.record(target, 'Warning', 'DriftReverted', msg);
        }
      } catch (err) {
        result = 'error';
        const failure = applyFailure(err);
        const reason = failure.reason;
        const msg = redact(failure.message, secretValues);
        programmed = { type: 'Programmed', status: 'False', reason, message: msg };
        log.error('apply failed', { reason, error: msg });
        await this.deps.events.record(target, 'Warning', reason, msg);
      }
    }

    // Status, only when it changes.
    const ready = readyCondition([accepted, resolvedRefs, programmed]);
    const inputs = [accepted, resolvedRefs, programmed, guarded, conflicted, ready].filter((c): c is ConditionInput => c !== undefined);
    const next = nextStatus(stored, generation, inputs, nowTimestamp(), providerHosts(policy));
    if (statusDiffers(stored, next)) {
      try {
        const updated = await this.deps.api.patchStatus<KubeObject>(POLICY, namespace, name, next, this.fieldManager);
        this.deps.metrics.statusWrites.inc();
        wrote = true;
        this.written.set(key, { basedOn: policy.metadata.resourceVersion, uid: policy.metadata.uid, status: next });
        log.info('status updated', {
          generation,
          resourceVersion: updated?.metadata?.resourceVersion,
          ready: ready.status,
          reason: ready.reason,
        });
      } catch (err) {
        if (isNotFound(err)) return { result: 'success', wrote };
        log.error('status update failed', { error: redact(errorMessage(err), secretValues) });
        return { result: 'error', wrote };
      }
    }
    return summary?.retireInMs !== undefined && result === 'success' ? { result, wrote, requeueAfterMs: summary.retireInMs } : { result, wrote };
  }

  /** The stored status: the cache's, unless the cache hasn't yet seen our last write. */
  private storedStatus(key: string, policy: LlmGuardPolicy): LlmGuardPolicyStatus | undefined {
    const w = this.written.get(key);
    if (w && w.uid === policy.metadata.uid && w.basedOn === policy.metadata.resourceVersion) return w.status;
    return policy.status;
  }

  /**
   * Applies what drifted and removes what the policy no longer wants: at once when `retire` is
   * false (an overlapped policy must stop filtering now), else routes and clusters after their grace.
   */
  private async program(policy: LlmGuardPolicy, rendered: RenderedObject[], log: Logger, programmedBefore: boolean, retire: boolean): Promise<ProgramSummary> {
    const { namespace, name, uid } = policy.metadata;
    const desired = rendered.map(withRenderHash);
    const id = (kind: string, n: string) => `${kind}/${n}`;

    // What this policy owns now.
    const live = new Map<string, KubeObject>();
    for (const item of this.deps.ownedBy(namespace, name)) {
      if (item.metadata?.name && item.kind) live.set(id(item.kind, item.metadata.name), item);
    }

    // Objects we would create must not be someone else's: check all before writing any. Ours is
    // what a policy of this name controls (a policy deleted and made again adopts its objects);
    // anything else, owned by another controller or by no one (made by hand, by another tool), is
    // left as it is.
    const absent = desired.filter((d) => !live.has(id(d.kind, d.metadata.name)));
    const found = await Promise.all(absent.map((d) => this.deps.api.get<KubeObject>(resourceTypeOf(d.apiVersion, d.kind), namespace, d.metadata.name)));
    for (const [i, d] of absent.entries()) {
      const existing = found[i];
      if (!existing) continue;
      const owner = existing.metadata?.ownerReferences?.find((r) => r.controller);
      if (!owner) {
        throw new ConflictError(`${d.kind} "${d.metadata.name}" already exists and no controller owns it: it is left as it is (delete or rename it)`);
      }
      if (owner.uid !== uid && !(owner.kind === KIND && owner.name === name)) {
        throw new ConflictError(`${d.kind} "${d.metadata.name}" already exists, controlled by ${owner.kind} "${owner.name}"`);
      }
      live.set(id(d.kind, d.metadata.name), existing);
    }

    const applied: string[] = [];
    const reverted: string[] = [];
    const wanted = new Set(desired.map((d) => id(d.kind, d.metadata.name)));
    // A kind with an object to prune and one missing: renamed (an operator upgrade), not deleted.
    const renamedKinds = new Set([...live.keys()].filter((k) => !wanted.has(k)).map((k) => k.slice(0, k.indexOf('/'))));
    const drifted = desired.flatMap((d) => {
      const why = driftReason(d, live.get(id(d.kind, d.metadata.name)));
      return why ? [{ d, why }] : [];
    });
    for (const { d, why } of drifted) {
      // Our rendering unchanged but the object not as we left it: someone else's edit or delete.
      const byHand = why !== 'rendering changed' && why !== 'being deleted' && (why !== 'missing' || (programmedBefore && !renamedKinds.has(d.kind)));
      if (byHand) reverted.push(`${d.kind} ${d.metadata.name}: ${why}`);
    }
    const apply = async ({ d, why }: { d: RenderedObject; why: string }) => {
      await writing(d.kind, d.metadata.name, () => this.deps.api.apply(d as unknown as KubeObject, this.fieldManager, true));
      this.deps.metrics.objectWrites.inc({ kind: d.kind, operation: 'apply' });
      log.debug('applied', { kind: d.kind, name: d.metadata.name, why });
    };
    // The WasmPlugin first: if it can't be applied, nothing routes the hosts around the filter.
    // The rest at once (one round trip instead of one per object).
    const [filters, rest] = [drifted.filter((x) => x.d.kind === 'WasmPlugin'), drifted.filter((x) => x.d.kind !== 'WasmPlugin')];
    for (const x of filters) await apply(x);
    const outcomes = await Promise.allSettled(rest.map(apply));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    for (const { d } of drifted) applied.push(`${d.kind} ${d.metadata.name}`);

    const pruned: string[] = [];
    const retiring: string[] = [];
    let retireInMs: number | undefined;
    // Under the policy's key (`<ns>/<policy>/`), so forget(key) drops them with the policy.
    const retirementId = (obj: KubeObject) => `${namespace}/${name}/${obj.kind}/${obj.metadata?.name ?? ''}/${obj.metadata?.uid ?? ''}`;
    for (const [k, obj] of live) if (wanted.has(k)) this.retirements.forget(retirementId(obj));
    for (const rt of OWNED_TYPES) {
      for (const [k, obj] of live) {
        if (!k.startsWith(`${rt.kind}/`) || wanted.has(k)) continue;
        const m = obj.metadata ?? {};
        if (m.labels?.[POLICY_LABEL] !== name || m.deletionTimestamp) continue;
        const n = m.name ?? '';
        if (retire && RETIRED_KINDS.has(rt.kind)) {
          const left = this.retirements.remainingMs(retirementId(obj));
          if (left > 0) {
            retiring.push(`${rt.kind} ${n}`);
            retireInMs = Math.min(retireInMs ?? left, left);
            continue;
          }
        }
        this.retirements.forget(retirementId(obj));
        await this.deps.api.delete(rt, namespace, n, { uid: m.uid, resourceVersion: m.resourceVersion });
        this.deps.metrics.objectWrites.inc({ kind: rt.kind, operation: 'prune' });
        log.debug('pruned', { kind: rt.kind, name: n });
        pruned.push(`${rt.kind} ${n}`);
      }
    }
    return { total: desired.length, applied, pruned, retiring, retireInMs, reverted };
  }
}
