/**
 * Server-side SASL mechanisms: PLAIN (RFC 4616), SCRAM-SHA-1 (RFC 5802) and
 * SCRAM-SHA-256 (RFC 7677).
 *
 * The mechanisms work on raw octets (the caller does the base64 transport
 * encoding of XMPP's <auth/>, <response/>, <challenge/> and <success/>) and
 * report failures by throwing a SaslError carrying the RFC 6120 §6.5 condition.
 *
 * The server never runs PBKDF2 during a login: SCRAM uses the stored
 * StoredKey/ServerKey only, and PLAIN is delegated to the backend.
 */
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);
import saslprep from 'saslprep';

// ---------------------------------------------------------------------------
// Errors

export type SaslCondition =
  | 'aborted'
  | 'account-disabled'
  | 'credentials-expired'
  | 'encryption-required'
  | 'incorrect-encoding'
  | 'invalid-authzid'
  | 'invalid-mechanism'
  | 'malformed-request'
  | 'mechanism-too-weak'
  | 'not-authorized'
  | 'temporary-auth-failure';

export class SaslError extends Error {
  constructor(
    readonly condition: SaslCondition,
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(message ?? condition, options);
    this.name = 'SaslError';
  }
}

// ---------------------------------------------------------------------------
// SCRAM credentials

export type ScramHash = 'sha1' | 'sha256';

export interface ScramCredentials {
  /** base64 */
  salt: string;
  iterations: number;
  /** base64 */
  storedKey: string;
  /** base64 */
  serverKey: string;
}

const HASH_LEN: Record<ScramHash, number> = { sha1: 20, sha256: 32 };

function hmac(hash: ScramHash, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(hash, key).update(data).digest();
}

function digest(hash: ScramHash, data: Buffer): Buffer {
  return createHash(hash).update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/**
 * SASLprep a password. Unassigned code points (relative to Unicode 3.2, which
 * is what stringprep uses) are allowed, otherwise passwords containing e.g.
 * emoji could never be set; prohibited characters are rejected.
 */
function prepPassword(password: string): string {
  try {
    return saslprep(password, { allowUnassigned: true });
  } catch (err) {
    throw new SaslError('malformed-request', 'password contains characters prohibited by SASLprep', { cause: err });
  }
}

function saltedKeys(preppedPassword: string, hash: ScramHash, salt: Buffer, iterations: number) {
  return keysFromSalted(hash, pbkdf2Sync(Buffer.from(preppedPassword, 'utf8'), salt, iterations, HASH_LEN[hash], hash));
}

/** As saltedKeys, with PBKDF2 on libuv's thread pool so the event loop keeps serving. */
async function saltedKeysAsync(preppedPassword: string, hash: ScramHash, salt: Buffer, iterations: number) {
  return keysFromSalted(hash, await pbkdf2Async(Buffer.from(preppedPassword, 'utf8'), salt, iterations, HASH_LEN[hash], hash));
}

function keysFromSalted(hash: ScramHash, salted: Buffer) {
  const clientKey = hmac(hash, salted, 'Client Key');
  return {
    storedKey: digest(hash, clientKey),
    serverKey: hmac(hash, salted, 'Server Key'),
  };
}

/**
 * Compute the SCRAM credentials to store for a password. This runs PBKDF2 and
 * is meant for account creation / password change, never for logins.
 */
export function deriveScramCredentials(
  password: string,
  hash: ScramHash,
  iterations = 4096,
  salt: Buffer = randomBytes(16),
): ScramCredentials {
  checkDeriveArgs(hash, iterations);
  const { storedKey, serverKey } = saltedKeys(prepPassword(password), hash, salt, iterations);
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: storedKey.toString('base64'),
    serverKey: serverKey.toString('base64'),
  };
}

function checkDeriveArgs(hash: ScramHash, iterations: number): void {
  if (!(hash in HASH_LEN)) throw new TypeError(`unsupported SCRAM hash: ${String(hash)}`);
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new RangeError(`invalid SCRAM iteration count: ${iterations}`);
  }
}

/** deriveScramCredentials without blocking the event loop (account creation, password change). */
export async function deriveScramCredentialsAsync(
  password: string,
  hash: ScramHash,
  iterations = 4096,
  salt: Buffer = randomBytes(16),
): Promise<ScramCredentials> {
  checkDeriveArgs(hash, iterations);
  const { storedKey, serverKey } = await saltedKeysAsync(prepPassword(password), hash, salt, iterations);
  return { salt: salt.toString('base64'), iterations, storedKey: storedKey.toString('base64'), serverKey: serverKey.toString('base64') };
}

