// The control plane the operator's integration tests run against: a real etcd and a real
// kube-apiserver (no fakes), Istio's real CRDs, and the built kubectl. Needs `make kube-tools`.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ADMIN_USER,
  ISTIO_CRDS,
  installIstioCrds,
  kubectl,
  processAlive,
  startControlPlane,
  type ControlPlane,
} from './control_plane.js';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

const NS = 'guard-system';

const wasmPlugin = (name: string): string => `
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  selector:
    matchLabels:
      app: egress-gateway
  url: oci://registry.example.internal/llm-guard:0.1.0
  imagePullPolicy: IfNotPresent
  phase: AUTHZ
  priority: 10
  failStrategy: FAIL_CLOSE
  pluginConfig:
    guard_cluster: outbound|443||guard.example.internal
    providers:
      - host: api.openai.com
`;

const serviceEntry = (name: string, resolution: string): string => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  hosts: [api.openai.com]
  location: MESH_EXTERNAL
  ports:
    - number: 443
      name: tls
      protocol: TLS
  resolution: ${resolution}
`;

const destinationRule = (name: string): string => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  host: api.openai.com
  trafficPolicy:
    tls:
      mode: SIMPLE
      sni: api.openai.com
`;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('real kube-apiserver + etcd', () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await startControlPlane();
    await installIstioCrds(cp);
  });

  afterAll(async () => {
    await cp?.stop();
  });

  it('serves the admin user a real server version over the pinned CA', async () => {
    const v = await kubectl(cp, ['version', '-o', 'json']);
    const info = JSON.parse(v.stdout) as { serverVersion?: { gitVersion?: string } };
    expect(info.serverVersion?.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    const who = await kubectl(cp, ['auth', 'whoami', '-o', 'json']);
    const status = JSON.parse(who.stdout) as { status: { userInfo: { username: string; groups: string[] } } };
    expect(status.status.userInfo.username).toBe(ADMIN_USER);
    expect(status.status.userInfo.groups).toContain('system:masters');
  });

  it('installs the Istio CRDs as Established', async () => {
    const r = await kubectl(cp, ['get', 'crd', ...ISTIO_CRDS, '-o', 'json']);
    const list = JSON.parse(r.stdout) as {
      items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[];
    };
    expect(list.items.map((i) => i.metadata.name).sort()).toEqual([...ISTIO_CRDS].sort());
    for (const crd of list.items) {
      expect(crd.status.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
    }
  });

  it('creates a namespace and a ConfigMap', async () => {
    await kubectl(cp, ['create', 'namespace', NS]);
    await kubectl(cp, ['-n', NS, 'create', 'configmap', 'guard-config', '--from-literal=mode=enforce']);
    const r = await kubectl(cp, ['-n', NS, 'get', 'configmap', 'guard-config', '-o', 'jsonpath={.data.mode}']);
    expect(r.stdout).toBe('enforce');
  });

  it('accepts a WasmPlugin, a ServiceEntry and a DestinationRule (apply --dry-run=server)', async () => {
    const manifest = [wasmPlugin('llm-guard'), serviceEntry('openai', 'DNS'), destinationRule('openai')].join('\n---\n');
    const r = await kubectl(cp, ['apply', '--dry-run=server', '-f', '-'], { input: manifest });
    expect(r.stdout).toContain('wasmplugin.extensions.istio.io/llm-guard created (server dry run)');
    expect(r.stdout).toContain('serviceentry.networking.istio.io/openai created (server dry run)');
    expect(r.stdout).toContain('destinationrule.networking.istio.io/openai created (server dry run)');
    // A dry run persists nothing.
    const list = await kubectl(cp, ['-n', NS, 'get', 'wasmplugins,serviceentries,destinationrules', '-o', 'name']);
    expect(list.stdout.trim()).toBe('');
  });

  it('rejects a ServiceEntry whose resolution is not in the enum', async () => {
    const r = await kubectl(cp, ['apply', '--dry-run=server', '-f', '-'], {
      input: serviceEntry('bad', 'SOMETIMES'),
      allowFailure: true,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.resolution/);
    expect(r.stderr).toMatch(/SOMETIMES/);
  });

  it('enforces RBAC for users outside system:masters', async () => {
    const r = await kubectl(cp, ['auth', 'can-i', 'create', 'wasmplugins.extensions.istio.io', '-n', NS, '--as=nobody'], {
      allowFailure: true,
    });
    expect(r.stdout.trim()).toBe('no');
  });
});

describe('stop()', () => {
  it('leaves no process, port or temp folder behind', async () => {
    const cp = await startControlPlane({ keepTmpDir: false });
    const apiPort = Number(new URL(cp.server).port);
    const etcdPort = Number(new URL(cp.etcdUrl).port);
    expect(processAlive(cp.pids.apiserver)).toBe(true);
    expect(processAlive(cp.pids.etcd)).toBe(true);
    await cp.stop();
    await cp.stop(); // idempotent
    expect(processAlive(cp.pids.apiserver)).toBe(false);
    expect(processAlive(cp.pids.etcd)).toBe(false);
    expect(await portOpen(apiPort)).toBe(false);
    expect(await portOpen(etcdPort)).toBe(false);
    expect(existsSync(cp.tmpDir)).toBe(false);
    expect(cp.logs()).toContain('----- kube-apiserver -----');
  });
});

describe('startControlPlane failures', () => {
  it('throws with the tail of the failing process log', async () => {
    await expect(startControlPlane({ apiserverArgs: ['--no-such-flag=1'] })).rejects.toThrow(
      /kube-apiserver exited[\s\S]*unknown flag: --no-such-flag/,
    );
  });
});
