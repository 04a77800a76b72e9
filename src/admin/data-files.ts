import { constants } from 'node:fs';
import { type FileHandle, lstat, open, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { badArgument, forbidden, notFound } from '../errors.js';

/**
 * Files that admin commands read or write by path (`push_roster`, `backup`, imports, exports): confined to the
 * configured data directory, because a command's caller (an HTTP client with admin rights) must
 * not make the server read whatever its user can. A relative path is taken from the data
 * directory; an absolute one must lie inside it. The check is made on the real path, after every
 * symbolic link is followed, so neither `..` nor a link pointing out leaves the directory.
 */

/** Whether `path` is `root` or lies below it (both absolute and normalized). */
function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Refuses an empty path or one with a NUL byte. */
function checkGiven(path: string): void {
  if (path === '') throw badArgument('Empty file path');
  if (path.includes('\0')) throw badArgument('Invalid file path');
}

/**
 * The real path (every link followed) of an existing entry a command names, inside `dataDir`: a
 * relative path is taken from it. Outside is refused before anything is looked up, so whether a
 * file exists elsewhere is not revealed; then again on the real path, so no link leads out.
 */
async function confinedRealPath(dataDir: string, path: string, kind: 'file' | 'directory'): Promise<string> {
  checkGiven(path);
  const given = resolve(dataDir);
  const root = await realpath(given);
  const lexical = resolve(root, path);
  if (!inside(root, lexical) && !inside(given, resolve(given, path))) throw forbidden(`File is outside the data directory: ${path}`);
  let real: string;
  try {
    real = await realpath(isAbsolute(path) ? path : lexical);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound(`No such ${kind}: ${path}`);
    throw badArgument(`Cannot read ${path}: ${code ?? (err as Error).message}`);
  }
  if (!inside(root, real)) throw forbidden(`File is outside the data directory: ${path}`);
  return real;
}

/**
 * Reads a text file (UTF-8) that a command names, inside `dataDir`, of at most `maxBytes`.
 * Throws a domain error: forbidden for a path outside the data directory or a file over the
 * limit, not-found for a file that does not exist, bad-argument for something that is not a
 * regular file or not UTF-8.
 */
export async function readDataFile(dataDir: string, path: string, maxBytes: number, limitName: string): Promise<string> {
  const real = await confinedRealPath(dataDir, path, 'file');
  // No link followed at the last step now (O_NOFOLLOW), and no wait on a FIFO (O_NONBLOCK).
  let fh;
  try {
    fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw badArgument(`Cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw badArgument(`Not a regular file: ${path}`);
    const tooBig = () => forbidden(`File ${path} is larger than ${limitName} (${maxBytes} bytes)`);
    if (st.size > maxBytes) throw tooBig();
    // The size can grow after the stat: read one byte past the limit to know.
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > maxBytes) throw tooBig();
    }
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf.subarray(0, n));
    } catch {
      throw badArgument(`File ${path} is not UTF-8 text`);
    }
  } finally {
    await fh.close();
  }
}


/**
 * The real path of an existing file or directory that a command names, inside `dataDir`
 * (`kind` says which it must be). Errors as `readDataFile`'s. For commands that stream a file
 * (imports) or walk a directory (`import_dir`, `import_prosody`) rather than read it whole.
 */
export async function existingDataPath(dataDir: string, path: string, kind: 'file' | 'directory'): Promise<string> {
  const real = await confinedRealPath(dataDir, path, kind);
  const st = await stat(real);
  if (kind === 'file' ? !st.isFile() : !st.isDirectory()) throw badArgument(`Not a ${kind === 'file' ? 'regular file' : 'directory'}: ${path}`);
  return real;
}

/**
 * The absolute path where a command may write the file `path` (`backup`, `export_piefxis`,
 * `export2sql`, the docs commands), inside `dataDir`. The parent directory must exist and lie
 * inside once its links are followed; an existing entry at `path` must be a regular file, not
 * a link (so a link planted in the directory cannot redirect the write). Open the result with
 * `openDataFileForWrite`, which refuses a link created in between.
 */
export async function writableDataPath(dataDir: string, path: string): Promise<string> {
  checkGiven(path);
  const given = resolve(dataDir);
  const root = await realpath(given);
  const lexical = resolve(root, path);
  if (!inside(root, lexical) && !inside(given, resolve(given, path))) throw forbidden(`File is outside the data directory: ${path}`);
  const target = isAbsolute(path) ? resolve(path) : lexical;
  let parent: string;
  try {
    parent = await realpath(dirname(target));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound(`No such directory: ${dirname(path)}`);
    throw badArgument(`Cannot write ${path}: ${code ?? (err as Error).message}`);
  }
  if (!inside(root, parent)) throw forbidden(`File is outside the data directory: ${path}`);
  const real = resolve(parent, basename(target));
  if (real === root) throw badArgument(`Not a file: ${path}`);
  try {
    const st = await lstat(real);
    if (!st.isFile()) throw badArgument(`Not a regular file: ${path}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return real;
}

/** Opens a path from `writableDataPath` for writing (created 0600 or truncated), never through a link. */
export async function openDataFileForWrite(real: string, path: string): Promise<FileHandle> {
  try {
    return await open(real, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    throw badArgument(`Cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Writes `content` to the file `path` inside `dataDir` (see `writableDataPath`). Returns its real path. */
export async function writeDataFile(dataDir: string, path: string, content: string | Uint8Array): Promise<string> {
  const real = await writableDataPath(dataDir, path);
  const fh = await openDataFileForWrite(real, path);
  try {
    await fh.writeFile(content);
  } finally {
    await fh.close();
  }
  return real;
}
