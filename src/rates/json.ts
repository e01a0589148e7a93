// JSON parsed with every number kept as its source text: a price sent as a JSON number must never
// pass through a float (JSON.parse would round 0.1 + 0.2-style digits before we saw them).

/** A JSON number, exactly as written in the response. */
export interface JsonNumber {
  readonly number: string;
}
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | { [k: string]: JsonValue };

export class JsonTextError extends Error {
  override name = "JsonTextError";
}

const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

export function isJsonNumber(v: unknown): v is JsonNumber {
  return typeof v === "object" && v !== null && NUMBER_PROTO.has(v);
}
// numbers are created only by the parser: a response object {"number": "1"} is never mistaken for one
const NUMBER_PROTO = new WeakSet<object>();

/** Parse JSON text (RFC 8259) with numbers as text. Throws JsonTextError on anything else. */
export function parseJsonText(text: string, maxDepth = 32): JsonValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonTextError(`not JSON: ${what} at offset ${i}`);
  };
  const ws = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t"))
      i++;
  };
  const str = (): string => {
    i++; // opening quote
    let out = "";
    for (;;) {
      const c = text[i];
      if (c === undefined) return fail("unterminated string");
      if (c === '"') {
        i++;
        return out;
      }
      if (c === "\\") {
        const e = text[i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          "\\": "\\",
          "/": "/",
          b: "\b",
          f: "\f",
          n: "\n",
          r: "\r",
          t: "\t",
        };
        if (e !== undefined && e in simple) {
          out += simple[e];
          i += 2;
        } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else fail("bad escape");
        continue;
      }
      if (c < " ") fail("control character in string");
      out += c;
      i++;
    }
  };
  const value = (depth: number): JsonValue => {
    if (depth > maxDepth) fail("too deeply nested");
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>;
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a key");
        const k = str();
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        obj[k] = value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail("unexpected character");
    i += m[0].length;
    const n = { number: m[0] };
    NUMBER_PROTO.add(n);
    return n;
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail("trailing characters");
  return v;
}

export type JsonObject = { [k: string]: JsonValue };
export const isObject = (v: JsonValue | undefined): v is JsonObject =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !NUMBER_PROTO.has(v);
