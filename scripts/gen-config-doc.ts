// Generates docs/config.md from the zod schema's .describe() texts, so the reference cannot drift
// from the code. `node dist/scripts/gen-config-doc.js` writes it; `--check` only compares.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { configSchema } from "../src/config/schema.js";
import { packageRoot } from "../src/paths.js";

/** Where the generated reference and the example it embeds live, relative to the package root. */
export const CONFIG_DOC_PATH = "docs/config.md";
export const EXAMPLE_CONFIG_PATH = "config/depositd.example.yaml";

// A structural view of zod 4 internals: enough to walk the schema without depending on its classes.
interface ZodNode {
  _zod: { def: Record<string, unknown> & { type: string } };
  description?: string;
  minValue?: number | null;
  maxValue?: number | null;
  isInt?: boolean;
  minLength?: number | null;
  maxLength?: number | null;
}

/** One condition under which a key applies: a discriminator and the values it must have. */
interface Condition {
  key: string;
  values: string[];
}

export interface ConfigKeyDoc {
  /** `chains[].pool.xpub`: `.` nests, `[]` is a list item */
  path: string;
  type: string;
  /** undefined: required; null: optional without default; else the default as JSON text */
  default: string | null | undefined;
  description: string;
  /** discriminator values this key applies to (empty: always) */
  when: Condition[];
}

const def = (s: ZodNode) => s._zod.def;

function unwrap(schema: ZodNode): {
  inner: ZodNode;
  description: string | undefined;
  optional: boolean;
  defaultValue: unknown;
  hasDefault: boolean;
} {
  let s = schema;
  let description = s.description;
  let optional = false;
  let hasDefault = false;
  let defaultValue: unknown;
  for (;;) {
    const d = def(s);
    if (d.type === "optional" || d.type === "nullable" || d.type === "readonly") {
      if (d.type === "optional") optional = true;
    } else if (d.type === "default" || d.type === "prefault") {
      if (!hasDefault) {
        hasDefault = true;
        defaultValue = d.defaultValue;
      }
    } else break;
    s = d.innerType as ZodNode;
    description ??= s.description;
  }
  return { inner: s, description, optional, defaultValue, hasDefault };
}

function checksOf(s: ZodNode): Record<string, unknown>[] {
  const checks = (def(s).checks as { _zod: { def: Record<string, unknown> } }[] | undefined) ?? [];
  return checks.map((c) => c._zod.def);
}

// zod's int() bounds a number to the safe-integer range: that is no bound worth printing
const bounded = (n: number | null | undefined): n is number =>
  typeof n === "number" && Number.isFinite(n) && Math.abs(n) < Number.MAX_SAFE_INTEGER;

function range(min: number | null | undefined, max: number | null | undefined): string {
  const lo = bounded(min) ? min : undefined;
  const hi = bounded(max) ? max : undefined;
  if (lo !== undefined && hi !== undefined) return ` ${lo}–${hi}`;
  if (lo !== undefined) return ` ≥ ${lo}`;
  if (hi !== undefined) return ` ≤ ${hi}`;
  return "";
}

function isSecretRef(s: ZodNode): boolean {
  const d = def(s);
  if (d.type !== "union") return false;
  const keys = (d.options as ZodNode[]).map((o) =>
    def(o).type === "object" ? Object.keys(def(o).shape as object).join(",") : def(o).type,
  );
  return keys.length === 3 && keys.includes("string") && keys.includes("env") && keys.includes("file");
}

function typeOf(s: ZodNode): string {
  const d = def(s);
  switch (d.type) {
    case "string": {
      // a check's own message ("must be host:port, …") reads better than its regex
      const rules = checksOf(s)
        .map((c) => {
          const message =
            typeof c.error === "function" ? (c.error as (i: unknown) => unknown)({}) : undefined;
          if (typeof message === "string") return message;
          if (c.format === "regex" && c.pattern instanceof RegExp) return `matching \`${c.pattern.source}\``;
          return undefined;
        })
        .filter((r): r is string => r !== undefined);
      const len = s.minLength && s.minLength > 1 ? `${range(s.minLength, s.maxLength).trim()} chars` : "";
      const all = [len, ...rules].filter(Boolean);
      return all.length ? `string (${all.join("; ")})` : "string";
    }
    case "number":
      return `${s.isInt ? "integer" : "number"}${range(s.minValue, s.maxValue)}`;
    case "boolean":
      return "boolean";
    case "literal":
      return (d.values as unknown[]).map((v) => `\`${String(v)}\``).join(" or ");
    case "enum":
      return Object.values(d.entries as Record<string, string>)
        .map((v) => `\`${v}\``)
        .join(", ");
    case "array": {
      const element = unwrap(d.element as ZodNode).inner;
      const min = checksOf(s).find((c) => c.check === "min_length")?.minimum;
      const max = checksOf(s).find((c) => c.check === "max_length")?.maximum;
      const count =
        typeof min === "number" || typeof max === "number"
          ? ` (${range(min as number | undefined, max as number | undefined).trim()} items)`
          : "";
      const inner = def(element).type === "object" ? "object" : typeOf(element);
      return `list of ${inner}${count}`;
    }
    case "record":
      return `map of ${typeOf(d.keyType as ZodNode)} → ${typeOf(unwrap(d.valueType as ZodNode).inner)}`;
    case "object":
      return "object";
    case "union": {
      if (isSecretRef(s)) return "[secret](#secrets)";
      if (d.discriminator) return `object, by \`${String(d.discriminator)}\``;
      return (d.options as ZodNode[]).map((o) => typeOf(unwrap(o).inner)).join(", or ");
    }
    default:
      return d.type;
  }
}

