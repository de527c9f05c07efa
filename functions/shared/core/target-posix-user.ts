/**
 * The POSIX user each target's EFS access point enforces. Every target has its own uid and gid, so its directory
 * (created 0700) is reachable only through its own access point; the orchestrator's access point runs as root.
 * A target without posixUid/posixGid gets `efs.posixUid + 1 + h` (and `efs.posixGid + 1 + h`), h a stable number from
 * its name (FNV-1a modulo 2^28): it never changes when targets are added, removed or reordered, so a target never loses
 * the owner of its directory. Pure.
 */

/**
 * How many uids a target's default may be placed in above the base. Wide, because two defaults that meet are a
 * config error the user must resolve by hand: with 2^28 places, 500 targets meet with a chance of about 1 in 2,000
 * (16 bits met three times in a 500-target example), and the highest default stays below 2^31, which some tools
 * still take for the largest uid.
 */
export const DEFAULT_UID_SPREAD = 2 ** 28;
/** The largest base (efs.posixUid / posixGid) whose defaults all stay valid POSIX ids. */
export const MAX_POSIX_BASE = 4_294_967_294 - DEFAULT_UID_SPREAD;

/** The uid and gid of a target's access point. */
export interface PosixUser {
  readonly uid: number;
  readonly gid: number;
}

/** What the default needs of the config's efs block and of a target. */
export interface PosixUserInput {
  readonly efs: { readonly posixUid: number; readonly posixGid: number };
  readonly target: { readonly name: string; readonly posixUid?: number | undefined; readonly posixGid?: number | undefined };
}

/** FNV-1a (32 bits) of a string's UTF-8 bytes. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The target's POSIX user: its own posixUid/posixGid, else the stable default above the efs base. */
export function targetPosixUser({ efs, target }: PosixUserInput): PosixUser {
  const offset = 1 + (fnv1a(target.name) % DEFAULT_UID_SPREAD);
  return { uid: target.posixUid ?? efs.posixUid + offset, gid: target.posixGid ?? efs.posixGid + offset };
}

/** The directory of a target on the file system: `<rootPath>/<target>`, its access point's root. */
export function targetRootPath(rootPath: string, target: string): string {
  return `${rootPath.replace(/\/+$/, '')}/${target}`;
}
