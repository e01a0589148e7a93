// Recompiles contracts/TestToken.sol into contracts/TestToken.json (ABI + bytecode).
// solc-js is installed into a temporary folder so it never becomes a dependency of depositd.
// Usage: node scripts/compile-contract.mjs
import { execFileSync } from "node:child_process";
import process from "node:process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const SOLC_VERSION = "0.8.28";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "contracts", "TestToken.sol");
const target = join(root, "contracts", "TestToken.json");

const tmp = mkdtempSync(join(tmpdir(), "depositd-solc-"));
try {
  execFileSync(
    "npm",
    ["install", "--prefix", tmp, "--no-save", "--no-audit", "--no-fund", `solc@${SOLC_VERSION}`],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const solc = createRequire(join(tmp, "package.json"))("solc");
  const input = {
    language: "Solidity",
    sources: { "TestToken.sol": { content: readFileSync(source, "utf8") } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      // paris: no PUSH0, so the token deploys on any EVM node, old hardforks included
      evmVersion: "paris",
      outputSelection: { "*": { TestToken: ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  for (const e of output.errors ?? []) process.stderr.write(e.formattedMessage + "\n");
  if (errors.length) process.exit(1);
  const compiled = output.contracts["TestToken.sol"].TestToken;
  const artifact = {
    contractName: "TestToken",
    compiler: `solc ${solc.version()}`,
    evmVersion: input.settings.evmVersion,
    abi: compiled.abi,
    bytecode: "0x" + compiled.evm.bytecode.object,
  };
  writeFileSync(target, JSON.stringify(artifact, null, 2) + "\n");
  process.stdout.write(`wrote ${target} (${artifact.compiler})\n`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
