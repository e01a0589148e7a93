import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const UNIT_DIR = new URL("../../systemd/", import.meta.url).pathname;
const UNIT_PATH = join(UNIT_DIR, "depositd.service");
const ALL_UNITS = readdirSync(UNIT_DIR)
  .filter((f) => /\.(service|timer)$/.test(f))
  .map((f) => join(UNIT_DIR, f));
const EXAMPLE_PATH = new URL("../../config/depositd.example.yaml", import.meta.url).pathname;
const unitText = readFileSync(UNIT_PATH, "utf8");

/** section → key → values, in order (systemd allows a key several times). Comments are dropped. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!kv || !current) throw new Error(`line ${i + 1}: not Key=value inside a section: ${raw}`);
    current.set(kv[1]!, [...(current.get(kv[1]!) ?? []), kv[2]!]);
  });
  return sections;
}

function systemdAnalyze(): string | null {
  const r = spawnSync("sh", ["-c", "command -v systemd-analyze"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/** Runs `systemd-analyze verify` on a unit file; returns its exit code and every line it printed. */
function verify(bin: string, path: string): { code: number; lines: string[] } {
  const r = spawnSync(bin, ["verify", path], {
    encoding: "utf8",
    env: { ...process.env, SYSTEMD_PAGER: "" },
  });
  const lines = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.trim());
  return { code: r.status ?? -1, lines };
}

// Directives the unit may use, so that a typo is caught even where systemd-analyze is missing.
const KNOWN = {
  Unit: ["Description", "Documentation", "Wants", "After", "StartLimitIntervalSec", "StartLimitBurst"],
  Service: [
    "Type",
    "User",
    "Group",
    "UMask",
    "StateDirectory",
    "StateDirectoryMode",
    "ConfigurationDirectory",
    "ConfigurationDirectoryMode",
    "WorkingDirectory",
    "LoadCredential",
    "Environment",
    "ExecStartPre",
    "ExecStart",
    "KillSignal",
    "KillMode",
    "TimeoutStartSec",
    "TimeoutStopSec",
    "Restart",
    "RestartSec",
    "RestartPreventExitStatus",
    "MemoryMax",
    "TasksMax",
    "LimitNOFILE",
    "NoNewPrivileges",
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "PrivateDevices",
    "ProtectHostname",
    "ProtectClock",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectProc",
    "RestrictAddressFamilies",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "LockPersonality",
    "RemoveIPC",
    "CapabilityBoundingSet",
    "AmbientCapabilities",
    "SystemCallArchitectures",
    "SystemCallFilter",
    "SystemCallErrorNumber",
  ],
  Install: ["WantedBy"],
} as const;

