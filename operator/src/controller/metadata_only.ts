// A kubeconfig whose watches ask the apiserver for metadata only (PartialObjectMetadata, as
// controller-runtime's metadata informers do). client-node's informer has no option for it, but
// every watch request passes through applySecurityAuthentication, where the Accept header is set.
// Used for Secrets: the operator needs to know when one changes, never its data, and a cluster's
// Secrets (Helm releases among them) can weigh hundreds of megabytes.
import { KubeConfig } from '@kubernetes/client-node';
import { METADATA_ONLY_OBJECT } from '../kube/objects.js';

type RequestContextLike = Parameters<KubeConfig['applySecurityAuthentication']>[0];

class MetadataOnlyKubeConfig extends KubeConfig {
  override async applySecurityAuthentication(context: RequestContextLike): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setHeaderParam('Accept', METADATA_ONLY_OBJECT);
  }
}

export function metadataOnlyKubeConfig(kc: KubeConfig): KubeConfig {
  const m = new MetadataOnlyKubeConfig();
  m.loadFromOptions({ clusters: kc.clusters, users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext });
  return m;
}
