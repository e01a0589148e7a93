// A small checker for the OpenAPI 3.1 essentials and a JSON Schema subset (the keywords zod's
// z.toJSONSchema emits for src/api/schemas.ts), so the document is validated without a new dependency.
type Obj = Record<string, unknown>;

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Resolves a local JSON pointer ("#/components/schemas/Order"); undefined when it dangles. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  let at: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (!isObj(at) || !(key in at)) return undefined;
    at = at[key];
  }
  return at;
}

export interface Operation {
  method: string;
  path: string;
  op: Obj;
}

export function operations(doc: Obj): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries((doc.paths as Obj | undefined) ?? {})) {
    if (!isObj(item)) continue;
    for (const m of METHODS)
      if (isObj(item[m])) out.push({ method: m.toUpperCase(), path, op: item[m] as Obj });
  }
  return out;
}

/** Problems with the document's structure; empty when it is sound. */
export function checkOpenApi(doc: unknown): string[] {
  const problems: string[] = [];
  if (!isObj(doc)) return ["document is not an object"];
  if (typeof doc.openapi !== "string" || !/^3\.1\.\d+$/.test(doc.openapi))
    problems.push(`openapi: must be 3.1.x, is ${String(doc.openapi)}`);
  const info = doc.info;
  if (!isObj(info) || typeof info.title !== "string" || typeof info.version !== "string")
    problems.push("info: needs title and version");
  if (!isObj(doc.paths) || Object.keys(doc.paths).length === 0) problems.push("paths: missing or empty");
  const components = isObj(doc.components) ? doc.components : {};
  const schemes = isObj(components.securitySchemes) ? components.securitySchemes : {};

  // every $ref anywhere resolves
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}[${i}]`));
    if (!isObj(node)) return;
    if (typeof node.$ref === "string" && resolvePointer(doc, node.$ref) === undefined)
      problems.push(`${at}: $ref ${node.$ref} does not resolve`);
    for (const [k, v] of Object.entries(node)) walk(v, `${at}/${k}`);
  };
  walk(doc, "#");

  const checkSecurity = (sec: unknown, at: string) => {
    if (sec === undefined) return;
    if (!Array.isArray(sec)) return void problems.push(`${at}: security must be a list`);
    for (const req of sec)
      for (const name of Object.keys(isObj(req) ? req : {}))
        if (!(name in schemes)) problems.push(`${at}: security scheme ${name} is not in components`);
  };
  checkSecurity(doc.security, "security");

  const ids = new Set<string>();
  for (const { method, path, op } of operations(doc)) {
    const at = `${method} ${path}`;
    if (!path.startsWith("/")) problems.push(`${at}: path must start with /`);
    if (typeof op.operationId !== "string") problems.push(`${at}: no operationId`);
    else if (ids.has(op.operationId)) problems.push(`${at}: duplicate operationId ${op.operationId}`);
    else ids.add(op.operationId);
    checkSecurity(op.security, at);
    const responses = op.responses;
    if (!isObj(responses) || Object.keys(responses).length === 0) {
      problems.push(`${at}: no responses`);
      continue;
    }
    for (const [code, r0] of Object.entries(responses)) {
      if (!/^([1-5][0-9]{2}|[1-5]XX|default)$/.test(code)) problems.push(`${at}: bad response code ${code}`);
      const r = isObj(r0) && typeof r0.$ref === "string" ? resolvePointer(doc, r0.$ref) : r0;
      if (!isObj(r) || typeof r.description !== "string")
        problems.push(`${at} ${code}: a response needs a description`);
      else if (isObj(r.content))
        for (const [type, media] of Object.entries(r.content))
          if (!isObj(media) || !isObj(media.schema)) problems.push(`${at} ${code} ${type}: no schema`);
    }
    // every {param} in the path is declared as a required path parameter, and nothing else is
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const params = (Array.isArray(op.parameters) ? op.parameters : []).map((p) =>
      isObj(p) && typeof p.$ref === "string" ? resolvePointer(doc, p.$ref) : p,
    );
    for (const p of params) {
      if (
        !isObj(p) ||
        typeof p.name !== "string" ||
        !["path", "query", "header", "cookie"].includes(String(p.in))
      )
        problems.push(`${at}: a parameter needs name and in`);
      else if (!isObj(p.schema)) problems.push(`${at}: parameter ${p.name} has no schema`);
      else if (p.in === "path" && (!templated.includes(p.name) || p.required !== true))
        problems.push(`${at}: path parameter ${p.name} must appear in the path and be required`);
    }
    for (const name of templated)
      if (!params.some((p) => isObj(p) && p.in === "path" && p.name === name))
        problems.push(`${at}: {${name}} is not declared as a path parameter`);
    if (op.requestBody !== undefined) {
      const body = op.requestBody as Obj;
      if (!isObj(body) || !isObj(body.content) || Object.keys(body.content).length === 0)
        problems.push(`${at}: requestBody needs content`);
    }
  }
  return problems;
}

const TYPE_OF = (v: unknown): string =>
  v === null
    ? "null"
    : Array.isArray(v)
      ? "array"
      : typeof v === "number"
        ? Number.isInteger(v)
          ? "integer"
          : "number"
        : typeof v;

/** Property names a schema declares, through $ref and allOf. */
function declaredKeys(doc: unknown, schema: unknown): Set<string> | null {
  if (!isObj(schema)) return null;
  if (typeof schema.$ref === "string") return declaredKeys(doc, resolvePointer(doc, schema.$ref));
  if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) return null;
  const keys = new Set<string>(Object.keys(isObj(schema.properties) ? schema.properties : {}));
  let any = isObj(schema.properties);
  for (const part of Array.isArray(schema.allOf) ? schema.allOf : []) {
    const k = declaredKeys(doc, part);
    if (k === null) return null;
    any = true;
    for (const x of k) keys.add(x);
  }
  return any ? keys : null;
}

export interface ValidateOptions {
  /** undeclared properties are errors (catches response fields the document does not describe) */
  strict?: boolean;
}

/** Problems of `value` against a JSON Schema (2020-12 subset); empty when it conforms. */
export function validateSchema(
  doc: unknown,
  schema: unknown,
  value: unknown,
  at = "$",
  opts: ValidateOptions = {},
  nested = false,
): string[] {
  if (schema === true || schema === undefined) return [];
  if (schema === false) return [`${at}: no value allowed`];
  if (!isObj(schema)) return [`${at}: bad schema`];
  const out: string[] = [];
  if (opts.strict && !nested && isObj(value)) {
    const keys = declaredKeys(doc, schema);
    if (keys)
      for (const k of Object.keys(value)) if (!keys.has(k)) out.push(`${at}: undocumented property ${k}`);
  }
  if (typeof schema.$ref === "string") {
    const target = resolvePointer(doc, schema.$ref);
    if (target === undefined) return [`${at}: $ref ${schema.$ref} does not resolve`];
    out.push(...validateSchema(doc, target, value, at, opts, true));
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const actual = TYPE_OF(value);
    if (!types.includes(actual) && !(actual === "integer" && types.includes("number")))
      return [...out, `${at}: expected ${types.join("|")}, got ${actual}`];
  }
  if ("const" in schema && JSON.stringify(schema.const) !== JSON.stringify(value))
    out.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    out.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === "string") {
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value))
      out.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    if (
      schema.format === "date-time" &&
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)
    )
      out.push(`${at}: ${JSON.stringify(value)} is not an RFC 3339 date-time`);
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) out.push(`${at}: too long`);
    if (typeof schema.minLength === "number" && value.length < schema.minLength) out.push(`${at}: too short`);
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum)
      out.push(`${at}: below ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum)
      out.push(`${at}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.items !== undefined)
      value.forEach((v, i) => out.push(...validateSchema(doc, schema.items, v, `${at}[${i}]`, opts)));
    if (typeof schema.minItems === "number" && value.length < schema.minItems)
      out.push(`${at}: too few items`);
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems)
      out.push(`${at}: too many items`);
  }
  if (isObj(value)) {
    const props = isObj(schema.properties) ? schema.properties : {};
    for (const r of Array.isArray(schema.required) ? (schema.required as string[]) : [])
      if (!(r in value)) out.push(`${at}: missing ${r}`);
    for (const [k, v] of Object.entries(value)) {
      if (k in props) out.push(...validateSchema(doc, props[k], v, `${at}.${k}`, opts));
      else if (schema.additionalProperties === false) out.push(`${at}: undocumented property ${k}`);
      else if (schema.additionalProperties !== undefined && schema.additionalProperties !== false)
        out.push(...validateSchema(doc, schema.additionalProperties, v, `${at}.${k}`, opts));
    }
    if (typeof schema.maxProperties === "number" && Object.keys(value).length > schema.maxProperties)
      out.push(`${at}: too many properties`);
  }
  if (Array.isArray(schema.allOf))
    for (const s of schema.allOf) out.push(...validateSchema(doc, s, value, at, opts, true));
  if (Array.isArray(schema.anyOf)) {
    const results = schema.anyOf.map((s) => validateSchema(doc, s, value, at, opts));
    if (!results.some((r) => r.length === 0))
      out.push(`${at}: matches none of anyOf: ${results.map((r) => r[0]).join(" / ")}`);
  }
  if (Array.isArray(schema.oneOf)) {
    const results = schema.oneOf.map((s) => validateSchema(doc, s, value, at, opts));
    const passing = results.filter((r) => r.length === 0).length;
    if (passing !== 1)
      out.push(
        `${at}: matches ${passing} of oneOf (exactly one needed)${passing === 0 ? `: ${results.map((r) => r[0]).join(" / ")}` : ""}`,
      );
  }
  return [...new Set(out)];
}
