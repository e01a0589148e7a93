// Reads the signed protobuf bytes of a Tron transaction (raw_data_hex): txID = sha256 of them, and
// amounts there are exact int64 where the JSON copy is a float once above 2^53.
import { createHash } from "node:crypto";
import { RetryableError } from "../../errors.js";

interface Field {
  no: number;
  varint?: bigint;
  bytes?: Buffer;
}

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (let i = pos; i < buf.length && shift < 70n; i++) {
    const b = buf[i]!;
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, i + 1];
    shift += 7n;
  }
  throw new RetryableError("truncated varint");
}

/** Top-level fields of one protobuf message; throws on bytes that are not protobuf. */
function readFields(buf: Buffer): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    pos = afterKey;
    if (wire === 0) {
      const [v, next] = readVarint(buf, pos);
      fields.push({ no, varint: v });
      pos = next;
    } else if (wire === 2) {
      const [len, next] = readVarint(buf, pos);
      const end = next + Number(len);
      if (end > buf.length) throw new RetryableError("truncated field");
      fields.push({ no, bytes: buf.subarray(next, end) });
      pos = end;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new RetryableError(`unsupported wire type ${wire}`);
    if (pos > buf.length) throw new RetryableError("truncated field");
  }
  return fields;
}

/** sha256 of the raw transaction bytes: what Tron calls the txID. */
export function tronTxId(rawDataHex: string): string {
  return createHash("sha256").update(Buffer.from(rawDataHex, "hex")).digest("hex");
}

const TRANSFER_CONTRACT = 1n;

/**
 * The recipient (41… hex) and amount (sun) of a TransferContract transaction from its raw bytes;
 * null when the first contract is of another type. Throws on undecodable bytes.
 */
export function decodeTransferContract(rawDataHex: string): { to: string; amount: bigint } | null {
  if (!/^([0-9a-fA-F]{2})*$/.test(rawDataHex)) throw new RetryableError("raw_data_hex is not hex");
  const contract = readFields(Buffer.from(rawDataHex, "hex")).find((f) => f.no === 11)?.bytes;
  if (!contract) throw new RetryableError("no contract in raw_data_hex");
  const cf = readFields(contract);
  if ((cf.find((f) => f.no === 1)?.varint ?? 0n) !== TRANSFER_CONTRACT) return null;
  const any = cf.find((f) => f.no === 2)?.bytes;
  const value = any && readFields(any).find((f) => f.no === 2)?.bytes;
  if (!value) throw new RetryableError("TransferContract without parameter");
  const vf = readFields(value);
  const to = vf.find((f) => f.no === 2)?.bytes;
  if (!to || to.length !== 21) throw new RetryableError("TransferContract without a 21-byte to_address");
  return { to: to.toString("hex"), amount: vf.find((f) => f.no === 3)?.varint ?? 0n };
}
