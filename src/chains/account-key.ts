// Where an account-level extended public key must sit, for every chain kind: a key at the wrong
// depth derives addresses the merchant's wallet never scans, so it is refused before anything runs.

const HARDENED = 0x80000000;

/** What an extended key says of its own place: its depth and its child number under its parent. */
export interface KeyPlace {
  depth: number;
  index: number;
}

function describeDepth(depth: number): string {
  if (depth === 0) return "a master (root) key (depth 0)";
  if (depth < 3) return `a key above the account level (depth ${depth})`;
  if (depth === 4) return "a chain-level key such as …/0 (receive addresses) below the account (depth 4)";
  if (depth >= 5) return `an address-level key (depth ${depth})`;
  return `an account-level key (depth ${depth})`;
}

function indexText(index: number): string {
  return index >= HARDENED ? `${index - HARDENED}'` : String(index);
}

/**
 * Null when `key` sits where `path` says (depth = the path's length; with `explicit`, also its
 * own child number = the path's last step), else the reason, naming what was given and expected.
 */
export function accountKeyProblem(key: KeyPlace, path: string, explicit: boolean): string | null {
  const steps = path.split("/").slice(1);
  if (key.depth !== steps.length) {
    return (
      `the key is ${describeDepth(key.depth)}, but addresses are derived below the account key at ` +
      `${path} (depth ${steps.length}): export the account-level extended public key for ${path}`
    );
  }
  const last = steps[steps.length - 1];
  if (explicit && last !== undefined) {
    const want = last.endsWith("'") ? HARDENED + Number(last.slice(0, -1)) : Number(last);
    if (key.index !== want) {
      return `the key is child ${indexText(key.index)} of its parent, but pool.path ${path} ends in ${last}`;
    }
  }
  return null;
}
