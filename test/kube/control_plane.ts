// A real Kubernetes control plane for the operator's integration tests: etcd + kube-apiserver,
// both the real binaries that `make kube-tools` (tools/kube/install.sh) puts in .tools/kube/bin.
// No scheduler runs, and kube-controller-manager only on request (`controllerManager`, then with
// the garbage collector and the namespace controller alone): by default there is NO garbage
// collector, no namespace controller (deleted namespaces stay Terminating), no default
// ServiceAccount per namespace and no Pods for Deployments: tests see exactly what the operator
// itself writes.
//
// Each control plane gets its own temp folder (etcd data, serving certs, token file,
// service-account keys, kubeconfig, logs) and free loopback ports, so test files may run in
// parallel. A start failure throws with the tail of each process's log: tests fail, never skip.

import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOG_TAIL_LINES, ManagedProcess, distinctFreePorts, httpGet, waitFor } from './processes.js';

export { freePort } from './processes.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where tools/kube/install.sh puts etcd, kube-apiserver and kubectl (override: KUBE_TOOLS_BIN). */
export const KUBE_BIN_DIR = process.env.KUBE_TOOLS_BIN ?? join(REPO_ROOT, '.tools', 'kube', 'bin');
/** Istio release whose CRDs installIstioCrds applies (override: ISTIO_API_VERSION). */
export const ISTIO_API_VERSION = process.env.ISTIO_API_VERSION ?? 'v1.29.2';

export const ADMIN_USER = 'test-admin';
export const ADMIN_GROUP = 'system:masters';

export interface ControlPlaneOptions {
  /** Extra kube-apiserver flags, appended last (so they win over the defaults). */
  apiserverArgs?: string[];
  /** Admission plugins to turn off. Default: ServiceAccount (nothing creates the `default` SA). */
  disableAdmissionPlugins?: string[];
  /** How long to wait for etcd health and apiserver /readyz together. Default 180 s. */
  readyTimeoutMs?: number;
  /** Keep the temp folder after stop() (also: KUBE_KEEP_TMP=1), for post-mortems. */
  keepTmpDir?: boolean;
  /**
   * Also run kube-controller-manager with the garbage collector (owned objects go with their
   * owner) and the namespace controller. Default false.
   */
  controllerManager?: boolean;
}

export interface ControlPlane {
  /** A kubeconfig (token auth, CA pinned) for the admin user; current-context is set. */
  kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  server: string;
  /** Bearer token of ADMIN_USER (group system:masters). */
  token: string;
  /** PEM bundle that verifies the apiserver's serving cert (for Node HTTPS clients). */
  caPem: string;
  /** http://127.0.0.1:PORT of etcd (plain HTTP, loopback only). */
  etcdUrl: string;
  /** The control plane's temp folder. */
  tmpDir: string;
  /** Process ids, so tests can check nothing is left behind. */
  pids: { etcd: number; apiserver: number; controllerManager?: number };
  /** Stops kube-apiserver, then etcd (SIGTERM, SIGKILL after 10 s), and removes tmpDir. Idempotent. */
  stop(): Promise<void>;
  /** Everything both processes logged so far. */
  logs(): string;
}

function binPath(name: string): string {
  const p = join(KUBE_BIN_DIR, name);
  if (!existsSync(p)) {
    throw new Error(
      `${p} is missing: run \`make kube-tools\` (tools/kube/install.sh) to build etcd, kube-apiserver and kubectl`,
    );
  }
  return p;
}

function startFailure(cause: Error, procs: ManagedProcess[], keptTmp: string | undefined): Error {
  const sections = procs.map(
    (p) => `----- ${p.describeExit()}; last ${LOG_TAIL_LINES} log lines -----\n${p.tail() || '(no output)'}`,
  );
  const where = keptTmp ? `logs and data kept in ${keptTmp}` : 'set KUBE_KEEP_TMP=1 to keep logs and data';
  return new Error(`control plane failed to start: ${cause.message}\n(${where})\n${sections.join('\n')}`, { cause });
}

