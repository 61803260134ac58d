// Where the filter fetches provider and guard keys at run time (pluginConfig key_service), and which
// requests from the app would reach that service. config/ fills it in while it parses key_service.

export class KeyServiceSettings {
  /** Lower-case DNS name: the :authority of every fetch, and the host apps must never reach. */
  host: string = "";
  port: i32 = 15443;
  /** The Envoy cluster the filter calls; Istio's name for host:port unless overridden. */
  cluster: string = "";
  /** The path fetched, e.g. /v1/keys/apps/openai-chat. */
  path: string = "";
  /** How often keys are fetched again. */
  refreshSeconds: u32 = 10;
  /** After the last successful fetch, how long its keys stay in use while fetches fail. */
  maxStaleSeconds: u32 = 60;
  /** Per fetch; also the longest a request waits for the first fetch. */
  timeoutMs: u32 = 2000;

  /**
   * Would a request for `host` (lower-cased, without port or trailing dot) reach the key service?
   * True for the host itself and for every shorter name made of its leading labels
   * (`llmguard-keys.llmguard-system`, `llmguard-keys.llmguard-system.svc`, `llmguard-keys`): the
   * pod's DNS search domains expand those to the full name.
   */
  namesKeyService(host: string): bool {
    const full = this.host;
    if (host.length == 0 || full.length == 0) return false;
    if (host == full) return true;
    return full.length > host.length && full.startsWith(host) && full.charCodeAt(host.length) == 0x2e;
  }
}
