// The part of OpenAPI v3 a structural CRD schema uses, with each CEL rule (x-kubernetes-validations)
// carrying its TypeScript twin, so the operator's own checks and the apiserver's say the same.


/** A CEL rule as the CRD states it, with the same rule in TypeScript (`self` already defaulted). */
export interface CelRule {
  rule: string;
  message: string;
  /** Where the apiserver reports a failure, relative to the node holding the rule. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  check: (self: unknown) => boolean;
}

/** The subset of OpenAPI v3 a structural CRD schema uses, with the CRD's own key names. */
export interface Schema {
  type: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  description?: string;
  format?: 'int32' | 'int64' | 'date-time';
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema;
  minProperties?: number;
  maxProperties?: number;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
  'x-kubernetes-validations'?: CelRule[];
}

// Helpers the TypeScript twins of the CEL rules use. Like CEL, reading a field that is absent is an
// error (`no such key`), so a rule can't silently pass on a shape the schema would refuse.
type Obj = Record<string, unknown>;

export class CelNoSuchKey extends Error {
  constructor(readonly key: string) {
    super(`no such key: ${key}`);
  }
}

export function get(o: unknown, key: string): unknown {
  const v = (o as Obj)[key];
  if (v === undefined) throw new CelNoSuchKey(key);
  return v;
}
export function has(o: unknown, key: string): boolean {
  return (o as Obj)[key] !== undefined;
}
export function list(v: unknown): unknown[] {
  return v as unknown[];
}
export function str(v: unknown): string {
  return v as string;
}
