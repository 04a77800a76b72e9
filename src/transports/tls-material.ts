import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { generate } from 'selfsigned';
import type { Config } from '../config/schema.js';
import { resolveIn } from '../config/load.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  context: SecureContext;
  selfSigned: boolean;
}

/** The configured certificate, or a self-signed one generated into the data directory on first start. */
export async function loadTls(config: Config, dataDir: string, host: string): Promise<TlsMaterial> {
  if (config.tls.cert || config.tls.key) {
    if (!config.tls.cert || !config.tls.key) throw new Error('tls: both cert and key must be set');
    const cert = readFileSync(resolveIn(dataDir, config.tls.cert), 'utf8');
    const key = readFileSync(resolveIn(dataDir, config.tls.key), 'utf8');
    return { cert, key, context: createSecureContext({ cert, key }), selfSigned: false };
  }
  const dir = join(dataDir, 'tls');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const names = [...new Set([...config.hosts, 'localhost'])];
    const pems = await generate([{ name: 'commonName', value: host }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 5 * 365 * 86400_000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'subjectAltName', altNames: [...names.map((n) => ({ type: 2 as const, value: n })), { type: 7 as const, ip: '127.0.0.1' }] },
      ],
    } as any);
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
    writeFileSync(certPath, pems.cert, { mode: 0o644 });
  }
  const cert = readFileSync(certPath, 'utf8');
  const key = readFileSync(keyPath, 'utf8');
  return { cert, key, context: createSecureContext({ cert, key }), selfSigned: true };
}