/**
 * Starts etcd + kube-apiserver and waits until the apiserver is ready. A port taken between
 * picking it and binding it (parallel test files) is retried with new ports, twice.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (e) {
      if (attempt >= 3 || !/address already in use/.test((e as Error).message)) throw e;
    }
  }
}

async function startOnce(options: ControlPlaneOptions): Promise<ControlPlane> {
  const etcdBin = binPath('etcd');
  const apiserverBin = binPath('kube-apiserver');

  const tmp = await mkdtemp(join(tmpdir(), 'kube-cp-'));
  const certDir = join(tmp, 'certs');
  const etcdDir = join(tmp, 'etcd');
  await mkdir(certDir, { mode: 0o700 });
  await mkdir(etcdDir, { mode: 0o700 });

  // Static token for an admin in system:masters (bound to cluster-admin by RBAC bootstrap).
  const token = randomBytes(24).toString('hex');
  const tokenFile = join(tmp, 'tokens.csv');
  await writeFile(tokenFile, `${token},${ADMIN_USER},uid-${ADMIN_USER},"${ADMIN_GROUP}"\n`, { mode: 0o600 });

  // Service-account token signing keys: recent apiservers refuse to start without them.
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(tmp, 'sa.key');
  const saPub = join(tmp, 'sa.pub');
  await writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));

  const ports = await distinctFreePorts(3);
  const [etcdClientPort, etcdPeerPort, apiPort] = [ports[0]!, ports[1]!, ports[2]!];
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  const server = `https://127.0.0.1:${apiPort}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  const deadline = Date.now() + readyTimeoutMs;
  const procs: ManagedProcess[] = [];
  const keep = options.keepTmpDir ?? process.env.KUBE_KEEP_TMP === '1';

  const etcd = new ManagedProcess(
    'etcd',
    etcdBin,
    [
      '--name=kube-test',
      `--data-dir=${etcdDir}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${etcdPeerUrl}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl}`,
      `--initial-cluster=kube-test=${etcdPeerUrl}`,
      '--initial-cluster-state=new',
      // Throw-away data: don't pay for fsync on a shared, busy disk (etcd >= 3.5 has the flag).
      ...(etcdSupportsNoFsync(etcdBin) ? ['--unsafe-no-fsync=true'] : []),
      '--log-level=warn',
    ],
    join(tmp, 'etcd.log'),
    tmp,
  );
  procs.push(etcd);

  let apiserver: ManagedProcess | undefined;
  let caPem = '';
  try {
    await waitFor('etcd /health', deadline, procs, async () => {
      const r = await httpGet(`${etcdUrl}/health`);
      return r.status === 200 && /"health"\s*:\s*"true"/.test(r.body);
    });

    const disabled = options.disableAdmissionPlugins ?? ['ServiceAccount'];
    apiserver = new ManagedProcess(
      'kube-apiserver',
      apiserverBin,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        // No --tls-cert-file: the apiserver generates a self-signed CA + serving cert for
        // 127.0.0.1/localhost into --cert-dir (apiserver.crt holds the cert and its CA).
        `--cert-dir=${certDir}`,
        `--token-auth-file=${tokenFile}`,
        '--authorization-mode=RBAC',
        `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--service-cluster-ip-range=10.96.0.0/24',
        // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints reject
        // (loopback); nothing routes to it here anyway.
        '--endpoint-reconciler-type=none',
        ...(disabled.length ? [`--disable-admission-plugins=${disabled.join(',')}`] : []),
        '--profiling=false',
        '--v=1',
        ...(options.apiserverArgs ?? []),
      ],
      join(tmp, 'kube-apiserver.log'),
      tmp,
    );
    procs.push(apiserver);

    // /readyz turns 200 only after every post-start hook ran (RBAC bootstrap roles included).
    await waitFor('kube-apiserver /readyz', deadline, procs, async () => {
      const r = await httpGet(`${server}/readyz`, { token, insecure: true });
      return r.status === 200 && r.body.trim() === 'ok';
    });
    caPem = await readFile(join(certDir, 'apiserver.crt'), 'utf8');
    // Now check the pinned CA and the token for real.
    const check = await httpGet(`${server}/api/v1/namespaces/default`, { token, ca: caPem });
    if (check.status !== 200) {
      throw new Error(`GET /api/v1/namespaces/default as ${ADMIN_USER} answered ${check.status}: ${check.body}`);
    }
  } catch (e) {
    await Promise.all(procs.map((p) => p.stop(2_000)));
    const err = startFailure(e as Error, procs, keep ? tmp : undefined);
    if (!keep) await rm(tmp, { recursive: true, force: true });
    throw err;
  }

  const kubeconfigPath = join(tmp, 'kubeconfig');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'kube-test',
        cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
      },
    ],
    users: [{ name: ADMIN_USER, user: { token } }],
    contexts: [{ name: 'kube-test', context: { cluster: 'kube-test', user: ADMIN_USER, namespace: 'default' } }],
    'current-context': 'kube-test',
    preferences: {},
  };
  // JSON is YAML: kubectl and @kubernetes/client-node read it as is.
  await writeFile(kubeconfigPath, JSON.stringify(kubeconfig, null, 2), { mode: 0o600 });

  let controllerManager: ManagedProcess | undefined;
  if (options.controllerManager) {
    controllerManager = new ManagedProcess(
      'kube-controller-manager',
      binPath('kube-controller-manager'),
      [
        `--kubeconfig=${kubeconfigPath}`,
        '--controllers=garbage-collector-controller,namespace-controller',
        '--leader-elect=false',
        '--secure-port=0',
        '--v=1',
      ],
      join(tmp, 'kube-controller-manager.log'),
      tmp,
    );
    procs.push(controllerManager);
  }

  const api = apiserver;
  let stopping: Promise<void> | undefined;
  return {
    kubeconfigPath,
    server,
    token,
    caPem,
    etcdUrl,
    tmpDir: tmp,
    pids: { etcd: etcd.pid, apiserver: api.pid, ...(controllerManager ? { controllerManager: controllerManager.pid } : {}) },
    logs: () => procs.map((p) => `----- ${p.name} -----\n${p.logs()}`).join('\n'),
    stop: () => {
      stopping ??= (async () => {
        await controllerManager?.stop();
        await api.stop();
        await etcd.stop();
        if (!keep) await rm(tmp, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

const noFsyncSupport = new Map<string, boolean>();
function etcdSupportsNoFsync(bin: string): boolean {
  let ok = noFsyncSupport.get(bin);
  if (ok === undefined) {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    const m = /etcd Version: (\d+)\.(\d+)/.exec(out);
    ok = m !== null && (Number(m[1]) > 3 || (Number(m[1]) === 3 && Number(m[2]) >= 5));
    noFsyncSupport.set(bin, ok);
  }
  return ok;
}


export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built kubectl against `cp`. Rejects on a non-zero exit unless `allowFailure` is set,
 * with kubectl's stderr in the message. `input` goes to stdin (use `-f -`).
 */