function walk(schema: ZodNode, path: string, rows: ConfigKeyDoc[]): void {
  const { inner, description, optional, defaultValue, hasDefault } = unwrap(schema);
  const d = def(inner);
  if (path) {
    let dflt: string | null | undefined = undefined;
    if (hasDefault) dflt = d.type === "object" ? null : JSON.stringify(defaultValue);
    else if (optional) dflt = null;
    rows.push({ path, type: typeOf(inner), default: dflt, description: description ?? "", when: [] });
  }
  if (d.type === "object") {
    for (const [key, child] of Object.entries(d.shape as Record<string, ZodNode>))
      walk(child, path ? `${path}.${key}` : key, rows);
  } else if (d.type === "array") {
    const element = unwrap(d.element as ZodNode).inner;
    const t = def(element).type;
    if (t === "object" || (t === "union" && def(element).discriminator))
      walkChildren(element, `${path}[]`, rows);
  } else if (d.type === "union" && d.discriminator) {
    walkChildren(inner, path, rows);
  }
}

/** The keys inside an object or discriminated union, without a row for the container itself. */
function walkChildren(schema: ZodNode, path: string, rows: ConfigKeyDoc[]): void {
  const d = def(schema);
  if (d.type === "object") {
    for (const [key, child] of Object.entries(d.shape as Record<string, ZodNode>))
      walk(child, `${path}.${key}`, rows);
    return;
  }
  const key = String(d.discriminator);
  const options = d.options as ZodNode[];
  const perOption = options.map((option) => {
    const literal = (def(option).shape as Record<string, ZodNode>)[key]!;
    const value = String((def(unwrap(literal).inner).values as unknown[])[0]);
    const own: ConfigKeyDoc[] = [];
    walkChildren(option, path, own);
    return { value, rows: own };
  });
  const all = perOption.map((o) => o.value);
  // rows that read the same in several options are listed once, with the options they apply to
  const merged = new Map<string, { row: ConfigKeyDoc; values: string[] }>();
  for (const o of perOption) {
    for (const r of o.rows) {
      const discriminatorRow = r.path === `${path}.${key}`;
      const sig = JSON.stringify([r.path, discriminatorRow ? "" : r.type, r.default, r.description, r.when]);
      const m = merged.get(sig);
      if (m) {
        m.values.push(o.value);
        if (discriminatorRow) m.row.type = `${m.row.type}, ${r.type}`;
      } else merged.set(sig, { row: { ...r, when: [...r.when] }, values: [o.value] });
    }
  }
  // keys shared by every option first, then each option's own keys (its discriminator row leading)
  const shared: ConfigKeyDoc[] = [];
  const own = new Map<string, ConfigKeyDoc[]>(all.map((v) => [v, []]));
  for (const { row, values } of merged.values()) {
    const discriminatorRow = row.path === `${path}.${key}`;
    if (discriminatorRow) row.description = row.description || `selects which keys below apply`;
    if (values.length === all.length) shared.push(row);
    else if (discriminatorRow) own.get(values[0]!)!.unshift(row);
    else {
      row.when.unshift({ key, values });
      own.get(values[0]!)!.push(row);
    }
  }
  rows.push(...shared, ...[...own.values()].flat());
}

/** Every documented key, in schema order. */
export function configKeys(): ConfigKeyDoc[] {
  const rows: ConfigKeyDoc[] = [];
  walk(configSchema as unknown as ZodNode, "", rows);
  return rows;
}