/** What verifying a cleartext password needs, or undefined when it cannot match (bad password or credentials). */
function verificationInputs(password: string, hash: ScramHash, creds: ScramCredentials) {
  let prepped: string;
  try {
    prepped = prepPassword(password);
  } catch {
    return undefined;
  }
  if (!(hash in HASH_LEN) || !Number.isSafeInteger(creds.iterations) || creds.iterations < 1) return undefined;
  const expected = Buffer.from(creds.storedKey, 'base64');
  if (expected.length !== HASH_LEN[hash]) return undefined;
  return { prepped, expected, salt: Buffer.from(creds.salt, 'base64') };
}

/** verifyPasswordAgainstScram without blocking the event loop (PLAIN logins, HTTP basic auth). */
export async function verifyPasswordAgainstScramAsync(password: string, hash: ScramHash, creds: ScramCredentials): Promise<boolean> {
  const v = verificationInputs(password, hash, creds);
  if (!v) return false;
  const { storedKey } = await saltedKeysAsync(v.prepped, hash, v.salt, creds.iterations);
  return timingSafeEqual(storedKey, v.expected);
}

/**
 * Check a cleartext password (e.g. from SASL PLAIN) against stored SCRAM
 * credentials. Runs PBKDF2. Returns false (never throws) for passwords that
 * SASLprep rejects or for unusable credentials.
 */
export function verifyPasswordAgainstScram(password: string, hash: ScramHash, creds: ScramCredentials): boolean {
  const v = verificationInputs(password, hash, creds);
  if (!v) return false;
  const { storedKey } = saltedKeys(v.prepped, hash, v.salt, creds.iterations);
  return timingSafeEqual(storedKey, v.expected);
}

// ---------------------------------------------------------------------------
// Mechanism interface

/**
 * What the mechanism needs from the server: credentials lookups by username.
 * The username is passed exactly as the client sent it (SCRAM escapes
 * decoded); the backend SASLpreps/nodepreps it as it sees fit. Return
 * undefined for unknown user. A rejected promise is reported as
 * 'temporary-auth-failure'.
 */
export interface SaslBackend {
  getScram(username: string, hash: ScramHash): Promise<ScramCredentials | undefined>;
  checkPlain(username: string, password: string): Promise<boolean>;
  /** Iteration count offered for unknown users (the one new accounts get), so `i=` does not tell them apart. */
  scramIterations?: number;
}

export type SaslStep =
  | { kind: 'challenge'; data: Buffer }
  | {
      kind: 'success';
      /** the authentication identity, as sent by the client (PLAIN authcid / SCRAM n=) */
      username: string;
      /** the authorization identity requested by the client, if any; the caller validates it */
      authzid?: string;
      /** additional data with success */
      data?: Buffer;
    };

export interface SaslMechanism {
  readonly name: string;
  /**
   * Initial response (may be empty Buffer when client sent '=' or nothing;
   * both are treated as "no initial response" and answered with an empty
   * challenge). Throws SaslError on failure.
   */
  start(initial: Buffer): Promise<SaslStep>;
  step(response: Buffer): Promise<SaslStep>;
}

export interface MechanismOptions {
  /** SCRAM server nonce generator (default: 24 random bytes, base64). Must not contain ','. */
  nonce?: () => string;
}

/** In preference order. */
export const SUPPORTED_MECHANISMS: readonly string[] = Object.freeze(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);

export function createMechanism(
  name: string,
  backend: SaslBackend,
  options: MechanismOptions = {},
): SaslMechanism | undefined {
  switch (name) {
    case 'PLAIN':
      return new PlainMechanism(backend);
    case 'SCRAM-SHA-1':
      return new ScramMechanism(name, 'sha1', backend, options);
    case 'SCRAM-SHA-256':
      return new ScramMechanism(name, 'sha256', backend, options);
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------
// Helpers

/** Upper bound on any single client message; real ones are a few hundred bytes. */
const MAX_MESSAGE = 8192;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function malformed(message: string): SaslError {
  return new SaslError('malformed-request', message);
}

function decodeUtf8(data: Buffer): string {
  if (data.length > MAX_MESSAGE) throw malformed('message too large');
  try {
    return utf8.decode(data);
  } catch {
    throw malformed('message is not valid UTF-8');
  }
}

async function callBackend<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new SaslError('temporary-auth-failure', 'credentials lookup failed', { cause: err });
  }
}