describe("systemd unit", () => {
  const unit = parseUnit(unitText);
  const service = unit.get("Service")!;
  const one = (key: string) => {
    const v = service.get(key);
    expect(v, key).toBeDefined();
    return v!.at(-1)!;
  };
  const tmp = mkdtempSync(join(tmpdir(), "depositd-unit-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("default: runs as a dedicated user with its own state and config directories", () => {
    expect(one("User")).toBe("depositd");
    expect(one("StateDirectory")).toBe("depositd");
    expect(one("ConfigurationDirectory")).toBe("depositd");
    expect(one("WorkingDirectory")).toBe("/var/lib/depositd");
    expect(one("ExecStart")).toBe(
      "/usr/bin/env node /opt/depositd/dist/src/main.js --config /etc/depositd/depositd.yaml serve",
    );
    expect(one("ExecStartPre")).toMatch(/main\.js --config \/etc\/depositd\/depositd\.yaml migrate$/);
    expect(unit.get("Install")?.get("WantedBy")).toEqual(["multi-user.target"]);
  });

  it("behavior: is hardened, restarts on failure and gives SIGTERM time to drain", () => {
    expect(one("ProtectSystem")).toBe("strict");
    expect(one("ProtectHome")).toBe("yes");
    expect(one("PrivateTmp")).toBe("yes");
    expect(one("NoNewPrivileges")).toBe("yes");
    expect(one("RestrictAddressFamilies").split(/\s+/).sort()).toEqual(["AF_INET", "AF_INET6", "AF_UNIX"]);
    expect(one("MemoryMax")).toMatch(/^[0-9]+[KMG]$/);
    expect(one("CapabilityBoundingSet")).toBe("");
    expect(one("Restart")).toBe("on-failure");
    expect(one("RestartPreventExitStatus")).toBe("2"); // a bad config does not restart in a loop
    expect(one("KillSignal")).toBe("SIGTERM");
    // longer than the daemon's own bounded drain (watcher batch + 5 s of deliveries)
    expect(Number(one("TimeoutStopSec"))).toBeGreaterThanOrEqual(30);
    // Node's JIT needs W+X memory; this setting would crash it at start
    expect(service.has("MemoryDenyWriteExecute")).toBe(false);
  });

  it("behavior: runs Node with a heap limit inside MemoryMax and a small young generation, flags this Node accepts", () => {
    const env = (service.get("Environment") ?? []).map((v) => v.replace(/^"(.*)"$/, "$1"));
    const options = env.find((v) => v.startsWith("NODE_OPTIONS="))?.slice("NODE_OPTIONS=".length);
    expect(options).toBeDefined();
    // what the flags do, read back from V8 in a Node started with them (a bad flag exits 9)
    const r = spawnSync(
      process.execPath,
      [
        "-e",
        `const v8 = require("node:v8");
         const junk = []; for (let i = 0; i < 1e6; i++) junk.push({ i }); // grow the young generation to its cap
         const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
         console.log(JSON.stringify({ young, limit: v8.getHeapStatistics().heap_size_limit }));`,
      ],
      { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: options } },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const { young, limit } = JSON.parse(r.stdout) as { young: number; limit: number };
    const memoryMax = Number(/^([0-9]+)G$/.exec(one("MemoryMax"))![1]) * 1024 ** 3;
    expect(limit).toBeLessThan(memoryMax);
    expect(young).toBeLessThanOrEqual(8 * 1024 ** 2); // two 4 MB semi-spaces; V8's default grows to 32 MB
  });
  it("behavior: loads every credential the example config refers to", () => {
    const loaded = (service.get("LoadCredential") ?? []).map((v) => v.split(":")[0]);
    expect(loaded).toEqual(expect.arrayContaining(["callback-secret", "api-key-shop.sha256"]));
    for (const v of service.get("LoadCredential") ?? [])
      expect(v).toMatch(/^[a-z0-9.-]+:\/etc\/depositd\/credentials\/[a-z0-9.-]+$/);
    // optional ones are offered as commented lines to uncomment
    const offered = [...unitText.matchAll(/^#?LoadCredential=([a-z0-9.-]+):/gm)].map((m) => m[1]);
    const example = readFileSync(EXAMPLE_PATH, "utf8");
    const used = [...example.matchAll(/^[^#\n]*\/run\/credentials\/depositd\.service\/([a-z0-9.-]+)/gm)].map(
      (m) => m[1],
    );
    expect(used.length).toBeGreaterThanOrEqual(2);
    for (const name of used) expect(offered, `credential ${name}`).toContain(name);
  });

  it("behavior: uses only known directives with well-formed values", () => {
    for (const [section, keys] of unit) {
      const known = KNOWN[section as keyof typeof KNOWN] as readonly string[] | undefined;
      expect(known, `[${section}]`).toBeDefined();
      for (const key of keys.keys()) expect(known, `[${section}] ${key}`).toContain(key);
    }
    for (const key of ["NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices", "RestrictRealtime"])
      expect(["yes", "no", "true", "false"], key).toContain(one(key));
    for (const key of ["ExecStart", "ExecStartPre"]) expect(one(key)).toMatch(/^\/\S+/); // absolute binary
    // a key set twice silently overrides the first: only list-like keys may repeat
    const repeatable = ["LoadCredential", "Environment", "SystemCallFilter", "ExecStartPre"];
    for (const [key, values] of service) if (!repeatable.includes(key)) expect(values, key).toHaveLength(1);
  });

  it("behavior: systemd-analyze verify reports nothing (when systemd is installed: apt-get install systemd)", () => {
    const bin = systemdAnalyze();
    if (bin === null) {
      // No systemd here: the parse above is what can be checked; say so in the output.
      console.warn("systemd-analyze not found: only the structural checks of the unit ran");
      for (const unitPath of ALL_UNITS)
        expect(parseUnit(readFileSync(unitPath, "utf8")).size).toBeGreaterThanOrEqual(2);
      expect([...parseUnit(unitText).keys()]).toEqual(["Unit", "Service", "Install"]);
      return;
    }
    expect(ALL_UNITS.map((p) => p.slice(UNIT_DIR.length)).sort()).toEqual([
      "depositd-backup.service",
      "depositd-backup.timer",
      "depositd.service",
    ]);
    for (const unitPath of ALL_UNITS) {
      const ok = verify(bin, unitPath);
      expect(
        ok.lines.filter((l) => l.includes("depositd")),
        unitPath,
      ).toEqual([]);
      expect(ok.code, unitPath).toBe(0);
    }
    // and the check is not vacuous: a broken copy of the unit is reported
    const broken = join(tmp, "depositd.service");
    writeFileSync(broken, unitText.replace("ProtectSystem=strict", "ProtectSystem=sometimes"));
    const bad = verify(bin, broken);
    expect(bad.lines.join("\n")).toMatch(/protect system value/i);
  });

  it("behavior: the backup unit snapshots online as the database's owner, inside a sandbox", () => {
    const backup = parseUnit(readFileSync(join(UNIT_DIR, "depositd-backup.service"), "utf8")).get("Service")!;
    expect(backup.get("User")).toEqual(["depositd"]);
    expect(backup.get("ProtectSystem")).toEqual(["strict"]);
    expect(backup.get("ReadWritePaths")).toEqual(["/var/lib/depositd /var/backups/depositd"]);
    const exec = backup.get("ExecStart")![0]!;
    // systemd turns $$ into $ and %% into %: the shell sees $(date -u +%Y…) and $f
    expect(exec).toContain('".backup $$f"');
    expect(exec).toContain("PRAGMA integrity_check");
    const timer = parseUnit(readFileSync(join(UNIT_DIR, "depositd-backup.timer"), "utf8"));
    expect(timer.get("Timer")?.get("Persistent")).toEqual(["true"]);
  });
});
