// README's layout table names every folder and top-level file under src/, so a newcomer reading it
// top-down finds where anything lives.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const table = readme.slice(readme.indexOf("## Layout"), readme.indexOf("## Development"));
/** every `code` span of the table's first column */
const named = table
  .split("\n")
  .filter((l) => l.startsWith("| `"))
  .flatMap((l) => [...l.split("|")[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));

describe("README layout table", () => {
  it.each(
    readdirSync(join(root, "src"), { withFileTypes: true }).map((e) => [e.name, e.isDirectory()] as const),
  )("default: src/%s is in it", (name, dir) => {
    const forms = dir ? [`src/${name}/`] : [`src/${name}`, name];
    expect(named.some((n) => forms.includes(n) || (dir && n.startsWith(`src/${name}/`)))).toBe(true);
  });
});
