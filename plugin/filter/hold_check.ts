// Is the operator's request hold installed on this request's route? The hold (a buffer filter
// between this filter and the router, enabled per provider virtual host) is what keeps a request's
// headers, provider key included, in the sidecar until the body is judged. The EnvoyFilter that
// enables it also marks the virtual host's metadata; Envoy shows that metadata to the filter as
// the property xds.virtual_host_metadata (a serialized envoy.config.core.v3.Metadata, in which
// the marker's key appears as its UTF-8 bytes).
import { getProperty } from "../abi/host";

/** The key the operator's EnvoyFilter writes into the provider virtual hosts' filter_metadata. */
export const HOLD_MARKER = "llm-guard.hold-request";

/**
 * The mark of the response hold: a filter the response passes after this one, holding a JSON
 * reply's headers until its body has passed here, so a denied reply can still get its own status.
 */
export const RESPONSE_HOLD_MARKER = "llm-guard.hold-response";

export function holdInstalled(): bool {
  return marked(HOLD_MARKER);
}

export function responseHoldInstalled(): bool {
  return marked(RESPONSE_HOLD_MARKER);
}

function marked(marker: string): bool {
  const metadata = getProperty(["xds", "virtual_host_metadata"]);
  if (metadata == null) return false;
  return contains(Uint8Array.wrap(metadata), Uint8Array.wrap(String.UTF8.encode(marker)));
}

function contains(haystack: Uint8Array, needle: Uint8Array): bool {
  const last = haystack.length - needle.length;
  for (let i = 0; i <= last; i++) {
    let j = 0;
    while (j < needle.length && haystack[i + j] == needle[j]) j++;
    if (j == needle.length) return true;
  }
  return false;
}
