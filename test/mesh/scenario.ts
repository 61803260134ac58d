// What every mesh scenario does: wait for the operator and istiod to be done, talk to the proxy
// as an app would, and check what reached the provider.
import { expect } from 'vitest';
import { chatBody, send, splitBytes, type Reply } from '../../operator/src/localmesh/http_client.js';
import { kubectl } from '../kube/control_plane.js';
import { eventually } from '../kube/operator_env.js';
import { NS, PROVIDER_HOST, PROVIDER_PORT, type Mesh } from './mesh_env.js';
import { syncStatus } from './proxy_state.js';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Scenario {
  policy(name?: string): Promise<Any>;
  /** The policy Ready for its current generation. */
  waitReady(name?: string): Promise<void>;
  /** istiod sent the proxy everything and Envoy ACKed all of it. */
  waitSynced(): Promise<void>;
  /** A chat request for the provider, plain HTTP without a key, to the proxy's listener. */
  ask(text: string): Promise<Reply>;
  /** The same, its body trickling in: the headers reach the proxy ~1 s before the body ends. */
  askSlowly(text: string): Promise<Reply>;
  /** Nothing at all reached the provider while `fn` ran: no request, not even a header block, no byte. */
  expectNothingReachesProvider(fn: () => Promise<void>): Promise<void>;
}

/** `proxy` as istiod's /debug/syncz names it (`<pod>.<namespace>`). */
export function scenario(mesh: Mesh, proxy: string): Scenario {
  const policy = async (name = 'chat') => JSON.parse((await kubectl(mesh.cp, ['get', 'lgp', '-n', NS, name, '-o', 'json'])).stdout);
  return {
    policy,
    waitReady: async (name = 'chat') => {
      await eventually(`policy ${name} Ready for its generation`, async () => {
        const p = await policy(name);
        const ready = (p.status?.conditions ?? []).find((c: Any) => c.type === 'Ready');
        return ready?.status === 'True' && ready.observedGeneration === p.metadata.generation;
      }, 60_000, 250);
    },
    waitSynced: async () => {
      await eventually(`${proxy} in sync with istiod`, async () => {
        const s = await syncStatus(mesh.istiod, proxy);
        return s !== undefined && s.unacked.length === 0 && s.types.length > 0;
      }, 60_000, 250);
    },
    ask: (text) => send({ port: PROVIDER_PORT, host: PROVIDER_HOST, json: chatBody(text) }),
    askSlowly: (text) => {
      const raw = JSON.stringify(chatBody(`${'padding '.repeat(40)}${text}`));
      return send({ port: PROVIDER_PORT, host: PROVIDER_HOST, chunks: splitBytes(raw, 48), chunkDelayMs: 150, headers: { 'content-type': 'application/json' } });
    },
    expectNothingReachesProvider: async (fn) => {
      await mesh.provider.settle();
      mesh.provider.reset();
      const bytes = mesh.provider.bytesReceived();
      await fn();
      await mesh.provider.settle();
      expect(mesh.provider.requests.map((r) => `${r.method} ${r.host}${r.path} complete=${r.complete}`)).toEqual([]);
      expect(mesh.provider.bytesReceived()).toBe(bytes);
    },
  };
}

/** The OpenAI-style error code of a reply (`denied_by_pattern`...). */
export function errorCode(r: Reply): string | undefined {
  try {
    return (JSON.parse(r.text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}
