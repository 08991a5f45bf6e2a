// Investor eligibility: an ONCHAINID identity holding a KYC claim from the trusted issuer, registered
// in the identity registry. Each step reads the chain first, so calling again after a failure
// finishes the job without a second identity or a duplicate claim.
import {
  type Account,
  type Address,
  encodeAbiParameters,
  type Hex,
  keccak256,
  type LocalAccount,
  stringToHex,
  zeroAddress,
} from "viem";
import { claimIssuerAbi, identityAbi, identityRegistryAbi, idFactoryAbi } from "./abis";
import { type ChainClients, send } from "./clients";

/** The KYC claim topic every Kit token requires (ERC-735 topics are free-form uint256). */
export const KYC_CLAIM_TOPIC = 1n;

/** ERC-734 key purposes and types. */
export const KEY_PURPOSE_CLAIM = 3n;
export const KEY_TYPE_ECDSA = 1n;
/** ERC-735 signature scheme: ECDSA over keccak256(abi.encode(identity, topic, data)). */
const CLAIM_SCHEME_ECDSA = 1n;

/** How ONCHAINID names a key: keccak256(abi.encode(address)). */
export function keyOf(address: Address): Hex {
  return keccak256(encodeAbiParameters([{ type: "address" }], [address]));
}

/** An identity's claim id for an issuer and topic: keccak256(abi.encode(issuer, topic)). */
export function claimIdOf(issuer: Address, topic: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [issuer, topic]));
}

/** The issuer's signature over a claim, as `ClaimIssuer.isClaimValid` recovers it (EIP-191 prefixed). */
export function signClaim(signer: LocalAccount, claim: { identity: Address; topic: bigint; data: Hex }): Promise<Hex> {
  const digest = keccak256(
    encodeAbiParameters(
      [{ type: "address" }, { type: "uint256" }, { type: "bytes" }],
      [claim.identity, claim.topic, claim.data],
    ),
  );
  return signer.signMessage({ message: { raw: digest } });
}

export interface RegisterInvestorOptions {
  /** Owner of the IdFactory and agent of the identity registry; becomes the identity's management key. */
  agent: Account;
  /** The claim-signer key of the trusted ClaimIssuer. */
  claimSigner: LocalAccount;
  idFactory: Address;
  claimIssuer: Address;
  identityRegistry: Address;
  topic: bigint;
  wallet: Address;
  /** ISO 3166-1 numeric, e.g. 56 (Belgium), 250 (France), 276 (Germany). */
  country: number;
  /** Public claim data (hashed into the signature); defaults to "KYC". */
  claimData?: Hex;
}

export interface RegisteredInvestor {
  wallet: Address;
  identity: Address;
  country: number;
  /** What this call had to do (empty when the wallet was already verified). */
  steps: ("identity" | "claim" | "registration")[];
}

/**
 * Makes `wallet` verified in the identity registry. The identity is created with the agent as its
 * management key (not the wallet), so no investor signature is needed: Kit manages KYC claims.
 */
export async function registerInvestor(clients: ChainClients, o: RegisterInvestorOptions): Promise<RegisteredInvestor> {
  const { publicClient } = clients;
  const steps: RegisteredInvestor["steps"] = [];

  let identity = await publicClient.readContract({
    address: o.idFactory,
    abi: idFactoryAbi,
    functionName: "getIdentity",
    args: [o.wallet],
  });
  if (identity === zeroAddress) {
    await send(clients, o.agent, {
      address: o.idFactory,
      abi: idFactoryAbi,
      functionName: "createIdentityWithManagementKeys",
      args: [o.wallet, o.wallet.toLowerCase(), [keyOf(o.agent.address)]],
    });
    identity = await publicClient.readContract({
      address: o.idFactory,
      abi: idFactoryAbi,
      functionName: "getIdentity",
      args: [o.wallet],
    });
    steps.push("identity");
  }

  const data = o.claimData ?? stringToHex("KYC");
  if (!(await hasValidClaim(clients, { identity, claimIssuer: o.claimIssuer, topic: o.topic, data }))) {
    const signature = await signClaim(o.claimSigner, { identity, topic: o.topic, data });
    await send(clients, o.agent, {
      address: identity,
      abi: identityAbi,
      functionName: "addClaim",
      args: [o.topic, CLAIM_SCHEME_ECDSA, o.claimIssuer, signature, data, ""],
    });
    steps.push("claim");
  }

  const registered = await publicClient.readContract({
    address: o.identityRegistry,
    abi: identityRegistryAbi,
    functionName: "contains",
    args: [o.wallet],
  });
  if (!registered) {
    await send(clients, o.agent, {
      address: o.identityRegistry,
      abi: identityRegistryAbi,
      functionName: "registerIdentity",
      args: [o.wallet, identity, o.country],
    });
    steps.push("registration");
  }
  return { wallet: o.wallet, identity, country: o.country, steps };
}

/**
 * Whether the identity holds this issuer's claim on the topic with these data, and the issuer still
 * stands by it. (Signatures are deterministic: after `revokeClaimBySignature`, re-verifying a wallet
 * needs different claim data, e.g. with a date in it.)
 */
export async function hasValidClaim(
  clients: ChainClients,
  c: { identity: Address; claimIssuer: Address; topic: bigint; data: Hex },
): Promise<boolean> {
  const [, , issuer, signature, data] = await clients.publicClient.readContract({
    address: c.identity,
    abi: identityAbi,
    functionName: "getClaim",
    args: [claimIdOf(c.claimIssuer, c.topic)],
  });
  if (issuer.toLowerCase() !== c.claimIssuer.toLowerCase() || data !== c.data) return false;
  return clients.publicClient.readContract({
    address: c.claimIssuer,
    abi: claimIssuerAbi,
    functionName: "isClaimValid",
    args: [c.identity, c.topic, signature, data],
  });
}

export function isVerified(clients: ChainClients, identityRegistry: Address, wallet: Address): Promise<boolean> {
  return clients.publicClient.readContract({
    address: identityRegistry,
    abi: identityRegistryAbi,
    functionName: "isVerified",
    args: [wallet],
  });
}