/** Keys whose schema has no .describe() text (the lead fills them in src/config/schema.ts). */
export function undocumentedKeys(): string[] {
  return configKeys()
    .filter((k) => !k.description)
    .map((k) => k.path);
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function renderRow(k: ConfigKeyDoc): string {
  const when = k.when.map((c) => `${c.key}: ${c.values.join(" or ")}`).join("; ");
  const description = `${when ? `*(only when ${when})* ` : ""}${k.description || "—"}`;
  const dflt = k.default === undefined ? "**required**" : k.default === null ? "—" : `\`${k.default}\``;
  return `| \`${k.path}\` | ${cell(k.type)} | ${cell(dflt)} | ${cell(description)} |`;
}

const INTRO = `# Configuration reference

<!-- GENERATED by scripts/gen-config-doc.ts from src/config/schema.ts and ${EXAMPLE_CONFIG_PATH}.
     Do not edit by hand: change the schema's .describe() texts, then run \`npm run gen:config-doc\`. -->

depositd reads one YAML or JSON file: \`--config FILE\`, or the environment variable
\`DEPOSITD_CONFIG\`, default \`config/depositd.yaml\` (relative to the working directory). It is
validated completely at start; a bad file stops the daemon (exit code 2) with every problem
listed by path, for example \`chains[1].rpc[0]: must be an http(s) URL\`. Check a file without
starting anything:

\`\`\`sh
depositd --config /etc/depositd/depositd.yaml config check
\`\`\`

Unknown keys are errors (a typo never silently falls back to a default). Relative paths
(\`database.path\`, \`chains[].pool.file\`, secret files) are resolved against the working
directory of the process; the systemd unit runs in \`/var/lib/depositd\`, so prefer absolute
paths there.

How to read the tables: \`a.b\` is key \`b\` inside object \`a\`; \`a[]\` is an item of list \`a\`;
*only when kind: evm* marks keys that apply to one variant of a list item. The default column
says **required**, a default value, or — (optional, no default).

## Secrets

Every key typed *secret* takes one of three forms:

| form | example | when to use |
|---|---|---|
| literal string | \`value: "whsec_…"\` | tests and throw-away setups only: the file then holds the secret |
| \`{ env: NAME }\` | \`value: { env: DEPOSITD_CALLBACK_SECRET }\` | containers, \`EnvironmentFile=\` |
| \`{ file: PATH }\` | \`value: { file: /run/credentials/depositd.service/callback-secret }\` | systemd \`LoadCredential=\` (see [install.md](install.md)) |

A secret file is read once at start and trimmed of surrounding whitespace. A missing variable
or unreadable file is reported like any other config problem, by path. Secrets never appear
in logs. \`api.keys[].sha256\` may also be a secret reference whose content is the
64-hex-digit sha256 of the bearer key (the key itself is never stored).
`;

/** The whole of docs/config.md. */
export function renderConfigDoc(root = packageRoot()): string {
  const keys = configKeys();
  const sections: string[] = [INTRO];
  const roots = keys.filter((k) => !k.path.includes(".") && !k.path.includes("["));
  for (const r of roots) {
    const own = keys.filter(
      (k) => k.path === r.path || k.path.startsWith(`${r.path}.`) || k.path.startsWith(`${r.path}[]`),
    );
    const lead = r.description ? `${r.description.charAt(0).toUpperCase()}${r.description.slice(1)}.` : "";
    const requiredness =
      r.default === undefined
        ? "This section is **required**."
        : "This section is optional; every key in it has a default.";
    sections.push(
      [
        `## ${r.path}`,
        "",
        `${lead}${lead ? " " : ""}${r.type.startsWith("list") ? `A ${r.type.replace(/^list/, "list")}.` : ""} ${requiredness}`.trim(),
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
        ...own.map(renderRow),
        "",
      ].join("\n"),
    );
  }
  const example = readFileSync(join(root, EXAMPLE_CONFIG_PATH), "utf8").trimEnd();
  sections.push(
    [
      "## Example",
      "",
      `A complete configuration for Ethereum (ETH and USDT), Tron (TRX and USDT) and Bitcoin,`,
      `from [\`${EXAMPLE_CONFIG_PATH}\`](../${EXAMPLE_CONFIG_PATH}) (a test validates it):`,
      "",
      "```yaml",
      example,
      "```",
      "",
    ].join("\n"),
  );
  return sections.join("\n");
}

function main(argv: string[]): void {
  const root = packageRoot();
  const target = join(root, CONFIG_DOC_PATH);
  const text = renderConfigDoc(root);
  if (argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(target, "utf8");
    } catch {
      // a missing file is out of date
    }
    if (current !== text) {
      console.error(`${CONFIG_DOC_PATH} is out of date: run \`npm run gen:config-doc\``);
      process.exit(1);
    }
    console.log(`${CONFIG_DOC_PATH} is current`);
    return;
  }
  writeFileSync(target, text);
  const missing = undocumentedKeys();
  console.log(`wrote ${CONFIG_DOC_PATH} (${configKeys().length} keys)`);
  if (missing.length) console.warn(`keys without a .describe(): ${missing.join(", ")}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
