/**
 * The issuer's few HTML pages (login, consent, logout, errors) are plain server-rendered strings: no template
 * engine and no script. Everything that varies goes through `escapeHtml`, and the only style is one inline
 * stylesheet allowed by its hash in the Content-Security-Policy.
 */
import { createHash } from 'node:crypto';

/** Escapes text for HTML content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A piece of markup that is already safe (built from escaped parts). */
export interface Html {
  readonly html: string;
}

const isHtml = (value: unknown): value is Html => typeof value === 'object' && value !== null && 'html' in value;

/** A tagged template that escapes every interpolated value unless it is already Html; arrays are joined. */
export function html(strings: TemplateStringsArray, ...values: Array<string | number | Html | Html[] | undefined | false>): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    if (Array.isArray(value)) out += value.map((item) => item.html).join('');
    else if (isHtml(value)) out += value.html;
    else if (value !== undefined && value !== false) out += escapeHtml(String(value));
    out += strings[i + 1]!;
  });
  return { html: out };
}

const CSS = `
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:100%;line-height:1.5;color:#1b1f24;background:#eef1f5}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1.5rem}
main{width:100%;max-width:24rem;background:#fff;border:1px solid #d0d7de;border-radius:.75rem;padding:2rem;box-shadow:0 1px 3px rgba(27,31,36,.08)}
.brand{margin:0 0 1.5rem;font-size:.875rem;font-weight:600;letter-spacing:.04em;text-transform:uppercase;color:#57606a}
h1{margin:0 0 .5rem;font-size:1.5rem;line-height:1.25}
p{margin:0 0 1rem}
.lead{color:#57606a}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input[type=text],input[type=password]{width:100%;padding:.625rem .75rem;font:inherit;border:1px solid #8c959f;border-radius:.375rem}
input:focus,button:focus{outline:3px solid #0969da;outline-offset:2px}
button{display:inline-block;margin-top:1.5rem;padding:.625rem 1.25rem;font:inherit;font-weight:600;color:#fff;background:#0b5cad;border:1px solid #0b5cad;border-radius:.375rem;cursor:pointer}
button.secondary{color:#1b1f24;background:#f6f8fa;border-color:#8c959f}
.actions{display:flex;gap:.75rem;flex-wrap:wrap}
.actions button{flex:1}
.error{padding:.75rem 1rem;color:#82071e;background:#ffebe9;border:1px solid #ff8182;border-radius:.375rem}
ul.scopes{margin:0 0 1rem;padding-left:1.25rem}
ul.scopes li{margin:.25rem 0}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em;background:#f6f8fa;padding:.1em .3em;border-radius:.25rem}
.note{font-size:.875rem;color:#57606a;margin-top:1.5rem}
a{color:#0b5cad}
`.trim();

/** CSP 3 hash-source of the stylesheet: the only style the pages may use. */
const STYLE_HASH = `'sha256-${createHash('sha256').update(CSS, 'utf8').digest('base64')}'`;

/**
 * The Content-Security-Policy of every page: nothing may load or run (no script at all), the stylesheet only by
 * its hash, no framing (clickjacking), no <base>. `form-action` lists where the page's form may go: the issuer
 * itself and, because Chromium applies form-action to the redirect that answers a form post too, the origins
 * that answer may redirect to (the client's redirect URI after a login or a consent).
 */
export function contentSecurityPolicy(formTargets: readonly string[] = []): string {
  const targets = ["'self'", ...new Set(formTargets)].join(' ');
  return `default-src 'none'; style-src ${STYLE_HASH}; img-src 'none'; form-action ${targets}; frame-ancestors 'none'; base-uri 'none'`;
}

/** A whole page. */
export function layout(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Gatehouse</title>
<style>${{ html: CSS }}</style>
</head>
<body>
<main>
<p class="brand">Gatehouse</p>
${body}
</main>
</body>
</html>
`.html;
}
