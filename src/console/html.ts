// Escaped HTML by construction: every ${value} in html`` is escaped unless it is already Html.
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESC: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]!);

type Part = Html | string | number | null | undefined | false | readonly Part[];

function text(p: Part): string {
  if (p === null || p === undefined || p === false) return "";
  if (p instanceof Html) return p.text;
  if (Array.isArray(p)) return p.map(text).join("");
  return escapeHtml(String(p));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => (out += text(v) + strings[i + 1]!));
  return new Html(out);
}
