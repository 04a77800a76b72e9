import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { badArgument, forbidden, notFound } from '../errors.js';

/**
 * Files that admin commands read by path (`push_roster`, `push_roster_all`): confined to the
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

/**
 * Reads a text file (UTF-8) that a command names, inside `dataDir`, of at most `maxBytes`.
 * Throws a domain error: forbidden for a path outside the data directory or a file over the
 * limit, not-found for a file that does not exist, bad-argument for something that is not a
 * regular file or not UTF-8.
 */
export async function readDataFile(dataDir: string, path: string, maxBytes: number, limitName: string): Promise<string> {
  if (path === '') throw badArgument('Empty file path');
  if (path.includes('\0')) throw badArgument('Invalid file path');
  const given = resolve(dataDir);
  const root = await realpath(given);
  const lexical = resolve(root, path);
  // Outside before anything is looked up: whether a file exists elsewhere is not revealed.
  if (!inside(root, lexical) && !inside(given, resolve(given, path))) throw forbidden(`File is outside the data directory: ${path}`);
  let real: string;
  try {
    real = await realpath(isAbsolute(path) ? path : lexical);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound(`No such file: ${path}`);
    throw badArgument(`Cannot read ${path}: ${code ?? (err as Error).message}`);
  }
  if (!inside(root, real)) throw forbidden(`File is outside the data directory: ${path}`);
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
