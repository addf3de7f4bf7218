/**
 * A strict application/x-www-form-urlencoded decoder. URLSearchParams quietly turns a bad percent-escape or
 * invalid UTF-8 into U+FFFD and keeps the last of repeated names; an issuer must refuse such input instead
 * (RFC 6749 §3.2: parameters "MUST NOT be included more than once").
 */
export class FormDecodeError extends Error {
  override readonly name = 'FormDecodeError';
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/** Decodes one name or value: `+` is a space, `%XX` a byte, and the bytes must be UTF-8 without NUL. */
export function decodeFormComponent(input: Uint8Array): string {
  const out = new Uint8Array(input.length);
  let length = 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!;
    if (byte === 0x2b) {
      out[length++] = 0x20;
    } else if (byte === 0x25) {
      const high = hexValue(input[i + 1] ?? -1);
      const low = hexValue(input[i + 2] ?? -1);
      if (high < 0 || low < 0) throw new FormDecodeError('invalid percent-encoding');
      out[length++] = (high << 4) | low;
      i += 2;
    } else {
      out[length++] = byte;
    }
  }
  let text: string;
  try {
    text = utf8.decode(out.subarray(0, length));
  } catch {
    throw new FormDecodeError('parameters must be UTF-8');
  }
  if (text.includes('\0')) throw new FormDecodeError('parameters must not contain NUL');
  return text;
}

export function decodeFormString(input: string): string {
  return decodeFormComponent(Buffer.from(input, 'utf8'));
}

/**
 * Parses a whole body. A parameter sent without a value counts as omitted (RFC 6749 §3.2) but still counts as
 * sent for the repetition check.
 */
export function parseForm(body: Uint8Array): Map<string, string> {
  const { params, repeated } = parseQuery(body);
  const [first] = repeated;
  if (first !== undefined) throw new FormDecodeError(`parameter repeated: ${printable(first)}`);
  return params;
}

/**
 * Like parseForm, but reports repeated names instead of refusing them: the authorization endpoint must know
 * whether client_id and redirect_uri are trustworthy before it decides how to answer (RFC 6749 §4.1.2.1).
 * A repeated name keeps its first value.
 */
export function parseQuery(body: Uint8Array): { params: Map<string, string>; repeated: Set<string> } {
  const params = new Map<string, string>();
  const seen = new Set<string>();
  const repeated = new Set<string>();
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(0x26, start); // '&'
    if (end === -1) end = body.length;
    if (end > start) {
      const pair = body.subarray(start, end);
      const equals = pair.indexOf(0x3d); // '='
      const name = decodeFormComponent(equals === -1 ? pair : pair.subarray(0, equals));
      const value = equals === -1 ? '' : decodeFormComponent(pair.subarray(equals + 1));
      if (seen.has(name)) repeated.add(name);
      else if (value !== '') params.set(name, value);
      seen.add(name);
    }
    start = end + 1;
  }
  return { params, repeated };
}

/** A parameter name as it may appear in an error description (RFC 6749 §5.2 characters only). */
export function printable(name: string): string {
  const safe = name.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?');
  return safe.length > 64 ? `${safe.slice(0, 64)}...` : safe;
}
