/**
 * The data directory of an embedded installation holds the database, credentials.json and
 * the token master secret: readable by its owner only. Three layers:
 *
 * - {@link restrictUmask} at process start (the CLI): everything this process and the node
 *   processes it forks create is 0600 / 0700 from the start;
 * - {@link securePrivateTree} on start: a directory made by an older version (0755, files
 *   0644) or copied in loosely is fixed, and so is whatever a library created with its own
 *   modes (PGlite unpacks its initial database 0644);
 * - {@link writePrivateFile}: secrets are written 0600 to a temporary name and renamed, so a
 *   crash never leaves a half-written or briefly readable file.
 */
import { chmodSync, closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Permission bits for group and others: never set in the data directory. */
const GROUP_AND_OTHERS = 0o077;

/** New files 0600 and directories 0700 for this process and its children. */
export function restrictUmask(): void {
  process.umask(GROUP_AND_OTHERS);
}

/** What {@link securePrivateTree} did. */
export interface SecureTreeResult {
  /** Entries whose mode was narrowed. */
  readonly fixed: number;
  /** Entries whose mode could not be changed (not ours), with the reason. */
  readonly failed: ReadonlyArray<{ readonly path: string; readonly reason: string }>;
}

/**
 * Creates `root` (0700) if needed and removes every group and other permission below it:
 * directories become 0700, files keep only their owner bits (0600, or 0400 for a read-only
 * one). Symbolic links are not followed (a link could point anywhere). Entries it cannot
 * change are reported, not thrown: the caller logs them and carries on.
 */
export function securePrivateTree(root: string): SecureTreeResult {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  let fixed = 0;
  const failed: Array<{ path: string; reason: string }> = [];
  const visit = (path: string): void => {
    let st;
    try {
      st = lstatSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') failed.push({ path, reason: (err as Error).message });
      return;
    }
    if (st.isSymbolicLink()) return;
    const mode = st.mode & 0o777;
    const wanted = st.isDirectory() ? 0o700 : mode & 0o700;
    if (mode !== wanted) {
      try {
        chmodSync(path, wanted);
        fixed++;
      } catch (err) {
        failed.push({ path, reason: (err as Error).message });
      }
    }
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (err) {
      failed.push({ path, reason: (err as Error).message });
      return;
    }
    for (const name of names) visit(join(path, name));
  };
  visit(root);
  return { fixed, failed };
}

/**
 * Writes `text` to `path` with mode 0600, durably: a temporary file in the same directory
 * (0700, created if needed), fsync, rename over the old one.
 */
export function writePrivateFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // An existing temporary file keeps its old mode through open(): set it.
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