type State = 'initial' | 'waiting' | 'busy' | 'done';

abstract class BaseMechanism implements SaslMechanism {
  protected state: State = 'initial';

  constructor(readonly name: string) {}

  async start(initial: Buffer): Promise<SaslStep> {
    if (this.state !== 'initial') throw malformed('exchange already started');
    if (initial.length === 0) {
      this.state = 'waiting';
      return { kind: 'challenge', data: Buffer.alloc(0) };
    }
    return this.run(initial);
  }

  async step(response: Buffer): Promise<SaslStep> {
    if (this.state !== 'waiting') throw malformed('unexpected response');
    return this.run(response);
  }

  private async run(message: Buffer): Promise<SaslStep> {
    this.state = 'busy';
    try {
      const result = await this.handle(message);
      this.state = result.kind === 'success' ? 'done' : 'waiting';
      return result;
    } catch (err) {
      this.state = 'done';
      throw err;
    }
  }

  protected abstract handle(message: Buffer): Promise<SaslStep>;
}

// ---------------------------------------------------------------------------
// PLAIN (RFC 4616)

class PlainMechanism extends BaseMechanism {
  constructor(private readonly backend: SaslBackend) {
    super('PLAIN');
  }

  protected async handle(message: Buffer): Promise<SaslStep> {
    const parts = decodeUtf8(message).split('\0');
    if (parts.length !== 3) throw malformed('PLAIN message must be [authzid] NUL authcid NUL passwd');
    const [authzid, authcid, passwd] = parts as [string, string, string];
    if (authcid === '' || passwd === '') throw malformed('empty authcid or password');
    const ok = await callBackend(() => this.backend.checkPlain(authcid, passwd));
    if (ok !== true) throw new SaslError('not-authorized');
    return authzid === ''
      ? { kind: 'success', username: authcid }
      : { kind: 'success', username: authcid, authzid };
  }
}

// ---------------------------------------------------------------------------
// SCRAM (RFC 5802 / RFC 7677)

/** Per-process key for deterministic fake salts of unknown users. */
const FAKE_SALT_KEY = randomBytes(32);
const FAKE_ITERATIONS = 4096;

function fakeCredentials(hash: ScramHash, username: string, iterations = FAKE_ITERATIONS): ScramCredentials {
  const salt = createHmac('sha256', FAKE_SALT_KEY).update(`${hash}\0${username}`).digest().subarray(0, 16);
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: randomBytes(HASH_LEN[hash]).toString('base64'),
    serverKey: randomBytes(HASH_LEN[hash]).toString('base64'),
  };
}

/** saslname: 1*(value-safe-char / "=2C" / "=3D") */
function decodeSaslname(s: string): string {
  if (s === '') throw malformed('empty saslname');
  if (s.includes('\0')) throw malformed('NUL in saslname');
  return s.replace(/=(..)?/gs, (_m, code: string | undefined) => {
    if (code === '2C') return ',';
    if (code === '3D') return '=';
    throw malformed('invalid escape in saslname');
  });
}

/** printable = %x21-2B / %x2D-7E */
const NONCE_RE = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const EXTENSION_RE = /^[A-Za-z]=[^,]*$/;

function decodeBase64Strict(s: string, what: string): Buffer {
  if (!BASE64_RE.test(s)) throw malformed(`${what} is not valid base64`);
  return Buffer.from(s, 'base64');
}

function checkExtensions(attrs: string[]): void {
  for (const attr of attrs) {
    if (!EXTENSION_RE.test(attr)) throw malformed('malformed attribute');
    if (attr.startsWith('m=')) throw malformed('unsupported mandatory extension');
  }
}

interface ScramSession {
  gs2Header: string;
  authzid?: string;
  username: string;
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
  creds: ScramCredentials;
  known: boolean;
}

class ScramMechanism extends BaseMechanism {
  private session: ScramSession | undefined;
  private readonly makeNonce: () => string;

  constructor(
    name: string,
    private readonly hash: ScramHash,
    private readonly backend: SaslBackend,
    options: MechanismOptions,
  ) {
    super(name);
    this.makeNonce = options.nonce ?? (() => randomBytes(24).toString('base64'));
  }

  protected async handle(message: Buffer): Promise<SaslStep> {
    return this.session === undefined ? this.clientFirst(message) : this.clientFinal(message, this.session);
  }

