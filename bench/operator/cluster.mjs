// A real control plane for the benchmark: etcd + kube-apiserver from `make kube-tools`
// (.tools/kube/bin), the way test/kube/control_plane.ts starts them for the integration tests
// (same flags: RBAC, token auth, generated serving cert, no controller-manager), in a temp folder.
// Then the project's CRD, Istio's CRDs, the operator's namespace and RBAC (manifests/), and a
// kubeconfig for the operator's ServiceAccount.
import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kube } from './kube.mjs';
import { Proc, freePorts, waitFor } from './procs.mjs';

/** @param {string} repo */
export function kubeBinDir(repo) {
  return process.env.KUBE_TOOLS_BIN ?? join(repo, '.tools', 'kube', 'bin');
}

/**
 * @param {string} repo
 * @param {string} dir an empty temp folder
 */
export async function startControlPlane(repo, dir) {
  const bin = kubeBinDir(repo);
  for (const b of ['etcd', 'kube-apiserver', 'kubectl']) {
    if (!existsSync(join(bin, b))) throw new Error(`${join(bin, b)} is missing: run \`make kube-tools\``);
  }
  const certDir = join(dir, 'certs');
  const etcdDir = join(dir, 'etcd');
  await mkdir(certDir, { mode: 0o700 });
  await mkdir(etcdDir, { mode: 0o700 });
  const token = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'tokens.csv');
  await writeFile(tokenFile, `${token},bench-admin,uid-bench-admin,"system:masters"\n`, { mode: 0o600 });
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

  const [etcdPort, peerPort, apiPort] = await freePorts(3);
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const server = `https://127.0.0.1:${apiPort}`;
  const etcdVersion = execFileSync(join(bin, 'etcd'), ['--version'], { encoding: 'utf8' });
  const m = /etcd Version: (\d+)\.(\d+)/.exec(etcdVersion);
  const noFsync = m !== null && (Number(m[1]) > 3 || (Number(m[1]) === 3 && Number(m[2]) >= 5));
  const etcd = new Proc(
    'etcd',
    join(bin, 'etcd'),
    [
      '--name=bench',
      `--data-dir=${etcdDir}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=bench=${peerUrl}`,
      '--initial-cluster-state=new',
      // Throw-away data on a shared disk, as in the tests: fsync would measure the disk.
      ...(noFsync ? ['--unsafe-no-fsync=true'] : []),
      '--log-level=warn',
    ],
    { logPath: join(dir, 'etcd.log'), cwd: dir },
  );
  await waitFor(
    'etcd /health',
    async () => {
      const r = await fetch(`${etcdUrl}/health`);
      return r.status === 200;
    },
    { procs: [etcd] },
  );
  const apiserver = new Proc(
    'kube-apiserver',
    join(bin, 'kube-apiserver'),
    [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${certDir}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/24',
      '--endpoint-reconciler-type=none',
      '--disable-admission-plugins=ServiceAccount',
      '--profiling=false',
      '--v=1',
    ],
    { logPath: join(dir, 'kube-apiserver.log'), cwd: dir },
  );
  const procs = [etcd, apiserver];
  await waitFor(
    'kube-apiserver /readyz',
    async () => {
      const r = await insecureGet(`${server}/readyz`, token);
      return r.status === 200;
    },
    { procs, timeoutMs: 180_000 },
  );
  const caPem = await readFile(join(certDir, 'apiserver.crt'), 'utf8');
  const kubeconfigPath = join(dir, 'admin.kubeconfig');
  await writeFile(kubeconfigPath, kubeconfig(server, caPem, 'bench-admin', token), { mode: 0o600 });
  const kube = new Kube({ server, token, caPem });
  return {
    server,
    token,
    caPem,
    kubeconfigPath,
    etcd,
    apiserver,
    kube,
    /** @param {string[]} args @param {{ input?: string }} [o] */
    kubectl: (args, o = {}) => kubectl(join(bin, 'kubectl'), kubeconfigPath, args, o),
    async stop() {
      kube.close();
      await apiserver.stop(10_000);
      await etcd.stop(5_000);
    },
  };
}

