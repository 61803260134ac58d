// Envoy's metadata as the filter reads it through proxy_get_property (xds.virtual_host_metadata,
// xds.route_metadata): a serialized envoy.config.core.v3.Metadata protobuf. Only what the hosts
// need to hand the filter: filter_metadata of string, number and bool values.
//
// Metadata { map<string, Struct> filter_metadata = 1; }   Struct { map<string, Value> fields = 1; }
// Value { double number_value = 2; string string_value = 3; bool bool_value = 4; }

export type MetadataValue = string | number | boolean;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function lengthDelimited(field: number, bytes: number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];

function value(v: MetadataValue): number[] {
  if (typeof v === 'boolean') return [...varint((4 << 3) | 0), v ? 1 : 0];
  if (typeof v === 'string') return lengthDelimited(3, utf8(v));
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return [...varint((2 << 3) | 1), ...b];
}

function mapEntry(key: string, val: number[]): number[] {
  return [...lengthDelimited(1, utf8(key)), ...lengthDelimited(2, val)];
}

/** The bytes of Metadata{filter_metadata}. */
export function encodeMetadata(filterMetadata: Record<string, Record<string, MetadataValue>>): Uint8Array {
  const out: number[] = [];
  for (const [filter, fields] of Object.entries(filterMetadata)) {
    const struct: number[] = [];
    for (const [k, v] of Object.entries(fields)) struct.push(...lengthDelimited(1, mapEntry(k, value(v))));
    out.push(...lengthDelimited(1, mapEntry(filter, struct)));
  }
  return new Uint8Array(out);
}
