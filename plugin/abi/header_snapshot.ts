// A header map read whole, in one call to the host (proxy_get_header_map_pairs), instead of one
// proxy_get_header_map_value per header: in Envoy every call into the host and back costs about a
// microsecond, more than looking the names up here. Names come from Envoy in lower case.
import { HeaderPair } from "./header_map";
import { getHeaderPairs } from "./host";

export class HeaderSnapshot {
  private constructor(private readonly pairs: HeaderPair[]) {}

  static read(mapType: u32): HeaderSnapshot {
    return new HeaderSnapshot(getHeaderPairs(mapType));
  }

  /** The first value of `name`, or null when absent: what proxy_get_header_map_value answers. */
  first(name: string): string | null {
    const pairs = this.pairs;
    for (let i = 0; i < pairs.length; i++) if (pairs[i].name == name) return pairs[i].value;
    return null;
  }

  /** Every pair, in the host's order. */
  all(): HeaderPair[] {
    return this.pairs;
  }

  has(name: string): bool {
    return this.first(name) != null;
  }

  /** Every value of `name` joined with ", " (RFC 9110 5.3), or null when absent. */
  joined(name: string): string | null {
    const pairs = this.pairs;
    let out: string | null = null;
    for (let i = 0; i < pairs.length; i++) {
      if (pairs[i].name != name) continue;
      out = out == null ? pairs[i].value : out + ", " + pairs[i].value;
    }
    return out;
  }
}
