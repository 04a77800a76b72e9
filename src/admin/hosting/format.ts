import { escapeText } from '../../xmpp/xml/escape.js';
import type { Codec } from '../../http/codecs.js';

/**
 * An answer of the hosting API before it is written: a table (a header row of column names, then
 * rows), or an error code with optional detail.
 */
export type Answer = { ok: true; columns: readonly string[]; rows: readonly (readonly string[])[] } | { ok: false; code: string; detail?: string };

export type Format = 'tab' | 'json' | 'xml';

export const FORMATS: readonly Format[] = ['tab', 'json', 'xml'];

/**
 * The tab format (the default): `success` or `error` on the first line, then the tab-separated
 * header row and rows; an error's code on the second line, with its detail after a tab.
 */
function tab(a: Answer): string {
  if (!a.ok) return `error\n${a.code}${a.detail === undefined ? '' : `\t${a.detail}`}\n`;
  return ['success', a.columns.join('\t'), ...a.rows.map((r) => r.join('\t'))].join('\n') + '\n';
}

function records(a: Extract<Answer, { ok: true }>): Record<string, string>[] {
  return a.rows.map((r) => Object.fromEntries(a.columns.map((c, i) => [c, r[i] ?? ''])));
}

/** `{"data": [{column: value}...], "result": "success"}`; an error's data is its code, its detail the reason. */
function json(a: Answer): string {
  if (!a.ok) return JSON.stringify({ data: a.code, result: 'error', ...(a.detail === undefined ? {} : { reason: a.detail }) });
  return JSON.stringify({ data: records(a), result: 'success' });
}

/** `<dreamhost>` with one `<data>` per row (an element per column), then `<result>`. */
function xml(a: Answer): string {
  const head = '<?xml version="1.0" encoding="UTF-8"?>\n<dreamhost>\n';
  if (!a.ok) {
    const reason = a.detail === undefined ? '' : `  <reason>${escapeText(a.detail)}</reason>\n`;
    return `${head}  <data>${escapeText(a.code)}</data>\n${reason}  <result>error</result>\n</dreamhost>\n`;
  }
  const rows = records(a)
    .map((r) => `  <data>\n${Object.entries(r).map(([k, v]) => `    <${k}>${escapeText(v)}</${k}>\n`).join('')}  </data>\n`)
    .join('');
  return `${head}${rows}  <result>${'success'}</result>\n</dreamhost>\n`;
}

const render: Record<Format, (a: Answer) => string> = { tab, json, xml };

/** The codec writing answers in a format (the layer only writes: answers are Answer values). */
export function answerCodec(format: Format): Codec {
  const contentType = format === 'tab' ? 'text/plain; charset=utf-8' : format === 'json' ? 'application/json' : 'application/xml; charset=utf-8';
  return {
    mediaType: contentType.split(';')[0]!,
    contentType,
    decode: () => {
      throw new Error('answers only');
    },
    encode: (value) => render[format](value as Answer),
  };
}
