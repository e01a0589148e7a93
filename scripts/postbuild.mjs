// Make the CLI entry executable after tsc (npm links it as `depositd`).
import { chmodSync, existsSync } from "node:fs";
const entry = new URL("../dist/src/main.js", import.meta.url);
if (existsSync(entry)) chmodSync(entry, 0o755);
