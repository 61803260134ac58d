// The one serialiser of a pluginConfig: the JSON text Envoy hands the filter. istiod marshals the
// WasmPlugin's pluginConfig (a protobuf Struct) with protojson, which writes object keys sorted;
// every place that builds that text (the renderer's checks, llmguard test and dev, the tests) uses
// this, so the filter is always tried on what a sidecar would get.

export function pluginConfigJson(config: unknown): string {
  return JSON.stringify(sortKeys(config));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}
