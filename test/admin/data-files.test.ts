import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { existingDataPath, writableDataPath, writeDataFile } from '../../src/admin/data-files.js';

describe('data-directory confinement for written and walked paths', () => {
  let base: string;
  let data: string;
  let outside: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'parley-df-'));
    data = join(base, 'data');
    outside = join(base, 'outside');
    await mkdir(join(data, 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'x');
    await symlink(outside, join(data, 'out-link'));
    await symlink(join(outside, 'secret'), join(data, 'file-link'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('writes a relative path inside the data directory, mode 0600', async () => {
    const real = await writeDataFile(data, 'sub/a.txt', 'hello');
    assert.equal(await readFile(real, 'utf8'), 'hello');
    assert.equal(await readFile(join(data, 'sub', 'a.txt'), 'utf8'), 'hello');
  });

  it('refuses writes outside: .., absolute, through a directory link, onto a file link', async () => {
    for (const p of ['../outside/x', join(outside, 'x'), 'out-link/x', 'file-link']) {
      await assert.rejects(writeDataFile(data, p, 'evil'), (e: Error & { kind?: string }) => {
        assert.match(e.message, /outside the data directory|Not a regular file/);
        return true;
      }, p);
    }
    assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'x');
  });

  it('refuses a missing parent directory, an empty path and a NUL byte', async () => {
    await assert.rejects(writableDataPath(data, 'nope/x'), /No such directory/);
    await assert.rejects(writableDataPath(data, ''), /Empty file path/);
    await assert.rejects(writableDataPath(data, 'a\0b'), /Invalid file path/);
  });

  it('resolves existing directories and files, refusing the wrong kind and links out', async () => {
    assert.equal(await existingDataPath(data, 'sub', 'directory'), join(await import('node:fs/promises').then((f) => f.realpath(data)), 'sub'));
    await assert.rejects(existingDataPath(data, 'sub', 'file'), /Not a regular file/);
    await assert.rejects(existingDataPath(data, 'out-link', 'directory'), /outside the data directory/);
    await assert.rejects(existingDataPath(data, 'missing', 'directory'), /No such directory/);
  });
});