export function kubectl(
  cp: Pick<ControlPlane, 'kubeconfigPath'>,
  args: string[],
  opts: { input?: string; allowFailure?: boolean; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  const bin = binPath('kubectl');
  return new Promise((resolveRun, reject) => {
    const child = execFile(
      bin,
      [`--kubeconfig=${cp.kubeconfigPath}`, ...args],
      { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: '' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        const result = { code, stdout, stderr };
        if (code !== 0 && !opts.allowFailure) {
          reject(new Error(`kubectl ${args.join(' ')} exited ${code}:\n${stderr || stdout || err?.message}`));
        } else {
          resolveRun(result);
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** The Istio CRD kinds the operator writes; installIstioCrds waits until each is Established. */
export const ISTIO_CRDS = [
  'wasmplugins.extensions.istio.io',
  'serviceentries.networking.istio.io',
  'destinationrules.networking.istio.io',
  'envoyfilters.networking.istio.io',
] as const;

let istioCrdFile: Promise<string> | undefined;

/**
 * Path of Istio's CRD bundle (kubernetes/customresourcedefinitions.gen.yaml of istio.io/api at
 * ISTIO_API_VERSION), fetched through the Go module proxy into the Go module cache at test
 * time (cached after the first run; nothing is committed).
 */
export function istioCrdPath(version = ISTIO_API_VERSION): Promise<string> {
  if (version === ISTIO_API_VERSION && istioCrdFile) return istioCrdFile;
  const p = new Promise<string>((resolvePath, reject) => {
    execFile(
      'go',
      ['mod', 'download', '-json', `istio.io/api@${version}`],
      // Outside any module, so no go.mod is consulted or changed.
      { cwd: tmpdir(), timeout: 300_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, GOFLAGS: '-mod=mod' } },
      (err, stdout, stderr) => {
        let info: { Dir?: string; Error?: string } = {};
        try {
          info = JSON.parse(stdout) as typeof info;
        } catch {
          /* reported below */
        }
        if (err || !info.Dir) {
          reject(
            new Error(
              `go mod download -json istio.io/api@${version} failed: ${info.Error ?? ''}\n${stderr}${err ? `\n${err.message}` : ''}`,
            ),
          );
          return;
        }
        const file = join(info.Dir, 'kubernetes', 'customresourcedefinitions.gen.yaml');
        if (!existsSync(file)) reject(new Error(`${file} not found in istio.io/api@${version}`));
        else resolvePath(file);
      },
    );
  });
  if (version === ISTIO_API_VERSION) {
    istioCrdFile = p;
    p.catch(() => (istioCrdFile = undefined));
  }
  return p;
}

/** Applies Istio's CRDs (server-side) and waits until the ones in ISTIO_CRDS are Established. */
export async function installIstioCrds(cp: ControlPlane, version = ISTIO_API_VERSION): Promise<void> {
  const file = await istioCrdPath(version);
  await kubectl(cp, ['apply', '--server-side', '--field-manager=kube-test', '-f', file]);
  await kubectl(cp, ['wait', '--for=condition=Established', '--timeout=120s', ...ISTIO_CRDS.map((c) => `crd/${c}`)]);
}

/** True if a process with this pid still exists (zombies of our own children count as gone). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 is the state; Z = zombie (exited, not yet reaped).
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z';
  } catch {
    return true;
  }
}
