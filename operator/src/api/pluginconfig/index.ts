// The pluginConfig contract between the operator and the filter.
export * from './types.js';
export { pluginConfigJson } from './json.js';
export * from './refusal.js';
export { AUTH_HEADERS, CREDENTIAL_HEADERS } from './auth.js';
export * from './fields.js';
export * from './values.js';
