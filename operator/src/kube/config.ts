// Loading a kubeconfig: an explicit file, else the usual defaults ($KUBECONFIG, ~/.kube/config,
// then the in-cluster service account).
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig${path ? ` ${path}` : ''} has no current cluster`);
  return kc;
}
