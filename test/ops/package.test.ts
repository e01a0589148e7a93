// The published package, as a merchant's project gets it: `npm pack`, the tarball unpacked into a
// fresh project's node_modules, and both entry points imported from JavaScript and type-checked from
// TypeScript. Nothing is fetched: the project's dependencies are linked from this repository.
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), "depositd-package-"));
const project = join(tmp, "shop");
let packed: string[] = [];

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  const pack = run("npm", ["pack", "--json", "--pack-destination", tmp], ROOT);
  expect(pack.code, pack.out).toBe(0);
  const info = JSON.parse(pack.out.slice(pack.out.indexOf("["))) as {
    filename: string;
    files: { path: string }[];
  }[];
  packed = info[0]!.files.map((f) => f.path);
  const modules = join(project, "node_modules");
  mkdirSync(join(modules, "depositd"), { recursive: true });
  const untar = run(
    "tar",
    ["-xzf", join(tmp, info[0]!.filename), "-C", join(modules, "depositd"), "--strip-components=1"],
    tmp,
  );
  expect(untar.code, untar.out).toBe(0);
  // the dependencies as npm would have installed them (linked, not fetched)
  for (const name of readdirSync(join(ROOT, "node_modules"))) {
    if (name.startsWith(".")) continue;
    symlinkSync(join(ROOT, "node_modules", name), join(modules, name));
  }
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "shop", type: "module", private: true }),
  );
}, 180_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the package", () => {
  it("default: the tarball holds the built entry points and their types, not the tests", () => {
    for (const f of [
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/notify/verify.js",
      "dist/src/notify/verify.d.ts",
    ])
      expect(packed).toContain(f);
    expect(packed).toContain("dist/src/main.js");
    // both engines' migrations ship (`depositd migrate` reads them from the package)
    expect(packed).toContain("migrations/0001_init.sql");
    expect(packed).toContain("migrations/postgres/0001_init.sql");
    expect(packed.some((f) => f.startsWith("dist/test/") || f.startsWith("test/"))).toBe(false);
  });

  it("behavior: both entry points import from a fresh project and verify a real signature", () => {
    const secret = "whsec_test";
    const body = '{"id":"evt_1","type":"order.paid"}';
    const t = 1_800_000_000;
    const v1 = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
    const script = `
      import { verifySignature } from "depositd";
      import { verifySignature as fromVerify } from "depositd/verify";
      const header = ${JSON.stringify(`t=${t},v1=${v1}`)};
      const opts = { now: ${t} };
      console.log(JSON.stringify([
        verifySignature(${JSON.stringify(body)}, header, [${JSON.stringify(secret)}], opts),
        fromVerify(${JSON.stringify(body)}, header, [${JSON.stringify(secret)}], opts),
        verifySignature(${JSON.stringify(body + " ")}, header, [${JSON.stringify(secret)}], opts),
      ]));`;
    const r = run(process.execPath, ["--input-type=module", "-e", script], project);
    expect(r.out.trim()).toBe("[true,true,false]");
  });

  it("behavior: TypeScript sees the real types of both entry points (not any)", () => {
    writeFileSync(
      join(project, "check.ts"),
      `import { verifySignature, type DepositdEvent } from "depositd";
import { verifySignature as fromVerify, type VerifyOptions } from "depositd/verify";
export function handle(raw: string, header: string): string {
  const opts: VerifyOptions = { toleranceSec: 300 };
  if (!verifySignature(raw, header, ["s"], opts) || !fromVerify(raw, header, ["s"])) return "bad";
  const event = JSON.parse(raw) as DepositdEvent;
  const status: string = event.order?.status ?? "none";
  // @ts-expect-error an event id is a string: the types are real, not any
  const wrong: number = event.id;
  return status + String(wrong) + String(event.payment?.amount);
}
`,
    );
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const args = [
      "--noEmit",
      "--strict",
      "--skipLibCheck",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
    ];
    const r = run(process.execPath, [tsc, ...args, "--types", "node", "check.ts"], project);
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
  });

  it("default: package.json's main, types and exports name files that exist in the tarball", () => {
    const pkg = JSON.parse(
      readFileSync(join(project, "node_modules", "depositd", "package.json"), "utf8"),
    ) as {
      main: string;
      types: string;
      exports: Record<string, string | { types: string; default: string }>;
    };
    const named = [pkg.main, pkg.types];
    for (const e of Object.values(pkg.exports))
      named.push(...(typeof e === "string" ? [e] : [e.types, e.default]));
    for (const f of named) expect(packed).toContain(f.replace(/^\.\//, ""));
  });
});
