// Calls to the hosting-panel jabber-* API, and the configuration the hosting tests share.
export const PANEL_KEY = 'panel-key-0123456789abcdef';
export const LIST_KEY = 'list-only-key-0123456789abc';
export const OTHER_KEY = 'other-domain-key-0123456789';

/** The hosting section of a test server: two hosts; three keys scoped by domain and command. */
export function hostingConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hosts: ['localhost', 'example.net'],
    hosting: {
      enabled: true,
      applyDelay: 0.3,
      keys: [
        { name: 'panel', key: PANEL_KEY, domains: ['localhost'] },
        { name: 'lister', key: LIST_KEY, commands: ['jabber-list_users_no_pw', 'jabber-list_valid_domains'] },
        { name: 'other', key: OTHER_KEY, domains: ['example.net'] },
      ],
      ...extra,
    },
  };
}

export interface HostingAnswer {
  status: number;
  type: string | null;
  text: string;
  /** The tab format's lines, each split at tabs. */
  lines: string[][];
}

/** One call: by GET with the parameters in the query string, or by POST form-encoded (method 'POST'), or POST with them in the query string ('POST-query'). */
export async function hosting(port: number, params: Record<string, string>, method: 'GET' | 'POST' | 'POST-query' = 'GET', path = '/hosting/api'): Promise<HostingAnswer> {
  const qs = new URLSearchParams(params).toString();
  const url = `http://127.0.0.1:${port}${path}`;
  const res =
    method === 'GET'
      ? await fetch(`${url}?${qs}`)
      : method === 'POST'
        ? await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: qs })
        : await fetch(`${url}?${qs}`, { method: 'POST' });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text, lines: text.replace(/\n$/, '').split('\n').map((l) => l.split('\t')) };
}

/** The token of a successful mutation in the tab format (fails the test otherwise). */
export function tokenOf(a: HostingAnswer): string {
  if (a.lines[0]?.[0] !== 'success' || a.lines[1]?.[0] !== 'token') throw new Error(`not a token answer: ${JSON.stringify(a.text)}`);
  return a.lines[2]![0]!;
}

/** The rows of a list_users answer, as `user@domain password status`. */
export function usersOf(a: HostingAnswer): string[] {
  if (a.lines[0]?.[0] !== 'success') throw new Error(`not a success: ${JSON.stringify(a.text)}`);
  return a.lines.slice(2).map(([u, d, p, s]) => `${u}@${d} ${p} ${s}`);
}