/** @typedef {Awaited<ReturnType<typeof startControlPlane>>} ControlPlane */

/** @param {string} server @param {string} caPem @param {string} user @param {string} token */
function kubeconfig(server, caPem, user, token) {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'bench', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'bench', user } }],
    'current-context': user,
  });
}

/** @param {string} url @param {string} token @returns {Promise<{status: number}>} */
async function insecureGet(url, token) {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = https.get(url, { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * @param {string} bin @param {string} kubeconfigPath @param {string[]} args @param {{ input?: string }} o
 * @returns {Promise<string>}
 */
function kubectl(bin, kubeconfigPath, args, o) {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, [`--kubeconfig=${kubeconfigPath}`, ...args], { timeout: 300_000, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, KUBECONFIG: '' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
    child.stdin?.end(o.input ?? '');
  });
}

export const ISTIO_CRDS = ['wasmplugins.extensions.istio.io', 'serviceentries.networking.istio.io', 'destinationrules.networking.istio.io', 'envoyfilters.networking.istio.io'];

/**
 * Istio's CRD bundle: the one `make mesh-tools` installed, else istio.io/api's through the Go
 * module proxy (as test/kube/control_plane.ts fetches it).
 * @param {string} repo
 * @returns {Promise<string>}
 */
export async function istioCrdFile(repo) {
  const local = join(repo, '.tools', 'mesh', 'istio', 'crds.yaml');
  if (existsSync(local)) return local;
  const version = process.env.ISTIO_API_VERSION ?? 'v1.29.2';
  const out = await new Promise((resolve, reject) =>
    execFile('go', ['mod', 'download', '-json', `istio.io/api@${version}`], { cwd: tmpdir(), timeout: 300_000, env: { ...process.env, GOFLAGS: '-mod=mod' } }, (err, stdout, stderr) =>
      err ? reject(new Error(`go mod download istio.io/api@${version}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
  return join(JSON.parse(/** @type {string} */ (out)).Dir, 'kubernetes', 'customresourcedefinitions.gen.yaml');
}

/**
 * CRDs, the operator's namespace, ServiceAccount, ClusterRole(Binding) and leader-election Role,
 * the benchmark's namespaces; returns a kubeconfig acting as the operator's ServiceAccount.
 * @param {string} repo @param {ControlPlane} cp @param {string} dir @param {string[]} namespaces
 */
export async function installOperatorPrerequisites(repo, cp, dir, namespaces) {
  await cp.kubectl(['apply', '--server-side', '--field-manager=bench', '-f', await istioCrdFile(repo)]);
  await cp.kubectl(['apply', '--server-side', '--field-manager=bench', '-f', join(repo, 'manifests', 'crd', 'llmguard.io_llmguardpolicies.yaml')]);
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=120s', ...[...ISTIO_CRDS, 'llmguardpolicies.llmguard.io'].map((c) => `crd/${c}`)]);
  for (const f of ['deployment/namespace.yaml', 'rbac/service_account.yaml', 'rbac/cluster_role.yaml', 'rbac/cluster_role_binding.yaml', 'rbac/leader_election.yaml']) {
    await cp.kubectl(['apply', '-f', join(repo, 'manifests', f)]);
  }
  for (const ns of namespaces) await cp.kubectl(['create', 'namespace', ns]);
  const saToken = (await cp.kubectl(['create', 'token', 'llmguard-operator', '-n', 'llmguard-system', '--duration=4h'])).trim();
  const path = join(dir, 'operator.kubeconfig');
  await writeFile(path, kubeconfig(cp.server, cp.caPem, 'llmguard-operator', saToken), { mode: 0o600 });
  return path;
}
