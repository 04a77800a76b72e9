const TEXT_TEST = /[&<>]/;
const TEXT_ALL = /[&<>]/g;
const ATTR_TEST = /[&<>"']/;
const ATTR_ALL = /[&<>"']/g;
const REPLACEMENTS: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;',
};
const replace = (c: string): string => REPLACEMENTS[c]!;

export function escapeText(s: string): string {
  return TEXT_TEST.test(s) ? s.replace(TEXT_ALL, replace) : s;
}

export function escapeAttr(s: string): string {
  return ATTR_TEST.test(s) ? s.replace(ATTR_ALL, replace) : s;
}
