// The Node flags a daemon runs with as shipped: the NODE_OPTIONS of systemd/depositd.service. A
// bench that measures "the whole daemon" spawns its child with them, so the figure is the unit's.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../src/paths.js";

export function shippedNodeOptions(): string {
  const unit = readFileSync(join(packageRoot(), "systemd", "depositd.service"), "utf8");
  const line = /^Environment="?NODE_OPTIONS=([^"\n]*)"?$/m.exec(unit);
  if (!line) throw new Error("systemd/depositd.service sets no NODE_OPTIONS");
  return line[1]!.trim();
}