  private async clientFirst(message: Buffer): Promise<SaslStep> {
    const text = decodeUtf8(message);

    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const c1 = text.indexOf(',');
    const c2 = c1 < 0 ? -1 : text.indexOf(',', c1 + 1);
    if (c2 < 0) throw malformed('missing GS2 header');
    const cbind = text.slice(0, c1);
    if (cbind.startsWith('p=')) throw malformed('channel binding is not supported');
    if (cbind !== 'n' && cbind !== 'y') throw malformed('invalid channel binding flag');
    const authzPart = text.slice(c1 + 1, c2);
    let authzid: string | undefined;
    if (authzPart !== '') {
      if (!authzPart.startsWith('a=')) throw malformed('invalid authzid in GS2 header');
      authzid = decodeSaslname(authzPart.slice(2));
    }
    const gs2Header = text.slice(0, c2 + 1);

    // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    const clientFirstBare = text.slice(c2 + 1);
    const attrs = clientFirstBare.split(',');
    if (attrs[0]?.startsWith('m=')) throw malformed('unsupported mandatory extension');
    if (attrs.length < 2 || !attrs[0]!.startsWith('n=') || !attrs[1]!.startsWith('r=')) {
      throw malformed('client-first-message must start with n=...,r=...');
    }
    const username = decodeSaslname(attrs[0]!.slice(2));
    const clientNonce = attrs[1]!.slice(2);
    if (!NONCE_RE.test(clientNonce)) throw malformed('invalid client nonce');
    checkExtensions(attrs.slice(2));

    const found = await callBackend(() => this.backend.getScram(username, this.hash));
    const creds = found ?? fakeCredentials(this.hash, username, this.backend.scramIterations);

    const serverNonce = this.makeNonce();
    const nonce = clientNonce + serverNonce;
    const serverFirst = `r=${nonce},s=${creds.salt},i=${creds.iterations}`;
    const session: ScramSession = { gs2Header, username, clientFirstBare, serverFirst, nonce, creds, known: found !== undefined };
    if (authzid !== undefined) session.authzid = authzid;
    this.session = session;
    return { kind: 'challenge', data: Buffer.from(serverFirst, 'utf8') };
  }

  private async clientFinal(message: Buffer, s: ScramSession): Promise<SaslStep> {
    const text = decodeUtf8(message);

    // client-final-message = channel-binding "," nonce ["," extensions] "," proof
    const attrs = text.split(',');
    if (attrs.length < 3) throw malformed('client-final-message too short');
    const [cAttr, rAttr] = attrs as [string, string];
    const pAttr = attrs[attrs.length - 1]!;
    if (!cAttr.startsWith('c=') || !rAttr.startsWith('r=') || !pAttr.startsWith('p=')) {
      throw malformed('client-final-message must be c=...,r=...[,ext],p=...');
    }
    checkExtensions(attrs.slice(2, -1));
    const cbindInput = decodeBase64Strict(cAttr.slice(2), 'channel binding');
    const proof = decodeBase64Strict(pAttr.slice(2), 'proof');
    if (proof.length !== HASH_LEN[this.hash]) throw malformed('client proof has the wrong length');

    if (!cbindInput.equals(Buffer.from(s.gs2Header, 'utf8'))) {
      throw new SaslError('not-authorized', 'channel binding data does not match');
    }
    if (rAttr.slice(2) !== s.nonce) throw new SaslError('not-authorized', 'nonce mismatch');

    const clientFinalWithoutProof = text.slice(0, text.length - pAttr.length - 1);
    const authMessage = `${s.clientFirstBare},${s.serverFirst},${clientFinalWithoutProof}`;

    const storedKey = Buffer.from(s.creds.storedKey, 'base64');
    const serverKey = Buffer.from(s.creds.serverKey, 'base64');
    if (storedKey.length !== HASH_LEN[this.hash]) throw new SaslError('temporary-auth-failure', 'stored SCRAM key is unusable');

    const clientSignature = hmac(this.hash, storedKey, authMessage);
    const clientKey = xor(proof, clientSignature);
    const valid = timingSafeEqual(digest(this.hash, clientKey), storedKey);
    if (!valid || !s.known) throw new SaslError('not-authorized');

    const serverSignature = hmac(this.hash, serverKey, authMessage);
    const result: SaslStep = {
      kind: 'success',
      username: s.username,
      data: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'),
    };
    if (s.authzid !== undefined) result.authzid = s.authzid;
    return result;
  }
}
