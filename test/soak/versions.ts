// Policy changes under load, through the path a GitOps rollout takes: kubectl apply of the
// LlmGuardPolicy (and of its key's Secret); the operator renders, istiod translates and pushes,
// pilot-agent hands Envoy the new filter config over ECDS. Each change is timed from the apply to
// istiod's push being ACKed by the sidecar.
import { meshPolicy, secretObject, type Mesh } from '../mesh/mesh_env.js';
import { eventually } from '../kube/operator_env.js';
import { VERSIONS, type Version } from './traffic.js';

export const GUARD_TIMEOUT_MS = 1000;
export const GUARD_CACHE_ENTRIES = 256;

export function policyFor(mesh: Mesh, v: Version): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const spec = VERSIONS[v];
  const policy = meshPolicy(mesh, { denyPatterns: spec.denyPatterns, guard: spec.guard });
  if (spec.guard) {
    Object.assign(policy.spec.intelligentGuard, { timeoutMs: GUARD_TIMEOUT_MS, failMode: 'closed', cache: { maxEntries: GUARD_CACHE_ENTRIES } });
  }
  return policy;
}

export interface Change {
  /** Seconds since the load began. */
  at: number;
  version: Version;
  /** The key the Secret holds after the change. */
  key: string;
  /** From the apply to the new settings in the filter config Envoy runs. */
  inEnvoyMs: number;
}

/**
 * Alternates the policy between versions A and B (and the provider key between `keys`) every
 * `everyMs` until `stop()` resolves its loop.
 */
export class PolicySwitcher {
  readonly changes: Change[] = [];
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly mesh: Mesh,
    /** Whether the filter config Envoy runs now is version v's. */
    private readonly envoyRuns: (v: Version) => Promise<boolean>,
    private readonly keys: [string, string],
    private readonly t0: number,
  ) {}

  start(everyMs: number, first: Version): void {
    this.running = true;
    this.loop = (async () => {
      let version = first;
      let n = 0;
      while (this.running) {
        await new Promise((r) => setTimeout(r, everyMs));
        if (!this.running) break;
        version = version === 'A' ? 'B' : 'A';
        n++;
        const key = this.keys[Math.floor(n / 2) % 2]!;
        const at = (Date.now() - this.t0) / 1000;
        const started = Date.now();
        await this.mesh.apply(secretObject('openai', { key }), policyFor(this.mesh, version));
        await eventually(`version ${version} in Envoy`, () => this.envoyRuns(version), 60_000, 100);
        this.changes.push({ at, version, key, inEnvoyMs: Date.now() - started });
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
