// The kill -9 test runs the real worker in a child process. Node 20 cannot run .ts and there is no
// tsx here, so the worker's import closure is transpiled (typescript's transpileModule, no type
// check) into node_modules/.cache, where bare imports still resolve to the project's node_modules.
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export function transpileForChild(entries: string[]): { dir: string; cleanup(): void } {
  const dir = join(ROOT, "node_modules", ".cache", "depositd-notify-test", `${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  if (!existsSync(join(dir, "migrations"))) symlinkSync(join(ROOT, "migrations"), join(dir, "migrations"));
  const seen = new Set<string>();
  const todo = entries.map((e) => resolve(ROOT, e));
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    const out = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    }).outputText;
    const target = join(dir, relative(ROOT, file)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, out);
    for (const m of out.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)\.js"/g)) {
      todo.push(resolve(dirname(file), `${m[1]}.ts`));
    }
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
