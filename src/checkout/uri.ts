// What a wallet's scanner reads, and how an option is named to the customer: pure functions.
import { formatAmount } from "../core/amount.js";

export interface PayTarget {
  kind: "evm" | "tron" | "bitcoin";
  /** EIP-155 chain id (evm) */
  chainId?: number;
  /** token contract; absent for the chain's native coin */
  contract?: string;
  address: string;
  /** amount in base units; 0 = let the customer type it */
  units: bigint;
  decimals: number;
}

export interface QrMode {
  qr: "uri" | "address";
  tron_qr: "address" | "tip17";
}

/**
 * BIP21 for Bitcoin, EIP-681 for ETH and ERC-20 (integers in base units, never exponents). Tron:
 * the bare address by default, because TronLink's send scanner rejects `tron:` URIs ("Incorrect
 * account address format") while every Tron wallet reads a bare base58 address; TIP-17's
 * `tron:ADDR?amount=` on request (Trust Wallet reads it).
 */
export function paymentUri(t: PayTarget, mode: QrMode): string {
  if (mode.qr === "address") return t.address;
  const whole = formatAmount(t.units, t.decimals);
  switch (t.kind) {
    case "bitcoin":
      return t.units > 0n ? `bitcoin:${t.address}?amount=${whole}` : `bitcoin:${t.address}`;
    case "evm":
      if (t.contract)
        return `ethereum:${t.contract}@${t.chainId}/transfer?address=${t.address}&uint256=${t.units}`;
      return `ethereum:${t.address}@${t.chainId}?value=${t.units}`;
    case "tron":
      if (mode.tron_qr === "address") return t.address;
      return t.units > 0n ? `tron:${t.address}?amount=${whole}` : `tron:${t.address}`;
  }
}

/** The transaction an EIP-1193 wallet is asked to send: native value, or the token's transfer(address,uint256). */
export function evmTransaction(t: PayTarget): { chainId: string; to: string; value?: string; data?: string } {
  const chainId = "0x" + (t.chainId ?? 1).toString(16);
  if (!t.contract) return { chainId, to: t.address, value: "0x" + t.units.toString(16) };
  const word = (hex: string) => hex.padStart(64, "0");
  const data = "0xa9059cbb" + word(t.address.slice(2).toLowerCase()) + word(t.units.toString(16));
  return { chainId, to: t.contract, data };
}

const EVM_NETWORKS: Record<number, string> = {
  1: "Ethereum",
  10: "OP Mainnet",
  56: "BNB Smart Chain",
  137: "Polygon",
  8453: "Base",
  42161: "Arbitrum One",
  43114: "Avalanche C-Chain",
  11155111: "Sepolia testnet",
  31337: "Anvil local chain",
};

export function networkName(
  chain: { kind: string; chain_id?: number; network?: string },
  label?: string,
): string {
  if (label) return label;
  if (chain.kind === "evm") return EVM_NETWORKS[chain.chain_id ?? 0] ?? `EVM chain ${chain.chain_id}`;
  if (chain.kind === "tron") return "Tron";
  return chain.network === "mainnet" || !chain.network ? "Bitcoin" : `Bitcoin ${chain.network}`;
}

/** the token standard customers look for on their wallet's network picker */
export function tokenStandard(chain: { kind: string; chain_id?: number }, isToken: boolean): string | null {
  if (!isToken) return null;
  if (chain.kind === "tron") return "TRC-20";
  return chain.chain_id === 56 ? "BEP-20" : "ERC-20";
}

/** "USDT · Tron (TRC-20)", "ETH · Ethereum" */
export function optionLabel(symbol: string, network: string, standard: string | null): string {
  return `${symbol} · ${network}${standard ? ` (${standard})` : ""}`;
}
