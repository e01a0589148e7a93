// The OpenAPI 3.1 document, generated from the route table and its zod schemas (served at
// GET /openapi.json). Generated with zod 4's own z.toJSONSchema rather than @fastify/swagger + a
// zod type provider: the schemas are already zod, zod emits JSON Schema 2020-12 (what OpenAPI 3.1
// uses) itself, and the document then needs no fastify plugin, no second copy of the schemas
// in fastify's route options, and stays one pure function a test can call without a server.
import { z } from "zod";
import { PROBLEMS, type ProblemCode } from "../errors.js";
import type { Route } from "./routes.js";
import { components } from "./schemas.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type OpenApiDocument = { [key: string]: Json };

const REF = "#/components/schemas/";
const json = (schema: Json) => ({ "application/json": { schema } });

/** Problems every operation with a bearer key, and every one that reads a body, can answer. */
const AUTH_PROBLEMS: ProblemCode[] = ["unauthorized", "forbidden", "unavailable", "internal"];
const BODY_PROBLEMS: ProblemCode[] = [
  "validation",
  "bad_json",
  "payload_too_large",
  "unsupported_media_type",
];

/** Bodies and answers are named components (one schema per shape): referenced, never inlined. */
function schemaOf(schema: z.ZodType): Json {
  const id = components.get(schema)?.id;
  if (!id) throw new Error("a request or response schema must be registered in components (schemas.ts)");
  return { $ref: REF + id };
}

/** path and query parameters, from the object schemas of a route */
function parameters(r: Route): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ["path", r.params],
    ["query", r.query],
  ] as const) {
    if (!schema) continue;
    const obj = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }) as {
      properties?: Record<string, Record<string, Json>>;
      required?: string[];
    };
    for (const [name, prop] of Object.entries(obj.properties ?? {})) {
      const { description, ...rest } = prop;
      out.push({
        name,
        in: where,
        ...(where === "path" || obj.required?.includes(name) ? { required: true } : {}),
        ...(description !== undefined ? { description } : {}),
        schema: rest,
      });
    }
  }
  return out;
}

function responses(r: Route): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [status, spec] of Object.entries(r.responses)) {
    const content = spec.type
      ? Object.fromEntries(
          [spec.type, ...(spec.alsoTypes ?? [])].map((m) => [m, { schema: { type: "string" } }]),
        )
      : spec.schema
        ? json(schemaOf(spec.schema))
        : status === "200" && r.method === "GET"
          ? json({ type: "object" })
          : undefined;
    out[status] = { description: spec.description, ...(content ? { content } : {}) };
  }
  const codes = new Set<ProblemCode>([
    ...r.problems,
    ...(r.body ? BODY_PROBLEMS : []),
    ...(r.auth ? AUTH_PROBLEMS : []),
  ]);
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of codes)
    byStatus.set(PROBLEMS[code].status, [...(byStatus.get(PROBLEMS[code].status) ?? []), code]);
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = {
      description: list.map((c) => `\`${c}\`: ${PROBLEMS[c].when}`).join("; "),
      content: { "application/problem+json": { schema: { $ref: `${REF}Problem` } } },
    };
  }
  return out;
}

/** The route's description, and who may call it (docs/api.md "Keys and roles"). */
function describe(r: Route): string {
  const who = r.access
    ? `Needs a key with the ${r.access.scope} scope${r.access.role === "operator" ? " and the operator role" : ""}.`
    : "";
  return [r.description, who].filter(Boolean).join(" ");
}

export function buildOpenApi(routes: readonly Route[]): OpenApiDocument {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    const params = parameters(r);
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      operationId: r.operationId,
      tags: r.tags,
      summary: r.summary,
      ...(r.description || r.access ? { description: describe(r) } : {}),
      ...(r.auth ? {} : { security: [] }),
      ...(r.access
        ? { "x-depositd-access": { role: r.access.role ?? "merchant", scope: r.access.scope } }
        : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(r.body
        ? { requestBody: { required: r.bodyRequired === true, content: json(schemaOf(r.body)) } }
        : {}),
      responses: responses(r),
    };
  }
  const { schemas } = z.toJSONSchema(components, {
    target: "draft-2020-12",
    uri: (id) => REF + id,
    unrepresentable: "any",
  }) as { schemas: Record<string, Record<string, Json>> };
  for (const one of Object.values(schemas)) {
    delete one.$schema;
    delete one.$id;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "depositd merchant API",
      version: "1",
      summary: "Per-order deposit addresses, payments and callback events.",
      description:
        "JSON over HTTP, by default on 127.0.0.1:8787. Every request but /healthz, /metrics and " +
        "/openapi.json needs `Authorization: Bearer <key>`. A merchant key sees and changes only its " +
        "own orders; an operator key sees every order and owns unattributed payments; a key's " +
        "scopes (read, write) limit it further (403 `forbidden`). " +
        "Amounts are decimal strings, never numbers. Errors are application/problem+json (RFC 9457) " +
        "with a stable `type` of `urn:depositd:problem:<code>`. Guide: docs/api.md.",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: "http://127.0.0.1:8787", description: "the default api.listen" }],
    security: [{ bearer: [] }],
    tags: [
      { name: "orders", description: "create, read, cancel and settle orders" },
      { name: "payments", description: "on-chain payments" },
      { name: "events", description: "callback events and their delivery" },
      { name: "assets", description: "what can be paid" },
      { name: "exports", description: "payments for accounting, streamed" },
      { name: "operations", description: "health, metrics and this document" },
    ],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "an API key from api.keys (the config stores only its sha256)",
        },
      },
      schemas,
    },
  };
}
