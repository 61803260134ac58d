// Who speaks a piece of prompt text, as bit flags so "is this piece inspected" is one AND. Names are
// the ones inspect_roles uses; text is made from a flag only where it is written (logs, guard prompt).

export namespace Role {
  export const System: u32 = 1;
  export const Developer: u32 = 2;
  export const User: u32 = 4;
  export const Assistant: u32 = 8;
  export const Tool: u32 = 16;
  export const ToolDefinition: u32 = 32;
  /** Text outside every place a role is known: other fields, member names, unknown shapes' extras. */
  export const Other: u32 = 64;
  export const All: u32 = 127;
}

/** Indexed by bit position: ROLE_NAMES[i] names the flag 1 << i. */
export const ROLE_NAMES: string[] = ["system", "developer", "user", "assistant", "tool", "tool_definition", "other"];

/** The flag of a role name; 0 for a name that is none of ROLE_NAMES. */
export function roleFlag(name: string): u32 {
  for (let i = 0; i < ROLE_NAMES.length; i++) {
    if (ROLE_NAMES[i] == name) return <u32>1 << <u32>i;
  }
  return 0;
}

/** The name of one role flag; "" for anything else. */
export function roleName(flag: u32): string {
  for (let i = 0; i < ROLE_NAMES.length; i++) {
    if (flag == <u32>1 << <u32>i) return ROLE_NAMES[i];
  }
  return "";
}
